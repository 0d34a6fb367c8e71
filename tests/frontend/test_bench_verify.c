/* uvhost-bench's verifier (apps/uvhost-bench/verify.c) on its own: the
 * completions a lying back-end can produce that uvhostd --fault cannot
 * (a used length that does not cover the status byte, or claims more than
 * a write made writable, a status byte never written), and the poison's
 * promise that no word of an untouched buffer passes for data. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "bench.h"

#define BS 4096u

static struct bench b;
static struct bench_queue q;
static uint64_t data[BS / 8];
static uint8_t hdr[17];

/* A request for block 5, version 3, completed with `status`; its data
 * buffer holds exactly what that version should read back. */
static struct bench_req *req(bool write, uint8_t status)
{
	static struct bench_req r;

	memset(&b, 0, sizeof(b));
	b.o.bs = BS;
	b.o.verify = true;
	memset(&r, 0, sizeof(r));
	r.q = &q;
	r.hdr = hdr;
	r.data = (uint8_t *)data;
	r.block = 5;
	r.version = 3;
	r.write = write;
	hdr[16] = status;
	bench_pattern_fill(data, BS / 8, 5, 3);
	return &r;
}

static void test_honest_completions_pass(void **state)
{
	(void)state;
	assert_int_equal(bench_check_done(&b, req(false, 0), BS + 1), 0);
	assert_int_equal(bench_check_done(&b, req(true, 0), 1), 0);
	assert_int_equal(b.errors + b.mismatches, 0);
}

static void test_used_length_must_be_exact(void **state)
{
	/* read: data + status; write: the status byte only */
	static const struct {
		bool write;
		uint32_t len;
	} bad[] = {{false, 0}, {false, 1}, {false, BS},	  {false, BS + 2},
		   {true, 0},  {true, 2},  {true, BS + 1}};

	(void)state;
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		assert_int_equal(bench_check_done(&b, req(bad[i].write, 0), bad[i].len), -1);
		assert_int_equal(b.errors, 1);
		assert_int_equal(b.used_len_errors, 1);
	}
}

static void test_status_must_be_ok(void **state)
{
	(void)state;
	/* 0xff: what submit() put there, so the back-end never wrote it */
	for (unsigned s = 1; s <= 0xff; s++) {
		assert_int_equal(bench_check_done(&b, req(s & 1, (uint8_t)s), s & 1 ? 1 : BS + 1),
				 -1);
		assert_int_equal(b.errors, 1);
		assert_int_equal(b.used_len_errors, 0);
	}
}

static void test_poison_never_passes(void **state)
{
	struct bench_req *r = req(false, 0);
	uint64_t first[BS / 8];

	(void)state;
	bench_poison(&b, r);
	{
		uint64_t want[BS / 8];
		bench_pattern_fill(want, BS / 8, 5, 3);
		for (uint32_t i = 0; i < BS / 8; i++)
			assert_true(data[i] != want[i]);
	}
	memcpy(first, data, sizeof(first));
	/* The next read of the same block gets a different poison. */
	bench_poison(&b, r);
	assert_memory_not_equal(first, data, sizeof(first));
	assert_int_equal(bench_check_done(&b, r, BS + 1), -1);
	assert_int_equal(b.mismatches, 1);
	assert_int_equal(b.errors, 0);
}

static void test_half_filled_read_is_caught(void **state)
{
	struct bench_req *r = req(false, 0);
	uint64_t good[BS / 8];

	(void)state;
	memcpy(good, data, sizeof(good));
	bench_poison(&b, r);
	memcpy(data, good, BS / 2); /* a back-end that read half */
	assert_int_equal(bench_check_done(&b, r, BS + 1), -1);
	assert_int_equal(b.mismatches, 1);
	memcpy(data, good, BS); /* and one that read it all */
	assert_int_equal(bench_check_done(&b, r, BS + 1), 0);
	assert_int_equal(b.mismatches, 1);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_honest_completions_pass),
		cmocka_unit_test(test_used_length_must_be_exact),
		cmocka_unit_test(test_status_must_be_ok),
		cmocka_unit_test(test_poison_never_passes),
		cmocka_unit_test(test_half_filled_read_is_caught),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
