/* test_blk.c - virtio-blk through a real back-end session over a RAM disk.
 *
 * The disk is DISK_SECTORS sectors of RAM (dev_storage_ram); the guest is a
 * test_ring in one fake file. Every request goes the whole way: avail ring,
 * vu_backend_poll(), dev_blk, storage, used ring. A request the guest got
 * wrong must end in IOERR or UNSUPP without touching the disk; a chain with
 * nowhere to put the status byte stops the ring.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "dev/blk.h"
#include "dev/storage.h"
#include "helpers/fake_platform.h"
#include "helpers/msg_build.h"
#include "helpers/test_ring.h"
#include "vu/backend.h"

#define SECTOR 512u
#define DISK_SECTORS 128u
#define DISK_BYTES (DISK_SECTORS * SECTOR)
#define NQ 2u
#define QSZ 128u
#define SERIAL "uvhost-test-serial"

#define MEM_GPA 0x40000000ull
#define MEM_SIZE 0x40000ull
#define MEM_UADDR 0x7f3400000000ull
#define DATA_OFF 0x4000ull

#define T_IN 0u
#define T_OUT 1u
#define T_FLUSH 4u
#define T_GET_ID 8u
#define T_DISCARD 11u
#define T_WRITE_ZEROES 13u

#define S_OK 0u
#define S_IOERR 1u
#define S_UNSUPP 2u

#define F_SEG_MAX 2
#define F_RO 5
#define F_BLK_SIZE 6
#define F_FLUSH 9
#define F_MQ 12
#define F_DISCARD 13
#define F_WRITE_ZEROES 14

struct blk_hdr {
	uint32_t type;
	uint32_t ioprio;
	uint64_t sector;
};

struct blk_seg {
	uint64_t sector;
	uint32_t num_sectors;
	uint32_t flags;
};

struct fx {
	struct fake_platform fp;
	struct vu_backend b;
	struct dev_blk blk;
	struct dev_storage store;
	uint8_t disk[DISK_BYTES];
	uint8_t disk_before[DISK_BYTES];
	struct vu_msg m;
	struct test_ring ring;
	int mem_fd, err_fd;
};

/* ---- messages ----------------------------------------------------------- */

static struct vu_msg *mk(struct fx *f, uint32_t request, uint32_t size)
{
	msg_build(&f->m, request, size);
	return &f->m;
}

static int handle(struct fx *f)
{
	return vu_backend_handle(&f->b, &f->m);
}

static void send_ok(struct fx *f)
{
	assert_int_equal(handle(f), 0);
}

static void send_u64(struct fx *f, uint32_t request, uint64_t v)
{
	mk(f, request, 8)->p.u64 = v;
	send_ok(f);
}

static void send_state(struct fx *f, uint32_t request, uint32_t index, uint32_t num)
{
	struct vu_msg *m = mk(f, request, 8);

	m->p.state.index = index;
	m->p.state.num = num;
	send_ok(f);
}

/* ---- fixture ------------------------------------------------------------ */

/* The front-end's bring-up: features, owner, memory, ring 0 with an err fd. */
static void bring_up(struct fx *f)
{
	struct vu_vring_addr a;
	struct vu_msg *m;

	mk(f, VU_REQ_GET_FEATURES, 0);
	send_ok(f);
	send_u64(f, VU_REQ_SET_PROTOCOL_FEATURES, vu_backend_offered_protocol_features(&f->b));
	mk(f, VU_REQ_SET_OWNER, 0);
	send_ok(f);
	send_u64(f, VU_REQ_SET_FEATURES, VU_BIT(VU_F_VERSION_1) | VU_BIT(VU_F_PROTOCOL_FEATURES));

	f->mem_fd = fake_file_new(&f->fp, MEM_SIZE);
	assert_true(f->mem_fd >= FAKE_FD_BASE);
	test_ring_init(&f->ring, fake_file_ptr(&f->fp, f->mem_fd, 0), MEM_GPA, MEM_UADDR, MEM_SIZE,
		       0, DATA_OFF, MEM_SIZE - DATA_OFF, QSZ);
	m = mk(f, VU_REQ_ADD_MEM_REG, sizeof(struct vu_mem_single_msg));
	m->p.mem_single.region =
		(struct vu_mem_region){.gpa = MEM_GPA, .size = MEM_SIZE, .uaddr = MEM_UADDR};
	m->fds[m->nfds++] = f->mem_fd;
	send_ok(f);

	f->err_fd = fake_file_new(&f->fp, 8);
	m = mk(f, VU_REQ_SET_VRING_ERR, 8);
	m->p.u64 = 0;
	m->fds[m->nfds++] = f->err_fd;
	send_ok(f);
	send_state(f, VU_REQ_SET_VRING_NUM, 0, QSZ);
	send_state(f, VU_REQ_SET_VRING_BASE, 0, 0);
	test_ring_addr(&f->ring, 0, &a);
	mk(f, VU_REQ_SET_VRING_ADDR, sizeof(a))->p.addr = a;
	send_ok(f);
	send_u64(f, VU_REQ_SET_VRING_KICK, 0 | VU_VRING_NOFD);
	send_state(f, VU_REQ_SET_VRING_ENABLE, 0, 1);
	f->fp.nsent = 0;
}

static int fx_setup(void **state, bool read_only, bool limited)
{
	struct fx *f = calloc(1, sizeof(*f));

	if (!f)
		return -1;
	fake_platform_init(&f->fp, 1);
	for (uint32_t i = 0; i < DISK_BYTES; i++)
		f->disk[i] = (uint8_t)(i * 7 + i / SECTOR);
	dev_storage_ram(&f->store, f->disk, DISK_BYTES, read_only);
	if (limited) {
		/* A medium like a virtio-blk disk that offers less (the service
		 * VM's vd<N>, apps/uvhost-vm/vdisk_storage.c). */
		f->store.blk_size = 4096;
		f->store.seg_max = 30;
		f->store.size_max = 4096;
		f->store.no_flush = f->store.no_discard = f->store.no_write_zeroes = true;
	}
	if (dev_blk_init(&f->blk, &f->store, NQ, SERIAL) != 0)
		return -1;
	vu_backend_init(&f->b, &f->fp.plat, &f->blk.dev, &f->blk, NULL);
	*state = f;
	bring_up(f);
	memcpy(f->disk_before, f->disk, DISK_BYTES);
	return 0;
}

static int setup(void **state)
{
	return fx_setup(state, false, false);
}

static int setup_ro(void **state)
{
	return fx_setup(state, true, false);
}

static int setup_limited(void **state)
{
	return fx_setup(state, false, true);
}

static int teardown(void **state)
{
	struct fx *f = *state;

	vu_backend_disconnect(&f->b);
	assert_int_equal(f->fp.maps, f->fp.unmaps);
	assert_int_equal(fake_open_files(&f->fp), 0);
	fake_platform_fini(&f->fp);
	free(f);
	return 0;
}

/* ---- requests ----------------------------------------------------------- */

static void *gp(struct fx *f, uint64_t gpa)
{
	return test_ring_ptr(&f->ring, gpa);
}

static uint64_t put_hdr(struct fx *f, uint32_t type, uint64_t sector)
{
	uint64_t gpa = test_ring_alloc(&f->ring, sizeof(struct blk_hdr));
	struct blk_hdr h = {.type = type, .sector = sector};

	memcpy(gp(f, gpa), &h, sizeof(h));
	return gpa;
}

static uint64_t put_bytes(struct fx *f, const void *src, uint32_t len)
{
	uint64_t gpa = test_ring_alloc(&f->ring, len);

	memcpy(gp(f, gpa), src, len);
	return gpa;
}

/* A writable status byte pre-set to a value the device never writes. */
static uint64_t put_status(struct fx *f)
{
	uint64_t gpa = test_ring_alloc(&f->ring, 1);

	*(uint8_t *)gp(f, gpa) = 0xee;
	return gpa;
}

static struct test_seg rd(uint64_t gpa, uint32_t len)
{
	return (struct test_seg){.gpa = gpa, .len = len};
}

static struct test_seg wr(uint64_t gpa, uint32_t len)
{
	return (struct test_seg){.gpa = gpa, .len = len, .write = true};
}

/* Submit a chain, let the back-end serve it, and return the status byte at
 * status_gpa; *used_len gets the used element's length. */
static uint8_t run(struct fx *f, const struct test_seg *seg, unsigned n, uint64_t status_gpa,
		   uint32_t *used_len)
{
	uint16_t head = test_ring_add(&f->ring, seg, n);
	uint32_t id, len;

	assert_int_equal(vu_backend_poll(&f->b, 8), 1);
	assert_false(f->b.vq[0].broken);
	assert_true(test_ring_pop_used(&f->ring, &id, &len));
	assert_int_equal(id, head);
	assert_false(test_ring_pop_used(&f->ring, &id, &len));
	if (used_len)
		*used_len = len;
	return *(uint8_t *)gp(f, status_gpa);
}

/* hdr | one data buffer | status: the common three-descriptor layout. The
 * data buffer is device-writable for the types that return data. */
static uint8_t rw3(struct fx *f, uint32_t type, uint64_t sector, uint64_t data_gpa, uint32_t len,
		   uint32_t *used_len)
{
	bool to_driver = type == T_IN || type == T_GET_ID;
	uint64_t st = put_status(f);
	struct test_seg seg[3] = {rd(put_hdr(f, type, sector), sizeof(struct blk_hdr)),
				  to_driver ? wr(data_gpa, len) : rd(data_gpa, len), wr(st, 1)};

	return run(f, seg, 3, st, used_len);
}

/* hdr | nseg discard/write-zeroes segments | status. */
static uint8_t dwz(struct fx *f, uint32_t type, const struct blk_seg *segs, unsigned nseg)
{
	uint64_t st = put_status(f);
	struct test_seg seg[3] = {rd(put_hdr(f, type, 0), sizeof(struct blk_hdr)),
				  rd(put_bytes(f, segs, (uint32_t)(nseg * sizeof(*segs))),
				     (uint32_t)(nseg * sizeof(*segs))),
				  wr(st, 1)};
	uint32_t used_len;
	uint8_t s = run(f, seg, 3, st, &used_len);

	assert_int_equal(used_len, 1);
	return s;
}

static uint8_t *disk_at(struct fx *f, uint64_t sector)
{
	return f->disk + sector * SECTOR;
}

static void expect_disk_untouched(struct fx *f)
{
	assert_memory_equal(f->disk, f->disk_before, DISK_BYTES);
}

/* The ring stopped: error signalled, nothing published, disk untouched. */
static void expect_ring_error(struct fx *f)
{
	assert_true(f->b.vq[0].broken);
	assert_int_equal(f->fp.signals, 1);
	assert_int_equal(f->fp.signalled_fd[0], f->err_fd);
	assert_int_equal(test_ring_used_pending(&f->ring), 0);
	expect_disk_untouched(f);
}

/* ---- reads and writes --------------------------------------------------- */

static void test_out_then_in_round_trip(void **state)
{
	struct fx *f = *state;
	uint8_t pattern[2 * SECTOR];
	uint64_t out, in;
	uint32_t used_len;

	for (unsigned i = 0; i < sizeof(pattern); i++)
		pattern[i] = (uint8_t)(0x5a ^ i);
	out = put_bytes(f, pattern, sizeof(pattern));
	assert_int_equal(rw3(f, T_OUT, 3, out, sizeof(pattern), &used_len), S_OK);
	assert_int_equal(used_len, 1);
	assert_memory_equal(disk_at(f, 3), pattern, sizeof(pattern));
	assert_memory_equal(disk_at(f, 0), f->disk_before, 3 * SECTOR);
	assert_memory_equal(disk_at(f, 5), f->disk_before + 5 * SECTOR,
			    (DISK_SECTORS - 5) * SECTOR);

	in = test_ring_alloc(&f->ring, sizeof(pattern));
	assert_int_equal(rw3(f, T_IN, 3, in, sizeof(pattern), &used_len), S_OK);
	assert_int_equal(used_len, sizeof(pattern) + 1);
	assert_memory_equal(gp(f, in), pattern, sizeof(pattern));
	assert_int_equal(f->blk.n_reads, 1);
	assert_int_equal(f->blk.n_writes, 1);
}

static void test_read_last_sector(void **state)
{
	struct fx *f = *state;
	uint64_t in = test_ring_alloc(&f->ring, SECTOR);
	uint32_t used_len;

	assert_int_equal(rw3(f, T_IN, DISK_SECTORS - 1, in, SECTOR, &used_len), S_OK);
	assert_int_equal(used_len, SECTOR + 1);
	assert_memory_equal(gp(f, in), disk_at(f, DISK_SECTORS - 1), SECTOR);
}

static void test_header_split_across_two_descriptors(void **state)
{
	struct fx *f = *state;
	struct blk_hdr h = {.type = T_IN, .sector = 9};
	uint64_t h1 = put_bytes(f, &h, 6);
	uint64_t h2 = put_bytes(f, (const uint8_t *)&h + 6, sizeof(h) - 6);
	uint64_t in = test_ring_alloc(&f->ring, SECTOR);
	uint64_t st = put_status(f);
	struct test_seg seg[4] = {rd(h1, 6), rd(h2, sizeof(h) - 6), wr(in, SECTOR), wr(st, 1)};
	uint32_t used_len;

	assert_int_equal(run(f, seg, 4, st, &used_len), S_OK);
	assert_int_equal(used_len, SECTOR + 1);
	assert_memory_equal(gp(f, in), disk_at(f, 9), SECTOR);
}

static void test_header_and_data_in_one_descriptor(void **state)
{
	struct fx *f = *state;
	uint8_t buf[sizeof(struct blk_hdr) + SECTOR];
	struct blk_hdr h = {.type = T_OUT, .sector = 17};
	uint64_t both, st;
	struct test_seg seg[2];

	memcpy(buf, &h, sizeof(h));
	memset(buf + sizeof(h), 0x3c, SECTOR);
	both = put_bytes(f, buf, sizeof(buf));
	st = put_status(f);
	seg[0] = rd(both, sizeof(buf));
	seg[1] = wr(st, 1);
	assert_int_equal(run(f, seg, 2, st, NULL), S_OK);
	assert_memory_equal(disk_at(f, 17), buf + sizeof(h), SECTOR);
}

static void test_status_byte_in_its_own_descriptor(void **state)
{
	struct fx *f = *state;
	uint64_t a = test_ring_alloc(&f->ring, SECTOR);
	uint64_t b = test_ring_alloc(&f->ring, 2 * SECTOR);
	uint64_t st = put_status(f);
	struct test_seg seg[4] = {rd(put_hdr(f, T_IN, 20), sizeof(struct blk_hdr)), wr(a, SECTOR),
				  wr(b, 2 * SECTOR), wr(st, 1)};
	uint32_t used_len;

	assert_int_equal(run(f, seg, 4, st, &used_len), S_OK);
	assert_int_equal(used_len, 3 * SECTOR + 1);
	assert_memory_equal(gp(f, a), disk_at(f, 20), SECTOR);
	assert_memory_equal(gp(f, b), disk_at(f, 21), 2 * SECTOR);
}

static void test_status_byte_shares_the_data_descriptor(void **state)
{
	struct fx *f = *state;
	uint64_t in = test_ring_alloc(&f->ring, SECTOR + 1);
	struct test_seg seg[2] = {rd(put_hdr(f, T_IN, 30), sizeof(struct blk_hdr)),
				  wr(in, SECTOR + 1)};
	uint32_t used_len;

	*((uint8_t *)gp(f, in) + SECTOR) = 0xee;
	assert_int_equal(run(f, seg, 2, in + SECTOR, &used_len), S_OK);
	assert_int_equal(used_len, SECTOR + 1);
	assert_memory_equal(gp(f, in), disk_at(f, 30), SECTOR);
}

static void test_no_status_byte_is_ring_error(void **state)
{
	struct fx *f = *state;
	uint64_t data = test_ring_alloc(&f->ring, SECTOR);
	struct test_seg seg[2] = {rd(put_hdr(f, T_OUT, 0), sizeof(struct blk_hdr)),
				  rd(data, SECTOR)};

	test_ring_add(&f->ring, seg, 2);
	vu_backend_poll(&f->b, 8);
	expect_ring_error(f);
}

static void test_short_header_is_ring_error(void **state)
{
	struct fx *f = *state;
	uint64_t hdr = put_hdr(f, T_FLUSH, 0);
	uint64_t st = put_status(f);
	struct test_seg seg[2] = {rd(hdr, sizeof(struct blk_hdr) - 1), wr(st, 1)};

	test_ring_add(&f->ring, seg, 2);
	vu_backend_poll(&f->b, 8);
	expect_ring_error(f);
	assert_int_equal(*(uint8_t *)gp(f, st), 0xee);
}

static void test_no_header_at_all_is_ring_error(void **state)
{
	struct fx *f = *state;
	uint64_t st = put_status(f);
	struct test_seg seg = wr(st, 1);

	test_ring_add(&f->ring, &seg, 1);
	vu_backend_poll(&f->b, 8);
	expect_ring_error(f);
}

static void test_sector_beyond_capacity_ioerr(void **state)
{
	struct fx *f = *state;
	uint64_t buf = test_ring_alloc(&f->ring, 2 * SECTOR);
	uint32_t used_len;

	assert_int_equal(rw3(f, T_IN, DISK_SECTORS, buf, SECTOR, &used_len), S_IOERR);
	assert_int_equal(used_len, 1);
	assert_int_equal(rw3(f, T_IN, DISK_SECTORS - 1, buf, 2 * SECTOR, &used_len), S_IOERR);
	assert_int_equal(used_len, 1);
	assert_int_equal(rw3(f, T_OUT, DISK_SECTORS, buf, SECTOR, &used_len), S_IOERR);
	assert_int_equal(rw3(f, T_OUT, DISK_SECTORS - 1, buf, 2 * SECTOR, &used_len), S_IOERR);
	expect_disk_untouched(f);
	assert_int_equal(f->blk.n_errors, 4);
	assert_false(f->b.vq[0].broken);
}

static void test_sector_overflow_ioerr(void **state)
{
	struct fx *f = *state;
	uint64_t buf = test_ring_alloc(&f->ring, SECTOR);

	memset(gp(f, buf), 0xcc, SECTOR);
	assert_int_equal(rw3(f, T_OUT, UINT64_MAX, buf, SECTOR, NULL), S_IOERR);
	/* sector * 512 == 2^64 would land on byte 0. */
	assert_int_equal(rw3(f, T_OUT, 1ull << 55, buf, SECTOR, NULL), S_IOERR);
	assert_int_equal(rw3(f, T_OUT, (1ull << 55) + 1, buf, SECTOR, NULL), S_IOERR);
	assert_int_equal(rw3(f, T_IN, UINT64_MAX - 1, buf, SECTOR, NULL), S_IOERR);
	expect_disk_untouched(f);
}

static void test_length_not_multiple_of_512_ioerr(void **state)
{
	struct fx *f = *state;
	uint64_t buf = test_ring_alloc(&f->ring, SECTOR + 1);
	uint32_t used_len;

	memset(gp(f, buf), 0xcc, SECTOR + 1);
	assert_int_equal(rw3(f, T_IN, 0, buf, 100, &used_len), S_IOERR);
	assert_int_equal(used_len, 1);
	assert_int_equal(rw3(f, T_OUT, 0, buf, SECTOR + 1, &used_len), S_IOERR);
	assert_int_equal(rw3(f, T_OUT, 0, buf, SECTOR - 1, &used_len), S_IOERR);
	expect_disk_untouched(f);
}

static void test_write_to_read_only_ioerr(void **state)
{
	struct fx *f = *state;
	uint64_t buf = test_ring_alloc(&f->ring, SECTOR);
	struct blk_seg s = {.sector = 0, .num_sectors = 1};
	uint32_t used_len;

	assert_true(f->blk.dev.features & VU_BIT(F_RO));
	memset(gp(f, buf), 0xcc, SECTOR);
	assert_int_equal(rw3(f, T_OUT, 0, buf, SECTOR, &used_len), S_IOERR);
	assert_int_equal(used_len, 1);
	assert_int_equal(dwz(f, T_DISCARD, &s, 1), S_IOERR);
	assert_int_equal(dwz(f, T_WRITE_ZEROES, &s, 1), S_IOERR);
	expect_disk_untouched(f);
	/* Reading still works. */
	assert_int_equal(rw3(f, T_IN, 0, buf, SECTOR, NULL), S_OK);
	assert_memory_equal(gp(f, buf), disk_at(f, 0), SECTOR);
}

/* ---- other requests ----------------------------------------------------- */

static void test_flush_ok(void **state)
{
	struct fx *f = *state;
	uint64_t st = put_status(f);
	struct test_seg seg[2] = {rd(put_hdr(f, T_FLUSH, 0), sizeof(struct blk_hdr)), wr(st, 1)};
	uint32_t used_len;

	assert_int_equal(run(f, seg, 2, st, &used_len), S_OK);
	assert_int_equal(used_len, 1);
	assert_int_equal(f->blk.n_flushes, 1);
}

static void test_get_id_returns_serial(void **state)
{
	struct fx *f = *state;
	uint64_t id = test_ring_alloc(&f->ring, 20);
	uint8_t want[20] = SERIAL;
	uint32_t used_len;

	memset(gp(f, id), 0xcc, 20);
	assert_int_equal(rw3(f, T_GET_ID, 0, id, 20, &used_len), S_OK);
	assert_int_equal(used_len, 21);
	assert_memory_equal(gp(f, id), want, 20);
}

static void test_get_id_short_buffer(void **state)
{
	struct fx *f = *state;
	uint64_t id = test_ring_alloc(&f->ring, 16);
	uint32_t used_len;

	memset(gp(f, id), 0xcc, 16);
	assert_int_equal(rw3(f, T_GET_ID, 0, id, 8, &used_len), S_OK);
	assert_int_equal(used_len, 9);
	assert_memory_equal(gp(f, id), SERIAL, 8);
	assert_int_equal(*((uint8_t *)gp(f, id) + 8), 0xcc);
}

static void test_discard_valid(void **state)
{
	struct fx *f = *state;
	struct blk_seg s = {.sector = 4, .num_sectors = 2};
	uint8_t zero[2 * SECTOR];

	memset(zero, 0, sizeof(zero));
	assert_int_equal(dwz(f, T_DISCARD, &s, 1), S_OK);
	assert_memory_equal(disk_at(f, 4), zero, sizeof(zero));
	assert_memory_equal(disk_at(f, 0), f->disk_before, 4 * SECTOR);
	assert_memory_equal(disk_at(f, 6), f->disk_before + 6 * SECTOR,
			    (DISK_SECTORS - 6) * SECTOR);
}

static void test_write_zeroes_valid(void **state)
{
	struct fx *f = *state;
	struct blk_seg s = {.sector = DISK_SECTORS - 3, .num_sectors = 3, .flags = 1};
	uint8_t zero[3 * SECTOR];

	memset(zero, 0, sizeof(zero));
	assert_int_equal(dwz(f, T_WRITE_ZEROES, &s, 1), S_OK);
	assert_memory_equal(disk_at(f, DISK_SECTORS - 3), zero, sizeof(zero));
	assert_memory_equal(f->disk, f->disk_before, (DISK_SECTORS - 3) * SECTOR);
	s.flags = 0;
	s.sector = 0;
	s.num_sectors = 1;
	assert_int_equal(dwz(f, T_WRITE_ZEROES, &s, 1), S_OK);
	assert_memory_equal(disk_at(f, 0), zero, SECTOR);
}

static void test_discard_two_segments_unsupp(void **state)
{
	struct fx *f = *state;
	struct blk_seg s[2] = {{.sector = 0, .num_sectors = 1}, {.sector = 2, .num_sectors = 1}};

	assert_int_equal(dwz(f, T_DISCARD, s, 2), S_UNSUPP);
	expect_disk_untouched(f);
}

static void test_write_zeroes_two_segments_unsupp(void **state)
{
	struct fx *f = *state;
	struct blk_seg s[2] = {{.sector = 0, .num_sectors = 1}, {.sector = 2, .num_sectors = 1}};

	assert_int_equal(dwz(f, T_WRITE_ZEROES, s, 2), S_UNSUPP);
	expect_disk_untouched(f);
}

static void test_discard_with_unmap_flag_unsupp(void **state)
{
	struct fx *f = *state;
	struct blk_seg s = {.sector = 0, .num_sectors = 1, .flags = 1};

	/* UNMAP means something only for WRITE_ZEROES. */
	assert_int_equal(dwz(f, T_DISCARD, &s, 1), S_UNSUPP);
	s.flags = 0x80000000u;
	assert_int_equal(dwz(f, T_DISCARD, &s, 1), S_UNSUPP);
	expect_disk_untouched(f);
}

static void test_write_zeroes_reserved_flags_unsupp(void **state)
{
	struct fx *f = *state;
	struct blk_seg s = {.sector = 0, .num_sectors = 1, .flags = 2};

	assert_int_equal(dwz(f, T_WRITE_ZEROES, &s, 1), S_UNSUPP);
	s.flags = 3;
	assert_int_equal(dwz(f, T_WRITE_ZEROES, &s, 1), S_UNSUPP);
	expect_disk_untouched(f);
}

static void test_discard_beyond_capacity_ioerr(void **state)
{
	struct fx *f = *state;
	struct blk_seg s = {.sector = DISK_SECTORS - 1, .num_sectors = 2};

	assert_int_equal(dwz(f, T_DISCARD, &s, 1), S_IOERR);
	s = (struct blk_seg){.sector = UINT64_MAX, .num_sectors = 1};
	assert_int_equal(dwz(f, T_DISCARD, &s, 1), S_IOERR);
	s = (struct blk_seg){.sector = 1ull << 55, .num_sectors = 1};
	assert_int_equal(dwz(f, T_WRITE_ZEROES, &s, 1), S_IOERR);
	/* More than max_discard_sectors in one segment. */
	s = (struct blk_seg){.sector = 0, .num_sectors = 0xffffffffu};
	assert_int_equal(dwz(f, T_WRITE_ZEROES, &s, 1), S_IOERR);
	expect_disk_untouched(f);
}

static void test_discard_malformed_segment_list_unsupp(void **state)
{
	struct fx *f = *state;
	struct blk_seg s = {.sector = 0, .num_sectors = 1};
	uint64_t st = put_status(f);
	struct test_seg seg[3] = {rd(put_hdr(f, T_DISCARD, 0), sizeof(struct blk_hdr)),
				  rd(put_bytes(f, &s, 8), 8), wr(st, 1)};

	/* Half a segment. */
	assert_int_equal(run(f, seg, 3, st, NULL), S_UNSUPP);
	/* No segment at all. */
	st = put_status(f);
	seg[0] = rd(put_hdr(f, T_DISCARD, 0), sizeof(struct blk_hdr));
	seg[1] = wr(st, 1);
	assert_int_equal(run(f, seg, 2, st, NULL), S_UNSUPP);
	expect_disk_untouched(f);
}

static void test_unknown_type_unsupp(void **state)
{
	struct fx *f = *state;
	static const uint32_t types[] = {2, 3, 99, 0xffffffffu};
	uint64_t buf = test_ring_alloc(&f->ring, SECTOR);
	uint32_t used_len;

	for (size_t i = 0; i < sizeof(types) / sizeof(types[0]); i++) {
		assert_int_equal(rw3(f, types[i], 0, buf, SECTOR, &used_len), S_UNSUPP);
		assert_int_equal(used_len, 1);
	}
	expect_disk_untouched(f);
}

/* ---- features and config space ------------------------------------------ */

static void test_features_offered(void **state)
{
	struct fx *f = *state;
	uint64_t v = f->b.features_offered;

	assert_true(v & VU_BIT(F_SEG_MAX));
	assert_true(v & VU_BIT(F_BLK_SIZE));
	assert_true(v & VU_BIT(F_FLUSH));
	assert_true(v & VU_BIT(F_MQ));
	assert_true(v & VU_BIT(F_DISCARD));
	assert_true(v & VU_BIT(F_WRITE_ZEROES));
	assert_false(v & VU_BIT(F_RO));
	assert_false(v & VU_BIT(1)); /* SIZE_MAX: segments of any size */
	assert_true(v & VU_BIT(VU_F_VERSION_1));
}

static const struct vu_msg *get_config(struct fx *f, uint32_t offset, uint32_t size)
{
	struct vu_msg *m = mk(f, VU_REQ_GET_CONFIG, VU_CONFIG_HDR_SIZE + size);
	const struct vu_msg *r;

	m->p.config.offset = offset;
	m->p.config.size = size;
	send_ok(f);
	assert_int_equal(f->fp.nsent, 1);
	r = &f->fp.sent[0];
	assert_int_equal(r->hdr.flags, VU_REPLY_FLAGS);
	assert_int_equal(r->hdr.request, VU_REQ_GET_CONFIG);
	assert_int_equal(r->hdr.size, VU_CONFIG_HDR_SIZE + size);
	return r;
}

static uint64_t le(const uint8_t *p, unsigned n)
{
	uint64_t v = 0;

	for (unsigned i = n; i-- > 0;)
		v = v << 8 | p[i];
	return v;
}

static void test_config_space_fields(void **state)
{
	struct fx *f = *state;
	const uint8_t *c = get_config(f, 0, 60)->p.config.data;

	assert_int_equal(le(c + 0, 8), DISK_SECTORS); /* capacity */
	assert_int_equal(le(c + 8, 4), 0);	      /* size_max: any */
	assert_int_equal(le(c + 12, 4), 254);	      /* seg_max */
	assert_int_equal(le(c + 20, 4), SECTOR);      /* blk_size */
	assert_int_equal(le(c + 34, 2), NQ);	      /* num_queues */
	assert_int_equal(le(c + 36, 4), 65536);	      /* max_discard_sectors */
	assert_int_equal(le(c + 40, 4), 1);	      /* max_discard_seg */
	assert_int_equal(le(c + 48, 4), 65536);	      /* max_write_zeroes_sectors */
	assert_int_equal(le(c + 52, 4), 1);	      /* max_write_zeroes_seg */
	assert_int_equal(c[56], 1);		      /* write_zeroes_may_unmap */
}

static void test_config_partial_read(void **state)
{
	struct fx *f = *state;
	const struct vu_msg *r = get_config(f, 34, 2);

	assert_int_equal(r->p.config.offset, 34);
	assert_int_equal(le(r->p.config.data, 2), NQ);
}

static void test_config_tail_reads_zero(void **state)
{
	struct fx *f = *state;
	const struct vu_msg *r = get_config(f, 60, VU_CONFIG_MAX - 60);

	for (unsigned i = 0; i < VU_CONFIG_MAX - 60; i++)
		assert_int_equal(r->p.config.data[i], 0);
}

static void test_config_is_read_only(void **state)
{
	struct fx *f = *state;
	struct vu_msg *m = mk(f, VU_REQ_SET_CONFIG, VU_CONFIG_HDR_SIZE + 8);

	m->p.config.offset = 0;
	m->p.config.size = 8;
	assert_true(handle(f) < 0);
	assert_int_equal(le(get_config(f, 0, 8)->p.config.data, 8), DISK_SECTORS);
}

static void test_dev_blk_init_rejects_bad_arguments(void **state)
{
	struct fx *f = *state;
	struct dev_blk *blk = calloc(1, sizeof(*blk));
	struct dev_storage tiny;

	assert_non_null(blk);
	assert_int_equal(dev_blk_init(blk, &f->store, 0, NULL), -EINVAL);
	assert_int_equal(dev_blk_init(blk, &f->store, VU_MAX_QUEUES + 1, NULL), -EINVAL);
	assert_int_equal(dev_blk_init(blk, NULL, 1, NULL), -EINVAL);
	dev_storage_ram(&tiny, f->disk, SECTOR - 1, false);
	assert_int_equal(dev_blk_init(blk, &tiny, 1, NULL), -EINVAL);
	/* A serial longer than 20 bytes is cut, and NUL-terminated. */
	assert_int_equal(dev_blk_init(blk, &f->store, 1, "0123456789abcdefghijKLMN"), 0);
	assert_string_equal(blk->serial, "0123456789abcdefghij");
	free(blk);
}

/* A medium without flush, discard and write-zeroes, with 4 KiB blocks and
 * 30 segments of at most 4 KiB: the front-end is offered only what it has, FLUSH answers OK
 * (write-through: nothing to flush), DISCARD and WRITE_ZEROES UNSUPP with
 * the disk untouched. */
static void test_medium_limits(void **state)
{
	struct fx *f = *state;
	uint64_t v = f->b.features_offered, st = put_status(f);
	struct blk_seg s = {.sector = 0, .num_sectors = 1};
	struct test_seg seg[2] = {rd(put_hdr(f, T_FLUSH, 0), sizeof(struct blk_hdr)), wr(st, 1)};
	const uint8_t *c;
	uint32_t used_len;

	assert_false(v & VU_BIT(F_FLUSH));
	assert_false(v & VU_BIT(F_DISCARD));
	assert_false(v & VU_BIT(F_WRITE_ZEROES));
	assert_true(v & VU_BIT(F_SEG_MAX));
	assert_true(v & VU_BIT(1)); /* SIZE_MAX */
	assert_int_equal(run(f, seg, 2, st, &used_len), S_OK);
	assert_int_equal(used_len, 1);
	assert_int_equal(dwz(f, T_DISCARD, &s, 1), S_UNSUPP);
	s.flags = 1;
	assert_int_equal(dwz(f, T_WRITE_ZEROES, &s, 1), S_UNSUPP);
	expect_disk_untouched(f);
	f->fp.nsent = 0;
	c = get_config(f, 0, 60)->p.config.data;
	assert_int_equal(le(c + 8, 4), 4096);  /* size_max */
	assert_int_equal(le(c + 12, 4), 30);   /* seg_max */
	assert_int_equal(le(c + 20, 4), 4096); /* blk_size */
}

#define T(fn) cmocka_unit_test_setup_teardown(fn, setup, teardown)

int main(void)
{
	const struct CMUnitTest tests[] = {
		T(test_out_then_in_round_trip),
		T(test_read_last_sector),
		T(test_header_split_across_two_descriptors),
		T(test_header_and_data_in_one_descriptor),
		T(test_status_byte_in_its_own_descriptor),
		T(test_status_byte_shares_the_data_descriptor),
		T(test_no_status_byte_is_ring_error),
		T(test_short_header_is_ring_error),
		T(test_no_header_at_all_is_ring_error),
		T(test_sector_beyond_capacity_ioerr),
		T(test_sector_overflow_ioerr),
		T(test_length_not_multiple_of_512_ioerr),
		cmocka_unit_test_setup_teardown(test_write_to_read_only_ioerr, setup_ro, teardown),
		T(test_flush_ok),
		T(test_get_id_returns_serial),
		T(test_get_id_short_buffer),
		T(test_discard_valid),
		T(test_write_zeroes_valid),
		T(test_discard_two_segments_unsupp),
		T(test_write_zeroes_two_segments_unsupp),
		T(test_discard_with_unmap_flag_unsupp),
		T(test_write_zeroes_reserved_flags_unsupp),
		T(test_discard_beyond_capacity_ioerr),
		T(test_discard_malformed_segment_list_unsupp),
		T(test_unknown_type_unsupp),
		T(test_features_offered),
		T(test_config_space_fields),
		T(test_config_partial_read),
		T(test_config_tail_reads_zero),
		T(test_config_is_read_only),
		T(test_dev_blk_init_rejects_bad_arguments),
		cmocka_unit_test_setup_teardown(test_medium_limits, setup_limited, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
