/* test_shmem_frontend.c - the front-end's SHMEM_MAP/UNMAP handler.
 *
 * The handler (vu/fe_shmem.h) runs over a recording mapper: every refusal
 * must leave the mapper untouched, every success must reach it with the
 * request's exact arguments. Regions: shmid 0 = 1 MiB, 1 = 4 MiB, 2 absent,
 * 3 = 64 KiB; 4 KiB alignment, as the host mapper needs for mmap.
 */
#define _DEFAULT_SOURCE
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "helpers/msg_build.h"
#include "vu/fe_shmem.h"

#define MIB 0x100000ull
#define PAGE 0x1000ull
#define FD 42

static const uint64_t sizes[4] = {MIB, 4 * MIB, 0, 0x10000};

struct rec {
	int maps, unmaps, resets;
	int fail_map, fail_unmap; /* errno to return next, if non-zero */
	uint8_t shmid;
	uint64_t off, len, fd_offset;
	int fd;
	bool rw;
};

static int rec_map(void *ctx, uint8_t shmid, uint64_t off, uint64_t len, int fd, uint64_t fd_offset,
		   bool rw)
{
	struct rec *r = ctx;

	if (r->fail_map)
		return -r->fail_map;
	r->maps++;
	r->shmid = shmid;
	r->off = off;
	r->len = len;
	r->fd = fd;
	r->fd_offset = fd_offset;
	r->rw = rw;
	return 0;
}

static int rec_unmap(void *ctx, uint8_t shmid, uint64_t off, uint64_t len)
{
	struct rec *r = ctx;

	if (r->fail_unmap)
		return -r->fail_unmap;
	r->unmaps++;
	r->shmid = shmid;
	r->off = off;
	r->len = len;
	return 0;
}

static void rec_reset(void *ctx)
{
	((struct rec *)ctx)->resets++;
}

struct fx {
	struct rec rec;
	struct vu_fe_shmem_mapper mapper;
	struct vu_fe_shmem s;
	struct vu_msg m;
};

static int setup(void **state)
{
	struct fx *f = calloc(1, sizeof(*f));

	assert_non_null(f);
	f->mapper = (struct vu_fe_shmem_mapper){
		.ctx = &f->rec, .map = rec_map, .unmap = rec_unmap, .reset = rec_reset};
	assert_int_equal(vu_fe_shmem_init(&f->s, &f->mapper, sizes, 4, PAGE), 0);
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	free(*state);
	return 0;
}

static struct vu_msg *req(struct fx *f, uint32_t code, uint8_t shmid, uint64_t off, uint64_t len)
{
	msg_build(&f->m, code, sizeof(struct vu_shmem_map_msg));
	f->m.hdr.flags |= VU_FLAG_NEED_REPLY;
	f->m.p.shmem_map.shmid = shmid;
	f->m.p.shmem_map.shm_offset = off;
	f->m.p.shmem_map.len = len;
	if (code == VU_BREQ_SHMEM_MAP) {
		f->m.fds[0] = FD;
		f->m.nfds = 1;
		f->m.p.shmem_map.flags = VU_SHMEM_MAP_RW;
	}
	return &f->m;
}

static int map(struct fx *f, uint8_t shmid, uint64_t off, uint64_t len)
{
	return vu_fe_shmem_handle(&f->s, req(f, VU_BREQ_SHMEM_MAP, shmid, off, len));
}

static int unmap(struct fx *f, uint8_t shmid, uint64_t off, uint64_t len)
{
	return vu_fe_shmem_handle(&f->s, req(f, VU_BREQ_SHMEM_UNMAP, shmid, off, len));
}

/* The request in f->m is refused with err and nothing reaches the mapper. */
static void expect_refused(struct fx *f, int err, const char *why)
{
	int maps = f->rec.maps, unmaps = f->rec.unmaps;
	uint32_t nmaps = f->s.nmaps;
	uint64_t refused = f->s.n_refused;

	assert_int_equal(vu_fe_shmem_handle(&f->s, &f->m), err);
	assert_int_equal(f->rec.maps, maps);
	assert_int_equal(f->rec.unmaps, unmaps);
	assert_int_equal(f->s.nmaps, nmaps);
	assert_int_equal(f->s.n_refused, refused + 1);
	assert_non_null(strstr(f->s.why, why));
}

/* ---- init --------------------------------------------------------------- */

static void test_init_validation(void **state)
{
	struct fx *f = *state;
	struct vu_fe_shmem_mapper half = {.ctx = &f->rec, .map = rec_map};

	assert_int_equal(vu_fe_shmem_init(&f->s, NULL, sizes, 4, PAGE), -EINVAL);
	assert_int_equal(vu_fe_shmem_init(&f->s, &half, sizes, 4, PAGE), -EINVAL);
	assert_int_equal(vu_fe_shmem_init(&f->s, &f->mapper, sizes, VU_SHMEM_MAX_REGIONS + 1, PAGE),
			 -EINVAL);
	assert_int_equal(vu_fe_shmem_init(&f->s, &f->mapper, NULL, 4, PAGE), -EINVAL);
	assert_int_equal(vu_fe_shmem_init(&f->s, &f->mapper, sizes, 4, 0x3000), -EINVAL);
	assert_int_equal(vu_fe_shmem_init(&f->s, &f->mapper, sizes, 4, 0), 0);
	assert_int_equal(f->s.align, 1);
}

/* ---- MAP ---------------------------------------------------------------- */

static void test_map_reaches_mapper(void **state)
{
	struct fx *f = *state;

	req(f, VU_BREQ_SHMEM_MAP, 1, 0x20000, 0x3000)->p.shmem_map.fd_offset = 0x5000;
	assert_int_equal(vu_fe_shmem_handle(&f->s, &f->m), 0);
	assert_int_equal(f->rec.maps, 1);
	assert_int_equal(f->rec.shmid, 1);
	assert_int_equal(f->rec.off, 0x20000);
	assert_int_equal(f->rec.len, 0x3000);
	assert_int_equal(f->rec.fd, FD);
	assert_int_equal(f->rec.fd_offset, 0x5000);
	assert_true(f->rec.rw);
	assert_int_equal(f->s.nmaps, 1);
	/* The fd stays the caller's to close. */
	assert_int_equal(f->m.fds[0], FD);
}

static void test_map_read_only(void **state)
{
	struct fx *f = *state;

	req(f, VU_BREQ_SHMEM_MAP, 0, 0, PAGE)->p.shmem_map.flags = 0;
	assert_int_equal(vu_fe_shmem_handle(&f->s, &f->m), 0);
	assert_false(f->rec.rw);
}

static void test_map_whole_region_and_last_page(void **state)
{
	struct fx *f = *state;

	assert_int_equal(map(f, 1, 0, 4 * MIB), 0);
	assert_int_equal(map(f, 3, 0x10000 - PAGE, PAGE), 0);
}

static void test_map_unknown_shmid(void **state)
{
	struct fx *f = *state;

	req(f, VU_BREQ_SHMEM_MAP, 2, 0, PAGE);
	expect_refused(f, -EINVAL, "shmid");
	req(f, VU_BREQ_SHMEM_MAP, 4, 0, PAGE);
	expect_refused(f, -EINVAL, "shmid");
	req(f, VU_BREQ_SHMEM_MAP, 255, 0, PAGE);
	expect_refused(f, -EINVAL, "shmid");
}

static void test_map_out_of_range(void **state)
{
	struct fx *f = *state;

	req(f, VU_BREQ_SHMEM_MAP, 0, MIB, PAGE);
	expect_refused(f, -ERANGE, "beyond");
	req(f, VU_BREQ_SHMEM_MAP, 0, MIB - PAGE, 2 * PAGE);
	expect_refused(f, -ERANGE, "beyond");
	req(f, VU_BREQ_SHMEM_MAP, 3, 0, 0x11000);
	expect_refused(f, -ERANGE, "beyond");
}

static void test_map_overflow(void **state)
{
	struct fx *f = *state;

	req(f, VU_BREQ_SHMEM_MAP, 1, UINT64_MAX - PAGE + 1, 2 * PAGE);
	expect_refused(f, -ERANGE, "wraps");
	req(f, VU_BREQ_SHMEM_MAP, 1, PAGE, UINT64_MAX - PAGE + 1);
	expect_refused(f, -ERANGE, "wraps");
	req(f, VU_BREQ_SHMEM_MAP, 1, 0, PAGE)->p.shmem_map.fd_offset = UINT64_MAX - PAGE + 1;
	expect_refused(f, -ERANGE, "fd_offset + len wraps");
}

static void test_map_zero_length(void **state)
{
	struct fx *f = *state;

	req(f, VU_BREQ_SHMEM_MAP, 0, 0, 0);
	expect_refused(f, -EINVAL, "zero length");
}

static void test_map_unaligned(void **state)
{
	struct fx *f = *state;

	req(f, VU_BREQ_SHMEM_MAP, 0, 0x800, PAGE);
	expect_refused(f, -EINVAL, "aligned");
	req(f, VU_BREQ_SHMEM_MAP, 0, 0, 0x800);
	expect_refused(f, -EINVAL, "aligned");
	req(f, VU_BREQ_SHMEM_MAP, 0, 0, PAGE)->p.shmem_map.fd_offset = 0x10;
	expect_refused(f, -EINVAL, "fd_offset not aligned");
}

static void test_map_unknown_flags(void **state)
{
	struct fx *f = *state;

	req(f, VU_BREQ_SHMEM_MAP, 0, 0, PAGE)->p.shmem_map.flags = 2;
	expect_refused(f, -EINVAL, "flags");
	req(f, VU_BREQ_SHMEM_MAP, 0, 0, PAGE)->p.shmem_map.flags = 1ull << 63 | 1;
	expect_refused(f, -EINVAL, "flags");
}

static void test_map_wrong_fd_count(void **state)
{
	struct fx *f = *state;

	req(f, VU_BREQ_SHMEM_MAP, 0, 0, PAGE)->nfds = 0;
	f->m.fds[0] = -1;
	expect_refused(f, -EBADF, "exactly one fd");
	req(f, VU_BREQ_SHMEM_MAP, 0, 0, PAGE)->nfds = 2;
	f->m.fds[1] = FD + 1;
	expect_refused(f, -EBADF, "exactly one fd");
	req(f, VU_BREQ_SHMEM_MAP, 0, 0, PAGE)->fds[0] = -1;
	expect_refused(f, -EBADF, "exactly one fd");
	req(f, VU_BREQ_SHMEM_MAP, 0, 0, PAGE)->nfds = VU_MAX_FDS + 1;
	expect_refused(f, -EINVAL, "fd count");
}

static void test_wrong_payload_size(void **state)
{
	static const uint32_t bad[] = {0, 8, 39, 41, 48, VU_MAX_PAYLOAD};
	struct fx *f = *state;

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		req(f, VU_BREQ_SHMEM_MAP, 0, 0, PAGE)->hdr.size = bad[i];
		expect_refused(f, -EINVAL, "40-byte");
		req(f, VU_BREQ_SHMEM_UNMAP, 0, 0, PAGE)->hdr.size = bad[i];
		expect_refused(f, -EINVAL, "40-byte");
	}
}

static void test_not_a_shmem_request(void **state)
{
	struct fx *f = *state;

	req(f, VU_BREQ_CONFIG_CHANGE_MSG, 0, 0, PAGE);
	expect_refused(f, -EOPNOTSUPP, "not a SHMEM");
	req(f, 0, 0, 0, PAGE);
	expect_refused(f, -EOPNOTSUPP, "not a SHMEM");
	req(f, 99, 0, 0, PAGE);
	expect_refused(f, -EOPNOTSUPP, "not a SHMEM");
}

static void test_map_overlap(void **state)
{
	struct fx *f = *state;

	assert_int_equal(map(f, 0, 0x10000, 0x4000), 0);
	req(f, VU_BREQ_SHMEM_MAP, 0, 0x10000, 0x4000);
	expect_refused(f, -EEXIST, "overlaps");
	req(f, VU_BREQ_SHMEM_MAP, 0, 0xf000, 0x2000);
	expect_refused(f, -EEXIST, "overlaps");
	req(f, VU_BREQ_SHMEM_MAP, 0, 0x13000, 0x2000);
	expect_refused(f, -EEXIST, "overlaps");
	req(f, VU_BREQ_SHMEM_MAP, 0, 0x11000, PAGE);
	expect_refused(f, -EEXIST, "overlaps");
	req(f, VU_BREQ_SHMEM_MAP, 0, 0, MIB);
	expect_refused(f, -EEXIST, "overlaps");
	/* Neighbours and the same range elsewhere are fine. */
	assert_int_equal(map(f, 0, 0xf000, PAGE), 0);
	assert_int_equal(map(f, 0, 0x14000, PAGE), 0);
	assert_int_equal(map(f, 1, 0x10000, 0x4000), 0);
	assert_int_equal(f->s.nmaps, 4);
}

static void test_map_mapper_failure(void **state)
{
	struct fx *f = *state;

	f->rec.fail_map = ENODEV;
	assert_int_equal(map(f, 0, 0, PAGE), -ENODEV);
	assert_int_equal(f->s.nmaps, 0);
	assert_non_null(strstr(f->s.why, "mapper"));
	/* Nothing recorded: the same range maps once the mapper agrees. */
	f->rec.fail_map = 0;
	assert_int_equal(map(f, 0, 0, PAGE), 0);
}

static void test_map_table_full(void **state)
{
	struct fx *f = *state;

	for (uint64_t i = 0; i < VU_FE_SHMEM_MAX_MAPS; i++)
		assert_int_equal(map(f, 1, i * PAGE, PAGE), 0);
	req(f, VU_BREQ_SHMEM_MAP, 0, 0, PAGE);
	expect_refused(f, -ENOSPC, "full");
}

/* ---- UNMAP -------------------------------------------------------------- */

static void test_unmap_whole_mapping(void **state)
{
	struct fx *f = *state;

	assert_int_equal(map(f, 1, 0x40000, 0x8000), 0);
	assert_int_equal(unmap(f, 1, 0x40000, 0x8000), 0);
	assert_int_equal(f->rec.unmaps, 1);
	assert_int_equal(f->rec.shmid, 1);
	assert_int_equal(f->rec.off, 0x40000);
	assert_int_equal(f->rec.len, 0x8000);
	assert_int_equal(f->s.nmaps, 0);
	/* Gone: a second unmap finds nothing, a new map fits. */
	req(f, VU_BREQ_SHMEM_UNMAP, 1, 0x40000, 0x8000);
	expect_refused(f, -ENOENT, "nothing mapped");
	assert_int_equal(map(f, 1, 0x40000, 0x8000), 0);
}

static void test_unmap_partial(void **state)
{
	struct fx *f = *state;

	assert_int_equal(map(f, 0, 0x10000, 0x4000), 0);
	req(f, VU_BREQ_SHMEM_UNMAP, 0, 0x10000, PAGE);
	expect_refused(f, -EINVAL, "exactly one whole");
	req(f, VU_BREQ_SHMEM_UNMAP, 0, 0x13000, PAGE);
	expect_refused(f, -EINVAL, "exactly one whole");
	req(f, VU_BREQ_SHMEM_UNMAP, 0, 0xf000, 0x6000);
	expect_refused(f, -EINVAL, "exactly one whole");
}

static void test_unmap_spanning_two(void **state)
{
	struct fx *f = *state;

	assert_int_equal(map(f, 0, 0, PAGE), 0);
	assert_int_equal(map(f, 0, PAGE, PAGE), 0);
	req(f, VU_BREQ_SHMEM_UNMAP, 0, 0, 2 * PAGE);
	expect_refused(f, -EINVAL, "exactly one whole");
}

static void test_unmap_with_fd(void **state)
{
	struct fx *f = *state;

	assert_int_equal(map(f, 0, 0, PAGE), 0);
	req(f, VU_BREQ_SHMEM_UNMAP, 0, 0, PAGE)->nfds = 1;
	f->m.fds[0] = FD;
	expect_refused(f, -EBADF, "takes no fd");
}

static void test_unmap_bad_ranges(void **state)
{
	struct fx *f = *state;

	req(f, VU_BREQ_SHMEM_UNMAP, 2, 0, PAGE);
	expect_refused(f, -EINVAL, "shmid");
	req(f, VU_BREQ_SHMEM_UNMAP, 0, 0, 0);
	expect_refused(f, -EINVAL, "zero length");
	req(f, VU_BREQ_SHMEM_UNMAP, 0, UINT64_MAX - PAGE + 1, 2 * PAGE);
	expect_refused(f, -ERANGE, "wraps");
	req(f, VU_BREQ_SHMEM_UNMAP, 3, 0x10000, PAGE);
	expect_refused(f, -ERANGE, "beyond");
}

static void test_unmap_mapper_failure(void **state)
{
	struct fx *f = *state;

	assert_int_equal(map(f, 0, 0, PAGE), 0);
	f->rec.fail_unmap = EIO;
	assert_int_equal(unmap(f, 0, 0, PAGE), -EIO);
	assert_int_equal(f->s.nmaps, 1);
}

/* ---- reset -------------------------------------------------------------- */

static void test_reset_drops_everything(void **state)
{
	struct fx *f = *state;

	assert_int_equal(map(f, 0, 0, PAGE), 0);
	assert_int_equal(map(f, 1, 0, MIB), 0);
	vu_fe_shmem_reset(&f->s);
	assert_int_equal(f->rec.resets, 1);
	assert_int_equal(f->s.nmaps, 0);
	req(f, VU_BREQ_SHMEM_UNMAP, 0, 0, PAGE);
	expect_refused(f, -ENOENT, "nothing mapped");
	assert_int_equal(map(f, 0, 0, PAGE), 0);
	assert_int_equal(map(f, 1, 0, MIB), 0);
}

static void test_reset_without_mapper_reset_unmaps_each(void **state)
{
	struct fx *f = *state;

	f->mapper.reset = NULL;
	assert_int_equal(map(f, 0, 0, PAGE), 0);
	assert_int_equal(map(f, 3, 0, PAGE), 0);
	vu_fe_shmem_reset(&f->s);
	assert_int_equal(f->rec.unmaps, 2);
	assert_int_equal(f->s.nmaps, 0);
}

#define T(fn) cmocka_unit_test_setup_teardown(fn, setup, teardown)

int main(void)
{
	const struct CMUnitTest tests[] = {
		T(test_init_validation),	T(test_map_reaches_mapper),
		T(test_map_read_only),		T(test_map_whole_region_and_last_page),
		T(test_map_unknown_shmid),	T(test_map_out_of_range),
		T(test_map_overflow),		T(test_map_zero_length),
		T(test_map_unaligned),		T(test_map_unknown_flags),
		T(test_map_wrong_fd_count),	T(test_wrong_payload_size),
		T(test_not_a_shmem_request),	T(test_map_overlap),
		T(test_map_mapper_failure),	T(test_map_table_full),
		T(test_unmap_whole_mapping),	T(test_unmap_partial),
		T(test_unmap_spanning_two),	T(test_unmap_with_fd),
		T(test_unmap_bad_ranges),	T(test_unmap_mapper_failure),
		T(test_reset_drops_everything), T(test_reset_without_mapper_reset_unmaps_each),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
