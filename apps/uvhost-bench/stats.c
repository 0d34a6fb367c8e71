/* stats.c - latency percentiles and the report (text or JSON). */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>

#include "bench.h"

void bench_err(const char *fmt, ...)
{
	va_list ap;

	fputs("uvhost-bench: ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
}

int bench_lat_add(struct bench_lat *l, uint64_t ns)
{
	if (l->n == l->cap) {
		uint64_t cap = l->cap ? l->cap * 2 : 65536;
		uint32_t *v = realloc(l->v, cap * sizeof(*v));
		if (!v)
			return -1;
		l->v = v;
		l->cap = cap;
	}
	l->v[l->n++] = ns > UINT32_MAX ? UINT32_MAX : (uint32_t)ns;
	return 0;
}

static int cmp_u32(const void *a, const void *b)
{
	uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;

	return x < y ? -1 : x > y;
}

/* Nearest-rank percentile; sorts once (the sorted flag is n == sorted). */
double bench_lat_pct(struct bench_lat *l, double pct)
{
	uint64_t rank;

	if (l->n == 0)
		return 0;
	qsort(l->v, l->n, sizeof(*l->v), cmp_u32);
	rank = (uint64_t)(pct / 100.0 * (double)l->n + 0.999999);
	if (rank == 0)
		rank = 1;
	if (rank > l->n)
		rank = l->n;
	return l->v[rank - 1] / 1000.0;
}

static uint32_t regions_with_io(const struct bench *b)
{
	uint32_t n = 0;

	for (uint32_t r = 0; r < b->nregions; r++)
		n += b->region_ios && b->region_ios[r] != 0;
	return n;
}

void bench_report(struct bench *b, double secs)
{
	double iops = secs > 0 ? (double)b->ios / secs : 0;
	double mibps = secs > 0 ? (double)b->bytes / secs / (1024.0 * 1024.0) : 0;
	double p50 = bench_lat_pct(&b->lat, 50), p99 = bench_lat_pct(&b->lat, 99);
	double p999 = bench_lat_pct(&b->lat, 99.9);
	double a50 = bench_lat_pct(&b->add_lat, 50), a99 = bench_lat_pct(&b->add_lat, 99);
	double r50 = bench_lat_pct(&b->rem_lat, 50), r99 = bench_lat_pct(&b->rem_lat, 99);
	const struct vu_fe_stats *s = &b->fe->stats;
	const struct bench_wiring *w = &b->wire;

	if (b->o.json) {
		printf("{\"iops\": %.0f, \"mibps\": %.2f, \"lat_p50_us\": %.2f, "
		       "\"lat_p99_us\": %.2f, \"lat_p999_us\": %.2f, \"add_p50_us\": %.2f, "
		       "\"add_p99_us\": %.2f, \"rem_p50_us\": %.2f, \"rem_p99_us\": %.2f, "
		       "\"errors\": %llu, \"mismatches\": %llu, \"ios\": %llu, \"seconds\": %.3f, "
		       "\"add_mem_reg\": %llu, \"rem_mem_reg\": %llu, \"set_mem_table\": %llu, "
		       "\"regions\": %u, \"queues\": %u, \"shmem_regions\": %u, "
		       "\"shmem_maps\": %llu, \"shmem_unmaps\": %llu, \"shmem_refused\": %llu, "
		       "\"kicks\": %llu, \"kicks_saved\": %llu, \"sleeps\": %llu, "
		       "\"sleep_timeouts\": %llu, \"empty_wakeups\": %llu, "
		       "\"config_changes\": %llu, \"vring_calls\": %llu, \"vring_errs\": %llu, "
		       "\"backend_accepts\": %llu, \"half_rems\": %llu, \"half_adds\": %llu, "
		       "\"transport\": \"%s\", \"poll\": %s, \"regions_with_io\": %u, "
		       "\"shmem_blocks_checked\": %llu, \"shmem_mismatches\": %llu, "
		       "\"used_len_errors\": %llu, \"verify\": %s}\n",
		       iops, mibps, p50, p99, p999, a50, a99, r50, r99,
		       (unsigned long long)b->errors, (unsigned long long)b->mismatches,
		       (unsigned long long)b->ios, secs, (unsigned long long)s->add_mem_reg,
		       (unsigned long long)s->rem_mem_reg, (unsigned long long)s->set_mem_table,
		       b->nregions, b->o.num_queues, w->shmem_nregions,
		       (unsigned long long)w->shm.n_mapped, (unsigned long long)w->shm.n_unmapped,
		       (unsigned long long)w->shm.n_refused, (unsigned long long)b->kicks,
		       (unsigned long long)b->kicks_saved, (unsigned long long)b->sleeps,
		       (unsigned long long)b->sleep_timeouts, (unsigned long long)b->empty_wakeups,
		       (unsigned long long)w->config_changes, (unsigned long long)w->vring_calls,
		       (unsigned long long)w->vring_errs,
		       (unsigned long long)(b->vsock ? b->vconn.backend_accepts : 0),
		       (unsigned long long)b->half_rems, (unsigned long long)b->half_adds,
		       b->vsock ? "vsock" : "unix", b->o.poll ? "true" : "false",
		       regions_with_io(b), (unsigned long long)b->shmem_checked,
		       (unsigned long long)b->shmem_mismatches,
		       (unsigned long long)b->used_len_errors, b->o.verify ? "true" : "false");
		return;
	}
	printf("iops %.0f  MiB/s %.2f  lat us p50 %.2f p99 %.2f p99.9 %.2f  (%llu ios in %.2f s)\n",
	       iops, mibps, p50, p99, p999, (unsigned long long)b->ios, secs);
	if (b->half_rems || b->half_adds)
		printf("half-churn: %u of %u regions removed %llu times (REM_MEM_REG us p50 %.2f "
		       "p99 %.2f) and re-added %llu times (ADD_MEM_REG us p50 %.2f p99 %.2f), "
		       "one per loop turn, I/O running on the rest\n",
		       b->nregions - b->nregions / 2, b->nregions, (unsigned long long)b->half_rems,
		       r50, r99, (unsigned long long)b->half_adds, a50, a99);
	else if (b->add_lat.n || b->rem_lat.n)
		printf("churn: ADD_MEM_REG us p50 %.2f p99 %.2f (%llu)  REM_MEM_REG us p50 %.2f "
		       "p99 %.2f (%llu)\n",
		       a50, a99, (unsigned long long)b->add_lat.n, r50, r99,
		       (unsigned long long)b->rem_lat.n);
	if (b->vsock)
		printf("vsock: %u window(s), backend channel %s, in-band calls %llu, ring errors "
		       "%llu, CONFIG_CHANGE_MSG %llu%s\n",
		       b->wram.nseg, b->vconn.backend_accepts ? "connected" : "not connected",
		       (unsigned long long)w->vring_calls, (unsigned long long)w->vring_errs,
		       (unsigned long long)w->config_changes, b->o.poll ? ", polling" : "");
	printf("memory messages: ADD_MEM_REG %llu REM_MEM_REG %llu SET_MEM_TABLE %llu; I/O in "
	       "%u of %u regions; errors %llu mismatches %llu\n",
	       (unsigned long long)s->add_mem_reg, (unsigned long long)s->rem_mem_reg,
	       (unsigned long long)s->set_mem_table, regions_with_io(b), b->nregions,
	       (unsigned long long)b->errors, (unsigned long long)b->mismatches);
	printf("notifications: kicks %llu (%llu batches needed none), sleeps %llu "
	       "(%llu timed out, %llu woke to nothing)\n",
	       (unsigned long long)b->kicks, (unsigned long long)b->kicks_saved,
	       (unsigned long long)b->sleeps, (unsigned long long)b->sleep_timeouts,
	       (unsigned long long)b->empty_wakeups);
	if (w->shmem_on)
		printf("shmem: %u regions, SHMEM_MAP %llu SHMEM_UNMAP %llu refused %llu; %llu "
		       "written blocks read back through it, %llu differ\n",
		       w->shmem_nregions, (unsigned long long)w->shm.n_mapped,
		       (unsigned long long)w->shm.n_unmapped, (unsigned long long)w->shm.n_refused,
		       (unsigned long long)b->shmem_checked,
		       (unsigned long long)b->shmem_mismatches);
}
