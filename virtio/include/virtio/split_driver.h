/* virtio/split_driver.h - the split virtqueue as a *driver* uses it.
 *
 * Owns: one ring's descriptor free list, adding buffer chains to the avail
 * ring, the kick decision (VIRTQ_USED_F_NO_NOTIFY or EVENT_IDX avail_event),
 * and collecting used elements with the cookie the caller attached.
 * Never: maps memory, touches a transport, allocates, or trusts the device:
 * a used id out of range or not in flight, or a used length larger than the
 * chain's writable bytes, makes virtq_drv_get_used() return -EIO.
 * Used by: the vhost-user front-end (tests, uvhost-bench) and the unikernel's
 * virtio-pci drivers (virtio-vsock).
 *
 * Addresses in virtq_buf are device-visible addresses (a GPA for the
 * vhost-user front-end, a physical address in the unikernel); the ring
 * memory itself is given as a host pointer plus its device address.
 */
#ifndef VIRTIO_SPLIT_DRIVER_H
#define VIRTIO_SPLIT_DRIVER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "virtio/ring_layout.h"

/* Bytes of ring memory for `size` entries: descriptor table, then the avail
 * ring (with used_event), then the used ring (with avail_event) 4-aligned. */
size_t virtq_drv_mem_bytes(uint16_t size);

struct virtq_buf {
	uint64_t addr; /* device-visible address */
	uint32_t len;
	bool device_writable;
};

struct virtq_drv {
	uint16_t size;	/* power of two, 1..32768 */
	bool event_idx; /* VIRTIO_F_RING_EVENT_IDX negotiated */
	struct vring_desc *desc;
	struct vring_avail *avail;
	struct vring_used *used;
	uint64_t desc_addr, avail_addr, used_addr; /* device-visible */

	uint16_t free_head;
	uint16_t num_free;
	uint16_t avail_idx;	   /* next avail index we will publish */
	uint16_t kicked_avail_idx; /* avail idx at the last kick decision */
	uint16_t last_used;	   /* next used index we will consume */

	/* Caller-provided arrays of `size` entries (static in the unikernel). */
	void **cookie;	     /* per head, NULL when free */
	uint16_t *chain_len; /* descriptors in the chain, per head */
	uint32_t *max_write; /* writable bytes in the chain, per head */

	/* Optional (virtq_drv_set_links): a private copy of each descriptor's
	 * `next`. Without it the free list is read back from the descriptor
	 * table, which a device sharing that memory could rewrite; indexes are
	 * still masked, so that costs correctness of the free list, never
	 * memory safety. */
	uint16_t *links;
	uint16_t chains; /* chains in flight */
	bool notify_off; /* virtq_drv_disable_notify() in effect */
	bool broken;	 /* the device published garbage; reinit the queue */
};

/* Lay the ring out in `mem` (virtq_drv_mem_bytes(size) bytes, zeroed here,
 * 16-byte aligned) whose device address is `mem_addr`. Returns 0 or
 * -EINVAL (size not a power of two, or arrays missing). */
int virtq_drv_init(struct virtq_drv *q, uint16_t size, void *mem, uint64_t mem_addr, void **cookie,
		   uint16_t *chain_len, uint32_t *max_write, bool event_idx);

/* Add one chain of `n` buffers (device-readable ones first) with a non-NULL
 * cookie, and make it visible in the avail ring. Returns the head, -ENOSPC
 * when fewer than n descriptors are free, or -EINVAL. */
int virtq_drv_add(struct virtq_drv *q, const struct virtq_buf *bufs, unsigned n, void *cookie);

/* Whether the device asked to be notified of what was added since the last
 * call (EVENT_IDX avail_event, or !VRING_USED_F_NO_NOTIFY). */
bool virtq_drv_kick_needed(struct virtq_drv *q);

/* Take the next used element: returns 1 and stores its cookie and length,
 * 0 when nothing is used, or -EIO when the device published garbage (the
 * queue must then be reset). */
int virtq_drv_get_used(struct virtq_drv *q, void **cookie, uint32_t *len);

/* Ask for (or suppress) used-buffer notifications; with EVENT_IDX this
 * writes used_event = last_used. Returns true if used elements arrived
 * meanwhile (re-check before sleeping). */
bool virtq_drv_enable_notify(struct virtq_drv *q);
void virtq_drv_disable_notify(struct virtq_drv *q);

/* Chains added and not yet used. */
uint16_t virtq_drv_in_flight(const struct virtq_drv *q);

/* Keep the free list in `links` (`size` entries, driver-private memory)
 * instead of the shared descriptor table. Call right after
 * virtq_drv_init(), before the first add. Returns 0 or -EINVAL. */
int virtq_drv_set_links(struct virtq_drv *q, uint16_t *links);

/* Offsets of the avail and used rings inside the ring memory, as
 * virtq_drv_init() lays them out (the descriptor table is at 0). */
size_t virtq_drv_avail_offset(uint16_t size);
size_t virtq_drv_used_offset(uint16_t size);

#endif
