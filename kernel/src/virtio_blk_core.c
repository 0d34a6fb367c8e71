/* The virtio-blk driver's portable part: config checks, requests in and
 * answers out of the split rings, deadlines, counters (kern/virtio_blk.h).
 * The PCI bring-up is kernel/hw/virtio_blk.c. */
#include "kern/virtio_blk.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "kern/log.h"

#define T_IN 0u
#define T_OUT 1u
#define T_FLUSH 4u
#define T_DISCARD 11u
#define T_WRITE_ZEROES 13u

#define S_OK 0u
#define S_UNSUPP 2u

/* Per queue per poll: bounded work, as every poller. */
#define VBLK_BUDGET 32u

/* struct virtio_blk_config up to write_zeroes_may_unmap (virtio 1.2 5.2.4),
 * read field by field at these offsets (little-endian). */
#define CFG_CAPACITY 0u
#define CFG_SIZE_MAX 8u
#define CFG_SEG_MAX 12u
#define CFG_BLK_SIZE 20u
#define CFG_NUM_QUEUES 34u
#define CFG_MAX_DISCARD_SECTORS 36u
#define CFG_MAX_WZ_SECTORS 52u
#define CFG_LEN_MIN 24u /* capacity .. blk_size */

static uint64_t le(const uint8_t *p, unsigned n)
{
	uint64_t v = 0;

	for (unsigned i = n; i-- > 0;)
		v = v << 8 | p[i];
	return v;
}

static bool has(uint64_t features, unsigned bit)
{
	return (features >> bit) & 1;
}

uint64_t k_vblk_wanted_features(void)
{
	return (1ull << VIRTIO_BLK_F_SIZE_MAX) | (1ull << VIRTIO_BLK_F_SEG_MAX) |
	       (1ull << VIRTIO_BLK_F_RO) | (1ull << VIRTIO_BLK_F_BLK_SIZE) |
	       (1ull << VIRTIO_BLK_F_FLUSH) | (1ull << VIRTIO_BLK_F_MQ) |
	       (1ull << VIRTIO_BLK_F_DISCARD) | (1ull << VIRTIO_BLK_F_WRITE_ZEROES);
}

int k_vblk_geometry(struct k_vblk_geometry *g, const uint8_t *cfg, uint32_t len, uint64_t features,
		    uint16_t device_queues)
{
	memset(g, 0, sizeof(*g));
	if (len < CFG_LEN_MIN) {
		k_err("virtio-blk: config space of %" PRIu32 " bytes, need %u", len, CFG_LEN_MIN);
		return -EINVAL;
	}
	g->capacity = le(cfg + CFG_CAPACITY, 8);
	if (g->capacity == 0 || g->capacity > UINT64_MAX / K_VBLK_SECTOR) {
		k_err("virtio-blk: capacity of %" PRIu64 " sectors refused", g->capacity);
		return -EINVAL;
	}
	g->blk_size = K_VBLK_SECTOR;
	if (has(features, VIRTIO_BLK_F_BLK_SIZE)) {
		g->blk_size = (uint32_t)le(cfg + CFG_BLK_SIZE, 4);
		if (g->blk_size < 512 || g->blk_size > 65536 || (g->blk_size & (g->blk_size - 1))) {
			k_err("virtio-blk: blk_size %" PRIu32 " refused", g->blk_size);
			return -EINVAL;
		}
	}
	/* Two descriptors go to the header and the status byte. */
	g->seg_max = K_VBLK_QSIZE - 2;
	if (has(features, VIRTIO_BLK_F_SEG_MAX)) {
		uint32_t s = (uint32_t)le(cfg + CFG_SEG_MAX, 4);

		if (s == 0) {
			k_err("virtio-blk: seg_max 0 refused");
			return -EINVAL;
		}
		if (s < g->seg_max)
			g->seg_max = s;
	}
	if (has(features, VIRTIO_BLK_F_SIZE_MAX)) {
		g->size_max = (uint32_t)le(cfg + CFG_SIZE_MAX, 4);
		/* Below a page, big requests would need more descriptors than
		 * any ring has: not a disk to drive. */
		if (g->size_max < 4096) {
			k_err("virtio-blk: size_max %" PRIu32 " refused", g->size_max);
			return -EINVAL;
		}
	}
	g->num_queues = 1;
	if (has(features, VIRTIO_BLK_F_MQ)) {
		uint16_t n;

		if (len < CFG_NUM_QUEUES + 2) {
			k_err("virtio-blk: MQ without num_queues in the config space");
			return -EINVAL;
		}
		n = (uint16_t)le(cfg + CFG_NUM_QUEUES, 2);
		if (n == 0 || n > device_queues) {
			k_err("virtio-blk: num_queues %u refused (the device has %u)", n,
			      device_queues);
			return -EINVAL;
		}
		g->num_queues = n > K_VBLK_MAX_QUEUES ? K_VBLK_MAX_QUEUES : n;
	}
	if (has(features, VIRTIO_BLK_F_DISCARD) && len >= CFG_MAX_DISCARD_SECTORS + 4)
		g->max_discard_sectors = (uint32_t)le(cfg + CFG_MAX_DISCARD_SECTORS, 4);
	if (has(features, VIRTIO_BLK_F_WRITE_ZEROES) && len >= CFG_MAX_WZ_SECTORS + 4)
		g->max_write_zeroes_sectors = (uint32_t)le(cfg + CFG_MAX_WZ_SECTORS, 4);
	return 0;
}

int k_vblk_same_disk(const struct k_virtio_blk *b, uint64_t features,
		     const struct k_vblk_geometry *g)
{
	if (features == b->features && g->capacity == b->g.capacity &&
	    g->blk_size == b->g.blk_size && g->num_queues == b->g.num_queues)
		return 0;
	k_err("%s: the device came back different: features %#" PRIx64 " (was %#" PRIx64
	      "), %" PRIu64 " sectors (was %" PRIu64 "), block %" PRIu32 " (was %" PRIu32
	      "), %u queues (was %u)",
	      b->name, features, b->features, g->capacity, b->g.capacity, g->blk_size,
	      b->g.blk_size, g->num_queues, b->g.num_queues);
	return -ENODEV;
}

void k_vblk_init(struct k_virtio_blk *b, unsigned index, uint64_t features,
		 const struct k_vblk_geometry *g, uint64_t (*now_ns)(void))
{
	b->now_ns = now_ns;
	b->timeout_ns = K_VBLK_TIMEOUT_NS;
	b->features = features;
	b->g = *g;
	b->read_only = has(features, VIRTIO_BLK_F_RO);
	b->broken = false;
	b->retry_ns = K_VBLK_RETRY_NS;
	b->retry_at_ns = 0;
	b->up_at_ns = 0;
	b->armed = false;
	b->nq = 0;
	memset(&b->st, 0, sizeof(b->st));
	snprintf(b->name, sizeof(b->name), "vd%u", index);
}

static uint64_t now_of(const struct k_virtio_blk *b)
{
	return b->now_ns ? b->now_ns() : 0;
}

/* Parked: owed an answer while the disk is down for a cut-off (the cut-off
 * failed its owner's), so submitted again when it is back. */
static bool waits_for_restart(const struct k_virtio_blk *b, const struct k_vblk_req *r)
{
	return b->cut_off && r->busy && !r->orphan;
}

/* Before the ring is laid out again: copy the chains of the queue's parked
 * requests into b->bufs (they were all on this ring, so they fit), walking
 * the driver's private links, never the device-shared `next`. */
static void save_parked_chains(struct k_virtio_blk *b, struct k_vblk_queue *q)
{
	uint16_t at = 0;

	if (!q->q.size)
		return; /* never laid out: nothing can be parked */
	for (uint16_t h = 0; h < q->q.size; h++) {
		struct k_vblk_req *r = q->q.cookie[h];
		uint16_t i = h, n = q->q.chain_len[h];

		if (!r || !waits_for_restart(b, r))
			continue;
		r->saved_at = at;
		r->saved_n = 0;
		if (n > K_VBLK_QSIZE - at)
			continue; /* cannot happen; saved_n 0 fails it below */
		for (uint16_t k = 0; k < n; k++) {
			const struct vring_desc *d = &q->q.desc[i];

			b->bufs[at++] = (struct virtq_buf){d->addr, d->len,
							   (d->flags & VRING_DESC_F_WRITE) != 0};
			i = (uint16_t)(q->q.links[i] & (q->q.size - 1u));
		}
		r->saved_n = n;
	}
}

/* A saved chain is the request's own: its header first, its status byte
 * last, and data that adds up to what was asked. */
static bool saved_chain_ok(const struct k_virtio_blk *b, const struct k_vblk_req *r)
{
	const struct virtq_buf *c = &b->bufs[r->saved_at];
	unsigned first = 1u + (r->kind == K_VBLK_DISCARD || r->kind == K_VBLK_WRITE_ZEROES);
	uint64_t data = 0;

	if (r->saved_n < first + 1u || c[0].addr != (uint64_t)(uintptr_t)&r->hdr ||
	    c[r->saved_n - 1].addr != (uint64_t)(uintptr_t)&r->status || c[r->saved_n - 1].len != 1)
		return false;
	for (unsigned k = first; k + 1u < r->saved_n; k++)
		data += c[k].len;
	return data == r->bytes;
}

static void finish(struct k_virtio_blk *b, struct k_vblk_queue *q, struct k_vblk_req *r,
		   int result);

/* After the ring was laid out again: the parked requests go back on it. */
static void repost_parked(struct k_virtio_blk *b, struct k_vblk_queue *q)
{
	for (uint16_t i = 0; i < K_VBLK_REQS; i++) {
		struct k_vblk_req *r = &q->req[i];

		if (!waits_for_restart(b, r))
			continue;
		r->status = 0xff;
		r->t_submit = now_of(b);
		if (!saved_chain_ok(b, r) ||
		    virtq_drv_add(&q->q, &b->bufs[r->saved_at], r->saved_n, r) < 0) {
			k_err("%s: a parked request could not go back on its queue: failed",
			      b->name);
			finish(b, q, r, -EIO);
			continue;
		}
		b->st.resubmitted++;
	}
}

int k_vblk_queue_init(struct k_virtio_blk *b, uint16_t qi, uint16_t size)
{
	struct k_vblk_queue *q;
	int r;

	if (qi >= K_VBLK_MAX_QUEUES || size < 4 || size > K_VBLK_QSIZE || (size & (size - 1)))
		return -EINVAL;
	q = &b->q[qi];
	if (qi < b->nq)
		save_parked_chains(b, q);
	r = virtq_drv_init(&q->q, size, q->ring, (uint64_t)(uintptr_t)q->ring, q->cookie,
			   q->chain_len, q->max_write, false);
	if (r == 0)
		/* The free list stays out of memory the device can write. */
		r = virtq_drv_set_links(&q->q, q->links);
	if (r)
		return r;
	/* The poller looks at every busy ring each turn: interrupts only
	 * across an idle sleep (k_vblk_idle_prepare). */
	virtq_drv_disable_notify(&q->q);
	/* A request takes its header, status and data descriptors: no more
	 * segments than the ring holds (the front-end is offered this). */
	if (b->g.seg_max > (uint32_t)size - 2)
		b->g.seg_max = (uint32_t)size - 2;
	/* Popped from the end: request 0 first. Parked ones stay taken. */
	q->nfree = 0;
	for (uint16_t i = K_VBLK_REQS; i-- > 0;) {
		if (qi < b->nq && waits_for_restart(b, &q->req[i]))
			continue;
		memset(&q->req[i], 0, sizeof(q->req[i]));
		q->free[q->nfree++] = i;
	}
	if (qi >= b->nq)
		b->nq = (uint16_t)(qi + 1);
	else
		repost_parked(b, q);
	return 0;
}

/* The range [off, off+len) in whole sectors inside the disk. */
static bool range_ok(const struct k_virtio_blk *b, uint64_t off, uint64_t len)
{
	uint64_t cap = b->g.capacity * K_VBLK_SECTOR;

	return off % K_VBLK_SECTOR == 0 && len % K_VBLK_SECTOR == 0 && off <= cap &&
	       len <= cap - off;
}

/* Cut the caller's segments at size_max into b->split. Returns how many,
 * or -EINVAL (more than seg_max, a zero-length one, or a sum that is not
 * the request's length). */
static int cut_segments(struct k_virtio_blk *b, const struct k_vblk_io *io)
{
	uint32_t n = 0, max = b->g.size_max ? b->g.size_max : UINT32_MAX;
	uint64_t sum = 0;

	for (uint32_t i = 0; i < io->nseg; i++) {
		uint64_t addr = io->seg[i].addr;
		uint32_t left = io->seg[i].len;

		if (left == 0)
			return -EINVAL;
		sum += left;
		while (left) {
			uint32_t part = left < max ? left : max;

			if (n == b->g.seg_max)
				return -EINVAL;
			b->split[n++] = (struct k_vblk_seg){addr, part};
			addr += part;
			left -= part;
		}
	}
	return sum == io->len ? (int)n : -EINVAL;
}

/* What the request may do on this disk: 0 or the refusal. */
static int check_io(const struct k_virtio_blk *b, const struct k_vblk_io *io)
{
	if (b->broken)
		return b->cut_off ? -EAGAIN : -EIO;
	switch (io->kind) {
	case K_VBLK_READ: break;
	case K_VBLK_WRITE:
		if (b->read_only)
			return -EROFS;
		break;
	case K_VBLK_FLUSH: return has(b->features, VIRTIO_BLK_F_FLUSH) ? 0 : -EOPNOTSUPP;
	case K_VBLK_DISCARD:
	case K_VBLK_WRITE_ZEROES: {
		bool zeroes = io->kind == K_VBLK_WRITE_ZEROES;
		uint32_t max = zeroes ? b->g.max_write_zeroes_sectors : b->g.max_discard_sectors;

		if (b->read_only)
			return -EROFS;
		if (!has(b->features, zeroes ? VIRTIO_BLK_F_WRITE_ZEROES : VIRTIO_BLK_F_DISCARD))
			return -EOPNOTSUPP;
		if (io->len == 0 || (max && io->len / K_VBLK_SECTOR > max) ||
		    io->len / K_VBLK_SECTOR > UINT32_MAX)
			return -EINVAL;
		break;
	}
	default: return -EINVAL;
	}
	if (!range_ok(b, io->off, io->len))
		return -EINVAL;
	if ((io->kind == K_VBLK_READ || io->kind == K_VBLK_WRITE) && (io->len == 0 || !io->seg))
		return -EINVAL;
	return 0;
}

static void fill_header(struct k_vblk_req *r, const struct k_vblk_io *io)
{
	static const uint32_t types[] = {T_IN, T_OUT, T_FLUSH, T_DISCARD, T_WRITE_ZEROES};

	r->hdr.type = types[io->kind];
	r->hdr.ioprio = 0;
	r->hdr.sector = io->kind == K_VBLK_FLUSH ? 0 : io->off / K_VBLK_SECTOR;
	r->dwz.sector = io->off / K_VBLK_SECTOR;
	r->dwz.num_sectors = (uint32_t)(io->len / K_VBLK_SECTOR);
	r->dwz.flags = 0;
	r->status = 0xff; /* not an answer: a device that never writes it fails */
}

int k_vblk_submit(struct k_virtio_blk *b, uint16_t qi, const struct k_vblk_io *io,
		  k_vblk_done_fn done, void *owner, uint64_t cookie)
{
	struct k_vblk_queue *q;
	struct k_vblk_req *r;
	bool rw = io->kind == K_VBLK_READ || io->kind == K_VBLK_WRITE;
	unsigned n = 0, need;
	int nseg = 0, e;
	uint16_t i;

	e = check_io(b, io);
	if (e)
		return e;
	if (rw) {
		nseg = cut_segments(b, io);
		if (nseg < 0)
			return nseg;
	}
	q = &b->q[qi % b->nq];
	/* Header, status, the data or the discard segment. */
	need = 2u + (unsigned)nseg +
	       (io->kind == K_VBLK_DISCARD || io->kind == K_VBLK_WRITE_ZEROES);
	if (need > q->q.size)
		return -EINVAL; /* would never fit: waiting would wedge the ring */
	if (q->nfree == 0 || q->q.num_free < need)
		return -EAGAIN;
	i = q->free[q->nfree - 1];
	r = &q->req[i];
	fill_header(r, io);
	b->bufs[n++] = (struct virtq_buf){(uint64_t)(uintptr_t)&r->hdr, sizeof(r->hdr), false};
	if (io->kind == K_VBLK_DISCARD || io->kind == K_VBLK_WRITE_ZEROES)
		b->bufs[n++] =
			(struct virtq_buf){(uint64_t)(uintptr_t)&r->dwz, sizeof(r->dwz), false};
	for (int s = 0; s < nseg; s++)
		b->bufs[n++] = (struct virtq_buf){b->split[s].addr, b->split[s].len,
						  io->kind == K_VBLK_READ};
	b->bufs[n++] = (struct virtq_buf){(uint64_t)(uintptr_t)&r->status, 1, true};
	if (virtq_drv_add(&q->q, b->bufs, n, r) < 0)
		return -EAGAIN;
	q->nfree--;
	r->busy = true;
	r->orphan = false;
	r->kind = (uint8_t)io->kind;
	r->data_in = io->kind == K_VBLK_READ ? (uint32_t)io->len : 0;
	r->bytes = rw ? io->len : 0;
	r->t_submit = now_of(b);
	r->done = done;
	r->owner = owner;
	r->cookie = cookie;
	b->st.requests++;
	if (virtq_drv_kick_needed(&q->q))
		b->notify(b->t, (uint16_t)(qi % b->nq));
	return 0;
}

/* Hand the answer to its owner (unless it was given already) and put the
 * request back in the pool. */
static void finish(struct k_virtio_blk *b, struct k_vblk_queue *q, struct k_vblk_req *r, int result)
{
	bool answer = !r->orphan && r->done;

	if (!r->orphan) {
		uint64_t lat = b->now_ns ? now_of(b) - r->t_submit : 0;

		b->st.done++;
		b->st.lat_total_ns += lat;
		if (lat > b->st.lat_max_ns)
			b->st.lat_max_ns = lat;
		if (result)
			b->st.errors++;
		else if (r->kind == K_VBLK_READ)
			b->st.read_bytes += r->bytes;
		else if (r->kind == K_VBLK_WRITE)
			b->st.write_bytes += r->bytes;
	}
	r->busy = false;
	q->free[q->nfree++] = (uint16_t)(r - q->req);
	if (answer)
		r->done(r->owner, r->cookie, result);
}

static void longer_retry(struct k_virtio_blk *b)
{
	b->retry_ns =
		b->retry_ns >= K_VBLK_RETRY_MAX_NS / 2 ? K_VBLK_RETRY_MAX_NS : b->retry_ns * 2;
}

/* Reset the device and mark the disk broken; nobody has heard of a failure
 * yet, and once the reset is done the device touches no buffer, so an
 * owner told afterwards may reuse its buffer at once.
 * A fault (a timeout, garbage in the used ring): the device is not trusted
 * with another request until it has been set up again, 1 s later or
 * longer if it broke again soon after coming back.
 * Not a fault (a cut-off, k_vblk_cut_off): it is set up again at the next
 * deadline poll, and the requests still owed then are parked. */
static void stop_disk(struct k_virtio_blk *b, const char *why, bool fault)
{
	uint64_t now = now_of(b);
	int level = fault ? K_LOG_ERR : K_LOG_INFO;

	if (b->broken)
		return;
	b->broken = true;
	b->cut_off = !fault;
	if (fault) {
		/* A disk that breaks again soon after coming back waits longer. */
		if (b->up_at_ns && now - b->up_at_ns < K_VBLK_RETRY_MAX_NS)
			longer_retry(b);
		else
			b->retry_ns = K_VBLK_RETRY_NS;
		b->retry_at_ns = now + b->retry_ns;
		k_err("%s: %s: disk stopped, every request fails until it is back up", b->name,
		      why);
	} else {
		b->retry_at_ns = now;
		k_warn("%s: %s: resetting the disk; other front-ends' requests are submitted "
		       "again when it is back",
		       b->name, why);
	}
	if (b->stop) {
		b->stop(b->t);
		k_log(level, "%s: device reset: it no longer touches the requests' buffers",
		      b->name);
	}
	if (fault && b->restart)
		k_info("%s: restart in %" PRIu64 " ms", b->name, b->retry_ns / 1000000);
}

/* Every request still owed an answer, and matching `owner` (NULL: all),
 * fails with `result` (the device must be off them already). */
static void fail_owed(struct k_virtio_blk *b, const void *owner, int result)
{
	for (unsigned qi = 0; qi < b->nq; qi++)
		for (unsigned i = 0; i < K_VBLK_REQS; i++) {
			struct k_vblk_req *r = &b->q[qi].req[i];

			if (r->busy && !r->orphan && (!owner || r->owner == owner)) {
				k_vblk_done_fn done = r->done;

				r->orphan = true;
				b->st.errors++;
				if (done)
					done(r->owner, r->cookie, result);
			}
		}
}

void k_vblk_break(struct k_virtio_blk *b, const char *why)
{
	stop_disk(b, why, true);
	b->cut_off = false; /* a parked request waits no longer either */
	fail_owed(b, NULL, -EIO);
}

void k_vblk_cut_off(struct k_virtio_blk *b, const void *owner, const char *why)
{
	bool now_reset = !b->broken;
	unsigned parked;

	stop_disk(b, why, false);
	fail_owed(b, owner, -EIO);
	/* What is still owed is parked (waits_for_restart); none is after a
	 * fault, which failed them all. */
	parked = k_vblk_in_flight(b, NULL);
	if (now_reset && parked)
		k_info("%s: %u request(s) of other front-ends parked until the restart", b->name,
		       parked);
}

static int status_result(const struct k_vblk_req *r, uint32_t len)
{
	/* The status byte is the last writable byte: a length short of it
	 * (a read with less data than asked) is no answer. */
	if (len != r->data_in + 1)
		return -EIO;
	return r->status == S_OK ? 0 : r->status == S_UNSUPP ? -EOPNOTSUPP : -EIO;
}

int k_vblk_poll_queue(struct k_virtio_blk *b, uint16_t qi, unsigned budget)
{
	struct k_vblk_queue *q = &b->q[qi];
	int got = 0;

	if (qi >= b->nq)
		return 0;
	while ((unsigned)got < budget) {
		void *cookie;
		uint32_t len;
		int e = virtq_drv_get_used(&q->q, &cookie, &len);
		struct k_vblk_req *r = cookie;

		if (e == 0)
			break;
		if (e < 0) {
			b->st.ring_errors++;
			k_vblk_break(b, "the device published a bad used element");
			break;
		}
		got++;
		if (b->broken && !r->orphan) /* cannot happen: k_vblk_break orphans all */
			r->orphan = true;
		finish(b, q, r, status_result(r, len));
	}
	return got;
}

int k_vblk_poll(void *ctx)
{
	struct k_virtio_blk *b = ctx;
	int work = 0;

	/* A broken disk is never read again (its used ring is garbage). */
	if (b->broken)
		return 0;
	if (b->armed)
		k_vblk_awake(b);
	for (uint16_t qi = 0; qi < b->nq; qi++)
		if (virtq_drv_in_flight(&b->q[qi].q))
			work += k_vblk_poll_queue(b, qi, VBLK_BUDGET);
	return work;
}

/* Bring a broken disk back once its retry is due: the transport lays the
 * rings and pools out afresh, and k_vblk_queue_init puts the parked
 * requests of a cut-off back on them (after a fault none is owed). 1: back
 * up. */
static int try_restart(struct k_virtio_blk *b, uint64_t now)
{
	uint64_t again = b->st.resubmitted;
	bool cut_off = b->cut_off;
	int e;

	if (!b->restart || now < b->retry_at_ns)
		return 0;
	e = b->restart(b);
	if (e) {
		if (cut_off) {
			/* Nothing waits longer: the parked requests are off the
			 * device (the failed restart reset it) and fail. */
			b->cut_off = false;
			fail_owed(b, NULL, -EIO);
		} else {
			longer_retry(b);
		}
		b->retry_at_ns = now + b->retry_ns;
		k_err("%s: restart failed (%d), next in %" PRIu64 " ms", b->name, e,
		      b->retry_ns / 1000000);
		return 0;
	}
	b->broken = false;
	b->cut_off = false;
	b->armed = false;
	if (!cut_off)
		b->up_at_ns = now ? now : 1; /* a cut-off was no fault of the disk's */
	b->st.recoveries++;
	for (uint16_t qi = 0; qi < b->nq; qi++)
		if (virtq_drv_in_flight(&b->q[qi].q))
			b->notify(b->t, qi);
	k_info("%s: back up after its reset (recovery %" PRIu64 "), %" PRIu64
	       " request(s) submitted again",
	       b->name, b->st.recoveries, b->st.resubmitted - again);
	return 1;
}

int k_vblk_timeout_poll(void *ctx)
{
	struct k_virtio_blk *b = ctx;
	uint64_t now;
	int n = 0;

	if (!b->now_ns)
		return 0;
	now = b->now_ns();
	if (b->broken)
		return try_restart(b, now);
	for (unsigned qi = 0; qi < b->nq; qi++)
		for (unsigned i = 0; i < K_VBLK_REQS; i++) {
			struct k_vblk_req *r = &b->q[qi].req[i];

			if (!r->busy || r->orphan || now - r->t_submit < b->timeout_ns)
				continue;
			/* The first one resets the device, before its owner
			 * hears: the descriptors stay reserved, as the disk is
			 * never used again and its reset dropped them. */
			stop_disk(b, "a request timed out", true);
			n++;
			b->st.timeouts++;
			b->st.errors++;
			r->orphan = true;
			if (r->done)
				r->done(r->owner, r->cookie, -ETIMEDOUT);
		}
	if (n)
		k_vblk_break(b, "a request timed out"); /* the others owed an answer */
	return n;
}

unsigned k_vblk_in_flight(const struct k_virtio_blk *b, const void *owner)
{
	unsigned n = 0;

	for (unsigned qi = 0; qi < b->nq; qi++)
		for (unsigned i = 0; i < K_VBLK_REQS; i++) {
			const struct k_vblk_req *r = &b->q[qi].req[i];

			n += r->busy && !r->orphan && (!owner || r->owner == owner);
		}
	return n;
}

int k_vblk_idle_prepare(struct k_virtio_blk *b)
{
	bool more = false;

	if (b->broken)
		return 0;
	for (uint16_t qi = 0; qi < b->nq; qi++) {
		if (!virtq_drv_in_flight(&b->q[qi].q))
			continue;
		b->armed = true;
		more |= virtq_drv_enable_notify(&b->q[qi].q);
	}
	return more ? 1 : 0;
}

void k_vblk_awake(struct k_virtio_blk *b)
{
	for (uint16_t qi = 0; qi < b->nq; qi++)
		virtq_drv_disable_notify(&b->q[qi].q);
	b->armed = false;
}

int k_vblk_stat(const struct k_virtio_blk *b, unsigned i, char (*keys)[K_VBLK_KEY],
		const char **key, uint64_t *val)
{
	static const char *const names[] = {
		"requests",	  "read_bytes", "write_bytes", "inflight",
		"errors",	  "timeouts",	"lat_avg_us",  "lat_max_us",
		"capacity_bytes", "ok",		"recoveries",  "resubmitted",
	};
	uint64_t vals[K_VBLK_NSTATS];

	_Static_assert(sizeof(names) / sizeof(names[0]) == K_VBLK_NSTATS, "a value per key");
	if (i >= K_VBLK_NSTATS)
		return -ENOENT;
	vals[0] = b->st.requests;
	vals[1] = b->st.read_bytes;
	vals[2] = b->st.write_bytes;
	vals[3] = k_vblk_in_flight(b, NULL);
	vals[4] = b->st.errors;
	vals[5] = b->st.timeouts;
	vals[6] = b->st.done ? b->st.lat_total_ns / b->st.done / 1000 : 0;
	vals[7] = b->st.lat_max_ns / 1000;
	vals[8] = b->g.capacity * K_VBLK_SECTOR;
	vals[9] = !b->broken;
	vals[10] = b->st.recoveries;
	vals[11] = b->st.resubmitted;
	snprintf(keys[i], K_VBLK_KEY, "%s_%s", b->name, names[i]);
	*key = keys[i];
	*val = vals[i];
	return 0;
}
