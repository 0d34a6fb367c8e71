/* Unit tests for vu/memtable.h: one test per rule or rejection, then a
 * randomized cross-check of translation against a linear search.
 * Every test ends with the table cleared and maps == unmaps (teardown). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "helpers/fake_platform.h"
#include "vu/memtable.h"

/* The hand-written tables below hold up to 8 regions at once. */
_Static_assert(VU_MAX_MEM_SLOTS >= 8, "these tests need at least 8 slots");

#define FILE_SIZE (1u << 20)
#define PAGE 0x1000u
#define UBASE 0x7f0000000000ull /* where front-end user addresses start */

struct fx {
	struct fake_platform fake; /* first: plat.ctx points at it, and so at us */
	struct vu_mem mem;
	int fd;
	/* Every map attempt, even one that fails: proves that validation runs
	 * before the platform is asked (the fake's own bounds checks would
	 * otherwise hide a missing check). */
	int map_calls;
	int map_ret; /* if non-zero, returned as is instead of mapping */
	int (*real_map)(void *ctx, int fd, uint64_t offset, uint64_t len, bool writable,
			void **host, void **cookie);
};

static int counting_map(void *ctx, int fd, uint64_t offset, uint64_t len, bool writable,
			void **host, void **cookie)
{
	struct fx *t = ctx;

	t->map_calls++;
	if (t->map_ret)
		return t->map_ret;
	return t->real_map(ctx, fd, offset, len, writable, host, cookie);
}

static int setup(void **state)
{
	struct fx *t = calloc(1, sizeof(*t));

	if (!t)
		return -1;
	fake_platform_init(&t->fake, 1);
	t->real_map = t->fake.plat.map;
	t->fake.plat.map = counting_map;
	vu_mem_init(&t->mem, &t->fake.plat, 0);
	t->fd = fake_file_new(&t->fake, FILE_SIZE);
	*state = t;
	return t->fd < 0 ? -1 : 0;
}

static int teardown(void **state)
{
	struct fx *t = *state;
	int leaked;

	vu_mem_clear(&t->mem);
	leaked = t->fake.maps != t->fake.unmaps;
	fake_platform_fini(&t->fake);
	free(t);
	return leaked ? -1 : 0;
}

static struct vu_mem_region reg(uint64_t gpa, uint64_t size, uint64_t uaddr, uint64_t off)
{
	struct vu_mem_region r = {.gpa = gpa, .size = size, .uaddr = uaddr, .mmap_offset = off};

	return r;
}

static uint8_t *file_at(struct fx *t, uint64_t off)
{
	return fake_file_ptr(&t->fake, t->fd, off);
}

static void add_ok(struct fx *t, uint64_t gpa, uint64_t size, uint64_t uaddr, uint64_t off)
{
	struct vu_mem_region r = reg(gpa, size, uaddr, off);

	assert_int_equal(vu_mem_add(&t->mem, &r, t->fd), 0);
}

static void *gpa_host(struct fx *t, uint64_t gpa, uint64_t len)
{
	return vu_mem_gpa_to_host(&t->mem, gpa, len, NULL);
}

/* Both indexes are permutations of [0, count), sorted by their key. */
static void check_indexes(const struct vu_mem *mem)
{
	uint8_t seen_g[VU_MAX_MEM_SLOTS] = {0}, seen_u[VU_MAX_MEM_SLOTS] = {0};

	for (uint32_t i = 0; i < mem->count; i++) {
		assert_true(mem->by_gpa[i] < mem->count);
		assert_true(mem->by_uaddr[i] < mem->count);
		assert_int_equal(seen_g[mem->by_gpa[i]]++, 0);
		assert_int_equal(seen_u[mem->by_uaddr[i]]++, 0);
		if (i == 0)
			continue;
		assert_true(mem->slot[mem->by_gpa[i - 1]].gpa < mem->slot[mem->by_gpa[i]].gpa);
		assert_true(mem->slot[mem->by_uaddr[i - 1]].uaddr <
			    mem->slot[mem->by_uaddr[i]].uaddr);
	}
}

/* One region: gpa [0x10000, 0x11000) at file offset 0x3000. */
static void one_region(struct fx *t)
{
	add_ok(t, 0x10000, PAGE, UBASE + 0x10000, 0x3000);
}

/* ---- init ---- */

static void init_defaults_and_clamps_max_slots(void **state)
{
	struct fx *t = *state;

	assert_int_equal(t->mem.max_slots, VU_MAX_MEM_SLOTS);
	assert_int_equal(t->mem.count, 0);
	assert_int_equal(t->mem.generation, 0);
	assert_ptr_equal(t->mem.plat, &t->fake.plat);
	vu_mem_init(&t->mem, &t->fake.plat, VU_MAX_MEM_SLOTS + 1);
	assert_int_equal(t->mem.max_slots, VU_MAX_MEM_SLOTS);
	vu_mem_init(&t->mem, &t->fake.plat, 7);
	assert_int_equal(t->mem.max_slots, 7);
}

static void empty_table_translates_nothing(void **state)
{
	struct fx *t = *state;
	uint32_t n = 0;
	struct vu_iov iov[1];

	assert_null(gpa_host(t, 0, 1));
	assert_null(vu_mem_uaddr_to_host(&t->mem, 0, 1, NULL));
	assert_int_equal(vu_mem_gpa_to_iov(&t->mem, 0, 1, iov, &n, 1, NULL), -EFAULT);
}

/* ---- translation at the edges ---- */

static void translate_first_byte(void **state)
{
	struct fx *t = *state;

	one_region(t);
	assert_ptr_equal(gpa_host(t, 0x10000, 1), file_at(t, 0x3000));
}

static void translate_last_byte(void **state)
{
	struct fx *t = *state;

	one_region(t);
	assert_ptr_equal(gpa_host(t, 0x10fff, 1), file_at(t, 0x3fff));
	assert_ptr_equal(gpa_host(t, 0x10ffe, 2), file_at(t, 0x3ffe));
}

static void translate_one_past_end_is_null(void **state)
{
	struct fx *t = *state;

	one_region(t);
	assert_null(gpa_host(t, 0x11000, 1));
	assert_null(gpa_host(t, 0x11000, 0));
}

static void translate_one_before_start_is_null(void **state)
{
	struct fx *t = *state;

	one_region(t);
	assert_null(gpa_host(t, 0xffff, 1));
	assert_null(gpa_host(t, 0xffff, 2));
}

static void translate_range_crossing_end_is_null(void **state)
{
	struct fx *t = *state;

	one_region(t);
	assert_null(gpa_host(t, 0x10fff, 2));
	assert_null(gpa_host(t, 0x10000, PAGE + 1));
	assert_null(gpa_host(t, 0x10800, UINT64_MAX));
}

static void translate_whole_region_and_len_zero(void **state)
{
	struct fx *t = *state;

	one_region(t);
	assert_ptr_equal(gpa_host(t, 0x10000, PAGE), file_at(t, 0x3000));
	/* len 0 is treated as 1: it must still name a mapped byte. */
	assert_ptr_equal(gpa_host(t, 0x10fff, 0), file_at(t, 0x3fff));
}

static void translate_wrapping_range_is_null(void **state)
{
	struct fx *t = *state;

	add_ok(t, UINT64_MAX - PAGE, PAGE, UBASE, 0);
	assert_ptr_equal(gpa_host(t, UINT64_MAX - 1, 1), file_at(t, PAGE - 1));
	assert_null(gpa_host(t, UINT64_MAX - 1, 2));
	assert_null(gpa_host(t, UINT64_MAX, 1));
	assert_null(gpa_host(t, UINT64_MAX - 2, UINT64_MAX));
}

static void uaddr_translation(void **state)
{
	struct fx *t = *state;

	add_ok(t, 0x10000, PAGE, UBASE + 0x50000, 0x3000);
	add_ok(t, 0x20000, PAGE, UBASE + 0x40000, 0x5000);
	assert_ptr_equal(vu_mem_uaddr_to_host(&t->mem, UBASE + 0x50010, 4, NULL),
			 file_at(t, 0x3010));
	assert_ptr_equal(vu_mem_uaddr_to_host(&t->mem, UBASE + 0x40fff, 1, NULL),
			 file_at(t, 0x5fff));
	assert_null(vu_mem_uaddr_to_host(&t->mem, UBASE + 0x41000, 1, NULL));
	assert_null(vu_mem_uaddr_to_host(&t->mem, UBASE + 0x50ff0, 0x20, NULL));
	/* The spaces are separate: a gpa is not a user address. */
	assert_null(vu_mem_uaddr_to_host(&t->mem, 0x10000, 1, NULL));
	assert_null(gpa_host(t, UBASE + 0x50000, 1));
}

/* ---- validation ---- */

static void add_refuses_size_zero(void **state)
{
	struct fx *t = *state;
	struct vu_mem_region r = reg(0x10000, 0, UBASE, 0);

	assert_int_equal(vu_mem_add(&t->mem, &r, t->fd), -EINVAL);
	assert_int_equal(t->map_calls, 0);
}

static void add_refuses_gpa_wrap(void **state)
{
	struct fx *t = *state;
	struct vu_mem_region r = reg(UINT64_MAX - 0xfff, 0x2000, UBASE, 0);

	assert_int_equal(vu_mem_add(&t->mem, &r, t->fd), -EINVAL);
	assert_int_equal(t->map_calls, 0);
}

static void add_refuses_uaddr_wrap(void **state)
{
	struct fx *t = *state;
	struct vu_mem_region r = reg(0x10000, 0x2000, UINT64_MAX - 0xfff, 0);

	assert_int_equal(vu_mem_add(&t->mem, &r, t->fd), -EINVAL);
	assert_int_equal(t->map_calls, 0);
}

static void add_refuses_mmap_offset_wrap(void **state)
{
	struct fx *t = *state;
	struct vu_mem_region r = reg(0x10000, 0x2000, UBASE, UINT64_MAX - 0xfff);

	assert_int_equal(vu_mem_add(&t->mem, &r, t->fd), -EINVAL);
	assert_int_equal(t->map_calls, 0);
}

/* The exclusive end must be representable: an end of exactly 2^64 counts as
 * a wrap, one byte lower is accepted. */
static void add_refuses_end_at_2_pow_64(void **state)
{
	struct fx *t = *state;
	struct vu_mem_region g = reg(UINT64_MAX - 0xfff, PAGE, UBASE, 0);
	struct vu_mem_region u = reg(0x10000, PAGE, UINT64_MAX - 0xfff, 0);

	assert_int_equal(vu_mem_add(&t->mem, &g, t->fd), -EINVAL);
	assert_int_equal(vu_mem_add(&t->mem, &u, t->fd), -EINVAL);
	assert_int_equal(t->map_calls, 0);
	add_ok(t, UINT64_MAX - PAGE, PAGE, UINT64_MAX - PAGE, 0);
}

/* ---- duplicates and overlaps ---- */

static void add_exact_duplicate_is_idempotent(void **state)
{
	struct fx *t = *state;
	int fd2 = fake_file_new(&t->fake, FILE_SIZE);
	struct vu_mem_region again = reg(0x10000, PAGE, UBASE + 0x10000, 0x8000);
	uint32_t gen;

	one_region(t);
	gen = t->mem.generation;
	/* Another fd and mmap_offset, as QEMU sends per vhost_dev. */
	assert_int_equal(vu_mem_add(&t->mem, &again, fd2), 1);
	assert_int_equal(vu_mem_add(&t->mem, &again, fd2), 1);
	assert_int_equal(t->mem.count, 1);
	assert_int_equal(t->fake.maps, 1);
	assert_int_equal(t->mem.generation, gen);
	assert_ptr_equal(gpa_host(t, 0x10000, 1), file_at(t, 0x3000));
}

static void add_refuses_gpa_overlap(void **state)
{
	struct fx *t = *state;
	/* Same gpa and size but another uaddr: not a duplicate. */
	struct vu_mem_region r = reg(0x10000, PAGE, UBASE + 0x90000, 0);

	one_region(t);
	assert_int_equal(vu_mem_add(&t->mem, &r, t->fd), -EEXIST);
	assert_int_equal(t->mem.count, 1);
	assert_int_equal(t->fake.maps, 1);
}

static void add_refuses_uaddr_overlap(void **state)
{
	struct fx *t = *state;
	struct vu_mem_region r = reg(0x90000, PAGE, UBASE + 0x10800, 0);

	one_region(t);
	assert_int_equal(vu_mem_add(&t->mem, &r, t->fd), -EEXIST);
	assert_int_equal(t->mem.count, 1);
	assert_int_equal(t->fake.maps, 1);
}

static void add_refuses_partial_overlap_at_start(void **state)
{
	struct fx *t = *state;
	struct vu_mem_region g = reg(0xf000, 0x1001, UBASE + 0x90000, 0);
	struct vu_mem_region u = reg(0x90000, 0x1001, UBASE + 0xf000, 0);

	one_region(t);
	assert_int_equal(vu_mem_add(&t->mem, &g, t->fd), -EEXIST);
	assert_int_equal(vu_mem_add(&t->mem, &u, t->fd), -EEXIST);
	assert_int_equal(t->mem.count, 1);
}

static void add_refuses_partial_overlap_at_end(void **state)
{
	struct fx *t = *state;
	struct vu_mem_region g = reg(0x10fff, PAGE, UBASE + 0x90000, 0);
	struct vu_mem_region u = reg(0x90000, PAGE, UBASE + 0x10fff, 0);

	one_region(t);
	assert_int_equal(vu_mem_add(&t->mem, &g, t->fd), -EEXIST);
	assert_int_equal(vu_mem_add(&t->mem, &u, t->fd), -EEXIST);
	assert_int_equal(t->mem.count, 1);
}

static void add_refuses_contained_and_containing(void **state)
{
	struct fx *t = *state;
	struct vu_mem_region inside = reg(0x10100, 0x10, UBASE + 0x90000, 0);
	struct vu_mem_region around = reg(0x0, 0x100000, UBASE + 0x90000, 0);

	one_region(t);
	assert_int_equal(vu_mem_add(&t->mem, &inside, t->fd), -EEXIST);
	assert_int_equal(vu_mem_add(&t->mem, &around, t->fd), -EEXIST);
	assert_int_equal(t->mem.count, 1);
}

static void add_accepts_adjacent_regions(void **state)
{
	struct fx *t = *state;

	one_region(t);
	add_ok(t, 0xf000, PAGE, UBASE + 0xf000, 0);
	add_ok(t, 0x11000, PAGE, UBASE + 0x11000, 0x1000);
	assert_int_equal(t->mem.count, 3);
	check_indexes(&t->mem);
}

static void add_returns_map_error_and_changes_nothing(void **state)
{
	struct fx *t = *state;
	struct vu_mem_region r = reg(0x10000, PAGE, UBASE, 0);
	struct vu_mem_region too_big = reg(0x10000, FILE_SIZE, UBASE, PAGE);

	t->fake.fail_map = ENOMEM;
	assert_int_equal(vu_mem_add(&t->mem, &r, t->fd), -ENOMEM);
	assert_int_equal(vu_mem_add(&t->mem, &too_big, t->fd), -EINVAL);
	assert_int_equal(vu_mem_add(&t->mem, &r, 999), -EBADF);
	assert_int_equal(t->mem.count, 0);
	assert_int_equal(t->mem.generation, 0);
	assert_int_equal(t->fake.maps, 0);
}

/* A platform breaking its contract with a positive return must not make
 * the add look like an accepted duplicate (1). */
static void add_turns_positive_map_error_into_eio(void **state)
{
	struct fx *t = *state;
	struct vu_mem_region r = reg(0x10000, PAGE, UBASE, 0);

	t->map_ret = 1;
	assert_int_equal(vu_mem_add(&t->mem, &r, t->fd), -EIO);
	assert_int_equal(t->mem.count, 0);
}

/* ---- REM ---- */

static void remove_matches_despite_different_mmap_offset(void **state)
{
	struct fx *t = *state;
	struct vu_mem_region r = reg(0x10000, PAGE, UBASE + 0x10000, 0xdead000);

	one_region(t);
	assert_int_equal(vu_mem_remove(&t->mem, &r), 0);
	assert_int_equal(t->mem.count, 0);
	assert_int_equal(t->fake.unmaps, 1);
	assert_null(gpa_host(t, 0x10000, 1));
}

static void remove_unknown_region_is_enoent(void **state)
{
	struct fx *t = *state;
	struct vu_mem_region r = reg(0x20000, PAGE, UBASE + 0x20000, 0);
	struct vu_mem_region empty = reg(0x10000, 0, UBASE + 0x10000, 0);

	assert_int_equal(vu_mem_remove(&t->mem, &r), -ENOENT);
	one_region(t);
	assert_int_equal(vu_mem_remove(&t->mem, &r), -ENOENT);
	assert_int_equal(vu_mem_remove(&t->mem, &empty), -ENOENT);
	assert_int_equal(t->mem.count, 1);
	assert_int_equal(t->fake.unmaps, 0);
}

static void remove_with_wrong_size_is_enoent(void **state)
{
	struct fx *t = *state;
	struct vu_mem_region smaller = reg(0x10000, PAGE - 1, UBASE + 0x10000, 0x3000);
	struct vu_mem_region larger = reg(0x10000, PAGE + 1, UBASE + 0x10000, 0x3000);

	one_region(t);
	assert_int_equal(vu_mem_remove(&t->mem, &smaller), -ENOENT);
	assert_int_equal(vu_mem_remove(&t->mem, &larger), -ENOENT);
	assert_int_equal(t->mem.count, 1);
	assert_int_equal(t->fake.unmaps, 0);
}

static void remove_with_wrong_uaddr_is_enoent(void **state)
{
	struct fx *t = *state;
	struct vu_mem_region r = reg(0x10000, PAGE, UBASE + 0x11000, 0x3000);

	one_region(t);
	assert_int_equal(vu_mem_remove(&t->mem, &r), -ENOENT);
	assert_int_equal(t->mem.count, 1);
}

static void remove_middle_keeps_others_and_slots_dense(void **state)
{
	struct fx *t = *state;
	struct vu_mem_region first = reg(0x10000, PAGE, UBASE + 0x30000, 0);

	add_ok(t, 0x10000, PAGE, UBASE + 0x30000, 0);
	add_ok(t, 0x20000, PAGE, UBASE + 0x20000, 0x1000);
	add_ok(t, 0x30000, PAGE, UBASE + 0x10000, 0x2000);
	assert_int_equal(vu_mem_remove(&t->mem, &first), 0);
	assert_int_equal(t->mem.count, 2);
	check_indexes(&t->mem);
	/* The last slot moved into slot 0. */
	assert_int_equal(t->mem.slot[0].gpa, 0x30000);
	assert_null(t->mem.slot[2].cookie);
	assert_null(gpa_host(t, 0x10000, 1));
	assert_ptr_equal(gpa_host(t, 0x20000, 1), file_at(t, 0x1000));
	assert_ptr_equal(gpa_host(t, 0x30000, 1), file_at(t, 0x2000));
	assert_ptr_equal(vu_mem_uaddr_to_host(&t->mem, UBASE + 0x10000, 1, NULL),
			 file_at(t, 0x2000));
}

/* ---- slot limits ---- */

/* 509 one-page regions of one big file, added in a scrambled order, with
 * gpa and uaddr sorted in opposite directions so the indexes differ. */
static struct vu_mem_region nth_small(uint32_t p)
{
	return reg(0x100000 + (uint64_t)p * 0x2000, PAGE,
		   UBASE + (uint64_t)(VU_MAX_MEM_SLOTS - 1 - p) * PAGE, (uint64_t)p * PAGE);
}

static void fill_to_max_slots_then_enospc(void **state)
{
	struct fx *t = *state;
	int big = fake_file_new(&t->fake, (uint64_t)VU_MAX_MEM_SLOTS * PAGE);
	struct vu_mem_region extra = reg(0x1000, PAGE, 0x1000, 0);
	struct vu_mem_region r;

	for (uint32_t i = 0; i < VU_MAX_MEM_SLOTS; i++) {
		r = nth_small((i * 263u) % VU_MAX_MEM_SLOTS);
		assert_int_equal(vu_mem_add(&t->mem, &r, big), 0);
	}
	assert_int_equal(t->mem.count, VU_MAX_MEM_SLOTS);
	check_indexes(&t->mem);
	for (uint32_t p = 0; p < VU_MAX_MEM_SLOTS; p++) {
		r = nth_small(p);
		assert_ptr_equal(gpa_host(t, r.gpa + PAGE - 1, 1),
				 fake_file_ptr(&t->fake, big, r.mmap_offset + PAGE - 1));
		assert_ptr_equal(vu_mem_uaddr_to_host(&t->mem, r.uaddr, 1, NULL),
				 fake_file_ptr(&t->fake, big, r.mmap_offset));
		assert_null(gpa_host(t, r.gpa + PAGE, 1));
	}
	assert_int_equal(vu_mem_add(&t->mem, &extra, big), -ENOSPC);
	r = nth_small(77 % VU_MAX_MEM_SLOTS);
	assert_int_equal(vu_mem_add(&t->mem, &r, big), 1);
	assert_int_equal(t->fake.maps, VU_MAX_MEM_SLOTS);
	/* Empty it again in another order; the indexes must stay sorted. */
	for (uint32_t i = 0; i < VU_MAX_MEM_SLOTS; i++) {
		r = nth_small((i * 101u) % VU_MAX_MEM_SLOTS);
		assert_int_equal(vu_mem_remove(&t->mem, &r), 0);
		assert_null(gpa_host(t, r.gpa, 1));
		if (i % 64 == 0)
			check_indexes(&t->mem);
	}
	assert_int_equal(t->mem.count, 0);
	assert_int_equal(t->fake.unmaps, VU_MAX_MEM_SLOTS);
}

static void max_slots_below_default_is_respected(void **state)
{
	struct fx *t = *state;
	struct vu_mem_region r = reg(0x40000, PAGE, UBASE + 0x40000, 0);

	vu_mem_init(&t->mem, &t->fake.plat, 3);
	add_ok(t, 0x10000, PAGE, UBASE + 0x10000, 0);
	add_ok(t, 0x20000, PAGE, UBASE + 0x20000, 0);
	add_ok(t, 0x30000, PAGE, UBASE + 0x30000, 0);
	assert_int_equal(vu_mem_add(&t->mem, &r, t->fd), -ENOSPC);
	assert_int_equal(t->fake.maps, 3);
	/* A duplicate is still accepted when full: it needs no slot. */
	r = reg(0x20000, PAGE, UBASE + 0x20000, 0);
	assert_int_equal(vu_mem_add(&t->mem, &r, t->fd), 1);
}

/* ---- SET_MEM_TABLE ---- */

static void set_table_replaces_add_built_table(void **state)
{
	struct fx *t = *state;
	struct vu_mem_region nr[2] = {
		reg(0x100000, 0x2000, UBASE + 0x200000, 0x10000),
		reg(0x80000, PAGE, UBASE + 0x100000, 0x20000),
	};
	int fds[2] = {t->fd, t->fd};
	uint32_t gen;

	add_ok(t, 0x10000, PAGE, UBASE + 0x10000, 0);
	add_ok(t, 0x20000, PAGE, UBASE + 0x20000, 0);
	add_ok(t, 0x30000, PAGE, UBASE + 0x30000, 0);
	gen = t->mem.generation;
	assert_int_equal(vu_mem_set_table(&t->mem, nr, 2, fds), 0);
	assert_int_equal(t->mem.count, 2);
	assert_int_equal(t->fake.unmaps, 3);
	assert_int_equal(t->fake.maps, 5);
	assert_true(t->mem.generation != gen);
	check_indexes(&t->mem);
	assert_null(gpa_host(t, 0x10000, 1));
	assert_ptr_equal(gpa_host(t, 0x101fff, 1), file_at(t, 0x11fff));
	assert_ptr_equal(vu_mem_uaddr_to_host(&t->mem, UBASE + 0x100000, 1, NULL),
			 file_at(t, 0x20000));
}

/* The table built by old_table(); what must survive a refused SET. */
static void old_table(struct fx *t)
{
	add_ok(t, 0x10000, PAGE, UBASE + 0x10000, 0x1000);
	add_ok(t, 0x20000, PAGE, UBASE + 0x20000, 0x2000);
}

static void assert_old_table_intact(struct fx *t, int maps_before, uint32_t gen)
{
	assert_int_equal(t->mem.count, 2);
	assert_int_equal(t->mem.generation, gen);
	assert_int_equal(t->fake.maps - t->fake.unmaps, 2);
	assert_int_equal(t->fake.unmaps, t->fake.maps - maps_before);
	assert_ptr_equal(gpa_host(t, 0x10000, 1), file_at(t, 0x1000));
	assert_ptr_equal(gpa_host(t, 0x20fff, 1), file_at(t, 0x2fff));
	check_indexes(&t->mem);
}

static void set_table_refuses_nine_regions(void **state)
{
	struct fx *t = *state;
	struct vu_mem_region nr[9];
	int fds[9];

	for (uint32_t i = 0; i < 9; i++) {
		nr[i] = reg(0x100000 + i * PAGE, PAGE, UBASE + 0x100000 + i * PAGE, 0);
		fds[i] = t->fd;
	}
	old_table(t);
	assert_int_equal(vu_mem_set_table(&t->mem, nr, 9, fds), -EINVAL);
	assert_int_equal(t->map_calls, 2);
	assert_old_table_intact(t, 2, 2);
}

static void set_table_refuses_overlap_and_keeps_old_table(void **state)
{
	struct fx *t = *state;
	struct vu_mem_region g[3] = {
		reg(0x100000, PAGE, UBASE + 0x100000, 0),
		reg(0x200000, PAGE, UBASE + 0x200000, 0),
		reg(0x200fff, PAGE, UBASE + 0x300000, 0),
	};
	struct vu_mem_region u[2] = {
		reg(0x100000, PAGE, UBASE + 0x100800, 0),
		reg(0x200000, PAGE, UBASE + 0x100000, 0),
	};
	int fds[3] = {t->fd, t->fd, t->fd};

	old_table(t);
	assert_int_equal(vu_mem_set_table(&t->mem, g, 3, fds), -EINVAL);
	assert_int_equal(vu_mem_set_table(&t->mem, u, 2, fds), -EINVAL);
	assert_int_equal(t->map_calls, 2);
	assert_old_table_intact(t, 2, 2);
}

static void set_table_refuses_exact_duplicates(void **state)
{
	struct fx *t = *state;
	struct vu_mem_region nr[2] = {
		reg(0x100000, PAGE, UBASE + 0x100000, 0),
		reg(0x100000, PAGE, UBASE + 0x100000, 0),
	};
	int fds[2] = {t->fd, t->fd};

	old_table(t);
	assert_int_equal(vu_mem_set_table(&t->mem, nr, 2, fds), -EINVAL);
	assert_int_equal(t->map_calls, 2);
	assert_old_table_intact(t, 2, 2);
}

static void set_table_refuses_invalid_region_and_keeps_old_table(void **state)
{
	struct fx *t = *state;
	struct vu_mem_region nr[2] = {
		reg(0x100000, PAGE, UBASE + 0x100000, 0),
		reg(UINT64_MAX - 0xfff, 0x2000, UBASE + 0x200000, 0),
	};
	int fds[2] = {t->fd, t->fd};

	old_table(t);
	assert_int_equal(vu_mem_set_table(&t->mem, nr, 2, fds), -EINVAL);
	nr[1] = reg(0x200000, 0, UBASE + 0x200000, 0);
	assert_int_equal(vu_mem_set_table(&t->mem, nr, 2, fds), -EINVAL);
	assert_int_equal(t->map_calls, 2);
	assert_old_table_intact(t, 2, 2);
}

static void set_table_first_map_failure_keeps_old_table(void **state)
{
	struct fx *t = *state;
	struct vu_mem_region nr[2] = {
		reg(0x100000, PAGE, UBASE + 0x100000, 0),
		reg(0x200000, PAGE, UBASE + 0x200000, 0),
	};
	int fds[2] = {t->fd, t->fd};

	old_table(t);
	t->fake.fail_map = ENOMEM;
	assert_int_equal(vu_mem_set_table(&t->mem, nr, 2, fds), -ENOMEM);
	assert_old_table_intact(t, 2, 2);
	assert_null(gpa_host(t, 0x100000, 1));
}

static void set_table_late_map_failure_unmaps_new_ones(void **state)
{
	struct fx *t = *state;
	struct vu_mem_region nr[3] = {
		reg(0x100000, PAGE, UBASE + 0x100000, 0),
		reg(0x200000, PAGE, UBASE + 0x200000, 0),
		reg(0x300000, PAGE, UBASE + 0x300000, 0),
	};
	int fds[3] = {t->fd, t->fd, 999};

	old_table(t);
	assert_int_equal(vu_mem_set_table(&t->mem, nr, 3, fds), -EBADF);
	/* Two new regions were mapped, and both were unmapped again. */
	assert_int_equal(t->fake.maps, 4);
	assert_old_table_intact(t, 2, 2);
	assert_null(gpa_host(t, 0x100000, 1));
}

static void set_table_empty_clears(void **state)
{
	struct fx *t = *state;

	old_table(t);
	assert_int_equal(vu_mem_set_table(&t->mem, NULL, 0, NULL), 0);
	assert_int_equal(t->mem.count, 0);
	assert_int_equal(t->fake.unmaps, 2);
	assert_int_equal(t->mem.generation, 3);
	assert_null(gpa_host(t, 0x10000, 1));
}

static void set_table_more_than_max_slots_is_enospc(void **state)
{
	struct fx *t = *state;
	struct vu_mem_region nr[3] = {
		reg(0x100000, PAGE, UBASE + 0x100000, 0),
		reg(0x200000, PAGE, UBASE + 0x200000, 0),
		reg(0x300000, PAGE, UBASE + 0x300000, 0),
	};
	int fds[3] = {t->fd, t->fd, t->fd};

	vu_mem_init(&t->mem, &t->fake.plat, 2);
	old_table(t);
	assert_int_equal(vu_mem_set_table(&t->mem, nr, 3, fds), -ENOSPC);
	assert_old_table_intact(t, 2, 2);
	assert_int_equal(vu_mem_set_table(&t->mem, nr, 2, fds), 0);
}

/* ---- clear and generation ---- */

static void clear_unmaps_everything(void **state)
{
	struct fx *t = *state;

	old_table(t);
	add_ok(t, 0x30000, PAGE, UBASE + 0x30000, 0x3000);
	vu_mem_clear(&t->mem);
	assert_int_equal(t->mem.count, 0);
	assert_int_equal(t->fake.maps, 3);
	assert_int_equal(t->fake.unmaps, 3);
	assert_null(gpa_host(t, 0x10000, 1));
	assert_null(t->mem.slot[0].cookie);
	/* The table is usable again. */
	old_table(t);
	assert_ptr_equal(gpa_host(t, 0x20000, 1), file_at(t, 0x2000));
}

static void generation_bumps_on_every_change_only(void **state)
{
	struct fx *t = *state;
	struct vu_mem_region a = reg(0x10000, PAGE, UBASE + 0x10000, 0);
	struct vu_mem_region bad = reg(0x10800, PAGE, UBASE + 0x90000, 0);
	struct vu_mem_region set[1] = {reg(0x50000, PAGE, UBASE + 0x50000, 0)};
	struct vu_mem_region nine[9] = {0};
	int fds[9] = {t->fd};

	assert_int_equal(vu_mem_add(&t->mem, &a, t->fd), 0);
	assert_int_equal(t->mem.generation, 1);
	assert_int_equal(vu_mem_add(&t->mem, &a, t->fd), 1);
	assert_int_equal(vu_mem_add(&t->mem, &bad, t->fd), -EEXIST);
	assert_int_equal(t->mem.generation, 1);
	assert_int_equal(vu_mem_remove(&t->mem, &bad), -ENOENT);
	assert_int_equal(t->mem.generation, 1);
	assert_int_equal(vu_mem_remove(&t->mem, &a), 0);
	assert_int_equal(t->mem.generation, 2);
	assert_int_equal(vu_mem_set_table(&t->mem, nine, 9, fds), -EINVAL);
	assert_int_equal(t->mem.generation, 2);
	assert_int_equal(vu_mem_set_table(&t->mem, set, 1, fds), 0);
	assert_int_equal(t->mem.generation, 3);
	vu_mem_clear(&t->mem);
	assert_int_equal(t->mem.generation, 4);
}

/* ---- the hint ---- */

static void hint_is_filled_and_used(void **state)
{
	struct fx *t = *state;
	struct vu_mem_hint h = {0};

	add_ok(t, 0x10000, PAGE, UBASE + 0x10000, 0x1000);
	add_ok(t, 0x20000, PAGE, UBASE + 0x20000, 0x2000);
	assert_ptr_equal(vu_mem_gpa_to_host(&t->mem, 0x20010, 8, &h), file_at(t, 0x2010));
	assert_int_equal(h.generation, t->mem.generation);
	assert_int_equal(h.slot, 1);
	assert_ptr_equal(vu_mem_gpa_to_host(&t->mem, 0x20ff8, 8, &h), file_at(t, 0x2ff8));
	/* A miss through the hint falls back to the search and moves the hint. */
	assert_ptr_equal(vu_mem_gpa_to_host(&t->mem, 0x10000, 8, &h), file_at(t, 0x1000));
	assert_int_equal(h.slot, 0);
	/* A miss everywhere leaves the hint alone. */
	assert_null(vu_mem_gpa_to_host(&t->mem, 0x30000, 8, &h));
	assert_int_equal(h.slot, 0);
	/* The hint is checked against the range, not just the start. */
	assert_null(vu_mem_gpa_to_host(&t->mem, 0x10ff8, 9, &h));
}

static void stale_hint_after_removal_never_points_into_removed_region(void **state)
{
	struct fx *t = *state;
	struct vu_mem_region a = reg(0x10000, PAGE, UBASE + 0x10000, 0x1000);
	struct vu_mem_region b = reg(0x20000, PAGE, UBASE + 0x20000, 0x2000);
	struct vu_mem_hint ha = {0}, hb = {0};

	add_ok(t, a.gpa, a.size, a.uaddr, a.mmap_offset);
	add_ok(t, b.gpa, b.size, b.uaddr, b.mmap_offset);
	assert_non_null(vu_mem_gpa_to_host(&t->mem, 0x10000, 1, &ha));
	assert_non_null(vu_mem_gpa_to_host(&t->mem, 0x20000, 1, &hb));
	assert_int_equal(vu_mem_remove(&t->mem, &a), 0);
	/* b moved into slot 0; ha names slot 0, hb a slot past the end. */
	assert_null(vu_mem_gpa_to_host(&t->mem, 0x10000, 1, &ha));
	assert_ptr_equal(vu_mem_gpa_to_host(&t->mem, 0x20000, 1, &hb), file_at(t, 0x2000));
	assert_int_equal(hb.slot, 0);
	assert_int_equal(vu_mem_remove(&t->mem, &b), 0);
	assert_null(vu_mem_gpa_to_host(&t->mem, 0x20000, 1, &hb));
	/* A new region in the old slot must not revive the old range. */
	add_ok(t, 0x50000, PAGE, UBASE + 0x50000, 0x5000);
	assert_null(vu_mem_gpa_to_host(&t->mem, 0x20000, 1, &hb));
	assert_null(vu_mem_gpa_to_host(&t->mem, 0x10000, 1, &ha));
}

/* Even a hint whose generation matches (forged, or after the counter
 * wrapped) is checked against the slot as it is now. */
static void forged_hint_is_still_checked(void **state)
{
	struct fx *t = *state;
	struct vu_mem_region a = reg(0x10000, PAGE, UBASE + 0x10000, 0x1000);
	struct vu_mem_hint h;

	add_ok(t, a.gpa, a.size, a.uaddr, a.mmap_offset);
	add_ok(t, 0x20000, PAGE, UBASE + 0x20000, 0x2000);
	assert_int_equal(vu_mem_remove(&t->mem, &a), 0);
	h.generation = t->mem.generation;
	h.slot = 0;
	assert_null(vu_mem_gpa_to_host(&t->mem, 0x10000, 1, &h));
	h.slot = 1;
	assert_null(vu_mem_gpa_to_host(&t->mem, 0x10000, 1, &h));
	h.slot = 1000000;
	assert_ptr_equal(vu_mem_gpa_to_host(&t->mem, 0x20000, 1, &h), file_at(t, 0x2000));
	assert_int_equal(h.slot, 0);
}

/* ---- iovecs ---- */

/* gpa [0x10000, 0x13000) as three pages, each from a different, scattered
 * part of the file; with_hole leaves out the middle one. */
static void three_pages(struct fx *t, int with_hole)
{
	add_ok(t, 0x10000, PAGE, UBASE + 0x10000, 0x7000);
	if (!with_hole)
		add_ok(t, 0x11000, PAGE, UBASE + 0x11000, 0x2000);
	add_ok(t, 0x12000, PAGE, UBASE + 0x12000, 0x9000);
}

static void iov_single_region(void **state)
{
	struct fx *t = *state;
	struct vu_iov iov[4];
	uint32_t n = 0;

	three_pages(t, 0);
	assert_int_equal(vu_mem_gpa_to_iov(&t->mem, 0x11100, 0x100, iov, &n, 4, NULL), 0);
	assert_int_equal(n, 1);
	assert_ptr_equal(iov[0].base, file_at(t, 0x2100));
	assert_int_equal(iov[0].len, 0x100);
}

static void iov_split_across_two_regions(void **state)
{
	struct fx *t = *state;
	struct vu_iov iov[4] = {{0}};
	uint32_t n = 1; /* appends after an existing entry */

	three_pages(t, 0);
	assert_int_equal(vu_mem_gpa_to_iov(&t->mem, 0x10f00, 0x200, iov, &n, 4, NULL), 0);
	assert_int_equal(n, 3);
	assert_null(iov[0].base);
	assert_ptr_equal(iov[1].base, file_at(t, 0x7f00));
	assert_int_equal(iov[1].len, 0x100);
	assert_ptr_equal(iov[2].base, file_at(t, 0x2000));
	assert_int_equal(iov[2].len, 0x100);
}

static void iov_split_across_three_regions(void **state)
{
	struct fx *t = *state;
	struct vu_iov iov[3];
	struct vu_mem_hint h = {0};
	uint32_t n = 0;

	three_pages(t, 0);
	assert_int_equal(vu_mem_gpa_to_iov(&t->mem, 0x10fff, 0x1002, iov, &n, 3, &h), 0);
	assert_int_equal(n, 3);
	assert_ptr_equal(iov[0].base, file_at(t, 0x7fff));
	assert_int_equal(iov[0].len, 1);
	assert_ptr_equal(iov[1].base, file_at(t, 0x2000));
	assert_int_equal(iov[1].len, PAGE);
	assert_ptr_equal(iov[2].base, file_at(t, 0x9000));
	assert_int_equal(iov[2].len, 1);
	/* The whole span, exactly. */
	n = 0;
	assert_int_equal(vu_mem_gpa_to_iov(&t->mem, 0x10000, 3 * PAGE, iov, &n, 3, &h), 0);
	assert_int_equal(n, 3);
	assert_int_equal(iov[0].len + iov[1].len + iov[2].len, 3 * PAGE);
}

static void iov_hole_is_efault(void **state)
{
	struct fx *t = *state;
	struct vu_iov iov[4];
	uint32_t n = 0;

	three_pages(t, 1);
	assert_int_equal(vu_mem_gpa_to_iov(&t->mem, 0x10f00, 0x200, iov, &n, 4, NULL), -EFAULT);
	assert_int_equal(vu_mem_gpa_to_iov(&t->mem, 0x11f00, 0x200, iov, &n, 4, NULL), -EFAULT);
	assert_int_equal(vu_mem_gpa_to_iov(&t->mem, 0x10000, 3 * PAGE, iov, &n, 4, NULL), -EFAULT);
	assert_int_equal(n, 0);
}

static void iov_past_last_region_is_efault(void **state)
{
	struct fx *t = *state;
	struct vu_iov iov[4];
	uint32_t n = 0;

	three_pages(t, 0);
	assert_int_equal(vu_mem_gpa_to_iov(&t->mem, 0x12f00, 0x101, iov, &n, 4, NULL), -EFAULT);
	assert_int_equal(vu_mem_gpa_to_iov(&t->mem, 0xff00, 0x200, iov, &n, 4, NULL), -EFAULT);
	assert_int_equal(n, 0);
}

static void iov_wrap_is_efault(void **state)
{
	struct fx *t = *state;
	struct vu_iov iov[4];
	uint32_t n = 0;

	add_ok(t, UINT64_MAX - PAGE, PAGE, UBASE, 0);
	assert_int_equal(vu_mem_gpa_to_iov(&t->mem, UINT64_MAX - 0x10, 0x20, iov, &n, 4, NULL),
			 -EFAULT);
	assert_int_equal(
		vu_mem_gpa_to_iov(&t->mem, UINT64_MAX - 0x10, UINT64_MAX, iov, &n, 4, NULL),
		-EFAULT);
	assert_int_equal(n, 0);
	assert_int_equal(vu_mem_gpa_to_iov(&t->mem, UINT64_MAX - 0x10, 0x10, iov, &n, 4, NULL), 0);
	assert_int_equal(n, 1);
}

static void iov_enobufs_leaves_n_unchanged(void **state)
{
	struct fx *t = *state;
	struct vu_iov iov[4];
	uint32_t n = 0;

	three_pages(t, 0);
	assert_int_equal(vu_mem_gpa_to_iov(&t->mem, 0x10f00, 0x1200, iov, &n, 2, NULL), -ENOBUFS);
	assert_int_equal(n, 0);
	n = 2;
	assert_int_equal(vu_mem_gpa_to_iov(&t->mem, 0x10f00, 0x200, iov, &n, 3, NULL), -ENOBUFS);
	assert_int_equal(n, 2);
	n = 4;
	assert_int_equal(vu_mem_gpa_to_iov(&t->mem, 0x10000, 1, iov, &n, 4, NULL), -ENOBUFS);
	assert_int_equal(n, 4);
}

static void iov_len_zero_appends_nothing(void **state)
{
	struct fx *t = *state;
	struct vu_iov iov[1];
	uint32_t n = 0;

	three_pages(t, 0);
	assert_int_equal(vu_mem_gpa_to_iov(&t->mem, 0x10000, 0, iov, &n, 1, NULL), 0);
	assert_int_equal(vu_mem_gpa_to_iov(&t->mem, 0x90000, 0, iov, &n, 0, NULL), 0);
	assert_int_equal(n, 0);
}

/* ---- randomized cross-check against a linear model ---- */

#define MODEL_MAX 96
#define SPACE_SPAN (1ull << 22)

struct model {
	struct vu_mem_region r[MODEL_MAX];
	uint32_t n;
};

static uint64_t rng_state = 0x9e3779b97f4a7c15ull;

static uint64_t rnd(void)
{
	rng_state ^= rng_state << 13;
	rng_state ^= rng_state >> 7;
	rng_state ^= rng_state << 17;
	return rng_state;
}

static uint64_t below(uint64_t n)
{
	return rnd() % n;
}

static int overlap(uint64_t a, uint64_t as, uint64_t b, uint64_t bs)
{
	return a < b + bs && b < a + as;
}

static int model_add_result(const struct model *m, const struct vu_mem_region *r, uint32_t max)
{
	for (uint32_t i = 0; i < m->n; i++) {
		const struct vu_mem_region *o = &m->r[i];

		if (o->gpa == r->gpa && o->uaddr == r->uaddr && o->size == r->size)
			return 1;
	}
	for (uint32_t i = 0; i < m->n; i++) {
		const struct vu_mem_region *o = &m->r[i];

		if (overlap(o->gpa, o->size, r->gpa, r->size) ||
		    overlap(o->uaddr, o->size, r->uaddr, r->size))
			return -EEXIST;
	}
	return m->n >= max ? -ENOSPC : 0;
}

static uint8_t *model_to_host(struct fx *t, const struct model *m, int uaddr, uint64_t addr,
			      uint64_t len)
{
	if (len == 0)
		len = 1;
	for (uint32_t i = 0; i < m->n; i++) {
		const struct vu_mem_region *o = &m->r[i];
		uint64_t start = uaddr ? o->uaddr : o->gpa;

		if (addr >= start && addr - start < o->size && len <= o->size - (addr - start))
			return file_at(t, o->mmap_offset + (addr - start));
	}
	return NULL;
}

static struct vu_mem_region random_region(const struct model *m)
{
	uint64_t size = below(8) == 0 ? 1 + below(4) : 1 + below(0x4000);
	struct vu_mem_region r = reg(below(SPACE_SPAN), size, UBASE + below(SPACE_SPAN), 0);

	/* Sometimes an exact duplicate, sometimes a neighbour that touches. */
	if (m->n && below(8) == 0) {
		r = m->r[below(m->n)];
	} else if (m->n && below(4) == 0) {
		const struct vu_mem_region *o = &m->r[below(m->n)];

		r.gpa = o->gpa + o->size;
		r.uaddr = below(2) ? o->uaddr + o->size : r.uaddr;
	}
	r.mmap_offset = below(FILE_SIZE - r.size + 1);
	return r;
}

static void model_step(struct fx *t, struct model *m)
{
	struct vu_mem_region r;
	int want;

	if (m->n && below(5) == 0) {
		uint32_t i = (uint32_t)below(m->n);

		r = m->r[i];
		r.mmap_offset = rnd();
		assert_int_equal(vu_mem_remove(&t->mem, &r), 0);
		m->r[i] = m->r[--m->n];
		return;
	}
	r = random_region(m);
	want = model_add_result(m, &r, t->mem.max_slots);
	assert_int_equal(vu_mem_add(&t->mem, &r, t->fd), want);
	if (want == 0)
		m->r[m->n++] = r;
}

/* Mostly addresses near region edges, where the off-by-ones live. */
static uint64_t random_addr(const struct model *m, int uaddr)
{
	const struct vu_mem_region *o;
	uint64_t start;

	if (m->n == 0 || below(4) == 0)
		return (uaddr ? UBASE : 0) + below(SPACE_SPAN + 0x8000);
	o = &m->r[below(m->n)];
	start = uaddr ? o->uaddr : o->gpa;
	switch (below(5)) {
	case 0: return start - 1;
	case 1: return start;
	case 2: return start + o->size - 1;
	case 3: return start + o->size;
	default: return start + below(o->size);
	}
}

static uint64_t random_len(void)
{
	switch (below(4)) {
	case 0: return 0;
	case 1: return 1;
	case 2: return 1 + below(16);
	default: return 1 + below(0x8000);
	}
}

static void model_iov_check(struct fx *t, const struct model *m, uint64_t gpa, uint64_t len,
			    struct vu_mem_hint *h)
{
	struct vu_iov iov[3];
	uint32_t max = 1 + (uint32_t)below(3), n = 0, k = 0;
	int want = 0, got = vu_mem_gpa_to_iov(&t->mem, gpa, len, iov, &n, max, h);

	while (len) {
		uint8_t *p = model_to_host(t, m, 0, gpa, 1);
		uint64_t piece = 1;

		if (!p) {
			want = -EFAULT;
			break;
		}
		if (k == max) {
			want = -ENOBUFS;
			break;
		}
		/* The piece runs to the end of the region holding gpa. */
		for (uint32_t i = 0; i < m->n; i++) {
			if (gpa >= m->r[i].gpa && gpa - m->r[i].gpa < m->r[i].size)
				piece = m->r[i].gpa + m->r[i].size - gpa;
		}
		piece = piece < len ? piece : len;
		if (got == 0) {
			assert_ptr_equal(iov[k].base, p);
			assert_int_equal(iov[k].len, piece);
		}
		k++;
		gpa += piece;
		len -= piece;
	}
	assert_int_equal(got, want);
	assert_int_equal(n, want ? 0 : k);
}

static void model_lookups(struct fx *t, const struct model *m, struct vu_mem_hint *h)
{
	for (int i = 0; i < 300; i++) {
		int uaddr = (int)below(2);
		uint64_t addr = random_addr(m, uaddr), len = random_len();
		uint8_t *want = model_to_host(t, m, uaddr, addr, len);
		void *(*fn)(const struct vu_mem *, uint64_t, uint64_t, struct vu_mem_hint *) =
			uaddr ? vu_mem_uaddr_to_host : vu_mem_gpa_to_host;

		assert_ptr_equal(fn(&t->mem, addr, len, NULL), want);
		assert_ptr_equal(fn(&t->mem, addr, len, h), want);
		if (!uaddr)
			model_iov_check(t, m, addr, len, h);
	}
}

static void random_tables_match_linear_search(void **state)
{
	struct fx *t = *state;
	struct model m;
	/* One hint for everything: it goes stale across every change. */
	struct vu_mem_hint h = {0};

	for (int table = 0; table < 150; table++) {
		vu_mem_clear(&t->mem);
		vu_mem_init(&t->mem, &t->fake.plat, table % 3 == 0 ? 16 : 0);
		m.n = 0;
		for (int step = 0; step < 120; step++) {
			model_step(t, &m);
			assert_int_equal(t->mem.count, m.n);
			if (step % 10 == 9) {
				check_indexes(&t->mem);
				model_lookups(t, &m, &h);
			}
		}
	}
}

#define T(fn) cmocka_unit_test_setup_teardown(fn, setup, teardown)

int main(void)
{
	const struct CMUnitTest tests[] = {
		T(init_defaults_and_clamps_max_slots),
		T(empty_table_translates_nothing),
		T(translate_first_byte),
		T(translate_last_byte),
		T(translate_one_past_end_is_null),
		T(translate_one_before_start_is_null),
		T(translate_range_crossing_end_is_null),
		T(translate_whole_region_and_len_zero),
		T(translate_wrapping_range_is_null),
		T(uaddr_translation),
		T(add_refuses_size_zero),
		T(add_refuses_gpa_wrap),
		T(add_refuses_uaddr_wrap),
		T(add_refuses_mmap_offset_wrap),
		T(add_refuses_end_at_2_pow_64),
		T(add_exact_duplicate_is_idempotent),
		T(add_refuses_gpa_overlap),
		T(add_refuses_uaddr_overlap),
		T(add_refuses_partial_overlap_at_start),
		T(add_refuses_partial_overlap_at_end),
		T(add_refuses_contained_and_containing),
		T(add_accepts_adjacent_regions),
		T(add_returns_map_error_and_changes_nothing),
		T(add_turns_positive_map_error_into_eio),
		T(remove_matches_despite_different_mmap_offset),
		T(remove_unknown_region_is_enoent),
		T(remove_with_wrong_size_is_enoent),
		T(remove_with_wrong_uaddr_is_enoent),
		T(remove_middle_keeps_others_and_slots_dense),
		T(fill_to_max_slots_then_enospc),
		T(max_slots_below_default_is_respected),
		T(set_table_replaces_add_built_table),
		T(set_table_refuses_nine_regions),
		T(set_table_refuses_overlap_and_keeps_old_table),
		T(set_table_refuses_exact_duplicates),
		T(set_table_refuses_invalid_region_and_keeps_old_table),
		T(set_table_first_map_failure_keeps_old_table),
		T(set_table_late_map_failure_unmaps_new_ones),
		T(set_table_empty_clears),
		T(set_table_more_than_max_slots_is_enospc),
		T(clear_unmaps_everything),
		T(generation_bumps_on_every_change_only),
		T(hint_is_filled_and_used),
		T(stale_hint_after_removal_never_points_into_removed_region),
		T(forged_hint_is_still_checked),
		T(iov_single_region),
		T(iov_split_across_two_regions),
		T(iov_split_across_three_regions),
		T(iov_hole_is_efault),
		T(iov_past_last_region_is_efault),
		T(iov_wrap_is_efault),
		T(iov_enobufs_leaves_n_unchanged),
		T(iov_len_zero_appends_nothing),
		T(random_tables_match_linear_search),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
