/* virtio_rng.h - the service VM's entropy: a pool fed by the hypervisor's
 * virtio-rng device (1af4:1044).
 *
 * Owns: queue 0 of that device, UVM_RNG_REQS buffers of UVM_RNG_REQ_BYTES,
 * and a static UVM_RNG_POOL_BYTES pool (kern/entropy_pool.h). At boot it
 * brings the device up (reset, VERSION_1, queue 0, DRIVER_OK), sends every
 * request and waits (bounded) for the first answer: that answer proves the
 * device, or the device is not used. Afterwards a poller keeps the pool
 * topped up: each turn it collects at most UVM_RNG_REQS answers and sends a
 * request again whenever the pool has room for its answer, so nothing the
 * device produced is dropped. An answer whose bytes are all equal is
 * dropped and counted (a stuck source, not entropy).
 * Never: blocks after boot, allocates, makes up bytes (no device, or a
 * device that stopped answering, means an empty pool), or logs a byte it
 * may hand out. A device that publishes a malformed used ring is logged
 * once and left alone; what the pool holds is still served.
 * Used by: main.c (uvm_rng_init at probe time, uvm_rng_start once the
 * scheduler exists), vhost_service.c (rng sessions' source, the listener
 * check, stats).
 */
#ifndef UVM_VIRTIO_RNG_H
#define UVM_VIRTIO_RNG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "kern/virtio_pci.h"

#define VIRTIO_RNG_PCI_ID 0x1044
#define UVM_RNG_POOL_BYTES 4096u
#define UVM_RNG_REQS 4u
#define UVM_RNG_REQ_BYTES 512u

/* Bring up `d` (NULL: there is none, which is logged) and wait at most
 * 500 ms for its first answer. Returns 0, or a negative errno after logging
 * what failed; then uvm_rng_ready() stays false. */
int uvm_rng_init(struct virtio_pci_dev *d);

/* Register the refill poller (after k_sched_init). Returns 0, -ENODEV if
 * the device is not ready, or -ENOMEM (logged; the device is then not
 * ready either). */
int uvm_rng_start(void);

/* Whether the device proved itself at boot: an entropy source exists. */
bool uvm_rng_ready(void);

/* dev_rng_source / dev_rng_level (dev/rng.h): take up to len bytes from the
 * pool (fewer when it holds fewer), and what it holds. */
size_t uvm_rng_take(void *buf, size_t len);
size_t uvm_rng_level(void);

/* Statistics (k_control_extra_fn style): rng_pool_bytes, rng_pool_size,
 * rng_bytes_in, rng_bytes_out, rng_device_answers, rng_device_rejected,
 * rng_in_flight, rng_device_ok. -ENOENT past the last, and for all of them
 * without a device that answered at boot. */
#define UVM_RNG_NSTATS 8u
int uvm_rng_stat(unsigned i, const char **key, uint64_t *val);

#endif
