/* The BAR allocator: natural alignment, the 4 KiB minimum, exhaustion,
 * caller limits (32-bit BARs) and address overflow, each refused cleanly. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "kern/pci_alloc.h"

static void natural_alignment(void **state)
{
	struct k_pci_window w;
	uint64_t a;
	(void)state;

	assert_int_equal(k_pci_window_init(&w, 0x10000000, 0x10000000, 0x2eff0000), 0);
	assert_int_equal(k_pci_window_alloc(&w, 0x100, 0, &a), 0);
	assert_int_equal(a, 0x10000000);
	/* Small BARs still take a whole page each. */
	assert_int_equal(k_pci_window_alloc(&w, 0x10, 0, &a), 0);
	assert_int_equal(a, 0x10001000);
	assert_int_equal(k_pci_window_alloc(&w, 0x100000, 0, &a), 0);
	assert_int_equal(a, 0x10100000);
	assert_int_equal(k_pci_window_alloc(&w, 0x4000, 0, &a), 0);
	assert_int_equal(a, 0x10200000);
	assert_int_equal(k_pci_window_cpu(&w, a), 0x10200000);
}

static void cpu_offset(void **state)
{
	struct k_pci_window w;
	uint64_t a;
	(void)state;

	assert_int_equal(k_pci_window_init(&w, 0x1000, 0x80000000ull, 0x10000), 0);
	assert_int_equal(k_pci_window_alloc(&w, 0x2000, 0, &a), 0);
	assert_int_equal(a, 0x2000);
	assert_int_equal(k_pci_window_cpu(&w, a), 0x80001000ull);
}

static void exhaustion(void **state)
{
	struct k_pci_window w;
	uint64_t a = 0xdead;
	(void)state;

	assert_int_equal(k_pci_window_init(&w, 0x100000, 0x100000, 0x10000), 0);
	assert_int_equal(k_pci_window_alloc(&w, 0x20000, 0, &a), -ENOSPC); /* bigger than all */
	assert_int_equal(a, 0xdead);
	assert_int_equal(k_pci_window_alloc(&w, 0x8000, 0, &a), 0);
	assert_int_equal(k_pci_window_alloc(&w, 0x8000, 0, &a), 0);
	assert_int_equal(a, 0x108000);
	assert_int_equal(k_pci_window_alloc(&w, 0x1000, 0, &a), -ENOSPC);
	/* Alignment alone can exhaust: 0x1000 used, 0x8000 must start at 0x8000. */
	assert_int_equal(k_pci_window_init(&w, 0, 0, 0xc000), 0);
	assert_int_equal(k_pci_window_alloc(&w, 0x1000, 0, &a), 0);
	assert_int_equal(k_pci_window_alloc(&w, 0x8000, 0, &a), -ENOSPC);
	assert_int_equal(k_pci_window_alloc(&w, 0x4000, 0, &a), 0);
	assert_int_equal(a, 0x4000);
}

static void limit_for_32bit_bars(void **state)
{
	struct k_pci_window w;
	uint64_t a;
	(void)state;

	assert_int_equal(k_pci_window_init(&w, 0xfff00000ull, 0xfff00000ull, 0x200000), 0);
	assert_int_equal(k_pci_window_alloc(&w, 0x80000, 1ull << 32, &a), 0);
	assert_int_equal(a, 0xfff00000ull);
	assert_int_equal(k_pci_window_alloc(&w, 0x80000, 1ull << 32, &a), 0);
	assert_int_equal(a, 0xfff80000ull);
	assert_int_equal(k_pci_window_alloc(&w, 0x1000, 1ull << 32, &a), -ENOSPC);
	assert_int_equal(k_pci_window_alloc(&w, 0x1000, 0, &a), 0); /* a 64-bit BAR fits */
	assert_int_equal(a, 0x100000000ull);
}

static void overflow(void **state)
{
	struct k_pci_window w;
	uint64_t a;
	(void)state;

	assert_int_equal(k_pci_window_init(&w, UINT64_MAX - 0xfff, 0, 0x1000), 0);
	assert_int_equal(k_pci_window_alloc(&w, 0x1000, 0, &a), 0);
	assert_int_equal(a, UINT64_MAX - 0xfff);
	assert_int_equal(k_pci_window_alloc(&w, 0x1000, 0, &a), -ENOSPC);
	/* Aligning up would wrap past 2^64. */
	assert_int_equal(k_pci_window_init(&w, UINT64_MAX - 0x1fff, 0, 0x2000), 0);
	assert_int_equal(k_pci_window_alloc(&w, 1ull << 63, 0, &a), -EOVERFLOW);
	assert_int_equal(k_pci_window_init(&w, 0x1000, 0, 0x1000), 0);
	assert_int_equal(k_pci_window_alloc(&w, 1ull << 63, 0, &a), -ENOSPC);
}

static void bad_arguments(void **state)
{
	struct k_pci_window w;
	uint64_t a;
	(void)state;

	assert_int_equal(k_pci_window_init(&w, 0, 0, 0), -EINVAL);
	assert_int_equal(k_pci_window_init(&w, UINT64_MAX, 0, 2), -EINVAL);
	assert_int_equal(k_pci_window_init(&w, 0, UINT64_MAX, 2), -EINVAL);
	assert_int_equal(k_pci_window_init(NULL, 0, 0, 0x1000), -EINVAL);
	assert_int_equal(k_pci_window_init(&w, 0, 0, 0x100000), 0);
	assert_int_equal(k_pci_window_alloc(&w, 0, 0, &a), -EINVAL);
	assert_int_equal(k_pci_window_alloc(&w, 0x3000, 0, &a), -EINVAL);
	assert_int_equal(k_pci_window_alloc(&w, 0x1000, 0, NULL), -EINVAL);
	assert_int_equal(k_pci_window_alloc(NULL, 0x1000, 0, &a), -EINVAL);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(natural_alignment), cmocka_unit_test(cpu_offset),
		cmocka_unit_test(exhaustion),	     cmocka_unit_test(limit_for_32bit_bars),
		cmocka_unit_test(overflow),	     cmocka_unit_test(bad_arguments),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
