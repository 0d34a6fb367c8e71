#include "kern/sched.h"

#include <string.h>

void k_sched_init(struct k_sched *s, uint64_t (*now_ns)(void))
{
	memset(s, 0, sizeof(*s));
	s->now_ns = now_ns;
}

int k_sched_add(struct k_sched *s, const char *name, k_poller_fn fn, void *ctx)
{
	for (int i = 0; i < K_MAX_POLLERS; i++) {
		struct k_poller *p = &s->pollers[i];
		if (p->active)
			continue;
		memset(p, 0, sizeof(*p));
		p->name = name;
		p->fn = fn;
		p->ctx = ctx;
		p->active = 1;
		return i;
	}
	return -1;
}

void k_sched_remove(struct k_sched *s, int id)
{
	if (id >= 0 && id < K_MAX_POLLERS)
		s->pollers[id].active = 0;
}

int k_sched_turn(struct k_sched *s)
{
	uint64_t t0 = s->now_ns ? s->now_ns() : 0;
	int total = 0;

	for (int i = 0; i < K_MAX_POLLERS; i++) {
		struct k_poller *p = &s->pollers[i];
		int w;
		if (!p->active)
			continue;
		w = p->fn(p->ctx);
		p->runs++;
		if (w > 0) {
			p->busy_runs++;
			p->work += (uint64_t)w;
			total += w;
		}
	}
	s->turns++;
	if (total)
		s->busy_turns++;
	if (s->now_ns) {
		uint64_t dt = s->now_ns() - t0;
		s->turn_ns_total += dt;
		if (dt > s->turn_ns_max)
			s->turn_ns_max = dt;
	}
	return total;
}
