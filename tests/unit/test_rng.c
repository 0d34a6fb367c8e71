/* test_rng.c - virtio-rng through a real back-end session.
 *
 * The entropy source is a counter stream the test controls: `avail` bytes
 * can be produced, each the next value of a counter, so a test sees exactly
 * which source bytes reached which buffer. Every request goes the whole way:
 * avail ring, vu_backend_poll(), dev_rng, used ring. What is checked: the
 * used length is what the source produced (short reads allowed), readable
 * buffers are never written, a request that finds the source dry is put
 * back in the ring (VU_NOT_NOW) instead of completing with 0 bytes and the
 * ring waits for the next turn, the budget holds, a source
 * that claims more than it was asked for is not believed, and uvhostd's
 * kind of source (no level function) keeps the old contract.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "dev/rng.h"
#include "helpers/fake_platform.h"
#include "helpers/msg_build.h"
#include "helpers/test_ring.h"
#include "vu/backend.h"

#define QSZ 16u
#define MEM_GPA 0x40000000ull
#define MEM_SIZE 0x40000ull
#define MEM_UADDR 0x7f3400000000ull
#define DATA_OFF 0x4000ull
#define UNTOUCHED 0xee

/* The source: at most src_avail more bytes, each the next counter value;
 * src_extra is added to what it claims (a lying source). */
static size_t src_avail;
static uint8_t src_next;
static size_t src_calls;
static size_t src_extra;

static size_t src_take(void *buf, size_t len)
{
	uint8_t *p = buf;
	size_t n = len < src_avail ? len : src_avail;

	src_calls++;
	for (size_t i = 0; i < n; i++)
		p[i] = src_next++;
	src_avail -= n;
	return n + src_extra;
}

static size_t src_level(void)
{
	return src_avail;
}

struct fx {
	struct fake_platform fp;
	struct vu_backend b;
	struct dev_rng rng;
	struct vu_msg m;
	struct test_ring ring;
	int mem_fd;
};

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

/* The front-end's bring-up: features, owner, memory, ring 0 polled (NOFD). */
static void bring_up(struct fx *f)
{
	struct vu_vring_addr a;
	struct vu_msg *m;

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
	send_state(f, VU_REQ_SET_VRING_NUM, 0, QSZ);
	send_state(f, VU_REQ_SET_VRING_BASE, 0, 0);
	test_ring_addr(&f->ring, 0, &a);
	mk(f, VU_REQ_SET_VRING_ADDR, sizeof(a))->p.addr = a;
	send_ok(f);
	send_u64(f, VU_REQ_SET_VRING_KICK, 0 | VU_VRING_NOFD);
	send_state(f, VU_REQ_SET_VRING_ENABLE, 0, 1);
	f->fp.nsent = 0;
}

static int fx_setup(void **state, dev_rng_level level)
{
	struct fx *f = calloc(1, sizeof(*f));

	if (!f)
		return -1;
	src_avail = SIZE_MAX;
	src_next = 0;
	src_calls = 0;
	src_extra = 0;
	fake_platform_init(&f->fp, 1);
	dev_rng_init(&f->rng, src_take, level);
	vu_backend_init(&f->b, &f->fp.plat, &f->rng.dev, &f->rng, NULL);
	*state = f;
	bring_up(f);
	return 0;
}

/* The service VM's kind: a pool with a level. */
static int setup_pool(void **state)
{
	return fx_setup(state, src_level);
}

/* uvhostd's kind: getrandom, no level. */
static int setup_plain(void **state)
{
	return fx_setup(state, NULL);
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

/* A buffer of len bytes preset to UNTOUCHED; returns its gpa. */
static uint64_t buf(struct fx *f, uint32_t len)
{
	uint64_t gpa = test_ring_alloc(&f->ring, len);

	memset(test_ring_ptr(&f->ring, gpa), UNTOUCHED, len);
	return gpa;
}

static uint8_t *at(struct fx *f, uint64_t gpa)
{
	return test_ring_ptr(&f->ring, gpa);
}

static uint16_t post1(struct fx *f, uint64_t gpa, uint32_t len)
{
	struct test_seg s = {.gpa = gpa, .len = len, .write = true};

	return test_ring_add(&f->ring, &s, 1);
}

static void expect_used(struct fx *f, uint16_t head, uint32_t len)
{
	uint32_t id, ulen;

	assert_true(test_ring_pop_used(&f->ring, &id, &ulen));
	assert_int_equal(id, head);
	assert_int_equal(ulen, len);
}

/* Bytes [0, n) hold the counter stream from `first`, the rest of the
 * buffer is untouched. */
static void expect_stream(const uint8_t *p, uint32_t n, uint32_t len, uint8_t first)
{
	for (uint32_t i = 0; i < n; i++)
		assert_int_equal(p[i], (uint8_t)(first + i));
	for (uint32_t i = n; i < len; i++)
		assert_int_equal(p[i], UNTOUCHED);
}

/* ---- full requests ------------------------------------------------------ */

static void test_buffers_filled_in_order(void **state)
{
	struct fx *f = *state;
	uint64_t a = buf(f, 16), b = buf(f, 48);
	struct test_seg seg[2] = {{a, 16, true}, {b, 48, true}};
	uint16_t head = test_ring_add(&f->ring, seg, 2);

	assert_int_equal(vu_backend_poll(&f->b, 8), 1);
	expect_used(f, head, 64);
	expect_stream(at(f, a), 16, 16, 0);
	expect_stream(at(f, b), 48, 48, 16);
	assert_int_equal(f->rng.bytes, 64);
	assert_int_equal(f->rng.requests, 1);
	assert_int_equal(f->rng.short_reads, 0);
	assert_false(f->b.vq[0].broken);
}

/* A hostile chain: readable buffers get nothing, even before a writable one. */
static void test_readable_buffers_untouched(void **state)
{
	struct fx *f = *state;
	uint64_t r = buf(f, 16), w = buf(f, 32), r2 = buf(f, 8);
	struct test_seg seg[2] = {{r, 16, false}, {w, 32, true}};
	uint16_t h1 = test_ring_add(&f->ring, seg, 2);
	struct test_seg only = {r2, 8, false};
	uint16_t h2 = test_ring_add(&f->ring, &only, 1);

	assert_int_equal(vu_backend_poll(&f->b, 8), 2);
	expect_used(f, h1, 32);
	expect_used(f, h2, 0);
	expect_stream(at(f, r), 0, 16, 0);
	expect_stream(at(f, w), 32, 32, 0);
	expect_stream(at(f, r2), 0, 8, 0);
	assert_int_equal(f->rng.bytes, 32);
	assert_false(f->b.vq[0].broken);
}

/* ---- a pool that runs dry ----------------------------------------------- */

/* Fewer bytes than the buffers offer: the used length says how many, they
 * are a prefix, and the rest of the chain is left alone. */
static void test_short_read(void **state)
{
	struct fx *f = *state;
	uint64_t a = buf(f, 16), b = buf(f, 64), c = buf(f, 16);
	struct test_seg seg[3] = {{a, 16, true}, {b, 64, true}, {c, 16, true}};
	uint16_t head = test_ring_add(&f->ring, seg, 3);

	src_avail = 40;
	assert_int_equal(vu_backend_poll(&f->b, 8), 1);
	expect_used(f, head, 40);
	expect_stream(at(f, a), 16, 16, 0);
	expect_stream(at(f, b), 24, 64, 16);
	expect_stream(at(f, c), 0, 16, 0);
	assert_int_equal(f->rng.short_reads, 1);
	assert_int_equal(f->rng.bytes, 40);
}

/* A dry source: nothing is taken from the ring, nothing completes with 0
 * bytes; the device says "not now" once per turn (the core skips the ring
 * for the rest of the turn), and the chains are served once the source
 * refills. */
static void test_dry_source_leaves_requests_in_ring(void **state)
{
	struct fx *f = *state;
	uint64_t a = buf(f, 64), b = buf(f, 64);
	uint16_t h1 = post1(f, a, 64), h2 = post1(f, b, 64);

	src_avail = 0;
	for (int turn = 0; turn < 3; turn++) {
		assert_int_equal(vu_backend_poll(&f->b, 8), 0);
		assert_int_equal(test_ring_used_pending(&f->ring), 0);
		assert_int_equal(f->b.vq[0].last_avail_idx, 0);
		assert_int_equal(f->b.vq[0].inuse, 0);
		assert_int_equal(f->rng.not_now, (uint64_t)turn + 1);
		assert_int_equal(vu_ring_waiting(&f->b, 0), 2);
	}
	assert_int_equal(src_calls, 0);
	assert_int_equal(f->rng.requests, 0);

	/* 100 bytes: the first gets 64, the second the 36 left (a short
	 * read), and nothing waits any more. */
	src_avail = 100;
	assert_int_equal(vu_backend_poll(&f->b, 8), 2);
	expect_used(f, h1, 64);
	expect_used(f, h2, 36);
	expect_stream(at(f, a), 64, 64, 0);
	expect_stream(at(f, b), 36, 64, 64);
	assert_int_equal(f->rng.not_now, 3);
	assert_int_equal(vu_ring_waiting(&f->b, 0), 0);
	assert_int_equal(f->rng.short_reads, 1);
}

/* The source runs dry in the middle of a batch: the chain that would get 0
 * bytes is not taken. */
static void test_no_empty_completion_mid_batch(void **state)
{
	struct fx *f = *state;
	uint64_t g[3];
	uint16_t h[3];
	uint32_t id, len;

	for (int i = 0; i < 3; i++) {
		g[i] = buf(f, 32);
		h[i] = post1(f, g[i], 32);
	}
	src_avail = 10;
	assert_int_equal(vu_backend_poll(&f->b, 8), 1);
	expect_used(f, h[0], 10);
	assert_false(test_ring_pop_used(&f->ring, &id, &len));
	assert_int_equal(f->rng.not_now, 1);
	assert_int_equal(f->b.vq[0].last_avail_idx, 1);
	assert_int_equal(vu_ring_waiting(&f->b, 0), 2);
	expect_stream(at(f, g[1]), 0, 32, 0);
	src_avail = 64;
	assert_int_equal(vu_backend_poll(&f->b, 8), 2);
	expect_used(f, h[1], 32);
	expect_used(f, h[2], 32);
}

/* Nothing is held by the device while it waits: stopping the ring hands
 * back a base that still includes the waiting chain. */
static void test_waiting_request_survives_ring_stop(void **state)
{
	struct fx *f = *state;

	post1(f, buf(f, 64), 64);
	src_avail = 0;
	assert_int_equal(vu_backend_poll(&f->b, 8), 0);
	send_state(f, VU_REQ_GET_VRING_BASE, 0, 0);
	assert_int_equal(f->fp.nsent, 1);
	assert_int_equal(f->fp.sent[0].p.state.num, 0);
	assert_int_equal(f->b.vq[0].inuse, 0);
	assert_int_equal(f->fp.signals, 0);
}

static void test_budget_holds(void **state)
{
	struct fx *f = *state;

	for (int i = 0; i < 8; i++)
		post1(f, buf(f, 8), 8);
	assert_int_equal(vu_backend_poll(&f->b, 3), 3);
	assert_int_equal(test_ring_used_pending(&f->ring), 3);
	assert_int_equal(vu_backend_poll(&f->b, 100), 5);
	assert_int_equal(test_ring_used_pending(&f->ring), 8);
	assert_int_equal(vu_backend_poll(&f->b, 100), 0);
}

/* A source claiming more than it was asked for is held to what it could
 * have written. */
static void test_lying_source_capped(void **state)
{
	struct fx *f = *state;
	uint64_t a = buf(f, 16), b = buf(f, 16);
	struct test_seg seg[2] = {{a, 16, true}, {b, 16, true}};
	uint16_t head = test_ring_add(&f->ring, seg, 2);

	src_extra = 1000;
	assert_int_equal(vu_backend_poll(&f->b, 8), 1);
	expect_used(f, head, 32);
	assert_int_equal(f->rng.bytes, 32);
}

/* ---- uvhostd's contract ------------------------------------------------- */

static void test_plain_source_fills(void **state)
{
	struct fx *f = *state;
	uint64_t a = buf(f, 4096);
	uint16_t head = post1(f, a, 4096);

	assert_int_equal(vu_backend_poll(&f->b, 8), 1);
	expect_used(f, head, 4096);
	expect_stream(at(f, a), 4096, 4096, 0);
}

/* Without a level function a failing source completes the request with 0
 * bytes (the driver retries), as before. */
static void test_plain_failing_source_completes_empty(void **state)
{
	struct fx *f = *state;
	uint64_t a = buf(f, 64);
	uint16_t head = post1(f, a, 64);

	src_avail = 0;
	assert_int_equal(vu_backend_poll(&f->b, 8), 1);
	expect_used(f, head, 0);
	expect_stream(at(f, a), 0, 64, 0);
	assert_int_equal(f->rng.short_reads, 1);
	assert_false(f->b.vq[0].broken);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_buffers_filled_in_order, setup_pool, teardown),
		cmocka_unit_test_setup_teardown(test_readable_buffers_untouched, setup_pool,
						teardown),
		cmocka_unit_test_setup_teardown(test_short_read, setup_pool, teardown),
		cmocka_unit_test_setup_teardown(test_dry_source_leaves_requests_in_ring, setup_pool,
						teardown),
		cmocka_unit_test_setup_teardown(test_no_empty_completion_mid_batch, setup_pool,
						teardown),
		cmocka_unit_test_setup_teardown(test_waiting_request_survives_ring_stop, setup_pool,
						teardown),
		cmocka_unit_test_setup_teardown(test_budget_holds, setup_pool, teardown),
		cmocka_unit_test_setup_teardown(test_lying_source_capped, setup_pool, teardown),
		cmocka_unit_test_setup_teardown(test_plain_source_fills, setup_plain, teardown),
		cmocka_unit_test_setup_teardown(test_plain_failing_source_completes_empty,
						setup_plain, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
