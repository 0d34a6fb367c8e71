#include "fake_platform.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static struct fake_file *file_of(struct fake_platform *f, int fd)
{
	int i = fd - FAKE_FD_BASE;
	if (i < 0 || i >= f->nfiles)
		return NULL;
	return &f->files[i];
}

static int fake_send(void *ctx, const struct vu_msg *msg)
{
	struct fake_platform *f = ctx;
	if (f->nsent < FAKE_MAX_SENT)
		f->sent[f->nsent] = *msg;
	f->nsent++;
	return 0;
}

static int fake_backend_send(void *ctx, int chan, const struct vu_msg *msg, struct vu_msg *reply)
{
	struct fake_platform *f = ctx;
	(void)chan;
	if (f->fail_backend_send)
		return -f->fail_backend_send;
	if (f->nbackend_sent < FAKE_MAX_SENT)
		f->backend_sent[f->nbackend_sent] = *msg;
	f->nbackend_sent++;
	if (reply) {
		memset(reply, 0, sizeof(*reply));
		reply->hdr.request = msg->hdr.request;
		reply->hdr.flags = VU_REPLY_FLAGS;
		reply->hdr.size = 8;
	}
	return 0;
}

static int fake_backend_recv(void *ctx, int chan, struct vu_msg *msg)
{
	struct fake_platform *f = ctx;
	(void)chan;
	if (f->backend_rx_pos < f->nbackend_rx) {
		*msg = f->backend_rx[f->backend_rx_pos++];
		return 0;
	}
	return f->backend_rx_err ? f->backend_rx_err : -EAGAIN;
}

struct vu_msg *fake_backend_reply(struct fake_platform *f, uint32_t request, uint64_t value)
{
	struct vu_msg *m;

	if (f->nbackend_rx >= FAKE_MAX_SENT)
		return NULL;
	m = &f->backend_rx[f->nbackend_rx++];
	memset(m, 0, sizeof(*m));
	for (uint32_t i = 0; i < VU_MAX_FDS; i++)
		m->fds[i] = -1;
	m->hdr.request = request;
	m->hdr.flags = VU_REPLY_FLAGS;
	m->hdr.size = sizeof(uint64_t);
	m->p.u64 = value;
	return m;
}

struct fake_cookie {
	int fd;
};

static int fake_window_size(void *ctx, uint32_t index, uint64_t *size)
{
	struct fake_platform *f = ctx;

	if (index >= (uint32_t)f->nwindows)
		return -ENOENT;
	*size = f->windows[index].size;
	return 0;
}

/* What a real window mapper does: the library checked already, but the
 * platform trusts nobody. */
static int window_map(struct fake_platform *f, uint64_t offset, uint64_t len, void **host)
{
	uint32_t win = VU_WINDOW_INDEX(offset);
	uint64_t off = VU_WINDOW_OFFSET(offset);

	if (win >= (uint32_t)f->nwindows)
		return -ENOENT;
	if (len == 0 || off > f->windows[win].size || len > f->windows[win].size - off)
		return -ERANGE;
	*host = f->windows[win].data + off;
	f->window_maps++;
	return 0;
}

static int fake_backend_connect(void *ctx, uint32_t port, int *chan)
{
	struct fake_platform *f = ctx;
	int fd;

	if (f->fail_connect)
		return -f->fail_connect;
	fd = fake_file_new(f, 8);
	if (fd < 0)
		return fd;
	if (f->connects < FAKE_MAX_SENT) {
		f->connect_port[f->connects] = port;
		f->connect_chan[f->connects] = fd;
	}
	f->connects++;
	*chan = fd;
	return 0;
}

static int fake_map(void *ctx, int fd, uint64_t offset, uint64_t len, bool writable, void **host,
		    void **cookie)
{
	struct fake_platform *f = ctx;
	struct fake_file *ff = file_of(f, fd);
	(void)writable;
	f->map_calls++;
	if (f->fail_map) {
		int e = f->fail_map;
		f->fail_map = 0;
		return -e;
	}
	if (fd < 0 && !f->plat.has_fds) {
		int rc = window_map(f, offset, len, host);

		if (rc)
			return rc;
	} else if (!ff || !ff->open) {
		return -EBADF;
	} else if (offset > ff->size || len > ff->size - offset) {
		return -EINVAL;
	} else {
		*host = ff->data + offset;
	}
	struct fake_cookie *c = malloc(sizeof(*c));
	if (!c)
		return -ENOMEM;
	c->fd = fd;
	*cookie = c;
	f->maps++;
	return 0;
}

static void fake_unmap(void *ctx, void *cookie)
{
	struct fake_platform *f = ctx;
	free(cookie);
	f->unmaps++;
}

static int fake_alloc_shared(void *ctx, uint64_t len, int *fd, void **host, void **cookie)
{
	struct fake_platform *f = ctx;
	int nfd = fake_file_new(f, len);
	if (nfd < 0)
		return nfd;
	f->allocs++;
	*fd = nfd;
	return fake_map(ctx, nfd, 0, len, true, host, cookie);
}

static int fake_signal(void *ctx, int fd)
{
	struct fake_platform *f = ctx;
	if (f->signals < FAKE_MAX_SENT)
		f->signalled_fd[f->signals] = fd;
	f->signals++;
	return 0;
}

static void fake_close(void *ctx, int fd)
{
	struct fake_platform *f = ctx;
	struct fake_file *ff = file_of(f, fd);
	if (ff)
		ff->open = 0;
	f->closes++;
}

static void fake_log(void *ctx, enum vu_log_level level, const char *line)
{
	struct fake_platform *f = ctx;
	(void)level;
	snprintf(f->last_log, sizeof(f->last_log), "%s", line);
	if (getenv("FAKE_LOG"))
		fprintf(stderr, "log: %s\n", line);
}

void fake_platform_init(struct fake_platform *f, int has_fds)
{
	memset(f, 0, sizeof(*f));
	f->plat.ctx = f;
	f->plat.send = fake_send;
	f->plat.backend_send = fake_backend_send;
	f->plat.backend_recv = fake_backend_recv;
	f->plat.map = fake_map;
	f->plat.unmap = fake_unmap;
	f->plat.alloc_shared = fake_alloc_shared;
	f->plat.signal = fake_signal;
	f->plat.close_fd = fake_close;
	f->plat.has_fds = has_fds != 0;
	f->plat.log = fake_log;
	if (!has_fds) {
		f->plat.window_size = fake_window_size;
		f->plat.backend_connect = fake_backend_connect;
	}
}

void fake_platform_fini(struct fake_platform *f)
{
	for (int i = 0; i < f->nfiles; i++)
		free(f->files[i].data);
	f->nfiles = 0;
	for (int i = 0; i < f->nwindows; i++)
		free(f->windows[i].data);
	f->nwindows = 0;
}

int fake_window_new(struct fake_platform *f, uint64_t size)
{
	struct fake_file *w;

	if (f->nwindows >= FAKE_MAX_WINDOWS)
		return -ENOSPC;
	w = &f->windows[f->nwindows];
	w->data = calloc(1, size ? size : 1);
	if (!w->data)
		return -ENOMEM;
	w->size = size;
	w->open = 1;
	return f->nwindows++;
}

uint8_t *fake_window_ptr(struct fake_platform *f, uint32_t index, uint64_t off)
{
	if (index >= (uint32_t)f->nwindows || off > f->windows[index].size)
		return NULL;
	return f->windows[index].data + off;
}

int fake_file_new(struct fake_platform *f, uint64_t size)
{
	if (f->nfiles >= FAKE_MAX_FILES)
		return -EMFILE;
	struct fake_file *ff = &f->files[f->nfiles];
	ff->data = calloc(1, size ? size : 1);
	if (!ff->data)
		return -ENOMEM;
	ff->size = size;
	ff->open = 1;
	return FAKE_FD_BASE + f->nfiles++;
}

uint8_t *fake_file_ptr(struct fake_platform *f, int fd, uint64_t off)
{
	struct fake_file *ff = file_of(f, fd);
	return ff ? ff->data + off : NULL;
}

int fake_open_files(const struct fake_platform *f)
{
	int n = 0;
	for (int i = 0; i < f->nfiles; i++)
		n += f->files[i].open;
	return n;
}
