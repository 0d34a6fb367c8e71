/* One virtio-rng request through virtio-pci and the split driver ring. */
#include "virtio_rng.h"

#include <errno.h>
#include <inttypes.h>

#include "kern/log.h"
#include "kern/time.h"
#include "virtio/split_driver.h"

#define RNG_QSIZE 8
#define RNG_BYTES 16
#define RNG_TIMEOUT_NS (500ull * 1000 * 1000)

static uint8_t rng_ring[4096] __attribute__((aligned(4096)));
static uint8_t rng_buf[RNG_BYTES] __attribute__((aligned(64)));
static void *rng_cookie[RNG_QSIZE];
static uint16_t rng_chain_len[RNG_QSIZE];
static uint32_t rng_max_write[RNG_QSIZE];
static uint16_t rng_links[RNG_QSIZE];
static struct virtq_drv rng_q;

int uvm_rng_selftest(struct virtio_pci_dev *d)
{
	struct virtq_buf b = {
		.addr = (uintptr_t)rng_buf, .len = RNG_BYTES, .device_writable = true};
	uint16_t qmax;
	void *cookie;
	uint32_t len = 0;
	uint64_t deadline;
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
	if (qmax < RNG_QSIZE || virtq_drv_mem_bytes(RNG_QSIZE) > sizeof(rng_ring))
		return -EINVAL;
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
	r = virtq_drv_add(&rng_q, &b, 1, rng_buf);
	if (r < 0) {
		k_err("virtio-rng: add failed (%d)", r);
		return r;
	}
	if (virtq_drv_kick_needed(&rng_q))
		virtio_pci_notify(d, 0);
	deadline = k_now_ns() + RNG_TIMEOUT_NS;
	while ((r = virtq_drv_get_used(&rng_q, &cookie, &len)) == 0 && k_now_ns() < deadline)
		;
	if (r != 1 || cookie != rng_buf || len == 0 || len > RNG_BYTES) {
		k_err("virtio-rng: no answer (%d, len %" PRIu32 ")", r, len);
		return r < 0 ? r : -ETIMEDOUT;
	}
	k_info("virtio-rng: request done, %" PRIu32
	       " random bytes: %02x%02x%02x%02x%02x%02x%02x%02x...",
	       len, rng_buf[0], rng_buf[1], rng_buf[2], rng_buf[3], rng_buf[4], rng_buf[5],
	       rng_buf[6], rng_buf[7]);
	return 0;
}
