/* The boot arena: alignment, bounds (no overflow with any size or
 * alignment), the ledger per owner, and data left out of the budget. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "kern/arena.h"

static _Alignas(4096) uint8_t ram[64 * 1024];

static uint64_t at(const void *p)
{
	return (uint64_t)(uintptr_t)p;
}

static void takes_are_aligned_zeroed_and_charged(void **state)
{
	struct k_arena a;
	uint64_t base = at(ram);
	uint8_t *p, *q;
	(void)state;
	memset(ram, 0xaa, sizeof(ram));
	k_arena_init(&a, base + 1, base + sizeof(ram));
	p = k_arena_take(&a, "vsock", 100, 64);
	assert_non_null(p);
	assert_int_equal(at(p), base + 64);
	for (int i = 0; i < 100; i++)
		assert_int_equal(p[i], 0);
	q = k_arena_take(&a, "control", 10, 4096);
	assert_int_equal(at(q), base + 4096);
	/* The same owner again adds up; padding is charged to who caused it. */
	assert_non_null(k_arena_take(&a, "vsock", 4, 1));
	assert_int_equal(a.nowners, 2);
	assert_string_equal(a.owners[0].name, "vsock");
	assert_int_equal(a.owners[0].bytes, 63 + 100 + 4);
	assert_int_equal(a.owners[1].bytes, 4096 - 164 + 10);
	assert_int_equal(k_arena_counted(&a), a.next - a.start);
}

static void data_is_listed_but_not_counted(void **state)
{
	struct k_arena a;
	(void)state;
	k_arena_init(&a, at(ram), at(ram) + sizeof(ram));
	assert_non_null(k_arena_take(&a, "sessions", 1000, 8));
	assert_non_null(k_arena_take_data(&a, "ramdisk", 8192, 4096));
	assert_int_equal(a.nowners, 2);
	assert_true(a.owners[1].data);
	assert_int_equal(k_arena_counted(&a), 1000);
	assert_int_equal(k_arena_free(&a), sizeof(ram) - 4096 - 8192);
}

static void bounds_hold_for_any_request(void **state)
{
	struct k_arena a;
	(void)state;
	k_arena_init(&a, at(ram), at(ram) + sizeof(ram));
	assert_null(k_arena_take(&a, "x", sizeof(ram) + 1, 1));
	assert_null(k_arena_take(&a, "x", UINT64_MAX, 1));
	assert_null(k_arena_take(&a, "x", 1, 3)); /* not a power of two */
	assert_null(k_arena_take(&a, "x", 1, 0));
	assert_null(k_arena_take(&a, "x", 1, 1ull << 63)); /* past the end */
	assert_null(k_arena_take(&a, NULL, 1, 1));
	assert_int_equal(a.next, a.start);
	assert_non_null(k_arena_take(&a, "x", sizeof(ram), 1)); /* exactly all of it */
	assert_null(k_arena_take(&a, "x", 1, 1));
	assert_non_null(k_arena_take(&a, "x", 0, 1));
	assert_int_equal(k_arena_free(&a), 0);
	/* An empty or inverted range hands out nothing. */
	k_arena_init(&a, 100, 50);
	assert_null(k_arena_take(&a, "x", 1, 1));
}

static void the_ledger_is_bounded(void **state)
{
	static const char *const names[] = {"a", "b", "c", "d", "e", "f", "g", "h", "i",
					    "j", "k", "l", "m", "n", "o", "p", "q"};
	struct k_arena a;
	(void)state;
	k_arena_init(&a, at(ram), at(ram) + sizeof(ram));
	for (unsigned i = 0; i < K_ARENA_OWNERS; i++)
		assert_non_null(k_arena_take(&a, names[i], 1, 1));
	assert_null(k_arena_take(&a, names[K_ARENA_OWNERS], 1, 1));
	assert_non_null(k_arena_take(&a, names[0], 1, 1)); /* a known owner still can */
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(takes_are_aligned_zeroed_and_charged),
		cmocka_unit_test(data_is_listed_but_not_counted),
		cmocka_unit_test(bounds_hold_for_any_request),
		cmocka_unit_test(the_ledger_is_bounded),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
