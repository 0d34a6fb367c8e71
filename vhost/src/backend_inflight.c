/* GET_INFLIGHT_FD / SET_INFLIGHT_FD: the shared record of requests in flight
 * that lets a restarted back-end finish what a crashed one started. */
#include <errno.h>
#include <string.h>

#include "backend_internal.h"
#include "vu/inflight.h"

void vu_inflight_release(struct vu_backend *b)
{
	for (uint32_t i = 0; i < VU_MAX_QUEUES; i++)
		b->vq[i].inflight = NULL;
	if (b->inflight_cookie)
		b->plat->unmap(b->plat->ctx, b->inflight_cookie);
	vu_close_fd(b, b->inflight_fd);
	b->inflight_fd = -1;
	b->inflight_host = NULL;
	b->inflight_cookie = NULL;
	b->inflight_size = 0;
}

static int inflight_shape(struct vu_backend *b, const struct vu_inflight_msg *m, const char *what,
			  uint64_t *total)
{
	/* A running ring would index the new region with its own size. */
	for (uint32_t i = 0; i < b->dev->num_queues; i++) {
		if (b->vq[i].started) {
			vu_logf(b, VU_LOG_ERR, "%s: ring %u is running", what, i);
			return -EBUSY;
		}
	}
	if (m->num_queues == 0 || m->num_queues > b->dev->num_queues) {
		vu_logf(b, VU_LOG_ERR, "%s: num_queues %u not in 1..%u", what, m->num_queues,
			b->dev->num_queues);
		return -EINVAL;
	}
	if (!vu_vq_size_valid(m->queue_size) || m->queue_size > b->dev->max_queue_size) {
		vu_logf(b, VU_LOG_ERR, "%s: queue_size %u invalid", what, m->queue_size);
		return -EINVAL;
	}
	*total = vu_inflight_total_bytes(m->num_queues, m->queue_size);
	return *total ? 0 : -EINVAL;
}

/* Point each ring at its part of the region, and stamp fresh headers. */
static int attach(struct vu_backend *b, uint16_t nq, uint16_t qs)
{
	uint64_t stride = vu_inflight_queue_bytes(qs);

	b->inflight_num_queues = nq;
	b->inflight_queue_size = qs;
	for (uint16_t i = 0; i < nq; i++) {
		struct vu_inflight_queue *q =
			(struct vu_inflight_queue *)((uint8_t *)b->inflight_host + i * stride);
		if (q->desc_num == 0 && q->version == 0) {
			q->version = VU_INFLIGHT_VERSION;
			q->desc_num = qs;
		} else if (q->desc_num != qs) {
			vu_logf(b, VU_LOG_ERR,
				"SET_INFLIGHT_FD: queue %u records %u entries, not %u", i,
				q->desc_num, qs);
			return -EINVAL;
		}
		b->vq[i].inflight = q;
	}
	return 0;
}

int vu_h_get_inflight_fd(struct vu_backend *b, struct vu_msg *msg)
{
	struct vu_inflight_msg r = msg->p.inflight;
	uint64_t total;
	int fd, rc = inflight_shape(b, &msg->p.inflight, "GET_INFLIGHT_FD", &total);

	if (rc)
		return rc;
	vu_inflight_release(b);
	rc = b->plat->alloc_shared(b->plat->ctx, total, &fd, &b->inflight_host,
				   &b->inflight_cookie);
	if (rc) {
		vu_logf(b, VU_LOG_ERR, "GET_INFLIGHT_FD: cannot allocate %llu bytes (%d)",
			(unsigned long long)total, rc);
		return rc;
	}
	b->inflight_size = total;
	rc = attach(b, r.num_queues, r.queue_size);
	if (rc == 0) {
		r.mmap_size = total;
		r.mmap_offset = 0;
		rc = vu_reply(b, msg, &r, sizeof(r), &fd, 1);
	}
	/* The front-end has its own copy now; our mapping keeps the memory. */
	vu_close_fd(b, fd);
	if (rc)
		vu_inflight_release(b);
	return rc;
}

int vu_h_set_inflight_fd(struct vu_backend *b, struct vu_msg *msg)
{
	const struct vu_inflight_msg *m = &msg->p.inflight;
	uint64_t total;
	int rc = inflight_shape(b, m, "SET_INFLIGHT_FD", &total);

	if (rc)
		return rc;
	if (m->mmap_size < total || m->mmap_offset > UINT64_MAX - m->mmap_size) {
		vu_logf(b, VU_LOG_ERR,
			"SET_INFLIGHT_FD: mmap_size %llu (offset %llu) < %llu needed",
			(unsigned long long)m->mmap_size, (unsigned long long)m->mmap_offset,
			(unsigned long long)total);
		return -EINVAL;
	}
	/* The records hold 64-bit counters updated atomically: keep them aligned. */
	if (m->mmap_offset % VU_INFLIGHT_ALIGN) {
		vu_logf(b, VU_LOG_ERR, "SET_INFLIGHT_FD: mmap_offset %llu is not %u-aligned",
			(unsigned long long)m->mmap_offset, VU_INFLIGHT_ALIGN);
		return -EINVAL;
	}
	vu_inflight_release(b);
	rc = b->plat->map(b->plat->ctx, msg->fds[0], m->mmap_offset, m->mmap_size, true,
			  &b->inflight_host, &b->inflight_cookie);
	if (rc) {
		vu_logf(b, VU_LOG_ERR, "SET_INFLIGHT_FD: cannot map (%d)", rc);
		b->inflight_host = NULL;
		b->inflight_cookie = NULL;
		return rc;
	}
	b->inflight_size = m->mmap_size;
	rc = attach(b, m->num_queues, m->queue_size);
	if (rc)
		vu_inflight_release(b);
	return rc;
}
