/* test_session.c - one turn of a session (vu/session.h), as uvhostd's loop
 * and the service VM's session pollers both run it.
 *
 * A real back-end on the fake platform, fed by a scripted transport: a
 * queue of front-end messages, a reply-room switch, a flush that can fail
 * and a backend-channel readiness switch. What is checked:
 *   - at most VU_SESSION_MSGS_PER_STEP messages per turn, the rest the next;
 *   - no message is read while a whole reply would not fit;
 *   - queued output is flushed first, and again after the turn's messages;
 *     a flush failure ends the session before anything is read;
 *   - every way a turn can end the session names why (end of stream,
 *     header size over the limit, receive failed, request refused);
 *   - the backend channel's replies are read only when the transport says
 *     they may be there;
 *   - the device's own completions (ops->poll) are taken every turn and
 *     count as work;
 *   - the busy-poll window.
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

#include "helpers/fake_platform.h"
#include "helpers/msg_build.h"
#include "vu/backend.h"
#include "vu/session.h"

#define QUEUED_MAX 32

static int no_serve(void *dev, struct vu_backend *b, struct vu_req *req)
{
	(void)dev;
	(void)b;
	(void)req;
	return VU_DONE;
}

/* Completions the device finishes outside serve(): each poll reports how
 * many it finished and records the budget it was given. */
static int completions_ready;
static unsigned polls, poll_budget;

static int count_poll(void *dev, struct vu_backend *b, unsigned budget)
{
	int n = completions_ready;

	(void)dev;
	(void)b;
	polls++;
	poll_budget = budget;
	completions_ready = 0;
	return n;
}

static const struct vu_device_ops ops = {.serve = no_serve, .poll = count_poll};

struct fx {
	struct fake_platform fp;
	struct vu_backend b;
	struct vu_device desc;
	struct vu_session s;
	struct vu_session_io io;
	struct vu_msg rx;
	/* the scripted transport */
	struct vu_msg queued[QUEUED_MAX];
	int nqueued, pos;
	int recv_err; /* after the queue: this, or -EAGAIN if 0 */
	bool room;
	int flush_err;
	int flushes, recvs;
	bool chan_ready;
};

static int t_recv(void *ctx, struct vu_msg *msg)
{
	struct fx *f = ctx;

	f->recvs++;
	if (f->pos < f->nqueued) {
		*msg = f->queued[f->pos++];
		return 0;
	}
	return f->recv_err ? f->recv_err : -EAGAIN;
}

static bool t_room(void *ctx)
{
	return ((struct fx *)ctx)->room;
}

static int t_flush(void *ctx)
{
	struct fx *f = ctx;

	f->flushes++;
	return f->flush_err;
}

static bool t_chan(void *ctx)
{
	return ((struct fx *)ctx)->chan_ready;
}

static void queue(struct fx *f, uint32_t request, uint32_t size)
{
	assert_true(f->nqueued < QUEUED_MAX);
	msg_build(&f->queued[f->nqueued++], request, size);
}

/* A request that wants a reply, so each one handled is one message sent. */
static void queue_get_features(struct fx *f, int n)
{
	while (n-- > 0)
		queue(f, VU_REQ_GET_FEATURES, 0);
}

static int fx_setup(void **state)
{
	struct fx *f = calloc(1, sizeof(*f));

	if (!f)
		return -1;
	fake_platform_init(&f->fp, 1);
	f->desc = (struct vu_device){
		.ops = &ops, .name = "none", .num_queues = 1, .max_queue_size = 256};
	vu_backend_init(&f->b, &f->fp.plat, &f->desc, NULL, NULL);
	f->io = (struct vu_session_io){.recv = t_recv,
				       .can_reply = t_room,
				       .flush = t_flush,
				       .backend_ready = t_chan,
				       .ctx = f};
	vu_session_init(&f->s, &f->b, &f->io, &f->rx);
	f->room = true;
	completions_ready = 0;
	polls = poll_budget = 0;
	*state = f;
	return 0;
}

static int fx_teardown(void **state)
{
	struct fx *f = *state;

	vu_backend_disconnect(&f->b);
	fake_platform_fini(&f->fp);
	free(f);
	return 0;
}

static void test_messages_per_step_are_bounded(void **state)
{
	struct fx *f = *state;

	queue_get_features(f, VU_SESSION_MSGS_PER_STEP + 3);
	assert_int_equal(vu_session_step(&f->s), VU_SESSION_MSGS_PER_STEP);
	assert_int_equal(f->fp.nsent, VU_SESSION_MSGS_PER_STEP);
	assert_int_equal(vu_session_step(&f->s), 3);
	assert_int_equal(f->fp.nsent, VU_SESSION_MSGS_PER_STEP + 3);
	assert_int_equal(vu_session_step(&f->s), 0);
	assert_null(f->s.why);
}

static void test_no_read_without_room_for_a_reply(void **state)
{
	struct fx *f = *state;

	queue_get_features(f, 2);
	f->room = false;
	assert_int_equal(vu_session_step(&f->s), 0);
	assert_int_equal(f->recvs, 0);
	assert_int_equal(f->fp.nsent, 0);
	f->room = true;
	assert_int_equal(vu_session_step(&f->s), 2);
}

static void test_flush_before_and_after_messages(void **state)
{
	struct fx *f = *state;

	assert_int_equal(vu_session_step(&f->s), 0);
	assert_int_equal(f->flushes, 1); /* an idle turn: once */
	queue_get_features(f, 1);
	assert_int_equal(vu_session_step(&f->s), 1);
	assert_int_equal(f->flushes, 3); /* the reply leaves in the same turn */
}

static void test_flush_failure_ends_before_reading(void **state)
{
	struct fx *f = *state;

	queue_get_features(f, 1);
	f->flush_err = -EPIPE;
	assert_int_equal(vu_session_step(&f->s), -EPIPE);
	assert_string_equal(f->s.why, "send failed");
	assert_int_equal(f->recvs, 0);
}

static void expect_end(struct fx *f, int err, const char *why)
{
	f->recv_err = err;
	assert_int_equal(vu_session_step(&f->s), err);
	assert_string_equal(f->s.why, why);
}

static void test_end_of_stream_is_named(void **state)
{
	expect_end(*state, -ECONNRESET, "end of stream");
}

static void test_oversized_header_is_named(void **state)
{
	expect_end(*state, -EMSGSIZE, "header size over the limit");
}

static void test_receive_error_is_named(void **state)
{
	expect_end(*state, -EIO, "receive failed");
}

static void test_refused_request_ends_the_session(void **state)
{
	struct fx *f = *state;

	queue_get_features(f, 1);
	queue(f, VU_REQ_GET_FEATURES, 0);
	f->queued[1].hdr.flags = 2; /* version 2: hostile */
	queue_get_features(f, 1);
	assert_true(vu_session_step(&f->s) < 0);
	assert_string_equal(f->s.why, "request refused");
	assert_int_equal(f->pos, 2); /* nothing read after the refused one */
	assert_int_equal(f->fp.nsent, 1);
}

static void test_backend_replies_only_when_ready(void **state)
{
	struct fx *f = *state;

	/* A channel whose reply nobody waits for: reading it is work (a bad
	 * reply, counted), so the count shows whether it was read. */
	f->b.backend_chan = fake_file_new(&f->fp, 8);
	fake_backend_reply(&f->fp, VU_BREQ_SHMEM_MAP, 0);
	f->chan_ready = false;
	assert_int_equal(vu_session_step(&f->s), 0);
	assert_int_equal(f->fp.backend_rx_pos, 0);
	f->chan_ready = true;
	(void)vu_session_step(&f->s);
	assert_int_equal(f->fp.backend_rx_pos, 1);
}

static void test_device_completions_each_turn(void **state)
{
	struct fx *f = *state;

	/* Every turn asks the device, with the ring budget, and its
	 * completions count as the turn's work... */
	assert_int_equal(vu_session_step(&f->s), 0);
	assert_int_equal(polls, 1);
	assert_int_equal(poll_budget, VU_SESSION_RING_BUDGET);
	completions_ready = 3;
	queue_get_features(f, 1);
	assert_int_equal(vu_session_step(&f->s), 4);
	assert_int_equal(polls, 2);
	/* ... but not after the transport failed. */
	f->flush_err = -EPIPE;
	completions_ready = 2;
	assert_int_equal(vu_session_step(&f->s), -EPIPE);
	assert_int_equal(polls, 2);
}

static void test_busy_poll_window(void **state)
{
	struct vu_busy_poll bp = {.window_ns = 1000, .last_work_ns = 0};
	struct vu_busy_poll off = {.window_ns = 0, .last_work_ns = 0};

	(void)state;
	assert_true(vu_busy_poll_turn(&bp, 3, 5000));
	assert_true(vu_busy_poll_turn(&bp, 0, 5999));
	assert_false(vu_busy_poll_turn(&bp, 0, 6000));
	assert_true(vu_busy_poll_turn(&bp, 1, 7000));
	assert_true(vu_busy_poll_turn(&off, 1, 10));
	assert_false(vu_busy_poll_turn(&off, 0, 10));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_messages_per_step_are_bounded, fx_setup,
						fx_teardown),
		cmocka_unit_test_setup_teardown(test_no_read_without_room_for_a_reply, fx_setup,
						fx_teardown),
		cmocka_unit_test_setup_teardown(test_flush_before_and_after_messages, fx_setup,
						fx_teardown),
		cmocka_unit_test_setup_teardown(test_flush_failure_ends_before_reading, fx_setup,
						fx_teardown),
		cmocka_unit_test_setup_teardown(test_end_of_stream_is_named, fx_setup, fx_teardown),
		cmocka_unit_test_setup_teardown(test_oversized_header_is_named, fx_setup,
						fx_teardown),
		cmocka_unit_test_setup_teardown(test_receive_error_is_named, fx_setup, fx_teardown),
		cmocka_unit_test_setup_teardown(test_refused_request_ends_the_session, fx_setup,
						fx_teardown),
		cmocka_unit_test_setup_teardown(test_backend_replies_only_when_ready, fx_setup,
						fx_teardown),
		cmocka_unit_test_setup_teardown(test_device_completions_each_turn, fx_setup,
						fx_teardown),
		cmocka_unit_test_setup_teardown(test_busy_poll_window, fx_setup, fx_teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
