/* virtio-rng: the writable buffers of a chain get what the entropy source
 * produces (see dev/rng.h). */
#include "dev/rng.h"

#include <string.h>

#include "vu/backend.h"
#include "vu/vq.h"

#define VIRTIO_ID_RNG 4

static int rng_handle(void *dev, struct vu_backend *b, struct vu_vq *vq, struct vu_chain *c)
{
	struct dev_rng *rng = dev;
	uint64_t written = 0;

	for (uint32_t i = c->n_out; i < c->n_out + c->n_in; i++) {
		size_t want = c->iov[i].len;
		size_t got = want ? rng->source(c->iov[i].base, want) : 0;

		if (got > want)
			got = want;
		written += got;
		/* The used length covers a prefix of the writable bytes:
		 * nothing may follow a gap. */
		if (got < want)
			break;
	}
	if (written < c->in_len)
		rng->short_reads++;
	if (written > UINT32_MAX)
		written = UINT32_MAX;
	rng->bytes += written;
	rng->requests++;
	vu_dev_complete(b, vq, c->head, (uint32_t)written);
	return 0;
}

/* Chains in ring 0's avail ring, if its view of guest memory is current (a
 * stale one is the next pop's business: it re-translates and reports). */
static uint32_t rng_pending(struct vu_backend *b)
{
	struct vu_vq *vq = &b->vq[0];
	uint16_t n;

	if (!vq->started || !vq->enabled || vq->broken || !vq->mapped ||
	    vq->mem_generation != b->mem.generation)
		return 0;
	n = vu_vq_avail_pending(vq, &b->mem);
	return n > vq->size ? vq->size : n;
}

int dev_rng_poll(struct dev_rng *rng, struct vu_backend *b, int budget)
{
	int work = 0;

	if (!rng->level)
		return vu_backend_poll(b, budget);
	rng->waiting = 0;
	/* One chain per call: the level is checked before every pop. */
	while (work < budget) {
		int w;

		if (rng->level() == 0) {
			rng->waiting = rng_pending(b);
			break;
		}
		w = vu_backend_poll(b, 1);
		if (w <= 0)
			break;
		work += w;
	}
	return work;
}

void dev_rng_init(struct dev_rng *rng, dev_rng_source source, dev_rng_level level)
{
	memset(rng, 0, sizeof(*rng));
	rng->source = source;
	rng->level = level;
	rng->ops.name = "rng";
	rng->ops.virtio_id = VIRTIO_ID_RNG;
	rng->ops.num_queues = 1;
	rng->ops.max_queue_size = 1024;
	rng->ops.handle = rng_handle;
}
