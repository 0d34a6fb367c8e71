/* kern/virtio_rng.h - the virtio-rng driver (1af4:1044): an entropy pool
 * fed by the hypervisor's device.
 *
 * Owns: queue 0 of one device, K_VRNG_REQS buffers of K_VRNG_REQ_BYTES and
 * a K_VRNG_POOL_BYTES pool (kern/entropy_pool.h), all inside its instance
 * struct. At boot it brings the device up (reset, VERSION_1, queue 0,
 * DRIVER_OK), sends every request and waits (bounded) for the first
 * answer: that answer proves the device, or the device is not used.
 * Afterwards its poller keeps the pool topped up: each call collects at
 * most K_VRNG_REQS answers and sends a request again whenever the pool has
 * room for its answer, so nothing the device produced is dropped. An
 * answer whose bytes are all equal is dropped and counted (a stuck source,
 * not entropy).
 * Never: blocks after boot, allocates, makes up bytes (no device, or a
 * device that stopped answering, means an empty pool), or logs a byte it
 * may hand out. A device that publishes a malformed used ring is logged
 * once and left alone; what the pool holds is still served.
 * Used by: the unikernel main (init at probe time, the poller once the
 * scheduler exists) and the service VM's rng sessions (their source).
 * aarch64 only (identity-mapped: a buffer's pointer is its device address).
 */
#ifndef KERN_VIRTIO_RNG_H
#define KERN_VIRTIO_RNG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "kern/entropy_pool.h"
#include "kern/virtio_pci.h"
#include "virtio/split_driver.h"

#define VIRTIO_RNG_PCI_ID 0x1044
#define K_VRNG_POOL_BYTES 4096u
#define K_VRNG_REQS 4u
#define K_VRNG_REQ_BYTES 512u
/* Twice the requests: a queue size is a power of two, and a spare never
 * hurts a device that is slow to publish. */
#define K_VRNG_QSIZE (2 * K_VRNG_REQS)

struct k_virtio_rng {
	_Alignas(4096) uint8_t ring[4096];
	_Alignas(64) uint8_t req[K_VRNG_REQS][K_VRNG_REQ_BYTES];
	bool req_busy[K_VRNG_REQS];
	void *cookie[K_VRNG_QSIZE];
	uint16_t chain_len[K_VRNG_QSIZE];
	uint32_t max_write[K_VRNG_QSIZE];
	uint16_t links[K_VRNG_QSIZE];
	struct virtq_drv q;
	uint8_t pool_buf[K_VRNG_POOL_BYTES];
	struct k_entropy_pool pool;
	struct virtio_pci_dev *dev;
	uint64_t (*now_ns)(void);
	bool ready;  /* answered at boot */
	bool broken; /* published garbage since: not touched again */
	uint64_t answers, rejected;
};

/* Bring up `d` (NULL: there is none, which is logged) and wait at most
 * 500 ms of `now_ns` for its first answer. Returns 0, or a negative errno
 * after logging what failed; then k_virtio_rng_ready() stays false. */
int k_virtio_rng_init(struct k_virtio_rng *r, struct virtio_pci_dev *d, uint64_t (*now_ns)(void));

/* The refill poller (ctx: struct k_virtio_rng). Returns work done. */
int k_virtio_rng_poll(void *ctx);

/* Whether the device proved itself at boot: an entropy source exists.
 * k_virtio_rng_disable() takes that back (a pool nobody refills is no
 * source). */
bool k_virtio_rng_ready(const struct k_virtio_rng *r);
void k_virtio_rng_disable(struct k_virtio_rng *r);

/* dev_rng_source / dev_rng_level (dev/rng.h) with an instance: take up to
 * len bytes from the pool (fewer when it holds fewer), and what it holds. */
size_t k_virtio_rng_take(struct k_virtio_rng *r, void *buf, size_t len);
size_t k_virtio_rng_level(const struct k_virtio_rng *r);

/* Statistics (k_control_extra_fn style): rng_pool_bytes, rng_pool_size,
 * rng_bytes_in, rng_bytes_out, rng_device_answers, rng_device_rejected,
 * rng_in_flight, rng_device_ok. -ENOENT past the last, and for all of them
 * without a device that answered at boot. */
#define K_VRNG_NSTATS 8u
int k_virtio_rng_stat(const struct k_virtio_rng *r, unsigned i, const char **key, uint64_t *val);

#endif
