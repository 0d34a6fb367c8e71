/* kern/entropy_pool.h - a byte ring of entropy between a producer that fills
 * it asynchronously (a virtio-rng driver) and consumers that drain it.
 *
 * Owns: a caller-provided buffer used as a FIFO, the room promised to
 * requests in flight (reservations), and counters of bytes in and out.
 * A producer reserves room before it asks its device for bytes and fills at
 * most what it reserved when they arrive, so an answer always fits and
 * nothing the device produced is thrown away. Bytes are handed out once:
 * take() copies them out and wipes them from the ring, so consumed entropy
 * does not linger in memory.
 * Never: allocates, blocks, or produces a byte itself: a consumer gets fewer
 * bytes than it asked for (0 included) when the ring holds fewer.
 * Used by: apps/uvhost-vm/virtio_rng.c (the service VM's pool fed by the
 * hypervisor's virtio-rng). Portable: unit-tested on the host.
 */
#ifndef KERN_ENTROPY_POOL_H
#define KERN_ENTROPY_POOL_H

#include <stddef.h>
#include <stdint.h>

struct k_entropy_pool {
	uint8_t *buf;
	uint32_t size;	   /* a power of two */
	uint32_t level;	   /* bytes held */
	uint32_t reserved; /* room promised to requests in flight */
	uint32_t head;	   /* next byte to take, masked by size - 1 */
	uint64_t bytes_in, bytes_out;
	uint64_t overfill; /* bytes a producer offered beyond its reservation */
};

/* Use `buf` (`size` bytes, a power of two, 1..2^31) as an empty pool.
 * Returns 0 or -EINVAL. */
int k_entropy_pool_init(struct k_entropy_pool *p, uint8_t *buf, uint32_t size);

/* Bytes a consumer can take now. */
uint32_t k_entropy_pool_level(const struct k_entropy_pool *p);

/* Room neither held nor promised: what a new request may still reserve. */
uint32_t k_entropy_pool_room(const struct k_entropy_pool *p);

/* Promise `len` bytes of room to a request about to be sent. Returns 0, or
 * -ENOSPC (nothing reserved) when the room is smaller. */
int k_entropy_pool_reserve(struct k_entropy_pool *p, uint32_t len);

/* A request that reserved `reserved` bytes came back with `len` bytes at
 * `src` (or was abandoned: len 0). Releases the reservation and appends at
 * most `reserved` bytes; a longer answer is cut and counted in overfill.
 * `reserved` larger than what is promised in total is treated as all of it.
 * Returns the bytes appended. */
uint32_t k_entropy_pool_fill(struct k_entropy_pool *p, const void *src, uint32_t len,
			     uint32_t reserved);

/* Copy up to `len` bytes to `dst` and wipe them from the pool. Returns the
 * bytes copied: less than len when the pool holds less. */
size_t k_entropy_pool_take(struct k_entropy_pool *p, void *dst, size_t len);

#endif
