/* main.c - uvhost-bench: fill (verify), timed run, check (verify), report. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bench.h"
#include "uvh/host.h"

int main(int argc, char **argv)
{
	static struct bench b;
	uint64_t t0, t1;
	double secs;
	int rc;

	if (bench_parse(&b.o, argc, argv))
		return 2;
	for (uint32_t i = 0; i < BENCH_MAX_QUEUES; i++)
		b.q[i].kick_fd = b.q[i].call_fd = -1;
	b.rng = 0x9E3779B97F4A7C15ull ^ (uint64_t)uvh_now_ns();
	rc = bench_setup(&b);
	if (rc)
		goto out;
	if (b.o.verify) {
		b.block_version = calloc(b.blocks, sizeof(*b.block_version));
		b.block_busy = calloc(b.blocks, 1);
		if (!b.block_version || !b.block_busy) {
			rc = -1;
			goto out;
		}
		if (b.o.check_only) {
			/* A disk filled by an earlier run (or by the test). */
			for (uint64_t k = 0; k < b.blocks; k++)
				b.block_version[k] = 1;
		} else {
			rc = bench_run(&b, PHASE_FILL);
			if (rc)
				goto out;
		}
	}
	t0 = uvh_now_ns();
	rc = b.o.check_only ? 0 : bench_run(&b, PHASE_RUN);
	if (rc)
		goto out;
	t1 = b.phase_end_ns < uvh_now_ns() ? b.phase_end_ns : uvh_now_ns();
	secs = (double)(t1 - t0) / 1e9;
	rc = bench_half_restore(&b);
	if (rc)
		goto out;
	if (b.o.verify) {
		rc = bench_run(&b, PHASE_CHECK);
		if (rc)
			goto out;
	}
	if (b.o.flush) {
		rc = bench_run(&b, PHASE_FLUSH);
		if (rc)
			goto out;
	}
	b.drained = true;
	b.errors += bench_check_shmem(&b);
	/* A ring the back-end stopped serving is an error even if every
	 * request happened to complete before it. */
	if (b.wire.vring_errs) {
		bench_err("the back-end reported %llu ring error(s), the last on queue %u",
			  (unsigned long long)b.wire.vring_errs, b.wire.last_err_index);
		b.errors += b.wire.vring_errs;
	}
	if (!b.o.quiet && b.wire.config_changes)
		fprintf(stderr, "uvhost-bench: %llu CONFIG_CHANGE_MSG\n",
			(unsigned long long)b.wire.config_changes);
	bench_report(&b, secs);
out:
	bench_teardown(&b);
	if (rc) {
		bench_err("failed");
		return 1;
	}
	if (b.errors || b.mismatches) {
		bench_err("FAILED%s: %llu error(s) (%llu with a wrong used length), %llu data "
			  "mismatch(es)",
			  b.o.verify ? " verify" : "", (unsigned long long)b.errors,
			  (unsigned long long)b.used_len_errors, (unsigned long long)b.mismatches);
		return 1;
	}
	return 0;
}
