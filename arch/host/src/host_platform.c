/* struct vu_platform for Linux: mmap of region fds, memfd for inflight
 * tracking, eventfd signalling, and messages on AF_UNIX sockets. */
#define _GNU_SOURCE
#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>

#include "uvh/fd_bounds.h"
#include "uvh/host.h"
#include "uvh/sigbus_guard.h"

uint64_t uvh_now_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

static int host_send(void *ctx, const struct vu_msg *msg)
{
	struct uvh_platform *p = ctx;
	return p->sock < 0 ? -ENOTCONN : uvh_send_msg(p->sock, msg);
}

/* Replies come back through host_backend_recv(), polled by the serving
 * loop: waiting here would stall every ring for as long as the front-end
 * takes to answer. */
static int host_backend_send(void *ctx, int chan, const struct vu_msg *msg, struct vu_msg *reply)
{
	(void)ctx;
	if (reply)
		return -EINVAL;
	return uvh_send_msg(chan, msg);
}

static int host_backend_recv(void *ctx, int chan, struct vu_msg *msg)
{
	struct pollfd pfd = {.fd = chan, .events = POLLIN};
	int r;

	(void)ctx;
	do
		r = poll(&pfd, 1, 0);
	while (r < 0 && errno == EINTR);
	if (r < 0)
		return -errno;
	if (r == 0)
		return -EAGAIN;
	return uvh_recv_msg(chan, msg);
}

static struct uvh_mapping *slot_for(struct uvh_platform *p)
{
	for (uint32_t i = 0; i < UVH_MAX_MAPPINGS; i++)
		if (!p->maps[i].used)
			return &p->maps[i];
	return NULL;
}

static void host_log(void *ctx, enum vu_log_level level, const char *line);

/* mmap wants a page-aligned offset; regions need not give one. The range is
 * checked against the file first: mmap maps past the end of a file without
 * complaint, and the first touch there would be SIGBUS for the whole daemon. */
static int host_map(void *ctx, int fd, uint64_t offset, uint64_t len, bool writable, void **host,
		    void **cookie)
{
	struct uvh_platform *p = ctx;
	uint64_t page = (uint64_t)sysconf(_SC_PAGESIZE);
	uint64_t delta = offset % page;
	struct uvh_mapping *m = slot_for(p);
	void *base;
	char why[160];
	int rc;

	if (!m)
		return -ENOMEM;
	if (fd < 0 || len == 0 || len > UINT64_MAX - delta)
		return -EINVAL;
	rc = uvh_fd_check_range(fd, offset, len, why, sizeof(why));
	if (rc) {
		char line[200];

		p->n_map_refused++;
		snprintf(line, sizeof(line), "map refused: %s", why);
		host_log(p, VU_LOG_ERR, line);
		return rc;
	}
	/* 64-bit on the wire, size_t here: a 32-bit daemon would map a
	 * truncated length and hand out pointers past it. */
	if (len + delta > SIZE_MAX) {
		char line[200];

		p->n_map_refused++;
		snprintf(line, sizeof(line),
			 "map refused: %llu bytes exceed this process's %u-bit address space",
			 (unsigned long long)len, (unsigned)(sizeof(void *) * 8));
		host_log(p, VU_LOG_ERR, line);
		return -EFBIG;
	}
	base = mmap(NULL, len + delta, PROT_READ | (writable ? PROT_WRITE : 0), MAP_SHARED, fd,
		    (off_t)(offset - delta));
	if (base == MAP_FAILED)
		return -errno;
	m->base = base;
	m->len = len + delta;
	m->used = true;
	/* The file may shrink under us later: a fault there becomes zero
	 * pages and a poisoned session, not a dead daemon. */
	m->guard = uvh_sigbus_guard_add(base, len + delta);
	p->live_mappings++;
	*host = (uint8_t *)base + delta;
	*cookie = m;
	return 0;
}

static void host_unmap(void *ctx, void *cookie)
{
	struct uvh_platform *p = ctx;
	struct uvh_mapping *m = cookie;

	if (!m || !m->used)
		return;
	uvh_sigbus_guard_remove(m->guard);
	m->guard = -1;
	munmap(m->base, m->len);
	m->used = false;
	p->live_mappings--;
}

static int host_alloc_shared(void *ctx, uint64_t len, int *fd, void **host, void **cookie)
{
	int mfd = memfd_create("uvhost-inflight", MFD_CLOEXEC);
	int rc;

	if (mfd < 0)
		return -errno;
	if (ftruncate(mfd, (off_t)len) < 0) {
		rc = -errno;
		close(mfd);
		return rc;
	}
	rc = host_map(ctx, mfd, 0, len, true, host, cookie);
	if (rc) {
		close(mfd);
		return rc;
	}
	*fd = mfd;
	return 0;
}

static int host_signal(void *ctx, int fd)
{
	uint64_t one = 1;
	(void)ctx;
	/* A full eventfd (EAGAIN) already has a wake-up pending: fine. */
	if (write(fd, &one, sizeof(one)) < 0 && errno != EAGAIN)
		return -errno;
	return 0;
}

static void host_close(void *ctx, int fd)
{
	(void)ctx;
	close(fd);
}

static void host_log(void *ctx, enum vu_log_level level, const char *line)
{
	struct uvh_platform *p = ctx;
	static const char *const tag[] = {"error", "warn", "info", "debug"};

	if (level >= VU_LOG_INFO && !p->verbose)
		return;
	fprintf(stderr, "uvhostd: %s: %s\n", tag[level], line);
}

bool uvh_platform_poisoned(const struct uvh_platform *p)
{
	for (uint32_t i = 0; i < UVH_MAX_MAPPINGS; i++)
		if (p->maps[i].used && uvh_sigbus_guard_poisoned(p->maps[i].guard))
			return true;
	return false;
}

void uvh_platform_init(struct uvh_platform *p, bool verbose)
{
	memset(p, 0, sizeof(*p));
	/* Process-wide and idempotent: every mapping of a peer's file is
	 * guarded, so the handler must be in place before the first one. */
	uvh_sigbus_guard_install();
	p->sock = -1;
	p->verbose = verbose;
	p->plat.ctx = p;
	p->plat.send = host_send;
	p->plat.backend_send = host_backend_send;
	p->plat.backend_recv = host_backend_recv;
	p->plat.map = host_map;
	p->plat.unmap = host_unmap;
	p->plat.alloc_shared = host_alloc_shared;
	p->plat.signal = host_signal;
	p->plat.close_fd = host_close;
	p->plat.has_fds = true;
	p->plat.log = host_log;
}
