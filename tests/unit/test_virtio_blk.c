/* test_virtio_blk.c - the service VM's virtio-blk driver (the portable core,
 * kernel/src/virtio_blk_core.c) against a scripted device that reads the
 * rings the driver publishes and answers whatever it is told, including
 * garbage; and the blk sessions' storage on it (apps/uvhost-vm/
 * vdisk_storage.c, compiled in as is). Every refusal of what a hostile
 * device publishes, and of what a request may not ask, goes through the
 * real code. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "dev/blk.h"
#include "kern/log.h"
#include "kern/virtio_blk.h"
#include "virtio/ring_layout.h"

#include "../../apps/uvhost-vm/vdisk_bounce.c"
#include "../../apps/uvhost-vm/vdisk_storage.c"

static uint64_t fake_now, fake_step; /* the clock moves fake_step a read */
static uint64_t now(void)
{
	fake_now += fake_step;
	return fake_now;
}

static unsigned notified;
static void notify(void *t, uint16_t q)
{
	(void)t;
	(void)q;
	notified++;
}

/* Config space: capacity, size_max, seg_max, geometry, blk_size, topology,
 * writeback, num_queues (at 34), discard and write-zeroes limits. */
struct cfg {
	uint8_t b[60];
};

static void put(uint8_t *p, uint64_t v, unsigned n)
{
	for (unsigned i = 0; i < n; i++)
		p[i] = (uint8_t)(v >> (8 * i));
}

static struct cfg make_cfg(uint64_t capacity, uint32_t seg_max, uint32_t blk_size, uint16_t nq)
{
	struct cfg c;

	memset(&c, 0, sizeof(c));
	put(c.b + 0, capacity, 8);
	put(c.b + 12, seg_max, 4);
	put(c.b + 20, blk_size, 4);
	put(c.b + 34, nq, 2);
	put(c.b + 36, 1024, 4); /* max_discard_sectors */
	put(c.b + 52, 1024, 4); /* max_write_zeroes_sectors */
	return c;
}

#define F(bit) (1ull << (bit))
#define ALL_F                                                                                      \
	(F(VIRTIO_BLK_F_SEG_MAX) | F(VIRTIO_BLK_F_BLK_SIZE) | F(VIRTIO_BLK_F_FLUSH) |              \
	 F(VIRTIO_BLK_F_DISCARD) | F(VIRTIO_BLK_F_WRITE_ZEROES))

static struct k_virtio_blk disk;

static void up(struct k_virtio_blk *b, uint64_t features, uint64_t capacity, uint16_t qsize)
{
	struct cfg c = make_cfg(capacity, 64, 512, 1);
	struct k_vblk_geometry g;

	memset(b, 0, sizeof(*b));
	assert_int_equal(k_vblk_geometry(&g, c.b, sizeof(c.b), features, 1), 0);
	k_vblk_init(b, 0, features, &g, now);
	b->notify = notify;
	assert_int_equal(k_vblk_queue_init(b, 0, qsize), 0);
}

/* The device side: one chain taken from the avail ring. */
struct taken {
	uint16_t head, n;
	struct vring_desc d[K_VBLK_QSIZE];
};

static uint16_t dev_avail_seen;

static bool dev_take(struct k_virtio_blk *b, struct taken *t)
{
	struct virtq_drv *q = &b->q[0].q;
	uint16_t i;

	if (q->avail->idx == dev_avail_seen)
		return false;
	t->head = q->avail->ring[dev_avail_seen++ % q->size];
	t->n = 0;
	for (i = t->head;; i = q->desc[i].next) {
		t->d[t->n++] = q->desc[i];
		if (!(q->desc[i].flags & VRING_DESC_F_NEXT))
			break;
	}
	return true;
}

static void dev_used(struct k_virtio_blk *b, uint32_t id, uint32_t len)
{
	struct virtq_drv *q = &b->q[0].q;

	q->used->ring[q->used->idx % q->size] = (struct vring_used_elem){id, len};
	q->used->idx++;
}

/* Answer a taken chain: status byte, then the used element. */
static void dev_answer(struct k_virtio_blk *b, const struct taken *t, uint8_t status, uint32_t len)
{
	*(uint8_t *)(uintptr_t)t->d[t->n - 1].addr = status;
	dev_used(b, t->head, len);
}

struct done_log {
	unsigned n;
	uint64_t cookie[16];
	int result[16];
};

static void on_done(void *owner, uint64_t cookie, int result)
{
	struct done_log *l = owner;

	if (l->n < 16) {
		l->cookie[l->n] = cookie;
		l->result[l->n] = result;
	}
	l->n++;
}

static int submit_rw(struct k_virtio_blk *b, enum k_vblk_kind kind, uint64_t off, void *buf,
		     uint32_t len, struct done_log *l, uint64_t cookie)
{
	struct k_vblk_seg s = {(uint64_t)(uintptr_t)buf, len};
	struct k_vblk_io io = {.kind = kind, .off = off, .len = len, .seg = &s, .nseg = 1};

	return k_vblk_submit(b, 0, &io, on_done, l, cookie);
}

/* The transport's reset: when it came, and how many answers had been
 * given by then (there must be none: an owner told of a failure may reuse
 * its buffer at once, so the device must be stopped first). */
static unsigned stopped;
static const struct done_log *stop_watch;
static unsigned answers_before_stop;
static void fake_stop(void *t)
{
	(void)t;
	stopped++;
	answers_before_stop = stop_watch ? stop_watch->n : 0;
}

static void reset_device(void)
{
	stopped = 0;
	stop_watch = NULL;
	answers_before_stop = 0;
	dev_avail_seen = 0;
	notified = 0;
	fake_now = 1000;
	fake_step = 0;
}

static void geometry_checks(void **state)
{
	struct k_vblk_geometry g;
	struct cfg c;
	(void)state;

	c = make_cfg(2048, 100, 4096, 2);
	assert_int_equal(k_vblk_geometry(&g, c.b, 60, ALL_F | F(VIRTIO_BLK_F_MQ), 8), 0);
	assert_int_equal(g.capacity, 2048);
	assert_int_equal(g.blk_size, 4096);
	assert_int_equal(g.seg_max, 100);
	assert_int_equal(g.num_queues, 2);
	assert_int_equal(g.max_discard_sectors, 1024);
	/* Without SEG_MAX the ring bounds it; MQ capped at what we drive. */
	c = make_cfg(1, 0, 0, 9);
	assert_int_equal(k_vblk_geometry(&g, c.b, 60, F(VIRTIO_BLK_F_MQ), 9), 0);
	assert_int_equal(g.seg_max, K_VBLK_QSIZE - 2);
	assert_int_equal(g.blk_size, 512);
	assert_int_equal(g.num_queues, K_VBLK_MAX_QUEUES);
	/* Refused: no capacity, one that overflows bytes, bad block sizes,
	 * seg_max 0, num_queues 0 or above the device's, tiny size_max, a
	 * config space too short. */
	c = make_cfg(0, 1, 512, 1);
	assert_int_equal(k_vblk_geometry(&g, c.b, 60, ALL_F, 1), -EINVAL);
	c = make_cfg(UINT64_MAX / 512 + 1, 1, 512, 1);
	assert_int_equal(k_vblk_geometry(&g, c.b, 60, ALL_F, 1), -EINVAL);
	c = make_cfg(UINT64_MAX, 1, 512, 1);
	assert_int_equal(k_vblk_geometry(&g, c.b, 60, ALL_F, 1), -EINVAL);
	c = make_cfg(UINT64_MAX / 512, 1, 512, 1);
	assert_int_equal(k_vblk_geometry(&g, c.b, 60, ALL_F, 1), 0);
	for (unsigned k = 0; k < 4; k++) {
		static const uint32_t bad[] = {0, 256, 3000, 131072};

		c = make_cfg(8, 1, bad[k], 1);
		assert_int_equal(k_vblk_geometry(&g, c.b, 60, ALL_F, 1), -EINVAL);
	}
	c = make_cfg(8, 0, 512, 1);
	assert_int_equal(k_vblk_geometry(&g, c.b, 60, ALL_F, 1), -EINVAL);
	c = make_cfg(8, 1, 512, 0);
	assert_int_equal(k_vblk_geometry(&g, c.b, 60, F(VIRTIO_BLK_F_MQ), 4), -EINVAL);
	c = make_cfg(8, 1, 512, 5);
	assert_int_equal(k_vblk_geometry(&g, c.b, 60, F(VIRTIO_BLK_F_MQ), 4), -EINVAL);
	c = make_cfg(8, 1, 512, 2);
	assert_int_equal(k_vblk_geometry(&g, c.b, 34, F(VIRTIO_BLK_F_MQ), 4), -EINVAL);
	put(c.b + 8, 512, 4);
	assert_int_equal(k_vblk_geometry(&g, c.b, 60, F(VIRTIO_BLK_F_SIZE_MAX), 1), -EINVAL);
	assert_int_equal(k_vblk_geometry(&g, c.b, 23, 0, 1), -EINVAL);
}

static void read_in_place(void **state)
{
	static uint8_t buf[8192];
	struct done_log l = {0};
	struct taken t;
	(void)state;

	reset_device();
	up(&disk, ALL_F, 64, 16);
	assert_int_equal(submit_rw(&disk, K_VBLK_READ, 4096, buf, sizeof(buf), &l, 7), 0);
	assert_int_equal(notified, 1);
	assert_true(dev_take(&disk, &t));
	/* Header (readable, type IN, sector 8), the caller's buffer itself
	 * (writable: no copy), status (writable, 1 byte). */
	assert_int_equal(t.n, 3);
	assert_int_equal(t.d[0].flags & VRING_DESC_F_WRITE, 0);
	assert_int_equal(t.d[0].len, 16);
	assert_int_equal(((uint32_t *)(uintptr_t)t.d[0].addr)[0], 0);
	assert_int_equal(((uint64_t *)(uintptr_t)t.d[0].addr)[1], 8);
	assert_int_equal(t.d[1].addr, (uint64_t)(uintptr_t)buf);
	assert_int_equal(t.d[1].len, sizeof(buf));
	assert_true(t.d[1].flags & VRING_DESC_F_WRITE);
	assert_int_equal(t.d[2].len, 1);
	assert_true(t.d[2].flags & VRING_DESC_F_WRITE);
	assert_int_equal(k_vblk_in_flight(&disk, &l), 1);
	fake_now += 250000;
	dev_answer(&disk, &t, 0, sizeof(buf) + 1);
	assert_int_equal(k_vblk_poll(&disk), 1);
	assert_int_equal(l.n, 1);
	assert_int_equal(l.cookie[0], 7);
	assert_int_equal(l.result[0], 0);
	assert_int_equal(disk.st.read_bytes, sizeof(buf));
	assert_int_equal(disk.st.lat_max_ns, 250000);
	assert_int_equal(k_vblk_in_flight(&disk, NULL), 0);
	/* A write: the data descriptor is readable by the device. */
	assert_int_equal(submit_rw(&disk, K_VBLK_WRITE, 0, buf, 512, &l, 8), 0);
	assert_true(dev_take(&disk, &t));
	assert_int_equal(((uint32_t *)(uintptr_t)t.d[0].addr)[0], 1);
	assert_int_equal(t.d[1].flags & VRING_DESC_F_WRITE, 0);
	dev_answer(&disk, &t, 0, 1);
	assert_int_equal(k_vblk_poll(&disk), 1);
	assert_int_equal(l.result[1], 0);
	assert_int_equal(disk.st.write_bytes, 512);
	assert_false(disk.broken);
}

static void requests_refused(void **state)
{
	static uint8_t buf[65536];
	struct k_vblk_seg segs[70];
	struct k_vblk_io io = {.kind = K_VBLK_READ};
	struct done_log l = {0};
	(void)state;

	reset_device();
	up(&disk, ALL_F, 64, 16); /* 32 KiB, seg_max 64 */
	/* Past capacity, straddling it, offset + length overflowing, unaligned,
	 * zero length. */
	assert_int_equal(submit_rw(&disk, K_VBLK_READ, 32768, buf, 512, &l, 1), -EINVAL);
	assert_int_equal(submit_rw(&disk, K_VBLK_READ, 32256, buf, 1024, &l, 1), -EINVAL);
	assert_int_equal(submit_rw(&disk, K_VBLK_READ, UINT64_MAX - 511, buf, 1024, &l, 1),
			 -EINVAL);
	assert_int_equal(submit_rw(&disk, K_VBLK_READ, 100, buf, 512, &l, 1), -EINVAL);
	assert_int_equal(submit_rw(&disk, K_VBLK_READ, 0, buf, 100, &l, 1), -EINVAL);
	assert_int_equal(submit_rw(&disk, K_VBLK_READ, 0, buf, 0, &l, 1), -EINVAL);
	/* The segments must add up to the length. */
	segs[0] = (struct k_vblk_seg){(uintptr_t)buf, 512};
	io = (struct k_vblk_io){.kind = K_VBLK_READ, .off = 0, .len = 1024, .seg = segs, .nseg = 1};
	assert_int_equal(k_vblk_submit(&disk, 0, &io, on_done, &l, 1), -EINVAL);
	/* More segments than seg_max (64, cut to what a 16-entry ring holds
	 * besides header and status: 14) are refused, never left to wait. */
	assert_int_equal(disk.g.seg_max, 14);
	for (unsigned i = 0; i < 70; i++)
		segs[i] = (struct k_vblk_seg){(uintptr_t)buf + 1024 * i, 512};
	io = (struct k_vblk_io){.kind = K_VBLK_READ, .len = 65 * 512, .seg = segs, .nseg = 65};
	assert_int_equal(k_vblk_submit(&disk, 0, &io, on_done, &l, 1), -EINVAL);
	io.nseg = 15;
	io.len = 15 * 512;
	assert_int_equal(k_vblk_submit(&disk, 0, &io, on_done, &l, 1), -EINVAL);
	/* 14 take the whole ring: it fits, and later requests wait. */
	io.nseg = 14;
	io.len = 14 * 512;
	assert_int_equal(k_vblk_submit(&disk, 0, &io, on_done, &l, 1), 0);
	assert_int_equal(submit_rw(&disk, K_VBLK_READ, 0, buf, 512, &l, 2), -EAGAIN);
	assert_int_equal(l.n, 0);

	/* A read-only disk refuses writes, discards and write-zeroes; a disk
	 * without FLUSH/DISCARD/WRITE_ZEROES refuses those. */
	reset_device();
	up(&disk, F(VIRTIO_BLK_F_RO) | F(VIRTIO_BLK_F_DISCARD), 64, 16);
	assert_true(disk.read_only);
	assert_int_equal(submit_rw(&disk, K_VBLK_WRITE, 0, buf, 512, &l, 1), -EROFS);
	io = (struct k_vblk_io){.kind = K_VBLK_DISCARD, .off = 0, .len = 512};
	assert_int_equal(k_vblk_submit(&disk, 0, &io, on_done, &l, 1), -EROFS);
	io.kind = K_VBLK_FLUSH;
	assert_int_equal(k_vblk_submit(&disk, 0, &io, on_done, &l, 1), -EOPNOTSUPP);
	reset_device();
	up(&disk, 0, 64, 16);
	io = (struct k_vblk_io){.kind = K_VBLK_WRITE_ZEROES, .off = 0, .len = 512};
	assert_int_equal(k_vblk_submit(&disk, 0, &io, on_done, &l, 1), -EOPNOTSUPP);
	io.kind = K_VBLK_DISCARD;
	assert_int_equal(k_vblk_submit(&disk, 0, &io, on_done, &l, 1), -EOPNOTSUPP);
	/* Beyond the disk's own discard limit (1024 sectors). */
	reset_device();
	up(&disk, ALL_F, 4096, 16);
	io = (struct k_vblk_io){.kind = K_VBLK_DISCARD, .off = 0, .len = 1025 * 512};
	assert_int_equal(k_vblk_submit(&disk, 0, &io, on_done, &l, 1), -EINVAL);
	io.len = 1024 * 512;
	assert_int_equal(k_vblk_submit(&disk, 0, &io, on_done, &l, 1), 0);
	assert_int_equal(l.n, 0);
	assert_int_equal(notified, 1);
}

static void size_max_cuts_segments(void **state)
{
	static uint8_t buf[12288];
	struct done_log l = {0};
	struct k_vblk_geometry g;
	struct cfg c = make_cfg(64, 64, 512, 1);
	struct taken t;
	(void)state;

	reset_device();
	memset(&disk, 0, sizeof(disk));
	put(c.b + 8, 4096, 4);
	assert_int_equal(k_vblk_geometry(&g, c.b, 60, ALL_F | F(VIRTIO_BLK_F_SIZE_MAX), 1), 0);
	k_vblk_init(&disk, 0, ALL_F | F(VIRTIO_BLK_F_SIZE_MAX), &g, now);
	disk.notify = notify;
	assert_int_equal(k_vblk_queue_init(&disk, 0, 16), 0);
	assert_int_equal(submit_rw(&disk, K_VBLK_WRITE, 0, buf, sizeof(buf), &l, 1), 0);
	assert_true(dev_take(&disk, &t));
	assert_int_equal(t.n, 5);
	for (unsigned i = 1; i <= 3; i++) {
		assert_int_equal(t.d[i].len, 4096);
		assert_int_equal(t.d[i].addr, (uint64_t)(uintptr_t)buf + 4096 * (i - 1));
	}
}

/* The device answers with status values and lengths it may not use. */
static void bad_answers(void **state)
{
	static uint8_t buf[1024];
	struct done_log l = {0};
	struct taken t;
	(void)state;

	reset_device();
	up(&disk, ALL_F, 64, 16);
	/* UNSUPP, IOERR, a status byte never written, an unknown status. */
	static const struct {
		uint8_t status;
		int want;
	} st[] = {{2, -EOPNOTSUPP}, {1, -EIO}, {0xff, -EIO}, {7, -EIO}};
	for (unsigned i = 0; i < 4; i++) {
		assert_int_equal(submit_rw(&disk, K_VBLK_READ, 0, buf, 512, &l, i), 0);
		assert_true(dev_take(&disk, &t));
		if (st[i].status == 0xff)
			dev_used(&disk, t.head, 513);
		else
			dev_answer(&disk, &t, st[i].status, 513);
		assert_int_equal(k_vblk_poll(&disk), 1);
		assert_int_equal(l.result[i], st[i].want);
	}
	/* A read whose used length does not cover data and status: no answer
	 * to trust, the request fails; the disk goes on. */
	assert_int_equal(submit_rw(&disk, K_VBLK_READ, 0, buf, 1024, &l, 4), 0);
	assert_true(dev_take(&disk, &t));
	dev_answer(&disk, &t, 0, 513);
	assert_int_equal(k_vblk_poll(&disk), 1);
	assert_int_equal(l.result[4], -EIO);
	assert_int_equal(submit_rw(&disk, K_VBLK_WRITE, 0, buf, 512, &l, 5), 0);
	assert_true(dev_take(&disk, &t));
	dev_answer(&disk, &t, 0, 0); /* no status byte */
	assert_int_equal(k_vblk_poll(&disk), 1);
	assert_int_equal(l.result[5], -EIO);
	assert_false(disk.broken);
	assert_int_equal(disk.st.errors, 6);
	assert_int_equal(disk.st.read_bytes, 0);
}

/* A used id out of range, one not in flight, or a length past the chain's
 * writable bytes: the disk breaks, every request owed an answer fails, and
 * nothing is sent to it again. */
static void hostile_used_ring(void **state)
{
	static uint8_t buf[1024];
	static const struct {
		uint32_t id_delta, len;
		bool id_abs;
	} cases[] = {{0, 1 << 20, false}, {1000, 513, true}, {5, 513, true}};
	(void)state;

	for (unsigned c = 0; c < 3; c++) {
		struct done_log l = {0};
		struct taken t;

		reset_device();
		up(&disk, ALL_F, 64, 16);
		disk.stop = fake_stop;
		stop_watch = &l;
		assert_int_equal(submit_rw(&disk, K_VBLK_READ, 0, buf, 512, &l, 1), 0);
		assert_int_equal(submit_rw(&disk, K_VBLK_READ, 512, buf + 512, 512, &l, 2), 0);
		assert_true(dev_take(&disk, &t));
		dev_used(&disk, cases[c].id_abs ? cases[c].id_delta : t.head, cases[c].len);
		(void)k_vblk_poll(&disk);
		assert_true(disk.broken);
		assert_int_equal(stopped, 1); /* reset before the failures were told */
		assert_int_equal(answers_before_stop, 0);
		assert_int_equal(disk.st.ring_errors, 1);
		assert_int_equal(l.n, 2);
		assert_int_equal(l.result[0], -EIO);
		assert_int_equal(l.result[1], -EIO);
		assert_int_equal(submit_rw(&disk, K_VBLK_READ, 0, buf, 512, &l, 3), -EIO);
		assert_int_equal(stopped, 1); /* once */
		/* Never read again: the garbage is not counted twice. */
		assert_int_equal(k_vblk_poll(&disk), 0);
		assert_int_equal(disk.st.ring_errors, 1);
		/* Its idle step never waits for it. */
		assert_int_equal(k_vblk_idle_prepare(&disk), 0);
		{
			static char keys[K_VBLK_NSTATS][K_VBLK_KEY];
			const char *key;
			uint64_t ok;

			assert_int_equal(k_vblk_stat(&disk, 9, keys, &key, &ok), 0);
			assert_string_equal(key, "vd0_ok");
			assert_int_equal(ok, 0);
		}
	}
}

static void timeout_breaks_the_disk(void **state)
{
	static uint8_t buf[512];
	struct done_log l = {0};
	struct taken t;
	(void)state;

	reset_device();
	up(&disk, ALL_F, 64, 16);
	disk.stop = fake_stop;
	stop_watch = &l;
	disk.timeout_ns = 1000000;
	assert_int_equal(submit_rw(&disk, K_VBLK_READ, 0, buf, 512, &l, 1), 0);
	assert_true(dev_take(&disk, &t));
	fake_now += 500000;
	assert_int_equal(submit_rw(&disk, K_VBLK_READ, 512, buf, 512, &l, 2), 0);
	fake_now += 499999;
	assert_int_equal(k_vblk_timeout_poll(&disk), 0);
	assert_int_equal(l.n, 0);
	assert_int_equal(stopped, 0);
	fake_now += 1;
	assert_int_equal(k_vblk_timeout_poll(&disk), 1);
	/* The device is reset before anyone hears: the late request
	 * fails too (-EIO), as the reset dropped it. */
	assert_int_equal(stopped, 1);
	assert_int_equal(answers_before_stop, 0);
	assert_int_equal(l.n, 2);
	assert_int_equal(l.cookie[0], 1);
	assert_int_equal(l.result[0], -ETIMEDOUT);
	assert_int_equal(l.cookie[1], 2);
	assert_int_equal(l.result[1], -EIO);
	assert_true(disk.broken);
	assert_int_equal(disk.st.timeouts, 1);
	/* The late answer is not given twice; new requests fail at once. */
	dev_answer(&disk, &t, 0, 513);
	(void)k_vblk_poll(&disk);
	assert_int_equal(l.n, 2);
	assert_int_equal(submit_rw(&disk, K_VBLK_READ, 0, buf, 512, &l, 3), -EIO);
	assert_int_equal(k_vblk_timeout_poll(&disk), 0);
	assert_int_equal(stopped, 1);
}

/* The transport's restart: lays the queue out afresh, as
 * kernel/hw/virtio_blk.c does after its reset, or fails when told to. */
static unsigned restarts;
static int restart_fails;
static uint16_t restart_qsize; /* 0: the size it had */
static int fake_restart(struct k_virtio_blk *b)
{
	restarts++;
	if (restart_fails)
		return restart_fails;
	dev_avail_seen = 0;
	return k_vblk_queue_init(b, 0, restart_qsize ? restart_qsize : b->q[0].q.size);
}

/* A fresh disk of `capacity` sectors with the fake reset and restart. */
static void restartable_disk(uint64_t capacity)
{
	reset_device();
	restarts = 0;
	restart_fails = 0;
	restart_qsize = 0;
	up(&disk, ALL_F, capacity, 16);
	disk.stop = fake_stop;
	disk.restart = fake_restart;
}

#define MS 1000000ull

static void broken_disk_comes_back(void **state)
{
	static uint8_t buf[512];
	struct done_log l = {0};
	struct taken t;
	(void)state;

	reset_device();
	restarts = 0;
	restart_fails = 0;
	up(&disk, ALL_F, 64, 16);
	disk.stop = fake_stop;
	disk.restart = fake_restart;
	disk.timeout_ns = 100 * MS;
	/* A timeout breaks it; nothing is tried before a second has passed. */
	assert_int_equal(submit_rw(&disk, K_VBLK_READ, 0, buf, 512, &l, 1), 0);
	fake_now += 100 * MS;
	assert_int_equal(k_vblk_timeout_poll(&disk), 1);
	assert_true(disk.broken);
	fake_now += K_VBLK_RETRY_NS - 1;
	assert_int_equal(k_vblk_timeout_poll(&disk), 0);
	assert_int_equal(restarts, 0);
	assert_int_equal(submit_rw(&disk, K_VBLK_READ, 0, buf, 512, &l, 2), -EIO);
	/* Then it is back: fresh rings, a request served end to end. */
	fake_now += 1;
	assert_int_equal(k_vblk_timeout_poll(&disk), 1);
	assert_int_equal(restarts, 1);
	assert_false(disk.broken);
	assert_int_equal(disk.st.recoveries, 1);
	assert_int_equal(k_vblk_in_flight(&disk, NULL), 0);
	memset(buf, 0, sizeof(buf));
	assert_int_equal(submit_rw(&disk, K_VBLK_READ, 512, buf, 512, &l, 3), 0);
	assert_true(dev_take(&disk, &t));
	assert_int_equal(t.head, 0); /* the new ring's first chain */
	memset((void *)(uintptr_t)t.d[1].addr, 0x5a, 512);
	dev_answer(&disk, &t, 0, 513);
	assert_int_equal(k_vblk_poll(&disk), 1);
	assert_int_equal(l.n, 2); /* 1 timed out, 2 was refused at once */
	assert_int_equal(l.cookie[1], 3);
	assert_int_equal(l.result[1], 0);
	assert_int_equal(buf[511], 0x5a);
	/* Broken again within a minute: two seconds; a failed restart
	 * doubles that and leaves it down. */
	fake_now += 30000 * MS;
	k_vblk_break(&disk, "test");
	assert_int_equal(stopped, 2);
	fake_now += 2 * K_VBLK_RETRY_NS - 1;
	assert_int_equal(k_vblk_timeout_poll(&disk), 0);
	restart_fails = -EIO;
	fake_now += 1;
	assert_int_equal(k_vblk_timeout_poll(&disk), 0);
	assert_int_equal(restarts, 2);
	assert_true(disk.broken);
	restart_fails = 0;
	fake_now += 4 * K_VBLK_RETRY_NS - 1;
	assert_int_equal(k_vblk_timeout_poll(&disk), 0);
	assert_int_equal(restarts, 2);
	fake_now += 1;
	assert_int_equal(k_vblk_timeout_poll(&disk), 1);
	assert_int_equal(disk.st.recoveries, 2);
	/* Up for longer than K_VBLK_RETRY_MAX_NS: the next break waits one
	 * second again. */
	fake_now += K_VBLK_RETRY_MAX_NS;
	k_vblk_break(&disk, "test");
	fake_now += K_VBLK_RETRY_NS;
	assert_int_equal(k_vblk_timeout_poll(&disk), 1);
	assert_int_equal(restarts, 4);
}

static void backoff_stops_at_a_minute(void **state)
{
	(void)state;

	reset_device();
	restarts = 0;
	restart_fails = -EIO;
	up(&disk, ALL_F, 64, 16);
	disk.restart = fake_restart;
	k_vblk_break(&disk, "test");
	for (unsigned i = 0; i < 12; i++) {
		fake_now += disk.retry_ns;
		assert_int_equal(k_vblk_timeout_poll(&disk), 0);
	}
	assert_int_equal(restarts, 12);
	assert_int_equal(disk.retry_ns, K_VBLK_RETRY_MAX_NS);
	restart_fails = 0;
}

static void restart_must_find_the_same_disk(void **state)
{
	struct cfg c = make_cfg(64, 64, 512, 1);
	struct k_vblk_geometry g;
	(void)state;

	reset_device();
	up(&disk, ALL_F, 64, 16);
	assert_int_equal(k_vblk_geometry(&g, c.b, sizeof(c.b), ALL_F, 1), 0);
	assert_int_equal(k_vblk_same_disk(&disk, ALL_F, &g), 0);
	/* Fewer features (a FLUSH the front-ends were offered), another
	 * capacity, block size or queue count: refused. */
	assert_int_equal(k_vblk_same_disk(&disk, ALL_F & ~F(VIRTIO_BLK_F_FLUSH), &g), -ENODEV);
	assert_int_equal(k_vblk_same_disk(&disk, ALL_F | F(VIRTIO_BLK_F_RO), &g), -ENODEV);
	g.capacity = 65;
	assert_int_equal(k_vblk_same_disk(&disk, ALL_F, &g), -ENODEV);
	g.capacity = 64;
	g.blk_size = 4096;
	assert_int_equal(k_vblk_same_disk(&disk, ALL_F, &g), -ENODEV);
	g.blk_size = 512;
	g.num_queues = 2;
	assert_int_equal(k_vblk_same_disk(&disk, ALL_F, &g), -ENODEV);
}

static void stats_names(void **state)
{
	static char keys[K_VBLK_NSTATS][K_VBLK_KEY];
	static const char *const want[K_VBLK_NSTATS] = {
		"vd0_requests",	      "vd0_read_bytes", "vd0_write_bytes", "vd0_inflight",
		"vd0_errors",	      "vd0_timeouts",	"vd0_lat_avg_us",  "vd0_lat_max_us",
		"vd0_capacity_bytes", "vd0_ok",		"vd0_recoveries",  "vd0_resubmitted",
	};
	const char *key;
	uint64_t val;
	(void)state;

	reset_device();
	up(&disk, ALL_F, 64, 16);
	for (unsigned i = 0; i < K_VBLK_NSTATS; i++) {
		assert_int_equal(k_vblk_stat(&disk, i, keys, &key, &val), 0);
		assert_string_equal(key, want[i]);
	}
	assert_int_equal(k_vblk_stat(&disk, 8, keys, &key, &val), 0);
	assert_int_equal(val, 64 * 512);
	assert_int_equal(k_vblk_stat(&disk, K_VBLK_NSTATS, keys, &key, &val), -ENOENT);
}

/* --- the blk sessions' storage on the disk (vdisk_storage.c) --- */

static struct uvm_vdisk_store store;

struct blk_done {
	unsigned n;
	uint64_t cookie[8];
	int result[8];
};

static void blk_done(void *arg, uint64_t cookie, int result)
{
	struct blk_done *d = arg;

	if (d->n < 8) {
		d->cookie[d->n] = cookie;
		d->result[d->n] = result;
	}
	d->n++;
}

static void storage_passes_through(void **state)
{
	static uint8_t a[4096], b2[4096];
	struct vu_iov iov[3] = {{a, 1024}, {a + 1024, 1024}, {b2, 2048}};
	struct dev_storage_op op = {.kind = DEV_STORAGE_READ,
				    .queue = 1,
				    .cookie = 0xabc,
				    .off = 512,
				    .iov = iov,
				    .n_iov = 3};
	struct blk_done d = {0};
	struct taken t;
	(void)state;

	reset_device();
	up(&disk, ALL_F, 64, 16);
	uvm_vdisk_store_init(&store, &disk, 2, now, NULL);
	assert_int_equal(store.s.size, 64 * 512);
	assert_false(store.s.read_only);
	assert_false(store.s.no_flush);
	assert_int_equal(store.s.seg_max, 14); /* the disk's 64, cut to the ring */
	assert_int_equal(store.a.submit(store.s.ctx, &op), 0);
	/* The two touching buffers became one segment; no copy anywhere. */
	assert_true(dev_take(&disk, &t));
	assert_int_equal(t.n, 4);
	assert_int_equal(t.d[1].addr, (uint64_t)(uintptr_t)a);
	assert_int_equal(t.d[1].len, 2048);
	assert_int_equal(t.d[2].addr, (uint64_t)(uintptr_t)b2);
	/* Nothing before the disk answers; then through reap() of its queue. */
	assert_int_equal(store.a.reap(store.s.ctx, 1, 8, blk_done, &d), 0);
	dev_answer(&disk, &t, 0, 4097);
	assert_int_equal(k_vblk_poll(&disk), 1);
	assert_int_equal(store.a.reap(store.s.ctx, 0, 8, blk_done, &d), 0);
	assert_int_equal(store.a.reap(store.s.ctx, 1, 8, blk_done, &d), 1);
	assert_int_equal(d.cookie[0], 0xabc);
	assert_int_equal(d.result[0], 0);
	/* A queue past the session's, and a kind nobody knows, are refused. */
	op.queue = 2;
	assert_int_equal(store.a.submit(store.s.ctx, &op), -EINVAL);
	op.queue = 0;
	op.kind = (enum dev_storage_kind)9;
	assert_int_equal(store.a.submit(store.s.ctx, &op), -EINVAL);
}

static void storage_write_through_flush(void **state)
{
	struct dev_storage_op op = {.kind = DEV_STORAGE_FLUSH, .cookie = 5};
	struct blk_done d = {0};
	struct taken t;
	struct dev_blk blk;
	(void)state;

	reset_device();
	up(&disk, F(VIRTIO_BLK_F_RO), 64, 16);
	uvm_vdisk_store_init(&store, &disk, 1, now, NULL);
	assert_true(store.s.no_flush && store.s.no_discard && store.s.no_write_zeroes);
	assert_true(store.s.read_only);
	/* The front-end is offered neither FLUSH, DISCARD nor WRITE_ZEROES,
	 * and sees RO. */
	{
		static struct dev_blk_async area;

		assert_int_equal(dev_blk_init_async(&blk, &store.s, 1, "t", &area), 0);
		assert_int_equal(blk.dev.features & (F(9) | F(13) | F(14)), 0);
		assert_true(blk.dev.features & F(5));
	}
	/* A FLUSH is answered at once, through reap, with nothing on the
	 * disk. */
	assert_int_equal(store.a.submit(store.s.ctx, &op), 0);
	assert_false(dev_take(&disk, &t));
	assert_int_equal(store.a.reap(store.s.ctx, 0, 8, blk_done, &d), 1);
	assert_int_equal(d.result[0], 0);
	assert_int_equal(d.cookie[0], 5);
}

/* A ring reset (cancel) or a memory-table change (drain) that the disk
 * will not let finish resets the disk: nothing of the session's is left
 * on it to land late. The session's requests fail; another owner's are
 * parked and submitted again, unchanged, when the disk is back at the next
 * deadline poll; new requests wait (-EAGAIN) meanwhile. */
static void storage_cancel_resets_a_silent_disk(void **state)
{
	static uint8_t a[512], other_buf[512], other_out[1024];
	struct vu_iov iov = {a, 512};
	struct dev_storage_op op = {
		.kind = DEV_STORAGE_READ, .cookie = 1, .off = 0, .iov = &iov, .n_iov = 1};
	struct blk_done d = {0};
	struct done_log other = {0};
	struct taken t;
	(void)state;

	restartable_disk(64);
	uvm_vdisk_store_init(&store, &disk, 1, now, NULL);
	assert_int_equal(store.a.submit(store.s.ctx, &op), 0);
	assert_int_equal(submit_rw(&disk, K_VBLK_READ, 512, other_buf, 512, &other, 9), 0);
	assert_int_equal(submit_rw(&disk, K_VBLK_WRITE, 1024, other_out, 1024, &other, 10), 0);
	/* The disk never answers: drain gives up after UVM_VDISK_WAIT_NS of
	 * the clock (1 ms a read here), resets it and fails the session's;
	 * the other owner hears nothing yet. */
	stop_watch = &other;
	fake_step = 1000000;
	store.a.drain(store.s.ctx, blk_done, &d);
	fake_step = 0;
	assert_int_equal(stopped, 1);
	assert_true(disk.broken);
	assert_int_equal(d.n, 1);
	assert_int_equal(d.result[0], -EIO);
	assert_int_equal(other.n, 0);
	assert_int_equal(store.cut_off, 1);
	assert_int_equal(k_vblk_in_flight(&disk, NULL), 2);
	assert_int_equal(k_vblk_in_flight(&disk, &other), 2);
	/* Until the restart, new requests wait instead of failing. */
	assert_int_equal(store.a.submit(store.s.ctx, &op), -EAGAIN);
	assert_int_equal(submit_rw(&disk, K_VBLK_READ, 0, other_buf, 512, &other, 11), -EAGAIN);
	/* What the old ring says later is never read: not the session's
	 * answer, not the other owner's. */
	while (dev_take(&disk, &t))
		dev_answer(&disk, &t, 0, 1);
	assert_int_equal(k_vblk_poll(&disk), 0);
	assert_int_equal(other.n, 0);
	assert_int_equal(store.a.reap(store.s.ctx, 0, 8, blk_done, &d), 0);
	/* The next deadline poll brings it back, the two parked requests go
	 * on the new ring as they were (direction, buffer, sector), and the
	 * queue is kicked. */
	notified = 0;
	assert_int_equal(k_vblk_timeout_poll(&disk), 1);
	assert_int_equal(restarts, 1);
	assert_false(disk.broken);
	assert_int_equal(disk.st.resubmitted, 2);
	assert_int_equal(notified, 1);
	assert_int_equal(answers_before_stop, 0);
	assert_true(dev_take(&disk, &t));
	assert_int_equal(t.n, 3);
	assert_int_equal(((struct k_vblk_req *)(uintptr_t)t.d[0].addr)->hdr.sector, 1);
	assert_int_equal(t.d[1].addr, (uint64_t)(uintptr_t)other_buf);
	assert_true(t.d[1].flags & VRING_DESC_F_WRITE);
	memset(other_buf, 0x77, sizeof(other_buf));
	dev_answer(&disk, &t, 0, 513);
	assert_true(dev_take(&disk, &t));
	assert_int_equal(((struct k_vblk_req *)(uintptr_t)t.d[0].addr)->hdr.type, 1);
	assert_int_equal(((struct k_vblk_req *)(uintptr_t)t.d[0].addr)->hdr.sector, 2);
	assert_int_equal(t.d[1].addr, (uint64_t)(uintptr_t)other_out);
	assert_int_equal(t.d[1].len, 1024);
	assert_false(t.d[1].flags & VRING_DESC_F_WRITE);
	dev_answer(&disk, &t, 0, 1);
	assert_false(dev_take(&disk, &t));
	assert_int_equal(k_vblk_poll(&disk), 2);
	assert_int_equal(other.n, 2);
	assert_int_equal(other.result[0] | other.result[1], 0);
	assert_int_equal(other.cookie[0] + other.cookie[1], 19);
	assert_int_equal(disk.st.errors, 1); /* the session's one */
	/* The session's next request is served. */
	assert_int_equal(store.a.submit(store.s.ctx, &op), 0);
	assert_true(dev_take(&disk, &t));
	dev_answer(&disk, &t, 0, 513);
	assert_int_equal(k_vblk_poll(&disk), 1);
	assert_int_equal(store.a.reap(store.s.ctx, 0, 8, blk_done, &d), 1);
	assert_int_equal(d.result[1], 0);
	/* cancel() with nothing on the disk leaves it alone. */
	store.a.cancel(store.s.ctx);
	assert_int_equal(stopped, 1);
	assert_int_equal(store.cut_off, 1);
	/* cancel() with a request the disk sits on resets it too. */
	assert_int_equal(store.a.submit(store.s.ctx, &op), 0);
	fake_step = 1000000;
	store.a.cancel(store.s.ctx);
	fake_step = 0;
	assert_int_equal(stopped, 2);
	assert_int_equal(store.cut_off, 2);
	assert_int_equal(k_vblk_in_flight(&disk, NULL), 0);
	assert_int_equal(k_vblk_timeout_poll(&disk), 1);
	assert_int_equal(disk.st.resubmitted, 2);
}

/* A parked request is not kept waiting past a restart that fails, nor
 * replayed when it no longer fits or its chain was rewritten; a second
 * session cut off while its requests are parked does not wait for them. */
static void parked_requests_fail_cleanly(void **state)
{
	static uint8_t a[512], big[8 * 512], small[512];
	static struct uvm_vdisk_store store2;
	struct vu_iov iov = {a, 512};
	struct dev_storage_op op = {
		.kind = DEV_STORAGE_READ, .cookie = 1, .off = 0, .iov = &iov, .n_iov = 1};
	struct k_vblk_seg segs[8];
	struct k_vblk_io io = {
		.kind = K_VBLK_WRITE, .off = 0, .len = sizeof(big), .seg = segs, .nseg = 8};
	struct blk_done d = {0}, d2 = {0};
	struct done_log other = {0};
	struct taken t;
	uint64_t t0;
	(void)state;

	restartable_disk(64);
	uvm_vdisk_store_init(&store, &disk, 1, now, NULL);
	uvm_vdisk_store_init(&store2, &disk, 1, now, NULL);

	/* A restart that fails: the parked request fails, the disk is broken
	 * as for a fault (new requests fail at once, backoff from then on). */
	assert_int_equal(store.a.submit(store.s.ctx, &op), 0);
	assert_int_equal(submit_rw(&disk, K_VBLK_READ, 512, small, 512, &other, 7), 0);
	fake_step = 1000000;
	store.a.cancel(store.s.ctx);
	fake_step = 0;
	assert_int_equal(other.n, 0);
	restart_fails = -EIO;
	assert_int_equal(k_vblk_timeout_poll(&disk), 0);
	assert_int_equal(other.n, 1);
	assert_int_equal(other.result[0], -EIO);
	assert_true(disk.broken);
	assert_int_equal(submit_rw(&disk, K_VBLK_READ, 0, small, 512, &other, 8), -EIO);
	restart_fails = 0;
	fake_now += K_VBLK_RETRY_NS;
	assert_int_equal(k_vblk_timeout_poll(&disk), 1);
	assert_int_equal(disk.st.resubmitted, 0);

	/* A chain that no longer fits the queue the device comes back with
	 * (8 entries for a 10-descriptor write) fails; one that fits is
	 * submitted again. */
	for (unsigned i = 0; i < 8; i++)
		segs[i] = (struct k_vblk_seg){(uint64_t)(uintptr_t)(big + 512 * i), 512};
	other.n = 0;
	assert_int_equal(store.a.submit(store.s.ctx, &op), 0);
	assert_int_equal(k_vblk_submit(&disk, 0, &io, on_done, &other, 20), 0);
	assert_int_equal(submit_rw(&disk, K_VBLK_READ, 512, small, 512, &other, 21), 0);
	fake_step = 1000000;
	store.a.cancel(store.s.ctx);
	fake_step = 0;
	restart_qsize = 8;
	assert_int_equal(k_vblk_timeout_poll(&disk), 1);
	assert_int_equal(other.n, 1);
	assert_int_equal(other.cookie[0], 20);
	assert_int_equal(other.result[0], -EIO);
	assert_int_equal(disk.st.resubmitted, 1);
	assert_true(dev_take(&disk, &t));
	assert_int_equal(t.d[1].addr, (uint64_t)(uintptr_t)small);
	dev_answer(&disk, &t, 0, 513);
	assert_int_equal(k_vblk_poll(&disk), 1);
	assert_int_equal(other.n, 2);
	assert_int_equal(other.result[1], 0);
	restart_qsize = 0;

	/* A parked chain whose header descriptor was rewritten (the table is
	 * memory the device could reach) is failed, not replayed. */
	other.n = 0;
	assert_int_equal(store.a.submit(store.s.ctx, &op), 0);
	assert_int_equal(submit_rw(&disk, K_VBLK_READ, 512, small, 512, &other, 30), 0);
	fake_step = 1000000;
	store.a.cancel(store.s.ctx);
	fake_step = 0;
	for (uint16_t i = 0; i < disk.q[0].q.size; i++)
		if (disk.q[0].q.cookie[i] &&
		    ((struct k_vblk_req *)disk.q[0].q.cookie[i])->owner == (void *)&other)
			disk.q[0].q.desc[i].addr = (uint64_t)(uintptr_t)small;
	assert_int_equal(k_vblk_timeout_poll(&disk), 1);
	assert_int_equal(other.n, 1);
	assert_int_equal(other.result[0], -EIO);
	assert_false(dev_take(&disk, &t));
	assert_int_equal(k_vblk_in_flight(&disk, NULL), 0);

	/* Two sessions: the first cut off parks the second's request; the
	 * second's own cancel then fails it at once, without the 100 ms wait
	 * (nothing of it is on the device), and nothing is submitted again. */
	assert_int_equal(store.a.submit(store.s.ctx, &op), 0);
	op.cookie = 2;
	assert_int_equal(store2.a.submit(store2.s.ctx, &op), 0);
	fake_step = 1000000;
	store.a.drain(store.s.ctx, blk_done, &d);
	assert_int_equal(d.n, 1);
	t0 = fake_now;
	store2.a.drain(store2.s.ctx, blk_done, &d2);
	assert_true(fake_now - t0 < 5 * 1000000);
	fake_step = 0;
	assert_int_equal(d2.n, 1);
	assert_int_equal(d2.cookie[0], 2);
	assert_int_equal(d2.result[0], -EIO);
	assert_int_equal(store2.cut_off, 1);
	assert_int_equal(stopped, 4);
	assert_int_equal(k_vblk_timeout_poll(&disk), 1);
	assert_int_equal(k_vblk_in_flight(&disk, NULL), 0);
	assert_false(dev_take(&disk, &t));
	assert_int_equal(disk.st.resubmitted, 1);
}

/* --- a disk whose DMA cannot reach the windows: the bounce pool --- */

static struct uvm_bounce pool;
static uint8_t pool_ram[2 * (UVM_BOUNCE_SLOT_BYTES + sizeof(struct uvm_bounce_slot))]
	__attribute__((aligned(4096)));

static void bounced_store(void)
{
	restartable_disk(1024);
	assert_int_equal(uvm_bounce_bytes(2), sizeof(pool_ram));
	assert_int_equal(uvm_bounce_init(&pool, pool_ram, 2), 0);
	uvm_vdisk_store_init(&store, &disk, 1, now, &pool);
}

/* The device only ever sees the pool: a write's data is there before it
 * is submitted, a read's reaches the front-end's buffers (scattered) only
 * when the disk answered OK, before dev_blk hears. */
static void bounce_copies_both_ways(void **state)
{
	static uint8_t a[1024], b2[3072];
	struct vu_iov iov[2] = {{a, sizeof(a)}, {b2, sizeof(b2)}};
	struct dev_storage_op op = {.kind = DEV_STORAGE_WRITE,
				    .cookie = 7,
				    .off = 4096,
				    .len = 4096,
				    .iov = iov,
				    .n_iov = 2};
	struct blk_done d = {0};
	struct taken t;
	uint8_t *dev_buf;
	(void)state;

	bounced_store();
	/* The front-end is offered requests that fit a slot. */
	assert_int_equal(store.s.size_max, UVM_BOUNCE_SEG);
	assert_true(store.s.seg_max <= UVM_BOUNCE_SEG_MAX);
	memset(a, 0x11, sizeof(a));
	memset(b2, 0x22, sizeof(b2));
	assert_int_equal(store.a.submit(store.s.ctx, &op), 0);
	assert_true(dev_take(&disk, &t));
	assert_int_equal(t.n, 3); /* header, one data segment, status */
	dev_buf = (uint8_t *)(uintptr_t)t.d[1].addr;
	assert_true(dev_buf >= pool_ram && dev_buf < pool_ram + sizeof(pool_ram));
	assert_int_equal(t.d[1].len, 4096);
	assert_int_equal(dev_buf[0], 0x11);
	assert_int_equal(dev_buf[1023], 0x11);
	assert_int_equal(dev_buf[1024], 0x22);
	assert_int_equal(dev_buf[4095], 0x22);
	assert_int_equal(pool.bytes, 4096);
	dev_answer(&disk, &t, 0, 1);
	assert_int_equal(k_vblk_poll(&disk), 1);
	assert_int_equal(store.a.reap(store.s.ctx, 0, 8, blk_done, &d), 1);
	assert_int_equal(d.result[0], 0);
	assert_int_equal(pool.nfree, 2);
	/* A read: the device fills the slot; the front-end's buffers change
	 * only once the answer is in. */
	op.kind = DEV_STORAGE_READ;
	op.cookie = 8;
	memset(a, 0, sizeof(a));
	memset(b2, 0, sizeof(b2));
	assert_int_equal(store.a.submit(store.s.ctx, &op), 0);
	assert_true(dev_take(&disk, &t));
	dev_buf = (uint8_t *)(uintptr_t)t.d[1].addr;
	assert_true(dev_buf >= pool_ram && dev_buf < pool_ram + sizeof(pool_ram));
	for (unsigned i = 0; i < 4096; i++)
		dev_buf[i] = (uint8_t)(i / 1024 + 1);
	assert_int_equal(a[0], 0);
	dev_answer(&disk, &t, 0, 4097);
	assert_int_equal(k_vblk_poll(&disk), 1);
	assert_int_equal(a[0], 1);
	assert_int_equal(a[1023], 1);
	assert_int_equal(b2[0], 2);
	assert_int_equal(b2[3071], 4);
	assert_int_equal(store.a.reap(store.s.ctx, 0, 8, blk_done, &d), 1);
	assert_int_equal(d.cookie[1], 8);
	assert_int_equal(d.result[1], 0);
	assert_int_equal(pool.bytes, 8192);
	assert_int_equal(pool.nfree, 2);
}

/* Refusals and waits: a request larger than a slot, a full pool, a read
 * the disk failed (nothing copied back), a disk reset (slots return). */
static void bounce_refuses_and_waits(void **state)
{
	static uint8_t big[UVM_BOUNCE_SLOT_BYTES + 4096], small[512];
	struct vu_iov iov = {big, sizeof(big)};
	struct dev_storage_op op = {
		.kind = DEV_STORAGE_READ, .cookie = 1, .off = 0, .iov = &iov, .n_iov = 1};
	struct blk_done d = {0};
	struct taken t;
	uint64_t dev;
	(void)state;

	bounced_store();
	assert_int_equal(store.a.submit(store.s.ctx, &op), -EINVAL);
	assert_false(dev_take(&disk, &t));
	assert_int_equal(pool.nfree, 2);
	/* Two slots: the third request waits, and nothing reached the disk. */
	iov = (struct vu_iov){small, sizeof(small)};
	assert_int_equal(store.a.submit(store.s.ctx, &op), 0);
	op.cookie = 2;
	assert_int_equal(store.a.submit(store.s.ctx, &op), 0);
	op.cookie = 3;
	assert_int_equal(store.a.submit(store.s.ctx, &op), -EAGAIN);
	assert_int_equal(pool.nfree, 0);
	/* The disk fails the first read: its buffer is left alone. */
	memset(small, 0x77, sizeof(small));
	assert_true(dev_take(&disk, &t));
	memset((void *)(uintptr_t)t.d[1].addr, 0x33, 512);
	dev_answer(&disk, &t, 1 /* IOERR */, 513);
	assert_int_equal(k_vblk_poll(&disk), 1);
	assert_int_equal(small[0], 0x77);
	assert_int_equal(pool.nfree, 1);
	assert_int_equal(store.a.reap(store.s.ctx, 0, 8, blk_done, &d), 1);
	assert_int_equal(d.result[0], -EIO);
	/* The disk breaks under the second: its slot comes back too. */
	k_vblk_break(&disk, "test");
	assert_int_equal(pool.nfree, 2);
	assert_int_equal(small[0], 0x77);
	/* A segment list that does not add up, and an empty one. */
	{
		struct k_vblk_seg s = {(uint64_t)(uintptr_t)small, 512};

		assert_int_equal(uvm_bounce_get(&pool, &s, 1, 1024, true, &dev), -EINVAL);
		assert_int_equal(uvm_bounce_get(&pool, &s, 0, 0, true, &dev), -EINVAL);
		uvm_bounce_put(&pool, 0, 0); /* not in use: ignored */
		uvm_bounce_put(&pool, 5, 0);
		assert_int_equal(pool.nfree, 2);
	}
	assert_int_equal(uvm_bounce_init(&pool, pool_ram, 0), -EINVAL);
	assert_int_equal(uvm_bounce_init(&pool, pool_ram, UVM_BOUNCE_SLOTS_MAX + 1), -EINVAL);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(geometry_checks),
		cmocka_unit_test(read_in_place),
		cmocka_unit_test(requests_refused),
		cmocka_unit_test(size_max_cuts_segments),
		cmocka_unit_test(bad_answers),
		cmocka_unit_test(hostile_used_ring),
		cmocka_unit_test(timeout_breaks_the_disk),
		cmocka_unit_test(broken_disk_comes_back),
		cmocka_unit_test(backoff_stops_at_a_minute),
		cmocka_unit_test(restart_must_find_the_same_disk),
		cmocka_unit_test(stats_names),
		cmocka_unit_test(storage_passes_through),
		cmocka_unit_test(storage_write_through_flush),
		cmocka_unit_test(storage_cancel_resets_a_silent_disk),
		cmocka_unit_test(parked_requests_fail_cleanly),
		cmocka_unit_test(bounce_copies_both_ways),
		cmocka_unit_test(bounce_refuses_and_waits),
	};

	k_log_set_level(K_LOG_ERR); /* the refusals log; keep the output short */
	return cmocka_run_group_tests(tests, NULL, NULL);
}
