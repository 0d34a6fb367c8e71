/* fe_host.c - the front-end's Linux transport, guest RAM and eventfds. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <unistd.h>

#include "uvh/fe_host.h"

#include "uvh/fd_bounds.h"
#include "uvh/host.h"

static int fe_send(void *ctx, const struct vu_msg *msg)
{
	struct uvh_fe_conn *c = ctx;

	return c->sock < 0 ? -ENOTCONN : uvh_send_msg(c->sock, msg);
}

static int fe_recv(void *ctx, struct vu_msg *msg)
{
	struct uvh_fe_conn *c = ctx;

	return c->sock < 0 ? -ENOTCONN : uvh_recv_msg(c->sock, msg);
}

/* A request is read whole once its first byte is there: the back-end
 * writes each message in one go. */
static int fe_backend_recv(void *ctx, struct vu_msg *msg)
{
	struct uvh_fe_conn *c = ctx;
	char b;
	ssize_t r;

	if (c->backend_fd < 0)
		return -EAGAIN;
	r = recv(c->backend_fd, &b, 1, MSG_PEEK | MSG_DONTWAIT);
	if (r < 0)
		return errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR ? -EAGAIN : -errno;
	if (r == 0)
		return -ECONNRESET;
	return uvh_recv_msg(c->backend_fd, msg);
}

static int fe_backend_send(void *ctx, const struct vu_msg *msg)
{
	struct uvh_fe_conn *c = ctx;

	return c->backend_fd < 0 ? -ENOTCONN : uvh_send_msg(c->backend_fd, msg);
}

static void fe_close_fd(void *ctx, int fd)
{
	(void)ctx;
	if (fd >= 0)
		close(fd);
}

int uvh_fe_connect(struct uvh_fe_conn *c, const char *path)
{
	int fd = uvh_connect(path);

	memset(c, 0, sizeof(*c));
	c->sock = -1;
	c->backend_fd = -1;
	if (fd < 0)
		return fd;
	c->sock = fd;
	c->t.ctx = c;
	c->t.send = fe_send;
	c->t.recv = fe_recv;
	c->t.backend_recv = fe_backend_recv;
	c->t.backend_send = fe_backend_send;
	c->t.close_fd = fe_close_fd;
	return 0;
}

int uvh_fe_backend_pair(struct uvh_fe_conn *c, int *peer)
{
	int sv[2];

	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) < 0)
		return -errno;
	if (c->backend_fd >= 0)
		close(c->backend_fd);
	c->backend_fd = sv[0];
	*peer = sv[1];
	return 0;
}

void uvh_fe_close(struct uvh_fe_conn *c)
{
	if (c->sock >= 0)
		close(c->sock);
	if (c->backend_fd >= 0)
		close(c->backend_fd);
	c->sock = -1;
	c->backend_fd = -1;
}

/* Map `size` bytes of r->fd shared. Takes the fd: on failure it is closed
 * and r->fd is -1. */
static int map_guest_ram(struct uvh_guest_ram *r, uint64_t size)
{
	void *p = mmap(NULL, (size_t)size, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_POPULATE, r->fd,
		       0);
	int rc;

	if (p == MAP_FAILED) {
		rc = -errno;
		close(r->fd);
		r->fd = -1;
		return rc;
	}
	r->base = p;
	r->size = size;
	return 0;
}

static int guest_ram_start(struct uvh_guest_ram *r, uint64_t size)
{
	r->fd = -1;
	r->base = NULL;
	r->size = 0;
	return size == 0 || size > SIZE_MAX ? -EINVAL : 0;
}

int uvh_guest_ram_create(struct uvh_guest_ram *r, uint64_t size)
{
	int rc = guest_ram_start(r, size);

	if (rc)
		return rc;
	r->fd = memfd_create("uvhost-guest-ram", MFD_CLOEXEC);
	if (r->fd < 0)
		return -errno;
	if (ftruncate(r->fd, (off_t)size) < 0) {
		rc = -errno;
		close(r->fd);
		r->fd = -1;
		return rc;
	}
	return map_guest_ram(r, size);
}

int uvh_guest_ram_open(struct uvh_guest_ram *r, const char *path, uint64_t size)
{
	char why[160];
	int rc = guest_ram_start(r, size);

	if (rc)
		return rc;
	r->fd = open(path, O_RDWR | O_CLOEXEC);
	if (r->fd < 0)
		return -errno;
	rc = uvh_fd_check_range(r->fd, 0, size, why, sizeof(why));
	if (rc) {
		close(r->fd);
		r->fd = -1;
		return rc;
	}
	return map_guest_ram(r, size);
}

void uvh_guest_ram_destroy(struct uvh_guest_ram *r)
{
	if (r->base)
		munmap(r->base, (size_t)r->size);
	if (r->fd >= 0)
		close(r->fd);
	r->base = NULL;
	r->fd = -1;
	r->size = 0;
}

struct vu_fe_region uvh_guest_ram_region(const struct uvh_guest_ram *r, uint64_t gpa_base,
					 uint64_t off, uint64_t len)
{
	struct vu_fe_region g = {
		.gpa = gpa_base + off,
		.size = len,
		.uaddr = (uint64_t)(uintptr_t)(r->base + off),
		.mmap_offset = off,
		.fd = r->fd,
	};
	return g;
}

int uvh_eventfd_create(void)
{
	int fd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);

	return fd < 0 ? -errno : fd;
}

int uvh_eventfd_signal(int fd)
{
	uint64_t one = 1;

	return write(fd, &one, sizeof(one)) == (ssize_t)sizeof(one) ? 0 : -errno;
}

uint64_t uvh_eventfd_drain(int fd)
{
	uint64_t v = 0;

	return read(fd, &v, sizeof(v)) == (ssize_t)sizeof(v) ? v : 0;
}
