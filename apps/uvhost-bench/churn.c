/* churn.c - memory hot-plug while I/O runs: --churn adds and removes one
 * extra region; --half-churn removes the upper half of the regions the
 * requests use, keeps I/O going on the lower half, and adds them back. */
#include <errno.h>
#include <string.h>

#include "bench.h"
#include "uvh/host.h"

int bench_churn(struct bench *b)
{
	uint64_t t0 = uvh_now_ns();
	int rc;

	if (!b->churn_present) {
		rc = bench_region(b, b->main_bytes, &b->regions[b->nregions]);
		if (rc == 0)
			rc = vu_fe_set_mem(b->fe, b->regions, b->nregions + 1);
		if (rc == 0)
			bench_lat_add(&b->add_lat, uvh_now_ns() - t0);
	} else {
		rc = vu_fe_set_mem(b->fe, b->regions, b->nregions);
		if (rc == 0)
			bench_lat_add(&b->rem_lat, uvh_now_ns() - t0);
	}
	if (rc) {
		bench_err("churn: %s (%s)", strerror(-rc), b->fe->why);
		return rc;
	}
	b->churn_present = !b->churn_present;
	return 0;
}

static void unpark(struct bench *b)
{
	for (uint32_t qi = 0; qi < b->o.num_queues; qi++) {
		struct bench_queue *q = &b->q[qi];
		while (q->nparked)
			q->free_idx[q->nfree++] = q->parked_idx[--q->nparked];
	}
}

/* One memory message: the table becomes regions[0, n). Requests are
 * submitted and reaped between any two of them. */
static int step(struct bench *b, uint32_t n, struct bench_lat *lat, const char *what)
{
	uint64_t t0 = uvh_now_ns();
	int rc = vu_fe_set_mem(b->fe, b->regions, n);

	if (rc) {
		bench_err("half-churn: %s region %u: %s (%s)", what, n, strerror(-rc), b->fe->why);
		return rc;
	}
	bench_lat_add(lat, uvh_now_ns() - t0);
	b->half_count = n;
	return 0;
}

int bench_half_churn(struct bench *b, bool tick)
{
	uint32_t half = b->nregions / 2;
	int rc;

	switch (b->half) {
	case HALF_FULL:
		if (!tick)
			return 0;
		/* Stop feeding the upper half; its requests finish first, as a
		 * driver's must before their memory goes away. */
		b->live_regions = half;
		b->half_count = b->nregions;
		b->half = HALF_DRAINING;
		return 0;
	case HALF_DRAINING:
		if (b->inflight_high)
			return 0;
		b->half = HALF_REMOVING;
		return 0;
	case HALF_REMOVING:
		rc = step(b, b->half_count - 1, &b->rem_lat, "removing");
		if (rc == 0 && b->half_count == half) {
			b->half_rems++;
			b->half = HALF_REMOVED;
		}
		return rc;
	case HALF_REMOVED:
		if (tick)
			b->half = HALF_ADDING;
		return 0;
	default:
		rc = step(b, b->half_count + 1, &b->add_lat, "re-adding");
		if (rc == 0 && b->half_count == b->nregions) {
			b->half_adds++;
			b->live_regions = b->nregions;
			b->half = HALF_FULL;
			unpark(b);
		}
		return rc;
	}
}

int bench_half_restore(struct bench *b)
{
	int rc = 0;

	if (b->half == HALF_REMOVING || b->half == HALF_REMOVED || b->half == HALF_ADDING) {
		b->half = HALF_ADDING;
		while (rc == 0 && b->half != HALF_FULL)
			rc = bench_half_churn(b, false);
		return rc;
	}
	b->live_regions = b->nregions;
	b->half = HALF_FULL;
	unpark(b);
	return 0;
}
