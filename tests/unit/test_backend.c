/* test_backend.c - a vu_backend session driven message by message.
 *
 * A real struct vu_backend runs on the fake platform with a tiny echo device
 * (2 queues of up to 256 entries, 256 bytes of config space): each chain's
 * readable bytes are copied into its writable part, and the chain completed.
 * Guest memory is one fake file: gpa MEM_GPA, front-end address MEM_UADDR;
 * ring 0 sits at its start, ring 1 at RING1_OFF, buffers above DATA_OFF.
 *
 * Every fd a test attaches to a message is a fake file, so each rejection
 * test can prove the fd was closed exactly once, and teardown proves that a
 * disconnect leaves maps == unmaps.
 */
#define _DEFAULT_SOURCE
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#include <cmocka.h>

#include "helpers/fake_platform.h"
#include "helpers/msg_build.h"
#include "helpers/test_ring.h"
#include "vu/backend.h"
#include "vu/inflight.h"
#include "vu/iov.h"
#include "vu/msg.h"

#define NQ 2u
#define MAXQ 256u
#define QSZ 64u

#define MEM_GPA 0x100000ull
#define MEM_SIZE 0x40000ull
#define MEM_UADDR 0x7f1200000000ull
#define RING0_OFF 0x0ull
#define RING1_OFF 0x4000ull
#define DATA0_OFF 0x10000ull
#define DATA1_OFF 0x30000ull
#define DATA0_LEN 0x20000ull
#define DATA1_LEN 0x10000ull

#define PAGE 0x1000ull
#define TD_LOG 64

/* ---- the echo device ---------------------------------------------------- */

struct tdev {
	struct vu_device desc;
	uint8_t config[VU_CONFIG_MAX];
	bool hold;    /* answer VU_PENDING and keep the token */
	bool not_now; /* answer VU_NOT_NOW */
	bool fail;    /* serve() reports a malformed chain */
	uint32_t nhandled;
	uint16_t heads[TD_LOG];
	uint16_t queues[TD_LOG];
	struct vu_token toks[TD_LOG];
	uint32_t resets;
};

static int td_get_config(void *dev, uint8_t *buf, uint32_t offset, uint32_t len)
{
	struct tdev *t = dev;

	if (offset > VU_CONFIG_MAX || len > VU_CONFIG_MAX - offset)
		return -EINVAL;
	memcpy(buf, t->config + offset, len);
	return 0;
}

static int td_serve(void *dev, struct vu_backend *b, struct vu_req *req)
{
	struct tdev *t = dev;
	struct vu_chain *c = req->chain;
	uint64_t n = c->out_len < c->in_len ? c->out_len : c->in_len;
	uint8_t buf[256];

	(void)b;
	if (t->nhandled < TD_LOG) {
		t->heads[t->nhandled] = c->head;
		t->queues[t->nhandled] = req->ring;
		t->toks[t->nhandled] = req->token;
	}
	t->nhandled++;
	if (t->fail)
		return -EINVAL;
	if (t->not_now)
		return VU_NOT_NOW;
	for (uint64_t off = 0; off < n;) {
		size_t chunk = n - off < sizeof(buf) ? (size_t)(n - off) : sizeof(buf);

		assert_int_equal(vu_iov_to_buf(c->iov, c->n_out, off, buf, chunk), chunk);
		assert_int_equal(vu_iov_from_buf(c->iov + c->n_out, c->n_in, off, buf, chunk),
				 chunk);
		off += chunk;
	}
	if (t->hold)
		return VU_PENDING;
	req->written = (uint32_t)n;
	return VU_DONE;
}

/* The token the device kept for the last chain it saw with `head`. */
static struct vu_token td_token(const struct tdev *t, uint16_t head)
{
	for (uint32_t i = t->nhandled < TD_LOG ? t->nhandled : TD_LOG; i-- > 0;)
		if (t->heads[i] == head)
			return t->toks[i];
	fail_msg("no token for head %u", head);
	return (struct vu_token){0};
}

static void td_reset(void *dev)
{
	struct tdev *t = dev;

	t->resets++;
}

static const struct vu_device_ops td_ops = {
	.get_config = td_get_config,
	.serve = td_serve,
	.reset = td_reset,
};

static void tdev_init(struct tdev *t)
{
	memset(t, 0, sizeof(*t));
	t->desc.ops = &td_ops;
	t->desc.name = "echo";
	t->desc.virtio_id = 0x7e57;
	t->desc.features = VU_BIT(1) | VU_BIT(5);
	t->desc.num_queues = NQ;
	t->desc.max_queue_size = MAXQ;
	t->desc.has_config = true;
	t->desc.multiqueue = true;
	for (unsigned i = 0; i < VU_CONFIG_MAX; i++)
		t->config[i] = (uint8_t)(i ^ 0xa5);
}

/* ---- fixture ------------------------------------------------------------ */

struct fx {
	struct fake_platform fp;
	struct vu_backend b;
	struct vu_backend *cur; /* the session messages go to */
	struct tdev dev;
	struct vu_msg m;
	struct test_ring ring[NQ];
	int mem_fd;
	uint8_t *mem;
	/* Guest memory in an mmap'd buffer, to make it inaccessible at will. */
	void *guard;
	uint64_t guard_size;
};

static int fx_setup(void **state, int has_fds, const struct vu_backend_config *cfg)
{
	struct fx *f = calloc(1, sizeof(*f));

	if (!f)
		return -1;
	fake_platform_init(&f->fp, has_fds);
	tdev_init(&f->dev);
	vu_backend_init(&f->b, &f->fp.plat, &f->dev.desc, &f->dev, cfg);
	f->cur = &f->b;
	f->mem_fd = -1;
	*state = f;
	return 0;
}

static int setup(void **state)
{
	return fx_setup(state, 1, NULL);
}

static int setup_nofds(void **state)
{
	return fx_setup(state, 0, NULL);
}

static int setup_no_mem_slots(void **state)
{
	struct vu_backend_config cfg = {.no_mem_slots = true};

	return fx_setup(state, 1, &cfg);
}

static int setup_max_slots_32(void **state)
{
	struct vu_backend_config cfg = {.max_mem_slots = 32};

	return fx_setup(state, 1, &cfg);
}

static int teardown(void **state)
{
	struct fx *f = *state;

	vu_backend_disconnect(&f->b);
	/* Whatever a test did, a disconnect releases every mapping. */
	assert_int_equal(f->fp.maps, f->fp.unmaps);
	if (f->guard) {
		munmap(f->guard, f->guard_size);
		f->fp.files[f->mem_fd - FAKE_FD_BASE].data = NULL;
	}
	fake_platform_fini(&f->fp);
	free(f);
	return 0;
}

static bool fd_open(const struct fx *f, int fd)
{
	assert_true(fd >= FAKE_FD_BASE && fd < FAKE_FD_BASE + f->fp.nfiles);
	return f->fp.files[fd - FAKE_FD_BASE].open != 0;
}

/* The front-end kept its own descriptor of a file the back-end closed. */
static void reopen(struct fx *f, int fd)
{
	assert_false(fd_open(f, fd));
	f->fp.files[fd - FAKE_FD_BASE].open = 1;
}

static int new_fd(struct fx *f, uint64_t size)
{
	int fd = fake_file_new(&f->fp, size);

	assert_true(fd >= FAKE_FD_BASE);
	return fd;
}

/* Each of fds[] was closed, and closed once: `closes` grew by exactly n. */
static void expect_closed(const struct fx *f, const int *fds, unsigned n, int closes_before)
{
	for (unsigned i = 0; i < n; i++)
		assert_false(fd_open(f, fds[i]));
	assert_int_equal(f->fp.closes - closes_before, n);
}

/* ---- messages ----------------------------------------------------------- */

static struct vu_msg *mk(struct fx *f, uint32_t request, uint32_t size)
{
	msg_build(&f->m, request, size);
	return &f->m;
}

static void with_fd(struct vu_msg *m, int fd)
{
	m->fds[m->nfds++] = fd;
}

static int handle(struct fx *f)
{
	return vu_backend_handle(f->cur, &f->m);
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

/* KICK/CALL/ERR: payload v, and fd if >= 0. */
static int send_ring_fd(struct fx *f, uint32_t request, uint64_t v, int fd)
{
	struct vu_msg *m = mk(f, request, 8);

	m->p.u64 = v;
	if (fd >= 0)
		with_fd(m, fd);
	return handle(f);
}

static int send_addr(struct fx *f, const struct vu_vring_addr *a)
{
	mk(f, VU_REQ_SET_VRING_ADDR, sizeof(*a))->p.addr = *a;
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

static int send_region(struct fx *f, uint32_t request, uint64_t gpa, uint64_t size, uint64_t uaddr,
		       uint64_t off, int fd)
{
	struct vu_msg *m = mk_region(f, request, gpa, size, uaddr, off);

	if (fd >= 0)
		with_fd(m, fd);
	return handle(f);
}

static struct vu_msg *mk_inflight(struct fx *f, uint32_t request, uint64_t mmap_size,
				  uint64_t mmap_off, uint16_t nq, uint16_t qs)
{
	struct vu_msg *m = mk(f, request, sizeof(struct vu_inflight_msg));

	m->p.inflight.mmap_size = mmap_size;
	m->p.inflight.mmap_offset = mmap_off;
	m->p.inflight.num_queues = nq;
	m->p.inflight.queue_size = qs;
	return m;
}

static struct vu_msg *mk_config(struct fx *f, uint32_t request, uint32_t offset,
				uint32_t size_field, uint32_t payload)
{
	struct vu_msg *m = mk(f, request, VU_CONFIG_HDR_SIZE + payload);

	m->p.config.offset = offset;
	m->p.config.size = size_field;
	return m;
}

/* Reply i as the front-end sees it: flags exactly 0x5, same request code. */
static const struct vu_msg *reply(const struct fx *f, int i, uint32_t request)
{
	const struct vu_msg *r;

	assert_true(i < f->fp.nsent);
	r = &f->fp.sent[i];
	assert_int_equal(r->hdr.flags, VU_REPLY_FLAGS);
	assert_int_equal(r->hdr.request, request);
	return r;
}

static uint64_t reply_u64(const struct fx *f, int i, uint32_t request)
{
	const struct vu_msg *r = reply(f, i, request);

	assert_int_equal(r->hdr.size, 8);
	assert_int_equal(r->nfds, 0);
	return r->p.u64;
}

/* ---- session steps ------------------------------------------------------ */

#define F_DEFAULT (VU_BIT(VU_F_VERSION_1) | VU_BIT(VU_F_PROTOCOL_FEATURES))

static void negotiate(struct fx *f, uint64_t features, uint64_t pf)
{
	assert_int_equal(send_empty(f, VU_REQ_GET_FEATURES), 0);
	if (features & VU_BIT(VU_F_PROTOCOL_FEATURES)) {
		assert_int_equal(send_empty(f, VU_REQ_GET_PROTOCOL_FEATURES), 0);
		assert_int_equal(send_u64(f, VU_REQ_SET_PROTOCOL_FEATURES, pf), 0);
	}
	assert_int_equal(send_empty(f, VU_REQ_SET_OWNER), 0);
	assert_int_equal(send_u64(f, VU_REQ_SET_FEATURES, features), 0);
	f->fp.nsent = 0;
}

/* Everything offered, without EVENT_IDX (so every completion interrupts). */
static void negotiate_all(struct fx *f)
{
	negotiate(f, F_DEFAULT, vu_backend_offered_protocol_features(f->cur));
}

static void rings_init(struct fx *f)
{
	test_ring_init(&f->ring[0], f->mem, MEM_GPA, MEM_UADDR, MEM_SIZE, RING0_OFF, DATA0_OFF,
		       DATA0_LEN, QSZ);
	test_ring_init(&f->ring[1], f->mem, MEM_GPA, MEM_UADDR, MEM_SIZE, RING1_OFF, DATA1_OFF,
		       DATA1_LEN, QSZ);
}

static void mem_file(struct fx *f)
{
	f->mem_fd = new_fd(f, MEM_SIZE);
	f->mem = fake_file_ptr(&f->fp, f->mem_fd, 0);
	rings_init(f);
}

/* fd-less transport: guest memory is window 0 (test_backend_nofd.c covers
 * the window rules). */
static void mem_window(struct fx *f)
{
	assert_int_equal(fake_window_new(&f->fp, MEM_SIZE), 0);
	f->mem = fake_window_ptr(&f->fp, 0, 0);
	rings_init(f);
}

/* Guest memory as one ADD_MEM_REG; the back-end closes the fd after mapping. */
static void add_memory(struct fx *f)
{
	int closes = f->fp.closes;

	if (f->mem_fd < 0)
		mem_file(f);
	assert_int_equal(
		send_region(f, VU_REQ_ADD_MEM_REG, MEM_GPA, MEM_SIZE, MEM_UADDR, 0, f->mem_fd), 0);
	expect_closed(f, &f->mem_fd, 1, closes);
}

/* Same memory through SET_MEM_TABLE (no protocol feature needed). */
static void set_mem_table(struct fx *f)
{
	struct vu_msg *m;
	bool fds = f->fp.plat.has_fds;

	if (!fds)
		mem_window(f);
	else if (f->mem_fd < 0)
		mem_file(f);
	m = mk(f, VU_REQ_SET_MEM_TABLE, 8 + sizeof(struct vu_mem_region));
	m->p.mem_table.nregions = 1;
	m->p.mem_table.regions[0] =
		(struct vu_mem_region){.gpa = MEM_GPA, .size = MEM_SIZE, .uaddr = MEM_UADDR};
	if (fds)
		with_fd(m, f->mem_fd);
	assert_int_equal(handle(f), 0);
	if (fds)
		assert_false(fd_open(f, f->mem_fd));
}

/* Put guest memory in an mmap'd buffer that a test can make inaccessible. */
static void guard_memory(struct fx *f)
{
	struct fake_file *ff;

	mem_file(f);
	ff = &f->fp.files[f->mem_fd - FAKE_FD_BASE];
	f->guard_size = ff->size;
	f->guard = mmap(NULL, f->guard_size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS,
			-1, 0);
	assert_true(f->guard != MAP_FAILED);
	free(ff->data);
	ff->data = f->guard;
	f->mem = f->guard;
	rings_init(f);
}

/* NUM, BASE, ADDR, then KICK (kick_fd, or NOFD polling if < 0). */
static void ring_setup(struct fx *f, uint32_t q, uint16_t base, int kick_fd)
{
	struct vu_vring_addr a;

	assert_int_equal(send_state(f, VU_REQ_SET_VRING_NUM, q, QSZ), 0);
	assert_int_equal(send_state(f, VU_REQ_SET_VRING_BASE, q, base), 0);
	test_ring_addr(&f->ring[q], q, &a);
	assert_int_equal(send_addr(f, &a), 0);
	if (kick_fd >= 0)
		assert_int_equal(send_ring_fd(f, VU_REQ_SET_VRING_KICK, q, kick_fd), 0);
	else
		assert_int_equal(send_ring_fd(f, VU_REQ_SET_VRING_KICK, q | VU_VRING_NOFD, -1), 0);
	assert_true(f->cur->vq[q].started);
}

static void ring_up(struct fx *f, uint32_t q)
{
	ring_setup(f, q, 0, -1);
	assert_int_equal(send_state(f, VU_REQ_SET_VRING_ENABLE, q, 1), 0);
}

/* The usual connected session: everything negotiated, memory, ring 0 up. */
static void session(struct fx *f)
{
	negotiate_all(f);
	add_memory(f);
	ring_up(f, 0);
}

struct echo {
	uint16_t head;
	uint64_t out_gpa, in_gpa;
	uint32_t out_len, in_len;
};

/* A chain of one readable buffer holding `text` and one writable buffer. */
static struct echo add_echo(struct fx *f, uint32_t q, const char *text, uint32_t in_len)
{
	struct test_ring *r = &f->ring[q];
	struct echo e = {.out_len = (uint32_t)strlen(text), .in_len = in_len};
	struct test_seg seg[2];

	e.out_gpa = test_ring_alloc(r, e.out_len);
	e.in_gpa = test_ring_alloc(r, in_len);
	memcpy(test_ring_ptr(r, e.out_gpa), text, e.out_len);
	seg[0] = (struct test_seg){.gpa = e.out_gpa, .len = e.out_len};
	seg[1] = (struct test_seg){.gpa = e.in_gpa, .len = in_len, .write = true};
	e.head = test_ring_add(r, seg, 2);
	return e;
}

static void expect_used(struct fx *f, uint32_t q, uint16_t head, uint32_t len)
{
	uint32_t id, l;

	assert_true(test_ring_pop_used(&f->ring[q], &id, &l));
	assert_int_equal(id, head);
	assert_int_equal(l, len);
}

static bool signalled(const struct fx *f, int fd)
{
	for (int i = 0; i < f->fp.signals && i < FAKE_MAX_SENT; i++)
		if (f->fp.signalled_fd[i] == fd)
			return true;
	return false;
}

/* ---- features ----------------------------------------------------------- */

static void test_get_features_reply(void **state)
{
	struct fx *f = *state;
	uint64_t v;

	assert_int_equal(send_empty(f, VU_REQ_GET_FEATURES), 0);
	assert_int_equal(f->fp.nsent, 1);
	assert_int_equal(f->fp.sent[0].hdr.flags, 0x5);
	v = reply_u64(f, 0, VU_REQ_GET_FEATURES);
	assert_true(v & VU_BIT(VU_F_VERSION_1));
	assert_true(v & VU_BIT(VU_F_RING_EVENT_IDX));
	assert_true(v & VU_BIT(VU_F_PROTOCOL_FEATURES));
	/* The device's own bits come along. */
	assert_true(v & VU_BIT(1));
	assert_true(v & VU_BIT(5));
	assert_false(v & VU_BIT(VU_F_LOG_ALL));
	assert_false(v & VU_BIT(VU_F_RING_PACKED));
}

static void test_protocol_features_offered_with_fds(void **state)
{
	struct fx *f = *state;
	uint64_t pf;

	assert_int_equal(send_empty(f, VU_REQ_GET_PROTOCOL_FEATURES), 0);
	assert_int_equal(f->fp.nsent, 1);
	pf = reply_u64(f, 0, VU_REQ_GET_PROTOCOL_FEATURES);
	assert_true(pf & VU_BIT(VU_PF_MQ));
	assert_true(pf & VU_BIT(VU_PF_REPLY_ACK));
	assert_true(pf & VU_BIT(VU_PF_BACKEND_REQ));
	assert_true(pf & VU_BIT(VU_PF_CONFIG));
	assert_true(pf & VU_BIT(VU_PF_RESET_DEVICE));
	assert_true(pf & VU_BIT(VU_PF_CONFIGURE_MEM_SLOTS));
	assert_true(pf & VU_BIT(VU_PF_STATUS));
	assert_true(pf & VU_BIT(VU_PF_INFLIGHT_SHMFD));
	/* QEMU would ack it and never use it (PROTOCOL-NOTES, Rings). */
	assert_false(pf & VU_BIT(VU_PF_INBAND_NOTIFICATIONS));
	assert_false(pf & VU_BIT(VU_PF_LOG_SHMFD));
	assert_false(pf & VU_BIT(VU_PF_PAGEFAULT));
	assert_false(pf & VU_BIT(VU_PF_SHMEM));
}

static void test_protocol_features_offered_without_fds(void **state)
{
	struct fx *f = *state;
	uint64_t pf;

	assert_int_equal(send_empty(f, VU_REQ_GET_PROTOCOL_FEATURES), 0);
	pf = reply_u64(f, 0, VU_REQ_GET_PROTOCOL_FEATURES);
	assert_true(pf & VU_BIT(VU_PF_INBAND_NOTIFICATIONS));
	assert_false(pf & VU_BIT(VU_PF_INFLIGHT_SHMFD));
	assert_true(pf & VU_BIT(VU_PF_BACKEND_REQ));
	assert_true(pf & VU_BIT(VU_PF_REPLY_ACK));
}

static void test_protocol_features_without_mem_slots(void **state)
{
	struct fx *f = *state;
	uint64_t pf;

	assert_int_equal(send_empty(f, VU_REQ_GET_PROTOCOL_FEATURES), 0);
	pf = reply_u64(f, 0, VU_REQ_GET_PROTOCOL_FEATURES);
	assert_false(pf & VU_BIT(VU_PF_CONFIGURE_MEM_SLOTS));
	assert_true(pf & VU_BIT(VU_PF_REPLY_ACK));
}

static void test_set_features_unoffered_bit_refused(void **state)
{
	struct fx *f = *state;

	assert_int_equal(send_empty(f, VU_REQ_SET_OWNER), 0);
	assert_true(send_u64(f, VU_REQ_SET_FEATURES, F_DEFAULT | VU_BIT(VU_F_LOG_ALL)) < 0);
	assert_true(send_u64(f, VU_REQ_SET_FEATURES, F_DEFAULT | VU_BIT(63)) < 0);
	assert_int_equal(f->b.features, 0);
	assert_int_equal(send_u64(f, VU_REQ_SET_FEATURES, F_DEFAULT), 0);
	assert_int_equal(f->b.features, F_DEFAULT);
	assert_int_equal(f->fp.nsent, 0);
}

static void test_set_protocol_features_unoffered_bit_refused(void **state)
{
	struct fx *f = *state;
	uint64_t offered = vu_backend_offered_protocol_features(&f->b);

	assert_true(send_u64(f, VU_REQ_SET_PROTOCOL_FEATURES, offered | VU_BIT(VU_PF_LOG_SHMFD)) <
		    0);
	assert_true(send_u64(f, VU_REQ_SET_PROTOCOL_FEATURES,
			     VU_BIT(VU_PF_INBAND_NOTIFICATIONS) | VU_BIT(VU_PF_REPLY_ACK) |
				     VU_BIT(VU_PF_BACKEND_REQ)) < 0);
	assert_int_equal(f->b.pfeatures, 0);
	assert_false(f->b.pfeatures_set);
	assert_int_equal(send_u64(f, VU_REQ_SET_PROTOCOL_FEATURES, offered), 0);
	assert_int_equal(f->b.pfeatures, offered);
}

static void test_inband_without_backend_req_refused(void **state)
{
	struct fx *f = *state;

	assert_true(send_u64(f, VU_REQ_SET_PROTOCOL_FEATURES,
			     VU_BIT(VU_PF_INBAND_NOTIFICATIONS) | VU_BIT(VU_PF_REPLY_ACK)) < 0);
	assert_int_equal(f->b.pfeatures, 0);
}

static void test_inband_without_reply_ack_refused(void **state)
{
	struct fx *f = *state;

	assert_true(send_u64(f, VU_REQ_SET_PROTOCOL_FEATURES,
			     VU_BIT(VU_PF_INBAND_NOTIFICATIONS) | VU_BIT(VU_PF_BACKEND_REQ)) < 0);
	assert_int_equal(f->b.pfeatures, 0);
}

static void test_inband_with_backend_req_and_reply_ack_accepted(void **state)
{
	struct fx *f = *state;
	uint64_t pf = VU_BIT(VU_PF_INBAND_NOTIFICATIONS) | VU_BIT(VU_PF_BACKEND_REQ) |
		      VU_BIT(VU_PF_REPLY_ACK);

	assert_int_equal(send_u64(f, VU_REQ_SET_PROTOCOL_FEATURES, pf), 0);
	assert_int_equal(f->b.pfeatures, pf);
}

static void test_event_idx_reaches_the_rings(void **state)
{
	struct fx *f = *state;

	negotiate(f, F_DEFAULT | VU_BIT(VU_F_RING_EVENT_IDX), 0);
	for (unsigned i = 0; i < NQ; i++)
		assert_true(f->b.vq[i].event_idx);
}

/* ---- REPLY_ACK ---------------------------------------------------------- */

static void test_reply_ack_failure_is_nonzero_and_connection_stays(void **state)
{
	struct fx *f = *state;

	negotiate_all(f);
	mk(f, VU_REQ_SET_VRING_NUM, 8)->p.state = (struct vu_vring_state){.index = 0, .num = 3};
	assert_int_equal(handle_need_reply(f), 0);
	assert_int_equal(f->fp.nsent, 1);
	assert_int_equal(reply_u64(f, 0, VU_REQ_SET_VRING_NUM), EINVAL);
}

static void test_reply_ack_success_is_zero(void **state)
{
	struct fx *f = *state;

	negotiate_all(f);
	mk(f, VU_REQ_SET_VRING_NUM, 8)->p.state = (struct vu_vring_state){.index = 0, .num = QSZ};
	assert_int_equal(handle_need_reply(f), 0);
	assert_int_equal(f->fp.nsent, 1);
	assert_int_equal(reply_u64(f, 0, VU_REQ_SET_VRING_NUM), 0);
	assert_int_equal(f->b.vq[0].size, QSZ);
}

static void test_reply_ack_for_envelope_rejection(void **state)
{
	struct fx *f = *state;

	/* Rejected by the table (wrong size), not by a handler: still acked. */
	negotiate_all(f);
	mk(f, VU_REQ_SET_VRING_NUM, 4);
	assert_int_equal(handle_need_reply(f), 0);
	assert_int_equal(f->fp.nsent, 1);
	assert_int_equal(reply_u64(f, 0, VU_REQ_SET_VRING_NUM), EINVAL);
}

static void test_reply_ack_request_with_own_reply_answers_once(void **state)
{
	struct fx *f = *state;

	negotiate_all(f);
	mk(f, VU_REQ_GET_FEATURES, 0);
	assert_int_equal(handle_need_reply(f), 0);
	assert_int_equal(f->fp.nsent, 1);
	assert_int_equal(reply_u64(f, 0, VU_REQ_GET_FEATURES), vu_backend_offered_features(&f->b));
}

static void test_reply_ack_failing_request_with_own_reply_closes(void **state)
{
	struct fx *f = *state;

	/* No valid GET_VRING_BASE reply exists for ring 2, and a u64 ack in
	 * its place would be misread as a ring index: close instead. */
	negotiate_all(f);
	mk(f, VU_REQ_GET_VRING_BASE, 8)->p.state.index = 2;
	assert_true(handle_need_reply(f) < 0);
	assert_int_equal(f->fp.nsent, 0);
}

static void test_no_reply_without_need_reply(void **state)
{
	struct fx *f = *state;

	negotiate_all(f);
	assert_int_equal(send_state(f, VU_REQ_SET_VRING_NUM, 0, QSZ), 0);
	assert_int_equal(send_state(f, VU_REQ_SET_VRING_BASE, 0, 0), 0);
	assert_int_equal(send_u64(f, VU_REQ_SET_STATUS, 1), 0);
	assert_int_equal(f->fp.nsent, 0);
}

static void test_failure_without_need_reply_closes(void **state)
{
	struct fx *f = *state;

	negotiate_all(f);
	assert_true(send_state(f, VU_REQ_SET_VRING_NUM, 0, 3) < 0);
	assert_int_equal(f->fp.nsent, 0);
}

static void test_need_reply_ignored_without_reply_ack(void **state)
{
	struct fx *f = *state;

	negotiate(f, F_DEFAULT, 0);
	mk(f, VU_REQ_SET_VRING_NUM, 8)->p.state = (struct vu_vring_state){.index = 0, .num = QSZ};
	assert_int_equal(handle_need_reply(f), 0);
	assert_int_equal(f->fp.nsent, 0);
	mk(f, VU_REQ_SET_VRING_NUM, 8)->p.state = (struct vu_vring_state){.index = 0, .num = 3};
	assert_true(handle_need_reply(f) < 0);
	assert_int_equal(f->fp.nsent, 0);
}

/* ---- ring index out of range -------------------------------------------- */

static const uint32_t bad_index[] = {NQ, 4000, 0xffffffffu};

static void test_set_vring_num_index_out_of_range(void **state)
{
	struct fx *f = *state;

	negotiate_all(f);
	for (size_t i = 0; i < sizeof(bad_index) / sizeof(bad_index[0]); i++)
		assert_true(send_state(f, VU_REQ_SET_VRING_NUM, bad_index[i], QSZ) < 0);
	assert_int_equal(f->b.vq[NQ].size, 0);
}

static void test_set_vring_addr_index_out_of_range(void **state)
{
	struct fx *f = *state;
	struct vu_vring_addr a;

	negotiate_all(f);
	add_memory(f);
	test_ring_addr(&f->ring[0], 0, &a);
	for (size_t i = 0; i < sizeof(bad_index) / sizeof(bad_index[0]); i++) {
		a.index = bad_index[i];
		assert_true(send_addr(f, &a) < 0);
	}
	assert_false(f->b.vq[NQ].addr_set);
}

static void test_set_vring_base_index_out_of_range(void **state)
{
	struct fx *f = *state;

	negotiate_all(f);
	for (size_t i = 0; i < sizeof(bad_index) / sizeof(bad_index[0]); i++)
		assert_true(send_state(f, VU_REQ_SET_VRING_BASE, bad_index[i], 5) < 0);
	assert_int_equal(f->b.vq[NQ].last_avail_idx, 0);
}

static void test_get_vring_base_index_out_of_range(void **state)
{
	struct fx *f = *state;

	negotiate_all(f);
	for (size_t i = 0; i < sizeof(bad_index) / sizeof(bad_index[0]); i++)
		assert_true(send_state(f, VU_REQ_GET_VRING_BASE, bad_index[i], 0) < 0);
	assert_int_equal(f->fp.nsent, 0);
}

static void test_set_vring_enable_index_out_of_range(void **state)
{
	struct fx *f = *state;

	negotiate_all(f);
	for (size_t i = 0; i < sizeof(bad_index) / sizeof(bad_index[0]); i++)
		assert_true(send_state(f, VU_REQ_SET_VRING_ENABLE, bad_index[i], 1) < 0);
	assert_false(f->b.vq[NQ].enabled);
}

/* KICK/CALL/ERR: ring 2 and 255 (the largest the 8-bit field holds) with and
 * without an fd, and 4000 (which spills into NOFD and reserved bits). */
static void expect_ring_fd_index_refused(struct fx *f, uint32_t request)
{
	int closes = f->fp.closes;
	int fd2 = new_fd(f, 8), fd255 = new_fd(f, 8), fd4000 = new_fd(f, 8);
	int fds[3] = {fd2, fd255, fd4000};

	negotiate_all(f);
	add_memory(f);
	closes = f->fp.closes;
	assert_true(send_ring_fd(f, request, NQ, fd2) < 0);
	assert_true(send_ring_fd(f, request, 255, fd255) < 0);
	assert_true(send_ring_fd(f, request, 4000, fd4000) < 0);
	expect_closed(f, fds, 3, closes);
	assert_true(send_ring_fd(f, request, NQ | VU_VRING_NOFD, -1) < 0);
	assert_true(send_ring_fd(f, request, 255 | VU_VRING_NOFD, -1) < 0);
	for (unsigned q = 0; q < VU_MAX_QUEUES; q++) {
		assert_int_equal(f->b.vq[q].kick_fd, -1);
		assert_int_equal(f->b.vq[q].call_fd, -1);
		assert_int_equal(f->b.vq[q].err_fd, -1);
		assert_false(f->b.vq[q].started);
	}
}

static void test_set_vring_kick_index_out_of_range(void **state)
{
	expect_ring_fd_index_refused(*state, VU_REQ_SET_VRING_KICK);
}

static void test_set_vring_call_index_out_of_range(void **state)
{
	expect_ring_fd_index_refused(*state, VU_REQ_SET_VRING_CALL);
}

static void test_set_vring_err_index_out_of_range(void **state)
{
	expect_ring_fd_index_refused(*state, VU_REQ_SET_VRING_ERR);
}

static void test_inband_vring_kick_index_out_of_range(void **state)
{
	struct fx *f = *state;

	negotiate_all(f);
	assert_true(f->b.pfeatures & VU_BIT(VU_PF_INBAND_NOTIFICATIONS));
	for (size_t i = 0; i < sizeof(bad_index) / sizeof(bad_index[0]); i++)
		assert_true(send_state(f, VU_REQ_VRING_KICK, bad_index[i], 0) < 0);
	assert_false(f->b.vq[NQ].kicked);
	vu_backend_kick(&f->b, 4000); /* the platform's path: ignored */
	vu_backend_kick(&f->b, NQ);
	assert_false(f->b.vq[NQ].kicked);
}

/* ---- KICK/CALL/ERR payload ---------------------------------------------- */

static void test_ring_fd_reserved_bits_refused(void **state)
{
	struct fx *f = *state;
	int closes, fds[2];

	negotiate_all(f);
	add_memory(f);
	fds[0] = new_fd(f, 8);
	fds[1] = new_fd(f, 8);
	closes = f->fp.closes;
	assert_true(send_ring_fd(f, VU_REQ_SET_VRING_KICK, 0 | (1u << 9), fds[0]) < 0);
	assert_true(send_ring_fd(f, VU_REQ_SET_VRING_CALL, 0 | (1ull << 32), fds[1]) < 0);
	expect_closed(f, fds, 2, closes);
	assert_true(send_ring_fd(f, VU_REQ_SET_VRING_KICK, VU_VRING_NOFD | (1ull << 32), -1) < 0);
	assert_true(send_ring_fd(f, VU_REQ_SET_VRING_ERR, VU_VRING_NOFD | (1ull << 63), -1) < 0);
	assert_int_equal(f->b.vq[0].kick_fd, -1);
	assert_int_equal(f->b.vq[0].call_fd, -1);
	assert_false(f->b.vq[0].started);
}

static void test_ring_fd_nofd_with_fd_refused(void **state)
{
	struct fx *f = *state;
	int closes, fds[2];

	negotiate_all(f);
	fds[0] = new_fd(f, 8);
	fds[1] = new_fd(f, 8);
	closes = f->fp.closes;
	assert_true(send_ring_fd(f, VU_REQ_SET_VRING_KICK, 0 | VU_VRING_NOFD, fds[0]) < 0);
	assert_true(send_ring_fd(f, VU_REQ_SET_VRING_CALL, 1 | VU_VRING_NOFD, fds[1]) < 0);
	expect_closed(f, fds, 2, closes);
	assert_int_equal(f->b.vq[0].kick_fd, -1);
	assert_int_equal(f->b.vq[1].call_fd, -1);
}

static void test_ring_fd_without_fd_or_nofd_refused(void **state)
{
	struct fx *f = *state;

	negotiate_all(f);
	assert_true(send_ring_fd(f, VU_REQ_SET_VRING_CALL, 0, -1) < 0);
	assert_true(send_ring_fd(f, VU_REQ_SET_VRING_ERR, 1, -1) < 0);
	assert_true(send_ring_fd(f, VU_REQ_SET_VRING_KICK, 0, -1) < 0);
}

static void test_ring_fd_replaced_closes_old(void **state)
{
	struct fx *f = *state;
	int a, b, closes;

	negotiate_all(f);
	a = new_fd(f, 8);
	b = new_fd(f, 8);
	assert_int_equal(send_ring_fd(f, VU_REQ_SET_VRING_CALL, 1, a), 0);
	assert_int_equal(f->b.vq[1].call_fd, a);
	assert_true(fd_open(f, a));
	closes = f->fp.closes;
	assert_int_equal(send_ring_fd(f, VU_REQ_SET_VRING_CALL, 1, b), 0);
	expect_closed(f, &a, 1, closes);
	assert_true(fd_open(f, b));
	/* NOFD drops the fd too. */
	closes = f->fp.closes;
	assert_int_equal(send_ring_fd(f, VU_REQ_SET_VRING_CALL, 1 | VU_VRING_NOFD, -1), 0);
	expect_closed(f, &b, 1, closes);
	assert_int_equal(f->b.vq[1].call_fd, -1);
}

/* ---- ring numbers ------------------------------------------------------- */

static void test_vring_num_zero_refused(void **state)
{
	struct fx *f = *state;

	negotiate_all(f);
	assert_true(send_state(f, VU_REQ_SET_VRING_NUM, 0, 0) < 0);
	assert_int_equal(f->b.vq[0].size, 0);
}

static void test_vring_num_not_power_of_two_refused(void **state)
{
	struct fx *f = *state;

	negotiate_all(f);
	assert_true(send_state(f, VU_REQ_SET_VRING_NUM, 0, 3) < 0);
	assert_true(send_state(f, VU_REQ_SET_VRING_NUM, 0, 100) < 0);
	assert_int_equal(f->b.vq[0].size, 0);
}

static void test_vring_num_65536_refused(void **state)
{
	struct fx *f = *state;

	negotiate_all(f);
	assert_true(send_state(f, VU_REQ_SET_VRING_NUM, 0, 65536) < 0);
	assert_true(send_state(f, VU_REQ_SET_VRING_NUM, 0, 0x80000000u) < 0);
	assert_int_equal(f->b.vq[0].size, 0);
}

static void test_vring_num_above_device_max_refused(void **state)
{
	struct fx *f = *state;

	negotiate_all(f);
	assert_true(send_state(f, VU_REQ_SET_VRING_NUM, 0, MAXQ * 2) < 0);
	assert_true(send_state(f, VU_REQ_SET_VRING_NUM, 0, 32768) < 0);
	assert_int_equal(f->b.vq[0].size, 0);
	assert_int_equal(send_state(f, VU_REQ_SET_VRING_NUM, 0, MAXQ), 0);
	assert_int_equal(f->b.vq[0].size, MAXQ);
	assert_int_equal(send_state(f, VU_REQ_SET_VRING_NUM, 0, 1), 0);
	assert_int_equal(f->b.vq[0].size, 1);
}

static void test_vring_num_on_started_ring_refused(void **state)
{
	struct fx *f = *state;

	session(f);
	assert_true(send_state(f, VU_REQ_SET_VRING_NUM, 0, QSZ / 2) < 0);
	assert_int_equal(f->b.vq[0].size, QSZ);
}

static void test_vring_base_above_16_bits_refused(void **state)
{
	struct fx *f = *state;

	negotiate_all(f);
	assert_true(send_state(f, VU_REQ_SET_VRING_BASE, 0, 0x10000) < 0);
	assert_true(send_state(f, VU_REQ_SET_VRING_BASE, 0, 0xffffffffu) < 0);
	assert_int_equal(f->b.vq[0].last_avail_idx, 0);
	assert_int_equal(send_state(f, VU_REQ_SET_VRING_BASE, 0, 0xffff), 0);
	assert_int_equal(f->b.vq[0].last_avail_idx, 0xffff);
}

static void test_vring_enable_2_refused(void **state)
{
	struct fx *f = *state;

	negotiate_all(f);
	assert_true(send_state(f, VU_REQ_SET_VRING_ENABLE, 0, 2) < 0);
	assert_false(f->b.vq[0].enabled);
	assert_true(send_state(f, VU_REQ_SET_VRING_ENABLE, 0, 0xffffffffu) < 0);
	assert_false(f->b.vq[0].enabled);
}

/* ---- ring addresses ----------------------------------------------------- */

static void test_vring_addr_before_num_refused(void **state)
{
	struct fx *f = *state;
	struct vu_vring_addr a;

	negotiate_all(f);
	add_memory(f);
	test_ring_addr(&f->ring[0], 0, &a);
	assert_true(send_addr(f, &a) < 0);
	assert_false(f->b.vq[0].addr_set);
	/* And a kick cannot start it. */
	assert_true(send_ring_fd(f, VU_REQ_SET_VRING_KICK, VU_VRING_NOFD, -1) < 0);
	assert_false(f->b.vq[0].started);
}

static void test_vring_addr_without_memory_refused(void **state)
{
	struct fx *f = *state;
	struct vu_vring_addr a = {.index = 0,
				  .desc = MEM_UADDR,
				  .avail = MEM_UADDR + 0x1000,
				  .used = MEM_UADDR + 0x2000};

	negotiate_all(f);
	assert_int_equal(send_state(f, VU_REQ_SET_VRING_NUM, 0, QSZ), 0);
	assert_true(send_addr(f, &a) < 0);
	assert_false(f->b.vq[0].addr_set);
	assert_true(send_ring_fd(f, VU_REQ_SET_VRING_KICK, VU_VRING_NOFD, -1) < 0);
	assert_false(f->b.vq[0].started);
}

static void expect_addr_refused(struct fx *f, const struct vu_vring_addr *a)
{
	assert_true(send_addr(f, a) < 0);
	assert_false(f->b.vq[0].addr_set);
	assert_null(f->b.vq[0].desc);
}

static void test_vring_addr_outside_memory_refused(void **state)
{
	struct fx *f = *state;
	struct vu_vring_addr good, a;

	negotiate_all(f);
	add_memory(f);
	assert_int_equal(send_state(f, VU_REQ_SET_VRING_NUM, 0, QSZ), 0);
	test_ring_addr(&f->ring[0], 0, &good);

	a = good; /* desc table just past the region */
	a.desc = MEM_UADDR + MEM_SIZE;
	expect_addr_refused(f, &a);
	a = good; /* used ring straddling the end of the region */
	a.used = MEM_UADDR + MEM_SIZE - 16;
	expect_addr_refused(f, &a);
	a = good; /* avail ring below the region */
	a.avail = MEM_UADDR - 2;
	expect_addr_refused(f, &a);
	a = good; /* a guest-physical address is not a front-end address */
	a.desc = MEM_GPA;
	expect_addr_refused(f, &a);
	a = good; /* wrapping */
	a.used = 0xfffffffffffffffcull;
	expect_addr_refused(f, &a);

	assert_int_equal(send_addr(f, &good), 0);
	assert_true(f->b.vq[0].addr_set);
}

/* ---- SET_MEM_TABLE ------------------------------------------------------ */

static struct vu_msg *mk_table(struct fx *f, uint32_t nregions, uint32_t nr, const int *fds,
			       uint32_t nfds)
{
	struct vu_msg *m = mk(f, VU_REQ_SET_MEM_TABLE, 8 + nr * sizeof(struct vu_mem_region));

	m->p.mem_table.nregions = nregions;
	for (uint32_t i = 0; i < nr; i++)
		m->p.mem_table.regions[i] = (struct vu_mem_region){
			.gpa = i * PAGE, .size = PAGE, .uaddr = MEM_UADDR + i * PAGE};
	for (uint32_t i = 0; i < nfds; i++)
		with_fd(m, fds[i]);
	return m;
}

static void new_fds(struct fx *f, int *fds, unsigned n)
{
	for (unsigned i = 0; i < n; i++)
		fds[i] = new_fd(f, PAGE);
}

static void test_mem_table_nregions_9_refused(void **state)
{
	struct fx *f = *state;
	int fds[8], closes;

	negotiate_all(f);
	new_fds(f, fds, 8);
	closes = f->fp.closes;
	mk_table(f, 9, 8, fds, 8);
	assert_true(handle(f) < 0);
	expect_closed(f, fds, 8, closes);
	assert_int_equal(f->b.mem.count, 0);
	assert_int_equal(f->fp.maps, 0);
}

static void test_mem_table_nregions_huge_refused(void **state)
{
	struct fx *f = *state;
	int fds[2], closes;

	negotiate_all(f);
	new_fds(f, fds, 2);
	closes = f->fp.closes;
	mk_table(f, 0x80000001u, 2, fds, 2);
	assert_true(handle(f) < 0);
	expect_closed(f, fds, 2, closes);
	assert_int_equal(f->fp.maps, 0);
}

static void test_mem_table_size_mismatch_refused(void **state)
{
	struct fx *f = *state;
	int fds[2], closes;

	negotiate_all(f);
	new_fds(f, fds, 2);
	closes = f->fp.closes;
	mk_table(f, 2, 1, fds, 2); /* two regions claimed, one sent */
	assert_true(handle(f) < 0);
	expect_closed(f, fds, 2, closes);
	assert_int_equal(f->fp.maps, 0);

	new_fds(f, fds, 1);
	closes = f->fp.closes;
	mk_table(f, 1, 2, fds, 1); /* one claimed, two sent */
	assert_true(handle(f) < 0);
	expect_closed(f, fds, 1, closes);
	assert_int_equal(f->fp.maps, 0);
}

static void test_mem_table_too_few_fds_refused(void **state)
{
	struct fx *f = *state;
	int fds[1], closes;

	negotiate_all(f);
	new_fds(f, fds, 1);
	closes = f->fp.closes;
	mk_table(f, 2, 2, fds, 1);
	assert_true(handle(f) < 0);
	expect_closed(f, fds, 1, closes);
	assert_int_equal(f->fp.maps, 0);
	assert_int_equal(f->b.mem.count, 0);
}

static void test_mem_table_too_many_fds_refused(void **state)
{
	struct fx *f = *state;
	int fds[3], closes;

	negotiate_all(f);
	new_fds(f, fds, 3);
	closes = f->fp.closes;
	mk_table(f, 2, 2, fds, 3);
	assert_true(handle(f) < 0);
	expect_closed(f, fds, 3, closes);
	assert_int_equal(f->fp.maps, 0);
}

static void test_mem_table_overlap_refused(void **state)
{
	struct fx *f = *state;
	int fds[2], closes;
	struct vu_msg *m;

	negotiate_all(f);
	new_fds(f, fds, 2);
	closes = f->fp.closes;
	m = mk_table(f, 2, 2, fds, 2);
	m->p.mem_table.regions[1].gpa = 0x800; /* inside region 0 */
	assert_true(handle(f) < 0);
	expect_closed(f, fds, 2, closes);
	assert_int_equal(f->fp.maps, 0);
}

static void test_mem_table_map_failure_keeps_old_table(void **state)
{
	struct fx *f = *state;
	int fds[2], closes;

	negotiate_all(f);
	add_memory(f);
	new_fds(f, fds, 2);
	closes = f->fp.closes;
	mk_table(f, 2, 2, fds, 2);
	f->fp.fail_map = ENOMEM;
	assert_true(handle(f) < 0);
	expect_closed(f, fds, 2, closes);
	assert_int_equal(f->b.mem.count, 1);
	assert_int_equal(f->b.mem.slot[0].gpa, MEM_GPA);
	assert_int_equal(f->fp.maps, f->fp.unmaps + 1);
}

static void test_mem_table_accepted_and_fds_closed(void **state)
{
	struct fx *f = *state;
	int fds[8], closes;

	negotiate_all(f);
	new_fds(f, fds, 8);
	closes = f->fp.closes;
	mk_table(f, 8, 8, fds, 8);
	assert_int_equal(handle(f), 0);
	/* The mapping keeps the memory; the fds are not needed after it. */
	expect_closed(f, fds, 8, closes);
	assert_int_equal(f->b.mem.count, 8);
	assert_int_equal(f->fp.maps, 8);
}

static void test_mem_table_replaces_add_built_table(void **state)
{
	struct fx *f = *state;
	int fds[3], closes;

	negotiate_all(f);
	new_fds(f, fds, 3);
	for (int i = 0; i < 3; i++)
		assert_int_equal(send_region(f, VU_REQ_ADD_MEM_REG, 0x10000000ull * (i + 1), PAGE,
					     0x20000000ull * (i + 1), 0, fds[i]),
				 0);
	assert_int_equal(f->b.mem.count, 3);
	new_fds(f, fds, 2);
	closes = f->fp.closes;
	mk_table(f, 2, 2, fds, 2);
	assert_int_equal(handle(f), 0);
	expect_closed(f, fds, 2, closes);
	assert_int_equal(f->b.mem.count, 2);
	assert_int_equal(f->fp.maps, 5);
	assert_int_equal(f->fp.unmaps, 3);
	assert_null(vu_mem_gpa_to_host(&f->b.mem, 0x10000000ull, 1, NULL));
	assert_non_null(vu_mem_gpa_to_host(&f->b.mem, PAGE, 1, NULL));
}

/* ---- ADD_MEM_REG / REM_MEM_REG / GET_MAX_MEM_SLOTS ---------------------- */

static void test_add_mem_reg_duplicate_accepted(void **state)
{
	struct fx *f = *state;
	int fd2, closes;

	negotiate_all(f);
	add_memory(f);
	fd2 = new_fd(f, MEM_SIZE);
	closes = f->fp.closes;
	mk_region(f, VU_REQ_ADD_MEM_REG, MEM_GPA, MEM_SIZE, MEM_UADDR, 0);
	with_fd(&f->m, fd2);
	assert_int_equal(handle_need_reply(f), 0);
	assert_int_equal(reply_u64(f, 0, VU_REQ_ADD_MEM_REG), 0);
	expect_closed(f, &fd2, 1, closes);
	assert_int_equal(f->b.mem.count, 1);
	assert_int_equal(f->fp.maps, 1);
}

static void test_add_mem_reg_gpa_overlap_refused(void **state)
{
	struct fx *f = *state;
	int fd2, closes;

	negotiate_all(f);
	add_memory(f);
	fd2 = new_fd(f, 2 * PAGE);
	closes = f->fp.closes;
	mk_region(f, VU_REQ_ADD_MEM_REG, MEM_GPA + MEM_SIZE - PAGE, 2 * PAGE, 0x10000000ull, 0);
	with_fd(&f->m, fd2);
	assert_int_equal(handle_need_reply(f), 0);
	assert_int_equal(reply_u64(f, 0, VU_REQ_ADD_MEM_REG), EEXIST);
	expect_closed(f, &fd2, 1, closes);
	assert_int_equal(f->b.mem.count, 1);
	assert_int_equal(f->fp.maps, 1);
}

static void test_add_mem_reg_uaddr_overlap_refused(void **state)
{
	struct fx *f = *state;
	int fd2, closes;

	negotiate_all(f);
	add_memory(f);
	fd2 = new_fd(f, PAGE);
	closes = f->fp.closes;
	assert_true(send_region(f, VU_REQ_ADD_MEM_REG, 0x80000000ull, PAGE, MEM_UADDR + PAGE, 0,
				fd2) < 0);
	expect_closed(f, &fd2, 1, closes);
	assert_int_equal(f->b.mem.count, 1);
	assert_int_equal(f->fp.maps, 1);
}

static void test_add_mem_reg_size_zero_refused(void **state)
{
	struct fx *f = *state;
	int fd, closes;

	negotiate_all(f);
	fd = new_fd(f, PAGE);
	closes = f->fp.closes;
	assert_true(send_region(f, VU_REQ_ADD_MEM_REG, 0, 0, MEM_UADDR, 0, fd) < 0);
	expect_closed(f, &fd, 1, closes);
	assert_int_equal(f->fp.maps, 0);
}

static void test_add_mem_reg_beyond_file_refused(void **state)
{
	struct fx *f = *state;
	int fd, closes;

	negotiate_all(f);
	fd = new_fd(f, PAGE);
	closes = f->fp.closes;
	assert_true(send_region(f, VU_REQ_ADD_MEM_REG, 0, PAGE, MEM_UADDR, PAGE, fd) < 0);
	expect_closed(f, &fd, 1, closes);
	assert_int_equal(f->fp.maps, 0);
	assert_int_equal(f->b.mem.count, 0);
}

static void test_rem_mem_reg_with_fd_closes_it(void **state)
{
	struct fx *f = *state;
	int fd, closes;

	negotiate_all(f);
	add_memory(f);
	fd = new_fd(f, 8);
	closes = f->fp.closes;
	assert_int_equal(send_region(f, VU_REQ_REM_MEM_REG, MEM_GPA, MEM_SIZE, MEM_UADDR, 0, fd),
			 0);
	expect_closed(f, &fd, 1, closes);
	assert_int_equal(f->b.mem.count, 0);
	assert_int_equal(f->fp.unmaps, 1);
}

static void test_rem_mem_reg_ignores_mmap_offset(void **state)
{
	struct fx *f = *state;

	negotiate_all(f);
	add_memory(f);
	assert_int_equal(
		send_region(f, VU_REQ_REM_MEM_REG, MEM_GPA, MEM_SIZE, MEM_UADDR, 0x12345000, -1),
		0);
	assert_int_equal(f->b.mem.count, 0);
	assert_int_equal(f->fp.unmaps, 1);
}

static void test_rem_mem_reg_unknown_refused(void **state)
{
	struct fx *f = *state;
	int fd, closes;

	negotiate_all(f);
	add_memory(f);
	assert_true(send_region(f, VU_REQ_REM_MEM_REG, MEM_GPA + PAGE, MEM_SIZE, MEM_UADDR, 0, -1) <
		    0);
	assert_true(send_region(f, VU_REQ_REM_MEM_REG, MEM_GPA, MEM_SIZE - PAGE, MEM_UADDR, 0, -1) <
		    0);
	fd = new_fd(f, 8);
	closes = f->fp.closes;
	mk_region(f, VU_REQ_REM_MEM_REG, MEM_GPA, MEM_SIZE, MEM_UADDR + PAGE, 0);
	with_fd(&f->m, fd);
	assert_int_equal(handle_need_reply(f), 0);
	assert_int_equal(reply_u64(f, 0, VU_REQ_REM_MEM_REG), ENOENT);
	expect_closed(f, &fd, 1, closes);
	assert_int_equal(f->b.mem.count, 1);
	assert_int_equal(f->fp.unmaps, 0);
}

static void test_get_max_mem_slots_default(void **state)
{
	struct fx *f = *state;

	negotiate_all(f);
	assert_int_equal(send_empty(f, VU_REQ_GET_MAX_MEM_SLOTS), 0);
	assert_int_equal(f->fp.nsent, 1);
	assert_int_equal(reply_u64(f, 0, VU_REQ_GET_MAX_MEM_SLOTS), 509);
}

static void test_get_max_mem_slots_configured(void **state)
{
	struct fx *f = *state;

	negotiate_all(f);
	assert_int_equal(send_empty(f, VU_REQ_GET_MAX_MEM_SLOTS), 0);
	assert_int_equal(reply_u64(f, 0, VU_REQ_GET_MAX_MEM_SLOTS), 32);
}

/* Add regions of one page each, all from one fake file; the front-end keeps
 * its descriptor, so the file is reopened after each message. */
static int add_pages(struct fx *f, int fd, uint32_t from, uint32_t to)
{
	for (uint32_t i = from; i < to; i++) {
		int rc = send_region(f, VU_REQ_ADD_MEM_REG, (uint64_t)i * 2 * PAGE, PAGE,
				     MEM_UADDR + (uint64_t)i * PAGE, (uint64_t)i * PAGE, fd);
		reopen(f, fd);
		if (rc)
			return rc;
	}
	return 0;
}

static void test_fill_509_slots_then_510th_refused(void **state)
{
	struct fx *f = *state;
	int fd, closes;

	negotiate_all(f);
	fd = new_fd(f, 510 * PAGE);
	assert_int_equal(add_pages(f, fd, 0, 509), 0);
	assert_int_equal(f->b.mem.count, 509);
	assert_int_equal(f->fp.maps, 509);
	closes = f->fp.closes;
	mk_region(f, VU_REQ_ADD_MEM_REG, 509ull * 2 * PAGE, PAGE, MEM_UADDR + 509ull * PAGE,
		  509ull * PAGE);
	with_fd(&f->m, fd);
	assert_int_equal(handle_need_reply(f), 0);
	assert_int_equal(reply_u64(f, 0, VU_REQ_ADD_MEM_REG), ENOSPC);
	expect_closed(f, &fd, 1, closes);
	assert_int_equal(f->b.mem.count, 509);
	assert_int_equal(f->fp.maps, 509);
	/* Every region still translates. */
	for (uint32_t i = 0; i < 509; i++)
		assert_ptr_equal(vu_mem_gpa_to_host(&f->b.mem, (uint64_t)i * 2 * PAGE, PAGE, NULL),
				 fake_file_ptr(&f->fp, fd, (uint64_t)i * PAGE));
}

static void test_configured_slot_limit_enforced(void **state)
{
	struct fx *f = *state;
	int fd;

	negotiate_all(f);
	fd = new_fd(f, 33 * PAGE);
	assert_int_equal(add_pages(f, fd, 0, 32), 0);
	assert_true(add_pages(f, fd, 32, 33) < 0);
	assert_int_equal(f->b.mem.count, 32);
	assert_int_equal(f->fp.maps, 32);
}

/* ---- memory survives ring stop and device reset ------------------------- */

static void test_memory_kept_across_get_vring_base_and_restart(void **state)
{
	struct fx *f = *state;
	struct echo e;

	session(f);
	e = add_echo(f, 0, "one", 8);
	assert_int_equal(vu_backend_poll(&f->b, 8), 1);
	expect_used(f, 0, e.head, 3);
	assert_int_equal(send_state(f, VU_REQ_GET_VRING_BASE, 0, 0), 0);
	assert_int_equal(f->fp.nsent, 1);
	assert_int_equal(reply(f, 0, VU_REQ_GET_VRING_BASE)->p.state.num, 1);
	assert_false(f->b.vq[0].started);
	assert_int_equal(f->b.mem.count, 1);
	assert_int_equal(f->fp.unmaps, 0);

	/* Stopped: a new request waits. */
	e = add_echo(f, 0, "two", 8);
	assert_int_equal(vu_backend_poll(&f->b, 8), 0);

	/* Restart with no memory message at all, as QEMU does. */
	ring_setup(f, 0, 1, -1);
	assert_int_equal(vu_backend_poll(&f->b, 8), 1);
	expect_used(f, 0, e.head, 3);
	assert_memory_equal(test_ring_ptr(&f->ring[0], e.in_gpa), "two", 3);
	assert_int_equal(f->fp.maps, 1);
}

/* EVENT_IDX: an idle ring publishes avail_event once, then skips the store
 * and fence (vq.c). A restart at the same place and position must publish
 * again: the driver may have re-initialised its used ring meanwhile, and a
 * stale avail_event there would make it skip the kick we wait for. */
static void test_event_idx_restart_republishes_avail_event(void **state)
{
	struct fx *f = *state;
	uint16_t *avail_event;
	struct echo e;

	negotiate(f, F_DEFAULT | VU_BIT(VU_F_RING_EVENT_IDX),
		  vu_backend_offered_protocol_features(f->cur));
	add_memory(f);
	ring_up(f, 0);
	avail_event = (uint16_t *)(void *)&test_ring_used(&f->ring[0])->ring[QSZ];
	e = add_echo(f, 0, "one", 8);
	assert_int_equal(vu_backend_poll(&f->b, 8), 1);
	expect_used(f, 0, e.head, 3);
	assert_int_equal(vu_backend_poll(&f->b, 8), 0);
	assert_int_equal(*avail_event, 1);
	assert_int_equal(send_state(f, VU_REQ_GET_VRING_BASE, 0, 0), 0);
	*avail_event = 0x5555; /* the driver re-initialised its used ring */
	ring_setup(f, 0, 1, -1);
	assert_int_equal(vu_backend_poll(&f->b, 8), 0);
	assert_int_equal(*avail_event, 1);
}

static void test_memory_kept_across_reset_device(void **state)
{
	struct fx *f = *state;
	struct echo e;

	session(f);
	e = add_echo(f, 0, "before", 8);
	assert_int_equal(vu_backend_poll(&f->b, 8), 1);
	expect_used(f, 0, e.head, 6);

	assert_int_equal(send_empty(f, VU_REQ_RESET_DEVICE), 0);
	assert_int_equal(f->dev.resets, 1);
	assert_false(f->b.vq[0].started);
	assert_false(f->b.vq[0].enabled);
	assert_int_equal(f->b.vq[0].size, 0);
	assert_true(f->b.owner);
	assert_int_equal(f->b.mem.count, 1);
	assert_int_equal(f->fp.unmaps, 0);

	/* The driver comes back; the front-end resends features and rings. */
	assert_int_equal(send_u64(f, VU_REQ_SET_FEATURES, F_DEFAULT), 0);
	ring_setup(f, 0, 1, -1);
	assert_int_equal(send_state(f, VU_REQ_SET_VRING_ENABLE, 0, 1), 0);
	e = add_echo(f, 0, "after", 8);
	assert_int_equal(vu_backend_poll(&f->b, 8), 1);
	expect_used(f, 0, e.head, 5);
	assert_memory_equal(test_ring_ptr(&f->ring[0], e.in_gpa), "after", 5);
}

/* ---- config space ------------------------------------------------------- */

static void test_get_config_beyond_256_refused(void **state)
{
	struct fx *f = *state;

	negotiate_all(f);
	mk_config(f, VU_REQ_GET_CONFIG, 250, 10, 10);
	assert_true(handle(f) < 0);
	mk_config(f, VU_REQ_GET_CONFIG, 257, 0, 0);
	assert_true(handle(f) < 0);
	mk_config(f, VU_REQ_GET_CONFIG, 0xfffffffcu, 8, 8); /* offset + size wraps */
	assert_true(handle(f) < 0);
	assert_int_equal(f->fp.nsent, 0);
}

static void test_get_config_size_field_disagrees_refused(void **state)
{
	struct fx *f = *state;

	negotiate_all(f);
	mk_config(f, VU_REQ_GET_CONFIG, 0, 8, 4);
	assert_true(handle(f) < 0);
	mk_config(f, VU_REQ_GET_CONFIG, 0, 4, 8);
	assert_true(handle(f) < 0);
	mk_config(f, VU_REQ_GET_CONFIG, 0, 0xffffffffu, 4);
	assert_true(handle(f) < 0);
	assert_int_equal(f->fp.nsent, 0);
}

static void test_get_config_reply_same_size_as_request(void **state)
{
	struct fx *f = *state;
	const struct vu_msg *r;

	negotiate_all(f);
	mk_config(f, VU_REQ_GET_CONFIG, 16, 24, 24);
	assert_int_equal(handle(f), 0);
	assert_int_equal(f->fp.nsent, 1);
	r = reply(f, 0, VU_REQ_GET_CONFIG);
	assert_int_equal(r->hdr.size, VU_CONFIG_HDR_SIZE + 24);
	assert_int_equal(r->p.config.offset, 16);
	assert_int_equal(r->p.config.size, 24);
	assert_memory_equal(r->p.config.data, f->dev.config + 16, 24);

	mk_config(f, VU_REQ_GET_CONFIG, 0, 256, 256);
	assert_int_equal(handle_need_reply(f), 0);
	assert_int_equal(f->fp.nsent, 2);
	r = reply(f, 1, VU_REQ_GET_CONFIG);
	assert_int_equal(r->hdr.size, VU_CONFIG_HDR_SIZE + 256);
	assert_memory_equal(r->p.config.data, f->dev.config, 256);
}

static void test_set_config_without_device_support_refused(void **state)
{
	struct fx *f = *state;
	struct vu_msg *m;

	negotiate_all(f);
	m = mk_config(f, VU_REQ_SET_CONFIG, 0, 4, 4);
	memset(m->p.config.data, 0xff, 4);
	assert_int_equal(handle_need_reply(f), 0);
	assert_int_equal(reply_u64(f, 0, VU_REQ_SET_CONFIG), EPERM);
	mk_config(f, VU_REQ_SET_CONFIG, 0, 4, 4);
	assert_true(handle(f) < 0);
	assert_int_equal(f->dev.config[0], 0xa5);
}

/* ---- status ------------------------------------------------------------- */

static void test_set_status_above_8_bits_refused(void **state)
{
	struct fx *f = *state;

	negotiate_all(f);
	assert_int_equal(send_u64(f, VU_REQ_SET_STATUS, 0x7), 0);
	assert_true(send_u64(f, VU_REQ_SET_STATUS, 0x100) < 0);
	assert_true(send_u64(f, VU_REQ_SET_STATUS, 0xffffffff00000007ull) < 0);
	assert_int_equal(f->b.status, 0x7);
}

static void test_get_status_echoes(void **state)
{
	struct fx *f = *state;

	negotiate_all(f);
	assert_int_equal(send_empty(f, VU_REQ_GET_STATUS), 0);
	assert_int_equal(reply_u64(f, 0, VU_REQ_GET_STATUS), 0);
	assert_int_equal(send_u64(f, VU_REQ_SET_STATUS, 0x0f), 0);
	assert_int_equal(send_empty(f, VU_REQ_GET_STATUS), 0);
	assert_int_equal(f->fp.nsent, 2);
	assert_int_equal(reply_u64(f, 1, VU_REQ_GET_STATUS), 0x0f);
}

/* ---- inflight ----------------------------------------------------------- */

static void expect_get_inflight_refused(struct fx *f, uint16_t nq, uint16_t qs)
{
	mk_inflight(f, VU_REQ_GET_INFLIGHT_FD, 0, 0, nq, qs);
	assert_true(handle(f) < 0);
	assert_int_equal(f->fp.nsent, 0);
	assert_int_equal(f->fp.allocs, 0);
	assert_null(f->b.inflight_host);
}

static void test_get_inflight_fd_zero_queues_refused(void **state)
{
	struct fx *f = *state;

	negotiate_all(f);
	expect_get_inflight_refused(f, 0, QSZ);
}

static void test_get_inflight_fd_too_many_queues_refused(void **state)
{
	struct fx *f = *state;

	negotiate_all(f);
	expect_get_inflight_refused(f, NQ + 1, QSZ);
	expect_get_inflight_refused(f, 0xffff, QSZ);
}

static void test_get_inflight_fd_bad_queue_size_refused(void **state)
{
	struct fx *f = *state;

	negotiate_all(f);
	expect_get_inflight_refused(f, 1, 100);
	expect_get_inflight_refused(f, 1, 0);
	expect_get_inflight_refused(f, 1, MAXQ * 2);
}

static void test_get_inflight_fd_reply(void **state)
{
	struct fx *f = *state;
	const struct vu_msg *r;
	const struct vu_inflight_queue *q;
	uint64_t total = vu_inflight_total_bytes(NQ, QSZ);

	negotiate_all(f);
	mk_inflight(f, VU_REQ_GET_INFLIGHT_FD, 0, 0, NQ, QSZ);
	assert_int_equal(handle(f), 0);
	assert_int_equal(f->fp.nsent, 1);
	r = reply(f, 0, VU_REQ_GET_INFLIGHT_FD);
	assert_int_equal(r->hdr.size, sizeof(struct vu_inflight_msg));
	assert_int_equal(r->nfds, 1);
	assert_int_equal(r->p.inflight.mmap_size, total);
	assert_int_equal(r->p.inflight.mmap_offset, 0);
	assert_int_equal(r->p.inflight.num_queues, NQ);
	assert_int_equal(r->p.inflight.queue_size, QSZ);
	/* Our copy of the fd is closed; the mapping keeps the memory. */
	assert_false(fd_open(f, r->fds[0]));
	assert_int_equal(f->fp.maps, 1);
	for (unsigned i = 0; i < NQ; i++) {
		q = (const void *)fake_file_ptr(&f->fp, r->fds[0],
						i * vu_inflight_queue_bytes(QSZ));
		assert_int_equal(q->version, VU_INFLIGHT_VERSION);
		assert_int_equal(q->desc_num, QSZ);
		assert_ptr_equal(f->b.vq[i].inflight, q);
	}
}

static void test_set_inflight_fd_too_small_refused(void **state)
{
	struct fx *f = *state;
	uint64_t total = vu_inflight_total_bytes(1, QSZ);
	int fd, closes;

	negotiate_all(f);
	fd = new_fd(f, total);
	closes = f->fp.closes;
	mk_inflight(f, VU_REQ_SET_INFLIGHT_FD, total - 1, 0, 1, QSZ);
	with_fd(&f->m, fd);
	assert_true(handle(f) < 0);
	expect_closed(f, &fd, 1, closes);
	assert_int_equal(f->fp.maps, 0);
	assert_null(f->b.vq[0].inflight);
}

static void test_set_inflight_fd_offset_wrap_refused(void **state)
{
	struct fx *f = *state;
	uint64_t total = vu_inflight_total_bytes(1, QSZ);
	int fd, closes;

	negotiate_all(f);
	fd = new_fd(f, total);
	closes = f->fp.closes;
	mk_inflight(f, VU_REQ_SET_INFLIGHT_FD, total, UINT64_MAX - total + 1, 1, QSZ);
	with_fd(&f->m, fd);
	assert_true(handle(f) < 0);
	expect_closed(f, &fd, 1, closes);
	assert_int_equal(f->fp.maps, 0);
}

/* Found by fuzz_msg: the region's records hold 64-bit counters updated with
 * atomics, so an odd offset would make every access misaligned. */
static void test_set_inflight_fd_unaligned_offset_refused(void **state)
{
	struct fx *f = *state;
	uint64_t total = vu_inflight_total_bytes(1, QSZ);
	static const uint64_t offsets[] = {1, 8, VU_INFLIGHT_ALIGN - 1, VU_INFLIGHT_ALIGN + 4};
	int fd, closes;

	negotiate_all(f);
	for (size_t i = 0; i < sizeof(offsets) / sizeof(offsets[0]); i++) {
		fd = new_fd(f, total + 2 * VU_INFLIGHT_ALIGN);
		closes = f->fp.closes;
		mk_inflight(f, VU_REQ_SET_INFLIGHT_FD, total, offsets[i], 1, QSZ);
		with_fd(&f->m, fd);
		assert_true(handle(f) < 0);
		expect_closed(f, &fd, 1, closes);
		assert_int_equal(f->fp.maps, 0);
		assert_null(f->b.vq[0].inflight);
	}
	/* An aligned, non-zero offset is fine. */
	fd = new_fd(f, total + VU_INFLIGHT_ALIGN);
	mk_inflight(f, VU_REQ_SET_INFLIGHT_FD, total, VU_INFLIGHT_ALIGN, 1, QSZ);
	with_fd(&f->m, fd);
	assert_int_equal(handle(f), 0);
	assert_ptr_equal(f->b.vq[0].inflight, fake_file_ptr(&f->fp, fd, VU_INFLIGHT_ALIGN));
}

static void test_set_inflight_fd_bad_shape_refused(void **state)
{
	struct fx *f = *state;
	int fd, closes;

	negotiate_all(f);
	fd = new_fd(f, 1 << 20);
	closes = f->fp.closes;
	mk_inflight(f, VU_REQ_SET_INFLIGHT_FD, 1 << 20, 0, NQ + 1, QSZ);
	with_fd(&f->m, fd);
	assert_true(handle(f) < 0);
	expect_closed(f, &fd, 1, closes);
	assert_int_equal(f->fp.maps, 0);
}

static void test_set_inflight_fd_header_mismatch_refused(void **state)
{
	struct fx *f = *state;
	uint64_t total = vu_inflight_total_bytes(1, QSZ);
	struct vu_inflight_queue *q;
	int fd, closes;

	negotiate_all(f);
	fd = new_fd(f, total);
	q = (void *)fake_file_ptr(&f->fp, fd, 0);
	q->version = VU_INFLIGHT_VERSION;
	q->desc_num = QSZ / 2; /* recorded by a run with another queue size */
	closes = f->fp.closes;
	mk_inflight(f, VU_REQ_SET_INFLIGHT_FD, total, 0, 1, QSZ);
	with_fd(&f->m, fd);
	assert_true(handle(f) < 0);
	expect_closed(f, &fd, 1, closes);
	assert_int_equal(f->fp.maps, f->fp.unmaps);
	assert_null(f->b.vq[0].inflight);
	assert_null(f->b.inflight_host);
}

static void test_set_inflight_fd_map_failure_closes_fd(void **state)
{
	struct fx *f = *state;
	uint64_t total = vu_inflight_total_bytes(1, QSZ);
	int fd, closes;

	negotiate_all(f);
	fd = new_fd(f, total);
	closes = f->fp.closes;
	mk_inflight(f, VU_REQ_SET_INFLIGHT_FD, total, 0, 1, QSZ);
	with_fd(&f->m, fd);
	f->fp.fail_map = ENOMEM;
	assert_true(handle(f) < 0);
	expect_closed(f, &fd, 1, closes);
	assert_int_equal(f->fp.maps, 0);
	assert_null(f->b.inflight_host);
	assert_null(f->b.inflight_cookie);
}

/* A back-end takes three requests, finishes the middle one and dies. The
 * next one gets the inflight region and resubmits the other two, oldest
 * first, before serving anything new. */
static void test_inflight_resubmitted_after_crash(void **state)
{
	struct fx *f = *state;
	uint64_t total = vu_inflight_total_bytes(1, QSZ);
	const struct vu_inflight_queue *q;
	struct vu_backend *b2;
	struct echo e7, e2, e4, e;
	int infl_fd;

	/* First back-end. */
	negotiate_all(f);
	mk_inflight(f, VU_REQ_GET_INFLIGHT_FD, 0, 0, 1, QSZ);
	assert_int_equal(handle(f), 0);
	infl_fd = reply(f, 0, VU_REQ_GET_INFLIGHT_FD)->fds[0];
	q = (const void *)fake_file_ptr(&f->fp, infl_fd, 0);
	add_memory(f);
	ring_up(f, 0);
	f->dev.hold = true;
	f->ring[0].next_desc = 7;
	e7 = add_echo(f, 0, "seven", 8);
	f->ring[0].next_desc = 2;
	e2 = add_echo(f, 0, "two", 8);
	f->ring[0].next_desc = 4;
	e4 = add_echo(f, 0, "four", 8);
	assert_int_equal(vu_backend_poll(&f->b, 8), 3);
	assert_int_equal(f->dev.nhandled, 3);
	assert_int_equal(vu_complete(&f->b, td_token(&f->dev, e2.head), 3), 0);
	expect_used(f, 0, e2.head, 3);
	assert_int_equal(q->desc[7].inflight, 1);
	assert_int_equal(q->desc[2].inflight, 0);
	assert_int_equal(q->desc[4].inflight, 1);
	assert_true(q->desc[7].counter < q->desc[4].counter);

	/* Crash: the session goes away without finishing 7 and 4. */
	vu_backend_disconnect(&f->b);
	assert_int_equal(f->fp.maps, f->fp.unmaps);

	/* Second back-end, same front-end memory and inflight region. */
	b2 = calloc(1, sizeof(*b2));
	assert_non_null(b2);
	vu_backend_init(b2, &f->fp.plat, &f->dev.desc, &f->dev, NULL);
	f->cur = b2;
	f->dev.hold = false;
	f->dev.nhandled = 0;
	negotiate_all(f);
	reopen(f, infl_fd);
	mk_inflight(f, VU_REQ_SET_INFLIGHT_FD, total, 0, 1, QSZ);
	with_fd(&f->m, infl_fd);
	assert_int_equal(handle(f), 0);
	reopen(f, f->mem_fd);
	assert_int_equal(
		send_region(f, VU_REQ_ADD_MEM_REG, MEM_GPA, MEM_SIZE, MEM_UADDR, 0, f->mem_fd), 0);
	/* QEMU restores the base to the used index after a crash. */
	ring_setup(f, 0, 1, -1);
	assert_int_equal(f->dev.nhandled, 2);
	assert_int_equal(f->dev.heads[0], e7.head);
	assert_int_equal(f->dev.heads[1], e4.head);
	expect_used(f, 0, e7.head, 5);
	expect_used(f, 0, e4.head, 4);
	assert_memory_equal(test_ring_ptr(&f->ring[0], e7.in_gpa), "seven", 5);
	assert_int_equal(q->desc[7].inflight, 0);
	assert_int_equal(q->desc[4].inflight, 0);

	/* Nothing is served twice, and new work flows. */
	assert_int_equal(send_state(f, VU_REQ_SET_VRING_ENABLE, 0, 1), 0);
	assert_int_equal(vu_backend_poll(b2, 8), 0);
	e = add_echo(f, 0, "new", 8);
	assert_int_equal(vu_backend_poll(b2, 8), 1);
	expect_used(f, 0, e.head, 3);
	assert_int_equal(f->dev.nhandled, 3);
	mk(f, VU_REQ_GET_VRING_BASE, 8)->p.state.index = 0;
	assert_int_equal(handle(f), 0);
	assert_int_equal(reply(f, f->fp.nsent - 1, VU_REQ_GET_VRING_BASE)->p.state.num, 4);

	vu_backend_disconnect(b2);
	free(b2);
	f->cur = &f->b;
}

/* An inflight region sized for 4 entries, the fd holding exactly that. */
static void set_small_inflight(struct fx *f, int *fd)
{
	uint64_t total = vu_inflight_total_bytes(1, 4);

	*fd = new_fd(f, total);
	mk_inflight(f, VU_REQ_SET_INFLIGHT_FD, total, 0, 1, 4);
	with_fd(&f->m, *fd);
}

/* Chains at heads 0..size-1 would index the region's desc[] far past its
 * 4 entries: the ring must not start. */
static void test_inflight_queue_size_differs_from_ring_refused(void **state)
{
	struct fx *f = *state;
	struct vu_vring_addr a;
	int fd;

	negotiate_all(f);
	set_small_inflight(f, &fd);
	assert_int_equal(handle(f), 0);
	add_memory(f);
	assert_int_equal(send_state(f, VU_REQ_SET_VRING_NUM, 0, QSZ), 0);
	test_ring_addr(&f->ring[0], 0, &a);
	assert_int_equal(send_addr(f, &a), 0);
	assert_int_equal(send_state(f, VU_REQ_SET_VRING_ENABLE, 0, 1), 0);
	mk(f, VU_REQ_SET_VRING_KICK, 8)->p.u64 = VU_VRING_NOFD;
	assert_int_equal(handle_need_reply(f), 0);
	assert_int_equal(reply_u64(f, 0, VU_REQ_SET_VRING_KICK), EINVAL);
	assert_false(f->b.vq[0].started);
	f->ring[0].next_desc = QSZ - 2;
	add_echo(f, 0, "far", 4);
	assert_int_equal(vu_backend_poll(&f->b, 8), 0);
	assert_int_equal(f->dev.nhandled, 0);
}

/* Same, with the region arriving after the ring started. */
static void test_inflight_region_for_started_ring_refused(void **state)
{
	struct fx *f = *state;
	int fd, closes;

	session(f);
	closes = f->fp.closes;
	set_small_inflight(f, &fd);
	assert_int_equal(handle_need_reply(f), 0);
	assert_int_equal(reply_u64(f, 0, VU_REQ_SET_INFLIGHT_FD), EBUSY);
	expect_closed(f, &fd, 1, closes);
	assert_null(f->b.vq[0].inflight);
	mk_inflight(f, VU_REQ_GET_INFLIGHT_FD, 0, 0, 1, 4);
	assert_true(handle(f) < 0);
	assert_null(f->b.vq[0].inflight);
	f->ring[0].next_desc = QSZ - 2;
	add_echo(f, 0, "far", 4);
	assert_int_equal(vu_backend_poll(&f->b, 8), 1);
}

/* A region whose layout version we do not know: the start is refused and
 * the ring does not run behind the front-end's back. */
static void test_inflight_unknown_version_ring_does_not_run(void **state)
{
	struct fx *f = *state;
	uint64_t total = vu_inflight_total_bytes(1, QSZ);
	struct vu_inflight_queue *q;
	struct vu_vring_addr a;
	int fd;

	negotiate_all(f);
	fd = new_fd(f, total);
	q = (void *)fake_file_ptr(&f->fp, fd, 0);
	q->version = 7;
	q->desc_num = QSZ;
	mk_inflight(f, VU_REQ_SET_INFLIGHT_FD, total, 0, 1, QSZ);
	with_fd(&f->m, fd);
	assert_int_equal(handle(f), 0);
	add_memory(f);
	assert_int_equal(send_state(f, VU_REQ_SET_VRING_NUM, 0, QSZ), 0);
	test_ring_addr(&f->ring[0], 0, &a);
	assert_int_equal(send_addr(f, &a), 0);
	assert_int_equal(send_state(f, VU_REQ_SET_VRING_ENABLE, 0, 1), 0);
	mk(f, VU_REQ_SET_VRING_KICK, 8)->p.u64 = VU_VRING_NOFD;
	assert_int_equal(handle_need_reply(f), 0);
	assert_int_not_equal(reply_u64(f, 0, VU_REQ_SET_VRING_KICK), 0);
	add_echo(f, 0, "no", 4);
	assert_int_equal(vu_backend_poll(&f->b, 8), 0);
	assert_int_equal(f->dev.nhandled, 0);
}

/* ---- sessions and polling ----------------------------------------------- */

static void test_full_session(void **state)
{
	struct fx *f = *state;
	int call_fd, closes;
	struct echo e[4];

	negotiate_all(f);
	add_memory(f);
	call_fd = new_fd(f, 8);
	assert_int_equal(send_ring_fd(f, VU_REQ_SET_VRING_CALL, 0, call_fd), 0);
	assert_true(fd_open(f, call_fd));
	ring_up(f, 0);
	assert_int_equal(f->fp.nsent, 0);

	e[0] = add_echo(f, 0, "hello", 16);
	assert_int_equal(vu_backend_poll(&f->b, 8), 1);
	expect_used(f, 0, e[0].head, 5);
	assert_memory_equal(test_ring_ptr(&f->ring[0], e[0].in_gpa), "hello", 5);
	assert_int_equal(f->fp.signals, 1);
	assert_int_equal(f->fp.signalled_fd[0], call_fd);

	/* Nothing waiting: no work, no interrupt. */
	assert_int_equal(vu_backend_poll(&f->b, 8), 0);
	assert_int_equal(f->fp.signals, 1);

	/* A batch: one interrupt for all of it. */
	e[1] = add_echo(f, 0, "a", 4);
	e[2] = add_echo(f, 0, "bb", 4);
	e[3] = add_echo(f, 0, "ccc", 4);
	assert_int_equal(vu_backend_poll(&f->b, 8), 3);
	for (int i = 1; i < 4; i++)
		expect_used(f, 0, e[i].head, (uint32_t)i);
	assert_int_equal(f->fp.signals, 2);
	assert_int_equal(f->fp.signalled_fd[1], call_fd);

	/* GET_VRING_BASE: the next avail index, and the ring stops. */
	assert_int_equal(send_state(f, VU_REQ_GET_VRING_BASE, 0, 0), 0);
	assert_int_equal(f->fp.nsent, 1);
	assert_int_equal(reply(f, 0, VU_REQ_GET_VRING_BASE)->hdr.size, 8);
	assert_int_equal(reply(f, 0, VU_REQ_GET_VRING_BASE)->p.state.index, 0);
	assert_int_equal(reply(f, 0, VU_REQ_GET_VRING_BASE)->p.state.num, 4);
	assert_false(f->b.vq[0].started);

	closes = f->fp.closes;
	vu_backend_disconnect(&f->b);
	expect_closed(f, &call_fd, 1, closes);
	assert_int_equal(fake_open_files(&f->fp), 0);
}

static void test_budget_limits_batch_and_comes_back(void **state)
{
	struct fx *f = *state;

	session(f);
	for (int i = 0; i < 5; i++)
		add_echo(f, 0, "x", 1);
	assert_int_equal(vu_backend_poll(&f->b, 2), 2);
	assert_int_equal(vu_backend_poll(&f->b, 2), 2);
	assert_int_equal(vu_backend_poll(&f->b, 2), 1);
	assert_int_equal(vu_backend_poll(&f->b, 2), 0);
	assert_int_equal(test_ring_used_pending(&f->ring[0]), 5);
}

static void test_get_vring_base_after_wrap(void **state)
{
	struct fx *f = *state;

	negotiate_all(f);
	add_memory(f);
	test_ring_set_idx(&f->ring[0], 0xfffe);
	ring_setup(f, 0, 0xfffe, -1);
	assert_int_equal(send_state(f, VU_REQ_SET_VRING_ENABLE, 0, 1), 0);
	for (int i = 0; i < 4; i++)
		add_echo(f, 0, "w", 1);
	assert_int_equal(vu_backend_poll(&f->b, 8), 4);
	assert_int_equal(test_ring_used(&f->ring[0])->idx, 2);
	assert_int_equal(send_state(f, VU_REQ_GET_VRING_BASE, 0, 0), 0);
	assert_int_equal(reply(f, 0, VU_REQ_GET_VRING_BASE)->p.state.num, 2);
}

static void test_ring_disabled_until_enable(void **state)
{
	struct fx *f = *state;
	struct echo e;

	negotiate_all(f);
	add_memory(f);
	ring_setup(f, 0, 0, -1);
	assert_false(f->b.vq[0].enabled);
	e = add_echo(f, 0, "wait", 4);
	assert_int_equal(vu_backend_poll(&f->b, 8), 0);
	assert_int_equal(f->dev.nhandled, 0);
	assert_int_equal(send_state(f, VU_REQ_SET_VRING_ENABLE, 0, 1), 0);
	assert_int_equal(vu_backend_poll(&f->b, 8), 1);
	expect_used(f, 0, e.head, 4);
	/* And disabling stops it again. */
	assert_int_equal(send_state(f, VU_REQ_SET_VRING_ENABLE, 0, 0), 0);
	add_echo(f, 0, "held", 4);
	assert_int_equal(vu_backend_poll(&f->b, 8), 0);
}

static void test_ring_enabled_without_protocol_features(void **state)
{
	struct fx *f = *state;
	struct echo e;

	negotiate(f, VU_BIT(VU_F_VERSION_1), 0);
	set_mem_table(f);
	ring_setup(f, 0, 0, -1);
	assert_true(f->b.vq[0].enabled);
	e = add_echo(f, 0, "go", 4);
	assert_int_equal(vu_backend_poll(&f->b, 8), 1);
	expect_used(f, 0, e.head, 2);
}

static void test_ring_polled_once_on_start_without_kick(void **state)
{
	struct fx *f = *state;
	struct echo e;
	int kick_fd;

	negotiate_all(f);
	add_memory(f);
	kick_fd = new_fd(f, 8);
	/* Requests queued before the back-end started the ring. */
	e = add_echo(f, 0, "early", 8);
	ring_setup(f, 0, 0, kick_fd);
	assert_true(fd_open(f, kick_fd));
	assert_int_equal(f->b.vq[0].kick_fd, kick_fd);
	assert_int_equal(send_state(f, VU_REQ_SET_VRING_ENABLE, 0, 1), 0);
	assert_int_equal(vu_backend_poll(&f->b, 8), 1);
	expect_used(f, 0, e.head, 5);

	/* From now on a kick fd ring waits for its kick. */
	e = add_echo(f, 0, "later", 8);
	assert_int_equal(vu_backend_poll(&f->b, 8), 0);
	vu_backend_kick(&f->b, 0);
	assert_int_equal(vu_backend_poll(&f->b, 8), 1);
	expect_used(f, 0, e.head, 5);
}

static void test_inband_kick_starts_and_kicks(void **state)
{
	struct fx *f = *state;
	struct vu_vring_addr a;
	struct echo e;

	negotiate_all(f);
	set_mem_table(f);
	assert_int_equal(send_state(f, VU_REQ_SET_VRING_NUM, 0, QSZ), 0);
	test_ring_addr(&f->ring[0], 0, &a);
	assert_int_equal(send_addr(f, &a), 0);
	assert_int_equal(send_state(f, VU_REQ_SET_VRING_ENABLE, 0, 1), 0);
	e = add_echo(f, 0, "in", 4);
	assert_int_equal(send_state(f, VU_REQ_VRING_KICK, 0, 0), 0);
	assert_true(f->b.vq[0].started);
	assert_int_equal(vu_backend_poll(&f->b, 8), 1);
	expect_used(f, 0, e.head, 2);
}

static void test_device_error_breaks_ring_and_signals_err(void **state)
{
	struct fx *f = *state;
	int err_fd;

	negotiate_all(f);
	add_memory(f);
	err_fd = new_fd(f, 8);
	assert_int_equal(send_ring_fd(f, VU_REQ_SET_VRING_ERR, 0, err_fd), 0);
	ring_up(f, 0);
	f->dev.fail = true;
	add_echo(f, 0, "bad", 4);
	add_echo(f, 0, "next", 4);
	assert_int_equal(vu_backend_poll(&f->b, 8), 1);
	assert_true(f->b.vq[0].broken);
	assert_true(signalled(f, err_fd));
	/* A broken ring is never walked again until set up anew. */
	assert_int_equal(vu_backend_poll(&f->b, 8), 0);
	assert_int_equal(f->dev.nhandled, 1);
}

static void test_malformed_chain_breaks_ring(void **state)
{
	struct fx *f = *state;
	struct test_seg seg = {.gpa = MEM_GPA + MEM_SIZE, .len = 16}; /* unmapped */
	int err_fd;

	negotiate_all(f);
	add_memory(f);
	err_fd = new_fd(f, 8);
	assert_int_equal(send_ring_fd(f, VU_REQ_SET_VRING_ERR, 0, err_fd), 0);
	ring_up(f, 0);
	test_ring_add(&f->ring[0], &seg, 1);
	assert_int_equal(vu_backend_poll(&f->b, 8), 0);
	assert_true(f->b.vq[0].broken);
	assert_true(signalled(f, err_fd));
	assert_int_equal(f->dev.nhandled, 0);
	assert_int_equal(test_ring_used_pending(&f->ring[0]), 0);
}

static void test_rem_mem_reg_under_started_ring(void **state)
{
	struct fx *f = *state;
	struct echo e;
	int err_fd, call_fd, signals;

	negotiate_all(f);
	guard_memory(f);
	add_memory(f);
	err_fd = new_fd(f, 8);
	call_fd = new_fd(f, 8);
	assert_int_equal(send_ring_fd(f, VU_REQ_SET_VRING_ERR, 0, err_fd), 0);
	assert_int_equal(send_ring_fd(f, VU_REQ_SET_VRING_CALL, 0, call_fd), 0);
	ring_up(f, 0);
	e = add_echo(f, 0, "alive", 8);
	assert_int_equal(vu_backend_poll(&f->b, 8), 1);
	expect_used(f, 0, e.head, 5);

	/* The driver queues more, then the front-end removes the memory. */
	add_echo(f, 0, "ghost", 8);
	assert_int_equal(send_region(f, VU_REQ_REM_MEM_REG, MEM_GPA, MEM_SIZE, MEM_UADDR, 0, -1),
			 0);
	assert_int_equal(f->fp.unmaps, 1);
	/* Any touch of the removed region from now on faults. */
	assert_int_equal(mprotect(f->guard, f->guard_size, PROT_NONE), 0);
	signals = f->fp.signals;
	assert_int_equal(vu_backend_poll(&f->b, 8), 0);
	assert_true(f->b.vq[0].broken);
	assert_int_equal(f->fp.signals, signals + 1);
	assert_int_equal(f->fp.signalled_fd[signals], err_fd);
	assert_int_equal(f->dev.nhandled, 1);
	assert_null(f->b.vq[0].desc);
	/* And it stays quiet. */
	assert_int_equal(vu_backend_poll(&f->b, 8), 0);
	assert_int_equal(f->fp.signals, signals + 1);
	vu_backend_disconnect(&f->b);
	assert_int_equal(mprotect(f->guard, f->guard_size, PROT_READ | PROT_WRITE), 0);
}

static void test_disconnect_releases_everything(void **state)
{
	struct fx *f = *state;
	int kick0, call0, err0, call1, chan, closes;
	int held[5];

	negotiate_all(f);
	chan = new_fd(f, 8);
	mk(f, VU_REQ_SET_BACKEND_REQ_FD, 0);
	with_fd(&f->m, chan);
	assert_int_equal(handle(f), 0);
	mk_inflight(f, VU_REQ_GET_INFLIGHT_FD, 0, 0, NQ, QSZ);
	assert_int_equal(handle(f), 0);
	add_memory(f);
	kick0 = new_fd(f, 8);
	call0 = new_fd(f, 8);
	err0 = new_fd(f, 8);
	call1 = new_fd(f, 8);
	assert_int_equal(send_ring_fd(f, VU_REQ_SET_VRING_CALL, 0, call0), 0);
	assert_int_equal(send_ring_fd(f, VU_REQ_SET_VRING_ERR, 0, err0), 0);
	assert_int_equal(send_ring_fd(f, VU_REQ_SET_VRING_CALL, 1, call1), 0);
	ring_setup(f, 0, 0, kick0);
	ring_setup(f, 1, 0, -1);
	held[0] = kick0;
	held[1] = call0;
	held[2] = err0;
	held[3] = call1;
	held[4] = chan;
	for (int i = 0; i < 5; i++)
		assert_true(fd_open(f, held[i]));
	assert_int_equal(fake_open_files(&f->fp), 5);
	assert_int_equal(f->fp.maps, 2); /* guest memory and the inflight region */

	closes = f->fp.closes;
	vu_backend_disconnect(&f->b);
	expect_closed(f, held, 5, closes);
	assert_int_equal(fake_open_files(&f->fp), 0);
	/* Every fd the back-end ever got was closed exactly once. */
	assert_int_equal(f->fp.closes, f->fp.nfiles);
	assert_int_equal(f->fp.maps, f->fp.unmaps);
	assert_int_equal(f->b.backend_chan, -1);
	assert_null(f->b.inflight_host);
	assert_int_equal(f->b.mem.count, 0);
	for (unsigned q = 0; q < VU_MAX_QUEUES; q++) {
		assert_int_equal(f->b.vq[q].kick_fd, -1);
		assert_int_equal(f->b.vq[q].call_fd, -1);
		assert_int_equal(f->b.vq[q].err_fd, -1);
		assert_false(f->b.vq[q].started);
		assert_null(f->b.vq[q].inflight);
	}
	assert_false(f->b.owner);
	assert_int_equal(f->b.pfeatures, 0);
	assert_int_equal(f->b.features, 0);
	assert_int_equal(f->dev.resets, 1);

	/* The session is ready for the next front-end. */
	negotiate_all(f);
	reopen(f, f->mem_fd);
	add_memory(f);
	ring_up(f, 0);
	add_echo(f, 0, "again", 8);
	assert_int_equal(vu_backend_poll(&f->b, 8), 1);
}

/* ---- backend channel ---------------------------------------------------- */

static void test_config_changed_on_backend_channel(void **state)
{
	struct fx *f = *state;
	const struct vu_msg *m;
	int chan;

	negotiate_all(f);
	chan = new_fd(f, 8);
	mk(f, VU_REQ_SET_BACKEND_REQ_FD, 0);
	with_fd(&f->m, chan);
	assert_int_equal(handle(f), 0);
	assert_int_equal(f->b.backend_chan, chan);
	assert_true(fd_open(f, chan));
	assert_int_equal(vu_backend_config_changed(&f->b), 0);
	assert_int_equal(f->fp.nbackend_sent, 1);
	m = &f->fp.backend_sent[0];
	assert_int_equal(m->hdr.request, VU_BREQ_CONFIG_CHANGE_MSG);
	assert_int_equal(m->hdr.flags & VU_FLAG_VERSION_MASK, VU_VERSION);
	assert_int_equal(m->hdr.flags & VU_FLAG_NEED_REPLY, 0);
	assert_int_equal(m->hdr.flags & VU_FLAG_REPLY, 0);
	assert_int_equal(m->nfds, 0);
	/* Nothing went to the front-end channel. */
	assert_int_equal(f->fp.nsent, 0);
}

static void test_config_changed_without_channel_refused(void **state)
{
	struct fx *f = *state;

	negotiate_all(f);
	assert_int_equal(vu_backend_config_changed(&f->b), -ENOTCONN);
	assert_int_equal(f->fp.nbackend_sent, 0);
}

static void test_backend_channel_needs_backend_req(void **state)
{
	struct fx *f = *state;
	int chan, closes;

	negotiate(f, F_DEFAULT, VU_BIT(VU_PF_REPLY_ACK));
	chan = new_fd(f, 8);
	closes = f->fp.closes;
	mk(f, VU_REQ_SET_BACKEND_REQ_FD, 0);
	with_fd(&f->m, chan);
	assert_int_equal(handle_need_reply(f), 0);
	assert_int_equal(reply_u64(f, 0, VU_REQ_SET_BACKEND_REQ_FD), EOPNOTSUPP);
	expect_closed(f, &chan, 1, closes);
	assert_int_equal(f->b.backend_chan, -1);
	assert_int_equal(vu_backend_config_changed(&f->b), -ENOTCONN);
}

static void test_backend_channel_replaced_closes_old(void **state)
{
	struct fx *f = *state;
	int a, b, closes;

	negotiate_all(f);
	a = new_fd(f, 8);
	b = new_fd(f, 8);
	mk(f, VU_REQ_SET_BACKEND_REQ_FD, 0);
	with_fd(&f->m, a);
	assert_int_equal(handle(f), 0);
	closes = f->fp.closes;
	mk(f, VU_REQ_SET_BACKEND_REQ_FD, 0);
	with_fd(&f->m, b);
	assert_int_equal(handle(f), 0);
	expect_closed(f, &a, 1, closes);
	assert_int_equal(f->b.backend_chan, b);
}

/* ---- fds on requests that take none ------------------------------------- */

static void test_fd_on_fdless_request_closed(void **state)
{
	struct fx *f = *state;
	int fd, closes;

	negotiate_all(f);
	fd = new_fd(f, 8);
	closes = f->fp.closes;
	mk(f, VU_REQ_SET_VRING_NUM, 8)->p.state = (struct vu_vring_state){.index = 0, .num = QSZ};
	with_fd(&f->m, fd);
	assert_true(handle(f) < 0);
	expect_closed(f, &fd, 1, closes);
	assert_int_equal(f->b.vq[0].size, 0);
}

static void test_fds_on_unknown_request_closed(void **state)
{
	struct fx *f = *state;
	int fds[VU_MAX_FDS], closes;

	negotiate_all(f);
	new_fds(f, fds, VU_MAX_FDS);
	closes = f->fp.closes;
	mk(f, 46, 0);
	for (unsigned i = 0; i < VU_MAX_FDS; i++)
		with_fd(&f->m, fds[i]);
	assert_true(handle(f) < 0);
	expect_closed(f, fds, VU_MAX_FDS, closes);
}

static void test_fd_on_unimplemented_request_closed(void **state)
{
	struct fx *f = *state;
	int fd, closes;

	negotiate_all(f);
	fd = new_fd(f, 8);
	closes = f->fp.closes;
	mk(f, VU_REQ_SET_LOG_FD, 0);
	with_fd(&f->m, fd);
	assert_true(handle(f) < 0);
	expect_closed(f, &fd, 1, closes);
}

#define T(fn) cmocka_unit_test_setup_teardown(fn, setup, teardown)
#define T_NOFDS(fn) cmocka_unit_test_setup_teardown(fn, setup_nofds, teardown)

int main(void)
{
	const struct CMUnitTest tests[] = {
		T(test_get_features_reply),
		T(test_protocol_features_offered_with_fds),
		T_NOFDS(test_protocol_features_offered_without_fds),
		cmocka_unit_test_setup_teardown(test_protocol_features_without_mem_slots,
						setup_no_mem_slots, teardown),
		T(test_set_features_unoffered_bit_refused),
		T(test_set_protocol_features_unoffered_bit_refused),
		T_NOFDS(test_inband_without_backend_req_refused),
		T_NOFDS(test_inband_without_reply_ack_refused),
		T_NOFDS(test_inband_with_backend_req_and_reply_ack_accepted),
		T(test_event_idx_reaches_the_rings),
		T(test_event_idx_restart_republishes_avail_event),
		T(test_reply_ack_failure_is_nonzero_and_connection_stays),
		T(test_reply_ack_success_is_zero),
		T(test_reply_ack_for_envelope_rejection),
		T(test_reply_ack_request_with_own_reply_answers_once),
		T(test_reply_ack_failing_request_with_own_reply_closes),
		T(test_no_reply_without_need_reply),
		T(test_failure_without_need_reply_closes),
		T(test_need_reply_ignored_without_reply_ack),
		T(test_set_vring_num_index_out_of_range),
		T(test_set_vring_addr_index_out_of_range),
		T(test_set_vring_base_index_out_of_range),
		T(test_get_vring_base_index_out_of_range),
		T(test_set_vring_enable_index_out_of_range),
		T(test_set_vring_kick_index_out_of_range),
		T(test_set_vring_call_index_out_of_range),
		T(test_set_vring_err_index_out_of_range),
		T_NOFDS(test_inband_vring_kick_index_out_of_range),
		T(test_ring_fd_reserved_bits_refused),
		T(test_ring_fd_nofd_with_fd_refused),
		T(test_ring_fd_without_fd_or_nofd_refused),
		T(test_ring_fd_replaced_closes_old),
		T(test_vring_num_zero_refused),
		T(test_vring_num_not_power_of_two_refused),
		T(test_vring_num_65536_refused),
		T(test_vring_num_above_device_max_refused),
		T(test_vring_num_on_started_ring_refused),
		T(test_vring_base_above_16_bits_refused),
		T(test_vring_enable_2_refused),
		T(test_vring_addr_before_num_refused),
		T(test_vring_addr_without_memory_refused),
		T(test_vring_addr_outside_memory_refused),
		T(test_mem_table_nregions_9_refused),
		T(test_mem_table_nregions_huge_refused),
		T(test_mem_table_size_mismatch_refused),
		T(test_mem_table_too_few_fds_refused),
		T(test_mem_table_too_many_fds_refused),
		T(test_mem_table_overlap_refused),
		T(test_mem_table_map_failure_keeps_old_table),
		T(test_mem_table_accepted_and_fds_closed),
		T(test_mem_table_replaces_add_built_table),
		T(test_add_mem_reg_duplicate_accepted),
		T(test_add_mem_reg_gpa_overlap_refused),
		T(test_add_mem_reg_uaddr_overlap_refused),
		T(test_add_mem_reg_size_zero_refused),
		T(test_add_mem_reg_beyond_file_refused),
		T(test_rem_mem_reg_with_fd_closes_it),
		T(test_rem_mem_reg_ignores_mmap_offset),
		T(test_rem_mem_reg_unknown_refused),
		T(test_get_max_mem_slots_default),
		cmocka_unit_test_setup_teardown(test_get_max_mem_slots_configured,
						setup_max_slots_32, teardown),
		T(test_fill_509_slots_then_510th_refused),
		cmocka_unit_test_setup_teardown(test_configured_slot_limit_enforced,
						setup_max_slots_32, teardown),
		T(test_memory_kept_across_get_vring_base_and_restart),
		T(test_memory_kept_across_reset_device),
		T(test_get_config_beyond_256_refused),
		T(test_get_config_size_field_disagrees_refused),
		T(test_get_config_reply_same_size_as_request),
		T(test_set_config_without_device_support_refused),
		T(test_set_status_above_8_bits_refused),
		T(test_get_status_echoes),
		T(test_get_inflight_fd_zero_queues_refused),
		T(test_get_inflight_fd_too_many_queues_refused),
		T(test_get_inflight_fd_bad_queue_size_refused),
		T(test_get_inflight_fd_reply),
		T(test_set_inflight_fd_too_small_refused),
		T(test_set_inflight_fd_offset_wrap_refused),
		T(test_set_inflight_fd_unaligned_offset_refused),
		T(test_set_inflight_fd_bad_shape_refused),
		T(test_set_inflight_fd_header_mismatch_refused),
		T(test_set_inflight_fd_map_failure_closes_fd),
		T(test_inflight_resubmitted_after_crash),
		T(test_inflight_queue_size_differs_from_ring_refused),
		T(test_inflight_region_for_started_ring_refused),
		T(test_inflight_unknown_version_ring_does_not_run),
		T(test_full_session),
		T(test_budget_limits_batch_and_comes_back),
		T(test_get_vring_base_after_wrap),
		T(test_ring_disabled_until_enable),
		T(test_ring_enabled_without_protocol_features),
		T(test_ring_polled_once_on_start_without_kick),
		T_NOFDS(test_inband_kick_starts_and_kicks),
		T(test_device_error_breaks_ring_and_signals_err),
		T(test_malformed_chain_breaks_ring),
		T(test_rem_mem_reg_under_started_ring),
		T(test_disconnect_releases_everything),
		T(test_config_changed_on_backend_channel),
		T(test_config_changed_without_channel_refused),
		T(test_backend_channel_needs_backend_req),
		T(test_backend_channel_replaced_closes_old),
		T(test_fd_on_fdless_request_closed),
		T(test_fds_on_unknown_request_closed),
		T(test_fd_on_unimplemented_request_closed),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
