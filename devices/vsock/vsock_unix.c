/* The Unix side of hybrid vsock: the listening socket at PATH, the
 * "CONNECT <port>" handshake, connections to PATH_<port>, buffered writes,
 * and the pollfds the host loop waits on. Every socket is non-blocking. */
#define _GNU_SOURCE
#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <sys/un.h>
#include <unistd.h>

#include "vsock_internal.h"

#define HANDSHAKE_MAX 23 /* "CONNECT 4294967295\n" fits with room to spare */

static int unix_addr(const char *path, struct sockaddr_un *a)
{
	memset(a, 0, sizeof(*a));
	a->sun_family = AF_UNIX;
	if (strlen(path) >= sizeof(a->sun_path))
		return -ENAMETOOLONG;
	strcpy(a->sun_path, path);
	return 0;
}

int vs_unix_listen(struct dev_vsock *v)
{
	struct sockaddr_un a;
	struct stat st;
	int fd, rc = unix_addr(v->uds_path, &a);

	if (rc)
		return rc;
	/* Replace a stale socket left by an earlier run, nothing else. */
	if (lstat(v->uds_path, &st) == 0 && S_ISSOCK(st.st_mode))
		unlink(v->uds_path);
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	if (bind(fd, (struct sockaddr *)&a, sizeof(a)) < 0 || listen(fd, 64) < 0) {
		rc = -errno;
		close(fd);
		return rc;
	}
	v->listen_fd = fd;
	return 0;
}

static bool slot_free(const struct dev_vsock *v)
{
	for (uint32_t i = 0; i < DEV_VSOCK_MAX_CONNS; i++)
		if (v->conns[i].state == DEV_VSOCK_FREE)
			return true;
	return false;
}

int vs_unix_accept(struct dev_vsock *v)
{
	int work = 0;

	for (int i = 0; i < VS_ACCEPT_BUDGET && v->listen_fd >= 0; i++) {
		struct dev_vsock_conn *c;
		int fd = accept4(v->listen_fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);

		if (fd < 0)
			break;
		work++;
		c = vs_conn_alloc(v);
		if (!c) {
			v->st.conns_refused++;
			vs_logf(v, false, "vsock: connection table full, Unix client refused");
			close(fd);
			continue;
		}
		c->state = DEV_VSOCK_HANDSHAKE;
		c->fd = fd;
		c->readable = true;
		c->deadline_ns = vs_now(v) + DEV_VSOCK_CONNECT_TIMEOUT_NS;
	}
	return work;
}

static uint32_t ephemeral_port(struct dev_vsock *v)
{
	for (;;) {
		uint32_t p = v->next_port++;
		bool used = false;

		if (v->next_port < DEV_VSOCK_EPHEMERAL_BASE)
			v->next_port = DEV_VSOCK_EPHEMERAL_BASE;
		for (uint32_t i = 0; i < DEV_VSOCK_MAX_CONNS && !used; i++)
			used = v->conns[i].state >= DEV_VSOCK_CONNECTING &&
			       v->conns[i].host_port == p;
		if (!used)
			return p;
	}
}

/* "CONNECT <port>" with a decimal port that fits 32 bits. */
static int parse_connect(const char *line, uint32_t *port)
{
	const char *p = line + 8;
	uint64_t v = 0;

	if (strncmp(line, "CONNECT ", 8) != 0 || *p == '\0')
		return -EINVAL;
	for (; *p; p++) {
		if (*p < '0' || *p > '9')
			return -EINVAL;
		v = v * 10 + (uint64_t)(*p - '0');
		if (v > UINT32_MAX)
			return -EINVAL;
	}
	*port = (uint32_t)v;
	return 0;
}

/* Read the handshake a byte at a time: whatever follows the newline is
 * payload for the guest and must stay in the socket. */
int vs_unix_handshake(struct dev_vsock *v, struct dev_vsock_conn *c)
{
	char *line = c->ok_line;
	uint32_t port;

	while (c->ok_len < HANDSHAKE_MAX) {
		ssize_t n = recv(c->fd, line + c->ok_len, 1, 0);
		if (n < 0 && (errno == EAGAIN || errno == EINTR)) {
			c->readable = false;
			return 0;
		}
		if (n <= 0) {
			vs_conn_close(v, c, false, "Unix client left before CONNECT");
			return 1;
		}
		if (line[c->ok_len] == '\n')
			break;
		c->ok_len++;
	}
	if (c->ok_len >= HANDSHAKE_MAX) {
		vs_logf(v, false, "vsock: Unix client sent no CONNECT line");
		vs_conn_close(v, c, false, "bad handshake");
		return 1;
	}
	if (c->ok_len && line[c->ok_len - 1] == '\r')
		c->ok_len--;
	line[c->ok_len] = '\0';
	if (parse_connect(line, &port) < 0) {
		vs_logf(v, false, "vsock: Unix client sent '%s', not CONNECT <port>", line);
		vs_conn_close(v, c, false, "bad handshake");
		return 1;
	}
	c->ok_len = 0;
	c->state = DEV_VSOCK_CONNECTING;
	c->guest_port = port;
	c->host_port = ephemeral_port(v);
	c->owed = DEV_VSOCK_OWE_REQUEST;
	c->readable = false;
	c->deadline_ns = vs_now(v) + DEV_VSOCK_CONNECT_TIMEOUT_NS;
	vs_logf(v, true, "vsock: Unix client asks for guest port %u (host port %u)", port,
		c->host_port);
	return 1;
}

void vs_unix_guest_connect(struct dev_vsock *v, const struct virtio_vsock_hdr *h)
{
	struct sockaddr_un a;
	struct dev_vsock_conn *c;
	char path[sizeof(v->uds_path) + 12];
	int fd = -1;

	snprintf(path, sizeof(path), "%s_%u", v->uds_path, h->dst_port);
	c = v->uds_path[0] ? vs_conn_alloc(v) : NULL;
	if (c && unix_addr(path, &a) == 0)
		fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	/* A full backlog gives EAGAIN, which no poll completes: refuse it. */
	if (fd >= 0 && connect(fd, (struct sockaddr *)&a, sizeof(a)) < 0) {
		close(fd);
		fd = -1;
	}
	if (fd < 0) {
		v->st.conns_refused++;
		vs_logf(v, true, "vsock: guest port %u -> host port %u refused (%s)", h->src_port,
			h->dst_port, c ? "nobody listens on the Unix socket" : "no free slot");
		vs_rst_queue(v, h->dst_port, h->src_port);
		return;
	}
	c->state = DEV_VSOCK_ESTABLISHED;
	c->fd = fd;
	c->host_port = h->dst_port;
	c->guest_port = h->src_port;
	c->peer_buf_alloc = h->buf_alloc;
	c->peer_fwd_cnt = h->fwd_cnt;
	c->owed = DEV_VSOCK_OWE_RESPONSE;
	c->writable = true;
	v->st.conns_guest++;
	vs_logf(v, true, "vsock: guest port %u -> %s established", h->src_port, path);
}

static void maybe_credit(struct dev_vsock_conn *c)
{
	uint32_t untold = c->fwd_cnt - c->fwd_cnt_told;

	/* Tell the guest early enough that it never waits on us for nothing,
	 * and always once we have written everything it sent. */
	if (untold >= DEV_VSOCK_BUF_ALLOC / 4 || (untold && c->buf_used == 0))
		c->owed |= DEV_VSOCK_OWE_CREDIT;
}

/* Write what the guest sent. Returns the work done. */
int vs_unix_flush(struct dev_vsock *v, struct dev_vsock_conn *c)
{
	int work = 0;

	while (c->writable && (c->ok_off < c->ok_len || c->buf_used)) {
		struct iovec iov[2];
		struct msghdr m;
		int niov = 1;
		ssize_t n;

		memset(&m, 0, sizeof(m));
		if (c->ok_off < c->ok_len) {
			iov[0].iov_base = c->ok_line + c->ok_off;
			iov[0].iov_len = (size_t)(c->ok_len - c->ok_off);
		} else {
			uint32_t first = DEV_VSOCK_BUF_ALLOC - c->buf_head;
			if (first > c->buf_used)
				first = c->buf_used;
			iov[0].iov_base = c->buf + c->buf_head;
			iov[0].iov_len = first;
			iov[1].iov_base = c->buf;
			iov[1].iov_len = c->buf_used - first;
			niov = iov[1].iov_len ? 2 : 1;
		}
		m.msg_iov = iov;
		m.msg_iovlen = (size_t)niov;
		n = sendmsg(c->fd, &m, MSG_NOSIGNAL | MSG_DONTWAIT);
		if (n < 0 && (errno == EAGAIN || errno == EINTR)) {
			c->writable = false;
			break;
		}
		if (n <= 0) {
			vs_conn_close(v, c, true, "Unix peer stopped reading");
			return work + 1;
		}
		work++;
		if (c->ok_off < c->ok_len) {
			c->ok_off = (uint8_t)(c->ok_off + n);
			continue;
		}
		c->buf_head = (c->buf_head + (uint32_t)n) % DEV_VSOCK_BUF_ALLOC;
		c->buf_used -= (uint32_t)n;
		c->fwd_cnt += (uint32_t)n;
	}
	maybe_credit(c);
	vs_conn_settle(v, c);
	return work;
}

void vs_conn_settle(struct dev_vsock *v, struct dev_vsock_conn *c)
{
	if (c->state != DEV_VSOCK_ESTABLISHED || c->buf_used || c->ok_off < c->ok_len)
		return;
	if (!c->guest_no_send)
		return;
	if (!c->unix_wr_shut) {
		shutdown(c->fd, SHUT_WR);
		c->unix_wr_shut = true;
	}
	/* Both directions are finished: the guest waits for our RST. */
	if (c->guest_no_rcv || (c->unix_eof && !(c->owed & DEV_VSOCK_OWE_SHUTDOWN)))
		vs_conn_close(v, c, true, "closed");
}

static short conn_events(const struct dev_vsock *v, const struct dev_vsock_conn *c)
{
	short ev = 0;

	if (c->state == DEV_VSOCK_HANDSHAKE)
		return c->readable ? 0 : POLLIN;
	if (c->state != DEV_VSOCK_ESTABLISHED)
		return 0;
	/* Only poll for input the guest can take now: otherwise a readable
	 * socket would spin the loop. */
	if (!c->readable && !c->unix_eof && !c->guest_no_rcv && v->rx_count &&
	    !(c->owed & DEV_VSOCK_OWE_RESPONSE) && vs_credit(c) > 0)
		ev |= POLLIN;
	if (!c->writable && (c->buf_used || c->ok_off < c->ok_len))
		ev |= POLLOUT;
	return ev;
}

int dev_vsock_fill(void *ctx, struct pollfd *pfd, int max)
{
	struct dev_vsock *v = ctx;
	int n = 0;

	if (max < 1)
		return 0;
	pfd[0].fd = v->listen_fd >= 0 && slot_free(v) ? v->listen_fd : -1;
	pfd[0].events = POLLIN;
	pfd[0].revents = 0;
	v->poll_conn[n++] = -1;
	for (uint32_t i = 0; i < DEV_VSOCK_MAX_CONNS && n < max; i++) {
		short ev = conn_events(v, &v->conns[i]);
		if (!ev)
			continue;
		pfd[n].fd = v->conns[i].fd;
		pfd[n].events = ev;
		pfd[n].revents = 0;
		v->poll_conn[n++] = (int16_t)i;
	}
	v->n_poll = n;
	return n;
}

int dev_vsock_ready(void *ctx, const struct pollfd *pfd, int n)
{
	struct dev_vsock *v = ctx;
	int work = 0;

	for (int i = 0; i < n && i < v->n_poll; i++) {
		struct dev_vsock_conn *c;
		short re = pfd[i].revents;

		if (!re)
			continue;
		if (v->poll_conn[i] < 0) {
			if (re & POLLIN)
				work += vs_unix_accept(v);
			continue;
		}
		c = &v->conns[v->poll_conn[i]];
		if (c->fd != pfd[i].fd)
			continue;
		if (re & (POLLIN | POLLHUP | POLLERR))
			c->readable = true;
		if (re & (POLLOUT | POLLHUP | POLLERR))
			c->writable = true;
	}
	return work + dev_vsock_pump(v);
}

int dev_vsock_pump(struct dev_vsock *v)
{
	uint64_t now = vs_now(v);
	int work;

	if (!v->b)
		return 0;
	work = vs_rings_check(v);
	for (uint32_t i = 0; i < DEV_VSOCK_MAX_CONNS; i++) {
		struct dev_vsock_conn *c = &v->conns[i];
		switch (c->state) {
		case DEV_VSOCK_HANDSHAKE:
			if (c->readable)
				work += vs_unix_handshake(v, c);
			if (c->state == DEV_VSOCK_HANDSHAKE && now > c->deadline_ns)
				vs_conn_close(v, c, false, "no CONNECT line in time");
			break;
		case DEV_VSOCK_CONNECTING:
			if (v->cfg.now_ns && now > c->deadline_ns) {
				v->st.conns_refused++;
				vs_logf(v, false,
					"vsock: guest did not answer a connection to port %u",
					c->guest_port);
				vs_conn_close(v, c, true, "guest did not answer");
				work++;
			}
			break;
		case DEV_VSOCK_ESTABLISHED:
			work += vs_unix_flush(v, c);
			if (c->state == DEV_VSOCK_ESTABLISHED && !c->unix_eof && !c->guest_no_rcv &&
			    vs_credit(c) == 0) {
				if (!c->stalled) {
					c->stalled = true;
					v->st.stalls++;
					c->owed |= DEV_VSOCK_OWE_CREDIT_REQUEST;
				}
			} else {
				c->stalled = false;
			}
			break;
		default: break;
		}
	}
	return work + vs_rx_pump(v);
}
