/* virtio-rng: every writable buffer is filled from the entropy source. */
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
		if (rng->source(c->iov[i].base, c->iov[i].len) < 0)
			break;
		written += c->iov[i].len;
	}
	if (written > UINT32_MAX)
		written = UINT32_MAX;
	rng->bytes += written;
	vu_dev_complete(b, vq, c->head, (uint32_t)written);
	return 0;
}

void dev_rng_init(struct dev_rng *rng, dev_rng_source source)
{
	memset(rng, 0, sizeof(*rng));
	rng->source = source;
	rng->ops.name = "rng";
	rng->ops.virtio_id = VIRTIO_ID_RNG;
	rng->ops.num_queues = 1;
	rng->ops.max_queue_size = 1024;
	rng->ops.handle = rng_handle;
}
