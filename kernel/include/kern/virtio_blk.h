/* kern/virtio_blk.h - the virtio-blk driver (1af4:1042): the service VM's
 * own disks.
 *
 * Owns: one disk's queues (up to K_VBLK_MAX_QUEUES with VIRTIO_BLK_F_MQ),
 * their rings and a static pool of K_VBLK_REQS requests per queue (header,
 * discard segment and status byte of each), all inside its instance struct;
 * the check of everything the device publishes (config space at set-up, the
 * used ring and status byte of each answer); per-request deadlines; and the
 * disk's counters (requests, bytes, errors, latency).
 * A request names its data as device addresses (the unikernel is
 * identity-mapped, so a pointer into RAM or into an ivshmem window is one):
 * the disk's DMA moves the bytes in place, nothing is copied here. The
 * caller gets its answer through a completion function called from
 * k_vblk_poll() (never from inside k_vblk_submit()).
 * Never: allocates, blocks after set-up, or trusts the device: a used id or
 * length the split driver refuses, or a used length that does not cover the
 * status byte, breaks the disk. A request the disk does not answer within
 * timeout_ns fails with -ETIMEDOUT and breaks the disk too; other disks and
 * the vhost rings never wait for it. A broken disk is reset before anyone
 * hears of a failure, then every request in flight fails with -EIO and
 * every new one fails at once, until the deadline poller brings the device
 * back up through the transport's restart() (1 s after the break, then
 * doubling up to a minute while it keeps breaking): the same features and
 * geometry, fresh rings and request pools. A reset one owner needs from a
 * healthy disk (k_vblk_cut_off) costs the others nothing but the wait:
 * their requests are submitted again once it is back.
 * Used by: the service VM's disk service (apps/uvhost-vm/vdisk_service.c)
 * through kern/virtio_blk.h; the PCI bring-up is kernel/hw/virtio_blk.c
 * (aarch64), the rest (kernel/src/virtio_blk_core.c) is portable so the
 * host's unit tests play the device.
 */
#ifndef KERN_VIRTIO_BLK_H
#define KERN_VIRTIO_BLK_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "virtio/split_driver.h"

#define VIRTIO_BLK_PCI_ID 0x1042

#define VIRTIO_BLK_F_SIZE_MAX 1u
#define VIRTIO_BLK_F_SEG_MAX 2u
#define VIRTIO_BLK_F_RO 5u
#define VIRTIO_BLK_F_BLK_SIZE 6u
#define VIRTIO_BLK_F_FLUSH 9u
#define VIRTIO_BLK_F_MQ 12u
#define VIRTIO_BLK_F_DISCARD 13u
#define VIRTIO_BLK_F_WRITE_ZEROES 14u

#define K_VBLK_MAX_QUEUES 4u
/* Ring entries per queue at most (a power of two): a request takes two
 * descriptors plus one per data segment, so 256 carries the 254 segments
 * dev_blk offers its front-ends. */
#define K_VBLK_QSIZE 256u
#define K_VBLK_REQS 64u /* requests in flight per queue */
#define K_VBLK_SECTOR 512u
#define K_VBLK_TIMEOUT_NS (30ull * 1000 * 1000 * 1000)
/* A broken disk's first restart comes this long after the break; a disk
 * that breaks again within K_VBLK_RETRY_MAX_NS of coming back waits twice
 * as long, up to K_VBLK_RETRY_MAX_NS. */
#define K_VBLK_RETRY_NS (1000ull * 1000 * 1000)
#define K_VBLK_RETRY_MAX_NS (60ull * 1000 * 1000 * 1000)
/* Bytes virtq_drv_mem_bytes(n) needs, with slack for its alignment. */
#define K_VBLK_RING_BYTES(n) (16u * (n) + 6u + 2u * (n) + 4u + 6u + 8u * (n) + 16u)

enum k_vblk_kind {
	K_VBLK_READ,
	K_VBLK_WRITE,
	K_VBLK_FLUSH,
	K_VBLK_DISCARD,
	K_VBLK_WRITE_ZEROES,
};

/* result: 0, -EIO (the disk said IOERR, or broke), -EOPNOTSUPP (UNSUPP),
 * -ETIMEDOUT. */
typedef void (*k_vblk_done_fn)(void *owner, uint64_t cookie, int result);

struct k_vblk_seg {
	uint64_t addr; /* device address */
	uint32_t len;
};

/* One request as the caller describes it. */
struct k_vblk_io {
	enum k_vblk_kind kind;
	uint64_t off; /* bytes, a multiple of 512 */
	uint64_t len; /* bytes, a multiple of 512 (read/write: the segments' sum) */
	const struct k_vblk_seg *seg;
	uint32_t nseg;
};

struct k_vblk_req {
	/* What the device reads (header, discard segment) and writes (status). */
	struct {
		uint32_t type, ioprio;
		uint64_t sector;
	} hdr;
	struct {
		uint64_t sector;
		uint32_t num_sectors, flags;
	} dwz;
	uint8_t status;
	bool busy;
	bool orphan; /* answered already (timeout) or its owner left: drop */
	/* Parked by k_vblk_cut_off (owed while the disk is down for it): its
	 * chain, kept in bufs across the restart. */
	uint16_t saved_at, saved_n;
	uint8_t kind;
	uint32_t data_in; /* bytes the device writes before the status byte */
	uint64_t bytes;
	uint64_t t_submit;
	k_vblk_done_fn done;
	void *owner;
	uint64_t cookie;
};

struct k_vblk_queue {
	struct virtq_drv q;
	void *cookie[K_VBLK_QSIZE];
	uint16_t chain_len[K_VBLK_QSIZE];
	uint32_t max_write[K_VBLK_QSIZE];
	uint16_t links[K_VBLK_QSIZE];
	_Alignas(16) uint8_t ring[K_VBLK_RING_BYTES(K_VBLK_QSIZE)];
	struct k_vblk_req req[K_VBLK_REQS];
	uint16_t free[K_VBLK_REQS];
	uint16_t nfree;
};

struct k_vblk_stats {
	uint64_t requests, read_bytes, write_bytes, errors, timeouts;
	uint64_t done, lat_total_ns, lat_max_ns;
	uint64_t ring_errors; /* the device published garbage */
	uint64_t recoveries;  /* restarts after a break that brought it back */
	uint64_t resubmitted; /* parked requests submitted again after a restart */
};

/* What the device offers, from its config space (checked). */
struct k_vblk_geometry {
	uint64_t capacity; /* 512-byte sectors; capacity * 512 fits uint64_t */
	uint32_t blk_size; /* logical block size, a power of two 512..65536 */
	uint32_t seg_max;  /* data segments per request */
	uint32_t size_max; /* bytes per segment (0: no limit) */
	uint16_t num_queues;
	uint32_t max_discard_sectors, max_write_zeroes_sectors;
};

struct k_virtio_blk {
	/* The transport: notify queue q (virtio_pci_notify in the VM). */
	void (*notify)(void *t, uint16_t q);
	/* The transport: reset the device (virtio_pci_reset in the VM), after
	 * which it touches no ring and no buffer (virtio 1.2, 2.4). Called once,
	 * when the disk breaks, before any owner hears of a failure: a request
	 * it timed out on, or garbage in its used ring, must not let it write
	 * into a buffer whose owner was told the request failed and may use it
	 * again. May be NULL (tests that do not look). */
	void (*stop)(void *t);
	/* The transport: bring a stopped device back (kernel/hw/virtio_blk.c):
	 * reset, the same features and geometry or a refusal, every queue laid
	 * out afresh (k_vblk_queue_init), DRIVER_OK. 0 or a negative errno.
	 * NULL: a broken disk stays broken. */
	int (*restart)(struct k_virtio_blk *b);
	void *t;
	uint64_t (*now_ns)(void);
	uint64_t timeout_ns;
	uint64_t features; /* negotiated */
	struct k_vblk_geometry g;
	bool read_only;
	bool broken;
	bool cut_off;	      /* broken by k_vblk_cut_off: the device did nothing wrong */
	uint64_t retry_ns;    /* wait before the next restart */
	uint64_t retry_at_ns; /* when it comes (broken only) */
	uint64_t up_at_ns;    /* the last restart that brought it back, 0: none */
	bool armed;	      /* used-buffer notifications requested for an idle sleep */
	uint16_t nq;
	char name[8]; /* "vd0" */
	struct k_vblk_stats st;
	struct k_vblk_seg split[K_VBLK_QSIZE]; /* scratch: segments cut at size_max */
	/* Scratch: one chain; across a restart, a queue's parked chains. */
	struct virtq_buf bufs[K_VBLK_QSIZE];
	struct k_vblk_queue q[K_VBLK_MAX_QUEUES];
};

/* Features the driver asks for (VERSION_1 and EVENT_IDX are the
 * transport's). */
uint64_t k_vblk_wanted_features(void);

/* Check the device's config space (`cfg`, `len` bytes as read) against the
 * negotiated `features` and the device's queue count: capacity 0 or past
 * UINT64_MAX bytes, blk_size not a power of two in 512..65536, seg_max 0
 * with SEG_MAX, MQ's num_queues 0 or above what the device has are refused
 * (-EINVAL). num_queues is capped at K_VBLK_MAX_QUEUES. */
int k_vblk_geometry(struct k_vblk_geometry *g, const uint8_t *cfg, uint32_t len, uint64_t features,
		    uint16_t device_queues);

/* Portable set-up: the instance's state, name, features and geometry.
 * Queues follow with k_vblk_queue_init(). */
void k_vblk_init(struct k_virtio_blk *b, unsigned index, uint64_t features,
		 const struct k_vblk_geometry *g, uint64_t (*now_ns)(void));

/* A restarted device must be the disk its front-ends were offered: the
 * negotiated `features` and the geometry `g` it now reports against the
 * instance's. 0, or -ENODEV after logging the difference. */
int k_vblk_same_disk(const struct k_virtio_blk *b, uint64_t features,
		     const struct k_vblk_geometry *g);

/* Lay queue `qi` out with `size` entries (a power of two <= K_VBLK_QSIZE,
 * at least 4). Returns 0 or -EINVAL. Requests parked by k_vblk_cut_off()
 * are put on the new ring unchanged (the transport kicks it once the
 * device is live); one that no longer fits fails with -EIO. */
int k_vblk_queue_init(struct k_virtio_blk *b, uint16_t qi, uint16_t size);

/* Submit `io` on queue `qi` (taken modulo the queue count). Returns 0 (the
 * answer comes through done(owner, cookie, result) from k_vblk_poll()),
 * -EAGAIN (no request or descriptors free now: retry after a completion;
 * or the disk is being restarted after k_vblk_cut_off()),
 * -EIO (the disk is broken), -EROFS (a write to a read-only disk),
 * -EOPNOTSUPP (FLUSH, DISCARD or WRITE_ZEROES the disk did not offer) or
 * -EINVAL (a range past capacity, unaligned, too many segments, a zero
 * length). */
int k_vblk_submit(struct k_virtio_blk *b, uint16_t qi, const struct k_vblk_io *io,
		  k_vblk_done_fn done, void *owner, uint64_t cookie);

/* Collect at most `budget` answers of queue `qi`; returns how many. */
int k_vblk_poll_queue(struct k_virtio_blk *b, uint16_t qi, unsigned budget);

/* The poller (ctx: struct k_virtio_blk): every queue, bounded. */
int k_vblk_poll(void *ctx);

/* The deadline poller (ctx: struct k_virtio_blk): fails requests older
 * than timeout_ns with -ETIMEDOUT and breaks the disk; restarts a broken
 * disk when its retry is due. Returns requests timed out, or 1 for a disk
 * brought back. */
int k_vblk_timeout_poll(void *ctx);

/* Requests of `owner` in flight (the answer still due to it). */
unsigned k_vblk_in_flight(const struct k_virtio_blk *b, const void *owner);

/* Reset the device and fail every request in flight with -EIO (each owner
 * told after the reset), as for a device that misbehaved (`why` is
 * logged). For an owner that cannot wait for the disk any longer: nothing
 * it handed the disk can be written or read late once this returns. */
void k_vblk_break(struct k_virtio_blk *b, const char *why);

/* For `owner`, which cannot wait for the disk any longer (a ring reset, a
 * memory-table change) while the disk, which did nothing wrong, still
 * holds some of its requests: reset the device, fail `owner`'s requests
 * with -EIO (after the reset), and park every other owner's. Those are
 * owed nothing yet: the next deadline poll restarts the disk and submits
 * them again, unchanged (a reset device has finished or dropped each one,
 * and doing a read or a write twice gives the same result). Until then new
 * requests get -EAGAIN; a restart that fails fails the parked ones with
 * -EIO and leaves the disk broken as after k_vblk_break(). */
void k_vblk_cut_off(struct k_virtio_blk *b, const void *owner, const char *why);

/* Before the CPU sleeps: ask for used-buffer notifications on the queues
 * with requests in flight and look once more. 1: answers are there (poll),
 * 0: none in flight or the device will interrupt. The transport reads the
 * ISR first (kernel/hw/virtio_blk.c). */
int k_vblk_idle_prepare(struct k_virtio_blk *b);
/* Awake: notifications off again (polling sees everything). */
void k_vblk_awake(struct k_virtio_blk *b);

/* Statistics (k_control_extra_fn style) under the disk's name:
 * <name>_requests, _read_bytes, _write_bytes, _inflight, _errors,
 * _timeouts, _lat_avg_us, _lat_max_us, _capacity_bytes, _ok, _recoveries,
 * _resubmitted.
 * -ENOENT past the last. Keys live in `keys` (K_VBLK_NSTATS x K_VBLK_KEY
 * bytes). */
#define K_VBLK_NSTATS 12u
#define K_VBLK_KEY 32u
int k_vblk_stat(const struct k_virtio_blk *b, unsigned i, char (*keys)[K_VBLK_KEY],
		const char **key, uint64_t *val);

/* The PCI bring-up (kernel/hw/virtio_blk.c, aarch64): reset, negotiate,
 * check the config, set the queues up, DRIVER_OK. Returns 0 or a negative
 * errno after logging what failed. */
struct virtio_pci_dev;
int k_virtio_blk_init(struct k_virtio_blk *b, struct virtio_pci_dev *d, unsigned index,
		      uint64_t (*now_ns)(void));
/* The idle step with the ISR read first (deasserts the INTx line). */
int k_virtio_blk_idle_prepare(struct k_virtio_blk *b, struct virtio_pci_dev *d);

#endif
