/* kern/phys.h: a physical range becomes a pointer only if every byte of it
 * is addressable; on a 32-bit build (the -m32 unit tests, the arm32 service
 * VM) anything reaching 4 GiB is refused, never truncated to a low address. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "kern/phys.h"

#define GiB (1ull << 30)
#define LIMIT32 0xffffffffull

static void test_fits_32bit_limit(void **state)
{
	(void)state;
	assert_true(k_phys_range_fits(0x10000000, 0x100000, LIMIT32));
	/* The last byte of the 4 GiB space is the last addressable one. */
	assert_true(k_phys_range_fits(4 * GiB - 0x1000, 0x1000, LIMIT32));
	assert_true(k_phys_range_fits(0, 4 * GiB, LIMIT32));
	/* One byte more, or a base at 4 GiB, is refused. */
	assert_false(k_phys_range_fits(4 * GiB - 0x1000, 0x1001, LIMIT32));
	assert_false(k_phys_range_fits(0, 4 * GiB + 1, LIMIT32));
	assert_false(k_phys_range_fits(4 * GiB, 1, LIMIT32));
	/* QEMU virt's 64-bit PCI window, where an ivshmem BAR lands with
	 * highmem=on: truncated it would alias RAM at 0. */
	assert_false(k_phys_range_fits(0x8000000000ull, 0x100000, LIMIT32));
}

static void test_empty_and_wrapping(void **state)
{
	(void)state;
	assert_false(k_phys_range_fits(0x1000, 0, UINT64_MAX));
	assert_false(k_phys_range_fits(UINT64_MAX, 2, UINT64_MAX));
	assert_false(k_phys_range_fits(UINT64_MAX - 0xfff, 0x2000, UINT64_MAX));
	assert_true(k_phys_range_fits(UINT64_MAX, 1, UINT64_MAX));
	assert_true(k_phys_range_fits(0, UINT64_MAX, UINT64_MAX));
}

/* The native rule: whatever this build's pointers hold. Both branches are
 * exercised: the host tree is 64-bit, the host32 tree 32-bit. */
static void test_native_pointer(void **state)
{
	uint64_t high = 0x8000000000ull;

	(void)state;
	assert_ptr_equal(k_phys_ptr(0x40000000, 0x1000), (void *)(uintptr_t)0x40000000);
	assert_null(k_phys_ptr(0x1000, 0));
	if (sizeof(void *) == 4) {
		assert_int_equal(k_phys_ptr_bits(), 32);
		assert_null(k_phys_ptr(high, 0x1000));
		assert_null(k_phys_ptr(4 * GiB - 0x1000, 0x2000));
		assert_non_null(k_phys_ptr(4 * GiB - 0x1000, 0x1000));
	} else {
		assert_int_equal(k_phys_ptr_bits(), 64);
		assert_ptr_equal(k_phys_ptr(high, 0x1000), (void *)(uintptr_t)high);
		assert_non_null(k_phys_ptr(4 * GiB - 0x1000, 0x2000));
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_fits_32bit_limit),
		cmocka_unit_test(test_empty_and_wrapping),
		cmocka_unit_test(test_native_pointer),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
