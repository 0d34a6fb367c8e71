/* The cooperative scheduler (see kern/sched.h). */
#include "kern/sched.h"

#include <string.h>

void k_sched_init(struct k_sched *s, uint64_t (*now_ns)(void))
{
	memset(s, 0, sizeof(*s));
	s->now_ns = now_ns;
}

int k_sched_add_timed(struct k_sched *s, const char *name, k_poller_fn fn, void *ctx,
		      uint64_t period_us)
{
	for (int i = 0; i < K_MAX_POLLERS; i++) {
		struct k_poller *p = &s->pollers[i];
		if (p->active)
			continue;
		memset(p, 0, sizeof(*p));
		p->name = name;
		p->fn = fn;
		p->ctx = ctx;
		/* Saturate: a period nobody lives to see is "never". */
		p->period_ns = period_us > UINT64_MAX / 1000 ? UINT64_MAX : period_us * 1000;
		if (p->period_ns && s->now_ns) {
			uint64_t now = s->now_ns();
			p->next_ns =
				p->period_ns > UINT64_MAX - now ? UINT64_MAX : now + p->period_ns;
		}
		p->active = 1;
		return i;
	}
	return -1;
}

int k_sched_add(struct k_sched *s, const char *name, k_poller_fn fn, void *ctx)
{
	return k_sched_add_timed(s, name, fn, ctx, 0);
}

void k_sched_remove(struct k_sched *s, int id)
{
	if (id >= 0 && id < K_MAX_POLLERS)
		s->pollers[id].active = 0;
}

static int due(const struct k_sched *s, const struct k_poller *p, uint64_t now)
{
	return !p->period_ns || !s->now_ns || now >= p->next_ns;
}

int k_sched_turn(struct k_sched *s)
{
	uint64_t t0 = s->now_ns ? s->now_ns() : 0, t = t0;
	int total = 0, ran = 0;

	for (int i = 0; i < K_MAX_POLLERS; i++) {
		struct k_poller *p = &s->pollers[i];
		uint64_t t1;
		int w;
		if (!p->active || !due(s, p, t))
			continue;
		w = p->fn(p->ctx);
		/* One clock read per run: it ends this run and starts the next. */
		t1 = s->now_ns ? s->now_ns() : 0;
		p->runs++;
		if (w > 0) {
			p->busy_runs++;
			p->work += (uint64_t)w;
			p->busy_ns += t1 - t;
			total += w;
		} else {
			p->idle_ns += t1 - t;
		}
		if (p->period_ns)
			/* From when it ran, as SPDK: a late poller does not
			 * catch up with a burst of runs. */
			p->next_ns =
				p->period_ns > UINT64_MAX - t1 ? UINT64_MAX : t1 + p->period_ns;
		t = t1;
		ran = 1;
	}
	s->turns++;
	if (total)
		s->busy_turns++;
	if (s->now_ns) {
		uint64_t dt = (ran ? t : s->now_ns()) - t0;
		s->turn_ns_total += dt;
		if (dt > s->turn_ns_max)
			s->turn_ns_max = dt;
	}
	return total;
}

uint64_t k_sched_next_deadline(const struct k_sched *s)
{
	uint64_t next = K_SCHED_NEVER;

	if (!s->now_ns)
		return K_SCHED_NEVER;
	for (int i = 0; i < K_MAX_POLLERS; i++) {
		const struct k_poller *p = &s->pollers[i];
		if (p->active && p->period_ns && p->next_ns < next)
			next = p->next_ns;
	}
	return next;
}

uint64_t k_sched_sleep_ns(const struct k_sched *s, uint64_t now_ns, uint64_t max_ns)
{
	uint64_t next = k_sched_next_deadline(s);

	if (next == K_SCHED_NEVER)
		return max_ns;
	if (next <= now_ns)
		return 0;
	return next - now_ns < max_ns ? next - now_ns : max_ns;
}
