/* Pending requests: completion tokens, late completions, the deferred
 * GET_VRING_BASE reply, and the ring accessors devices and transports use.
 *
 * A token is {epoch, ring, head}. It is good while the ring's epoch is the
 * one it carries and its head is still in use; every ring reset moves the
 * epoch on (vu_vq_reset), so a completion that comes after a reset, or twice,
 * is dropped here and never reaches the used ring. */
#include <errno.h>

#include "backend_internal.h"

static struct vu_vq *token_ring(struct vu_backend *b, struct vu_token t)
{
	struct vu_vq *vq;

	if (t.ring >= b->dev->num_queues)
		return NULL;
	vq = &b->vq[t.ring];
	if (t.epoch == 0 || t.epoch != vq->epoch || t.head >= vq->size ||
	    !vu_vq_head_in_use(vq, t.head))
		return NULL;
	return vq;
}

int vu_ring_base_reply(struct vu_backend *b, struct vu_vq *vq)
{
	struct vu_msg req = {.hdr = {.request = VU_REQ_GET_VRING_BASE}};
	struct vu_vring_state st = {.index = vq->index, .num = vq->last_avail_idx};

	b->base_reply_due[vq->index] = false;
	return vu_reply(b, &req, &st, sizeof(st), NULL, 0);
}

int vu_complete(struct vu_backend *b, struct vu_token t, uint32_t written)
{
	struct vu_vq *vq = token_ring(b, t);
	int rc = 0;

	if (!vq) {
		b->n_late++;
		return -ESTALE;
	}
	if (vu_vq_push(vq, &b->mem, t.head, written) < 0) {
		/* The ring's memory went away under the request: it cannot be
		 * published, but it must not hold GET_VRING_BASE forever. */
		vu_ring_error(b, vq, -EIO);
		(void)vu_vq_drop(vq, t.head);
		b->n_dropped++;
		rc = -EIO;
	} else if (!b->in_batch) {
		vu_ring_notify(b, vq);
	}
	if (vq->inuse == 0 && b->base_reply_due[vq->index]) {
		vu_logf(b, VU_LOG_INFO, "ring %u: last pending request done; GET_VRING_BASE %u",
			vq->index, vq->last_avail_idx);
		vq->mapped = false;
		(void)vu_ring_base_reply(b, vq);
	}
	return rc;
}

int vu_token_chain(struct vu_backend *b, struct vu_token t, struct vu_chain *chain)
{
	struct vu_vq *vq = token_ring(b, t);
	int rc;

	if (!vq)
		return -ESTALE;
	rc = vu_vq_chain_from_head(vq, &b->mem, t.head, chain);
	if (rc < 0 && vq->broken)
		vu_ring_error(b, vq, rc);
	return rc < 0 ? -EIO : 0;
}

uint32_t vu_ring_pending(const struct vu_backend *b, uint32_t ring)
{
	return ring < b->dev->num_queues ? b->vq[ring].inuse : 0;
}

uint32_t vu_ring_waiting(const struct vu_backend *b, uint32_t ring)
{
	const struct vu_vq *vq;
	uint16_t n;

	if (ring >= b->dev->num_queues)
		return 0;
	vq = &b->vq[ring];
	/* A stale view is the next pop's business: it re-translates and
	 * reports; here it just means "unknown", 0. */
	if (!vq->started || vq->broken || !vq->mapped || vq->mem_generation != b->mem.generation)
		return 0;
	n = (uint16_t)(__atomic_load_n(&vq->avail->idx, __ATOMIC_RELAXED) - vq->last_avail_idx);
	return n > vq->size ? vq->size : n;
}

bool vu_ring_started(const struct vu_backend *b, uint32_t ring)
{
	return ring < b->dev->num_queues && b->vq[ring].started;
}

bool vu_ring_live(const struct vu_backend *b, uint32_t ring)
{
	const struct vu_vq *vq;

	if (ring >= b->dev->num_queues)
		return false;
	vq = &b->vq[ring];
	return vq->started && vq->enabled && !vq->broken && !b->rings_gated;
}

int vu_ring_kick_fd(const struct vu_backend *b, uint32_t ring)
{
	return ring < b->dev->num_queues ? b->vq[ring].kick_fd : -1;
}

uint32_t vu_backend_num_queues(const struct vu_backend *b)
{
	return b->dev->num_queues;
}
