/* k_crc32: the host (table) path must agree with zlib's CRC-32, which is
 * what the system tests compute on the host for each ivshmem window. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "kern/crc32.h"

static void test_known_vectors(void **state)
{
	(void)state;
	/* The standard check value, and values from python3 zlib.crc32. */
	assert_int_equal(k_crc32(0, "123456789", 9), 0xcbf43926u);
	assert_int_equal(k_crc32(0, "", 0), 0u);
	assert_int_equal(k_crc32(0, "a", 1), 0xe8b7be43u);
	assert_int_equal(k_crc32(0, "The quick brown fox jumps over the lazy dog", 43),
			 0x414fa339u);
}

static void test_chunked_equals_whole(void **state)
{
	uint8_t buf[4099];
	uint32_t whole, part = 0;

	(void)state;
	for (size_t i = 0; i < sizeof(buf); i++)
		buf[i] = (uint8_t)(i * 131u + 7u);
	whole = k_crc32(0, buf, sizeof(buf));
	/* Odd chunk sizes and offsets: the ARM path handles 8-byte words and
	 * tails; the host path must give the same answer in any split. */
	for (size_t off = 0, step = 1; off < sizeof(buf); off += step, step = step * 2 + 1) {
		size_t n = step < sizeof(buf) - off ? step : sizeof(buf) - off;
		part = k_crc32(part, buf + off, n);
	}
	assert_int_equal(part, whole);
}

static void test_zero_page(void **state)
{
	static uint8_t zeros[4096];

	(void)state;
	/* python3 -c 'import zlib; print(hex(zlib.crc32(bytes(4096))))' */
	assert_int_equal(k_crc32(0, zeros, sizeof(zeros)), 0xc71c0011u);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_known_vectors),
		cmocka_unit_test(test_chunked_equals_whole),
		cmocka_unit_test(test_zero_page),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
