/* virtio-blk requests and config space. */
#include "dev/blk.h"

#include <errno.h>
#include <string.h>

#include "vu/backend.h"
#include "vu/iov.h"

#define VIRTIO_ID_BLOCK 2
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

/* One request as the chain describes it. */
struct blk_req {
	struct blk_outhdr hdr;
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
	c.seg_max = DEV_BLK_SEG_MAX;
	c.blk_size = SECTOR;
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

static uint8_t do_rw(struct dev_blk *blk, struct blk_req *r, bool write)
{
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
	if (write) {
		blk->n_writes++;
		n = blk->store->writev(blk->store->ctx, r->hdr.sector * SECTOR, blk->data,
				       (uint32_t)n);
	} else {
		blk->n_reads++;
		n = blk->store->readv(blk->store->ctx, r->hdr.sector * SECTOR, blk->data,
				      (uint32_t)n);
	}
	return n < 0 ? VIRTIO_BLK_S_IOERR : VIRTIO_BLK_S_OK;
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

static uint8_t do_dwz(struct dev_blk *blk, struct blk_req *r, bool zeroes)
{
	struct vu_chain *c = r->chain;
	struct blk_dwz_seg seg;
	uint64_t nseg = r->data_out / sizeof(seg);

	if (blk->store->read_only)
		return VIRTIO_BLK_S_IOERR;
	if (r->data_out % sizeof(seg) || nseg == 0 || nseg > MAX_DISCARD_SEG)
		return VIRTIO_BLK_S_UNSUPP;
	for (uint64_t i = 0; i < nseg; i++) {
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
		rc = zeroes ? blk->store->write_zeroes(blk->store->ctx, seg.sector * SECTOR, bytes)
			    : blk->store->discard(blk->store->ctx, seg.sector * SECTOR, bytes);
		if (rc < 0)
			return VIRTIO_BLK_S_IOERR;
	}
	return VIRTIO_BLK_S_OK;
}

static uint8_t execute(struct dev_blk *blk, struct blk_req *r, uint32_t *written)
{
	*written = 0;
	switch (r->hdr.type) {
	case VIRTIO_BLK_T_IN: {
		uint8_t st = do_rw(blk, r, false);
		if (st == VIRTIO_BLK_S_OK)
			*written = (uint32_t)r->data_in;
		return st;
	}
	case VIRTIO_BLK_T_OUT: return do_rw(blk, r, true);
	case VIRTIO_BLK_T_FLUSH:
		blk->n_flushes++;
		return blk->store->flush(blk->store->ctx) < 0 ? VIRTIO_BLK_S_IOERR
							      : VIRTIO_BLK_S_OK;
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
	status = execute(blk, &r, &written);
	if (status != VIRTIO_BLK_S_OK)
		blk->n_errors++;
	vu_iov_from_buf(r.in, c->n_in, c->in_len - 1, &status, 1);
	req->written = written + 1;
	return VU_DONE;
}

static const struct vu_device_ops blk_ops = {
	.get_config = blk_get_config,
	.serve = blk_serve,
};

int dev_blk_init(struct dev_blk *blk, struct dev_storage *store, uint16_t num_queues,
		 const char *serial)
{
	if (num_queues == 0 || num_queues > VU_MAX_QUEUES || !store || store->size < SECTOR)
		return -EINVAL;
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
	blk->dev.num_queues = num_queues;
	blk->dev.max_queue_size = 1024;
	blk->dev.has_config = true;
	blk->dev.multiqueue = true;
	return 0;
}

void dev_blk_declare_shmem(struct dev_blk *blk, uint32_t num, const uint64_t *sizes)
{
	blk->dev.num_shmem = num;
	blk->dev.shmem_sizes = num ? sizes : NULL;
}
