/* test_requests.c - how a device answers chains, and what lifecycle
 * messages do to requests it has not finished.
 *
 * A real back-end session on the fake platform (fd transport, ring 0 polled
 * with NOFD unless a test says otherwise) serves a scripted device that
 * answers each chain VU_DONE, VU_PENDING (keeping the token) or VU_NOT_NOW.
 * What is checked, through the guest's used ring and the messages sent:
 *   - done: the core publishes the used entry with the device's length;
 *   - pending: nothing is published until vu_complete(), in any order, and
 *     a token completed twice is refused;
 *   - not now: the chain goes back (avail index, in-use head and inflight
 *     mark restored) and the ring is skipped for the rest of the turn;
 *   - GET_VRING_BASE is answered only when the ring's last pending request
 *     completes, with the index after every chain taken;
 *   - RESET_DEVICE, SET_STATUS 0, RESET_OWNER and disconnect drop pending
 *     requests: a late completion is counted and writes nothing;
 *     SET_VRING_ENABLE 0 keeps them (the ring still exists);
 *   - status gates the rings (DRIVER_OK once seen, FAILED), as QEMU 7.2
 *     orders it for blk and without stopping rng and vsock, which never get
 *     DRIVER_OK from it;
 *   - inflight tracking covers pending requests;
 *   - a hostile driver: a head posted twice, an indirect descriptor without
 *     RING_INDIRECT_DESC; every ring error names its reason, ring, head and
 *     address in the log.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "helpers/fake_platform.h"
#include "helpers/msg_build.h"
#include "helpers/test_ring.h"
#include "vu/backend.h"
#include "vu/inflight.h"

#define QSZ 16u
#define NQ 2u
#define MEM_GPA 0x40000000ull
#define MEM_SIZE 0x40000ull
#define MEM_UADDR 0x7f3500000000ull
#define RING1_OFF 0x2000ull
#define DATA_OFF 0x8000ull
#define DATA_LEN 0x10000ull
#define DATA1_OFF 0x20000ull
#define MAX_SEEN 64

#define ST_FEATURES_OK 0x08u
#define ST_DRIVER_OK 0x04u
#define ST_FAILED 0x80u

/* ---- the scripted device ------------------------------------------------ */

struct sdev {
	struct vu_device desc;
	int answer;	  /* VU_DONE, VU_PENDING or VU_NOT_NOW */
	uint32_t written; /* for VU_DONE */
	uint32_t served;
	struct vu_token toks[MAX_SEEN];
	uint16_t heads[MAX_SEEN];
	uint32_t resets;
};

static int sd_serve(void *dev, struct vu_backend *b, struct vu_req *req)
{
	struct sdev *d = dev;

	(void)b;
	if (d->served < MAX_SEEN) {
		d->toks[d->served] = req->token;
		d->heads[d->served] = req->chain->head;
	}
	d->served++;
	req->written = d->written;
	return d->answer;
}

static void sd_reset(void *dev)
{
	((struct sdev *)dev)->resets++;
}

static const struct vu_device_ops sd_ops = {.serve = sd_serve, .reset = sd_reset};

/* ---- fixture ------------------------------------------------------------ */

struct fx {
	struct fake_platform fp;
	struct vu_backend b;
	struct sdev dev;
	struct vu_msg m;
	struct test_ring ring[NQ];
	int mem_fd;
};

static struct vu_msg *mk(struct fx *f, uint32_t request, uint32_t size)
{
	msg_build(&f->m, request, size);
	return &f->m;
}

static int handle(struct fx *f)
{
	return vu_backend_handle(&f->b, &f->m);
}

static int send_u64(struct fx *f, uint32_t request, uint64_t v)
{
	mk(f, request, 8)->p.u64 = v;
	return handle(f);
}

static int send_state(struct fx *f, uint32_t request, uint32_t index, uint32_t num)
{
	struct vu_msg *m = mk(f, request, 8);

	m->p.state.index = index;
	m->p.state.num = num;
	return handle(f);
}

static int send_empty(struct fx *f, uint32_t request)
{
	mk(f, request, 0);
	return handle(f);
}

static void negotiate(struct fx *f, uint64_t features)
{
	assert_int_equal(send_u64(f, VU_REQ_SET_PROTOCOL_FEATURES,
				  vu_backend_offered_protocol_features(&f->b)),
			 0);
	assert_int_equal(send_empty(f, VU_REQ_SET_OWNER), 0);
	assert_int_equal(send_u64(f, VU_REQ_SET_FEATURES, features), 0);
}

static void add_memory(struct fx *f)
{
	struct vu_msg *m;
	uint8_t *host;

	f->mem_fd = fake_file_new(&f->fp, MEM_SIZE);
	host = fake_file_ptr(&f->fp, f->mem_fd, 0);
	test_ring_init(&f->ring[0], host, MEM_GPA, MEM_UADDR, MEM_SIZE, 0, DATA_OFF, DATA_LEN, QSZ);
	test_ring_init(&f->ring[1], host, MEM_GPA, MEM_UADDR, MEM_SIZE, RING1_OFF, DATA1_OFF,
		       DATA_LEN, QSZ);
	m = mk(f, VU_REQ_ADD_MEM_REG, sizeof(struct vu_mem_single_msg));
	m->p.mem_single.region =
		(struct vu_mem_region){.gpa = MEM_GPA, .size = MEM_SIZE, .uaddr = MEM_UADDR};
	m->fds[m->nfds++] = f->mem_fd;
	assert_int_equal(handle(f), 0);
}

/* NUM, BASE, ADDR, KICK (NOFD if kick_fd < 0), ENABLE. */
static void ring_up(struct fx *f, uint32_t q, uint16_t base, int kick_fd)
{
	struct vu_vring_addr a;
	struct vu_msg *m;

	assert_int_equal(send_state(f, VU_REQ_SET_VRING_NUM, q, QSZ), 0);
	assert_int_equal(send_state(f, VU_REQ_SET_VRING_BASE, q, base), 0);
	test_ring_addr(&f->ring[q], q, &a);
	mk(f, VU_REQ_SET_VRING_ADDR, sizeof(a))->p.addr = a;
	assert_int_equal(handle(f), 0);
	m = mk(f, VU_REQ_SET_VRING_KICK, 8);
	m->p.u64 = q | (kick_fd < 0 ? VU_VRING_NOFD : 0);
	if (kick_fd >= 0)
		m->fds[m->nfds++] = kick_fd;
	assert_int_equal(handle(f), 0);
	assert_int_equal(send_state(f, VU_REQ_SET_VRING_ENABLE, q, 1), 0);
}

static int fx_setup(void **state)
{
	struct fx *f = calloc(1, sizeof(*f));

	if (!f)
		return -1;
	fake_platform_init(&f->fp, 1);
	f->dev.desc = (struct vu_device){
		.ops = &sd_ops, .name = "script", .num_queues = NQ, .max_queue_size = 256};
	f->dev.answer = VU_DONE;
	vu_backend_init(&f->b, &f->fp.plat, &f->dev.desc, &f->dev, NULL);
	negotiate(f, VU_BIT(VU_F_VERSION_1) | VU_BIT(VU_F_PROTOCOL_FEATURES));
	add_memory(f);
	ring_up(f, 0, 0, -1);
	f->fp.nsent = 0;
	*state = f;
	return 0;
}

static int fx_teardown(void **state)
{
	struct fx *f = *state;

	vu_backend_disconnect(&f->b);
	assert_int_equal(f->fp.maps, f->fp.unmaps);
	fake_platform_fini(&f->fp);
	free(f);
	return 0;
}

/* One writable buffer of 32 bytes; returns the head. */
static uint16_t post(struct fx *f, uint32_t q)
{
	struct test_seg s = {.gpa = test_ring_alloc(&f->ring[q], 32), .len = 32, .write = true};

	return test_ring_add(&f->ring[q], &s, 1);
}

static void expect_used(struct fx *f, uint32_t q, uint16_t head, uint32_t len)
{
	uint32_t id, l;

	assert_true(test_ring_pop_used(&f->ring[q], &id, &l));
	assert_int_equal(id, head);
	assert_int_equal(l, len);
}

static void expect_no_used(struct fx *f, uint32_t q)
{
	assert_int_equal(test_ring_used_pending(&f->ring[q]), 0);
}

/* The GET_VRING_BASE reply: the only message sent so far. */
static uint32_t base_reply(const struct fx *f, int i, uint32_t ring)
{
	const struct vu_msg *r;

	assert_true(i < f->fp.nsent);
	r = &f->fp.sent[i];
	assert_int_equal(r->hdr.request, VU_REQ_GET_VRING_BASE);
	assert_int_equal(r->hdr.flags, VU_REPLY_FLAGS);
	assert_int_equal(r->p.state.index, ring);
	return r->p.state.num;
}

/* Three chains taken and held (tokens in f->dev.toks[0..2]). */
static void three_pending(struct fx *f, uint16_t *h)
{
	for (int i = 0; i < 3; i++)
		h[i] = post(f, 0);
	f->dev.answer = VU_PENDING;
	assert_int_equal(vu_backend_poll(&f->b, 8), 3);
	assert_int_equal(vu_ring_pending(&f->b, 0), 3);
	expect_no_used(f, 0);
}

/* ---- done / pending / not now ------------------------------------------- */

static void test_done_publishes_used_entry(void **state)
{
	struct fx *f = *state;
	uint16_t h = post(f, 0);

	f->dev.written = 7;
	assert_int_equal(vu_backend_poll(&f->b, 8), 1);
	expect_used(f, 0, h, 7);
	assert_int_equal(vu_ring_pending(&f->b, 0), 0);
}

static void test_pending_completes_later(void **state)
{
	struct fx *f = *state;
	uint16_t h = post(f, 0);

	f->dev.answer = VU_PENDING;
	assert_int_equal(vu_backend_poll(&f->b, 8), 1);
	expect_no_used(f, 0);
	assert_int_equal(vu_ring_pending(&f->b, 0), 1);
	/* Nothing more to take: the held chain is not offered again. */
	assert_int_equal(vu_backend_poll(&f->b, 8), 0);
	assert_int_equal(f->dev.served, 1);
	assert_int_equal(vu_complete(&f->b, f->dev.toks[0], 12), 0);
	expect_used(f, 0, h, 12);
	assert_int_equal(vu_ring_pending(&f->b, 0), 0);
}

static void test_out_of_order_completion(void **state)
{
	struct fx *f = *state;
	uint16_t h[3];

	three_pending(f, h);
	assert_int_equal(vu_complete(&f->b, f->dev.toks[2], 3), 0);
	assert_int_equal(vu_complete(&f->b, f->dev.toks[0], 1), 0);
	assert_int_equal(vu_complete(&f->b, f->dev.toks[1], 2), 0);
	expect_used(f, 0, h[2], 3);
	expect_used(f, 0, h[0], 1);
	expect_used(f, 0, h[1], 2);
	assert_int_equal(vu_ring_pending(&f->b, 0), 0);
}

static void test_completion_twice_is_refused(void **state)
{
	struct fx *f = *state;
	uint16_t h[3];

	three_pending(f, h);
	assert_int_equal(vu_complete(&f->b, f->dev.toks[1], 5), 0);
	assert_int_equal(vu_complete(&f->b, f->dev.toks[1], 5), -ESTALE);
	expect_used(f, 0, h[1], 5);
	expect_no_used(f, 0);
	assert_int_equal(f->b.n_late, 1);
	/* A made-up token (ring out of range, epoch 0) changes nothing. */
	assert_int_equal(vu_complete(&f->b, (struct vu_token){.epoch = 0, .ring = 0, .head = 0}, 1),
			 -ESTALE);
	assert_int_equal(
		vu_complete(&f->b, (struct vu_token){.epoch = f->dev.toks[0].epoch, .ring = 9}, 1),
		-ESTALE);
	expect_no_used(f, 0);
	assert_int_equal(vu_ring_pending(&f->b, 0), 2);
}

/* Not now: the chain goes back, and the ring is not looked at again in this
 * turn even though another chain waits behind it. */
static void test_not_now_puts_back_and_skips_ring(void **state)
{
	struct fx *f = *state;
	uint16_t h1 = post(f, 0), h2 = post(f, 0);

	f->dev.answer = VU_NOT_NOW;
	assert_int_equal(vu_backend_poll(&f->b, 8), 0);
	assert_int_equal(f->dev.served, 1);
	assert_int_equal(f->dev.heads[0], h1);
	assert_int_equal(f->b.vq[0].last_avail_idx, 0);
	assert_int_equal(vu_ring_pending(&f->b, 0), 0);
	assert_false(vu_vq_head_in_use(&f->b.vq[0], h1));
	assert_int_equal(f->b.n_not_now, 1);
	expect_no_used(f, 0);
	/* A polled ring is looked at again next turn: the same chain first. */
	f->dev.answer = VU_DONE;
	f->dev.written = 4;
	assert_int_equal(vu_backend_poll(&f->b, 8), 2);
	assert_int_equal(f->dev.heads[1], h1);
	expect_used(f, 0, h1, 4);
	expect_used(f, 0, h2, 4);
}

/* A kicked ring waits for a kick after "not now": the driver's, or the
 * device's own vu_backend_kick() once it has room. */
static void test_not_now_on_kicked_ring_waits_for_kick(void **state)
{
	struct fx *f = *state;
	int kick = fake_file_new(&f->fp, 8);
	uint16_t h;

	ring_up(f, 1, 0, kick);
	f->dev.served = 0;
	h = post(f, 1);
	f->dev.answer = VU_NOT_NOW;
	assert_int_equal(vu_backend_poll(&f->b, 8), 0); /* the start's own look */
	assert_int_equal(f->dev.served, 1);
	assert_int_equal(vu_backend_poll(&f->b, 8), 0);
	assert_int_equal(f->dev.served, 1);
	f->dev.answer = VU_DONE;
	vu_backend_kick(&f->b, 1);
	assert_int_equal(vu_backend_poll(&f->b, 8), 1);
	expect_used(f, 1, h, 0);
}

/* ---- GET_VRING_BASE waits for pending requests -------------------------- */

static void test_get_vring_base_waits_for_last_pending(void **state)
{
	struct fx *f = *state;
	uint16_t h[3];

	three_pending(f, h);
	post(f, 0); /* never taken: the ring stops first */
	assert_int_equal(send_state(f, VU_REQ_GET_VRING_BASE, 0, 0), 0);
	assert_int_equal(f->fp.nsent, 0);
	assert_false(vu_ring_started(&f->b, 0));
	/* The loop keeps running; the stopped ring takes nothing new. */
	assert_int_equal(vu_backend_poll(&f->b, 8), 0);
	assert_int_equal(vu_complete(&f->b, f->dev.toks[1], 1), 0);
	assert_int_equal(vu_complete(&f->b, f->dev.toks[0], 1), 0);
	assert_int_equal(f->fp.nsent, 0);
	assert_int_equal(vu_complete(&f->b, f->dev.toks[2], 1), 0);
	assert_int_equal(f->fp.nsent, 1);
	assert_int_equal(base_reply(f, 0, 0), 3);
	expect_used(f, 0, h[1], 1);
	expect_used(f, 0, h[0], 1);
	expect_used(f, 0, h[2], 1);
	/* Answered once only. */
	assert_int_equal(vu_backend_poll(&f->b, 8), 0);
	assert_int_equal(f->fp.nsent, 1);
}

static void test_get_vring_base_without_pending_replies_at_once(void **state)
{
	struct fx *f = *state;

	post(f, 0);
	assert_int_equal(vu_backend_poll(&f->b, 8), 1);
	assert_int_equal(send_state(f, VU_REQ_GET_VRING_BASE, 0, 0), 0);
	assert_int_equal(f->fp.nsent, 1);
	assert_int_equal(base_reply(f, 0, 0), 1);
}

/* The memory under a stopped ring goes away while GET_VRING_BASE waits:
 * the requests cannot be published, but the reply still comes. */
static void test_get_vring_base_answered_when_memory_goes(void **state)
{
	struct fx *f = *state;
	struct vu_msg *m;
	uint16_t h[3];

	three_pending(f, h);
	assert_int_equal(send_state(f, VU_REQ_GET_VRING_BASE, 0, 0), 0);
	m = mk(f, VU_REQ_REM_MEM_REG, sizeof(struct vu_mem_single_msg));
	m->p.mem_single.region =
		(struct vu_mem_region){.gpa = MEM_GPA, .size = MEM_SIZE, .uaddr = MEM_UADDR};
	assert_int_equal(handle(f), 0);
	assert_int_equal(vu_complete(&f->b, f->dev.toks[0], 1), -EIO);
	assert_int_equal(vu_complete(&f->b, f->dev.toks[1], 1), -EIO);
	assert_int_equal(f->fp.nsent, 0);
	assert_int_equal(vu_complete(&f->b, f->dev.toks[2], 1), -EIO);
	assert_int_equal(base_reply(f, 0, 0), 3);
	assert_int_equal(f->b.n_dropped, 3);
}

/* While its requests are pending a ring keeps its layout: they complete
 * into it. */
static void test_ring_setup_refused_while_pending(void **state)
{
	struct fx *f = *state;
	uint16_t h[3];

	three_pending(f, h);
	assert_int_equal(send_state(f, VU_REQ_GET_VRING_BASE, 0, 0), 0);
	assert_true(send_state(f, VU_REQ_SET_VRING_NUM, 0, QSZ) < 0);
	assert_true(send_state(f, VU_REQ_SET_VRING_BASE, 0, 0) < 0);
	for (int i = 0; i < 3; i++)
		assert_int_equal(vu_complete(&f->b, f->dev.toks[i], 0), 0);
	assert_int_equal(base_reply(f, 0, 0), 3);
	assert_int_equal(send_state(f, VU_REQ_SET_VRING_NUM, 0, QSZ), 0);
}

/* ---- resets drop pending requests --------------------------------------- */

/* What every dropping reset must leave: the late completion is counted and
 * writes no used entry, and the device was told to forget its tokens. */
static void expect_dropped(struct fx *f, uint32_t resets_before)
{
	uint16_t used = test_ring_used(&f->ring[0])->idx;

	assert_int_equal(f->b.n_dropped, 3);
	assert_int_equal(vu_ring_pending(&f->b, 0), 0);
	for (int i = 0; i < 3; i++)
		assert_int_equal(vu_complete(&f->b, f->dev.toks[i], 9), -ESTALE);
	assert_int_equal(f->b.n_late, 3);
	assert_int_equal(test_ring_used(&f->ring[0])->idx, used);
	expect_no_used(f, 0);
	assert_int_equal(f->dev.resets, resets_before + 1);
}

static void test_reset_device_drops_pending(void **state)
{
	struct fx *f = *state;
	uint16_t h[3];

	three_pending(f, h);
	assert_int_equal(send_empty(f, VU_REQ_RESET_DEVICE), 0);
	expect_dropped(f, 0);
}

static void test_set_status_0_drops_pending(void **state)
{
	struct fx *f = *state;
	uint16_t h[3];

	three_pending(f, h);
	assert_int_equal(send_u64(f, VU_REQ_SET_STATUS, 0), 0);
	expect_dropped(f, 0);
	assert_false(vu_ring_started(&f->b, 0));
}

static void test_reset_owner_drops_pending(void **state)
{
	struct fx *f = *state;
	uint16_t h[3];

	three_pending(f, h);
	assert_int_equal(send_empty(f, VU_REQ_RESET_OWNER), 0);
	expect_dropped(f, 0);
	assert_false(f->b.owner);
}

static void test_disconnect_drops_pending(void **state)
{
	struct fx *f = *state;
	uint16_t h[3];

	three_pending(f, h);
	vu_backend_disconnect(&f->b);
	expect_dropped(f, 0);
}

/* The same head taken again after a reset and restart is a new request: a
 * completion of the old one (its token from the earlier epoch) must not
 * finish it. */
static void test_stale_token_never_completes_a_new_request(void **state)
{
	struct fx *f = *state;
	uint16_t h = post(f, 0);
	struct vu_token old;

	f->dev.answer = VU_PENDING;
	assert_int_equal(vu_backend_poll(&f->b, 8), 1);
	old = f->dev.toks[0];
	assert_int_equal(send_empty(f, VU_REQ_RESET_DEVICE), 0);
	negotiate(f, VU_BIT(VU_F_VERSION_1) | VU_BIT(VU_F_PROTOCOL_FEATURES));
	ring_up(f, 0, 1, -1);
	f->ring[0].next_desc = h;
	assert_int_equal(post(f, 0), h);
	assert_int_equal(vu_backend_poll(&f->b, 8), 1);
	assert_int_equal(f->dev.heads[1], h);
	assert_int_equal(vu_complete(&f->b, old, 1), -ESTALE);
	assert_int_equal(vu_ring_pending(&f->b, 0), 1);
	assert_int_equal(test_ring_used(&f->ring[0])->idx, 0);
	assert_int_equal(vu_complete(&f->b, f->dev.toks[1], 2), 0);
	assert_int_equal(test_ring_used(&f->ring[0])->idx, 1);
}

/* Disabling stops taking chains but the ring still exists: pending
 * requests complete into it, and GET_VRING_BASE (QEMU's next message)
 * waits for them. */
static void test_enable_0_keeps_pending(void **state)
{
	struct fx *f = *state;
	uint16_t h[3];

	three_pending(f, h);
	post(f, 0);
	assert_int_equal(send_state(f, VU_REQ_SET_VRING_ENABLE, 0, 0), 0);
	assert_int_equal(vu_backend_poll(&f->b, 8), 0);
	assert_int_equal(f->dev.served, 3);
	assert_int_equal(vu_complete(&f->b, f->dev.toks[0], 2), 0);
	expect_used(f, 0, h[0], 2);
	assert_int_equal(send_state(f, VU_REQ_GET_VRING_BASE, 0, 0), 0);
	assert_int_equal(f->fp.nsent, 0);
	assert_int_equal(vu_complete(&f->b, f->dev.toks[1], 2), 0);
	assert_int_equal(vu_complete(&f->b, f->dev.toks[2], 2), 0);
	assert_int_equal(base_reply(f, 0, 0), 3);
	assert_int_equal(f->b.n_dropped, 0);
}

/* A GET_VRING_BASE still due when a reset comes is answered by it. */
static void test_reset_answers_due_get_vring_base(void **state)
{
	struct fx *f = *state;
	uint16_t h[3];

	three_pending(f, h);
	assert_int_equal(send_state(f, VU_REQ_GET_VRING_BASE, 0, 0), 0);
	assert_int_equal(f->fp.nsent, 0);
	assert_int_equal(send_empty(f, VU_REQ_RESET_DEVICE), 0);
	assert_int_equal(f->fp.nsent, 1);
	assert_int_equal(base_reply(f, 0, 0), 3);
	expect_dropped(f, 0);
	assert_int_equal(f->fp.nsent, 1);
}

/* QEMU 7.2 stops with SET_STATUS 0 and only then asks GET_VRING_BASE: the
 * reset must leave the next avail index for that answer. */
static void test_status_0_then_get_vring_base_keeps_index(void **state)
{
	struct fx *f = *state;

	for (int i = 0; i < 5; i++)
		post(f, 0);
	assert_int_equal(vu_backend_poll(&f->b, 8), 5);
	assert_int_equal(send_u64(f, VU_REQ_SET_STATUS, 0), 0);
	assert_int_equal(send_state(f, VU_REQ_GET_VRING_BASE, 0, 0), 0);
	assert_int_equal(base_reply(f, 0, 0), 5);
}

/* ---- status gates the rings --------------------------------------------- */

/* QEMU 7.2 sends only FEATURES_OK to vhost-user-rng and -vsock (DRIVER_OK
 * goes only to devices with vq_index_end, such as blk): a status without
 * DRIVER_OK, before any DRIVER_OK was seen, must not stop the rings. */
static void test_features_ok_alone_does_not_gate(void **state)
{
	struct fx *f = *state;
	uint16_t h;

	assert_int_equal(send_u64(f, VU_REQ_SET_STATUS, ST_FEATURES_OK), 0);
	h = post(f, 0);
	assert_true(vu_ring_live(&f->b, 0));
	assert_int_equal(vu_backend_poll(&f->b, 8), 1);
	expect_used(f, 0, h, 0);
}

/* blk under QEMU 7.2: once DRIVER_OK was seen, a stop (SET_STATUS 0) and a
 * new start (FEATURES_OK, rings enabled, then DRIVER_OK) keep the rings
 * waiting, their start's look kept, until DRIVER_OK arrives. */
static void test_rings_wait_for_driver_ok_after_restart(void **state)
{
	struct fx *f = *state;
	uint16_t h;

	assert_int_equal(send_u64(f, VU_REQ_SET_STATUS, ST_FEATURES_OK | ST_DRIVER_OK), 0);
	assert_int_equal(send_u64(f, VU_REQ_SET_STATUS, 0), 0);
	negotiate(f, VU_BIT(VU_F_VERSION_1) | VU_BIT(VU_F_PROTOCOL_FEATURES));
	assert_int_equal(send_u64(f, VU_REQ_SET_STATUS, ST_FEATURES_OK), 0);
	ring_up(f, 0, 0, -1);
	h = post(f, 0);
	assert_int_equal(vu_backend_poll(&f->b, 8), 0);
	assert_int_equal(f->dev.served, 0);
	assert_false(vu_ring_live(&f->b, 0));
	assert_int_equal(send_u64(f, VU_REQ_SET_STATUS, ST_FEATURES_OK | ST_DRIVER_OK), 0);
	assert_true(vu_ring_live(&f->b, 0));
	assert_int_equal(vu_backend_poll(&f->b, 8), 1);
	expect_used(f, 0, h, 0);
}

/* A new connection starts ungated again. */
static void test_disconnect_forgets_driver_ok(void **state)
{
	struct fx *f = *state;
	uint16_t h;

	assert_int_equal(send_u64(f, VU_REQ_SET_STATUS, ST_DRIVER_OK), 0);
	vu_backend_disconnect(&f->b);
	negotiate(f, VU_BIT(VU_F_VERSION_1) | VU_BIT(VU_F_PROTOCOL_FEATURES));
	add_memory(f);
	ring_up(f, 0, 0, -1);
	assert_int_equal(send_u64(f, VU_REQ_SET_STATUS, ST_FEATURES_OK), 0);
	h = post(f, 0);
	assert_int_equal(vu_backend_poll(&f->b, 8), 1);
	expect_used(f, 0, h, 0);
}

/* FAILED stops the rings and says so; the status byte reads back. */
static void test_failed_status_stops_rings(void **state)
{
	struct fx *f = *state;
	uint16_t h;

	assert_int_equal(send_u64(f, VU_REQ_SET_STATUS, ST_DRIVER_OK | ST_FAILED), 0);
	assert_non_null(strstr(f->fp.last_log, "FAILED"));
	h = post(f, 0);
	assert_int_equal(vu_backend_poll(&f->b, 8), 0);
	assert_int_equal(f->dev.served, 0);
	assert_int_equal(send_empty(f, VU_REQ_GET_STATUS), 0);
	assert_int_equal(f->fp.sent[f->fp.nsent - 1].p.u64, ST_DRIVER_OK | ST_FAILED);
	assert_int_equal(send_u64(f, VU_REQ_SET_STATUS, ST_DRIVER_OK), 0);
	assert_int_equal(vu_backend_poll(&f->b, 8), 1);
	expect_used(f, 0, h, 0);
}

/* ---- inflight tracking covers pending requests -------------------------- */

static const struct vu_inflight_queue *inflight_up(struct fx *f)
{
	struct vu_msg *m;
	int fd;

	/* The region must exist before the ring starts: stop ring 0 first. */
	assert_int_equal(send_state(f, VU_REQ_GET_VRING_BASE, 0, 0), 0);
	m = mk(f, VU_REQ_GET_INFLIGHT_FD, sizeof(struct vu_inflight_msg));
	m->p.inflight.num_queues = 1;
	m->p.inflight.queue_size = QSZ;
	assert_int_equal(handle(f), 0);
	fd = f->fp.sent[f->fp.nsent - 1].fds[0];
	ring_up(f, 0, 0, -1);
	f->fp.nsent = 0;
	return (const void *)fake_file_ptr(&f->fp, fd, 0);
}

static void test_inflight_marks_pending_until_completed(void **state)
{
	struct fx *f = *state;
	const struct vu_inflight_queue *q = inflight_up(f);
	uint16_t h[3];

	three_pending(f, h);
	for (int i = 0; i < 3; i++)
		assert_int_equal(q->desc[h[i]].inflight, 1);
	assert_int_equal(vu_complete(&f->b, f->dev.toks[1], 0), 0);
	assert_int_equal(q->desc[h[1]].inflight, 0);
	assert_int_equal(q->desc[h[0]].inflight, 1);
	assert_int_equal(q->desc[h[2]].inflight, 1);
	/* A reset drops them but leaves them marked: a restarted ring
	 * resubmits them instead of losing them. */
	assert_int_equal(send_u64(f, VU_REQ_SET_STATUS, 0), 0);
	assert_int_equal(q->desc[h[0]].inflight, 1);
	assert_int_equal(q->desc[h[2]].inflight, 1);
}

static void test_inflight_cleared_by_not_now(void **state)
{
	struct fx *f = *state;
	const struct vu_inflight_queue *q = inflight_up(f);
	uint16_t h = post(f, 0);

	f->dev.answer = VU_NOT_NOW;
	assert_int_equal(vu_backend_poll(&f->b, 8), 0);
	assert_int_equal(q->desc[h].inflight, 0);
	f->dev.answer = VU_PENDING;
	assert_int_equal(vu_backend_poll(&f->b, 8), 1);
	assert_int_equal(q->desc[h].inflight, 1);
}

/* ---- hostile driver ----------------------------------------------------- */

/* The driver posts a head the device still holds: the ring stops with a
 * reason, and the device is never offered the same buffer twice. */
static void test_head_posted_twice_breaks_ring(void **state)
{
	struct fx *f = *state;
	uint16_t h = post(f, 0);

	f->dev.answer = VU_PENDING;
	assert_int_equal(vu_backend_poll(&f->b, 8), 1);
	test_ring_publish(&f->ring[0], h);
	assert_int_equal(vu_backend_poll(&f->b, 8), 0);
	assert_int_equal(f->dev.served, 1);
	assert_true(f->b.vq[0].broken);
	assert_non_null(strstr(f->fp.last_log, "still in use"));
	assert_non_null(strstr(f->fp.last_log, "ring 0"));
	/* The held request still completes. */
	assert_int_equal(vu_complete(&f->b, f->dev.toks[0], 1), 0);
	expect_used(f, 0, h, 1);
}

/* A chain whose head is an indirect descriptor naming a one-entry table
 * with a 32-byte writable buffer. Returns the head. */
static uint16_t post_indirect(struct fx *f)
{
	struct test_ring *r = &f->ring[0];
	uint64_t table = test_ring_alloc(r, 16), data = test_ring_alloc(r, 32);
	struct vring_desc *t = test_ring_ptr(r, table);
	uint16_t head = r->next_desc;

	t[0] = (struct vring_desc){.addr = data, .len = 32, .flags = VRING_DESC_F_WRITE};
	test_ring_desc(r)[head] =
		(struct vring_desc){.addr = table, .len = 16, .flags = VRING_DESC_F_INDIRECT};
	r->next_desc = (uint16_t)((head + 1) % r->size);
	test_ring_publish(r, head);
	return head;
}

/* VIRTIO_F_RING_INDIRECT_DESC was not negotiated: an indirect descriptor is
 * a ring error that names itself, never a chain the device sees. */
static void test_indirect_without_feature_is_ring_error(void **state)
{
	struct fx *f = *state;
	uint16_t h = post_indirect(f);
	char want[32];

	assert_int_equal(vu_backend_poll(&f->b, 8), 0);
	assert_int_equal(f->dev.served, 0);
	assert_true(f->b.vq[0].broken);
	assert_non_null(strstr(f->fp.last_log, "indirect descriptor but RING_INDIRECT_DESC"));
	snprintf(want, sizeof(want), "ring 0: ");
	assert_non_null(strstr(f->fp.last_log, want));
	snprintf(want, sizeof(want), "head %u, addr 0x", h);
	assert_non_null(strstr(f->fp.last_log, want));
}

static void test_indirect_with_feature_is_served(void **state)
{
	struct fx *f = *state;
	uint16_t h;

	assert_int_equal(send_u64(f, VU_REQ_SET_FEATURES,
				  VU_BIT(VU_F_VERSION_1) | VU_BIT(VU_F_PROTOCOL_FEATURES) |
					  VU_BIT(VU_F_RING_INDIRECT_DESC)),
			 0);
	h = post_indirect(f);
	f->dev.written = 32;
	assert_int_equal(vu_backend_poll(&f->b, 8), 1);
	expect_used(f, 0, h, 32);
	assert_false(f->b.vq[0].broken);
}

/* Every ring error says why, with the ring, and the head and address when
 * a chain is concerned (as msg.c does for messages). */
static void test_ring_error_says_why(void **state)
{
	struct fx *f = *state;
	struct test_seg s = {.gpa = MEM_GPA + MEM_SIZE, .len = 16, .write = true};
	uint16_t h = test_ring_add(&f->ring[0], &s, 1);
	char want[64];

	assert_int_equal(vu_backend_poll(&f->b, 8), 0);
	assert_true(f->b.vq[0].broken);
	snprintf(want, sizeof(want), "ring 0: buffer not in mapped memory");
	assert_non_null(strstr(f->fp.last_log, want));
	snprintf(want, sizeof(want), "(head %u, addr 0x%llx", h,
		 (unsigned long long)(MEM_GPA + MEM_SIZE));
	assert_non_null(strstr(f->fp.last_log, want));

	/* No chain concerned: the avail index jumped past the ring size. */
	ring_up(f, 1, 0, -1);
	test_ring_avail(&f->ring[1])->idx = QSZ + 1;
	assert_int_equal(vu_backend_poll(&f->b, 8), 0);
	assert_non_null(strstr(f->fp.last_log,
			       "ring 1: driver moved the avail index by more than the ring size"));
}

int main(void)
{
#define T(t) cmocka_unit_test_setup_teardown(t, fx_setup, fx_teardown)
	const struct CMUnitTest tests[] = {
		T(test_done_publishes_used_entry),
		T(test_pending_completes_later),
		T(test_out_of_order_completion),
		T(test_completion_twice_is_refused),
		T(test_not_now_puts_back_and_skips_ring),
		T(test_not_now_on_kicked_ring_waits_for_kick),
		T(test_get_vring_base_waits_for_last_pending),
		T(test_get_vring_base_without_pending_replies_at_once),
		T(test_get_vring_base_answered_when_memory_goes),
		T(test_ring_setup_refused_while_pending),
		T(test_reset_device_drops_pending),
		T(test_set_status_0_drops_pending),
		T(test_reset_owner_drops_pending),
		T(test_disconnect_drops_pending),
		T(test_stale_token_never_completes_a_new_request),
		T(test_enable_0_keeps_pending),
		T(test_reset_answers_due_get_vring_base),
		T(test_status_0_then_get_vring_base_keeps_index),
		T(test_features_ok_alone_does_not_gate),
		T(test_rings_wait_for_driver_ok_after_restart),
		T(test_disconnect_forgets_driver_ok),
		T(test_failed_status_stops_rings),
		T(test_inflight_marks_pending_until_completed),
		T(test_inflight_cleared_by_not_now),
		T(test_head_posted_twice_breaks_ring),
		T(test_indirect_without_feature_is_ring_error),
		T(test_indirect_with_feature_is_served),
		T(test_ring_error_says_why),
	};
#undef T
	return cmocka_run_group_tests(tests, NULL, NULL);
}
