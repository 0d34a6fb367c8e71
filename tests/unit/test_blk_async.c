/* test_blk_async.c - virtio-blk on an asynchronous storage, through a real
 * back-end session.
 *
 * The storage is a fake: submit() records the operation (and does its data
 * transfer on a RAM disk at once), and an operation completes only when the
 * test says so, with the result the test chooses, in the order the test
 * chooses. So each test decides exactly when dev_blk sees a completion:
 * out of order, failed, after GET_VRING_BASE, after RESET_DEVICE, or after
 * the storage queue was full.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "dev/blk.h"
#include "dev/storage.h"
#include "helpers/fake_platform.h"
#include "helpers/msg_build.h"
#include "helpers/test_ring.h"
#include "vu/backend.h"
#include "vu/iov.h"

#define SECTOR 512u
#define DISK_SECTORS 64u
#define DISK_BYTES (DISK_SECTORS * SECTOR)
#define NQ 2u
#define QSZ 128u
#define MAX_OPS 16u

#define MEM_GPA 0x40000000ull
#define MEM_SIZE 0x40000ull
#define MEM_UADDR 0x7f3400000000ull
#define DATA_OFF 0x4000ull

#define T_IN 0u
#define T_OUT 1u
#define T_FLUSH 4u
#define T_GET_ID 8u

#define S_OK 0u
#define S_IOERR 1u
#define UNTOUCHED 0xeeu

struct blk_hdr {
	uint32_t type;
	uint32_t ioprio;
	uint64_t sector;
};

/* One operation the fake holds. */
struct fake_op {
	struct dev_storage_op op;
	bool finished;
	int result;
	unsigned order; /* finish order */
	bool reaped;
};

struct fake_async {
	uint8_t disk[DISK_BYTES];
	struct fake_op ops[MAX_OPS];
	unsigned n_ops;
	unsigned finish_seq;
	unsigned cap; /* operations in flight per queue before -EAGAIN */
	unsigned cancels;
	int refuse; /* submit() answers this negative errno when set */
	struct fake_platform *fp;
	int unmaps_at_cancel; /* fp->unmaps when cancel() ran */
	unsigned drains;
	int unmaps_at_drain; /* fp->unmaps when drain() ran */
};

struct fx {
	struct fake_platform fp;
	struct vu_backend b;
	struct dev_blk blk;
	struct dev_blk_async area;
	struct dev_storage store;
	struct dev_storage_async async;
	struct fake_async fa;
	struct vu_msg m;
	struct test_ring ring;
	int mem_fd;
};

/* ---- the fake asynchronous storage --------------------------------------- */

static unsigned in_flight(const struct fake_async *fa, uint16_t queue)
{
	unsigned n = 0;

	for (unsigned i = 0; i < fa->n_ops; i++)
		n += fa->ops[i].op.queue == queue && !fa->ops[i].reaped;
	return n;
}

static int fake_submit(void *ctx, const struct dev_storage_op *op)
{
	struct fake_async *fa = ctx;

	if (fa->refuse)
		return fa->refuse;
	if (in_flight(fa, op->queue) >= fa->cap)
		return -EAGAIN;
	assert_true(fa->n_ops < MAX_OPS);
	/* The data moves now; only the completion is delayed. */
	if (op->kind == DEV_STORAGE_READ)
		vu_iov_from_buf(op->iov, op->n_iov, 0, fa->disk + op->off, DISK_BYTES - op->off);
	else if (op->kind == DEV_STORAGE_WRITE)
		vu_iov_to_buf(op->iov, op->n_iov, 0, fa->disk + op->off, DISK_BYTES - op->off);
	fa->ops[fa->n_ops] = (struct fake_op){.op = *op};
	fa->ops[fa->n_ops].op.iov = NULL; /* submit() must not keep the caller's array */
	fa->n_ops++;
	return 0;
}

static int fake_reap(void *ctx, uint16_t queue, unsigned max, dev_storage_done_fn done, void *arg)
{
	struct fake_async *fa = ctx;
	int n = 0;

	for (unsigned seq = 0; seq < fa->finish_seq && (unsigned)n < max; seq++)
		for (unsigned i = 0; i < fa->n_ops; i++) {
			struct fake_op *o = &fa->ops[i];
			if (o->finished && !o->reaped && o->order == seq && o->op.queue == queue) {
				o->reaped = true;
				done(arg, o->op.cookie, o->result);
				n++;
			}
		}
	return n;
}

static void fake_cancel(void *ctx)
{
	struct fake_async *fa = ctx;

	fa->cancels++;
	if (fa->fp)
		fa->unmaps_at_cancel = (int)fa->fp->unmaps;
	for (unsigned i = 0; i < fa->n_ops; i++)
		fa->ops[i].reaped = true;
}

/* Everything in flight finishes now (OK), in submit order. */
static void fake_drain(void *ctx, dev_storage_done_fn done, void *arg)
{
	struct fake_async *fa = ctx;

	fa->drains++;
	if (fa->fp)
		fa->unmaps_at_drain = (int)fa->fp->unmaps;
	for (unsigned i = 0; i < fa->n_ops; i++)
		if (!fa->ops[i].reaped) {
			fa->ops[i].reaped = true;
			done(arg, fa->ops[i].op.cookie, 0);
		}
}

/* Operation k (in submit order) finishes now with `result`. */
static void finish(struct fx *f, unsigned k, int result)
{
	assert_true(k < f->fa.n_ops);
	assert_false(f->fa.ops[k].finished);
	f->fa.ops[k].finished = true;
	f->fa.ops[k].result = result;
	f->fa.ops[k].order = f->fa.finish_seq++;
}

/* ---- messages and fixture ------------------------------------------------ */

static struct vu_msg *mk(struct fx *f, uint32_t request, uint32_t size)
{
	msg_build(&f->m, request, size);
	return &f->m;
}

static void send_ok(struct fx *f)
{
	assert_int_equal(vu_backend_handle(&f->b, &f->m), 0);
}

static void send_u64(struct fx *f, uint32_t request, uint64_t v)
{
	mk(f, request, 8)->p.u64 = v;
	send_ok(f);
}

static void send_state(struct fx *f, uint32_t request, uint32_t index, uint32_t num)
{
	struct vu_msg *m = mk(f, request, 8);

	m->p.state.index = index;
	m->p.state.num = num;
	send_ok(f);
}

static void start_ring(struct fx *f)
{
	struct vu_vring_addr a;

	send_state(f, VU_REQ_SET_VRING_NUM, 0, QSZ);
	send_state(f, VU_REQ_SET_VRING_BASE, 0, 0);
	test_ring_addr(&f->ring, 0, &a);
	mk(f, VU_REQ_SET_VRING_ADDR, sizeof(a))->p.addr = a;
	send_ok(f);
	send_u64(f, VU_REQ_SET_VRING_KICK, 0 | VU_VRING_NOFD);
	send_state(f, VU_REQ_SET_VRING_ENABLE, 0, 1);
}

static void bring_up(struct fx *f)
{
	struct vu_msg *m;

	mk(f, VU_REQ_GET_FEATURES, 0);
	send_ok(f);
	send_u64(f, VU_REQ_SET_PROTOCOL_FEATURES, vu_backend_offered_protocol_features(&f->b));
	mk(f, VU_REQ_SET_OWNER, 0);
	send_ok(f);
	send_u64(f, VU_REQ_SET_FEATURES, VU_BIT(VU_F_VERSION_1) | VU_BIT(VU_F_PROTOCOL_FEATURES));
	f->mem_fd = fake_file_new(&f->fp, MEM_SIZE);
	assert_true(f->mem_fd >= FAKE_FD_BASE);
	test_ring_init(&f->ring, fake_file_ptr(&f->fp, f->mem_fd, 0), MEM_GPA, MEM_UADDR, MEM_SIZE,
		       0, DATA_OFF, MEM_SIZE - DATA_OFF, QSZ);
	m = mk(f, VU_REQ_ADD_MEM_REG, sizeof(struct vu_mem_single_msg));
	m->p.mem_single.region =
		(struct vu_mem_region){.gpa = MEM_GPA, .size = MEM_SIZE, .uaddr = MEM_UADDR};
	m->fds[m->nfds++] = f->mem_fd;
	send_ok(f);
	start_ring(f);
	f->fp.nsent = 0;
}

static int setup_with(void **state, bool can_cancel)
{
	struct fx *f = calloc(1, sizeof(*f));

	if (!f)
		return -1;
	fake_platform_init(&f->fp, 1);
	for (uint32_t i = 0; i < DISK_BYTES; i++)
		f->fa.disk[i] = (uint8_t)(i * 13 + i / SECTOR);
	f->fa.cap = MAX_OPS;
	f->async = (struct dev_storage_async){.num_queues = NQ,
					      .submit = fake_submit,
					      .reap = fake_reap,
					      .cancel = can_cancel ? fake_cancel : NULL,
					      .drain = fake_drain};
	f->store = (struct dev_storage){.size = DISK_BYTES, .ctx = &f->fa, .async = &f->async};
	if (dev_blk_init_async(&f->blk, &f->store, NQ, "async", &f->area) != 0)
		return -1;
	vu_backend_init(&f->b, &f->fp.plat, &f->blk.dev, &f->blk, NULL);
	*state = f;
	bring_up(f);
	return 0;
}

static int setup(void **state)
{
	return setup_with(state, false);
}

static int setup_cancel(void **state)
{
	return setup_with(state, true);
}

static int teardown(void **state)
{
	struct fx *f = *state;

	vu_backend_disconnect(&f->b);
	assert_int_equal(f->fp.maps, f->fp.unmaps);
	assert_int_equal(fake_open_files(&f->fp), 0);
	fake_platform_fini(&f->fp);
	free(f);
	return 0;
}

/* ---- requests ------------------------------------------------------------ */

static void *gp(struct fx *f, uint64_t gpa)
{
	return test_ring_ptr(&f->ring, gpa);
}

struct req {
	uint16_t head;
	uint64_t data, status;
};

/* Post hdr | data (len bytes) | status without serving it. */
static struct req post(struct fx *f, uint32_t type, uint64_t sector, uint32_t len)
{
	struct blk_hdr h = {.type = type, .sector = sector};
	uint64_t hg = test_ring_alloc(&f->ring, sizeof(h));
	struct req r = {.data = len ? test_ring_alloc(&f->ring, len) : 0,
			.status = test_ring_alloc(&f->ring, 1)};
	struct test_seg seg[3];
	unsigned n = 0;

	memcpy(gp(f, hg), &h, sizeof(h));
	*(uint8_t *)gp(f, r.status) = UNTOUCHED;
	seg[n++] = (struct test_seg){.gpa = hg, .len = sizeof(h)};
	if (len)
		seg[n++] = (struct test_seg){.gpa = r.data, .len = len, .write = type != T_OUT};
	seg[n++] = (struct test_seg){.gpa = r.status, .len = 1, .write = true};
	r.head = test_ring_add(&f->ring, seg, n);
	return r;
}

static uint8_t status_of(struct fx *f, const struct req *r)
{
	return *(uint8_t *)gp(f, r->status);
}

static void expect_used(struct fx *f, const struct req *r, uint32_t len)
{
	uint32_t id, l;

	assert_true(test_ring_pop_used(&f->ring, &id, &l));
	assert_int_equal(id, r->head);
	assert_int_equal(l, len);
}

/* ---- tests --------------------------------------------------------------- */

static void test_reads_complete_out_of_order(void **state)
{
	struct fx *f = *state;
	struct req r[3];

	for (unsigned i = 0; i < 3; i++)
		r[i] = post(f, T_IN, 4 * i, 2 * SECTOR);
	assert_int_equal(vu_backend_poll(&f->b, 8), 3);
	assert_int_equal(vu_ring_pending(&f->b, 0), 3);
	assert_int_equal(test_ring_used_pending(&f->ring), 0);
	for (unsigned i = 0; i < 3; i++)
		assert_int_equal(status_of(f, &r[i]), UNTOUCHED);
	assert_int_equal(dev_blk_poll(&f->blk, &f->b, 8), 0);

	finish(f, 2, 0);
	finish(f, 0, 0);
	assert_int_equal(dev_blk_poll(&f->blk, &f->b, 8), 2);
	expect_used(f, &r[2], 2 * SECTOR + 1);
	expect_used(f, &r[0], 2 * SECTOR + 1);
	assert_int_equal(status_of(f, &r[1]), UNTOUCHED);
	finish(f, 1, 0);
	assert_int_equal(dev_blk_poll(&f->blk, &f->b, 8), 1);
	expect_used(f, &r[1], 2 * SECTOR + 1);
	for (unsigned i = 0; i < 3; i++) {
		assert_int_equal(status_of(f, &r[i]), S_OK);
		assert_memory_equal(gp(f, r[i].data), f->fa.disk + 4 * i * SECTOR, 2 * SECTOR);
	}
	assert_int_equal(vu_ring_pending(&f->b, 0), 0);
	assert_int_equal(f->blk.n_async_done, 3);
	assert_int_equal(f->blk.n_errors, 0);
}

static void test_failed_write_reports_ioerr(void **state)
{
	struct fx *f = *state;
	struct req r = post(f, T_OUT, 1, SECTOR);

	assert_int_equal(vu_backend_poll(&f->b, 8), 1);
	assert_int_equal(f->fa.n_ops, 1);
	assert_int_equal(f->fa.ops[0].op.kind, DEV_STORAGE_WRITE);
	assert_int_equal(f->fa.ops[0].op.off, SECTOR);
	finish(f, 0, -EIO);
	assert_int_equal(dev_blk_poll(&f->blk, &f->b, 8), 1);
	expect_used(f, &r, 1);
	assert_int_equal(status_of(f, &r), S_IOERR);
	assert_int_equal(f->blk.n_errors, 1);
}

static void test_failed_read_reports_no_data(void **state)
{
	struct fx *f = *state;
	struct req r = post(f, T_IN, 0, SECTOR);

	assert_int_equal(vu_backend_poll(&f->b, 8), 1);
	finish(f, 0, -EIO);
	assert_int_equal(dev_blk_poll(&f->blk, &f->b, 8), 1);
	expect_used(f, &r, 1); /* the status byte only */
	assert_int_equal(status_of(f, &r), S_IOERR);
}

static void test_flush_is_asynchronous(void **state)
{
	struct fx *f = *state;
	struct req r = post(f, T_FLUSH, 0, 0);

	assert_int_equal(vu_backend_poll(&f->b, 8), 1);
	assert_int_equal(f->fa.ops[0].op.kind, DEV_STORAGE_FLUSH);
	assert_int_equal(status_of(f, &r), UNTOUCHED);
	finish(f, 0, 0);
	assert_int_equal(dev_blk_poll(&f->blk, &f->b, 8), 1);
	expect_used(f, &r, 1);
	assert_int_equal(status_of(f, &r), S_OK);
}

/* Requests that never reach the storage stay synchronous: VU_DONE at once. */
static void test_bad_range_and_get_id_answer_at_once(void **state)
{
	struct fx *f = *state;
	struct req bad = post(f, T_IN, DISK_SECTORS, SECTOR);
	struct req id = post(f, T_GET_ID, 0, 20);

	assert_int_equal(vu_backend_poll(&f->b, 8), 2);
	assert_int_equal(f->fa.n_ops, 0);
	expect_used(f, &bad, 1);
	expect_used(f, &id, 21);
	assert_int_equal(status_of(f, &bad), S_IOERR);
	assert_int_equal(status_of(f, &id), S_OK);
	assert_memory_equal(gp(f, id.data), "async", 6);
}

static void test_refused_submit_reports_ioerr(void **state)
{
	struct fx *f = *state;
	struct req r = post(f, T_OUT, 0, SECTOR);

	f->fa.refuse = -EBADF;
	assert_int_equal(vu_backend_poll(&f->b, 8), 1);
	expect_used(f, &r, 1);
	assert_int_equal(status_of(f, &r), S_IOERR);
	assert_int_equal(vu_ring_pending(&f->b, 0), 0);
}

/* GET_VRING_BASE with a request in flight: no reply until it completes. */
static void test_get_vring_base_waits_for_completion(void **state)
{
	struct fx *f = *state;
	struct req r = post(f, T_IN, 2, SECTOR);

	assert_int_equal(vu_backend_poll(&f->b, 8), 1);
	send_state(f, VU_REQ_GET_VRING_BASE, 0, 0);
	assert_int_equal(f->fp.nsent, 0);
	assert_int_equal(status_of(f, &r), UNTOUCHED);
	finish(f, 0, 0);
	assert_int_equal(dev_blk_poll(&f->blk, &f->b, 8), 1);
	assert_int_equal(status_of(f, &r), S_OK);
	expect_used(f, &r, SECTOR + 1);
	assert_int_equal(f->fp.nsent, 1);
	assert_int_equal(f->fp.sent[0].hdr.request, VU_REQ_GET_VRING_BASE);
	assert_int_equal(f->fp.sent[0].p.state.num, 1);
}

/* A completion after RESET_DEVICE (storage cannot cancel): nothing written
 * into guest memory, no used entry, counted as stale. */
static void test_completion_after_reset_writes_nothing(void **state)
{
	struct fx *f = *state;
	struct req r = post(f, T_OUT, 3, SECTOR);

	assert_int_equal(vu_backend_poll(&f->b, 8), 1);
	mk(f, VU_REQ_RESET_DEVICE, 0);
	send_ok(f);
	finish(f, 0, 0);
	assert_int_equal(dev_blk_poll(&f->blk, &f->b, 8), 1);
	assert_int_equal(status_of(f, &r), UNTOUCHED);
	assert_int_equal(test_ring_used_pending(&f->ring), 0);
	assert_int_equal(f->blk.n_async_stale, 1);
	assert_int_equal(f->b.n_late, 1);
}

/* A storage that can cancel is told to on reset, and its slots are free
 * again; a completion can no longer come. */
static void test_reset_cancels_storage(void **state)
{
	struct fx *f = *state;
	struct req r = post(f, T_OUT, 3, SECTOR);

	assert_int_equal(vu_backend_poll(&f->b, 8), 1);
	assert_int_equal(f->blk.q[0].nfree, DEV_BLK_ASYNC_SLOTS - 1);
	mk(f, VU_REQ_RESET_DEVICE, 0);
	send_ok(f);
	assert_int_equal(f->fa.cancels, 1);
	assert_int_equal(f->blk.q[0].nfree, DEV_BLK_ASYNC_SLOTS);
	assert_int_equal(dev_blk_poll(&f->blk, &f->b, 8), 0);
	assert_int_equal(status_of(f, &r), UNTOUCHED);
	assert_int_equal(test_ring_used_pending(&f->ring), 0);
}

/* Disconnect with a request in flight: the storage is cancelled before
 * guest memory is unmapped (vu_backend_reset calls the device first). */
static void test_disconnect_cancels_before_unmap(void **state)
{
	struct fx *f = *state;

	(void)post(f, T_IN, 0, SECTOR);
	assert_int_equal(vu_backend_poll(&f->b, 8), 1);
	f->fa.unmaps_at_cancel = -1;
	f->fa.fp = &f->fp;
	vu_backend_disconnect(&f->b);
	assert_int_equal(f->fa.cancels, 1);
	assert_int_equal(f->fa.unmaps_at_cancel, 0);
	assert_true(f->fp.unmaps > 0);
}

/* REM_MEM_REG with a request in flight: the storage is drained and the
 * request published before the region is unmapped. */
static void test_memory_change_drains_first(void **state)
{
	struct fx *f = *state;
	struct req r = post(f, T_IN, 5, SECTOR);
	struct vu_msg *m;

	assert_int_equal(vu_backend_poll(&f->b, 8), 1);
	assert_int_equal(test_ring_used_pending(&f->ring), 0);
	f->fa.fp = &f->fp;
	f->fa.unmaps_at_drain = -1;
	m = mk(f, VU_REQ_REM_MEM_REG, sizeof(struct vu_mem_single_msg));
	m->p.mem_single.region =
		(struct vu_mem_region){.gpa = MEM_GPA, .size = MEM_SIZE, .uaddr = MEM_UADDR};
	send_ok(f);
	assert_int_equal(f->fa.drains, 1);
	assert_int_equal(f->fa.unmaps_at_drain, 0);
	assert_int_equal(f->fp.unmaps, 1);
	expect_used(f, &r, SECTOR + 1);
	assert_int_equal(status_of(f, &r), S_OK);
	assert_memory_equal(gp(f, r.data), f->fa.disk + 5 * SECTOR, SECTOR);
}

/* Storage queue full: VU_NOT_NOW, the chain stays in the ring and is served
 * once a completion frees room. */
static void test_queue_full_retries_later(void **state)
{
	struct fx *f = *state;
	struct req a, b;

	f->fa.cap = 1;
	a = post(f, T_IN, 0, SECTOR);
	b = post(f, T_IN, 1, SECTOR);
	assert_int_equal(vu_backend_poll(&f->b, 8), 1);
	assert_int_equal(f->b.n_not_now, 1);
	assert_int_equal(vu_ring_waiting(&f->b, 0), 1);
	assert_int_equal(f->fa.n_ops, 1);
	assert_true(f->blk.q[0].blocked);
	/* Still full: put back again, never lost, never served twice. */
	(void)vu_backend_poll(&f->b, 8);
	assert_int_equal(f->b.n_not_now, 2);
	assert_int_equal(f->fa.n_ops, 1);

	finish(f, 0, 0);
	assert_int_equal(dev_blk_poll(&f->blk, &f->b, 8), 1);
	assert_false(f->blk.q[0].blocked);
	expect_used(f, &a, SECTOR + 1);
	assert_int_equal(vu_backend_poll(&f->b, 8), 1);
	assert_int_equal(f->fa.n_ops, 2);
	finish(f, 1, 0);
	assert_int_equal(dev_blk_poll(&f->blk, &f->b, 8), 1);
	expect_used(f, &b, SECTOR + 1);
	assert_memory_equal(gp(f, b.data), f->fa.disk + SECTOR, SECTOR);
}

/* Refused with nothing of its own in flight (the room is held by another
 * session on a shared disk): no completion will come to retry the ring, so
 * dev_blk_poll() kicks it for the next turn. */
static void test_starved_queue_is_retried(void **state)
{
	struct fx *f = *state;
	struct req a;

	f->fa.cap = 0;
	a = post(f, T_IN, 2, SECTOR);
	f->b.vq[0].kicked = false;
	assert_int_equal(vu_backend_poll(&f->b, 8), 0);
	assert_true(f->blk.q[0].blocked);
	assert_false(f->b.vq[0].kicked);
	assert_int_equal(dev_blk_poll(&f->blk, &f->b, 8), 0);
	assert_false(f->blk.q[0].blocked);
	assert_true(f->b.vq[0].kicked);
	f->fa.cap = 4; /* the other session let go */
	assert_int_equal(vu_backend_poll(&f->b, 8), 1);
	assert_int_equal(f->fa.n_ops, 1);
	finish(f, 0, 0);
	assert_int_equal(dev_blk_poll(&f->blk, &f->b, 8), 1);
	expect_used(f, &a, SECTOR + 1);
	assert_memory_equal(gp(f, a.data), f->fa.disk + 2 * SECTOR, SECTOR);
}

/* More chains than request slots: the rest wait in the ring. */
static void test_slots_exhausted_is_not_now(void **state)
{
	struct fx *f = *state;

	f->blk.q[0].nfree = 1; /* as if DEV_BLK_ASYNC_SLOTS - 1 were in flight */
	(void)post(f, T_IN, 0, SECTOR);
	(void)post(f, T_IN, 1, SECTOR);
	assert_int_equal(vu_backend_poll(&f->b, 8), 1);
	assert_int_equal(f->fa.n_ops, 1);
	assert_int_equal(f->b.n_not_now, 1);
	assert_int_equal(vu_ring_waiting(&f->b, 0), 1);
}

static void test_reap_budget_is_respected(void **state)
{
	struct fx *f = *state;

	for (unsigned i = 0; i < 4; i++)
		(void)post(f, T_IN, i, SECTOR);
	assert_int_equal(vu_backend_poll(&f->b, 8), 4);
	for (unsigned i = 0; i < 4; i++)
		finish(f, i, 0);
	assert_int_equal(dev_blk_poll(&f->blk, &f->b, 3), 3);
	assert_int_equal(dev_blk_poll(&f->blk, &f->b, 3), 1);
	assert_int_equal(test_ring_used_pending(&f->ring), 4);
}

static void test_init_rejects_bad_async_storage(void **state)
{
	struct fx *f = *state;
	struct dev_blk blk;
	struct dev_storage_async few = f->async, no_reap = f->async, no_submit = f->async;
	struct dev_storage s = f->store, sync = f->store;

	/* Asynchronous storage through the synchronous init: no slots. */
	assert_int_equal(dev_blk_init(&blk, &s, 1, NULL), -EINVAL);
	assert_int_equal(dev_blk_init_async(&blk, &s, 1, NULL, NULL), -EINVAL);
	sync.async = NULL;
	assert_int_equal(dev_blk_init_async(&blk, &sync, 1, NULL, &f->area), -EINVAL);
	few.num_queues = 1;
	s.async = &few;
	assert_int_equal(dev_blk_init_async(&blk, &s, 2, NULL, &f->area), -EINVAL);
	assert_int_equal(dev_blk_init_async(&blk, &s, 1, NULL, &f->area), 0);
	no_reap.reap = NULL;
	s.async = &no_reap;
	assert_int_equal(dev_blk_init_async(&blk, &s, 1, NULL, &f->area), -EINVAL);
	no_submit.submit = NULL;
	s.async = &no_submit;
	assert_int_equal(dev_blk_init_async(&blk, &s, 1, NULL, &f->area), -EINVAL);
	assert_int_equal(dev_blk_init_async(&blk, NULL, 1, NULL, &f->area), -EINVAL);
}

#define T(fn) cmocka_unit_test_setup_teardown(fn, setup, teardown)

int main(void)
{
	const struct CMUnitTest tests[] = {
		T(test_reads_complete_out_of_order),
		T(test_failed_write_reports_ioerr),
		T(test_failed_read_reports_no_data),
		T(test_flush_is_asynchronous),
		T(test_bad_range_and_get_id_answer_at_once),
		T(test_refused_submit_reports_ioerr),
		T(test_get_vring_base_waits_for_completion),
		T(test_completion_after_reset_writes_nothing),
		cmocka_unit_test_setup_teardown(test_reset_cancels_storage, setup_cancel, teardown),
		cmocka_unit_test_setup_teardown(test_disconnect_cancels_before_unmap, setup_cancel,
						teardown),
		T(test_memory_change_drains_first),
		T(test_queue_full_retries_later),
		T(test_starved_queue_is_retried),
		T(test_slots_exhausted_is_not_now),
		T(test_reap_budget_is_respected),
		T(test_init_rejects_bad_async_storage),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
