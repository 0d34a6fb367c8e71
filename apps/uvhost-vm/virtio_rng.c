/* The entropy pool fed by the hypervisor's virtio-rng (see virtio_rng.h). */
#include "virtio_rng.h"

#include <errno.h>
#include <inttypes.h>
#include <string.h>

#include "kern/entropy_pool.h"
#include "kern/log.h"
#include "kern/time.h"
#include "uvm.h"
#include "virtio/split_driver.h"

/* Twice the requests: a queue size is a power of two, and a spare never
 * hurts a device that is slow to publish. */
#define RNG_QSIZE (2 * UVM_RNG_REQS)
#define RNG_FIRST_TIMEOUT_NS ((uint64_t)500 * 1000 * 1000)
/* An answer of at least this many identical bytes is a stuck source. */
#define RNG_STUCK_MIN 16u

_Static_assert((UVM_RNG_POOL_BYTES & (UVM_RNG_POOL_BYTES - 1)) == 0, "pool: a power of two");
_Static_assert(UVM_RNG_REQS *UVM_RNG_REQ_BYTES <= UVM_RNG_POOL_BYTES,
	       "every request in flight fits the pool at once");

static uint8_t rng_ring[4096] __attribute__((aligned(4096)));
static uint8_t rng_req[UVM_RNG_REQS][UVM_RNG_REQ_BYTES] __attribute__((aligned(64)));
static bool rng_req_busy[UVM_RNG_REQS];
static void *rng_cookie[RNG_QSIZE];
static uint16_t rng_chain_len[RNG_QSIZE];
static uint32_t rng_max_write[RNG_QSIZE];
static uint16_t rng_links[RNG_QSIZE];
static struct virtq_drv rng_q;
static uint8_t rng_pool_buf[UVM_RNG_POOL_BYTES];
static struct k_entropy_pool rng_pool;
static struct virtio_pci_dev *rng_dev;
static bool rng_ready;	/* answered at boot */
static bool rng_broken; /* published garbage since: not touched again */
static uint64_t rng_answers, rng_rejected;

static bool all_equal(const uint8_t *p, uint32_t len)
{
	for (uint32_t i = 1; i < len; i++)
		if (p[i] != p[0])
			return false;
	return true;
}

/* Send every idle buffer whose answer the pool has room for. */
static int rng_post(void)
{
	int sent = 0;

	for (unsigned i = 0; i < UVM_RNG_REQS; i++) {
		struct virtq_buf b = {.addr = (uintptr_t)rng_req[i],
				      .len = UVM_RNG_REQ_BYTES,
				      .device_writable = true};

		if (rng_req_busy[i])
			continue;
		if (k_entropy_pool_reserve(&rng_pool, UVM_RNG_REQ_BYTES) < 0)
			break;
		if (virtq_drv_add(&rng_q, &b, 1, rng_req[i]) < 0) {
			k_entropy_pool_fill(&rng_pool, NULL, 0, UVM_RNG_REQ_BYTES);
			break;
		}
		rng_req_busy[i] = true;
		sent++;
	}
	if (sent && virtq_drv_kick_needed(&rng_q))
		virtio_pci_notify(rng_dev, 0);
	return sent;
}

/* Move at most UVM_RNG_REQS answers into the pool. */
static int rng_collect(void)
{
	int got = 0;

	for (unsigned n = 0; n < UVM_RNG_REQS; n++) {
		void *cookie;
		uint32_t len;
		unsigned i;
		int r = virtq_drv_get_used(&rng_q, &cookie, &len);

		if (r == 0)
			break;
		if (r < 0) {
			/* A used id or length the split driver refused. */
			k_err("virtio-rng: device published a bad used element (%d): no more "
			      "requests, %" PRIu32 " bytes left in the pool",
			      r, k_entropy_pool_level(&rng_pool));
			rng_broken = true;
			break;
		}
		i = (unsigned)(((uint8_t *)cookie - rng_req[0]) / UVM_RNG_REQ_BYTES);
		got++;
		rng_answers++;
		if (len >= RNG_STUCK_MIN && all_equal(rng_req[i], len)) {
			rng_rejected++;
			len = 0;
		}
		k_entropy_pool_fill(&rng_pool, rng_req[i], len, UVM_RNG_REQ_BYTES);
		memset(rng_req[i], 0, UVM_RNG_REQ_BYTES);
		rng_req_busy[i] = false;
	}
	return got;
}

static int rng_poll(void *ctx)
{
	int work;

	(void)ctx;
	if (rng_broken)
		return 0;
	work = rng_collect();
	if (!rng_broken)
		work += rng_post();
	return work;
}

static int rng_queue_up(struct virtio_pci_dev *d)
{
	uint16_t qmax;
	int r;

	_Static_assert(sizeof(rng_ring) >=
			       16 * RNG_QSIZE + 6 + 2 * RNG_QSIZE + 6 + 8 * RNG_QSIZE + 8,
		       "ring fits");
	r = virtio_pci_reset(d);
	if (r == 0)
		r = virtio_pci_negotiate(d, 1ull << VIRTIO_F_VERSION_1);
	if (r) {
		k_err("virtio-rng: reset/negotiate failed (%d)", r);
		return r;
	}
	qmax = virtio_pci_queue_max(d, 0);
	k_info("virtio-rng: negotiated features %#" PRIx64 " (VERSION_1), queue 0 max %u",
	       d->features, qmax);
	if (qmax < RNG_QSIZE || virtq_drv_mem_bytes(RNG_QSIZE) > sizeof(rng_ring)) {
		k_err("virtio-rng: queue 0 holds %u entries, need %u", qmax, RNG_QSIZE);
		return -EINVAL;
	}
	r = virtq_drv_init(&rng_q, RNG_QSIZE, rng_ring, (uintptr_t)rng_ring, rng_cookie,
			   rng_chain_len, rng_max_write, false);
	if (r == 0)
		r = virtq_drv_set_links(&rng_q, rng_links);
	if (r == 0)
		r = virtio_pci_queue_enable(d, 0, RNG_QSIZE, rng_q.desc_addr, rng_q.avail_addr,
					    rng_q.used_addr);
	if (r) {
		k_err("virtio-rng: queue set-up failed (%d)", r);
		return r;
	}
	virtio_pci_driver_ok(d);
	return 0;
}

int uvm_rng_init(struct virtio_pci_dev *d)
{
	uint64_t t0, deadline;
	int r;

	if (!d) {
		k_info("virtio-rng: no device (1af4:1044): no entropy source");
		return -ENODEV;
	}
	r = k_entropy_pool_init(&rng_pool, rng_pool_buf, sizeof(rng_pool_buf));
	if (r == 0)
		r = rng_queue_up(d);
	if (r)
		return r;
	rng_dev = d;
	t0 = k_now_ns();
	deadline = t0 + RNG_FIRST_TIMEOUT_NS;
	while (k_entropy_pool_level(&rng_pool) == 0 && !rng_broken && k_now_ns() < deadline)
		rng_poll(NULL);
	if (k_entropy_pool_level(&rng_pool) == 0) {
		k_err("virtio-rng: no usable answer in %" PRIu64 " ms (%" PRIu64
		      " answers, %" PRIu64 " rejected): not an entropy source",
		      RNG_FIRST_TIMEOUT_NS / 1000000, rng_answers, rng_rejected);
		rng_broken = true;
		return -ETIMEDOUT;
	}
	rng_ready = true;
	k_info("virtio-rng: request done, %" PRIu32 " random bytes in %" PRIu64
	       " us; pool %u bytes, %u requests of %u bytes",
	       k_entropy_pool_level(&rng_pool), (k_now_ns() - t0) / 1000, UVM_RNG_POOL_BYTES,
	       UVM_RNG_REQS, UVM_RNG_REQ_BYTES);
	return 0;
}

int uvm_rng_start(void)
{
	if (!rng_ready)
		return -ENODEV;
	if (uvm_add_poller("virtio-rng", rng_poll, NULL) < 0) {
		/* A pool nobody refills is no source: rng listeners are refused. */
		k_err("virtio-rng: no room for the refill poller");
		rng_ready = false;
		return -ENOMEM;
	}
	return 0;
}

bool uvm_rng_ready(void)
{
	return rng_ready;
}

size_t uvm_rng_take(void *buf, size_t len)
{
	return rng_ready ? k_entropy_pool_take(&rng_pool, buf, len) : 0;
}

size_t uvm_rng_level(void)
{
	return rng_ready ? k_entropy_pool_level(&rng_pool) : 0;
}

int uvm_rng_stat(unsigned i, const char **key, uint64_t *val)
{
	static const char *const keys[] = {
		"rng_pool_bytes",     "rng_pool_size",	     "rng_bytes_in",  "rng_bytes_out",
		"rng_device_answers", "rng_device_rejected", "rng_in_flight", "rng_device_ok",
	};
	const uint64_t vals[] = {
		k_entropy_pool_level(&rng_pool),
		rng_pool.size,
		rng_pool.bytes_in,
		rng_pool.bytes_out,
		rng_answers,
		rng_rejected,
		virtq_drv_in_flight(&rng_q),
		!rng_broken,
	};

	_Static_assert(sizeof(keys) / sizeof(keys[0]) == UVM_RNG_NSTATS &&
			       sizeof(vals) / sizeof(vals[0]) == UVM_RNG_NSTATS,
		       "one value per key");
	if (!rng_ready || i >= UVM_RNG_NSTATS)
		return -ENOENT;
	*key = keys[i];
	*val = vals[i];
	return 0;
}
