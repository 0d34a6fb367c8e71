/* vdisk_storage.h - a vhost-user blk session's storage on one of the
 * service VM's virtio-blk disks (kern/virtio_blk.h).
 *
 * Owns: a struct dev_storage with its asynchronous interface (dev/storage.h)
 * for one session, the table mapping its requests in flight to dev_blk's
 * cookies, and one completion FIFO per blk queue. submit() turns an
 * operation into one disk request whose data descriptors are the
 * front-end's buffers themselves (their device address is their pointer:
 * RAM and ivshmem windows are identity-mapped), so nothing is copied -
 * unless the disk has a bounce pool (vdisk_bounce.h, disk_bounce_kib=),
 * when reads and writes are copied through one of its slots; the disk
 * driver's poller answers into the FIFO, reap() hands the answers to
 * dev_blk. Blk queue q goes to disk queue q modulo the disk's queues.
 * The medium's facts reach the front-end through the storage: size
 * (capacity), read-only, block size, and FLUSH, DISCARD and WRITE_ZEROES
 * only when the disk offers them. A FLUSH on a disk without one completes
 * at once: a driver takes a device without FLUSH as write-through (no
 * writeback cache), and every write we answered the disk answered first.
 * Never: allocates, blocks (except cancel() and drain(), bounded by
 * UVM_VDISK_WAIT_NS, after which they reset the disk rather than leave it
 * requests that could still move this session's data: k_vblk_cut_off,
 * which fails this session's and has other sessions' submitted again
 * after the restart), or calls back from submit().
 * Used by: vhost_service.c (one per blk session on a vd<N> listener) and
 * tests/unit/test_virtio_blk.c, which compiles it with the driver's
 * portable core and plays the device.
 */
#ifndef UVM_VDISK_STORAGE_H
#define UVM_VDISK_STORAGE_H

#include <stdint.h>

#include "dev/storage.h"
#include "kern/virtio_blk.h"
#include "vdisk_bounce.h"
#include "vu/backend.h"
#include "vu/vq.h"

/* Answers one blk queue may be owed at once (the FIFO never overflows). */
#define UVM_VDISK_SLOTS K_VBLK_REQS
#define UVM_VDISK_WAIT_NS (100ull * 1000 * 1000)

enum uvm_vdisk_slot { UVM_VDISK_FREE, UVM_VDISK_ON_DISK, UVM_VDISK_ANSWERED };

/* A slot is free again only once its answer left the FIFO, so the FIFO
 * (one entry per slot) never overflows. */
struct uvm_vdisk_queue {
	uint64_t cookie[UVM_VDISK_SLOTS]; /* dev_blk's */
	int result[UVM_VDISK_SLOTS];
	uint8_t state[UVM_VDISK_SLOTS];	 /* enum uvm_vdisk_slot */
	int16_t bounce[UVM_VDISK_SLOTS]; /* its bounce slot, -1: none */
	uint16_t free[UVM_VDISK_SLOTS];
	uint16_t nfree;
	uint16_t fifo[UVM_VDISK_SLOTS]; /* answered slots, oldest first */
	uint16_t head, count;
};

struct uvm_vdisk_store {
	struct dev_storage s;
	struct dev_storage_async a;
	struct k_virtio_blk *disk;
	struct uvm_bounce *bounce; /* NULL: the disk moves front-end memory itself */
	uint64_t (*now_ns)(void);
	uint64_t cut_off; /* requests cancel()/drain() reset the disk for */
	struct k_vblk_seg seg[VU_CHAIN_MAX_IOV];
	struct uvm_vdisk_queue q[VU_MAX_QUEUES];
};

/* Set `st` up on `disk` for a session with `num_queues` blk queues; st->s
 * is the storage to give dev_blk_init_async(). With `bounce` (the disk's
 * pool, or NULL) reads and writes go through it, and the front-end is
 * offered requests that fit a slot (size_max UVM_BOUNCE_SEG, seg_max at
 * most UVM_BOUNCE_SEG_MAX). */
void uvm_vdisk_store_init(struct uvm_vdisk_store *st, struct k_virtio_blk *disk,
			  uint16_t num_queues, uint64_t (*now_ns)(void), struct uvm_bounce *bounce);

#endif
