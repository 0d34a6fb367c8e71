/* kern/sched.h - the cooperative scheduler: run-to-completion pollers.
 *
 * Owns: a fixed table of pollers and their counters (runs, busy runs, work
 * done, time spent busy and idle), the loop's own turn-time statistics, as
 * in SPDK's reactor, and when the next timed poller is due.
 * Two kinds of poller, as SPDK's spdk_poller_register(fn, arg, period_us):
 *   - k_sched_add(): runs every turn (rings, sockets: they must be looked at
 *     as often as possible);
 *   - k_sched_add_timed(): runs once `period_us` has passed since its last
 *     run (heartbeat, protocol timeouts). Its first run is one period after
 *     it was added.
 * A loop that found nothing to do asks k_sched_sleep_ns() how long it may
 * sleep: until the next timed poller is due, never longer than its own
 * bound (the longest a ring may go unpolled).
 * Never: preempts, locks or allocates. A poller does a bounded batch and
 * returns how much work it did (0 = idle); it must never block.
 * Used by: the unikernel main loop, and uvhostd (fed by poll(2) readiness).
 */
#ifndef KERN_SCHED_H
#define KERN_SCHED_H

#include <stdint.h>

/* Every-turn and timed pollers of the service VM: heartbeat, entropy, vsock
 * driver and timeouts, control, up to 8 vhost listeners and the session
 * pool's pollers. */
#define K_MAX_POLLERS 48
#define K_SCHED_NEVER UINT64_MAX

typedef int (*k_poller_fn)(void *ctx);

struct k_poller {
	const char *name;
	k_poller_fn fn;
	void *ctx;
	uint64_t period_ns; /* 0: every turn */
	uint64_t next_ns;   /* timed: due at or after this time */
	uint64_t runs;
	uint64_t busy_runs;
	uint64_t work;
	/* Time inside fn, split by what it returned (SPDK's busy/idle tsc):
	 * where the loop's time goes. 0 without a clock. */
	uint64_t busy_ns;
	uint64_t idle_ns;
	int active;
};

struct k_sched {
	struct k_poller pollers[K_MAX_POLLERS];
	uint64_t turns;
	uint64_t busy_turns;
	uint64_t turn_ns_max;
	uint64_t turn_ns_total;
	uint64_t (*now_ns)(void); /* may be NULL: no timing, timed pollers run every turn */
};

void k_sched_init(struct k_sched *s, uint64_t (*now_ns)(void));

/* An every-turn poller. Returns a poller id >= 0, or -1 if the table is full. */
int k_sched_add(struct k_sched *s, const char *name, k_poller_fn fn, void *ctx);

/* A timed poller: runs at most once per `period_us` (0: every turn, as
 * k_sched_add). Returns a poller id >= 0, or -1 if the table is full. */
int k_sched_add_timed(struct k_sched *s, const char *name, k_poller_fn fn, void *ctx,
		      uint64_t period_us);

void k_sched_remove(struct k_sched *s, int id);

/* Run every active every-turn poller once, and every timed poller that is
 * due. Returns the total work done. */
int k_sched_turn(struct k_sched *s);

/* When the next timed poller is due (K_SCHED_NEVER: none, or no clock). */
uint64_t k_sched_next_deadline(const struct k_sched *s);

/* How long an idle loop may sleep at `now_ns`: until the next deadline, at
 * most `max_ns`; 0 when a timed poller is already due. */
uint64_t k_sched_sleep_ns(const struct k_sched *s, uint64_t now_ns, uint64_t max_ns);

#endif
