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

/* A clock the test sets by hand (the timed-poller tests). */
static uint64_t set_now;
static uint64_t set_clock(void)
{
	return set_now;
}

static void timed_poller_runs_once_per_period(void **state)
{
	struct k_sched s;
	struct counter t = {0, 1}, every = {0, 0};
	(void)state;
	set_now = 1000;
	k_sched_init(&s, set_clock);
	assert_int_equal(k_sched_add(&s, "every", poll_counter, &every), 0);
	assert_int_equal(k_sched_add_timed(&s, "timed", poll_counter, &t, 10), 1);
	assert_int_equal(s.pollers[1].period_ns, 10000);
	/* Not before one period after it was added. */
	assert_int_equal(k_sched_turn(&s), 0);
	set_now = 1000 + 9999;
	k_sched_turn(&s);
	assert_int_equal(t.calls, 0);
	set_now = 1000 + 10000;
	assert_int_equal(k_sched_turn(&s), 1);
	assert_int_equal(t.calls, 1);
	/* The next period counts from that run; a turn inside it skips it. */
	set_now += 5000;
	k_sched_turn(&s);
	assert_int_equal(t.calls, 1);
	/* Late by many periods: one run, not a burst. */
	set_now += 100000;
	k_sched_turn(&s);
	k_sched_turn(&s);
	assert_int_equal(t.calls, 2);
	assert_int_equal(every.calls, 6);
	assert_int_equal(s.pollers[1].runs, 2);
	assert_int_equal(s.pollers[1].busy_runs, 2);
	assert_int_equal(s.pollers[0].runs, 6);
}

static void next_deadline_is_the_earliest_timed_poller(void **state)
{
	struct k_sched s;
	struct counter a = {0, 0};
	(void)state;
	set_now = 500;
	k_sched_init(&s, set_clock);
	assert_int_equal(k_sched_next_deadline(&s), K_SCHED_NEVER);
	k_sched_add(&s, "every", poll_counter, &a);
	assert_int_equal(k_sched_next_deadline(&s), K_SCHED_NEVER); /* every-turn: no deadline */
	int slow = k_sched_add_timed(&s, "slow", poll_counter, &a, 60);
	int fast = k_sched_add_timed(&s, "fast", poll_counter, &a, 2);
	assert_int_equal(k_sched_next_deadline(&s), 500 + 2000);
	k_sched_remove(&s, fast);
	assert_int_equal(k_sched_next_deadline(&s), 500 + 60000);
	k_sched_remove(&s, slow);
	assert_int_equal(k_sched_next_deadline(&s), K_SCHED_NEVER);
	/* Period 0 is an every-turn poller; a huge one saturates to never. */
	k_sched_add_timed(&s, "zero", poll_counter, &a, 0);
	assert_int_equal(k_sched_next_deadline(&s), K_SCHED_NEVER);
	k_sched_add_timed(&s, "huge", poll_counter, &a, UINT64_MAX);
	assert_int_equal(k_sched_next_deadline(&s), K_SCHED_NEVER);
}

static void sleep_lasts_until_the_next_deadline_within_the_bound(void **state)
{
	struct k_sched s;
	struct counter a = {0, 0};
	(void)state;
	set_now = 0;
	k_sched_init(&s, set_clock);
	/* No timed poller: the caller's bound. */
	assert_int_equal(k_sched_sleep_ns(&s, 0, 500000), 500000);
	k_sched_add_timed(&s, "t", poll_counter, &a, 300);
	/* Deadline at 300 us: sooner than the bound wins, later does not. */
	assert_int_equal(k_sched_sleep_ns(&s, 0, 500000), 300000);
	assert_int_equal(k_sched_sleep_ns(&s, 0, 100000), 100000);
	assert_int_equal(k_sched_sleep_ns(&s, 250000, 500000), 50000);
	/* Due or overdue: do not sleep. */
	assert_int_equal(k_sched_sleep_ns(&s, 300000, 500000), 0);
	assert_int_equal(k_sched_sleep_ns(&s, 900000, 500000), 0);
	/* After it ran at 900 us, the next one is at 1200 us. */
	set_now = 900000;
	k_sched_turn(&s);
	assert_int_equal(k_sched_next_deadline(&s), 1200000);
	assert_int_equal(k_sched_sleep_ns(&s, 900000, 500000), 300000);
}

static void without_a_clock_timed_pollers_run_every_turn(void **state)
{
	struct k_sched s;
	struct counter t = {0, 0};
	(void)state;
	k_sched_init(&s, NULL);
	k_sched_add_timed(&s, "t", poll_counter, &t, 1000);
	k_sched_turn(&s);
	k_sched_turn(&s);
	assert_int_equal(t.calls, 2);
	assert_int_equal(k_sched_next_deadline(&s), K_SCHED_NEVER);
	assert_int_equal(k_sched_sleep_ns(&s, 0, 77), 77);
}

/* Timed and every-turn pollers share one bounded table; a removed timed
 * poller no longer sets a deadline, and its slot serves the next one. */
static void timed_pollers_share_the_bounded_table(void **state)
{
	struct k_sched s;
	struct counter c = {0, 0};
	(void)state;
	set_now = 0;
	k_sched_init(&s, set_clock);
	for (int i = 0; i < K_MAX_POLLERS; i++)
		assert_int_equal(k_sched_add_timed(&s, "t", poll_counter, &c, 1 + (uint64_t)i), i);
	assert_int_equal(k_sched_add_timed(&s, "one too many", poll_counter, &c, 5), -1);
	assert_int_equal(k_sched_add(&s, "one too many", poll_counter, &c), -1);
	assert_int_equal(k_sched_next_deadline(&s), 1000);
	k_sched_remove(&s, 0);
	assert_int_equal(k_sched_next_deadline(&s), 2000);
	assert_int_equal(k_sched_add_timed(&s, "again", poll_counter, &c, 7), 0);
	assert_int_equal(k_sched_next_deadline(&s), 2000);
	set_now = 1000000;
	k_sched_turn(&s);
	assert_int_equal(c.calls, K_MAX_POLLERS);
}

/* Busy or idle, the time of each run goes to its poller (fake_clock: +100
 * per read, one read per run). */
static void busy_and_idle_time_per_poller(void **state)
{
	struct k_sched s;
	struct counter busy = {0, 2}, idle = {0, 0};
	(void)state;
	fake_now = 0;
	k_sched_init(&s, fake_clock);
	k_sched_add(&s, "busy", poll_counter, &busy);
	k_sched_add(&s, "idle", poll_counter, &idle);
	k_sched_turn(&s);
	k_sched_turn(&s);
	k_sched_turn(&s);
	assert_int_equal(s.pollers[0].busy_ns, 300);
	assert_int_equal(s.pollers[0].idle_ns, 0);
	assert_int_equal(s.pollers[1].busy_ns, 0);
	assert_int_equal(s.pollers[1].idle_ns, 300);
	/* The turn is the sum of its runs. */
	assert_int_equal(s.turn_ns_total, 600);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(every_poller_runs_once_per_turn),
		cmocka_unit_test(idle_turns_are_counted_as_idle),
		cmocka_unit_test(removed_poller_no_longer_runs_and_slot_is_reused),
		cmocka_unit_test(table_is_bounded),
		cmocka_unit_test(turn_time_is_measured),
		cmocka_unit_test(timed_poller_runs_once_per_period),
		cmocka_unit_test(next_deadline_is_the_earliest_timed_poller),
		cmocka_unit_test(sleep_lasts_until_the_next_deadline_within_the_bound),
		cmocka_unit_test(without_a_clock_timed_pollers_run_every_turn),
		cmocka_unit_test(busy_and_idle_time_per_poller),
		cmocka_unit_test(timed_pollers_share_the_bounded_table),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
