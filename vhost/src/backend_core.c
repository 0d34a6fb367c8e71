/* What every part of the back-end uses: the log, replies, fds, and ring
 * stop/refresh. Depends on nothing else of the back-end (no handler, no
 * dispatch), so the handler files and backend.c depend on it, never the
 * other way round. */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "backend_internal.h"

void vu_logf(const struct vu_backend *b, enum vu_log_level lvl, const char *fmt, ...)
{
	char line[256];
	va_list ap;

	if (!b->plat->log)
		return;
	va_start(ap, fmt);
	vsnprintf(line, sizeof(line), fmt, ap);
	va_end(ap);
	b->plat->log(b->plat->ctx, lvl, line);
}

int vu_reply(struct vu_backend *b, const struct vu_msg *req, const void *payload, uint32_t size,
	     const int *fds, uint32_t nfds)
{
	struct vu_msg *out = &b->scratch_reply;

	if (size > VU_MAX_PAYLOAD || nfds > VU_MAX_FDS)
		return -EINVAL;
	out->hdr.request = req->hdr.request;
	out->hdr.flags = VU_REPLY_FLAGS;
	out->hdr.size = size;
	if (size)
		memmove(out->p.raw, payload, size);
	out->nfds = nfds;
	for (uint32_t i = 0; i < nfds; i++)
		out->fds[i] = fds[i];
	return b->plat->send(b->plat->ctx, out);
}

int vu_reply_u64(struct vu_backend *b, const struct vu_msg *req, uint64_t value)
{
	return vu_reply(b, req, &value, sizeof(value), NULL, 0);
}

int vu_take_fd(struct vu_msg *msg, uint32_t i)
{
	int fd = msg->fds[i];
	msg->fds[i] = -1;
	return fd;
}

void vu_close_fd(struct vu_backend *b, int fd)
{
	if (fd >= 0)
		b->plat->close_fd(b->plat->ctx, fd);
}

struct vu_vq *vu_ring_of(struct vu_backend *b, uint32_t index, const char *what)
{
	if (index >= b->dev->num_queues) {
		vu_logf(b, VU_LOG_ERR, "%s: ring index %u out of range (device has %u)", what,
			index, b->dev->num_queues);
		return NULL;
	}
	return &b->vq[index];
}

void vu_ring_stop(struct vu_backend *b, struct vu_vq *vq)
{
	vq->started = false;
	vq->kicked = false;
	vu_close_fd(b, vq->kick_fd);
	vq->kick_fd = -1;
}

void vu_rings_memory_changed(struct vu_backend *b)
{
	/* vu_vq_map() compares generations; nothing to do eagerly except make
	 * polled rings look again, so a ring that lost its memory reports it. */
	for (uint32_t i = 0; i < b->dev->num_queues; i++)
		if (b->vq[i].started)
			b->vq[i].kicked = true;
}
