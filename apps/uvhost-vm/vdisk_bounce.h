/* vdisk_bounce.h - a disk's bounce pool: for hypervisors whose virtio-blk
 * DMA reaches the service VM's own RAM but not the ivshmem windows the
 * front-ends' buffers live in (docs/service-vm-disk.md).
 *
 * Owns: `nslots` slots of UVM_BOUNCE_SLOT_BYTES in the VM's RAM, handed to
 * one request each, and per slot the front-end buffers a read copies back
 * into. A write's data is copied into its slot before the disk sees it; a
 * read lands in the slot and is copied out when the disk answers OK, before
 * the front-end hears. Requests larger than the session offered
 * (UVM_BOUNCE_SEG_MAX segments of UVM_BOUNCE_SEG bytes) are refused, a full
 * pool makes the caller wait (-EAGAIN).
 * Never: allocates (the pool is carved at boot), touches a front-end
 * buffer after put(), or copies a failed read back.
 * Used by: vdisk_storage.c (one pool per disk, shared by its sessions),
 * set up by vdisk_service.c with disk_bounce_kib=; tests/unit/test_virtio_blk.c.
 */
#ifndef UVM_VDISK_BOUNCE_H
#define UVM_VDISK_BOUNCE_H

#include <stdbool.h>
#include <stdint.h>

#include "kern/virtio_blk.h"
#include "vu/vq.h"

/* A slot holds the largest request a bounced session is offered: seg_max
 * UVM_BOUNCE_SEG_MAX segments of size_max UVM_BOUNCE_SEG bytes. */
#define UVM_BOUNCE_SEG 4096u
#define UVM_BOUNCE_SEG_MAX 32u
#define UVM_BOUNCE_SLOT_BYTES (UVM_BOUNCE_SEG * UVM_BOUNCE_SEG_MAX)
#define UVM_BOUNCE_SLOTS_MAX 64u

/* What a read copies back into: the front-end's buffers, as segments. */
struct uvm_bounce_slot {
	struct k_vblk_seg seg[VU_CHAIN_MAX_IOV];
	uint32_t nseg;
	bool read;
};

struct uvm_bounce {
	uint8_t *mem; /* nslots * UVM_BOUNCE_SLOT_BYTES, disk-reachable */
	struct uvm_bounce_slot *slot;
	uint16_t nslots, nfree;
	uint16_t free[UVM_BOUNCE_SLOTS_MAX];
	uint64_t bytes; /* copied either way */
};

/* Bytes of RAM a pool of `nslots` needs (data and slot records). */
uint64_t uvm_bounce_bytes(uint16_t nslots);

/* Lay a pool of `nslots` (1..UVM_BOUNCE_SLOTS_MAX) out in `ram` of
 * uvm_bounce_bytes(nslots) bytes, 8-aligned. 0 or -EINVAL. */
int uvm_bounce_init(struct uvm_bounce *b, void *ram, uint16_t nslots);

/* A slot for a request over the front-end buffers `seg` (`n` of them,
 * `len` bytes in all): a write's data is copied in. Returns the slot
 * (its device address in *dev), -EAGAIN (none free now) or -EINVAL
 * (`len` 0 or past UVM_BOUNCE_SLOT_BYTES). */
int uvm_bounce_get(struct uvm_bounce *b, const struct k_vblk_seg *seg, uint32_t n, uint64_t len,
		   bool read, uint64_t *dev);

/* The disk answered `result` for `slot`: a read that succeeded is copied
 * back into the front-end's buffers; the slot is free again. */
void uvm_bounce_put(struct uvm_bounce *b, int slot, int result);

#endif
