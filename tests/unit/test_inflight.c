/* test_inflight.c - inflight region size arithmetic and its rejections. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "vu/inflight.h"

static void test_queue_bytes_header_plus_entries_aligned(void **state)
{
	(void)state;
	assert_int_equal(vu_inflight_queue_bytes(1), 64);
	assert_int_equal(vu_inflight_queue_bytes(2), 64);
	assert_int_equal(vu_inflight_queue_bytes(4), 128);
	assert_int_equal(vu_inflight_queue_bytes(128), 16 + 128 * 16 + 48);
	assert_int_equal(vu_inflight_queue_bytes(256), 4160);
	assert_int_equal(vu_inflight_queue_bytes(32768), 16 * 32768 + 64);
}

static void test_queue_bytes_always_aligned(void **state)
{
	(void)state;
	for (uint32_t qs = 1; qs <= 32768; qs <<= 1) {
		uint64_t n = vu_inflight_queue_bytes(qs);

		assert_int_equal(n % VU_INFLIGHT_ALIGN, 0);
		assert_true(n >= sizeof(struct vu_inflight_queue) +
					 qs * sizeof(struct vu_inflight_desc));
	}
}

static void test_queue_bytes_rejects_zero(void **state)
{
	(void)state;
	assert_int_equal(vu_inflight_queue_bytes(0), 0);
}

static void test_queue_bytes_rejects_non_power_of_two(void **state)
{
	(void)state;
	assert_int_equal(vu_inflight_queue_bytes(3), 0);
	assert_int_equal(vu_inflight_queue_bytes(1000), 0);
}

static void test_queue_bytes_rejects_too_large(void **state)
{
	(void)state;
	assert_int_equal(vu_inflight_queue_bytes(65536), 0);
	assert_int_equal(vu_inflight_queue_bytes(32769), 0);
	assert_int_equal(vu_inflight_queue_bytes(UINT32_MAX), 0);
	assert_int_equal(vu_inflight_queue_bytes(0x80000000u), 0);
}

static void test_total_bytes_multiplies(void **state)
{
	(void)state;
	assert_int_equal(vu_inflight_total_bytes(1, 128), vu_inflight_queue_bytes(128));
	assert_int_equal(vu_inflight_total_bytes(4, 256), 4 * 4160);
	assert_int_equal(vu_inflight_total_bytes(1024, 32768), 1024ull * (16 * 32768 + 64));
}

static void test_total_bytes_rejects_zero_queues(void **state)
{
	(void)state;
	assert_int_equal(vu_inflight_total_bytes(0, 128), 0);
}

static void test_total_bytes_rejects_too_many_queues(void **state)
{
	(void)state;
	assert_int_equal(vu_inflight_total_bytes(1025, 128), 0);
	assert_int_equal(vu_inflight_total_bytes(UINT32_MAX, 32768), 0);
}

static void test_total_bytes_rejects_bad_queue_size(void **state)
{
	(void)state;
	assert_int_equal(vu_inflight_total_bytes(2, 0), 0);
	assert_int_equal(vu_inflight_total_bytes(2, 100), 0);
	assert_int_equal(vu_inflight_total_bytes(2, 65536), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_queue_bytes_header_plus_entries_aligned),
		cmocka_unit_test(test_queue_bytes_always_aligned),
		cmocka_unit_test(test_queue_bytes_rejects_zero),
		cmocka_unit_test(test_queue_bytes_rejects_non_power_of_two),
		cmocka_unit_test(test_queue_bytes_rejects_too_large),
		cmocka_unit_test(test_total_bytes_multiplies),
		cmocka_unit_test(test_total_bytes_rejects_zero_queues),
		cmocka_unit_test(test_total_bytes_rejects_too_many_queues),
		cmocka_unit_test(test_total_bytes_rejects_bad_queue_size),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
