/* test_storage_uring.c - the io_uring storage on a real file.
 *
 * The file lives in the current directory (the build tree: ext4 here), not
 * in /dev/shm or /tmp, which may be tmpfs; the O_DIRECT tests fail, saying
 * why, when that file system has no O_DIRECT, rather than passing without
 * having tested it. Completions are waited for through the queue's eventfd,
 * as uvhostd's loop does.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "dev/storage.h"
#ifdef UV_HAVE_URING
#include "dev/storage_uring.h"

#define FILE_BYTES (1u << 20)
#define BLK 4096u
#define NQ 2u

struct fx {
	char path[64];
	struct dev_storage s;
	uint64_t cookies[DEV_URING_DEPTH + 8];
	int results[DEV_URING_DEPTH + 8];
	unsigned ndone;
	uint8_t *abuf; /* 4096-aligned, 4 blocks */
};

static void on_done(void *arg, uint64_t cookie, int result)
{
	struct fx *f = arg;

	f->cookies[f->ndone] = cookie;
	f->results[f->ndone++] = result;
}

static int fx_setup(void **state, bool direct)
{
	struct fx *f = calloc(1, sizeof(*f));
	struct dev_uring_config c = {.direct = direct, .num_queues = NQ};
	const char *failed = "";
	int fd, rc;

	if (!f)
		return -1;
	snprintf(f->path, sizeof(f->path), "uring-test-%d.img", (int)getpid());
	fd = open(f->path, O_RDWR | O_CREAT | O_TRUNC, 0600);
	if (fd < 0 || ftruncate(fd, FILE_BYTES) < 0)
		return -1;
	close(fd);
	c.path = f->path;
	rc = dev_storage_uring_open(&f->s, &c, &failed);
	if (rc) {
		fprintf(stderr, "cannot open %s (%s: %s)%s\n", f->path, failed, strerror(-rc),
			direct ? ": this file system has no O_DIRECT (tmpfs?), the direct-I/O "
				 "tests cannot run here"
			       : "");
		unlink(f->path);
		return -1;
	}
	if (posix_memalign((void **)&f->abuf, BLK, 4 * BLK))
		return -1;
	*state = f;
	return 0;
}

static int setup(void **state)
{
	return fx_setup(state, false);
}

static int setup_direct(void **state)
{
	return fx_setup(state, true);
}

static int teardown(void **state)
{
	struct fx *f = *state;

	dev_storage_uring_close(&f->s);
	unlink(f->path);
	free(f->abuf);
	free(f);
	return 0;
}

static int submit(struct fx *f, enum dev_storage_kind kind, uint16_t q, uint64_t cookie,
		  uint64_t off, void *buf, size_t len)
{
	struct vu_iov iov = {.base = buf, .len = len};
	struct dev_storage_op op = {.kind = kind,
				    .queue = q,
				    .cookie = cookie,
				    .off = off,
				    .len = len,
				    .iov = &iov,
				    .n_iov = 1};

	return f->s.async->submit(f->s.ctx, &op);
}

/* Push submissions and wait (5 s at most) for `n` completions of queue q. */
static void collect(struct fx *f, uint16_t q, unsigned n)
{
	unsigned want = f->ndone + n;

	dev_storage_uring_flush(&f->s);
	for (int tries = 0; f->ndone < want && tries < 500; tries++) {
		struct pollfd p = {.fd = dev_storage_uring_event_fd(&f->s, q), .events = POLLIN};
		(void)poll(&p, 1, 10);
		dev_storage_uring_drain_event(&f->s, q);
		(void)f->s.async->reap(f->s.ctx, q, want - f->ndone, on_done, f);
	}
	assert_int_equal(f->ndone, want);
}

static void fill(uint8_t *p, size_t len, uint8_t seed)
{
	for (size_t i = 0; i < len; i++)
		p[i] = (uint8_t)(seed + i * 31 + i / 512);
}

static void expect_file(struct fx *f, uint64_t off, const uint8_t *want, size_t len)
{
	uint8_t *got = malloc(len);
	int fd = open(f->path, O_RDONLY);

	assert_non_null(got);
	assert_true(fd >= 0);
	assert_int_equal(pread(fd, got, len, (off_t)off), (ssize_t)len);
	assert_memory_equal(got, want, len);
	close(fd);
	free(got);
}

static void test_write_flush_read_back(void **state)
{
	struct fx *f = *state;
	uint8_t pattern[2 * BLK];

	assert_int_equal(f->s.size, FILE_BYTES);
	assert_non_null(f->s.async);
	assert_int_equal(f->s.async->num_queues, NQ);
	fill(pattern, sizeof(pattern), 7);
	memcpy(f->abuf, pattern, sizeof(pattern));
	assert_int_equal(submit(f, DEV_STORAGE_WRITE, 1, 42, 3 * BLK, f->abuf, sizeof(pattern)), 0);
	collect(f, 1, 1);
	assert_int_equal(f->cookies[0], 42);
	assert_int_equal(f->results[0], 0);
	assert_int_equal(submit(f, DEV_STORAGE_FLUSH, 1, 43, 0, NULL, 0), 0);
	collect(f, 1, 1);
	assert_int_equal(f->results[1], 0);
	expect_file(f, 3 * BLK, pattern, sizeof(pattern));
	memset(f->abuf, 0, 4 * BLK);
	assert_int_equal(submit(f, DEV_STORAGE_READ, 0, 44, 3 * BLK, f->abuf, sizeof(pattern)), 0);
	collect(f, 0, 1);
	assert_int_equal(f->results[2], 0);
	assert_memory_equal(f->abuf, pattern, sizeof(pattern));
}

static void test_discard_and_write_zeroes_read_zero(void **state)
{
	struct fx *f = *state;
	uint8_t zero[BLK];

	memset(zero, 0, sizeof(zero));
	memset(f->abuf, 0xab, 2 * BLK);
	assert_int_equal(submit(f, DEV_STORAGE_WRITE, 0, 1, 0, f->abuf, 2 * BLK), 0);
	collect(f, 0, 1);
	assert_int_equal(submit(f, DEV_STORAGE_WRITE_ZEROES, 0, 2, 0, NULL, BLK), 0);
	assert_int_equal(submit(f, DEV_STORAGE_DISCARD, 0, 3, BLK, NULL, BLK), 0);
	collect(f, 0, 2);
	assert_int_equal(f->results[1], 0);
	assert_int_equal(f->results[2], 0);
	expect_file(f, 0, zero, BLK);
	expect_file(f, BLK, zero, BLK);
}

static void test_bad_submissions_refused(void **state)
{
	struct fx *f = *state;
	struct dev_storage_op op = {.kind = DEV_STORAGE_READ, .queue = NQ, .n_iov = 1};
	struct vu_iov iov = {.base = f->abuf, .len = BLK};

	op.iov = &iov;
	assert_int_equal(f->s.async->submit(f->s.ctx, &op), -EINVAL); /* no such queue */
	op.queue = 0;
	op.n_iov = 0;
	assert_int_equal(f->s.async->submit(f->s.ctx, &op), -EINVAL); /* no buffer */
	assert_int_equal(f->s.async->reap(f->s.ctx, NQ, 8, on_done, f), 0);
	assert_int_equal(f->ndone, 0);
}

static void test_queue_full_is_eagain(void **state)
{
	struct fx *f = *state;

	for (unsigned i = 0; i < DEV_URING_DEPTH; i++)
		assert_int_equal(submit(f, DEV_STORAGE_READ, 0, i, 0, f->abuf, BLK), 0);
	assert_int_equal(submit(f, DEV_STORAGE_READ, 0, 999, 0, f->abuf, BLK), -EAGAIN);
	/* The other queue has its own ring. */
	assert_int_equal(submit(f, DEV_STORAGE_READ, 1, 1000, 0, f->abuf, BLK), 0);
	collect(f, 0, DEV_URING_DEPTH);
	collect(f, 1, 1);
	assert_int_equal(submit(f, DEV_STORAGE_READ, 0, 1001, 0, f->abuf, BLK), 0);
	collect(f, 0, 1);
}

/* Reset: everything in flight is waited for and dropped; no callback. */
static void test_cancel_drops_in_flight(void **state)
{
	struct fx *f = *state;

	for (unsigned i = 0; i < 8; i++)
		assert_int_equal(
			submit(f, DEV_STORAGE_READ, (uint16_t)(i % NQ), i, i * BLK, f->abuf, BLK),
			0);
	f->s.async->cancel(f->s.ctx);
	for (uint16_t q = 0; q < NQ; q++)
		assert_int_equal(f->s.async->reap(f->s.ctx, q, 64, on_done, f), 0);
	assert_int_equal(f->ndone, 0);
	assert_int_equal(submit(f, DEV_STORAGE_READ, 0, 77, 0, f->abuf, BLK), 0);
	collect(f, 0, 1);
	assert_int_equal(f->cookies[0], 77);
}

/* Memory change: everything in flight completes, through done(). */
static void test_drain_completes_in_flight(void **state)
{
	struct fx *f = *state;

	for (unsigned i = 0; i < 6; i++)
		assert_int_equal(submit(f, DEV_STORAGE_WRITE, (uint16_t)(i % NQ), 100 + i, i * BLK,
					f->abuf, BLK),
				 0);
	f->s.async->drain(f->s.ctx, on_done, f);
	assert_int_equal(f->ndone, 6);
	for (unsigned i = 0; i < 6; i++)
		assert_int_equal(f->results[i], 0);
}

/* uvhostd's loop sleeps instead of busy-polling while waiting() is true,
 * so it must be false whenever a completion is there to reap: a loop that
 * slept then would wait for an eventfd that was already drained. */
static void test_waiting_only_while_nothing_to_reap(void **state)
{
	struct fx *f = *state;
	struct pollfd p = {.fd = dev_storage_uring_event_fd(&f->s, 1), .events = POLLIN};

	assert_false(dev_storage_uring_waiting(&f->s));
	assert_int_equal(submit(f, DEV_STORAGE_READ, 1, 5, 0, f->abuf, BLK), 0);
	/* Submitted at once (an idle ring): a buffered read may even complete
	 * inside the submission. Either way, "waiting" means nothing to reap. */
	if (dev_storage_uring_waiting(&f->s))
		assert_int_equal(f->s.async->reap(f->s.ctx, 1, 8, on_done, f), 0);
	dev_storage_uring_flush(&f->s);
	assert_int_equal(poll(&p, 1, 5000), 1); /* the completion is posted */
	dev_storage_uring_drain_event(&f->s, 1);
	assert_false(dev_storage_uring_waiting(&f->s));
	assert_int_equal(f->s.async->reap(f->s.ctx, 1, 8, on_done, f), 1);
	assert_int_equal(f->cookies[0], 5);
	assert_false(dev_storage_uring_waiting(&f->s)); /* nothing in flight */
}

/* An idle ring does not wait for the end of the loop turn: the disk starts
 * on a burst's first request while the rest is still being popped. */
static void test_idle_ring_submits_at_once(void **state)
{
	struct fx *f = *state;
	struct pollfd p = {.fd = dev_storage_uring_event_fd(&f->s, 0), .events = POLLIN};

	fill(f->abuf, BLK, 9);
	assert_int_equal(submit(f, DEV_STORAGE_WRITE, 0, 8, 3 * BLK, f->abuf, BLK), 0);
	assert_int_equal(poll(&p, 1, 5000), 1); /* no dev_storage_uring_flush() */
	dev_storage_uring_drain_event(&f->s, 0);
	assert_int_equal(f->s.async->reap(f->s.ctx, 0, 8, on_done, f), 1);
	assert_int_equal(f->results[0], 0);
	expect_file(f, 3 * BLK, f->abuf, BLK);
}

static void test_open_missing_file_names_step(void **state)
{
	struct dev_storage s;
	struct dev_uring_config c = {.path = "no/such/file.img", .num_queues = 1};
	const char *failed = "";

	(void)state;
	assert_int_equal(dev_storage_uring_open(&s, &c, &failed), -ENOENT);
	assert_string_equal(failed, "open");
	c.num_queues = 0;
	assert_int_equal(dev_storage_uring_open(&s, &c, &failed), -EINVAL);
}

/* ---- O_DIRECT ------------------------------------------------------------ */

static void test_direct_reports_alignment(void **state)
{
	struct fx *f = *state;
	uint32_t off = dev_storage_uring_offset_align(&f->s);
	uint32_t mem = dev_storage_uring_mem_align(&f->s);

	assert_true(off >= 512 && off <= BLK && (off & (off - 1)) == 0);
	assert_true(mem >= 1 && mem <= BLK && (mem & (mem - 1)) == 0);
}

static void test_direct_aligned_goes_direct(void **state)
{
	struct fx *f = *state;
	uint8_t pattern[BLK];

	fill(pattern, sizeof(pattern), 99);
	memcpy(f->abuf, pattern, BLK);
	assert_int_equal(submit(f, DEV_STORAGE_WRITE, 0, 1, 5 * BLK, f->abuf, BLK), 0);
	collect(f, 0, 1);
	assert_int_equal(f->results[0], 0);
	memset(f->abuf, 0, BLK);
	assert_int_equal(submit(f, DEV_STORAGE_READ, 0, 2, 5 * BLK, f->abuf, BLK), 0);
	collect(f, 0, 1);
	assert_memory_equal(f->abuf, pattern, BLK);
	assert_int_equal(dev_storage_uring_unaligned(&f->s), 0);
	expect_file(f, 5 * BLK, pattern, BLK);
}

/* A guest buffer at an odd address, and an offset of one sector: both miss
 * what O_DIRECT takes, and the data must still be right. */
static void test_direct_unaligned_buffer_still_correct(void **state)
{
	struct fx *f = *state;
	uint8_t pattern[BLK];
	uint8_t *odd = f->abuf + 1;

	fill(pattern, sizeof(pattern), 3);
	memcpy(odd, pattern, BLK);
	assert_int_equal(submit(f, DEV_STORAGE_WRITE, 1, 1, 7 * BLK, odd, BLK), 0);
	collect(f, 1, 1);
	assert_int_equal(f->results[0], 0);
	assert_int_equal(dev_storage_uring_unaligned(&f->s), 1);
	memset(f->abuf, 0, 4 * BLK);
	assert_int_equal(submit(f, DEV_STORAGE_READ, 1, 2, 7 * BLK, odd, BLK), 0);
	collect(f, 1, 1);
	assert_int_equal(f->results[1], 0);
	assert_memory_equal(odd, pattern, BLK);
	/* Aligned buffer, offset one sector in: only right if the file's
	 * offset alignment is 512, otherwise through the page cache. */
	memset(f->abuf, 0, 4 * BLK);
	assert_int_equal(submit(f, DEV_STORAGE_READ, 1, 3, 7 * BLK - 512, f->abuf, BLK), 0);
	collect(f, 1, 1);
	assert_int_equal(f->results[2], 0);
	assert_memory_equal(f->abuf + 512, pattern, BLK - 512);
	expect_file(f, 7 * BLK, pattern, BLK);
}

#define T(fn) cmocka_unit_test_setup_teardown(fn, setup, teardown)
#define D(fn) cmocka_unit_test_setup_teardown(fn, setup_direct, teardown)

int main(void)
{
	const struct CMUnitTest tests[] = {
		T(test_write_flush_read_back),
		T(test_discard_and_write_zeroes_read_zero),
		T(test_bad_submissions_refused),
		T(test_queue_full_is_eagain),
		T(test_cancel_drops_in_flight),
		T(test_drain_completes_in_flight),
		T(test_waiting_only_while_nothing_to_reap),
		T(test_idle_ring_submits_at_once),
		cmocka_unit_test(test_open_missing_file_names_step),
		D(test_direct_reports_alignment),
		D(test_direct_aligned_goes_direct),
		D(test_direct_unaligned_buffer_still_correct),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
#else
int main(void)
{
	fprintf(stderr, "built without liburing: storage_uring is not part of this build\n");
	return 77;
}
#endif
