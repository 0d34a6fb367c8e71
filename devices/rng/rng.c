/* virtio-rng: the writable buffers of a chain get what the entropy source
 * produces (see dev/rng.h). */
#include "dev/rng.h"

#include <string.h>

#include "vu/backend.h"
#include "vu/vq.h"

#define VIRTIO_ID_RNG 4

static int rng_serve(void *dev, struct vu_backend *b, struct vu_req *req)
{
	struct dev_rng *rng = dev;
	const struct vu_chain *c = req->chain;
	uint64_t written = 0;

	(void)b;
	/* A dry pool: the chain goes back to the ring, still the driver's,
	 * rather than completing with 0 bytes (a retry storm in the guest). */
	if (rng->level && rng->level() == 0) {
		rng->not_now++;
		return VU_NOT_NOW;
	}
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
	req->written = (uint32_t)written;
	return VU_DONE;
}

static const struct vu_device_ops rng_ops = {
	.serve = rng_serve,
};

void dev_rng_init(struct dev_rng *rng, dev_rng_source source, dev_rng_level level)
{
	memset(rng, 0, sizeof(*rng));
	rng->source = source;
	rng->level = level;
	rng->dev.ops = &rng_ops;
	rng->dev.name = "rng";
	rng->dev.virtio_id = VIRTIO_ID_RNG;
	rng->dev.num_queues = 1;
	rng->dev.max_queue_size = 1024;
}
