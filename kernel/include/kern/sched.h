/* kern/sched.h - the cooperative scheduler: run-to-completion pollers.
 *
 * Owns: a fixed table of pollers and their counters (turns, busy turns, work
 * done), and the loop's own turn-time statistics, as in SPDK's reactor.
 * Never: preempts, locks or allocates. A poller does a bounded batch and
 * returns how much work it did (0 = idle); it must never block.
 * Used by: the unikernel main loop, and uvhostd (fed by poll(2) readiness).
 */
#ifndef KERN_SCHED_H
#define KERN_SCHED_H

#include <stdint.h>

#define K_MAX_POLLERS 32

typedef int (*k_poller_fn)(void *ctx);

struct k_poller {
	const char *name;
	k_poller_fn fn;
	void *ctx;
	uint64_t runs;
	uint64_t busy_runs;
	uint64_t work;
	int active;
};

struct k_sched {
	struct k_poller pollers[K_MAX_POLLERS];
	uint64_t turns;
	uint64_t busy_turns;
	uint64_t turn_ns_max;
	uint64_t turn_ns_total;
	uint64_t (*now_ns)(void); /* may be NULL: no timing */
};

void k_sched_init(struct k_sched *s, uint64_t (*now_ns)(void));

/* Returns a poller id >= 0, or -1 if the table is full. */
int k_sched_add(struct k_sched *s, const char *name, k_poller_fn fn, void *ctx);
void k_sched_remove(struct k_sched *s, int id);

/* Run every active poller once. Returns the total work done. */
int k_sched_turn(struct k_sched *s);

#endif
