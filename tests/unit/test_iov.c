/* Byte access across iovecs: the helpers devices use so that a header or
 * status byte split over descriptors reads the same as a contiguous one. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "vu/iov.h"

static uint8_t a[3], b[0 + 1], c[5];
static struct vu_iov iov[4];

static int setup(void **state)
{
	(void)state;
	memset(a, 'a', sizeof(a));
	memset(b, 'b', sizeof(b));
	memset(c, 'c', sizeof(c));
	iov[0] = (struct vu_iov){a, sizeof(a)};
	iov[1] = (struct vu_iov){b, 0}; /* zero-length descriptors happen */
	iov[2] = (struct vu_iov){b, sizeof(b)};
	iov[3] = (struct vu_iov){c, sizeof(c)};
	return 0;
}

static void to_buf_crosses_iovecs(void **state)
{
	char out[9] = {0};
	(void)state;
	assert_int_equal(vu_iov_to_buf(iov, 4, 0, out, 9), 9);
	assert_memory_equal(out, "aaabccccc", 9);
}

static void to_buf_from_offset_inside_later_iovec(void **state)
{
	char out[4] = {0};
	(void)state;
	assert_int_equal(vu_iov_to_buf(iov, 4, 3, out, 4), 4);
	assert_memory_equal(out, "bccc", 4);
}

static void to_buf_stops_at_the_end(void **state)
{
	char out[16];
	(void)state;
	assert_int_equal(vu_iov_to_buf(iov, 4, 7, out, sizeof(out)), 2);
	assert_int_equal(vu_iov_to_buf(iov, 4, 9, out, sizeof(out)), 0);
	assert_int_equal(vu_iov_to_buf(iov, 4, 1000, out, sizeof(out)), 0);
}

static void from_buf_writes_across_and_stops_at_end(void **state)
{
	(void)state;
	assert_int_equal(vu_iov_from_buf(iov, 4, 2, "XYZ", 3), 3);
	assert_int_equal(a[2], 'X');
	assert_int_equal(b[0], 'Y');
	assert_int_equal(c[0], 'Z');
	assert_int_equal(vu_iov_from_buf(iov, 4, 8, "12", 2), 1);
	assert_int_equal(c[4], '1');
}

static void memset_is_bounded(void **state)
{
	(void)state;
	assert_int_equal(vu_iov_memset(iov, 4, 1, 0, 100), 8);
	assert_int_equal(a[0], 'a');
	assert_int_equal(a[1], 0);
	assert_int_equal(c[4], 0);
}

static void slice_describes_subrange(void **state)
{
	struct vu_iov out[4];
	(void)state;
	assert_int_equal(vu_iov_slice(iov, 4, 1, 5, out, 4), 3);
	assert_ptr_equal(out[0].base, a + 1);
	assert_int_equal(out[0].len, 2);
	assert_ptr_equal(out[1].base, b);
	assert_int_equal(out[1].len, 1);
	assert_ptr_equal(out[2].base, c);
	assert_int_equal(out[2].len, 2);
}

static void slice_refuses_range_past_end(void **state)
{
	struct vu_iov out[4];
	(void)state;
	assert_int_equal(vu_iov_slice(iov, 4, 5, 5, out, 4), -1);
}

static void slice_refuses_too_many_pieces(void **state)
{
	struct vu_iov out[2];
	(void)state;
	assert_int_equal(vu_iov_slice(iov, 4, 0, 9, out, 2), -1);
}

static void slice_of_nothing_is_empty(void **state)
{
	struct vu_iov out[1];
	(void)state;
	assert_int_equal(vu_iov_slice(iov, 4, 9, 0, out, 1), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup(to_buf_crosses_iovecs, setup),
		cmocka_unit_test_setup(to_buf_from_offset_inside_later_iovec, setup),
		cmocka_unit_test_setup(to_buf_stops_at_the_end, setup),
		cmocka_unit_test_setup(from_buf_writes_across_and_stops_at_end, setup),
		cmocka_unit_test_setup(memset_is_bounded, setup),
		cmocka_unit_test_setup(slice_describes_subrange, setup),
		cmocka_unit_test_setup(slice_refuses_range_past_end, setup),
		cmocka_unit_test_setup(slice_refuses_too_many_pieces, setup),
		cmocka_unit_test_setup(slice_of_nothing_is_empty, setup),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
