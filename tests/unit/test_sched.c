/* The cooperative scheduler: every active poller runs once per turn, its
 * counters add up, removed pollers stop running, and the table is bounded. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "kern/sched.h"

struct counter {
	int calls;
	int work; /* returned each call */
};

static int poll_counter(void *ctx)
{
	struct counter *c = ctx;
	c->calls++;
	return c->work;
}

static uint64_t fake_now;
static uint64_t fake_clock(void)
{
	fake_now += 100;
	return fake_now;
}

static void every_poller_runs_once_per_turn(void **state)
{
	struct k_sched s;
	struct counter a = {0, 3}, b = {0, 0};
	(void)state;
	k_sched_init(&s, NULL);
	assert_int_equal(k_sched_add(&s, "a", poll_counter, &a), 0);
	assert_int_equal(k_sched_add(&s, "b", poll_counter, &b), 1);
	assert_int_equal(k_sched_turn(&s), 3);
	assert_int_equal(k_sched_turn(&s), 3);
	assert_int_equal(a.calls, 2);
	assert_int_equal(b.calls, 2);
	assert_int_equal(s.turns, 2);
	assert_int_equal(s.busy_turns, 2);
	assert_int_equal(s.pollers[0].work, 6);
	assert_int_equal(s.pollers[0].busy_runs, 2);
	assert_int_equal(s.pollers[1].busy_runs, 0);
	assert_int_equal(s.pollers[1].runs, 2);
}

static void idle_turns_are_counted_as_idle(void **state)
{
	struct k_sched s;
	struct counter a = {0, 0};
	(void)state;
	k_sched_init(&s, NULL);
	k_sched_add(&s, "idle", poll_counter, &a);
	assert_int_equal(k_sched_turn(&s), 0);
	assert_int_equal(s.turns, 1);
	assert_int_equal(s.busy_turns, 0);
}

static void removed_poller_no_longer_runs_and_slot_is_reused(void **state)
{
	struct k_sched s;
	struct counter a = {0, 1}, b = {0, 1};
	(void)state;
	k_sched_init(&s, NULL);
	int id = k_sched_add(&s, "a", poll_counter, &a);
	k_sched_remove(&s, id);
	assert_int_equal(k_sched_turn(&s), 0);
	assert_int_equal(a.calls, 0);
	assert_int_equal(k_sched_add(&s, "b", poll_counter, &b), id);
	k_sched_remove(&s, -1);		   /* out of range: ignored */
	k_sched_remove(&s, K_MAX_POLLERS); /* out of range: ignored */
	assert_int_equal(k_sched_turn(&s), 1);
}

static void table_is_bounded(void **state)
{
	struct k_sched s;
	struct counter c = {0, 0};
	(void)state;
	k_sched_init(&s, NULL);
	for (int i = 0; i < K_MAX_POLLERS; i++)
		assert_int_equal(k_sched_add(&s, "p", poll_counter, &c), i);
	assert_int_equal(k_sched_add(&s, "one too many", poll_counter, &c), -1);
	k_sched_turn(&s);
	assert_int_equal(c.calls, K_MAX_POLLERS);
}

static void turn_time_is_measured(void **state)
{
	struct k_sched s;
	struct counter a = {0, 1};
	(void)state;
	fake_now = 0;
	k_sched_init(&s, fake_clock);
	k_sched_add(&s, "a", poll_counter, &a);
	k_sched_turn(&s);
	k_sched_turn(&s);
	assert_int_equal(s.turn_ns_max, 100);
	assert_int_equal(s.turn_ns_total, 200);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(every_poller_runs_once_per_turn),
		cmocka_unit_test(idle_turns_are_counted_as_idle),
		cmocka_unit_test(removed_poller_no_longer_runs_and_slot_is_reused),
		cmocka_unit_test(table_is_bounded),
		cmocka_unit_test(turn_time_is_measured),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
