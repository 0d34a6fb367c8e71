/* virtio-blk requests and config space. */
#include "dev/blk.h"

#include <errno.h>
#include <string.h>

#include "vu/backend.h"
#include "vu/iov.h"

#define VIRTIO_ID_BLOCK 2
#define VIRTIO_BLK_F_SIZE_MAX 1
#define VIRTIO_BLK_F_SEG_MAX 2
#define VIRTIO_BLK_F_RO 5
#define VIRTIO_BLK_F_BLK_SIZE 6
#define VIRTIO_BLK_F_FLUSH 9
#define VIRTIO_BLK_F_MQ 12
#define VIRTIO_BLK_F_DISCARD 13
#define VIRTIO_BLK_F_WRITE_ZEROES 14

#define VIRTIO_BLK_T_IN 0
#define VIRTIO_BLK_T_OUT 1
#define VIRTIO_BLK_T_FLUSH 4
#define VIRTIO_BLK_T_GET_ID 8
#define VIRTIO_BLK_T_DISCARD 11
#define VIRTIO_BLK_T_WRITE_ZEROES 13

#define VIRTIO_BLK_S_OK 0
#define VIRTIO_BLK_S_IOERR 1
#define VIRTIO_BLK_S_UNSUPP 2

#define SECTOR 512u
#define WZ_FLAG_UNMAP 1u
#define MAX_DISCARD_SEG 1u
#define MAX_DISCARD_SECTORS (32u * 1024 * 1024 / SECTOR)

struct blk_outhdr {
	uint32_t type;
	uint32_t ioprio;
	uint64_t sector;
};

struct blk_dwz_seg {
	uint64_t sector;
	uint32_t num_sectors;
	uint32_t flags;
};

/* struct virtio_blk_config, the part we fill (virtio 1.2, 5.2.4). */
struct blk_config {
	uint64_t capacity;
	uint32_t size_max;
	uint32_t seg_max;
	uint16_t cylinders;
	uint8_t heads;
	uint8_t sectors;
	uint32_t blk_size;
	uint8_t physical_block_exp;
	uint8_t alignment_offset;
	uint16_t min_io_size;
	uint32_t opt_io_size;
	uint8_t writeback;
	uint8_t unused0;
	uint16_t num_queues;
	uint32_t max_discard_sectors;
	uint32_t max_discard_seg;
	uint32_t discard_sector_alignment;
	uint32_t max_write_zeroes_sectors;
	uint32_t max_write_zeroes_seg;
	uint8_t write_zeroes_may_unmap;
	uint8_t unused1[3];
} __attribute__((packed));
_Static_assert(sizeof(struct blk_config) == 60, "virtio_blk_config");
_Static_assert(offsetof(struct blk_config, num_queues) == 34, "num_queues offset");

/* execute() results beyond the status byte values (asynchronous storage). */
#define ST_PENDING 0x100
#define ST_NOT_NOW 0x101

/* One request as the chain describes it. */
struct blk_req {
	struct blk_outhdr hdr;
	uint16_t queue;
	struct vu_token token;
	struct vu_chain *chain;
	const struct vu_iov *in; /* device-writable iovecs */
	uint64_t data_out;	 /* payload bytes after the header (OUT, DISCARD...) */
	uint64_t data_in;	 /* writable bytes before the status byte */
};

static int blk_get_config(void *dev, uint8_t *buf, uint32_t offset, uint32_t len)
{
	struct dev_blk *blk = dev;
	uint8_t space[VU_CONFIG_MAX];
	struct blk_config c;

	memset(&c, 0, sizeof(c));
	c.capacity = blk->store->size / SECTOR;
	c.size_max = blk->store->size_max;
	c.seg_max = blk->store->seg_max && blk->store->seg_max < DEV_BLK_SEG_MAX
			    ? blk->store->seg_max
			    : DEV_BLK_SEG_MAX;
	c.blk_size = blk->store->blk_size ? blk->store->blk_size : SECTOR;
	c.num_queues = blk->dev.num_queues;
	c.max_discard_sectors = MAX_DISCARD_SECTORS;
	c.max_discard_seg = MAX_DISCARD_SEG;
	c.discard_sector_alignment = 1;
	c.max_write_zeroes_sectors = MAX_DISCARD_SECTORS;
	c.max_write_zeroes_seg = MAX_DISCARD_SEG;
	c.write_zeroes_may_unmap = 1;
	memset(space, 0, sizeof(space));
	memcpy(space, &c, sizeof(c));
	if (offset > sizeof(space) || len > sizeof(space) - offset)
		return -EINVAL;
	memcpy(buf, space + offset, len);
	return 0;
}

/* Sector range [sector, sector + bytes/512) within capacity, no overflow. */
static bool range_ok(const struct dev_blk *blk, uint64_t sector, uint64_t bytes)
{
	uint64_t cap = blk->store->size / SECTOR;

	if (bytes % SECTOR)
		return false;
	return sector <= cap && bytes / SECTOR <= cap - sector;
}

/* Submit one operation to the asynchronous storage in a free slot of the
 * request's queue. ST_PENDING: in flight; ST_NOT_NOW: no slot or the
 * storage queue is full (the chain goes back to the ring); IOERR: refused. */
static int submit(struct dev_blk *blk, struct blk_req *r, struct dev_storage_op *op,
		  uint32_t written)
{
	struct dev_blk_queue *q = &blk->q[r->queue];
	uint16_t i;
	int rc;

	if (q->nfree == 0) {
		q->blocked = true;
		return ST_NOT_NOW;
	}
	i = q->free[--q->nfree];
	op->queue = r->queue;
	op->cookie = (uint64_t)r->queue << 16 | i;
	rc = blk->store->async->submit(blk->store->ctx, op);
	if (rc == -EAGAIN) {
		q->free[q->nfree++] = i;
		q->blocked = true;
		return ST_NOT_NOW;
	}
	if (rc < 0) {
		q->free[q->nfree++] = i;
		return VIRTIO_BLK_S_IOERR;
	}
	q->slot[i] = (struct dev_blk_slot){.token = r->token, .written = written, .busy = true};
	return ST_PENDING;
}

static int run_op(struct dev_blk *blk, struct blk_req *r, struct dev_storage_op *op,
		  uint32_t written)
{
	const struct dev_storage *s = blk->store;
	int rc;

	if (s->async)
		return submit(blk, r, op, written);
	switch (op->kind) {
	case DEV_STORAGE_READ: rc = s->readv(s->ctx, op->off, op->iov, op->n_iov); break;
	case DEV_STORAGE_WRITE: rc = s->writev(s->ctx, op->off, op->iov, op->n_iov); break;
	case DEV_STORAGE_FLUSH: rc = s->flush(s->ctx); break;
	case DEV_STORAGE_DISCARD: rc = s->discard(s->ctx, op->off, op->len); break;
	default: rc = s->write_zeroes(s->ctx, op->off, op->len); break;
	}
	return rc < 0 ? VIRTIO_BLK_S_IOERR : VIRTIO_BLK_S_OK;
}

static int do_rw(struct dev_blk *blk, struct blk_req *r, bool write)
{
	struct dev_storage_op op;
	struct vu_chain *c = r->chain;
	uint64_t bytes = write ? r->data_out : r->data_in;
	int n;

	if (write && blk->store->read_only)
		return VIRTIO_BLK_S_IOERR;
	if (!range_ok(blk, r->hdr.sector, bytes))
		return VIRTIO_BLK_S_IOERR;
	if (write)
		n = vu_iov_slice(c->iov, c->n_out, sizeof(r->hdr), bytes, blk->data,
				 VU_CHAIN_MAX_IOV);
	else
		n = vu_iov_slice(r->in, c->n_in, 0, bytes, blk->data, VU_CHAIN_MAX_IOV);
	if (n < 0)
		return VIRTIO_BLK_S_IOERR;
	if (write)
		blk->n_writes++;
	else
		blk->n_reads++;
	op = (struct dev_storage_op){.kind = write ? DEV_STORAGE_WRITE : DEV_STORAGE_READ,
				     .off = r->hdr.sector * SECTOR,
				     .iov = blk->data,
				     .n_iov = (uint32_t)n};
	return run_op(blk, r, &op, write ? 0 : (uint32_t)r->data_in);
}

static uint8_t do_get_id(struct dev_blk *blk, struct blk_req *r, uint32_t *written)
{
	uint8_t id[DEV_BLK_ID_BYTES];
	size_t n = r->data_in < sizeof(id) ? (size_t)r->data_in : sizeof(id);

	memset(id, 0, sizeof(id));
	memcpy(id, blk->serial, strlen(blk->serial));
	*written = (uint32_t)vu_iov_from_buf(r->in, r->chain->n_in, 0, id, n);
	return VIRTIO_BLK_S_OK;
}

static int do_dwz(struct dev_blk *blk, struct blk_req *r, bool zeroes)
{
	struct vu_chain *c = r->chain;
	struct blk_dwz_seg seg;
	uint64_t nseg = r->data_out / sizeof(seg);

	if (blk->store->read_only)
		return VIRTIO_BLK_S_IOERR;
	if (r->data_out % sizeof(seg) || nseg == 0 || nseg > MAX_DISCARD_SEG)
		return VIRTIO_BLK_S_UNSUPP;
	/* Not offered: the medium cannot. */
	if (zeroes ? blk->store->no_write_zeroes : blk->store->no_discard)
		return VIRTIO_BLK_S_UNSUPP;
	/* MAX_DISCARD_SEG is 1: at most one storage operation per request,
	 * which is what lets an asynchronous storage answer it with one
	 * completion. */
	_Static_assert(MAX_DISCARD_SEG == 1, "one operation per discard request");
	for (uint64_t i = 0; i < nseg; i++) {
		struct dev_storage_op op;
		uint64_t bytes;
		int rc;
		vu_iov_to_buf(c->iov, c->n_out, sizeof(r->hdr) + i * sizeof(seg), &seg,
			      sizeof(seg));
		if ((seg.flags & ~WZ_FLAG_UNMAP) || (!zeroes && seg.flags))
			return VIRTIO_BLK_S_UNSUPP;
		if (seg.num_sectors > MAX_DISCARD_SECTORS)
			return VIRTIO_BLK_S_IOERR;
		bytes = (uint64_t)seg.num_sectors * SECTOR;
		if (!range_ok(blk, seg.sector, bytes))
			return VIRTIO_BLK_S_IOERR;
		op = (struct dev_storage_op){.kind = zeroes ? DEV_STORAGE_WRITE_ZEROES
							    : DEV_STORAGE_DISCARD,
					     .off = seg.sector * SECTOR,
					     .len = bytes};
		rc = run_op(blk, r, &op, 0);
		if (rc != VIRTIO_BLK_S_OK)
			return rc;
	}
	return VIRTIO_BLK_S_OK;
}

static int execute(struct dev_blk *blk, struct blk_req *r, uint32_t *written)
{
	*written = 0;
	switch (r->hdr.type) {
	case VIRTIO_BLK_T_IN: {
		int st = do_rw(blk, r, false);
		if (st == VIRTIO_BLK_S_OK)
			*written = (uint32_t)r->data_in;
		return st;
	}
	case VIRTIO_BLK_T_OUT: return do_rw(blk, r, true);
	case VIRTIO_BLK_T_FLUSH: {
		struct dev_storage_op op = {.kind = DEV_STORAGE_FLUSH};
		blk->n_flushes++;
		/* A write-through medium: every completed write is on it. */
		if (blk->store->no_flush)
			return VIRTIO_BLK_S_OK;
		return run_op(blk, r, &op, 0);
	}
	case VIRTIO_BLK_T_GET_ID: return do_get_id(blk, r, written);
	case VIRTIO_BLK_T_DISCARD: return do_dwz(blk, r, false);
	case VIRTIO_BLK_T_WRITE_ZEROES: return do_dwz(blk, r, true);
	default: return VIRTIO_BLK_S_UNSUPP;
	}
}

static int blk_serve(void *dev, struct vu_backend *b, struct vu_req *req)
{
	struct dev_blk *blk = dev;
	struct vu_chain *c = req->chain;
	struct blk_req r;
	uint32_t written;
	uint8_t status;
	int st;

	(void)b;
	/* No room for the header or the status byte: the driver is broken, and
	 * there is nowhere to report it but the ring itself. */
	if (c->out_len < sizeof(r.hdr) || c->in_len < 1 || c->in_len > UINT32_MAX)
		return -EINVAL;
	r.chain = c;
	r.in = c->iov + c->n_out;
	vu_iov_to_buf(c->iov, c->n_out, 0, &r.hdr, sizeof(r.hdr));
	r.data_out = c->out_len - sizeof(r.hdr);
	r.data_in = c->in_len - 1;
	r.queue = req->ring;
	r.token = req->token;
	st = execute(blk, &r, &written);
	if (st == ST_PENDING)
		return VU_PENDING;
	if (st == ST_NOT_NOW)
		return VU_NOT_NOW;
	status = (uint8_t)st;
	if (status != VIRTIO_BLK_S_OK)
		blk->n_errors++;
	vu_iov_from_buf(r.in, c->n_in, c->in_len - 1, &status, 1);
	req->written = written + 1;
	return VU_DONE;
}

/* The status byte goes into the chain rebuilt from the token (the memory
 * table may have changed since submit); a token that is no longer live
 * (ring reset, session gone) gets nothing written and vu_complete() just
 * counts it. */
struct poll_ctx {
	struct dev_blk *blk;
	struct vu_backend *b;
};

static void on_done(void *arg, uint64_t cookie, int result)
{
	struct poll_ctx *p = arg;
	struct dev_blk *blk = p->blk;
	uint16_t queue = (uint16_t)(cookie >> 16), i = (uint16_t)(cookie & 0xffff);
	struct dev_blk_queue *q;
	struct dev_blk_slot s;
	struct vu_chain *c = blk->done_chain;
	uint8_t status = result < 0 ? VIRTIO_BLK_S_IOERR : VIRTIO_BLK_S_OK;

	if (!blk->q || queue >= blk->dev.num_queues || i >= DEV_BLK_ASYNC_SLOTS ||
	    !blk->q[queue].slot[i].busy)
		return; /* not ours: a storage bug, ignored rather than trusted */
	q = &blk->q[queue];
	s = q->slot[i];
	q->slot[i].busy = false;
	q->free[q->nfree++] = i;
	blk->n_async_done++;
	if (status != VIRTIO_BLK_S_OK)
		blk->n_errors++;
	if (vu_token_chain(p->b, s.token, c) == 0 && c->n_in > 0) {
		vu_iov_from_buf(c->iov + c->n_out, c->n_in, c->in_len - 1, &status, 1);
		(void)vu_complete(p->b, s.token, (status ? 0 : s.written) + 1);
	} else if (vu_complete(p->b, s.token, 0) == -ESTALE) {
		blk->n_async_stale++;
	}
	if (q->blocked) {
		q->blocked = false;
		vu_backend_kick(p->b, queue);
	}
}

int dev_blk_poll(struct dev_blk *blk, struct vu_backend *b, unsigned budget)
{
	const struct dev_storage_async *a = blk->store->async;
	struct poll_ctx p = {blk, b};
	int done = 0;

	if (!a || !blk->q)
		return 0;
	for (uint16_t q = 0; q < blk->dev.num_queues; q++) {
		int n = a->reap(blk->store->ctx, q, budget, on_done, &p);
		if (n > 0)
			done += n;
		/* Refused for room someone else holds (a disk, or its bounce
		 * pool, shared with other sessions): no completion of ours will
		 * come to retry it, so retry on the next turn. */
		if (blk->q[q].blocked && blk->q[q].nfree == DEV_BLK_ASYNC_SLOTS) {
			blk->q[q].blocked = false;
			vu_backend_kick(b, q);
		}
	}
	return done;
}

static void queues_init(struct dev_blk *blk)
{
	for (uint32_t q = 0; q < VU_MAX_QUEUES; q++) {
		blk->q[q].nfree = DEV_BLK_ASYNC_SLOTS;
		blk->q[q].blocked = false;
		for (uint16_t i = 0; i < DEV_BLK_ASYNC_SLOTS; i++) {
			blk->q[q].slot[i].busy = false;
			/* Popped from the end: slot 0 first. */
			blk->q[q].free[i] = (uint16_t)(DEV_BLK_ASYNC_SLOTS - 1 - i);
		}
	}
}

/* Every token is stale now. A storage that can cancel waits for its
 * operations (none may write guest memory after this returns) and the slots
 * are free; one that cannot keeps them until its completions come, which
 * on_done() then drops as stale. */
static void blk_reset(void *dev)
{
	struct dev_blk *blk = dev;
	const struct dev_storage_async *a = blk->store->async;

	if (!a || !blk->q)
		return;
	if (a->cancel) {
		a->cancel(blk->store->ctx);
		queues_init(blk);
	}
	for (uint32_t q = 0; q < VU_MAX_QUEUES; q++)
		blk->q[q].blocked = false;
}

/* The front-end is about to unmap guest memory: the requests in flight
 * finish first, published into the memory they were popped from. */
static void blk_quiesce(void *dev, struct vu_backend *b)
{
	struct dev_blk *blk = dev;
	const struct dev_storage_async *a = blk->store->async;
	struct poll_ctx p = {blk, b};

	if (a && a->drain && blk->q)
		a->drain(blk->store->ctx, on_done, &p);
}

static int blk_poll(void *dev, struct vu_backend *b, unsigned budget)
{
	return dev_blk_poll(dev, b, budget);
}

static const struct vu_device_ops blk_ops = {
	.get_config = blk_get_config,
	.serve = blk_serve,
	.reset = blk_reset,
	.quiesce = blk_quiesce,
	.poll = blk_poll,
};

static void blk_setup(struct dev_blk *blk, struct dev_storage *store, uint16_t num_queues,
		      const char *serial)
{
	memset(blk, 0, sizeof(*blk));
	blk->store = store;
	strncpy(blk->serial, serial ? serial : "uvhost", DEV_BLK_ID_BYTES);
	blk->dev.ops = &blk_ops;
	blk->dev.name = "blk";
	blk->dev.virtio_id = VIRTIO_ID_BLOCK;
	blk->dev.features = VU_BIT(VIRTIO_BLK_F_SEG_MAX) | VU_BIT(VIRTIO_BLK_F_BLK_SIZE) |
			    VU_BIT(VIRTIO_BLK_F_FLUSH) | VU_BIT(VIRTIO_BLK_F_MQ) |
			    VU_BIT(VIRTIO_BLK_F_DISCARD) | VU_BIT(VIRTIO_BLK_F_WRITE_ZEROES);
	if (store->read_only)
		blk->dev.features |= VU_BIT(VIRTIO_BLK_F_RO);
	if (store->size_max)
		blk->dev.features |= VU_BIT(VIRTIO_BLK_F_SIZE_MAX);
	if (store->no_flush)
		blk->dev.features &= ~VU_BIT(VIRTIO_BLK_F_FLUSH);
	if (store->no_discard)
		blk->dev.features &= ~VU_BIT(VIRTIO_BLK_F_DISCARD);
	if (store->no_write_zeroes)
		blk->dev.features &= ~VU_BIT(VIRTIO_BLK_F_WRITE_ZEROES);
	blk->dev.num_queues = num_queues;
	blk->dev.max_queue_size = 1024;
	blk->dev.has_config = true;
	blk->dev.multiqueue = true;
}

static bool args_ok(const struct dev_storage *store, uint16_t num_queues)
{
	return num_queues > 0 && num_queues <= VU_MAX_QUEUES && store && store->size >= SECTOR;
}

int dev_blk_init(struct dev_blk *blk, struct dev_storage *store, uint16_t num_queues,
		 const char *serial)
{
	if (!args_ok(store, num_queues) || store->async)
		return -EINVAL;
	blk_setup(blk, store, num_queues, serial);
	return 0;
}

int dev_blk_init_async(struct dev_blk *blk, struct dev_storage *store, uint16_t num_queues,
		       const char *serial, struct dev_blk_async *area)
{
	const struct dev_storage_async *a = store ? store->async : NULL;

	/* Each blk queue submits to its own storage queue. */
	if (!args_ok(store, num_queues) || !area || !a || a->num_queues < num_queues ||
	    !a->submit || !a->reap)
		return -EINVAL;
	blk_setup(blk, store, num_queues, serial);
	blk->done_chain = &area->done_chain;
	blk->q = area->q;
	queues_init(blk);
	return 0;
}

void dev_blk_declare_shmem(struct dev_blk *blk, uint32_t num, const uint64_t *sizes)
{
	blk->dev.num_shmem = num;
	blk->dev.shmem_sizes = num ? sizes : NULL;
}
