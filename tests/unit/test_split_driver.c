/* The split virtqueue, driver side: layout, free list, kick decision,
 * notification suppression, and refusal of a device that publishes garbage
 * in the used ring. The "device" here is the test writing the used ring. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "virtio/split_driver.h"

#define QSZ 16u

static _Alignas(16) uint8_t mem[8192];
static void *cookies[QSZ];
static uint16_t chain_len[QSZ];
static uint32_t max_write[QSZ];
static uint16_t links[QSZ];
static struct virtq_drv q;
static int tok[64];

static int setup_plain(void **state)
{
	(void)state;
	memset(mem, 0xaa, sizeof(mem));
	assert_int_equal(
		virtq_drv_init(&q, QSZ, mem, 0x10000, cookies, chain_len, max_write, false), 0);
	return 0;
}

static int setup_event(void **state)
{
	(void)state;
	memset(mem, 0xaa, sizeof(mem));
	assert_int_equal(virtq_drv_init(&q, QSZ, mem, 0x10000, cookies, chain_len, max_write, true),
			 0);
	return 0;
}

/* The device publishes one used element. */
static void dev_used(uint32_t id, uint32_t len)
{
	uint16_t idx = q.used->idx;
	q.used->ring[idx % QSZ].id = id;
	q.used->ring[idx % QSZ].len = len;
	q.used->idx = (uint16_t)(idx + 1u);
}

static int add_one(uint32_t rlen, uint32_t wlen, void *cookie)
{
	struct virtq_buf b[2] = {{0x1000, rlen, false}, {0x2000, wlen, true}};
	return virtq_drv_add(&q, b, 2, cookie);
}

static void layout_matches_spec_alignment(void **state)
{
	(void)state;
	/* 16*256 desc, avail 4+512+2 = 518 -> used at 4096+520, 4+2048+2 */
	assert_int_equal(virtq_drv_avail_offset(256), 4096);
	assert_int_equal(virtq_drv_used_offset(256), 4096 + 520);
	assert_int_equal(virtq_drv_mem_bytes(256), 4096 + 520 + 2054);
	assert_int_equal(virtq_drv_used_offset(1) % 4, 0);
	assert_ptr_equal(q.desc, (void *)mem);
	assert_ptr_equal(q.avail, (void *)(mem + virtq_drv_avail_offset(QSZ)));
	assert_ptr_equal(q.used, (void *)(mem + virtq_drv_used_offset(QSZ)));
	assert_true(q.used_addr == 0x10000 + virtq_drv_used_offset(QSZ));
	assert_true(q.avail_addr == 0x10000 + virtq_drv_avail_offset(QSZ));
	/* Zeroed over exactly its size, not beyond. */
	assert_int_equal(q.avail->idx, 0);
	assert_int_equal(q.used->idx, 0);
	assert_int_equal(mem[virtq_drv_mem_bytes(QSZ)], 0xaa);
	assert_int_equal(q.num_free, QSZ);
}

static void init_refuses_bad_arguments(void **state)
{
	struct virtq_drv x;
	(void)state;
	assert_int_equal(virtq_drv_init(&x, 0, mem, 0, cookies, chain_len, max_write, false),
			 -EINVAL);
	assert_int_equal(virtq_drv_init(&x, 6, mem, 0, cookies, chain_len, max_write, false),
			 -EINVAL);
	assert_int_equal(virtq_drv_init(&x, 65535, mem, 0, cookies, chain_len, max_write, false),
			 -EINVAL);
	assert_int_equal(virtq_drv_init(&x, 8, mem + 8, 0, cookies, chain_len, max_write, false),
			 -EINVAL);
	assert_int_equal(virtq_drv_init(&x, 8, NULL, 0, cookies, chain_len, max_write, false),
			 -EINVAL);
	assert_int_equal(virtq_drv_init(&x, 8, mem, 0, NULL, chain_len, max_write, false), -EINVAL);
	assert_int_equal(virtq_drv_init(&x, 8, mem, 0, cookies, NULL, max_write, false), -EINVAL);
	assert_int_equal(virtq_drv_init(&x, 8, mem, 0, cookies, chain_len, NULL, false), -EINVAL);
}

static void add_writes_chain_and_publishes(void **state)
{
	struct virtq_buf b[3] = {{0x1000, 16, false}, {0x2000, 512, true}, {0x3000, 1, true}};
	int head;
	(void)state;
	head = virtq_drv_add(&q, b, 3, &tok[0]);
	assert_true(head >= 0 && head < (int)QSZ);
	assert_int_equal(q.avail->idx, 1);
	assert_int_equal(q.avail->ring[0], head);
	{
		uint16_t i = (uint16_t)head;
		for (unsigned k = 0; k < 3; k++) {
			struct vring_desc *d = &q.desc[i];
			assert_true(d->addr == b[k].addr);
			assert_int_equal(d->len, b[k].len);
			assert_int_equal(!!(d->flags & VRING_DESC_F_WRITE), b[k].device_writable);
			assert_int_equal(!!(d->flags & VRING_DESC_F_NEXT), k < 2);
			i = d->next;
		}
	}
	assert_int_equal(q.num_free, QSZ - 3);
	assert_int_equal(virtq_drv_in_flight(&q), 1);
	assert_int_equal(max_write[head], 513);
}

static void add_refuses_bad_chains(void **state)
{
	struct virtq_buf wr_then_rd[2] = {{0x1000, 16, true}, {0x2000, 16, false}};
	struct virtq_buf huge[2] = {{0x1000, UINT32_MAX, true}, {0x2000, 2, true}};
	struct virtq_buf many[QSZ + 1];
	(void)state;
	memset(many, 0, sizeof(many));
	assert_int_equal(virtq_drv_add(&q, wr_then_rd, 2, &tok[0]), -EINVAL);
	assert_int_equal(virtq_drv_add(&q, huge, 2, &tok[0]), -EINVAL);
	assert_int_equal(virtq_drv_add(&q, wr_then_rd, 0, &tok[0]), -EINVAL);
	assert_int_equal(virtq_drv_add(&q, wr_then_rd, 1, NULL), -EINVAL);
	assert_int_equal(virtq_drv_add(&q, many, QSZ + 1, &tok[0]), -EINVAL);
	/* Nothing leaked into the ring. */
	assert_int_equal(q.avail->idx, 0);
	assert_int_equal(q.num_free, QSZ);
}

static void add_reports_enospc_when_full(void **state)
{
	(void)state;
	for (int i = 0; i < (int)QSZ / 2; i++)
		assert_true(add_one(16, 512, &tok[i]) >= 0);
	assert_int_equal(add_one(16, 512, &tok[10]), -ENOSPC);
	assert_int_equal(virtq_drv_in_flight(&q), QSZ / 2);
}

static void used_returns_cookie_and_frees_chain(void **state)
{
	void *c = NULL;
	uint32_t len = 0;
	int h;
	(void)state;
	assert_int_equal(virtq_drv_get_used(&q, &c, &len), 0);
	h = add_one(16, 512, &tok[3]);
	assert_true(h >= 0);
	dev_used((uint32_t)h, 200);
	assert_int_equal(virtq_drv_get_used(&q, &c, &len), 1);
	assert_ptr_equal(c, &tok[3]);
	assert_int_equal(len, 200);
	assert_int_equal(q.num_free, QSZ);
	assert_int_equal(virtq_drv_in_flight(&q), 0);
	assert_int_equal(virtq_drv_get_used(&q, &c, &len), 0);
}

/* Completions in any order; every descriptor comes back and the ring wraps
 * its 16-bit indexes many times. */
static void out_of_order_completion_recycles_all(void **state)
{
	int heads[QSZ / 2];
	void *c;
	uint32_t len;
	(void)state;
	for (int round = 0; round < 20000; round++) {
		for (int i = 0; i < (int)QSZ / 2; i++) {
			heads[i] = add_one(16, 512, &tok[i]);
			assert_true(heads[i] >= 0);
		}
		for (int i = (int)QSZ / 2 - 1; i >= 0; i--)
			dev_used((uint32_t)heads[i], 512);
		for (int i = (int)QSZ / 2 - 1; i >= 0; i--) {
			assert_int_equal(virtq_drv_get_used(&q, &c, &len), 1);
			assert_ptr_equal(c, &tok[i]);
		}
		assert_int_equal(q.num_free, QSZ);
	}
	assert_int_equal(q.avail_idx, (uint16_t)(20000u * QSZ / 2));
}

static void garbage_id_out_of_range_is_eio(void **state)
{
	void *c;
	uint32_t len;
	(void)state;
	assert_true(add_one(16, 512, &tok[0]) >= 0);
	dev_used(QSZ, 0);
	assert_int_equal(virtq_drv_get_used(&q, &c, &len), -EIO);
	/* A broken queue stays broken until reinitialised. */
	assert_int_equal(virtq_drv_get_used(&q, &c, &len), -EIO);
	assert_int_equal(add_one(16, 512, &tok[1]), -EIO);
}

static void garbage_id_not_in_flight_is_eio(void **state)
{
	void *c;
	uint32_t len;
	int h;
	(void)state;
	h = add_one(16, 512, &tok[0]);
	assert_true(h >= 0);
	dev_used((uint32_t)(h + 1) % QSZ, 0);
	assert_int_equal(virtq_drv_get_used(&q, &c, &len), -EIO);
}

static void garbage_id_inside_chain_is_eio(void **state)
{
	void *c;
	uint32_t len;
	int h;
	(void)state;
	h = add_one(16, 512, &tok[0]);
	assert_true(h >= 0);
	/* The chain's second descriptor is not a head. */
	dev_used(q.desc[h].next, 0);
	assert_int_equal(virtq_drv_get_used(&q, &c, &len), -EIO);
}

static void garbage_id_completed_twice_is_eio(void **state)
{
	void *c;
	uint32_t len;
	int h;
	(void)state;
	h = add_one(16, 512, &tok[0]);
	assert_true(add_one(16, 512, &tok[1]) >= 0);
	dev_used((uint32_t)h, 1);
	dev_used((uint32_t)h, 1);
	assert_int_equal(virtq_drv_get_used(&q, &c, &len), 1);
	assert_int_equal(virtq_drv_get_used(&q, &c, &len), -EIO);
}

static void garbage_len_too_big_is_eio(void **state)
{
	void *c = NULL;
	uint32_t len;
	int h;
	(void)state;
	h = add_one(16, 512, &tok[0]);
	dev_used((uint32_t)h, 513);
	assert_int_equal(virtq_drv_get_used(&q, &c, &len), -EIO);
	assert_null(c);
}

static void garbage_len_on_readonly_chain_is_eio(void **state)
{
	struct virtq_buf b = {0x1000, 64, false};
	void *c;
	uint32_t len;
	int h;
	(void)state;
	h = virtq_drv_add(&q, &b, 1, &tok[0]);
	dev_used((uint32_t)h, 1);
	assert_int_equal(virtq_drv_get_used(&q, &c, &len), -EIO);
}

static void garbage_used_idx_jump_is_eio(void **state)
{
	void *c;
	uint32_t len;
	int h;
	(void)state;
	h = add_one(16, 512, &tok[0]);
	dev_used((uint32_t)h, 0);
	q.used->idx = (uint16_t)(q.used->idx + 5u); /* 6 "used", 1 in flight */
	assert_int_equal(virtq_drv_get_used(&q, &c, &len), -EIO);
}

/* With a private link array, a device rewriting descriptor `next` fields
 * cannot corrupt the free list. */
static void private_links_ignore_device_rewrites(void **state)
{
	int h[QSZ / 2];
	void *c;
	uint32_t len;
	(void)state;
	assert_int_equal(virtq_drv_set_links(&q, links), 0);
	for (int i = 0; i < (int)QSZ / 2; i++)
		h[i] = add_one(16, 512, &tok[i]);
	for (unsigned i = 0; i < QSZ; i++)
		q.desc[i].next = 0;
	for (int i = 0; i < (int)QSZ / 2; i++)
		dev_used((uint32_t)h[i], 0);
	for (int i = 0; i < (int)QSZ / 2; i++)
		assert_int_equal(virtq_drv_get_used(&q, &c, &len), 1);
	/* All 8 descriptors distinct again: fill the ring with singles. */
	{
		bool seen[QSZ] = {false};
		struct virtq_buf b = {0x1000, 8, true};
		for (unsigned i = 0; i < QSZ; i++) {
			int x = virtq_drv_add(&q, &b, 1, &tok[i]);
			assert_true(x >= 0 && x < (int)QSZ);
			assert_false(seen[x]);
			seen[x] = true;
		}
	}
	assert_int_equal(virtq_drv_set_links(&q, links), -EINVAL); /* not while in flight */
}

/* Without private links, a rewritten `next` stays inside the table. */
static void shared_links_stay_in_bounds(void **state)
{
	int h;
	void *c;
	uint32_t len;
	(void)state;
	h = add_one(16, 512, &tok[0]);
	q.desc[h].next = 0xffff;
	dev_used((uint32_t)h, 0);
	assert_int_equal(virtq_drv_get_used(&q, &c, &len), 1);
	for (unsigned i = 0; i < 64; i++) {
		struct virtq_buf b = {0x1000, 8, true};
		int x = virtq_drv_add(&q, &b, 1, &tok[0]);
		if (x == -ENOSPC)
			break;
		assert_true(x >= 0 && x < (int)QSZ);
	}
}

static void kick_follows_no_notify_flag(void **state)
{
	(void)state;
	assert_false(virtq_drv_kick_needed(&q)); /* nothing added */
	add_one(16, 512, &tok[0]);
	assert_true(virtq_drv_kick_needed(&q));
	assert_false(virtq_drv_kick_needed(&q)); /* already decided */
	q.used->flags = VRING_USED_F_NO_NOTIFY;
	add_one(16, 512, &tok[1]);
	assert_false(virtq_drv_kick_needed(&q));
}

static void kick_follows_avail_event(void **state)
{
	uint16_t *avail_event = (uint16_t *)(void *)&q.used->ring[QSZ];
	(void)state;
	*avail_event = 0;
	add_one(16, 512, &tok[0]); /* idx 0 -> 1 crosses event 0 */
	assert_true(virtq_drv_kick_needed(&q));
	*avail_event = 5;
	add_one(16, 512, &tok[1]); /* 1 -> 2: event 5 not crossed */
	assert_false(virtq_drv_kick_needed(&q));
	*avail_event = 2;
	add_one(16, 512, &tok[2]); /* 2 -> 3 crosses 2 */
	add_one(16, 512, &tok[3]); /* ... and 3 -> 4 in the same decision */
	assert_true(virtq_drv_kick_needed(&q));
	/* Flags are ignored with EVENT_IDX. */
	q.used->flags = VRING_USED_F_NO_NOTIFY;
	*avail_event = 4;
	add_one(16, 512, &tok[4]); /* 4 -> 5 crosses 4 */
	assert_true(virtq_drv_kick_needed(&q));
}

static void notify_flags_without_event_idx(void **state)
{
	(void)state;
	virtq_drv_disable_notify(&q);
	assert_int_equal(q.avail->flags, VRING_AVAIL_F_NO_INTERRUPT);
	assert_false(virtq_drv_enable_notify(&q));
	assert_int_equal(q.avail->flags, 0);
	{
		int h = add_one(16, 512, &tok[0]);
		virtq_drv_disable_notify(&q);
		dev_used((uint32_t)h, 0);
		/* Used arrived while suppressed: enabling says re-check. */
		assert_true(virtq_drv_enable_notify(&q));
	}
}

static void notify_event_index(void **state)
{
	uint16_t *used_event = &q.avail->ring[QSZ];
	void *c;
	uint32_t len;
	int h;
	(void)state;
	h = add_one(16, 512, &tok[0]);
	dev_used((uint32_t)h, 0);
	assert_int_equal(virtq_drv_get_used(&q, &c, &len), 1);
	assert_int_equal(*used_event, 1); /* interrupt on the next one */
	virtq_drv_disable_notify(&q);
	assert_int_equal(q.avail->flags, 0); /* must stay 0 with EVENT_IDX */
	assert_int_equal(*used_event, 0);
	h = add_one(16, 512, &tok[0]);
	dev_used((uint32_t)h, 0);
	assert_int_equal(virtq_drv_get_used(&q, &c, &len), 1);
	assert_int_equal(*used_event, 0); /* suppressed: left behind */
	assert_false(virtq_drv_enable_notify(&q));
	assert_int_equal(*used_event, 2);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup(layout_matches_spec_alignment, setup_plain),
		cmocka_unit_test_setup(init_refuses_bad_arguments, setup_plain),
		cmocka_unit_test_setup(add_writes_chain_and_publishes, setup_plain),
		cmocka_unit_test_setup(add_refuses_bad_chains, setup_plain),
		cmocka_unit_test_setup(add_reports_enospc_when_full, setup_plain),
		cmocka_unit_test_setup(used_returns_cookie_and_frees_chain, setup_plain),
		cmocka_unit_test_setup(out_of_order_completion_recycles_all, setup_plain),
		cmocka_unit_test_setup(garbage_id_out_of_range_is_eio, setup_plain),
		cmocka_unit_test_setup(garbage_id_not_in_flight_is_eio, setup_plain),
		cmocka_unit_test_setup(garbage_id_inside_chain_is_eio, setup_plain),
		cmocka_unit_test_setup(garbage_id_completed_twice_is_eio, setup_plain),
		cmocka_unit_test_setup(garbage_len_too_big_is_eio, setup_plain),
		cmocka_unit_test_setup(garbage_len_on_readonly_chain_is_eio, setup_plain),
		cmocka_unit_test_setup(garbage_used_idx_jump_is_eio, setup_plain),
		cmocka_unit_test_setup(private_links_ignore_device_rewrites, setup_plain),
		cmocka_unit_test_setup(shared_links_stay_in_bounds, setup_plain),
		cmocka_unit_test_setup(kick_follows_no_notify_flag, setup_plain),
		cmocka_unit_test_setup(kick_follows_avail_event, setup_event),
		cmocka_unit_test_setup(notify_flags_without_event_idx, setup_plain),
		cmocka_unit_test_setup(notify_event_index, setup_event),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
