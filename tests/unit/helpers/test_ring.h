/* test_ring.h - the driver's side of a split virtqueue, for tests.
 *
 * Owns: a descriptor table, avail ring and used ring laid out in a piece of
 * fake guest memory (a host buffer that the back-end maps as one region),
 * a bump allocator for data buffers in the same memory, adding descriptor
 * chains and publishing them, and reading back used elements.
 * Never: validates anything or talks to the back-end; tests send the
 * SET_VRING_* messages themselves (test_ring_addr() gives the addresses).
 * Used by: test_backend.c and test_blk.c.
 *
 * Descriptors are handed out round robin from `next_desc`, which a test may
 * set to choose a chain's head; the helper does not track which ones the
 * device still holds, so keep fewer than `size` descriptors in flight.
 */
#ifndef TEST_RING_H
#define TEST_RING_H

#include <stdbool.h>
#include <stdint.h>

#include "vu/vq.h"
#include "vu/wire.h"

struct test_ring {
	uint8_t *host;	   /* host view of guest memory byte 0 */
	uint64_t gpa;	   /* guest-physical address of host[0] */
	uint64_t uaddr;	   /* front-end (QEMU) address of host[0] */
	uint64_t mem_size; /* bytes of guest memory behind host */
	uint16_t size;	   /* queue size, a power of two */

	uint64_t desc_off, avail_off, used_off; /* ring parts, offsets into host */
	uint64_t data_next;			/* bump allocator, offset into host */
	uint64_t data_end;

	uint16_t next_desc; /* next descriptor to use */
	uint16_t last_used; /* next used element test_ring_pop_used() reads */
};

/* One buffer of a chain: device-readable unless `write`. */
struct test_seg {
	uint64_t gpa;
	uint32_t len;
	bool write;
};

/* Lay a ring of `size` entries out at `ring_off` in guest memory [host,
 * host+mem_size) (gpa `gpa`, front-end address `uaddr`); zero it. Data
 * buffers come from [data_off, data_off+data_len), which must not overlap
 * the ring. */
void test_ring_init(struct test_ring *r, void *host, uint64_t gpa, uint64_t uaddr,
		    uint64_t mem_size, uint64_t ring_off, uint64_t data_off, uint64_t data_len,
		    uint16_t size);

/* Front-end addresses of the ring parts, as SET_VRING_ADDR carries them. */
void test_ring_addr(const struct test_ring *r, uint32_t index, struct vu_vring_addr *a);

/* Host views of the ring parts. */
struct vring_desc *test_ring_desc(const struct test_ring *r);
struct vring_avail *test_ring_avail(const struct test_ring *r);
struct vring_used *test_ring_used(const struct test_ring *r);

/* Set avail->idx and used->idx (and the helper's used cursor) to idx, as a
 * ring that already ran `idx` requests would look. */
void test_ring_set_idx(struct test_ring *r, uint16_t idx);

/* A fresh zeroed buffer of len bytes, 16-byte aligned; returns its gpa. */
uint64_t test_ring_alloc(struct test_ring *r, uint32_t len);

/* Host pointer for guest address gpa (aborts if outside the memory). */
void *test_ring_ptr(const struct test_ring *r, uint64_t gpa);

/* Write a chain of n buffers into the descriptor table (not yet visible to
 * the device). Returns its head. */
uint16_t test_ring_write_chain(struct test_ring *r, const struct test_seg *seg, unsigned n);

/* Make chain `head` available: avail->ring[idx % size] = head, idx++. */
void test_ring_publish(struct test_ring *r, uint16_t head);

/* Write and publish; returns the head. */
uint16_t test_ring_add(struct test_ring *r, const struct test_seg *seg, unsigned n);

/* Used elements the device published and the helper has not read. */
uint16_t test_ring_used_pending(const struct test_ring *r);

/* Read the next used element. Returns true with *id and *len set, false if
 * the device published nothing new. */
bool test_ring_pop_used(struct test_ring *r, uint32_t *id, uint32_t *len);

#endif
