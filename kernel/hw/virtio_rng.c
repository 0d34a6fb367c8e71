/* The virtio-rng driver: an entropy pool fed by the hypervisor's device
 * (see kern/virtio_rng.h). */
#include "kern/virtio_rng.h"

#include <errno.h>
#include <inttypes.h>
#include <string.h>

#include "kern/log.h"

#define RNG_FIRST_TIMEOUT_NS ((uint64_t)500 * 1000 * 1000)
/* An answer of at least this many identical bytes is a stuck source. */
#define RNG_STUCK_MIN 16u

_Static_assert((K_VRNG_POOL_BYTES & (K_VRNG_POOL_BYTES - 1)) == 0, "pool: a power of two");
_Static_assert(K_VRNG_REQS *K_VRNG_REQ_BYTES <= K_VRNG_POOL_BYTES,
	       "every request in flight fits the pool at once");

static bool all_equal(const uint8_t *p, uint32_t len)
{
	for (uint32_t i = 1; i < len; i++)
		if (p[i] != p[0])
			return false;
	return true;
}

/* Send every idle buffer whose answer the pool has room for. */
static int rng_post(struct k_virtio_rng *r)
{
	int sent = 0;

	for (unsigned i = 0; i < K_VRNG_REQS; i++) {
		struct virtq_buf b = {.addr = (uintptr_t)r->req[i],
				      .len = K_VRNG_REQ_BYTES,
				      .device_writable = true};

		if (r->req_busy[i])
			continue;
		if (k_entropy_pool_reserve(&r->pool, K_VRNG_REQ_BYTES) < 0)
			break;
		if (virtq_drv_add(&r->q, &b, 1, r->req[i]) < 0) {
			k_entropy_pool_fill(&r->pool, NULL, 0, K_VRNG_REQ_BYTES);
			break;
		}
		r->req_busy[i] = true;
		sent++;
	}
	if (sent && virtq_drv_kick_needed(&r->q))
		virtio_pci_notify(r->dev, 0);
	return sent;
}

/* Move at most K_VRNG_REQS answers into the pool. */
static int rng_collect(struct k_virtio_rng *r)
{
	int got = 0;

	for (unsigned n = 0; n < K_VRNG_REQS; n++) {
		void *cookie;
		uint32_t len;
		unsigned i;
		int e = virtq_drv_get_used(&r->q, &cookie, &len);

		if (e == 0)
			break;
		if (e < 0) {
			/* A used id or length the split driver refused. */
			k_err("virtio-rng: device published a bad used element (%d): no more "
			      "requests, %" PRIu32 " bytes left in the pool",
			      e, k_entropy_pool_level(&r->pool));
			r->broken = true;
			break;
		}
		i = (unsigned)(((uint8_t *)cookie - r->req[0]) / K_VRNG_REQ_BYTES);
		got++;
		r->answers++;
		if (len >= RNG_STUCK_MIN && all_equal(r->req[i], len)) {
			r->rejected++;
			len = 0;
		}
		k_entropy_pool_fill(&r->pool, r->req[i], len, K_VRNG_REQ_BYTES);
		memset(r->req[i], 0, K_VRNG_REQ_BYTES);
		r->req_busy[i] = false;
	}
	return got;
}

int k_virtio_rng_poll(void *ctx)
{
	struct k_virtio_rng *r = ctx;
	int work;

	if (r->broken || !r->dev)
		return 0;
	work = rng_collect(r);
	if (!r->broken)
		work += rng_post(r);
	return work;
}

static int rng_queue_up(struct k_virtio_rng *r, struct virtio_pci_dev *d)
{
	uint16_t qmax;
	int e;

	_Static_assert(sizeof(r->ring) >=
			       16 * K_VRNG_QSIZE + 6 + 2 * K_VRNG_QSIZE + 6 + 8 * K_VRNG_QSIZE + 8,
		       "ring fits");
	e = virtio_pci_reset(d);
	if (e == 0)
		e = virtio_pci_negotiate(d, 1ull << VIRTIO_F_VERSION_1);
	if (e) {
		k_err("virtio-rng: reset/negotiate failed (%d)", e);
		return e;
	}
	qmax = virtio_pci_queue_max(d, 0);
	k_info("virtio-rng: negotiated features %#" PRIx64 " (VERSION_1), queue 0 max %u",
	       d->features, qmax);
	if (qmax < K_VRNG_QSIZE || virtq_drv_mem_bytes(K_VRNG_QSIZE) > sizeof(r->ring)) {
		k_err("virtio-rng: queue 0 holds %u entries, need %u", qmax, K_VRNG_QSIZE);
		return -EINVAL;
	}
	e = virtq_drv_init(&r->q, K_VRNG_QSIZE, r->ring, (uintptr_t)r->ring, r->cookie,
			   r->chain_len, r->max_write, false);
	if (e == 0)
		e = virtq_drv_set_links(&r->q, r->links);
	if (e == 0)
		e = virtio_pci_queue_enable(d, 0, K_VRNG_QSIZE, r->q.desc_addr, r->q.avail_addr,
					    r->q.used_addr);
	if (e) {
		k_err("virtio-rng: queue set-up failed (%d)", e);
		return e;
	}
	virtio_pci_driver_ok(d);
	return 0;
}

int k_virtio_rng_init(struct k_virtio_rng *r, struct virtio_pci_dev *d, uint64_t (*now_ns)(void))
{
	uint64_t t0, deadline;
	int e;

	r->dev = NULL;
	r->ready = r->broken = false;
	r->answers = r->rejected = 0;
	memset(r->req_busy, 0, sizeof(r->req_busy));
	if (!d) {
		k_info("virtio-rng: no device (1af4:1044): no entropy source");
		return -ENODEV;
	}
	e = k_entropy_pool_init(&r->pool, r->pool_buf, sizeof(r->pool_buf));
	if (e == 0)
		e = rng_queue_up(r, d);
	if (e)
		return e;
	r->dev = d;
	r->now_ns = now_ns;
	t0 = now_ns();
	deadline = t0 + RNG_FIRST_TIMEOUT_NS;
	while (k_entropy_pool_level(&r->pool) == 0 && !r->broken && now_ns() < deadline)
		k_virtio_rng_poll(r);
	if (k_entropy_pool_level(&r->pool) == 0) {
		k_err("virtio-rng: no usable answer in %" PRIu64 " ms (%" PRIu64
		      " answers, %" PRIu64 " rejected): not an entropy source",
		      RNG_FIRST_TIMEOUT_NS / 1000000, r->answers, r->rejected);
		r->broken = true;
		return -ETIMEDOUT;
	}
	r->ready = true;
	k_info("virtio-rng: request done, %" PRIu32 " random bytes in %" PRIu64
	       " us; pool %u bytes, %u requests of %u bytes",
	       k_entropy_pool_level(&r->pool), (now_ns() - t0) / 1000, K_VRNG_POOL_BYTES,
	       K_VRNG_REQS, K_VRNG_REQ_BYTES);
	return 0;
}

bool k_virtio_rng_ready(const struct k_virtio_rng *r)
{
	return r && r->ready;
}

void k_virtio_rng_disable(struct k_virtio_rng *r)
{
	r->ready = false;
}

size_t k_virtio_rng_take(struct k_virtio_rng *r, void *buf, size_t len)
{
	return k_virtio_rng_ready(r) ? k_entropy_pool_take(&r->pool, buf, len) : 0;
}

size_t k_virtio_rng_level(const struct k_virtio_rng *r)
{
	return k_virtio_rng_ready(r) ? k_entropy_pool_level(&r->pool) : 0;
}

int k_virtio_rng_stat(const struct k_virtio_rng *r, unsigned i, const char **key, uint64_t *val)
{
	static const char *const keys[] = {
		"rng_pool_bytes",     "rng_pool_size",	     "rng_bytes_in",  "rng_bytes_out",
		"rng_device_answers", "rng_device_rejected", "rng_in_flight", "rng_device_ok",
	};
	uint64_t vals[K_VRNG_NSTATS];

	_Static_assert(sizeof(keys) / sizeof(keys[0]) == K_VRNG_NSTATS, "one value per key");
	if (!k_virtio_rng_ready(r) || i >= K_VRNG_NSTATS)
		return -ENOENT;
	vals[0] = k_entropy_pool_level(&r->pool);
	vals[1] = r->pool.size;
	vals[2] = r->pool.bytes_in;
	vals[3] = r->pool.bytes_out;
	vals[4] = r->answers;
	vals[5] = r->rejected;
	vals[6] = virtq_drv_in_flight(&r->q);
	vals[7] = !r->broken;
	*key = keys[i];
	*val = vals[i];
	return 0;
}
