/* test_backend_nofd.c - a vu_backend session on the fd-less transport.
 *
 * The fake platform runs without fds (has_fds 0), as the service VM's vsock
 * transport will: client memory is reached through windows (host buffers
 * numbered from 0; mmap_offset = window << 40 | offset), rings are NOFD and
 * polled or kicked in-band, calls go out as BACKEND_VRING_CALL on a backend
 * channel that the back-end connects itself (SET_BACKEND_REQ_FD carries a
 * vsock port). docs/vsock-transport.md is the spec; each rejection it names
 * has a test here, and teardown proves a disconnect unmaps everything.
 *
 * The device echoes each chain's readable bytes into its writable part.
 * Window 0 holds ring 0 and its buffers (gpa MEM_GPA, front-end address
 * MEM_UADDR); window 1 is spare memory for region tests.
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
#include "helpers/msg_build.h"
#include "helpers/test_ring.h"
#include "vu/backend.h"
#include "vu/iov.h"
#include "vu/msg.h"

#define NQ 2u
#define QSZ 64u

#define MEM_GPA 0x100000ull
#define MEM_SIZE 0x40000ull
#define MEM_UADDR 0x7f1200000000ull
#define DATA_OFF 0x10000ull
#define DATA_LEN 0x20000ull

#define WIN1_SIZE 0x100000ull
#define SPARE_GPA 0x10000000ull
#define SPARE_UADDR 0x7f3400000000ull
#define PAGE 0x1000ull
#define PORT 5100u

#define WOFF(win, off) (((uint64_t)(win) << VU_WINDOW_SHIFT) | (off))

#define F_DEFAULT (VU_BIT(VU_F_VERSION_1) | VU_BIT(VU_F_PROTOCOL_FEATURES))
#define PF_ALL_NOFD                                                                                \
	(VU_BIT(VU_PF_MQ) | VU_BIT(VU_PF_REPLY_ACK) | VU_BIT(VU_PF_BACKEND_REQ) |                  \
	 VU_BIT(VU_PF_CONFIG) | VU_BIT(VU_PF_RESET_DEVICE) | VU_BIT(VU_PF_CONFIGURE_MEM_SLOTS) |   \
	 VU_BIT(VU_PF_STATUS) | VU_BIT(VU_PF_INBAND_NOTIFICATIONS) | VU_BIT(VU_PF_WINDOW_ADDR))

/* ---- the echo device ---------------------------------------------------- */

struct tdev {
	struct vu_device desc;
	bool fail;
	uint32_t nhandled;
};

static int td_get_config(void *dev, uint8_t *buf, uint32_t offset, uint32_t len)
{
	(void)dev;
	if (offset > VU_CONFIG_MAX || len > VU_CONFIG_MAX - offset)
		return -EINVAL;
	memset(buf, 0x5a, len);
	return 0;
}

static int td_serve(void *dev, struct vu_backend *b, struct vu_req *req)
{
	struct tdev *t = dev;
	const struct vu_chain *c = req->chain;
	uint8_t buf[64];
	uint64_t n = c->out_len < c->in_len ? c->out_len : c->in_len;

	t->nhandled++;
	if (t->fail)
		return -EINVAL;
	if (n > sizeof(buf))
		n = sizeof(buf);
	assert_int_equal(vu_iov_to_buf(c->iov, c->n_out, 0, buf, (size_t)n), n);
	assert_int_equal(vu_iov_from_buf(c->iov + c->n_out, c->n_in, 0, buf, (size_t)n), n);
	(void)b;
	req->written = (uint32_t)n;
	return VU_DONE;
}

static const struct vu_device_ops td_ops = {
	.get_config = td_get_config,
	.serve = td_serve,
};

/* ---- fixture ------------------------------------------------------------ */

struct fx {
	struct fake_platform fp;
	struct vu_backend b;
	struct tdev dev;
	struct vu_msg m;
	struct test_ring ring;
	uint8_t *mem;
};

static int setup(void **state)
{
	struct fx *f = calloc(1, sizeof(*f));

	if (!f)
		return -1;
	fake_platform_init(&f->fp, 0);
	f->dev.desc = (struct vu_device){
		.ops = &td_ops,
		.name = "echo",
		.virtio_id = 0x7e57,
		.num_queues = NQ,
		.max_queue_size = 256,
		.has_config = true,
		.multiqueue = true,
	};
	vu_backend_init(&f->b, &f->fp.plat, &f->dev.desc, &f->dev, NULL);
	assert_int_equal(fake_window_new(&f->fp, MEM_SIZE), 0);
	assert_int_equal(fake_window_new(&f->fp, WIN1_SIZE), 1);
	f->mem = fake_window_ptr(&f->fp, 0, 0);
	test_ring_init(&f->ring, f->mem, MEM_GPA, MEM_UADDR, MEM_SIZE, 0, DATA_OFF, DATA_LEN, QSZ);
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fx *f = *state;

	vu_backend_disconnect(&f->b);
	/* Whatever a test did, a disconnect releases every mapping and the
	 * backend channel it opened. */
	assert_int_equal(f->fp.maps, f->fp.unmaps);
	assert_int_equal(fake_open_files(&f->fp), 0);
	assert_int_equal(f->b.backend_chan, -1);
	fake_platform_fini(&f->fp);
	free(f);
	return 0;
}

static struct vu_msg *mk(struct fx *f, uint32_t request, uint32_t size)
{
	msg_build(&f->m, request, size);
	return &f->m;
}

static int handle(struct fx *f)
{
	return vu_backend_handle(&f->b, &f->m);
}

static int handle_need_reply(struct fx *f)
{
	f->m.hdr.flags |= VU_FLAG_NEED_REPLY;
	return handle(f);
}

static int send_empty(struct fx *f, uint32_t request)
{
	mk(f, request, 0);
	return handle(f);
}

static int send_u64(struct fx *f, uint32_t request, uint64_t v)
{
	mk(f, request, 8)->p.u64 = v;
	return handle(f);
}

static int send_state(struct fx *f, uint32_t request, uint32_t index, uint32_t num)
{
	struct vu_msg *m = mk(f, request, 8);

	m->p.state.index = index;
	m->p.state.num = num;
	return handle(f);
}

static struct vu_msg *mk_region(struct fx *f, uint32_t request, uint64_t gpa, uint64_t size,
				uint64_t uaddr, uint64_t off)
{
	struct vu_msg *m = mk(f, request, sizeof(struct vu_mem_single_msg));

	m->p.mem_single.region = (struct vu_mem_region){
		.gpa = gpa, .size = size, .uaddr = uaddr, .mmap_offset = off};
	return m;
}

/* ADD/REM with NEED_REPLY; returns the REPLY_ACK value (0 = accepted). The
 * connection must stay up either way. */
static uint64_t region_acked(struct fx *f, uint32_t request, uint64_t gpa, uint64_t size,
			     uint64_t uaddr, uint64_t off)
{
	int n = 0;

	f->fp.nsent = 0; /* the fake records the first FAKE_MAX_SENT only */
	mk_region(f, request, gpa, size, uaddr, off);
	assert_int_equal(handle_need_reply(f), 0);
	assert_int_equal(f->fp.nsent, n + 1);
	assert_int_equal(f->fp.sent[n].hdr.request, request);
	assert_int_equal(f->fp.sent[n].hdr.flags, VU_REPLY_FLAGS);
	assert_int_equal(f->fp.sent[n].hdr.size, 8);
	return f->fp.sent[n].p.u64;
}

static uint64_t add_acked(struct fx *f, uint64_t gpa, uint64_t size, uint64_t uaddr, uint64_t off)
{
	return region_acked(f, VU_REQ_ADD_MEM_REG, gpa, size, uaddr, off);
}

static void negotiate(struct fx *f, uint64_t features, uint64_t pf)
{
	assert_int_equal(send_empty(f, VU_REQ_GET_FEATURES), 0);
	assert_int_equal(send_empty(f, VU_REQ_GET_PROTOCOL_FEATURES), 0);
	assert_int_equal(send_u64(f, VU_REQ_SET_PROTOCOL_FEATURES, pf), 0);
	assert_int_equal(send_empty(f, VU_REQ_SET_OWNER), 0);
	assert_int_equal(send_u64(f, VU_REQ_SET_FEATURES, features), 0);
	f->fp.nsent = 0;
}

static void negotiate_all(struct fx *f)
{
	negotiate(f, F_DEFAULT, PF_ALL_NOFD);
}

/* Window 0 as the guest memory the ring lives in. */
static void add_ring_memory(struct fx *f)
{
	assert_int_equal(add_acked(f, MEM_GPA, MEM_SIZE, MEM_UADDR, WOFF(0, 0)), 0);
}

static int send_ring_u64(struct fx *f, uint32_t request, uint64_t v)
{
	return send_u64(f, request, v);
}

static void ring_up(struct fx *f, uint32_t q)
{
	struct vu_vring_addr a;

	assert_int_equal(send_state(f, VU_REQ_SET_VRING_NUM, q, QSZ), 0);
	test_ring_addr(&f->ring, q, &a);
	mk(f, VU_REQ_SET_VRING_ADDR, sizeof(a))->p.addr = a;
	assert_int_equal(handle(f), 0);
	assert_int_equal(send_ring_u64(f, VU_REQ_SET_VRING_CALL, q | VU_VRING_NOFD), 0);
	assert_int_equal(send_ring_u64(f, VU_REQ_SET_VRING_KICK, q | VU_VRING_NOFD), 0);
	assert_int_equal(send_state(f, VU_REQ_SET_VRING_ENABLE, q, 1), 0);
	assert_true(f->b.vq[q].started);
}

static uint16_t add_echo(struct fx *f, const char *text)
{
	struct test_seg seg[2];
	uint32_t len = (uint32_t)strlen(text);
	uint64_t out = test_ring_alloc(&f->ring, len), in = test_ring_alloc(&f->ring, len);

	memcpy(test_ring_ptr(&f->ring, out), text, len);
	seg[0] = (struct test_seg){.gpa = out, .len = len};
	seg[1] = (struct test_seg){.gpa = in, .len = len, .write = true};
	return test_ring_add(&f->ring, seg, 2);
}

static void expect_used(struct fx *f, uint16_t head, uint32_t len)
{
	uint32_t id, l;

	assert_true(test_ring_pop_used(&f->ring, &id, &l));
	assert_int_equal(id, head);
	assert_int_equal(l, len);
}

static void connect_channel(struct fx *f, uint32_t port)
{
	int n = f->fp.connects;

	assert_int_equal(send_u64(f, VU_REQ_SET_BACKEND_REQ_FD, port), 0);
	assert_int_equal(f->fp.connects, n + 1);
	assert_int_equal(f->fp.connect_port[n], port);
	assert_int_equal(f->b.backend_chan, f->fp.connect_chan[n]);
}

/* The table holds exactly `count` regions and nothing was mapped beyond
 * them. */
static void expect_table(const struct fx *f, uint32_t count)
{
	assert_int_equal(f->b.mem.count, count);
	assert_int_equal(f->fp.maps - f->fp.unmaps, (int)count);
}

/* ---- negotiation -------------------------------------------------------- */

static void test_protocol_features_offered(void **state)
{
	struct fx *f = *state;
	uint64_t pf;

	assert_int_equal(send_empty(f, VU_REQ_GET_PROTOCOL_FEATURES), 0);
	pf = f->fp.sent[0].p.u64;
	assert_int_equal(pf, PF_ALL_NOFD);
	assert_true(pf & VU_BIT(63));
	assert_false(pf & VU_BIT(VU_PF_INFLIGHT_SHMFD));
	assert_false(pf & VU_BIT(VU_PF_LOG_SHMFD));
	assert_false(pf & VU_BIT(VU_PF_BACKEND_SEND_FD));
	assert_false(pf & VU_BIT(VU_PF_HOST_NOTIFIER));
	assert_false(pf & VU_BIT(VU_PF_PAGEFAULT));
}

/* The fd transport never offers the window form, nor accepts it. */
static void test_fd_transport_has_no_window_addr(void **state)
{
	struct fake_platform fp;
	struct vu_backend *b = calloc(1, sizeof(*b));
	struct fx *f = *state;
	struct vu_msg *m = mk(f, VU_REQ_SET_PROTOCOL_FEATURES, 8);

	assert_non_null(b);
	fake_platform_init(&fp, 1);
	vu_backend_init(b, &fp.plat, &f->dev.desc, &f->dev, NULL);
	assert_false(vu_backend_offered_protocol_features(b) & VU_BIT(VU_PF_WINDOW_ADDR));
	assert_false(vu_backend_offered_protocol_features(b) & VU_BIT(VU_PF_INBAND_NOTIFICATIONS));
	m->p.u64 = VU_BIT(VU_PF_WINDOW_ADDR) | VU_BIT(VU_PF_REPLY_ACK);
	assert_true(vu_backend_handle(b, m) < 0);
	assert_int_equal(b->pfeatures, 0);
	vu_backend_disconnect(b);
	fake_platform_fini(&fp);
	free(b);
}

/* ---- ADD_MEM_REG over windows ------------------------------------------- */

static void test_add_region_in_window(void **state)
{
	struct fx *f = *state;
	uint8_t *host;

	negotiate_all(f);
	assert_int_equal(add_acked(f, SPARE_GPA, 2 * PAGE, SPARE_UADDR, WOFF(1, 3 * PAGE)), 0);
	expect_table(f, 1);
	assert_int_equal(f->fp.window_maps, 1);
	host = vu_mem_gpa_to_host(&f->b.mem, SPARE_GPA + 8, 8, NULL);
	assert_ptr_equal(host, fake_window_ptr(&f->fp, 1, 3 * PAGE + 8));
	/* The last byte of the window is in, the next is not. */
	assert_int_equal(add_acked(f, SPARE_GPA + 0x100000, PAGE, SPARE_UADDR + 0x100000,
				   WOFF(1, WIN1_SIZE - PAGE)),
			 0);
	expect_table(f, 2);
}

static void expect_add_refused(struct fx *f, uint64_t size, uint64_t off)
{
	int calls = f->fp.map_calls;
	uint32_t count = f->b.mem.count;
	uint64_t gen = f->b.mem.generation;

	assert_int_not_equal(
		add_acked(f, SPARE_GPA + 0x1000000, size, SPARE_UADDR + 0x1000000, off), 0);
	/* Refused by the library before the platform is even asked. */
	assert_int_equal(f->fp.map_calls, calls);
	assert_int_equal(f->b.mem.count, count);
	assert_int_equal(f->b.mem.generation, gen);
}

static void test_add_window_index_out_of_range(void **state)
{
	struct fx *f = *state;

	negotiate_all(f);
	add_ring_memory(f);
	expect_add_refused(f, PAGE, WOFF(2, 0));
	expect_add_refused(f, PAGE, WOFF(0xffffff, 0));
	expect_table(f, 1);
}

static void test_add_past_window_end(void **state)
{
	struct fx *f = *state;

	negotiate_all(f);
	add_ring_memory(f);
	expect_add_refused(f, 2 * PAGE, WOFF(1, WIN1_SIZE - PAGE));
	expect_add_refused(f, PAGE, WOFF(1, WIN1_SIZE));
	expect_add_refused(f, WIN1_SIZE + PAGE, WOFF(1, 0));
	expect_add_refused(f, PAGE, WOFF(1, VU_WINDOW_OFFSET_MASK));
	expect_table(f, 1);
}

static void test_add_offset_plus_size_overflows(void **state)
{
	struct fx *f = *state;

	negotiate_all(f);
	expect_add_refused(f, UINT64_MAX - PAGE + 1, WOFF(1, 2 * PAGE));
	expect_add_refused(f, UINT64_MAX, WOFF(0, 1));
	expect_table(f, 0);
}

static void test_add_size_zero(void **state)
{
	struct fx *f = *state;

	negotiate_all(f);
	expect_add_refused(f, 0, WOFF(1, 0));
	expect_table(f, 0);
}

/* The platform re-checks: a window that vanished after the library looked
 * (or a mapper that disagrees) fails the map, and the table is unchanged. */
static void test_add_platform_map_failure(void **state)
{
	struct fx *f = *state;

	negotiate_all(f);
	f->fp.fail_map = EIO;
	assert_int_not_equal(add_acked(f, SPARE_GPA, PAGE, SPARE_UADDR, WOFF(1, 0)), 0);
	expect_table(f, 0);
}

static void test_add_without_window_op_refused(void **state)
{
	struct fx *f = *state;

	negotiate_all(f);
	f->fp.plat.window_size = NULL;
	expect_add_refused(f, PAGE, WOFF(0, 0));
	expect_table(f, 0);
}

/* 64 regions, alternating between the two windows, then every other one
 * removed: translation follows, and the table never maps twice. */
static void test_64_regions_over_two_windows_then_remove_half(void **state)
{
	struct fx *f = *state;

	negotiate_all(f);
	for (uint32_t i = 0; i < 64; i++) {
		uint64_t gpa = SPARE_GPA + i * 2 * PAGE;

		assert_int_equal(add_acked(f, gpa, PAGE, SPARE_UADDR + i * 2 * PAGE,
					   WOFF(i % 2, (i / 2) * PAGE)),
				 0);
	}
	expect_table(f, 64);
	for (uint32_t i = 0; i < 64; i++) {
		uint64_t gpa = SPARE_GPA + i * 2 * PAGE;

		assert_ptr_equal(vu_mem_gpa_to_host(&f->b.mem, gpa, PAGE, NULL),
				 fake_window_ptr(&f->fp, i % 2, (i / 2) * PAGE));
	}
	for (uint32_t i = 0; i < 64; i += 2)
		assert_int_equal(region_acked(f, VU_REQ_REM_MEM_REG, SPARE_GPA + i * 2 * PAGE, PAGE,
					      SPARE_UADDR + i * 2 * PAGE, 0),
				 0);
	expect_table(f, 32);
	for (uint32_t i = 0; i < 64; i++) {
		void *h = vu_mem_gpa_to_host(&f->b.mem, SPARE_GPA + i * 2 * PAGE, 1, NULL);

		if (i % 2)
			assert_ptr_equal(h, fake_window_ptr(&f->fp, 1, (i / 2) * PAGE));
		else
			assert_null(h);
	}
	/* Removing one that is gone is refused; the connection stays. */
	assert_int_not_equal(
		region_acked(f, VU_REQ_REM_MEM_REG, SPARE_GPA, PAGE, SPARE_UADDR, WOFF(0, 0)), 0);
	expect_table(f, 32);
}

static void test_max_mem_slots_then_fill_and_one_more(void **state)
{
	struct fx *f = *state;
	uint64_t max;

	negotiate_all(f);
	assert_int_equal(send_empty(f, VU_REQ_GET_MAX_MEM_SLOTS), 0);
	max = f->fp.sent[0].p.u64;
	assert_int_equal(max, VU_MAX_MEM_SLOTS);
	assert_true(max * 256 <= WIN1_SIZE);
	for (uint64_t i = 0; i < max; i++)
		assert_int_equal(add_acked(f, SPARE_GPA + i * PAGE, 256, SPARE_UADDR + i * PAGE,
					   WOFF(1, i * 256)),
				 0);
	expect_table(f, (uint32_t)max);
	expect_add_refused(f, 256, WOFF(0, 0));
	assert_int_equal(f->b.mem.count, max);
}

/* ---- SET_MEM_TABLE over windows ----------------------------------------- */

static void fill_table(struct vu_msg *m, const struct vu_mem_region *r, uint32_t n)
{
	msg_build(m, VU_REQ_SET_MEM_TABLE, 8 + n * (uint32_t)sizeof(*r));
	m->p.mem_table.nregions = n;
	memcpy(m->p.mem_table.regions, r, n * sizeof(*r));
}

static uint64_t set_table_acked(struct fx *f, const struct vu_mem_region *r, uint32_t n)
{
	int sent = 0;

	f->fp.nsent = 0;
	fill_table(&f->m, r, n);
	assert_int_equal(handle_need_reply(f), 0);
	assert_int_equal(f->fp.nsent, sent + 1);
	return f->fp.sent[sent].p.u64;
}

static const struct vu_mem_region good_table[2] = {
	{.gpa = MEM_GPA, .size = MEM_SIZE, .uaddr = MEM_UADDR, .mmap_offset = WOFF(0, 0)},
	{.gpa = SPARE_GPA, .size = 4 * PAGE, .uaddr = SPARE_UADDR, .mmap_offset = WOFF(1, PAGE)},
};

static void test_set_mem_table_over_windows(void **state)
{
	struct fx *f = *state;
	uint16_t head;

	negotiate_all(f);
	assert_int_equal(set_table_acked(f, good_table, 2), 0);
	expect_table(f, 2);
	assert_ptr_equal(vu_mem_gpa_to_host(&f->b.mem, SPARE_GPA, 1, NULL),
			 fake_window_ptr(&f->fp, 1, PAGE));
	/* The ring in window 0 runs over it. */
	ring_up(f, 0);
	head = add_echo(f, "tbl");
	assert_int_equal(vu_backend_poll(&f->b, 8), 1);
	expect_used(f, head, 3);
}

static void expect_table_refused(struct fx *f, const struct vu_mem_region *bad)
{
	struct vu_mem_region t[3] = {good_table[0], good_table[1], *bad};
	void *before = vu_mem_gpa_to_host(&f->b.mem, SPARE_GPA, 1, NULL);
	int calls = f->fp.map_calls;

	assert_int_not_equal(set_table_acked(f, t, 3), 0);
	/* Checked whole before anything is mapped. */
	assert_int_equal(f->fp.map_calls, calls);
	expect_table(f, 2);
	assert_ptr_equal(vu_mem_gpa_to_host(&f->b.mem, SPARE_GPA, 1, NULL), before);
}

static void test_set_mem_table_bad_region_keeps_old_table(void **state)
{
	struct fx *f = *state;
	const uint64_t gpa = 0x40000000ull, ua = 0x7f5600000000ull;
	const struct vu_mem_region bad[] = {
		{.gpa = gpa, .size = PAGE, .uaddr = ua, .mmap_offset = WOFF(2, 0)},
		{.gpa = gpa,
		 .size = 2 * PAGE,
		 .uaddr = ua,
		 .mmap_offset = WOFF(1, WIN1_SIZE - PAGE)},
		{.gpa = gpa, .size = 0, .uaddr = ua, .mmap_offset = WOFF(1, 0)},
		{.gpa = gpa, .size = UINT64_MAX, .uaddr = ua, .mmap_offset = WOFF(1, 1)},
	};

	negotiate_all(f);
	assert_int_equal(set_table_acked(f, good_table, 2), 0);
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		expect_table_refused(f, &bad[i]);
}

/* ---- memory without WINDOW_ADDR ----------------------------------------- */

static void test_add_without_window_addr_closes(void **state)
{
	struct fx *f = *state;

	negotiate(f, F_DEFAULT, PF_ALL_NOFD & ~VU_BIT(VU_PF_WINDOW_ADDR));
	mk_region(f, VU_REQ_ADD_MEM_REG, MEM_GPA, MEM_SIZE, MEM_UADDR, WOFF(0, 0));
	assert_true(handle_need_reply(f) < 0);
	assert_int_equal(f->fp.nsent, 1);
	assert_int_equal(f->fp.sent[0].hdr.request, VU_REQ_ADD_MEM_REG);
	assert_int_not_equal(f->fp.sent[0].p.u64, 0);
	assert_non_null(strstr(f->fp.last_log, "closing"));
	assert_int_equal(f->fp.maps, 0);
	assert_int_equal(f->b.mem.count, 0);
}

static void test_set_table_without_window_addr_closes(void **state)
{
	struct fx *f = *state;

	negotiate(f, F_DEFAULT, PF_ALL_NOFD & ~VU_BIT(VU_PF_WINDOW_ADDR));
	fill_table(&f->m, good_table, 2);
	assert_true(handle_need_reply(f) < 0);
	assert_int_equal(f->fp.nsent, 1);
	assert_int_not_equal(f->fp.sent[0].p.u64, 0);
	assert_int_equal(f->fp.maps, 0);
	assert_int_equal(f->b.mem.count, 0);
}

/* Without REPLY_ACK (or without protocol features at all) there is no
 * answer to give: the connection closes all the same. */
static void test_set_table_without_protocol_features_closes(void **state)
{
	struct fx *f = *state;

	assert_int_equal(send_empty(f, VU_REQ_SET_OWNER), 0);
	assert_int_equal(send_u64(f, VU_REQ_SET_FEATURES, VU_BIT(VU_F_VERSION_1)), 0);
	f->fp.nsent = 0;
	fill_table(&f->m, good_table, 1);
	assert_true(handle(f) < 0);
	assert_int_equal(f->fp.nsent, 0);
	assert_int_equal(f->fp.maps, 0);
	assert_non_null(strstr(f->fp.last_log, "closing"));
}

/* A refused window region is not fatal: only the missing agreement is. */
static void test_bad_region_keeps_connection(void **state)
{
	struct fx *f = *state;

	negotiate_all(f);
	assert_int_not_equal(add_acked(f, SPARE_GPA, PAGE, SPARE_UADDR, WOFF(3, 0)), 0);
	assert_int_equal(add_acked(f, SPARE_GPA, PAGE, SPARE_UADDR, WOFF(1, 0)), 0);
	expect_table(f, 1);
}

/* ---- rings -------------------------------------------------------------- */

static void expect_ring_fd_without_nofd_refused(struct fx *f, uint32_t request)
{
	negotiate_all(f);
	add_ring_memory(f);
	assert_int_equal(send_state(f, VU_REQ_SET_VRING_NUM, 0, QSZ), 0);
	mk(f, request, 8)->p.u64 = 0;
	assert_int_equal(handle_need_reply(f), 0);
	assert_int_not_equal(f->fp.sent[f->fp.nsent - 1].p.u64, 0);
	assert_non_null(strstr(f->fp.last_log, "NOFD required"));
	/* Without REPLY_ACK asked for, the refusal closes the connection. */
	mk(f, request, 8)->p.u64 = 0;
	assert_true(handle(f) < 0);
	assert_false(f->b.vq[0].started);
	assert_int_equal(f->b.vq[0].kick_fd, -1);
	assert_int_equal(f->b.vq[0].call_fd, -1);
	assert_int_equal(f->b.vq[0].err_fd, -1);
}

static void test_set_vring_kick_without_nofd_refused(void **state)
{
	expect_ring_fd_without_nofd_refused(*state, VU_REQ_SET_VRING_KICK);
}

static void test_set_vring_call_without_nofd_refused(void **state)
{
	expect_ring_fd_without_nofd_refused(*state, VU_REQ_SET_VRING_CALL);
}

static void test_set_vring_err_without_nofd_refused(void **state)
{
	expect_ring_fd_without_nofd_refused(*state, VU_REQ_SET_VRING_ERR);
}

static void test_nofd_ring_is_polled(void **state)
{
	struct fx *f = *state;
	uint16_t head;

	negotiate_all(f);
	add_ring_memory(f);
	ring_up(f, 0);
	head = add_echo(f, "poll");
	assert_int_equal(vu_backend_poll(&f->b, 8), 1);
	expect_used(f, head, 4);
	assert_int_equal(f->dev.nhandled, 1);
}

static void test_inband_vring_kick_processes_ring(void **state)
{
	struct fx *f = *state;
	struct vu_vring_addr a;
	uint16_t head;

	negotiate_all(f);
	add_ring_memory(f);
	assert_int_equal(send_state(f, VU_REQ_SET_VRING_NUM, 0, QSZ), 0);
	test_ring_addr(&f->ring, 0, &a);
	mk(f, VU_REQ_SET_VRING_ADDR, sizeof(a))->p.addr = a;
	assert_int_equal(handle(f), 0);
	assert_int_equal(send_state(f, VU_REQ_SET_VRING_ENABLE, 0, 1), 0);
	head = add_echo(f, "kick");
	assert_false(f->b.vq[0].started);
	assert_int_equal(send_state(f, VU_REQ_VRING_KICK, 0, 0), 0);
	assert_true(f->b.vq[0].started);
	assert_int_equal(vu_backend_poll(&f->b, 8), 1);
	expect_used(f, head, 4);
	/* A second kick on a started ring makes it run again. */
	head = add_echo(f, "again");
	assert_int_equal(send_state(f, VU_REQ_VRING_KICK, 0, 0), 0);
	assert_true(f->b.vq[0].kicked);
	assert_int_equal(vu_backend_poll(&f->b, 8), 1);
	expect_used(f, head, 5);
}

static void test_inband_vring_kick_bad_index_refused(void **state)
{
	struct fx *f = *state;

	negotiate_all(f);
	add_ring_memory(f);
	assert_true(send_state(f, VU_REQ_VRING_KICK, NQ, 0) < 0);
	assert_true(send_state(f, VU_REQ_VRING_KICK, 0xffffffffu, 0) < 0);
	assert_false(f->b.vq[NQ].kicked);
}

static void test_inband_vring_kick_needs_inband_negotiated(void **state)
{
	struct fx *f = *state;

	negotiate(f, F_DEFAULT, PF_ALL_NOFD & ~VU_BIT(VU_PF_INBAND_NOTIFICATIONS));
	add_ring_memory(f);
	assert_true(send_state(f, VU_REQ_VRING_KICK, 0, 0) < 0);
	assert_false(f->b.vq[0].started);
}

/* ---- in-band calls ------------------------------------------------------ */

static int calls_sent(const struct fx *f, uint32_t request, uint32_t index)
{
	int n = 0;

	for (int i = 0; i < f->fp.nbackend_sent && i < FAKE_MAX_SENT; i++) {
		const struct vu_msg *m = &f->fp.backend_sent[i];

		if (m->hdr.request != request)
			continue;
		/* Never NEED_REPLY: a call must not stall the loop. */
		assert_int_equal(m->hdr.flags, VU_VERSION);
		assert_int_equal(m->hdr.size, sizeof(struct vu_vring_state));
		assert_int_equal(m->nfds, 0);
		assert_int_equal(m->p.state.num, 0);
		if (m->p.state.index == index)
			n++;
	}
	return n;
}

static uint16_t *used_event(struct fx *f)
{
	return &test_ring_avail(&f->ring)->ring[QSZ];
}

static void test_inband_call_follows_event_idx(void **state)
{
	struct fx *f = *state;

	negotiate(f, F_DEFAULT | VU_BIT(VU_F_RING_EVENT_IDX), PF_ALL_NOFD);
	add_ring_memory(f);
	connect_channel(f, PORT);
	ring_up(f, 0);
	/* First completion: nothing signalled yet, so always a call. */
	*used_event(f) = 0;
	add_echo(f, "a");
	assert_int_equal(vu_backend_poll(&f->b, 8), 1);
	assert_int_equal(calls_sent(f, VU_BREQ_VRING_CALL, 0), 1);
	/* The driver wants the next interrupt only after used idx 5. */
	*used_event(f) = 5;
	add_echo(f, "b");
	assert_int_equal(vu_backend_poll(&f->b, 8), 1);
	assert_int_equal(calls_sent(f, VU_BREQ_VRING_CALL, 0), 1);
	/* Used idx moves 2 -> 3 across used_event 2: exactly one call. */
	*used_event(f) = 2;
	add_echo(f, "c");
	assert_int_equal(vu_backend_poll(&f->b, 8), 1);
	assert_int_equal(calls_sent(f, VU_BREQ_VRING_CALL, 0), 1 + 1);
	assert_int_equal(f->b.n_inband_calls, 2);
	assert_int_equal(f->fp.signals, 0);
}

static void test_inband_call_honours_no_interrupt(void **state)
{
	struct fx *f = *state;

	negotiate_all(f);
	add_ring_memory(f);
	connect_channel(f, PORT);
	ring_up(f, 0);
	test_ring_avail(&f->ring)->flags = VRING_AVAIL_F_NO_INTERRUPT;
	add_echo(f, "quiet");
	assert_int_equal(vu_backend_poll(&f->b, 8), 1);
	assert_int_equal(calls_sent(f, VU_BREQ_VRING_CALL, 0), 0);
	test_ring_avail(&f->ring)->flags = 0;
	add_echo(f, "loud");
	assert_int_equal(vu_backend_poll(&f->b, 8), 1);
	assert_int_equal(calls_sent(f, VU_BREQ_VRING_CALL, 0), 1);
}

static void test_no_call_without_inband_negotiated(void **state)
{
	struct fx *f = *state;

	negotiate(f, F_DEFAULT, PF_ALL_NOFD & ~VU_BIT(VU_PF_INBAND_NOTIFICATIONS));
	add_ring_memory(f);
	connect_channel(f, PORT);
	ring_up(f, 0);
	add_echo(f, "poll only");
	assert_int_equal(vu_backend_poll(&f->b, 8), 1);
	assert_int_equal(f->fp.nbackend_sent, 0);
}

static void test_no_call_without_channel(void **state)
{
	struct fx *f = *state;

	negotiate_all(f);
	add_ring_memory(f);
	ring_up(f, 0);
	add_echo(f, "x");
	assert_int_equal(vu_backend_poll(&f->b, 8), 1);
	assert_int_equal(f->fp.nbackend_sent, 0);
	assert_int_equal(f->b.n_inband_calls, 0);
}

/* A send that fails is counted and logged; the ring keeps running. */
static void test_call_send_failure_keeps_ring(void **state)
{
	struct fx *f = *state;
	uint16_t head;

	negotiate_all(f);
	add_ring_memory(f);
	connect_channel(f, PORT);
	ring_up(f, 0);
	f->fp.fail_backend_send = EPIPE;
	head = add_echo(f, "y");
	assert_int_equal(vu_backend_poll(&f->b, 8), 1);
	expect_used(f, head, 1);
	assert_int_equal(f->b.n_inband_fail, 1);
	assert_int_equal(f->b.n_inband_calls, 0);
	assert_false(f->b.vq[0].broken);
}

/* A call that could not be sent is owed, not forgotten: a driver waiting
 * for its interrupt would otherwise wait forever. It goes out on the first
 * poll after the channel takes messages again, even with nothing new to do,
 * and only once. */
static void test_failed_call_is_sent_on_a_later_poll(void **state)
{
	struct fx *f = *state;
	uint16_t head;

	negotiate(f, F_DEFAULT | VU_BIT(VU_F_RING_EVENT_IDX), PF_ALL_NOFD);
	add_ring_memory(f);
	connect_channel(f, PORT);
	ring_up(f, 0);
	*used_event(f) = 0;
	f->fp.fail_backend_send = EAGAIN;
	head = add_echo(f, "late");
	assert_int_equal(vu_backend_poll(&f->b, 8), 1);
	expect_used(f, head, 4);
	assert_int_equal(calls_sent(f, VU_BREQ_VRING_CALL, 0), 0);
	assert_int_equal(f->b.n_calls_owed, 1);
	/* Still full: still owed. */
	assert_int_equal(vu_backend_poll(&f->b, 8), 0);
	assert_int_equal(calls_sent(f, VU_BREQ_VRING_CALL, 0), 0);
	f->fp.fail_backend_send = 0;
	assert_int_equal(vu_backend_poll(&f->b, 8), 0);
	assert_int_equal(calls_sent(f, VU_BREQ_VRING_CALL, 0), 1);
	assert_int_equal(f->b.n_calls_owed, 0);
	assert_int_equal(f->b.n_calls_retried, 1);
	assert_int_equal(vu_backend_poll(&f->b, 8), 0);
	assert_int_equal(calls_sent(f, VU_BREQ_VRING_CALL, 0), 1);
}

static void test_ring_error_sent_inband(void **state)
{
	struct fx *f = *state;

	negotiate_all(f);
	add_ring_memory(f);
	connect_channel(f, PORT);
	ring_up(f, 0);
	assert_int_equal(send_ring_u64(f, VU_REQ_SET_VRING_ERR, 0 | VU_VRING_NOFD), 0);
	f->dev.fail = true;
	add_echo(f, "bad");
	assert_int_equal(vu_backend_poll(&f->b, 8), 1);
	assert_true(f->b.vq[0].broken);
	assert_int_equal(calls_sent(f, VU_BREQ_VRING_ERR, 0), 1);
	assert_int_equal(f->b.n_inband_errs, 1);
}

/* ---- backend channel ---------------------------------------------------- */

static void test_backend_channel_connects_to_port(void **state)
{
	struct fx *f = *state;
	int first;

	negotiate_all(f);
	connect_channel(f, PORT);
	first = f->b.backend_chan;
	assert_int_equal(vu_backend_config_changed(&f->b), 0);
	assert_int_equal(f->fp.nbackend_sent, 1);
	assert_int_equal(f->fp.backend_sent[0].hdr.request, VU_BREQ_CONFIG_CHANGE_MSG);
	/* A new port replaces the channel; the old one is closed. */
	connect_channel(f, PORT + 1);
	assert_int_not_equal(f->b.backend_chan, first);
	assert_int_equal(f->fp.files[first - FAKE_FD_BASE].open, 0);
	/* Port 0 is a port like any other. */
	connect_channel(f, 0);
}

static void expect_backend_req_refused(struct fx *f, struct vu_msg *m)
{
	int connects = f->fp.connects, chan = f->b.backend_chan;

	(void)m;
	assert_int_equal(handle_need_reply(f), 0);
	assert_int_not_equal(f->fp.sent[f->fp.nsent - 1].p.u64, 0);
	assert_int_equal(f->fp.connects, connects);
	assert_int_equal(f->b.backend_chan, chan);
}

static void test_backend_port_upper_bits_refused(void **state)
{
	struct fx *f = *state;

	negotiate_all(f);
	mk(f, VU_REQ_SET_BACKEND_REQ_FD, 8)->p.u64 = (1ull << 32) | PORT;
	expect_backend_req_refused(f, &f->m);
	mk(f, VU_REQ_SET_BACKEND_REQ_FD, 8)->p.u64 = (1ull << 63) | PORT;
	expect_backend_req_refused(f, &f->m);
}

static void test_backend_port_any_refused(void **state)
{
	struct fx *f = *state;

	negotiate_all(f);
	mk(f, VU_REQ_SET_BACKEND_REQ_FD, 8)->p.u64 = VU_VSOCK_PORT_ANY;
	expect_backend_req_refused(f, &f->m);
}

static void test_backend_req_wrong_size_refused(void **state)
{
	struct fx *f = *state;

	negotiate_all(f);
	expect_backend_req_refused(f, mk(f, VU_REQ_SET_BACKEND_REQ_FD, 0));
	expect_backend_req_refused(f, mk(f, VU_REQ_SET_BACKEND_REQ_FD, 4));
	expect_backend_req_refused(f, mk(f, VU_REQ_SET_BACKEND_REQ_FD, 16));
}

static void test_backend_connect_failure_refused(void **state)
{
	struct fx *f = *state;

	negotiate_all(f);
	connect_channel(f, PORT);
	f->fp.fail_connect = ECONNREFUSED;
	mk(f, VU_REQ_SET_BACKEND_REQ_FD, 8)->p.u64 = PORT + 1;
	expect_backend_req_refused(f, &f->m);
	/* The channel that worked is kept. */
	assert_int_equal(f->b.backend_chan, f->fp.connect_chan[0]);
}

static void test_backend_connect_unsupported_refused(void **state)
{
	struct fx *f = *state;

	negotiate_all(f);
	f->fp.plat.backend_connect = NULL;
	mk(f, VU_REQ_SET_BACKEND_REQ_FD, 8)->p.u64 = PORT;
	expect_backend_req_refused(f, &f->m);
	assert_int_equal(f->b.backend_chan, -1);
}

static void test_backend_req_needs_backend_req_feature(void **state)
{
	struct fx *f = *state;

	negotiate(f, F_DEFAULT,
		  VU_BIT(VU_PF_REPLY_ACK) | VU_BIT(VU_PF_WINDOW_ADDR) |
			  VU_BIT(VU_PF_CONFIGURE_MEM_SLOTS));
	mk(f, VU_REQ_SET_BACKEND_REQ_FD, 8)->p.u64 = PORT;
	expect_backend_req_refused(f, &f->m);
}

/* ---- the rest of the foundation, unchanged ------------------------------ */

static void test_config_status_reset_work(void **state)
{
	struct fx *f = *state;
	struct vu_msg *m;

	negotiate_all(f);
	add_ring_memory(f);
	ring_up(f, 0);
	f->fp.nsent = 0;
	m = mk(f, VU_REQ_GET_CONFIG, VU_CONFIG_HDR_SIZE + 4);
	m->p.config.size = 4;
	assert_int_equal(handle(f), 0);
	assert_int_equal(f->fp.sent[0].hdr.request, VU_REQ_GET_CONFIG);
	assert_int_equal(f->fp.sent[0].p.config.data[3], 0x5a);
	assert_int_equal(send_u64(f, VU_REQ_SET_STATUS, 0x0f), 0);
	assert_int_equal(send_empty(f, VU_REQ_GET_STATUS), 0);
	assert_int_equal(f->fp.sent[1].p.u64, 0x0f);
	assert_int_equal(send_empty(f, VU_REQ_RESET_DEVICE), 0);
	assert_false(f->b.vq[0].started);
	assert_int_equal(f->b.status, 0);
	/* The table survives a reset (QEMU will not resend it). */
	expect_table(f, 1);
}

static void test_disconnect_releases_everything(void **state)
{
	struct fx *f = *state;
	int chan;

	negotiate_all(f);
	assert_int_equal(set_table_acked(f, good_table, 2), 0);
	connect_channel(f, PORT);
	chan = f->b.backend_chan;
	ring_up(f, 0);
	vu_backend_disconnect(&f->b);
	assert_int_equal(f->fp.maps, f->fp.unmaps);
	assert_int_equal(f->fp.files[chan - FAKE_FD_BASE].open, 0);
	assert_int_equal(f->b.mem.count, 0);
	/* A new front-end starts from scratch on the same session. */
	negotiate_all(f);
	assert_int_equal(add_acked(f, SPARE_GPA, PAGE, SPARE_UADDR, WOFF(1, 0)), 0);
	expect_table(f, 1);
}

/* ---- doorbells (docs/vsock-transport.md §4.1) ---------------------------- */

/* The platform's doorbell op, recorded: handles are 500 + n, outside the
 * fake files' numbers, and the last arguments are kept. */
static struct {
	int calls, fail;
	bool call;
	uint32_t dev, peer, vector;
} db;

#define DB_HANDLE0 500
#define DB_VECTORS 8u

static int fake_db(void *ctx, bool call, uint32_t dev, uint32_t peer, uint32_t vector, int *fd)
{
	(void)ctx;
	if (db.fail)
		return -db.fail;
	/* As the service VM: one device, 8 own vectors, peers' up to 255. */
	if (dev != 0 || (call ? vector > 255 : vector >= DB_VECTORS))
		return -EINVAL;
	db.call = call;
	db.dev = dev;
	db.peer = peer;
	db.vector = vector;
	*fd = DB_HANDLE0 + db.calls++;
	return 0;
}

#define PF_DB (PF_ALL_NOFD | VU_BIT(VU_PF_DOORBELL))
#define DB_KICK(q, vec) ((q) | VU_VRING_NOFD | VU_VRING_DOORBELL | (uint64_t)(vec) << 16)
#define DB_CALL(q, peer, vec) (DB_KICK(q, vec) | (uint64_t)(peer) << 32)

/* The backend again, now with a platform that has doorbells. */
static void with_doorbells(struct fx *f)
{
	memset(&db, 0, sizeof(db));
	f->fp.plat.doorbell = fake_db;
	vu_backend_init(&f->b, &f->fp.plat, &f->dev.desc, &f->dev, NULL);
}

/* Ring q set up with doorbell kick vector `kv` and call peer 3 vector `cv`. */
static void ring_up_db(struct fx *f, uint32_t q, uint32_t kv, uint32_t cv)
{
	struct vu_vring_addr a;

	assert_int_equal(send_state(f, VU_REQ_SET_VRING_NUM, q, QSZ), 0);
	test_ring_addr(&f->ring, q, &a);
	mk(f, VU_REQ_SET_VRING_ADDR, sizeof(a))->p.addr = a;
	assert_int_equal(handle(f), 0);
	assert_int_equal(send_u64(f, VU_REQ_SET_VRING_CALL, DB_CALL(q, 3, cv)), 0);
	assert_true(db.call);
	assert_int_equal(db.peer, 3);
	assert_int_equal(db.vector, cv);
	assert_int_equal(send_u64(f, VU_REQ_SET_VRING_KICK, DB_KICK(q, kv)), 0);
	assert_false(db.call);
	assert_int_equal(db.vector, kv);
	assert_int_equal(send_state(f, VU_REQ_SET_VRING_ENABLE, q, 1), 0);
	assert_true(f->b.vq[q].started);
}

static void test_doorbell_offered_only_with_platform_op(void **state)
{
	struct fx *f = *state;

	assert_false(vu_backend_offered_protocol_features(&f->b) & VU_BIT(VU_PF_DOORBELL));
	with_doorbells(f);
	assert_int_equal(vu_backend_offered_protocol_features(&f->b), PF_DB);
}

/* A doorbell kick ring runs only when kicked (never polled), and its calls
 * are the doorbell handle signalled, not in-band messages. */
static void test_doorbell_kick_and_call(void **state)
{
	struct fx *f = *state;
	uint16_t head;

	with_doorbells(f);
	negotiate(f, F_DEFAULT, PF_DB);
	add_ring_memory(f);
	connect_channel(f, PORT);
	ring_up_db(f, 0, 5, 7);
	assert_int_equal(vu_ring_kick_fd(&f->b, 0), DB_HANDLE0 + 1);
	/* Started: one look, then the ring waits for its doorbell. */
	assert_int_equal(vu_backend_poll(&f->b, 8), 0);
	head = add_echo(f, "db");
	assert_int_equal(vu_backend_poll(&f->b, 8), 0);
	vu_backend_kick(&f->b, 0);
	assert_int_equal(vu_backend_poll(&f->b, 8), 1);
	expect_used(f, head, 2);
	assert_int_equal(f->fp.signals, 1);
	assert_int_equal(f->fp.signalled_fd[0], DB_HANDLE0);
	assert_int_equal(f->b.n_inband_calls, 0);
	assert_int_equal(calls_sent(f, VU_BREQ_VRING_CALL, 0), 0);
}

/* NO_INTERRUPT and EVENT_IDX decide doorbell calls as they do the others. */
static void test_doorbell_call_honours_no_interrupt_and_event_idx(void **state)
{
	struct fx *f = *state;

	with_doorbells(f);
	negotiate(f, F_DEFAULT | VU_BIT(VU_F_RING_EVENT_IDX), PF_DB);
	add_ring_memory(f);
	connect_channel(f, PORT);
	ring_up_db(f, 0, 1, 0);
	*used_event(f) = 0;
	add_echo(f, "a");
	vu_backend_kick(&f->b, 0);
	assert_int_equal(vu_backend_poll(&f->b, 8), 1);
	assert_int_equal(f->fp.signals, 1);
	*used_event(f) = 5; /* not before used idx 6 */
	add_echo(f, "b");
	vu_backend_kick(&f->b, 0);
	assert_int_equal(vu_backend_poll(&f->b, 8), 1);
	assert_int_equal(f->fp.signals, 1);
	f->b.vq[0].event_idx = false;
	test_ring_avail(&f->ring)->flags = VRING_AVAIL_F_NO_INTERRUPT;
	add_echo(f, "c");
	vu_backend_kick(&f->b, 0);
	assert_int_equal(vu_backend_poll(&f->b, 8), 1);
	assert_int_equal(f->fp.signals, 1);
	test_ring_avail(&f->ring)->flags = 0;
	add_echo(f, "d");
	vu_backend_kick(&f->b, 0);
	assert_int_equal(vu_backend_poll(&f->b, 8), 1);
	assert_int_equal(f->fp.signals, 2);
}

/* Every malformed doorbell form is refused, with REPLY_ACK an error and the
 * connection kept, and the ring keeps what it had. */
static void test_doorbell_forms_refused(void **state)
{
	struct fx *f = *state;
	const struct {
		uint32_t req;
		uint64_t v;
	} bad[] = {
		/* not negotiated is checked below; here: */
		{VU_REQ_SET_VRING_KICK, DB_CALL(0, 1, 0)},	     /* a kick names no peer */
		{VU_REQ_SET_VRING_KICK, DB_KICK(0, DB_VECTORS)},     /* no such own vector */
		{VU_REQ_SET_VRING_CALL, DB_CALL(0, 1, 256)},	     /* vector past 255 */
		{VU_REQ_SET_VRING_KICK, DB_KICK(0, 1) | 1ull << 48}, /* no such device */
		{VU_REQ_SET_VRING_KICK, DB_KICK(0, 1) & ~(uint64_t)VU_VRING_NOFD}, /* no NOFD */
		{VU_REQ_SET_VRING_ERR, DB_KICK(0, 1)},		     /* errors: in-band only */
		{VU_REQ_SET_VRING_KICK, DB_KICK(NQ, 1)},	     /* ring out of range */
		{VU_REQ_SET_VRING_KICK, DB_KICK(0, 1) | 1ull << 12}, /* reserved bit */
		{VU_REQ_SET_VRING_KICK, VU_VRING_NOFD | 5ull << 16}, /* vector without bit 9 */
	};

	with_doorbells(f);
	negotiate(f, F_DEFAULT, PF_DB);
	add_ring_memory(f);
	for (unsigned i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		f->fp.nsent = 0;
		mk(f, bad[i].req, 8)->p.u64 = bad[i].v;
		assert_int_equal(handle_need_reply(f), 0);
		assert_int_equal(f->fp.nsent, 1);
		assert_int_not_equal(f->fp.sent[0].p.u64, 0);
	}
	assert_int_equal(db.calls, 0);
	assert_false(f->b.vq[0].started);
	assert_int_equal(f->b.vq[0].call_fd, -1);
	/* A platform that refuses (device gone) is refused too. */
	db.fail = ENODEV;
	f->fp.nsent = 0;
	mk(f, VU_REQ_SET_VRING_CALL, 8)->p.u64 = DB_CALL(0, 1, 0);
	assert_int_equal(handle_need_reply(f), 0);
	assert_int_not_equal(f->fp.sent[0].p.u64, 0);
	assert_int_equal(f->b.vq[0].call_fd, -1);
}

/* Without DOORBELL negotiated, bit 9 is a reserved bit. */
static void test_doorbell_needs_negotiation(void **state)
{
	struct fx *f = *state;

	with_doorbells(f);
	negotiate(f, F_DEFAULT, PF_ALL_NOFD);
	add_ring_memory(f);
	assert_true(send_u64(f, VU_REQ_SET_VRING_KICK, DB_KICK(0, 1)) < 0);
	assert_true(send_u64(f, VU_REQ_SET_VRING_CALL, DB_CALL(0, 1, 0)) < 0);
	assert_int_equal(db.calls, 0);
	assert_false(f->b.vq[0].started);
}

/* A doorbell ring goes back to in-band and polling with the plain forms,
 * and VRING_KICKs received are counted. */
static void test_doorbell_then_inband(void **state)
{
	struct fx *f = *state;
	uint16_t head;

	with_doorbells(f);
	negotiate(f, F_DEFAULT, PF_DB);
	add_ring_memory(f);
	connect_channel(f, PORT);
	ring_up_db(f, 0, 2, 2);
	assert_int_equal(send_u64(f, VU_REQ_SET_VRING_CALL, 0 | VU_VRING_NOFD), 0);
	assert_int_equal(f->b.vq[0].call_fd, -1);
	assert_int_equal(send_state(f, VU_REQ_VRING_KICK, 0, 0), 0);
	assert_int_equal(f->b.n_inband_kicks, 1);
	head = add_echo(f, "ib");
	assert_int_equal(vu_backend_poll(&f->b, 8), 1);
	expect_used(f, head, 2);
	assert_int_equal(calls_sent(f, VU_BREQ_VRING_CALL, 0), 1);
	assert_int_equal(f->fp.signals, 0);
}

#define T(fn) cmocka_unit_test_setup_teardown(fn, setup, teardown)

int main(void)
{
	const struct CMUnitTest tests[] = {
		T(test_protocol_features_offered),
		T(test_fd_transport_has_no_window_addr),
		T(test_add_region_in_window),
		T(test_add_window_index_out_of_range),
		T(test_add_past_window_end),
		T(test_add_offset_plus_size_overflows),
		T(test_add_size_zero),
		T(test_add_platform_map_failure),
		T(test_add_without_window_op_refused),
		T(test_64_regions_over_two_windows_then_remove_half),
		T(test_max_mem_slots_then_fill_and_one_more),
		T(test_set_mem_table_over_windows),
		T(test_set_mem_table_bad_region_keeps_old_table),
		T(test_add_without_window_addr_closes),
		T(test_set_table_without_window_addr_closes),
		T(test_set_table_without_protocol_features_closes),
		T(test_bad_region_keeps_connection),
		T(test_set_vring_kick_without_nofd_refused),
		T(test_set_vring_call_without_nofd_refused),
		T(test_set_vring_err_without_nofd_refused),
		T(test_nofd_ring_is_polled),
		T(test_inband_vring_kick_processes_ring),
		T(test_inband_vring_kick_bad_index_refused),
		T(test_inband_vring_kick_needs_inband_negotiated),
		T(test_inband_call_follows_event_idx),
		T(test_inband_call_honours_no_interrupt),
		T(test_no_call_without_inband_negotiated),
		T(test_no_call_without_channel),
		T(test_call_send_failure_keeps_ring),
		T(test_failed_call_is_sent_on_a_later_poll),
		T(test_ring_error_sent_inband),
		T(test_backend_channel_connects_to_port),
		T(test_backend_port_upper_bits_refused),
		T(test_backend_port_any_refused),
		T(test_backend_req_wrong_size_refused),
		T(test_backend_connect_failure_refused),
		T(test_backend_connect_unsupported_refused),
		T(test_backend_req_needs_backend_req_feature),
		T(test_config_status_reset_work),
		T(test_disconnect_releases_everything),
		T(test_doorbell_offered_only_with_platform_op),
		T(test_doorbell_kick_and_call),
		T(test_doorbell_call_honours_no_interrupt_and_event_idx),
		T(test_doorbell_forms_refused),
		T(test_doorbell_needs_negotiation),
		T(test_doorbell_then_inband),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
