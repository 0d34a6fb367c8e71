/* test_vq.c - the split virtqueue walker against well-formed and hostile rings.
 *
 * Guest memory: region A [0, 64K) and region B [64K, 128K) are adjacent in
 * gpa but separate host buffers; region C sits alone at 1M. Rings live in A.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "helpers/fake_platform.h"
#include "vu/inflight.h"
#include "vu/memtable.h"
#include "vu/vq.h"

#define QSZ 16u

#define A_GPA 0x0ull
#define B_GPA 0x10000ull
#define C_GPA 0x100000ull
#define REG_SIZE 0x10000ull
#define A_UADDR 0x7f0000000000ull
#define B_UADDR 0x7f0000800000ull
#define C_UADDR 0x7f0001000000ull

#define DESC_GPA 0x0000ull
#define AVAIL_GPA 0x1000ull
#define USED_GPA 0x2000ull
#define IND_GPA 0x3000ull
#define BUF_GPA 0x4000ull
#define HOLE_GPA 0x40000ull /* between B and C: unmapped */

struct fx {
	struct fake_platform fp;
	struct vu_mem mem;
	struct vu_vq vq;
	struct vu_chain chain;
	int fd[3];
	struct vu_mem_region reg[3];
	struct vu_inflight_queue *infl;
	uint8_t inuse_map[VU_VQ_INUSE_BYTES];
};

static const uint64_t reg_gpa[3] = {A_GPA, B_GPA, C_GPA};
static const uint64_t reg_uaddr[3] = {A_UADDR, B_UADDR, C_UADDR};

/* ---- fixture ------------------------------------------------------------ */

static void vq_configure(struct fx *f, struct vu_vq *vq, uint16_t size, bool gpa)
{
	uint64_t base = gpa ? 0 : A_UADDR;

	vu_vq_init(vq, 3);
	memset(f->inuse_map, 0, sizeof(f->inuse_map));
	vq->inuse_map = f->inuse_map;
	vq->size = size;
	vq->addr_is_gpa = gpa;
	vq->desc_addr = base + DESC_GPA;
	vq->avail_addr = base + AVAIL_GPA;
	vq->used_addr = base + USED_GPA;
	vq->addr_set = true;
	vq->started = true;
	vq->enabled = true;
}

static int setup(void **state)
{
	struct fx *f = calloc(1, sizeof(*f));

	assert_non_null(f);
	fake_platform_init(&f->fp, 1);
	vu_mem_init(&f->mem, &f->fp.plat, 0);
	for (int i = 0; i < 3; i++) {
		f->fd[i] = fake_file_new(&f->fp, REG_SIZE);
		assert_true(f->fd[i] >= FAKE_FD_BASE);
		f->reg[i] = (struct vu_mem_region){
			.gpa = reg_gpa[i], .size = REG_SIZE, .uaddr = reg_uaddr[i]};
		assert_int_equal(vu_mem_add(&f->mem, &f->reg[i], f->fd[i]), 0);
	}
	vq_configure(f, &f->vq, QSZ, false);
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fx *f = *state;

	vu_mem_clear(&f->mem);
	fake_platform_fini(&f->fp);
	free(f->infl);
	free(f);
	return 0;
}

/* Host view of guest-physical address gpa, as the driver would write it. */
static void *gptr(struct fx *f, uint64_t gpa)
{
	for (int i = 0; i < 3; i++) {
		if (gpa >= reg_gpa[i] && gpa < reg_gpa[i] + REG_SIZE)
			return fake_file_ptr(&f->fp, f->fd[i], gpa - reg_gpa[i]);
	}
	fail_msg("gpa 0x%llx is not in test memory", (unsigned long long)gpa);
	return NULL;
}

static struct vring_desc *desc_tab(struct fx *f)
{
	return gptr(f, DESC_GPA);
}

static struct vring_avail *avail(struct fx *f)
{
	return gptr(f, AVAIL_GPA);
}

static struct vring_used *used(struct fx *f)
{
	return gptr(f, USED_GPA);
}

static void set_desc(struct vring_desc *t, uint16_t i, uint64_t addr, uint32_t len, uint16_t flags,
		     uint16_t next)
{
	t[i] = (struct vring_desc){.addr = addr, .len = len, .flags = flags, .next = next};
}

/* What the driver does to make chain `head` available. */
static void offer(struct fx *f, uint16_t head)
{
	struct vring_avail *a = avail(f);

	a->ring[a->idx % f->vq.size] = head;
	a->idx++;
}

static void expect_broken(struct fx *f, int rc)
{
	assert_int_equal(rc, -EIO);
	assert_true(f->vq.broken);
	assert_int_equal(f->vq.n_errors, 1);
	assert_int_equal(f->vq.last_avail_idx, 0);
	assert_int_equal(f->vq.inuse, 0);
	assert_int_equal(f->vq.n_popped, 0);
}

/* Offer a single-descriptor chain at head 0 and pop it. */
static int pop_one_desc(struct fx *f, uint64_t addr, uint32_t len, uint16_t flags)
{
	set_desc(desc_tab(f), 0, addr, len, flags, 0);
	offer(f, 0);
	return vu_vq_pop(&f->vq, &f->mem, &f->chain);
}

/* Pretend `head` was popped: push accepts only heads in use. */
static void fake_in_use(struct fx *f, uint16_t head)
{
	f->vq.inuse++;
	f->inuse_map[head >> 3] |= (uint8_t)(1u << (head & 7u));
}

/* ---- basic state -------------------------------------------------------- */

static void test_size_valid(void **state)
{
	(void)state;
	assert_true(vu_vq_size_valid(1));
	assert_true(vu_vq_size_valid(256));
	assert_true(vu_vq_size_valid(32768));
	assert_false(vu_vq_size_valid(0));
	assert_false(vu_vq_size_valid(3));
	assert_false(vu_vq_size_valid(65536));
	assert_false(vu_vq_size_valid(32769));
}

static void test_init_and_reset_keep_index_and_fds(void **state)
{
	struct fx *f = *state;
	struct vu_vq *vq = &f->vq;

	vu_vq_init(vq, 7);
	assert_int_equal(vq->index, 7);
	assert_int_equal(vq->kick_fd, -1);
	assert_int_equal(vq->call_fd, -1);
	assert_int_equal(vq->err_fd, -1);
	assert_false(vq->started);

	vq_configure(f, vq, QSZ, false);
	vq->kick_fd = 101;
	vq->call_fd = 102;
	vq->err_fd = 103;
	vq->last_avail_idx = 9;
	vq->broken = true;
	vq->n_popped = 4;
	vu_vq_reset(vq);
	assert_int_equal(vq->index, 3);
	assert_int_equal(vq->kick_fd, 101);
	assert_int_equal(vq->call_fd, 102);
	assert_int_equal(vq->err_fd, 103);
	assert_int_equal(vq->size, 0);
	assert_false(vq->addr_set);
	assert_false(vq->started);
	assert_false(vq->broken);
	assert_int_equal(vq->last_avail_idx, 0);
	assert_int_equal(vq->n_popped, 0);
	assert_null(vq->desc);
}

static void test_pop_empty_ring_returns_0(void **state)
{
	struct fx *f = *state;

	assert_int_equal(vu_vq_pop(&f->vq, &f->mem, &f->chain), 0);
	assert_false(f->vq.broken);
	assert_true(f->vq.mapped);
}

static void test_pop_not_started_returns_0(void **state)
{
	struct fx *f = *state;

	set_desc(desc_tab(f), 0, BUF_GPA, 16, 0, 0);
	offer(f, 0);
	f->vq.started = false;
	assert_int_equal(vu_vq_pop(&f->vq, &f->mem, &f->chain), 0);
	assert_int_equal(vu_vq_avail_pending(&f->vq, &f->mem), 0);
	f->vq.started = true;
	assert_int_equal(vu_vq_avail_pending(&f->vq, &f->mem), 1);
	assert_int_equal(vu_vq_pop(&f->vq, &f->mem, &f->chain), 1);
}

/* ---- well-formed chains ------------------------------------------------- */

static void test_pop_direct_single_descriptor(void **state)
{
	struct fx *f = *state;

	assert_int_equal(pop_one_desc(f, BUF_GPA, 100, 0), 1);
	assert_int_equal(f->chain.head, 0);
	assert_int_equal(f->chain.n_out, 1);
	assert_int_equal(f->chain.n_in, 0);
	assert_int_equal(f->chain.out_len, 100);
	assert_ptr_equal(f->chain.iov[0].base, gptr(f, BUF_GPA));
	assert_int_equal(f->chain.iov[0].len, 100);
	assert_int_equal(f->vq.last_avail_idx, 1);
	assert_int_equal(f->vq.inuse, 1);
	assert_int_equal(f->vq.n_popped, 1);
	assert_int_equal(vu_vq_pop(&f->vq, &f->mem, &f->chain), 0);
}

static void test_pop_mixed_out_in_chain(void **state)
{
	struct fx *f = *state;
	struct vring_desc *t = desc_tab(f);

	/* head 5 -> 2 -> 9 -> 1: two readable, then two writable. */
	set_desc(t, 5, BUF_GPA, 16, VRING_DESC_F_NEXT, 2);
	set_desc(t, 2, BUF_GPA + 0x100, 512, VRING_DESC_F_NEXT, 9);
	set_desc(t, 9, BUF_GPA + 0x400, 512, VRING_DESC_F_NEXT | VRING_DESC_F_WRITE, 1);
	set_desc(t, 1, BUF_GPA + 0x800, 1, VRING_DESC_F_WRITE, 0);
	offer(f, 5);
	assert_int_equal(vu_vq_pop(&f->vq, &f->mem, &f->chain), 1);
	assert_int_equal(f->chain.head, 5);
	assert_int_equal(f->chain.n_out, 2);
	assert_int_equal(f->chain.n_in, 2);
	assert_int_equal(f->chain.out_len, 528);
	assert_int_equal(f->chain.in_len, 513);
	assert_ptr_equal(f->chain.iov[1].base, gptr(f, BUF_GPA + 0x100));
	assert_ptr_equal(f->chain.iov[2].base, gptr(f, BUF_GPA + 0x400));
	assert_ptr_equal(f->chain.iov[3].base, gptr(f, BUF_GPA + 0x800));
	assert_int_equal(f->chain.iov[3].len, 1);
}

static void test_pop_several_chains_in_order(void **state)
{
	struct fx *f = *state;

	for (uint16_t i = 0; i < QSZ; i++) {
		set_desc(desc_tab(f), i, BUF_GPA + i * 0x10u, 8, 0, 0);
		offer(f, (uint16_t)(QSZ - 1 - i));
	}
	assert_int_equal(vu_vq_avail_pending(&f->vq, &f->mem), QSZ);
	for (uint16_t i = 0; i < QSZ; i++) {
		assert_int_equal(vu_vq_pop(&f->vq, &f->mem, &f->chain), 1);
		assert_int_equal(f->chain.head, QSZ - 1 - i);
	}
	assert_int_equal(vu_vq_pop(&f->vq, &f->mem, &f->chain), 0);
	assert_int_equal(f->vq.inuse, QSZ);
}

static void test_pop_indirect_chain(void **state)
{
	struct fx *f = *state;
	struct vring_desc *ind = gptr(f, IND_GPA);

	set_desc(ind, 0, BUF_GPA, 16, VRING_DESC_F_NEXT, 2);
	set_desc(ind, 2, BUF_GPA + 0x100, 64, VRING_DESC_F_NEXT, 1);
	set_desc(ind, 1, BUF_GPA + 0x200, 1, VRING_DESC_F_WRITE, 0);
	/* WRITE on the descriptor naming the table must be ignored. */
	assert_int_equal(
		pop_one_desc(f, IND_GPA, 3 * 16, VRING_DESC_F_INDIRECT | VRING_DESC_F_WRITE), 1);
	assert_int_equal(f->chain.n_out, 2);
	assert_int_equal(f->chain.n_in, 1);
	assert_int_equal(f->chain.out_len, 80);
	assert_int_equal(f->chain.in_len, 1);
	assert_ptr_equal(f->chain.iov[2].base, gptr(f, BUF_GPA + 0x200));
}

static void test_pop_direct_then_indirect_tail(void **state)
{
	struct fx *f = *state;
	struct vring_desc *ind = gptr(f, IND_GPA);

	set_desc(desc_tab(f), 0, BUF_GPA, 16, VRING_DESC_F_NEXT, 1);
	set_desc(desc_tab(f), 1, IND_GPA, 16, VRING_DESC_F_INDIRECT, 0);
	set_desc(ind, 0, BUF_GPA + 0x100, 4, VRING_DESC_F_WRITE, 0);
	offer(f, 0);
	assert_int_equal(vu_vq_pop(&f->vq, &f->mem, &f->chain), 1);
	assert_int_equal(f->chain.n_out, 1);
	assert_int_equal(f->chain.n_in, 1);
}

static void test_pop_chain_crossing_adjacent_regions_gives_two_iovs(void **state)
{
	struct fx *f = *state;

	assert_int_equal(pop_one_desc(f, B_GPA - 0x100, 0x300, VRING_DESC_F_WRITE), 1);
	assert_int_equal(f->chain.n_in, 2);
	assert_int_equal(f->chain.in_len, 0x300);
	assert_ptr_equal(f->chain.iov[0].base, gptr(f, B_GPA - 0x100));
	assert_int_equal(f->chain.iov[0].len, 0x100);
	assert_ptr_equal(f->chain.iov[1].base, gptr(f, B_GPA));
	assert_int_equal(f->chain.iov[1].len, 0x200);
}

static void test_pop_zero_length_descriptor_gives_no_iov(void **state)
{
	struct fx *f = *state;

	set_desc(desc_tab(f), 0, HOLE_GPA, 0, VRING_DESC_F_NEXT, 1);
	set_desc(desc_tab(f), 1, BUF_GPA, 8, 0, 0);
	offer(f, 0);
	assert_int_equal(vu_vq_pop(&f->vq, &f->mem, &f->chain), 1);
	assert_int_equal(f->chain.n_out, 1);
	assert_int_equal(f->chain.out_len, 8);
}

static void test_pop_with_gpa_ring_addresses(void **state)
{
	struct fx *f = *state;

	vq_configure(f, &f->vq, QSZ, true);
	assert_int_equal(pop_one_desc(f, BUF_GPA, 8, 0), 1);
	assert_ptr_equal(f->vq.desc, gptr(f, DESC_GPA));
	assert_ptr_equal(f->vq.used, gptr(f, USED_GPA));
}

static void test_pop_accepts_exactly_max_iovs(void **state)
{
	struct fx *f = *state;
	struct vring_desc *ind = gptr(f, 0x8000);

	for (uint16_t i = 0; i < VU_CHAIN_MAX_IOV; i++)
		set_desc(ind, i, 0xc000 + i, 1, i + 1u < VU_CHAIN_MAX_IOV ? VRING_DESC_F_NEXT : 0,
			 (uint16_t)(i + 1));
	assert_int_equal(pop_one_desc(f, 0x8000, VU_CHAIN_MAX_IOV * 16, VRING_DESC_F_INDIRECT), 1);
	assert_int_equal(f->chain.n_out, VU_CHAIN_MAX_IOV);
}

/* ---- hostile chains: each breaks the ring ------------------------------- */

static void test_reject_readable_after_writable(void **state)
{
	struct fx *f = *state;

	set_desc(desc_tab(f), 0, BUF_GPA, 8, VRING_DESC_F_WRITE | VRING_DESC_F_NEXT, 1);
	set_desc(desc_tab(f), 1, BUF_GPA + 8, 8, 0, 0);
	offer(f, 0);
	expect_broken(f, vu_vq_pop(&f->vq, &f->mem, &f->chain));
}

static void test_reject_loop_and_stay_broken(void **state)
{
	struct fx *f = *state;

	/* Empty buffers: only the loop bound, not iov exhaustion, stops this. */
	set_desc(desc_tab(f), 0, BUF_GPA, 0, VRING_DESC_F_NEXT, 1);
	set_desc(desc_tab(f), 1, BUF_GPA, 0, VRING_DESC_F_NEXT, 0);
	offer(f, 0);
	expect_broken(f, vu_vq_pop(&f->vq, &f->mem, &f->chain));

	/* Even once the driver "fixes" the chain, a broken ring stays dead and
	 * is not read again. */
	set_desc(desc_tab(f), 1, BUF_GPA, 8, 0, 0);
	assert_int_equal(vu_vq_pop(&f->vq, &f->mem, &f->chain), -EIO);
	assert_int_equal(vu_vq_avail_pending(&f->vq, &f->mem), 0);
	assert_int_equal(f->vq.n_errors, 1);
	assert_int_equal(f->vq.last_avail_idx, 0);
	assert_int_equal(vu_vq_chain_from_head(&f->vq, &f->mem, 0, &f->chain), -EIO);
}

static void test_reject_chain_longer_than_queue_size(void **state)
{
	struct fx *f = *state;

	/* Visits every descriptor once, then starts over. */
	for (uint16_t i = 0; i < QSZ; i++)
		set_desc(desc_tab(f), i, BUF_GPA, 0, VRING_DESC_F_NEXT, (uint16_t)((i + 1) % QSZ));
	offer(f, 0);
	expect_broken(f, vu_vq_pop(&f->vq, &f->mem, &f->chain));
}

static void test_reject_head_out_of_range(void **state)
{
	struct fx *f = *state;

	offer(f, QSZ);
	expect_broken(f, vu_vq_pop(&f->vq, &f->mem, &f->chain));
}

static void test_reject_next_out_of_range(void **state)
{
	struct fx *f = *state;

	set_desc(desc_tab(f), 0, BUF_GPA, 8, VRING_DESC_F_NEXT, QSZ);
	offer(f, 0);
	expect_broken(f, vu_vq_pop(&f->vq, &f->mem, &f->chain));
}

static void test_reject_avail_idx_jump_beyond_size(void **state)
{
	struct fx *f = *state;

	set_desc(desc_tab(f), 0, BUF_GPA, 8, 0, 0);
	avail(f)->idx = QSZ + 1;
	expect_broken(f, vu_vq_pop(&f->vq, &f->mem, &f->chain));
}

static void test_accept_avail_idx_exactly_size_ahead(void **state)
{
	struct fx *f = *state;

	set_desc(desc_tab(f), 0, BUF_GPA, 8, 0, 0);
	f->vq.last_avail_idx = 0xfffa; /* also wraps the 16-bit index */
	avail(f)->idx = (uint16_t)(0xfffa + QSZ);
	assert_int_equal(vu_vq_avail_pending(&f->vq, &f->mem), QSZ);
	assert_int_equal(vu_vq_pop(&f->vq, &f->mem, &f->chain), 1);
}

static void test_reject_nested_indirect(void **state)
{
	struct fx *f = *state;
	struct vring_desc *ind = gptr(f, IND_GPA);

	/* The inner table is well formed: only the nesting is wrong. */
	set_desc(ind, 0, BUF_GPA, 8, VRING_DESC_F_NEXT, 1);
	set_desc(ind, 1, IND_GPA + 0x800, 16, VRING_DESC_F_INDIRECT, 0);
	set_desc(gptr(f, IND_GPA + 0x800), 0, BUF_GPA, 8, 0, 0);
	expect_broken(f, pop_one_desc(f, IND_GPA, 32, VRING_DESC_F_INDIRECT));
}

static void test_reject_indirect_len_zero(void **state)
{
	struct fx *f = *state;

	expect_broken(f, pop_one_desc(f, IND_GPA, 0, VRING_DESC_F_INDIRECT));
}

static void test_reject_indirect_len_not_multiple_of_16(void **state)
{
	struct fx *f = *state;

	set_desc(gptr(f, IND_GPA), 0, BUF_GPA, 8, 0, 0);
	expect_broken(f, pop_one_desc(f, IND_GPA, 24, VRING_DESC_F_INDIRECT));
}

/* A 1 MiB region, so that tables of 32768+ entries are fully mapped. */
static uint64_t add_big_region(struct fx *f)
{
	struct vu_mem_region big = {.gpa = 0x1000000, .size = 0x100000, .uaddr = 0x7f0004000000};
	int fd = fake_file_new(&f->fp, big.size);
	struct vring_desc *t = (struct vring_desc *)(void *)fake_file_ptr(&f->fp, fd, 0);

	assert_int_equal(vu_mem_add(&f->mem, &big, fd), 0);
	set_desc(t, 0, BUF_GPA, 8, 0, 0); /* a valid one-entry chain */
	return big.gpa;
}

static void test_accept_indirect_table_of_max_size(void **state)
{
	struct fx *f = *state;
	uint64_t t = add_big_region(f);

	assert_int_equal(pop_one_desc(f, t, VU_VQ_MAX_SIZE * 16, VRING_DESC_F_INDIRECT), 1);
}

static void test_reject_indirect_table_too_large(void **state)
{
	struct fx *f = *state;
	uint64_t t = add_big_region(f);

	expect_broken(f, pop_one_desc(f, t, (VU_VQ_MAX_SIZE + 1) * 16, VRING_DESC_F_INDIRECT));
}

static void test_reject_indirect_table_unmapped(void **state)
{
	struct fx *f = *state;

	expect_broken(f, pop_one_desc(f, HOLE_GPA, 32, VRING_DESC_F_INDIRECT));
}

static void test_reject_indirect_table_across_regions(void **state)
{
	struct fx *f = *state;

	/* Contiguous in gpa, but not one host range: cannot be a table. */
	set_desc(gptr(f, B_GPA - 16), 0, BUF_GPA, 8, VRING_DESC_F_NEXT, 1);
	set_desc(gptr(f, B_GPA), 0, BUF_GPA, 8, 0, 0);
	expect_broken(f, pop_one_desc(f, B_GPA - 16, 32, VRING_DESC_F_INDIRECT));
}

static void test_reject_indirect_with_next(void **state)
{
	struct fx *f = *state;

	set_desc(gptr(f, IND_GPA), 0, BUF_GPA, 8, 0, 0);
	set_desc(desc_tab(f), 0, IND_GPA, 16, VRING_DESC_F_INDIRECT | VRING_DESC_F_NEXT, 1);
	set_desc(desc_tab(f), 1, BUF_GPA, 8, 0, 0);
	offer(f, 0);
	expect_broken(f, vu_vq_pop(&f->vq, &f->mem, &f->chain));
}

static void test_reject_indirect_next_outside_table(void **state)
{
	struct fx *f = *state;
	struct vring_desc *ind = gptr(f, IND_GPA);

	set_desc(ind, 0, BUF_GPA, 8, VRING_DESC_F_NEXT, 2); /* table has 2 entries */
	set_desc(ind, 1, BUF_GPA, 8, 0, 0);
	expect_broken(f, pop_one_desc(f, IND_GPA, 32, VRING_DESC_F_INDIRECT));
}

static void test_reject_indirect_loop(void **state)
{
	struct fx *f = *state;
	struct vring_desc *ind = gptr(f, IND_GPA);

	set_desc(ind, 0, BUF_GPA, 0, VRING_DESC_F_NEXT, 1);
	set_desc(ind, 1, BUF_GPA, 0, VRING_DESC_F_NEXT, 0);
	expect_broken(f, pop_one_desc(f, IND_GPA, 32, VRING_DESC_F_INDIRECT));
}

static void test_reject_buffer_unmapped(void **state)
{
	struct fx *f = *state;

	expect_broken(f, pop_one_desc(f, HOLE_GPA, 8, 0));
}

static void test_reject_buffer_running_past_memory(void **state)
{
	struct fx *f = *state;

	/* Starts in C, ends after it. */
	expect_broken(f, pop_one_desc(f, C_GPA + REG_SIZE - 8, 16, 0));
}

static void test_reject_buffer_wrapping_address_space(void **state)
{
	struct fx *f = *state;

	expect_broken(f, pop_one_desc(f, UINT64_MAX - 7, 16, 0));
}

static void test_reject_too_many_iovs(void **state)
{
	struct fx *f = *state;
	struct vring_desc *ind = gptr(f, 0x8000);
	uint16_t n = VU_CHAIN_MAX_IOV + 1;

	for (uint16_t i = 0; i < n; i++)
		set_desc(ind, i, 0xc000 + i, 1, i + 1u < n ? VRING_DESC_F_NEXT : 0,
			 (uint16_t)(i + 1));
	expect_broken(f, pop_one_desc(f, 0x8000, n * 16u, VRING_DESC_F_INDIRECT));
}

/* ---- ring mapping ------------------------------------------------------- */

static void test_map_rejects_ring_partly_outside_memory(void **state)
{
	struct fx *f = *state;

	/* The used ring would run from the end of C into unmapped space. */
	f->vq.used_addr = C_UADDR + REG_SIZE - 64;
	assert_int_equal(vu_vq_map(&f->vq, &f->mem), -EFAULT);
	assert_false(f->vq.mapped);
	assert_null(f->vq.desc);
	assert_null(f->vq.avail);
	assert_null(f->vq.used);
	assert_int_equal(vu_vq_pop(&f->vq, &f->mem, &f->chain), -EIO);
	assert_true(f->vq.broken);
}

/* The event words (used_event, avail_event) are part of each ring as the
 * spec sizes it, with or without EVENT_IDX. */
static void test_map_requires_avail_ring_event_word(void **state)
{
	struct fx *f = *state;

	f->vq.avail_addr = C_UADDR + REG_SIZE - (4 + 2 * QSZ);
	assert_int_equal(vu_vq_map(&f->vq, &f->mem), -EFAULT);
	f->vq.avail_addr = C_UADDR + REG_SIZE - (6 + 2 * QSZ);
	assert_int_equal(vu_vq_map(&f->vq, &f->mem), 0);
}

static void test_map_requires_used_ring_event_word(void **state)
{
	struct fx *f = *state;

	f->vq.used_addr = C_UADDR + REG_SIZE - (4 + 8 * QSZ);
	assert_int_equal(vu_vq_map(&f->vq, &f->mem), -EFAULT);
	f->vq.used_addr = C_UADDR + REG_SIZE - (8 + 8 * QSZ); /* 4-aligned */
	assert_int_equal(vu_vq_map(&f->vq, &f->mem), 0);
}

static void test_map_requires_whole_descriptor_table(void **state)
{
	struct fx *f = *state;

	f->vq.desc_addr = C_UADDR + REG_SIZE - 16 * (QSZ - 1);
	assert_int_equal(vu_vq_map(&f->vq, &f->mem), -EFAULT);
	f->vq.desc_addr = C_UADDR + REG_SIZE - 16 * QSZ;
	assert_int_equal(vu_vq_map(&f->vq, &f->mem), 0);
}

static void test_map_is_cached_until_generation_changes(void **state)
{
	struct fx *f = *state;

	assert_int_equal(vu_vq_map(&f->vq, &f->mem), 0);
	/* Without `mapped` cleared, a new address is not looked at... */
	f->vq.desc_addr = 0xdead0000;
	assert_int_equal(vu_vq_map(&f->vq, &f->mem), 0);
	assert_ptr_equal(f->vq.desc, gptr(f, DESC_GPA));
	/* ...until memory changes. */
	f->mem.generation++;
	assert_int_equal(vu_vq_map(&f->vq, &f->mem), -EFAULT);
	assert_null(f->vq.desc);
}

static void test_map_rejects_misaligned_ring(void **state)
{
	struct fx *f = *state;

	f->vq.desc_addr = A_UADDR + 8;
	assert_int_equal(vu_vq_map(&f->vq, &f->mem), -EFAULT);
	f->vq.desc_addr = A_UADDR;
	f->vq.used_addr = A_UADDR + USED_GPA + 2;
	assert_int_equal(vu_vq_map(&f->vq, &f->mem), -EFAULT);
	f->vq.used_addr = A_UADDR + USED_GPA;
	assert_int_equal(vu_vq_map(&f->vq, &f->mem), 0);
}

static void test_map_rejects_unconfigured_ring(void **state)
{
	struct fx *f = *state;

	f->vq.addr_set = false;
	assert_int_equal(vu_vq_map(&f->vq, &f->mem), -EFAULT);
	f->vq.addr_set = true;
	f->vq.size = 0;
	assert_int_equal(vu_vq_map(&f->vq, &f->mem), -EFAULT);
}

static void test_remap_after_generation_change(void **state)
{
	struct fx *f = *state;
	struct vu_mem_region extra = {.gpa = 0x200000, .size = REG_SIZE, .uaddr = 0x7f0002000000};
	uint64_t gen;

	assert_int_equal(pop_one_desc(f, BUF_GPA, 8, 0), 1);
	assert_int_equal(vu_vq_push(&f->vq, &f->mem, 0, 8), 0);
	gen = f->vq.mem_generation;
	assert_int_equal(vu_mem_add(&f->mem, &extra, fake_file_new(&f->fp, REG_SIZE)), 0);
	assert_int_equal(pop_one_desc(f, BUF_GPA, 8, 0), 1);
	assert_int_not_equal(f->vq.mem_generation, gen);
	assert_int_equal(f->vq.mem_generation, f->mem.generation);
	assert_ptr_equal(f->vq.avail, avail(f));
}

static void test_region_under_ring_removed_pop_fails_cleanly(void **state)
{
	struct fx *f = *state;

	assert_int_equal(pop_one_desc(f, BUF_GPA, 8, 0), 1);
	assert_true(f->vq.mapped);
	assert_int_equal(vu_mem_remove(&f->mem, &f->reg[0]), 0);

	assert_int_equal(vu_vq_pop(&f->vq, &f->mem, &f->chain), -EIO);
	assert_true(f->vq.broken);
	assert_false(f->vq.mapped);
	assert_null(f->vq.desc);
	assert_null(f->vq.avail);
	assert_null(f->vq.used);
	assert_int_equal(f->vq.last_avail_idx, 1);
	assert_int_equal(vu_vq_map(&f->vq, &f->mem), -EFAULT);
	assert_int_equal(vu_vq_push(&f->vq, &f->mem, 0, 8), -EIO);
	assert_int_equal(f->vq.inuse, 1);
	assert_false(vu_vq_should_notify(&f->vq, &f->mem));
	assert_int_equal(vu_vq_avail_pending(&f->vq, &f->mem), 0);
	assert_null(f->vq.used);
}

static void test_region_under_buffer_removed_after_pop_fails(void **state)
{
	struct fx *f = *state;

	set_desc(desc_tab(f), 0, C_GPA, 8, 0, 0);
	offer(f, 0);
	offer(f, 0);
	assert_int_equal(vu_vq_pop(&f->vq, &f->mem, &f->chain), 1);
	assert_int_equal(vu_mem_remove(&f->mem, &f->reg[2]), 0);
	assert_int_equal(vu_vq_pop(&f->vq, &f->mem, &f->chain), -EIO);
	assert_true(f->vq.broken);
}

/* ---- push and notifications --------------------------------------------- */

static void test_push_writes_used_ring(void **state)
{
	struct fx *f = *state;
	struct vring_used *u = used(f);

	set_desc(desc_tab(f), 4, BUF_GPA, 8, VRING_DESC_F_WRITE, 0);
	set_desc(desc_tab(f), 6, BUF_GPA, 8, VRING_DESC_F_WRITE, 0);
	offer(f, 4);
	offer(f, 6);
	assert_int_equal(vu_vq_pop(&f->vq, &f->mem, &f->chain), 1);
	assert_int_equal(vu_vq_pop(&f->vq, &f->mem, &f->chain), 1);
	assert_int_equal(vu_vq_push(&f->vq, &f->mem, 6, 3), 0);
	assert_int_equal(vu_vq_push(&f->vq, &f->mem, 4, 8), 0);
	assert_int_equal(u->idx, 2);
	assert_int_equal(u->ring[0].id, 6);
	assert_int_equal(u->ring[0].len, 3);
	assert_int_equal(u->ring[1].id, 4);
	assert_int_equal(u->ring[1].len, 8);
	assert_int_equal(f->vq.used_idx, 2);
	assert_int_equal(f->vq.inuse, 0);
	assert_int_equal(f->vq.n_pushed, 2);
}

static void test_push_wraps_used_index(void **state)
{
	struct fx *f = *state;
	struct vring_used *u = used(f);

	f->vq.used_idx = 0xffff;
	fake_in_use(f, 1);
	fake_in_use(f, 2);
	assert_int_equal(vu_vq_push(&f->vq, &f->mem, 1, 10), 0);
	assert_int_equal(u->ring[QSZ - 1].id, 1);
	assert_int_equal(u->idx, 0);
	assert_int_equal(vu_vq_push(&f->vq, &f->mem, 2, 20), 0);
	assert_int_equal(u->ring[0].id, 2);
	assert_int_equal(u->idx, 1);
}

static void test_push_rejects_head_out_of_range(void **state)
{
	struct fx *f = *state;

	f->vq.inuse = 1;
	assert_int_equal(vu_vq_push(&f->vq, &f->mem, QSZ, 0), -EIO);
	assert_int_equal(used(f)->idx, 0);
	assert_int_equal(f->vq.inuse, 1);
}

static void test_push_rejects_more_than_popped(void **state)
{
	struct fx *f = *state;

	assert_int_equal(vu_vq_push(&f->vq, &f->mem, 0, 0), -EIO);
	assert_int_equal(used(f)->idx, 0);
	assert_int_equal(f->vq.inuse, 0);
}

static void test_push_completes_chains_popped_before_breakage(void **state)
{
	struct fx *f = *state;

	set_desc(desc_tab(f), 0, BUF_GPA, 8, 0, 0);
	offer(f, 0);
	offer(f, QSZ);
	assert_int_equal(vu_vq_pop(&f->vq, &f->mem, &f->chain), 1);
	assert_int_equal(vu_vq_pop(&f->vq, &f->mem, &f->chain), -EIO);
	assert_int_equal(vu_vq_push(&f->vq, &f->mem, 0, 0), 0);
	assert_int_equal(used(f)->idx, 1);
	assert_true(vu_vq_should_notify(&f->vq, &f->mem));
}

static void test_notify_unless_no_interrupt(void **state)
{
	struct fx *f = *state;

	fake_in_use(f, 0);
	fake_in_use(f, 1);
	assert_int_equal(vu_vq_push(&f->vq, &f->mem, 0, 0), 0);
	assert_true(vu_vq_should_notify(&f->vq, &f->mem));
	avail(f)->flags = VRING_AVAIL_F_NO_INTERRUPT;
	assert_int_equal(vu_vq_push(&f->vq, &f->mem, 1, 0), 0);
	assert_false(vu_vq_should_notify(&f->vq, &f->mem));
	assert_int_equal(f->vq.n_notified, 1);
}

static void push_n(struct fx *f, unsigned n)
{
	for (unsigned i = 0; i < n; i++) {
		fake_in_use(f, 0);
		assert_int_equal(vu_vq_push(&f->vq, &f->mem, 0, 0), 0);
	}
}

static void test_event_idx_suppression(void **state)
{
	struct fx *f = *state;
	uint16_t *used_event = &avail(f)->ring[QSZ];

	f->vq.event_idx = true;
	avail(f)->flags = VRING_AVAIL_F_NO_INTERRUPT; /* ignored with EVENT_IDX */
	*used_event = 100;

	/* Nothing signalled yet: the first one always goes out. */
	push_n(f, 1);
	assert_true(vu_vq_should_notify(&f->vq, &f->mem));
	assert_true(f->vq.signalled_used_valid);
	assert_int_equal(f->vq.signalled_used, 1);

	/* Driver waits for entry 3: used 1 -> 3 does not reach it. */
	*used_event = 3;
	push_n(f, 2);
	assert_false(vu_vq_should_notify(&f->vq, &f->mem));
	/* 3 -> 4 crosses it. */
	push_n(f, 1);
	assert_true(vu_vq_should_notify(&f->vq, &f->mem));
	/* No new used entries: no interrupt, whatever used_event says. */
	*used_event = 4;
	assert_false(vu_vq_should_notify(&f->vq, &f->mem));
	/* Several at once, event inside the batch. */
	*used_event = 5;
	push_n(f, 3);
	assert_true(vu_vq_should_notify(&f->vq, &f->mem));
	assert_int_equal(f->vq.n_notified, 3);
}

static void test_event_idx_wraparound(void **state)
{
	struct fx *f = *state;
	uint16_t *used_event = &avail(f)->ring[QSZ];

	f->vq.event_idx = true;
	f->vq.used_idx = 0xfffe;
	f->vq.signalled_used = 0xfffe;
	f->vq.signalled_used_valid = true;

	*used_event = 0xffff;
	push_n(f, 1); /* 0xfffe -> 0xffff: event 0xffff not yet passed */
	assert_false(vu_vq_should_notify(&f->vq, &f->mem));
	push_n(f, 2); /* 0xffff -> 0x0001 crosses 0xffff */
	assert_true(vu_vq_should_notify(&f->vq, &f->mem));
	*used_event = 0xfff0; /* stale event from before the wrap */
	push_n(f, 1);
	assert_false(vu_vq_should_notify(&f->vq, &f->mem));
	*used_event = 0x0001;
	push_n(f, 1); /* 0x0002 -> 0x0003, event 1 is behind */
	assert_false(vu_vq_should_notify(&f->vq, &f->mem));
	*used_event = 0x0003;
	push_n(f, 1);
	assert_true(vu_vq_should_notify(&f->vq, &f->mem));
}

static void test_event_idx_forces_notify_after_long_silence(void **state)
{
	struct fx *f = *state;

	f->vq.event_idx = true;
	f->vq.signalled_used = 0;
	f->vq.signalled_used_valid = true;
	f->vq.used_idx = 0x8000; /* 2^15 behind: the wrapped test is no longer exact */
	avail(f)->ring[QSZ] = 0x7fff;
	push_n(f, 1);
	assert_false(f->vq.signalled_used_valid);
	assert_true(vu_vq_should_notify(&f->vq, &f->mem));
}

static void test_event_idx_pop_publishes_avail_event(void **state)
{
	struct fx *f = *state;
	uint16_t *avail_event = (uint16_t *)(void *)&used(f)->ring[QSZ];

	f->vq.event_idx = true;
	*avail_event = 0x1234;
	assert_int_equal(pop_one_desc(f, BUF_GPA, 8, 0), 1);
	assert_int_equal(*avail_event, 1);
	assert_int_equal(vu_vq_push(&f->vq, &f->mem, 0, 0), 0);
	offer(f, 0);
	offer(f, 0);
	assert_int_equal(vu_vq_pop(&f->vq, &f->mem, &f->chain), 1);
	assert_int_equal(*avail_event, 2);
	assert_int_equal(vu_vq_push(&f->vq, &f->mem, 0, 0), 0);
	assert_int_equal(vu_vq_pop(&f->vq, &f->mem, &f->chain), 1);
	assert_int_equal(*avail_event, 3);
}

static void test_event_idx_empty_ring_publishes_avail_event(void **state)
{
	struct fx *f = *state;
	uint16_t *avail_event = (uint16_t *)(void *)&used(f)->ring[QSZ];

	/* After SET_VRING_BASE the driver must be told where we are, or its
	 * next kick is suppressed for up to 2^16 entries. */
	f->vq.event_idx = true;
	f->vq.last_avail_idx = 500;
	avail(f)->idx = 500;
	*avail_event = 0;
	assert_int_equal(vu_vq_pop(&f->vq, &f->mem, &f->chain), 0);
	assert_int_equal(*avail_event, 500);
}

/* An idle polled ring publishes avail_event (store + full fence) once, not
 * on every poll; it publishes again when the value, the memory or the
 * unfenced store of a pop make the old publication stale. The driver's
 * scribble shows whether a poll stored. */
static void test_event_idx_idle_ring_publishes_once(void **state)
{
	struct fx *f = *state;
	uint16_t *avail_event = (uint16_t *)(void *)&used(f)->ring[QSZ];

	f->vq.event_idx = true;
	*avail_event = 0x1234;
	assert_int_equal(vu_vq_pop(&f->vq, &f->mem, &f->chain), 0);
	assert_int_equal(*avail_event, 0);
	*avail_event = 0x4321;
	assert_int_equal(vu_vq_pop(&f->vq, &f->mem, &f->chain), 0);
	assert_int_equal(vu_vq_pop(&f->vq, &f->mem, &f->chain), 0);
	assert_int_equal(*avail_event, 0x4321);
	/* A pop's plain store is not a publication: the next idle poll fences. */
	assert_int_equal(pop_one_desc(f, BUF_GPA, 8, 0), 1);
	assert_null(f->vq.avail_event_at);
	*avail_event = 0x4321;
	assert_int_equal(vu_vq_pop(&f->vq, &f->mem, &f->chain), 0);
	assert_int_equal(*avail_event, 1);
	assert_ptr_equal(f->vq.avail_event_at, avail_event);
	/* New memory: published again. */
	*avail_event = 0x4321;
	f->mem.generation++;
	assert_int_equal(vu_vq_pop(&f->vq, &f->mem, &f->chain), 0);
	assert_int_equal(*avail_event, 1);
	/* A new position (SET_VRING_BASE): published again. */
	f->vq.last_avail_idx = 700;
	avail(f)->idx = 700;
	assert_int_equal(vu_vq_pop(&f->vq, &f->mem, &f->chain), 0);
	assert_int_equal(*avail_event, 700);
	/* A reset forgets the publication. */
	vu_vq_reset(&f->vq);
	assert_null(f->vq.avail_event_at);
	/* An entry that arrives after the publication is still seen. */
	vq_configure(f, &f->vq, QSZ, false);
	f->vq.event_idx = true;
	f->vq.last_avail_idx = 700;
	assert_int_equal(vu_vq_pop(&f->vq, &f->mem, &f->chain), 0);
	set_desc(desc_tab(f), 0, BUF_GPA, 8, 0, 0);
	offer(f, 0);
	assert_int_equal(vu_vq_pop(&f->vq, &f->mem, &f->chain), 1);
	assert_int_equal(*avail_event, 701);
}

/* ---- inflight tracking -------------------------------------------------- */

static struct vu_inflight_queue *inflight_new(struct fx *f)
{
	f->infl = calloc(1, vu_inflight_queue_bytes(QSZ));
	assert_non_null(f->infl);
	f->infl->version = VU_INFLIGHT_VERSION;
	f->infl->desc_num = QSZ;
	return f->infl;
}

static void test_inflight_marks_on_pop_and_clears_on_push(void **state)
{
	struct fx *f = *state;
	struct vu_inflight_queue *q = inflight_new(f);

	f->vq.inflight = q;
	for (uint16_t i = 0; i < 3; i++)
		set_desc(desc_tab(f), i, BUF_GPA, 8, 0, 0);
	offer(f, 2);
	offer(f, 0);
	assert_int_equal(vu_vq_pop(&f->vq, &f->mem, &f->chain), 1);
	assert_int_equal(vu_vq_pop(&f->vq, &f->mem, &f->chain), 1);
	assert_int_equal(q->desc[2].inflight, 1);
	assert_int_equal(q->desc[2].counter, 1);
	assert_int_equal(q->desc[0].inflight, 1);
	assert_int_equal(q->desc[0].counter, 2);
	assert_int_equal(q->desc[1].inflight, 0);

	assert_int_equal(vu_vq_push(&f->vq, &f->mem, 0, 0), 0);
	assert_int_equal(q->desc[0].inflight, 0);
	assert_int_equal(q->last_batch_head, 0);
	assert_int_equal(q->used_idx, 1);
	assert_int_equal(vu_vq_push(&f->vq, &f->mem, 2, 0), 0);
	assert_int_equal(q->desc[2].inflight, 0);
	assert_int_equal(q->last_batch_head, 2);
	assert_int_equal(q->desc[2].next, 0);
	assert_int_equal(q->used_idx, 2);
}

/* A restarted back-end: fresh vq state, same guest memory and region, and
 * last_avail_idx put back to the used index as the front-end does. */
static void restart(struct fx *f, struct vu_inflight_queue *q)
{
	vq_configure(f, &f->vq, QSZ, false);
	f->vq.inflight = q;
	f->vq.last_avail_idx = used(f)->idx;
}

static void test_inflight_recover_out_of_order_completions(void **state)
{
	struct fx *f = *state;
	struct vu_inflight_queue *q = inflight_new(f);
	static const uint16_t order[5] = {4, 0, 3, 2, 1};
	uint16_t heads[QSZ];

	f->vq.inflight = q;
	for (uint16_t i = 0; i < 5; i++) {
		set_desc(desc_tab(f), i, BUF_GPA + i * 0x100u, 8, 0, 0);
		offer(f, order[i]);
		assert_int_equal(vu_vq_pop(&f->vq, &f->mem, &f->chain), 1);
	}
	assert_int_equal(vu_vq_push(&f->vq, &f->mem, 3, 0), 0);
	assert_int_equal(vu_vq_push(&f->vq, &f->mem, 1, 0), 0);

	restart(f, q);
	assert_int_equal(vu_vq_inflight_recover(&f->vq, &f->mem, heads, QSZ), 3);
	/* Counters were 4:1 0:2 3:3 2:4 1:5; 3 and 1 completed. */
	assert_int_equal(heads[0], 4);
	assert_int_equal(heads[1], 0);
	assert_int_equal(heads[2], 2);
	assert_int_equal(f->vq.inuse, 3);
	assert_int_equal(f->vq.used_idx, 2);
	assert_int_equal(f->vq.last_avail_idx, 5);
	assert_int_equal(f->vq.inflight_counter, 4);

	/* Resubmission walks the chains without touching indexes or counters. */
	assert_int_equal(vu_vq_chain_from_head(&f->vq, &f->mem, heads[0], &f->chain), 0);
	assert_int_equal(f->chain.head, 4);
	assert_ptr_equal(f->chain.iov[0].base, gptr(f, BUF_GPA + 0x400));
	assert_int_equal(f->vq.last_avail_idx, 5);
	assert_int_equal(f->vq.inflight_counter, 4);
	assert_int_equal(q->desc[4].counter, 1);

	/* New work continues the counter sequence; completions drain inuse. */
	set_desc(desc_tab(f), 7, BUF_GPA, 8, 0, 0);
	offer(f, 7);
	assert_int_equal(vu_vq_pop(&f->vq, &f->mem, &f->chain), 1);
	assert_int_equal(q->desc[7].counter, 5);
	for (int i = 0; i < 3; i++)
		assert_int_equal(vu_vq_push(&f->vq, &f->mem, heads[i], 0), 0);
	assert_int_equal(vu_vq_push(&f->vq, &f->mem, 7, 0), 0);
	assert_int_equal(f->vq.inuse, 0);
	assert_int_equal(used(f)->idx, 6);
}

static void test_inflight_recover_half_published_batch(void **state)
{
	struct fx *f = *state;
	struct vu_inflight_queue *q = inflight_new(f);
	struct vring_used *u = used(f);
	uint16_t heads[QSZ];

	f->vq.inflight = q;
	for (uint16_t i = 0; i < 3; i++) {
		set_desc(desc_tab(f), i, BUF_GPA, 8, 0, 0);
		offer(f, i);
		assert_int_equal(vu_vq_pop(&f->vq, &f->mem, &f->chain), 1);
	}
	assert_int_equal(vu_vq_push(&f->vq, &f->mem, 0, 0), 0);
	/* Crash inside the push of head 1: the driver saw it (used->idx moved),
	 * but desc[1].inflight and inflight->used_idx were not updated. */
	q->desc[1].next = q->last_batch_head;
	q->last_batch_head = 1;
	u->ring[1] = (struct vring_used_elem){.id = 1, .len = 0};
	u->idx = 2;
	assert_int_equal(q->desc[1].inflight, 1);
	assert_int_equal(q->used_idx, 1);

	restart(f, q);
	assert_int_equal(vu_vq_inflight_recover(&f->vq, &f->mem, heads, QSZ), 1);
	assert_int_equal(heads[0], 2);
	assert_int_equal(q->desc[1].inflight, 0);
	assert_int_equal(q->desc[0].inflight, 0);
	assert_int_equal(q->used_idx, 2);
	assert_int_equal(f->vq.used_idx, 2);
	assert_int_equal(f->vq.last_avail_idx, 3);
	assert_int_equal(f->vq.inuse, 1);
}

static void test_inflight_recover_unpublished_push_is_resubmitted(void **state)
{
	struct fx *f = *state;
	struct vu_inflight_queue *q = inflight_new(f);
	uint16_t heads[QSZ];

	f->vq.inflight = q;
	set_desc(desc_tab(f), 0, BUF_GPA, 8, 0, 0);
	offer(f, 0);
	assert_int_equal(vu_vq_pop(&f->vq, &f->mem, &f->chain), 1);
	/* Crash after last_batch_head was set, before used->idx moved. */
	q->last_batch_head = 0;

	restart(f, q);
	assert_int_equal(vu_vq_inflight_recover(&f->vq, &f->mem, heads, QSZ), 1);
	assert_int_equal(heads[0], 0);
	assert_int_equal(q->desc[0].inflight, 1);
	assert_int_equal(f->vq.last_avail_idx, 1);
}

static void test_inflight_recover_too_many_for_buffer(void **state)
{
	struct fx *f = *state;
	struct vu_inflight_queue *q = inflight_new(f);
	uint16_t heads[2];

	for (uint16_t i = 0; i < 3; i++) {
		q->desc[i].inflight = 1;
		q->desc[i].counter = i + 1u;
	}
	restart(f, q);
	assert_int_equal(vu_vq_inflight_recover(&f->vq, &f->mem, heads, 2), -ENOBUFS);
	assert_int_equal(f->vq.inuse, 0);
}

static void test_inflight_recover_ignores_garbage_batch_head(void **state)
{
	struct fx *f = *state;
	struct vu_inflight_queue *q = inflight_new(f);
	uint16_t heads[QSZ];

	q->desc[3].inflight = 1;
	q->desc[3].counter = 9;
	q->last_batch_head = 0xffff;
	q->used_idx = 0;
	used(f)->idx = 40000; /* absurd batch size */
	restart(f, q);
	assert_int_equal(vu_vq_inflight_recover(&f->vq, &f->mem, heads, QSZ), 1);
	assert_int_equal(heads[0], 3);
	assert_int_equal(q->used_idx, 40000);
	assert_int_equal(f->vq.inflight_counter, 9);
}

static void test_inflight_recover_fresh_region(void **state)
{
	struct fx *f = *state;
	struct vu_inflight_queue *q = inflight_new(f);
	uint16_t heads[QSZ];

	q->version = 0;
	q->desc_num = 0;
	used(f)->idx = 77;
	restart(f, q);
	f->vq.last_avail_idx = 80;
	assert_int_equal(vu_vq_inflight_recover(&f->vq, &f->mem, heads, QSZ), 0);
	assert_int_equal(q->version, VU_INFLIGHT_VERSION);
	assert_int_equal(q->desc_num, QSZ);
	assert_int_equal(q->used_idx, 77);
	assert_int_equal(f->vq.last_avail_idx, 80);
}

static void test_inflight_recover_rejects_unknown_version(void **state)
{
	struct fx *f = *state;
	struct vu_inflight_queue *q = inflight_new(f);
	uint16_t heads[QSZ];

	q->version = 2;
	restart(f, q);
	assert_int_equal(vu_vq_inflight_recover(&f->vq, &f->mem, heads, QSZ), -EINVAL);
}

static void test_inflight_recover_without_region_is_noop(void **state)
{
	struct fx *f = *state;
	uint16_t heads[1];

	assert_int_equal(vu_vq_inflight_recover(&f->vq, &f->mem, heads, 1), 0);
}

static void test_inflight_recover_sorts_full_queue(void **state)
{
	struct fx *f = *state;
	struct vu_inflight_queue *q = inflight_new(f);
	uint16_t heads[QSZ];

	/* Counters 1000 + (7i mod 16): every head inflight, order shuffled. */
	for (uint16_t i = 0; i < QSZ; i++) {
		q->desc[i].inflight = 1;
		q->desc[i].counter = 1000u + (7u * i) % QSZ;
	}
	restart(f, q);
	assert_int_equal(vu_vq_inflight_recover(&f->vq, &f->mem, heads, QSZ), QSZ);
	for (uint16_t k = 0; k < QSZ; k++)
		assert_int_equal(q->desc[heads[k]].counter, 1000u + k);
	assert_int_equal(f->vq.inflight_counter, 1000u + QSZ - 1);
	assert_int_equal(f->vq.inuse, QSZ);
	assert_int_equal(f->vq.last_avail_idx, QSZ);
}

static void test_inflight_recover_needs_configured_mapped_ring(void **state)
{
	struct fx *f = *state;
	struct vu_inflight_queue *q = inflight_new(f);
	uint16_t heads[QSZ];

	restart(f, q);
	f->vq.addr_set = false;
	assert_int_equal(vu_vq_inflight_recover(&f->vq, &f->mem, heads, QSZ), -EINVAL);
	f->vq.addr_set = true;
	assert_int_equal(vu_mem_remove(&f->mem, &f->reg[0]), 0);
	assert_int_equal(vu_vq_inflight_recover(&f->vq, &f->mem, heads, QSZ), -EIO);
	assert_true(f->vq.broken);
}

static void test_chain_from_head_needs_configured_mapped_ring(void **state)
{
	struct fx *f = *state;

	set_desc(desc_tab(f), 0, BUF_GPA, 8, 0, 0);
	f->vq.size = 0;
	assert_int_equal(vu_vq_chain_from_head(&f->vq, &f->mem, 0, &f->chain), -EINVAL);
	f->vq.size = QSZ;
	assert_int_equal(vu_vq_chain_from_head(&f->vq, &f->mem, 0, &f->chain), 0);
	assert_int_equal(f->vq.last_avail_idx, 0);
	assert_int_equal(f->vq.inuse, 0);
	assert_int_equal(vu_mem_remove(&f->mem, &f->reg[0]), 0);
	assert_int_equal(vu_vq_chain_from_head(&f->vq, &f->mem, 0, &f->chain), -EIO);
	assert_null(f->vq.desc);
}

static void test_chain_from_head_rejects_bad_head(void **state)
{
	struct fx *f = *state;

	assert_int_equal(vu_vq_chain_from_head(&f->vq, &f->mem, QSZ, &f->chain), -EIO);
	assert_true(f->vq.broken);
}

int main(void)
{
#define T(fn) cmocka_unit_test_setup_teardown(fn, setup, teardown)
	const struct CMUnitTest tests[] = {
		T(test_size_valid),
		T(test_init_and_reset_keep_index_and_fds),
		T(test_pop_empty_ring_returns_0),
		T(test_pop_not_started_returns_0),
		T(test_pop_direct_single_descriptor),
		T(test_pop_mixed_out_in_chain),
		T(test_pop_several_chains_in_order),
		T(test_pop_indirect_chain),
		T(test_pop_direct_then_indirect_tail),
		T(test_pop_chain_crossing_adjacent_regions_gives_two_iovs),
		T(test_pop_zero_length_descriptor_gives_no_iov),
		T(test_pop_with_gpa_ring_addresses),
		T(test_pop_accepts_exactly_max_iovs),
		T(test_reject_readable_after_writable),
		T(test_reject_loop_and_stay_broken),
		T(test_reject_chain_longer_than_queue_size),
		T(test_reject_head_out_of_range),
		T(test_reject_next_out_of_range),
		T(test_reject_avail_idx_jump_beyond_size),
		T(test_accept_avail_idx_exactly_size_ahead),
		T(test_reject_nested_indirect),
		T(test_reject_indirect_len_zero),
		T(test_reject_indirect_len_not_multiple_of_16),
		T(test_accept_indirect_table_of_max_size),
		T(test_reject_indirect_table_too_large),
		T(test_reject_indirect_table_unmapped),
		T(test_reject_indirect_table_across_regions),
		T(test_reject_indirect_with_next),
		T(test_reject_indirect_next_outside_table),
		T(test_reject_indirect_loop),
		T(test_reject_buffer_unmapped),
		T(test_reject_buffer_running_past_memory),
		T(test_reject_buffer_wrapping_address_space),
		T(test_reject_too_many_iovs),
		T(test_map_rejects_ring_partly_outside_memory),
		T(test_map_requires_avail_ring_event_word),
		T(test_map_requires_used_ring_event_word),
		T(test_map_requires_whole_descriptor_table),
		T(test_map_is_cached_until_generation_changes),
		T(test_map_rejects_misaligned_ring),
		T(test_map_rejects_unconfigured_ring),
		T(test_remap_after_generation_change),
		T(test_region_under_ring_removed_pop_fails_cleanly),
		T(test_region_under_buffer_removed_after_pop_fails),
		T(test_push_writes_used_ring),
		T(test_push_wraps_used_index),
		T(test_push_rejects_head_out_of_range),
		T(test_push_rejects_more_than_popped),
		T(test_push_completes_chains_popped_before_breakage),
		T(test_notify_unless_no_interrupt),
		T(test_event_idx_suppression),
		T(test_event_idx_wraparound),
		T(test_event_idx_forces_notify_after_long_silence),
		T(test_event_idx_pop_publishes_avail_event),
		T(test_event_idx_empty_ring_publishes_avail_event),
		T(test_event_idx_idle_ring_publishes_once),
		T(test_inflight_marks_on_pop_and_clears_on_push),
		T(test_inflight_recover_out_of_order_completions),
		T(test_inflight_recover_half_published_batch),
		T(test_inflight_recover_unpublished_push_is_resubmitted),
		T(test_inflight_recover_too_many_for_buffer),
		T(test_inflight_recover_ignores_garbage_batch_head),
		T(test_inflight_recover_fresh_region),
		T(test_inflight_recover_rejects_unknown_version),
		T(test_inflight_recover_without_region_is_noop),
		T(test_inflight_recover_sorts_full_queue),
		T(test_inflight_recover_needs_configured_mapped_ring),
		T(test_chain_from_head_needs_configured_mapped_ring),
		T(test_chain_from_head_rejects_bad_head),
	};
#undef T
	return cmocka_run_group_tests(tests, NULL, NULL);
}
