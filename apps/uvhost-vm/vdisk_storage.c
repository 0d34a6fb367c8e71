/* A blk session's storage on a virtio-blk disk (see vdisk_storage.h). */
#include "vdisk_storage.h"

#include <errno.h>
#include <string.h>

#include "kern/log.h"

static void queue_reset(struct uvm_vdisk_queue *q)
{
	q->nfree = UVM_VDISK_SLOTS;
	for (uint16_t i = 0; i < UVM_VDISK_SLOTS; i++) {
		q->free[i] = (uint16_t)(UVM_VDISK_SLOTS - 1 - i);
		q->state[i] = UVM_VDISK_FREE;
		q->bounce[i] = -1;
	}
	q->head = q->count = 0;
}

/* k_vblk_done_fn: the disk answered (from its poller, never from submit). */
static void on_disk_done(void *owner, uint64_t cookie, int result)
{
	struct uvm_vdisk_store *st = owner;
	uint16_t qi = (uint16_t)(cookie >> 16), slot = (uint16_t)(cookie & 0xffff);
	struct uvm_vdisk_queue *q;

	if (qi >= VU_MAX_QUEUES || slot >= UVM_VDISK_SLOTS)
		return;
	q = &st->q[qi];
	if (q->state[slot] != UVM_VDISK_ON_DISK)
		return; /* not owed: a driver bug, ignored rather than trusted */
	if (q->bounce[slot] >= 0) {
		/* A read's data reaches the front-end before its answer. */
		uvm_bounce_put(st->bounce, q->bounce[slot], result);
		q->bounce[slot] = -1;
	}
	q->state[slot] = UVM_VDISK_ANSWERED;
	q->result[slot] = result;
	q->fifo[(q->head + q->count) % UVM_VDISK_SLOTS] = slot;
	q->count++;
}

/* The front-end's buffers as the disk's data segments: identity-mapped, so
 * a pointer is the device address; neighbours that touch are merged (a
 * buffer split only by a memory-region boundary is one segment again). */
static int to_segments(struct uvm_vdisk_store *st, const struct dev_storage_op *op)
{
	uint32_t n = 0;

	for (uint32_t i = 0; i < op->n_iov; i++) {
		uint64_t addr = (uint64_t)(uintptr_t)op->iov[i].base;
		size_t len = op->iov[i].len;

		if (len == 0)
			continue;
		if (len > UINT32_MAX)
			return -EINVAL;
		if (n && st->seg[n - 1].addr + st->seg[n - 1].len == addr &&
		    (uint64_t)st->seg[n - 1].len + len <= UINT32_MAX) {
			st->seg[n - 1].len += (uint32_t)len;
			continue;
		}
		if (n == VU_CHAIN_MAX_IOV)
			return -EINVAL;
		st->seg[n++] = (struct k_vblk_seg){addr, (uint32_t)len};
	}
	return (int)n;
}

static int vd_submit(void *ctx, const struct dev_storage_op *op)
{
	static const enum k_vblk_kind kinds[] = {
		[DEV_STORAGE_READ] = K_VBLK_READ,
		[DEV_STORAGE_WRITE] = K_VBLK_WRITE,
		[DEV_STORAGE_FLUSH] = K_VBLK_FLUSH,
		[DEV_STORAGE_DISCARD] = K_VBLK_DISCARD,
		[DEV_STORAGE_WRITE_ZEROES] = K_VBLK_WRITE_ZEROES,
	};
	struct uvm_vdisk_store *st = ctx;
	struct uvm_vdisk_queue *q;
	struct k_vblk_io io = {.off = op->off, .len = op->len};
	struct k_vblk_seg through; /* the bounce slot, as one segment */
	uint16_t slot;
	int n = 0, e, bs = -1;

	if (op->queue >= st->a.num_queues || (unsigned)op->kind >= sizeof(kinds) / sizeof(kinds[0]))
		return -EINVAL;
	q = &st->q[op->queue];
	if (q->nfree == 0)
		return -EAGAIN;
	io.kind = kinds[op->kind];
	if (op->kind == DEV_STORAGE_READ || op->kind == DEV_STORAGE_WRITE) {
		n = to_segments(st, op);
		if (n < 0)
			return n;
		io.seg = st->seg;
		io.nseg = (uint32_t)n;
		io.len = 0;
		for (int i = 0; i < n; i++)
			io.len += st->seg[i].len;
		if (st->bounce) {
			bs = uvm_bounce_get(st->bounce, st->seg, (uint32_t)n, io.len,
					    op->kind == DEV_STORAGE_READ, &through.addr);
			if (bs < 0)
				return bs;
			through.len = (uint32_t)io.len;
			io.seg = &through;
			io.nseg = 1;
		}
	}
	slot = q->free[q->nfree - 1];
	e = k_vblk_submit(st->disk, op->queue, &io, on_disk_done, st,
			  (uint64_t)op->queue << 16 | slot);
	if (e && !(e == -EOPNOTSUPP && op->kind == DEV_STORAGE_FLUSH)) {
		if (bs >= 0)
			uvm_bounce_put(st->bounce, bs, e);
		return e;
	}
	q->nfree--;
	q->bounce[slot] = (int16_t)bs;
	q->cookie[slot] = op->cookie;
	q->state[slot] = UVM_VDISK_ON_DISK;
	/* Write-through disk: nothing to flush, answered by the next reap(). */
	if (e)
		on_disk_done(st, (uint64_t)op->queue << 16 | slot, 0);
	return 0;
}

static int vd_reap(void *ctx, uint16_t queue, unsigned max, dev_storage_done_fn done, void *arg)
{
	struct uvm_vdisk_store *st = ctx;
	struct uvm_vdisk_queue *q;
	int n = 0;

	if (queue >= VU_MAX_QUEUES)
		return 0;
	q = &st->q[queue];
	while ((unsigned)n < max && q->count) {
		uint16_t slot = q->fifo[q->head];

		q->head = (uint16_t)((q->head + 1) % UVM_VDISK_SLOTS);
		q->count--;
		q->state[slot] = UVM_VDISK_FREE;
		q->free[q->nfree++] = slot;
		n++;
		done(arg, q->cookie[slot], q->result[slot]);
	}
	return n;
}

/* Poll the disk until this session owes nothing, at most UVM_VDISK_WAIT_NS.
 * A disk still holding its requests then is reset (k_vblk_cut_off): left
 * on it, a read could land in guest memory, or a write on the disk, after
 * the front-end has moved on (reused the buffer, resubmitted the request
 * from its inflight record). This session's requests fail; other
 * sessions' wait for the restart, on the next deadline poll, and are
 * submitted again. A disk already stopped holds nothing: no wait. Returns
 * how many of this session's were still owed. */
static unsigned wait_idle(struct uvm_vdisk_store *st)
{
	uint64_t t0 = st->now_ns ? st->now_ns() : 0;
	unsigned left;

	while ((left = k_vblk_in_flight(st->disk, st)) != 0 && !st->disk->broken && st->now_ns &&
	       st->now_ns() - t0 < UVM_VDISK_WAIT_NS)
		k_vblk_poll(st->disk);
	if (left) {
		if (!st->disk->broken)
			k_warn("%s: %u request(s) still on the disk after %llu ms: resetting it",
			       st->disk->name, left,
			       (unsigned long long)(UVM_VDISK_WAIT_NS / 1000000));
		k_vblk_cut_off(st->disk, st, "a front-end could not wait for it");
		st->cut_off += left;
	}
	return left;
}

static void vd_cancel(void *ctx)
{
	struct uvm_vdisk_store *st = ctx;

	(void)wait_idle(st);
	for (unsigned i = 0; i < VU_MAX_QUEUES; i++)
		queue_reset(&st->q[i]);
}

static void vd_drain(void *ctx, dev_storage_done_fn done, void *arg)
{
	struct uvm_vdisk_store *st = ctx;

	(void)wait_idle(st);
	for (uint16_t i = 0; i < st->a.num_queues; i++) {
		struct uvm_vdisk_queue *q = &st->q[i];

		/* None is left on the disk (wait_idle cut it off, which failed
		 * them); a slot still marked so would leak dev_blk's. */
		for (uint16_t s = 0; s < UVM_VDISK_SLOTS; s++)
			if (q->state[s] == UVM_VDISK_ON_DISK)
				on_disk_done(st, (uint64_t)i << 16 | s, -EIO);
		(void)vd_reap(st, i, UVM_VDISK_SLOTS, done, arg);
	}
}

void uvm_vdisk_store_init(struct uvm_vdisk_store *st, struct k_virtio_blk *disk,
			  uint16_t num_queues, uint64_t (*now_ns)(void), struct uvm_bounce *bounce)
{
	const struct k_vblk_geometry *g = &disk->g;

	memset(&st->s, 0, sizeof(st->s));
	st->disk = disk;
	st->bounce = bounce;
	st->now_ns = now_ns;
	st->cut_off = 0;
	for (unsigned i = 0; i < VU_MAX_QUEUES; i++)
		queue_reset(&st->q[i]);
	st->a = (struct dev_storage_async){.num_queues = num_queues,
					   .submit = vd_submit,
					   .reap = vd_reap,
					   .cancel = vd_cancel,
					   .drain = vd_drain};
	st->s.size = g->capacity * K_VBLK_SECTOR;
	st->s.read_only = disk->read_only;
	st->s.ctx = st;
	st->s.blk_size = g->blk_size;
	st->s.seg_max = g->seg_max;
	if (bounce) {
		/* The largest request a front-end is offered fits one slot. */
		st->s.size_max = UVM_BOUNCE_SEG;
		if (st->s.seg_max > UVM_BOUNCE_SEG_MAX)
			st->s.seg_max = UVM_BOUNCE_SEG_MAX;
	}
	st->s.no_flush = !((disk->features >> VIRTIO_BLK_F_FLUSH) & 1);
	st->s.no_discard = !((disk->features >> VIRTIO_BLK_F_DISCARD) & 1);
	st->s.no_write_zeroes = !((disk->features >> VIRTIO_BLK_F_WRITE_ZEROES) & 1);
	st->s.async = &st->a;
}
