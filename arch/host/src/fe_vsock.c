/* fe_vsock.c - the front-end's hybrid-vsock transport (see fe_vsock.h). */
#define _GNU_SOURCE
#include "uvh/fe_vsock.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "uvh/host.h"

/* Wait until fd is ready for `events`: 0, or -ETIMEDOUT. */
static int wait_fd(int fd, short events)
{
	struct pollfd p = {.fd = fd, .events = events};
	int r;

	do
		r = poll(&p, 1, UVH_FE_VSOCK_TIMEOUT_MS);
	while (r < 0 && errno == EINTR);
	if (r < 0)
		return -errno;
	return r == 0 ? -ETIMEDOUT : 0;
}

/* After a send or recv failed: 0 to try again (having waited for `events`
 * when `block`), or the error to return (-EAGAIN when not blocking). */
static int after_error(int fd, short events, bool block)
{
	if (errno == EINTR)
		return 0;
	if (errno != EAGAIN && errno != EWOULDBLOCK)
		return -errno;
	return block ? wait_fd(fd, events) : -EAGAIN;
}

/* Write all of buf; fd may be non-blocking. */
static int write_all(int fd, const uint8_t *buf, size_t len)
{
	while (len) {
		ssize_t w = send(fd, buf, len, MSG_NOSIGNAL | MSG_DONTWAIT);
		if (w < 0) {
			int rc = after_error(fd, POLLOUT, true);
			if (rc)
				return rc;
			continue;
		}
		buf += w;
		len -= (size_t)w;
	}
	return 0;
}

static int send_framed(int fd, const struct vu_msg *msg)
{
	uint8_t buf[VU_HDR_SIZE + VU_MAX_PAYLOAD];

	if (fd < 0)
		return -ENOTCONN;
	/* Nothing on this transport can carry an fd: a caller that has one
	 * is confused about which transport it is on. */
	if (msg->nfds)
		return -EINVAL;
	if (msg->hdr.size > VU_MAX_PAYLOAD)
		return -EMSGSIZE;
	memcpy(buf, &msg->hdr, VU_HDR_SIZE);
	memcpy(buf + VU_HDR_SIZE, msg->p.raw, msg->hdr.size);
	return write_all(fd, buf, VU_HDR_SIZE + msg->hdr.size);
}

/* Read what the assembler wants from fd. `block`: wait (up to the timeout)
 * for a whole message; otherwise -EAGAIN as soon as nothing is there. */
static int recv_framed(int fd, struct vu_stream_rx *rx, struct vu_msg *msg, bool block)
{
	for (;;) {
		uint8_t *dst;
		int want = vu_stream_rx_want(rx, &dst);
		ssize_t r;
		if (want == 0)
			return vu_stream_rx_take(rx, msg);
		if (want < 0)
			return want;
		r = recv(fd, dst, (size_t)want, MSG_DONTWAIT);
		if (r == 0)
			return -ECONNRESET;
		if (r < 0) {
			int rc = after_error(fd, POLLIN, block);
			if (rc)
				return rc;
			continue;
		}
		vu_stream_rx_commit(rx, (size_t)r);
	}
}

static int vs_send(void *ctx, const struct vu_msg *msg)
{
	struct uvh_fe_vsock *c = ctx;

	return send_framed(c->sock, msg);
}

static int vs_recv(void *ctx, struct vu_msg *msg)
{
	struct uvh_fe_vsock *c = ctx;

	return c->sock < 0 ? -ENOTCONN : recv_framed(c->sock, &c->rx, msg, true);
}

/* Take the back-end's connection if it arrived. One channel at a time: a
 * later connection waits in the backlog until this one is gone. */
static int accept_backend(struct uvh_fe_vsock *c)
{
	int fd;

	if (c->backend_fd >= 0)
		return 0;
	if (c->listen_fd < 0)
		return -EAGAIN;
	fd = accept4(c->listen_fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
	if (fd < 0)
		return errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR ? -EAGAIN : -errno;
	c->backend_fd = fd;
	c->backend_accepts++;
	vu_stream_rx_reset(&c->brx);
	return 0;
}

static int vs_backend_recv(void *ctx, struct vu_msg *msg)
{
	struct uvh_fe_vsock *c = ctx;
	int rc = accept_backend(c);

	if (rc)
		return rc;
	return recv_framed(c->backend_fd, &c->brx, msg, false);
}

static int vs_backend_send(void *ctx, const struct vu_msg *msg)
{
	struct uvh_fe_vsock *c = ctx;

	return send_framed(c->backend_fd, msg);
}

static void vs_close_fd(void *ctx, int fd)
{
	(void)ctx;
	if (fd >= 0)
		close(fd);
}

static int init(struct uvh_fe_vsock *c)
{
	memset(c, 0, sizeof(*c));
	c->sock = c->listen_fd = c->backend_fd = -1;
	c->rx_buf = malloc(VU_STREAM_MSG_MAX);
	c->brx_buf = malloc(VU_STREAM_MSG_MAX);
	if (!c->rx_buf || !c->brx_buf) {
		free(c->rx_buf);
		free(c->brx_buf);
		c->rx_buf = c->brx_buf = NULL;
		return -ENOMEM;
	}
	vu_stream_rx_init(&c->rx, c->rx_buf, VU_STREAM_MSG_MAX);
	vu_stream_rx_init(&c->brx, c->brx_buf, VU_STREAM_MSG_MAX);
	c->t = (struct vu_fe_transport){
		.ctx = c,
		.send = vs_send,
		.recv = vs_recv,
		.backend_recv = vs_backend_recv,
		.backend_send = vs_backend_send,
		.close_fd = vs_close_fd,
	};
	return 0;
}

int uvh_fe_vsock_attach(struct uvh_fe_vsock *c, int fd)
{
	int rc = init(c);

	if (rc) {
		close(fd);
		return rc;
	}
	c->sock = fd;
	return 0;
}

/* "CONNECT <port>\n" then "OK <host port>\n", read a byte at a time so not
 * a byte of the stream after it is consumed. */
static int handshake(int fd, uint32_t port)
{
	char line[64];
	size_t n = 0;
	int len = snprintf(line, sizeof(line), "CONNECT %u\n", port);
	int rc = write_all(fd, (const uint8_t *)line, (size_t)len);

	if (rc)
		return rc;
	while (n < sizeof(line) - 1) {
		ssize_t r = recv(fd, line + n, 1, MSG_DONTWAIT);
		if (r == 0)
			return -ECONNREFUSED; /* uvhostd closes: no listener on port */
		if (r < 0) {
			rc = after_error(fd, POLLIN, true);
			if (rc)
				return rc;
			continue;
		}
		if (line[n++] == '\n') {
			line[n] = 0;
			return strncmp(line, "OK ", 3) == 0 ? 0 : -EPROTO;
		}
	}
	return -EPROTO;
}

int uvh_fe_vsock_connect(struct uvh_fe_vsock *c, const char *uds_path, uint32_t port)
{
	int fd = uvh_connect(uds_path), rc;

	if (fd < 0) {
		memset(c, 0, sizeof(*c));
		c->sock = c->listen_fd = c->backend_fd = -1;
		return fd;
	}
	rc = handshake(fd, port);
	if (rc) {
		close(fd);
		memset(c, 0, sizeof(*c));
		c->sock = c->listen_fd = c->backend_fd = -1;
		return rc;
	}
	return uvh_fe_vsock_attach(c, fd);
}

int uvh_fe_vsock_backend_listen(struct uvh_fe_vsock *c, const char *uds_path, uint32_t port)
{
	int fd, len = snprintf(c->listen_path, sizeof(c->listen_path), "%s_%u", uds_path, port);

	if (len < 0 || (size_t)len >= sizeof(c->listen_path)) {
		c->listen_path[0] = 0;
		return -ENAMETOOLONG;
	}
	fd = uvh_listen(c->listen_path);
	if (fd < 0) {
		c->listen_path[0] = 0;
		return fd;
	}
	if (fcntl(fd, F_SETFL, O_NONBLOCK) < 0) {
		int rc = -errno;
		close(fd);
		unlink(c->listen_path);
		c->listen_path[0] = 0;
		return rc;
	}
	if (c->listen_fd >= 0)
		close(c->listen_fd);
	c->listen_fd = fd;
	return 0;
}

int uvh_fe_vsock_backend_pollfd(const struct uvh_fe_vsock *c)
{
	return c->backend_fd >= 0 ? c->backend_fd : c->listen_fd;
}

void uvh_fe_vsock_close(struct uvh_fe_vsock *c)
{
	if (c->sock >= 0)
		close(c->sock);
	if (c->backend_fd >= 0)
		close(c->backend_fd);
	if (c->listen_fd >= 0)
		close(c->listen_fd);
	if (c->listen_path[0])
		unlink(c->listen_path);
	free(c->rx_buf);
	free(c->brx_buf);
	c->rx_buf = c->brx_buf = NULL;
	c->listen_path[0] = 0;
	c->sock = c->listen_fd = c->backend_fd = -1;
}
