/* bench_translate - ns per vu_mem_gpa_to_host() lookup, by table size.
 *
 * For 1, 8, 64, 256 and 509 slots, looks up 64-byte buffers at random and
 * at sequential addresses, with and without a hint, and prints a markdown
 * table. Every address is mapped, so each lookup is a hit: that is the
 * virtqueue's common case. Regions are 64 KiB with 960 KiB holes between
 * them, in gpa and in uaddr, all backed by one fake file.
 * Usage: bench_translate [lookups per run, default 5000000]
 */
#define _POSIX_C_SOURCE 200809L

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include "fake_platform.h"
#include "vu/memtable.h"

#define REGION_SIZE (64u << 10)
#define REGION_STRIDE (1u << 20)
#define UBASE 0x7f0000000000ull
#define NADDR (1u << 16) /* a power of two: the address ring wraps by mask */
#define BUF_LEN 64u
/* Sequential: 256 lookups per region before moving on to the next. */
#define SEQ_STEP 256u
/* Best of: the minimum is the least disturbed run. */
#define RUNS 7

static const uint32_t slot_counts[] = {1, 8, 64, 256, VU_MAX_MEM_SLOTS};

static uint64_t rng = 0x2545f4914f6cdd1dull;

static uint64_t rnd(void)
{
	rng ^= rng << 13;
	rng ^= rng >> 7;
	rng ^= rng << 17;
	return rng;
}

static uint64_t gpa_of(uint32_t region, uint64_t off)
{
	return 0x100000000ull + (uint64_t)region * REGION_STRIDE + off;
}

/* Regions are added in a scrambled order, as hot-plug would. */
static int build_table(struct vu_mem *mem, struct fake_platform *f, int fd, uint32_t n)
{
	vu_mem_clear(mem);
	vu_mem_init(mem, &f->plat, 0);
	for (uint32_t i = 0; i < n; i++) {
		uint32_t p = (uint32_t)(((uint64_t)i * 263u) % n);
		struct vu_mem_region r = {
			.gpa = gpa_of(p, 0),
			.size = REGION_SIZE,
			.uaddr = UBASE + (uint64_t)p * REGION_STRIDE,
			.mmap_offset = (uint64_t)p * REGION_SIZE,
		};
		int err = vu_mem_add(mem, &r, fd);

		if (err) {
			fprintf(stderr, "add %u of %u: %d\n", i, n, err);
			return err;
		}
	}
	return 0;
}

static void fill_random(uint64_t *addr, uint32_t n)
{
	for (uint32_t i = 0; i < NADDR; i++)
		addr[i] = gpa_of((uint32_t)(rnd() % n), rnd() % (REGION_SIZE - BUF_LEN));
}

static void fill_sequential(uint64_t *addr, uint32_t n)
{
	uint32_t region = 0;
	uint64_t off = 0;

	for (uint32_t i = 0; i < NADDR; i++) {
		addr[i] = gpa_of(region, off);
		off += SEQ_STEP;
		if (off + BUF_LEN > REGION_SIZE) {
			off = 0;
			region = (region + 1) % n;
		}
	}
}

static double now_ns(void)
{
	struct timespec ts;

	/* CPU time of this thread: time spent descheduled is not counted. */
	clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
	return (double)ts.tv_sec * 1e9 + (double)ts.tv_nsec;
}

/* Sums the pointers so the compiler cannot drop the lookups. */
static uintptr_t run(const struct vu_mem *mem, const uint64_t *addr, uint64_t iters,
		     struct vu_mem_hint *hint)
{
	uintptr_t sum = 0;

	for (uint64_t i = 0; i < iters; i++)
		sum += (uintptr_t)vu_mem_gpa_to_host(mem, addr[i & (NADDR - 1)], BUF_LEN, hint);
	return sum;
}

static int all_hit(const struct vu_mem *mem, const uint64_t *addr)
{
	for (uint32_t i = 0; i < NADDR; i++) {
		if (!vu_mem_gpa_to_host(mem, addr[i], BUF_LEN, NULL))
			return 0;
	}
	return 1;
}

static volatile uintptr_t sink;

static double ns_per_lookup(const struct vu_mem *mem, const uint64_t *addr, uint64_t iters,
			    int use_hint)
{
	double best = 1e300;

	for (int r = 0; r < RUNS; r++) {
		struct vu_mem_hint hint = {0};
		double t0 = now_ns(), dt;

		sink += run(mem, addr, iters, use_hint ? &hint : NULL);
		dt = (now_ns() - t0) / (double)iters;
		if (dt < best)
			best = dt;
	}
	return best;
}

static int bench_row(struct vu_mem *mem, struct fake_platform *f, int fd, uint32_t n,
		     uint64_t *addr, uint64_t iters)
{
	double ns[4];

	if (build_table(mem, f, fd, n))
		return 1;
	for (int pattern = 0; pattern < 2; pattern++) {
		if (pattern == 0)
			fill_random(addr, n);
		else
			fill_sequential(addr, n);
		if (!all_hit(mem, addr)) {
			fprintf(stderr, "%u slots: an address missed\n", n);
			return 1;
		}
		ns[pattern * 2] = ns_per_lookup(mem, addr, iters, 0);
		ns[pattern * 2 + 1] = ns_per_lookup(mem, addr, iters, 1);
	}
	printf("| %5u | %6.2f | %13.2f | %10.2f | %17.2f |\n", n, ns[0], ns[1], ns[2], ns[3]);
	return 0;
}

int main(int argc, char **argv)
{
	uint64_t iters = argc > 1 ? strtoull(argv[1], NULL, 0) : 5000000u;
	struct fake_platform *f = calloc(1, sizeof(*f));
	struct vu_mem *mem = calloc(1, sizeof(*mem));
	uint64_t *addr = calloc(NADDR, sizeof(*addr));
	int fd, rc = 0;

	if (!f || !mem || !addr || iters == 0)
		return 2;
	fake_platform_init(f, 1);
	vu_mem_init(mem, &f->plat, 0);
	fd = fake_file_new(f, (uint64_t)VU_MAX_MEM_SLOTS * REGION_SIZE);
	if (fd < 0)
		return 2;
	printf("ns per vu_mem_gpa_to_host() of %u bytes, %llu lookups per run, best of %d runs\n\n",
	       BUF_LEN, (unsigned long long)iters, RUNS);
	printf("| slots | random | random + hint | sequential | sequential + hint |\n");
	printf("|------:|-------:|--------------:|-----------:|------------------:|\n");
	for (size_t i = 0; i < sizeof(slot_counts) / sizeof(slot_counts[0]) && !rc; i++)
		rc = bench_row(mem, f, fd, slot_counts[i], addr, iters);
	vu_mem_clear(mem);
	fake_platform_fini(f);
	free(addr);
	free(mem);
	free(f);
	return rc;
}
