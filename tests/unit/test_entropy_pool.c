/* k_entropy_pool: FIFO order across the wrap, reservations that keep room
 * for requests in flight, an over-long answer cut to its reservation,
 * taken bytes wiped, and bad set-ups refused. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "kern/entropy_pool.h"

#define SIZE 64u

static void fill_pattern(uint8_t *p, uint32_t n, uint8_t seed)
{
	for (uint32_t i = 0; i < n; i++)
		p[i] = (uint8_t)(seed + i * 7u);
}

static void test_init_rejects_bad_sizes(void **state)
{
	struct k_entropy_pool p;
	uint8_t buf[SIZE];

	(void)state;
	assert_int_equal(k_entropy_pool_init(&p, buf, 0), -EINVAL);
	assert_int_equal(k_entropy_pool_init(&p, buf, 48), -EINVAL);
	assert_int_equal(k_entropy_pool_init(&p, NULL, SIZE), -EINVAL);
	assert_int_equal(k_entropy_pool_init(NULL, buf, SIZE), -EINVAL);
	assert_int_equal(k_entropy_pool_init(&p, buf, SIZE), 0);
	assert_int_equal(k_entropy_pool_level(&p), 0);
	assert_int_equal(k_entropy_pool_room(&p), SIZE);
}

static void test_empty_pool_gives_nothing(void **state)
{
	struct k_entropy_pool p;
	uint8_t buf[SIZE], out[8];

	(void)state;
	assert_int_equal(k_entropy_pool_init(&p, buf, SIZE), 0);
	memset(out, 0xee, sizeof(out));
	assert_int_equal(k_entropy_pool_take(&p, out, sizeof(out)), 0);
	assert_int_equal(out[0], 0xee);
	assert_int_equal(k_entropy_pool_take(&p, NULL, 0), 0);
	assert_int_equal(p.bytes_out, 0);
}

static void test_fifo_across_the_wrap(void **state)
{
	struct k_entropy_pool p;
	uint8_t buf[SIZE], in[SIZE], out[SIZE];
	uint8_t seed = 1;

	(void)state;
	assert_int_equal(k_entropy_pool_init(&p, buf, SIZE), 0);
	/* 40 in, 40 out, repeatedly: the write and read cursors wrap at
	 * different places every round. */
	for (int round = 0; round < 10; round++, seed += 40) {
		fill_pattern(in, 40, seed);
		assert_int_equal(k_entropy_pool_reserve(&p, 40), 0);
		assert_int_equal(k_entropy_pool_fill(&p, in, 40, 40), 40);
		assert_int_equal(k_entropy_pool_level(&p), 40);
		assert_int_equal(k_entropy_pool_take(&p, out, 25), 25);
		assert_int_equal(k_entropy_pool_take(&p, out + 25, 100), 15);
		assert_memory_equal(out, in, 40);
		assert_int_equal(k_entropy_pool_level(&p), 0);
	}
	assert_int_equal(p.bytes_in, 400);
	assert_int_equal(p.bytes_out, 400);
}

static void test_reservations_keep_room(void **state)
{
	struct k_entropy_pool p;
	uint8_t buf[SIZE], in[32];

	(void)state;
	assert_int_equal(k_entropy_pool_init(&p, buf, SIZE), 0);
	fill_pattern(in, sizeof(in), 3);
	assert_int_equal(k_entropy_pool_reserve(&p, 32), 0);
	assert_int_equal(k_entropy_pool_reserve(&p, 16), 0);
	assert_int_equal(k_entropy_pool_room(&p), 16);
	/* Promised room is not room: a third request must wait. */
	assert_int_equal(k_entropy_pool_reserve(&p, 17), -ENOSPC);
	assert_int_equal(k_entropy_pool_room(&p), 16);
	/* A short answer releases its whole reservation. */
	assert_int_equal(k_entropy_pool_fill(&p, in, 8, 32), 8);
	assert_int_equal(k_entropy_pool_room(&p), SIZE - 8 - 16);
	/* An abandoned request gives its room back and adds nothing. */
	assert_int_equal(k_entropy_pool_fill(&p, NULL, 0, 16), 0);
	assert_int_equal(k_entropy_pool_room(&p), SIZE - 8);
	assert_int_equal(k_entropy_pool_level(&p), 8);
}

/* A device answering more than it was asked for is cut at the reservation,
 * so the pool never overwrites bytes not yet taken. */
static void test_overlong_answer_is_cut(void **state)
{
	struct k_entropy_pool p;
	uint8_t buf[SIZE], in[SIZE], out[SIZE];

	(void)state;
	assert_int_equal(k_entropy_pool_init(&p, buf, SIZE), 0);
	fill_pattern(in, SIZE, 9);
	assert_int_equal(k_entropy_pool_reserve(&p, 48), 0);
	assert_int_equal(k_entropy_pool_fill(&p, in, 48, 48), 48);
	assert_int_equal(k_entropy_pool_reserve(&p, 16), 0);
	assert_int_equal(k_entropy_pool_fill(&p, in + 48, 40, 16), 16);
	assert_int_equal(p.overfill, 24);
	assert_int_equal(k_entropy_pool_take(&p, out, SIZE), SIZE);
	assert_memory_equal(out, in, SIZE);
	/* A release of more than was ever promised releases what there is. */
	assert_int_equal(k_entropy_pool_reserve(&p, 8), 0);
	assert_int_equal(k_entropy_pool_fill(&p, in, 32, 1000), 8);
	assert_int_equal(p.reserved, 0);
	assert_int_equal(k_entropy_pool_level(&p), 8);
}

static void test_taken_bytes_are_wiped(void **state)
{
	struct k_entropy_pool p;
	uint8_t buf[SIZE], in[SIZE], out[SIZE], zero[SIZE] = {0};

	(void)state;
	assert_int_equal(k_entropy_pool_init(&p, buf, SIZE), 0);
	memset(in, 0xa5, sizeof(in));
	assert_int_equal(k_entropy_pool_reserve(&p, 40), 0);
	assert_int_equal(k_entropy_pool_fill(&p, in, 40, 40), 40);
	assert_int_equal(k_entropy_pool_take(&p, out, 40), 40);
	/* Then across the wrap. */
	assert_int_equal(k_entropy_pool_reserve(&p, 40), 0);
	assert_int_equal(k_entropy_pool_fill(&p, in, 40, 40), 40);
	assert_int_equal(k_entropy_pool_take(&p, out, 40), 40);
	assert_memory_equal(buf, zero, SIZE);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_init_rejects_bad_sizes),
		cmocka_unit_test(test_empty_pool_gives_nothing),
		cmocka_unit_test(test_fifo_across_the_wrap),
		cmocka_unit_test(test_reservations_keep_room),
		cmocka_unit_test(test_overlong_answer_is_cut),
		cmocka_unit_test(test_taken_bytes_are_wiped),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
