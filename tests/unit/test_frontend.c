/* The front-end role: shadow-table diff, reply validation, backend-channel
 * request validation, and the message sequences it sends, against a
 * scripted transport (every reply is queued by the test). */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "vu/frontend.h"

/* ---- scripted transport ------------------------------------------------- */

#define MAXM 64
static struct vu_msg sent[MAXM], replies[MAXM], breqs[8], bsent[8];
static unsigned nsent, nreplies, next_reply, nbreqs, next_breq, nbsent;
static int closed[32];
static unsigned nclosed;
static int fail_send_at = -1;

static int t_send(void *ctx, const struct vu_msg *m)
{
	(void)ctx;
	if ((int)nsent == fail_send_at)
		return -EPIPE;
	assert_true(nsent < MAXM);
	sent[nsent++] = *m;
	return 0;
}

static int t_recv(void *ctx, struct vu_msg *m)
{
	(void)ctx;
	if (next_reply == nreplies)
		return -ECONNRESET;
	*m = replies[next_reply++];
	return 0;
}

static int t_brecv(void *ctx, struct vu_msg *m)
{
	(void)ctx;
	if (next_breq == nbreqs)
		return -EAGAIN;
	*m = breqs[next_breq++];
	return 0;
}

static int t_bsend(void *ctx, const struct vu_msg *m)
{
	(void)ctx;
	bsent[nbsent++] = *m;
	return 0;
}

static void t_close(void *ctx, int fd)
{
	(void)ctx;
	closed[nclosed++] = fd;
}

static const struct vu_fe_transport tr = {NULL, t_send, t_recv, t_brecv, t_bsend, t_close};
static struct vu_frontend fe;

static struct vu_msg *reply_raw(uint32_t req, uint32_t flags, uint32_t size)
{
	struct vu_msg *m = &replies[nreplies++];
	memset(m, 0, sizeof(*m));
	m->hdr.request = req;
	m->hdr.flags = flags;
	m->hdr.size = size;
	for (unsigned i = 0; i < VU_MAX_FDS; i++)
		m->fds[i] = -1;
	return m;
}

static void reply_u64(uint32_t req, uint64_t v)
{
	reply_raw(req, VU_REPLY_FLAGS, 8)->p.u64 = v;
}

static int setup(void **state)
{
	(void)state;
	nsent = nreplies = next_reply = nbreqs = next_breq = nbsent = nclosed = 0;
	fail_send_at = -1;
	vu_fe_init(&fe, &tr);
	return 0;
}

#define ALL_PF                                                                                     \
	(VU_BIT(VU_PF_MQ) | VU_BIT(VU_PF_REPLY_ACK) | VU_BIT(VU_PF_BACKEND_REQ) |                  \
	 VU_BIT(VU_PF_CONFIG) | VU_BIT(VU_PF_CONFIGURE_MEM_SLOTS) | VU_BIT(VU_PF_STATUS) |         \
	 VU_BIT(VU_PF_RESET_DEVICE))

/* A connected front-end with `pf` negotiated (REPLY_ACK acks SET_OWNER). */
static void connect_with(uint64_t offered, uint64_t want, uint64_t slots)
{
	reply_u64(VU_REQ_GET_FEATURES, VU_BIT(VU_F_PROTOCOL_FEATURES) | VU_BIT(VU_F_VERSION_1));
	reply_u64(VU_REQ_GET_PROTOCOL_FEATURES, offered);
	if (offered & want & VU_BIT(VU_PF_MQ))
		reply_u64(VU_REQ_GET_QUEUE_NUM, 4);
	if (offered & want & VU_BIT(VU_PF_CONFIGURE_MEM_SLOTS))
		reply_u64(VU_REQ_GET_MAX_MEM_SLOTS, slots);
	if (offered & want & VU_BIT(VU_PF_REPLY_ACK))
		reply_u64(VU_REQ_SET_OWNER, 0);
	assert_int_equal(vu_fe_connect(&fe, want, 0), 0);
	nsent = 0;
}

static struct vu_fe_region reg(uint64_t gpa, uint64_t size, uint64_t uaddr)
{
	struct vu_fe_region r = {gpa, size, uaddr, gpa, 7};
	return r;
}

/* ---- pure: shadow diff -------------------------------------------------- */

static void diff_from_empty_adds_all(void **state)
{
	struct vu_fe_region want[3] = {reg(0, 4096, 0x10000), reg(4096, 4096, 0x20000),
				       reg(1 << 20, 8192, 0x30000)};
	struct vu_fe_mem_op ops[8];
	uint32_t n = 99;
	(void)state;
	assert_int_equal(vu_fe_mem_diff(NULL, 0, want, 3, 8, ops, 8, &n), 0);
	assert_int_equal(n, 3);
	for (uint32_t i = 0; i < 3; i++) {
		assert_int_equal(ops[i].kind, VU_FE_MEM_ADD);
		assert_int_equal(ops[i].index, i);
	}
}

static void diff_same_table_is_empty(void **state)
{
	struct vu_fe_region a[2] = {reg(0, 4096, 0x10000), reg(4096, 4096, 0x20000)};
	struct vu_fe_region b[2] = {a[1], a[0]};
	struct vu_fe_mem_op ops[8];
	uint32_t n = 99;
	(void)state;
	b[0].mmap_offset = 12345; /* not part of a region's identity */
	assert_int_equal(vu_fe_mem_diff(a, 2, b, 2, 8, ops, 8, &n), 0);
	assert_int_equal(n, 0);
}

static void diff_removals_come_first(void **state)
{
	struct vu_fe_region shadow[3] = {reg(0, 4096, 0x10000), reg(4096, 4096, 0x20000),
					 reg(8192, 4096, 0x30000)};
	/* keep #0, drop #1 and #2, add one new; and #2 moves its uaddr */
	struct vu_fe_region want[3] = {reg(1 << 20, 4096, 0x90000), shadow[0],
				       reg(8192, 4096, 0x40000)};
	struct vu_fe_mem_op ops[8];
	uint32_t n;
	(void)state;
	assert_int_equal(vu_fe_mem_diff(shadow, 3, want, 3, 8, ops, 8, &n), 0);
	assert_int_equal(n, 4);
	assert_int_equal(ops[0].kind, VU_FE_MEM_REM);
	assert_int_equal(ops[0].index, 1);
	assert_int_equal(ops[1].kind, VU_FE_MEM_REM);
	assert_int_equal(ops[1].index, 2);
	assert_int_equal(ops[2].kind, VU_FE_MEM_ADD);
	assert_int_equal(ops[2].index, 0);
	assert_int_equal(ops[3].kind, VU_FE_MEM_ADD);
	assert_int_equal(ops[3].index, 2);
}

static void diff_resized_region_is_replaced(void **state)
{
	struct vu_fe_region shadow[1] = {reg(0, 4096, 0x10000)};
	struct vu_fe_region want[1] = {reg(0, 8192, 0x10000)};
	struct vu_fe_mem_op ops[4];
	uint32_t n;
	(void)state;
	assert_int_equal(vu_fe_mem_diff(shadow, 1, want, 1, 8, ops, 4, &n), 0);
	assert_int_equal(n, 2);
	assert_int_equal(ops[0].kind, VU_FE_MEM_REM);
	assert_int_equal(ops[1].kind, VU_FE_MEM_ADD);
}

static void diff_refuses_bad_wanted_tables(void **state)
{
	struct vu_fe_mem_op ops[8];
	uint32_t n;
	struct vu_fe_region gpa_overlap[2] = {reg(0, 8192, 0x10000), reg(4096, 4096, 0x90000)};
	struct vu_fe_region ua_overlap[2] = {reg(0, 4096, 0x10000), reg(1 << 20, 4096, 0x10800)};
	struct vu_fe_region empty[1] = {reg(0, 0, 0x10000)};
	struct vu_fe_region wrap_gpa[1] = {reg(UINT64_MAX - 4095, 8192, 0x10000)};
	struct vu_fe_region wrap_ua[1] = {reg(0, 8192, UINT64_MAX - 10)};
	struct vu_fe_region dup[2] = {reg(0, 4096, 0x10000), reg(0, 4096, 0x10000)};
	(void)state;
	assert_int_equal(vu_fe_mem_diff(NULL, 0, gpa_overlap, 2, 8, ops, 8, &n), -EINVAL);
	assert_int_equal(vu_fe_mem_diff(NULL, 0, ua_overlap, 2, 8, ops, 8, &n), -EINVAL);
	assert_int_equal(vu_fe_mem_diff(NULL, 0, empty, 1, 8, ops, 8, &n), -EINVAL);
	assert_int_equal(vu_fe_mem_diff(NULL, 0, wrap_gpa, 1, 8, ops, 8, &n), -EINVAL);
	assert_int_equal(vu_fe_mem_diff(NULL, 0, wrap_ua, 1, 8, ops, 8, &n), -EINVAL);
	assert_int_equal(vu_fe_mem_diff(NULL, 0, dup, 2, 8, ops, 8, &n), -EINVAL);
	assert_int_equal(n, 0);
}

static void diff_respects_slot_limit_and_op_space(void **state)
{
	struct vu_fe_region want[3] = {reg(0, 4096, 0x10000), reg(4096, 4096, 0x20000),
				       reg(8192, 4096, 0x30000)};
	struct vu_fe_mem_op ops[8];
	uint32_t n;
	(void)state;
	assert_int_equal(vu_fe_mem_diff(NULL, 0, want, 3, 2, ops, 8, &n), -ENOSPC);
	assert_int_equal(vu_fe_mem_diff(NULL, 0, want, 3, 3, ops, 2, &n), -E2BIG);
	assert_int_equal(vu_fe_mem_diff(NULL, 0, want, VU_FE_MAX_REGIONS + 1, 1000, ops, 8, &n),
			 -ENOSPC);
}

/* ---- pure: reply and backend-request validation ------------------------- */

static void reply_checks_flags_code_size_fds(void **state)
{
	struct vu_msg m;
	const char *why = NULL;
	(void)state;
	memset(&m, 0, sizeof(m));
	m.hdr = (struct vu_hdr){VU_REQ_GET_FEATURES, VU_REPLY_FLAGS, 8};
	assert_int_equal(vu_fe_check_reply(&m, VU_REQ_GET_FEATURES, 8, &why), 0);
	assert_int_equal(vu_fe_check_reply(&m, VU_REQ_GET_PROTOCOL_FEATURES, 8, &why), -EPROTO);
	assert_int_equal(vu_fe_check_reply(&m, VU_REQ_GET_FEATURES, 16, &why), -EPROTO);
	m.hdr.flags = VU_VERSION; /* no REPLY bit */
	assert_int_equal(vu_fe_check_reply(&m, VU_REQ_GET_FEATURES, 8, &why), -EPROTO);
	m.hdr.flags = VU_REPLY_FLAGS | VU_FLAG_NEED_REPLY;
	assert_int_equal(vu_fe_check_reply(&m, VU_REQ_GET_FEATURES, 8, &why), -EPROTO);
	m.hdr.flags = VU_FLAG_REPLY | 2; /* version 2 */
	assert_int_equal(vu_fe_check_reply(&m, VU_REQ_GET_FEATURES, 8, &why), -EPROTO);
	m.hdr.flags = VU_REPLY_FLAGS;
	m.nfds = 1;
	assert_int_equal(vu_fe_check_reply(&m, VU_REQ_GET_FEATURES, 8, &why), -EPROTO);
	assert_non_null(why);
}

static struct vu_msg breq(uint32_t code, uint32_t flags, uint32_t size, uint32_t nfds)
{
	struct vu_msg m;
	memset(&m, 0, sizeof(m));
	m.hdr = (struct vu_hdr){code, flags, size};
	for (unsigned i = 0; i < VU_MAX_FDS; i++)
		m.fds[i] = i < nfds ? (int)(200 + i) : -1;
	m.nfds = nfds;
	return m;
}

static void backend_req_validation(void **state)
{
	const char *why;
	uint64_t pf = VU_BIT(VU_PF_CONFIG) | VU_BIT(VU_PF_SHMEM) | VU_BIT(VU_PF_REPLY_ACK);
	struct vu_msg m;
	(void)state;
	m = breq(VU_BREQ_CONFIG_CHANGE_MSG, VU_VERSION, 0, 0);
	assert_int_equal(vu_fe_check_backend_req(&m, pf, &why), 0);
	m = breq(VU_BREQ_CONFIG_CHANGE_MSG, VU_VERSION, 0, 0);
	assert_int_equal(vu_fe_check_backend_req(&m, 0, &why), -EOPNOTSUPP);
	m = breq(VU_BREQ_CONFIG_CHANGE_MSG, 2, 0, 0); /* bad version */
	assert_int_equal(vu_fe_check_backend_req(&m, pf, &why), -EPROTO);
	m = breq(VU_BREQ_CONFIG_CHANGE_MSG, VU_REPLY_FLAGS, 0, 0);
	assert_int_equal(vu_fe_check_backend_req(&m, pf, &why), -EPROTO);
	m = breq(VU_BREQ_CONFIG_CHANGE_MSG, VU_VERSION | 0x100, 0, 0);
	assert_int_equal(vu_fe_check_backend_req(&m, pf, &why), -EPROTO);
	m = breq(VU_BREQ_CONFIG_CHANGE_MSG, VU_VERSION, 16, 0);
	assert_int_equal(vu_fe_check_backend_req(&m, pf, &why), -EPROTO);
	m = breq(VU_BREQ_SHMEM_MAP, VU_VERSION | VU_FLAG_NEED_REPLY, 40, 1);
	assert_int_equal(vu_fe_check_backend_req(&m, pf, &why), 0);
	m = breq(VU_BREQ_SHMEM_MAP, VU_VERSION, 39, 1);
	assert_int_equal(vu_fe_check_backend_req(&m, pf, &why), -EPROTO);
	m = breq(VU_BREQ_SHMEM_MAP, VU_VERSION, 40, 2);
	assert_int_equal(vu_fe_check_backend_req(&m, pf, &why), -EPROTO);
	m = breq(VU_BREQ_SHMEM_UNMAP, VU_VERSION, 40, 1);
	assert_int_equal(vu_fe_check_backend_req(&m, pf, &why), -EPROTO);
	m = breq(VU_BREQ_MAX, VU_VERSION, 0, 0);
	assert_int_equal(vu_fe_check_backend_req(&m, pf, &why), -EOPNOTSUPP);
	m = breq(VU_BREQ_NONE, VU_VERSION, 0, 0);
	assert_int_equal(vu_fe_check_backend_req(&m, pf, &why), -EOPNOTSUPP);
	m = breq(VU_BREQ_CONFIG_CHANGE_MSG, VU_VERSION, VU_MAX_PAYLOAD + 1, 0);
	assert_int_equal(vu_fe_check_backend_req(&m, pf, &why), -EPROTO);
}

/* ---- sequences through the scripted transport --------------------------- */

static void connect_sequence_and_intersection(void **state)
{
	uint64_t offered = ALL_PF | VU_BIT(VU_PF_INFLIGHT_SHMFD);
	uint64_t want = VU_BIT(VU_PF_MQ) | VU_BIT(VU_PF_REPLY_ACK) |
			VU_BIT(VU_PF_CONFIGURE_MEM_SLOTS) | VU_BIT(VU_PF_SHMEM);
	static const uint32_t order[] = {VU_REQ_GET_FEATURES,	       VU_REQ_GET_PROTOCOL_FEATURES,
					 VU_REQ_SET_PROTOCOL_FEATURES, VU_REQ_GET_QUEUE_NUM,
					 VU_REQ_GET_MAX_MEM_SLOTS,     VU_REQ_SET_OWNER};
	(void)state;
	reply_u64(VU_REQ_GET_FEATURES, VU_BIT(VU_F_PROTOCOL_FEATURES));
	reply_u64(VU_REQ_GET_PROTOCOL_FEATURES, offered);
	reply_u64(VU_REQ_GET_QUEUE_NUM, 4);
	reply_u64(VU_REQ_GET_MAX_MEM_SLOTS, 509);
	reply_u64(VU_REQ_SET_OWNER, 0);
	assert_int_equal(vu_fe_connect(&fe, want, 100), 0);
	assert_int_equal(nsent, 6);
	for (unsigned i = 0; i < 6; i++)
		assert_int_equal(sent[i].hdr.request, order[i]);
	assert_true(sent[2].p.u64 == (offered & want));
	assert_true(fe.pfeatures == (offered & want));
	/* REPLY_ACK was not yet in force for SET_PROTOCOL_FEATURES; it is after. */
	assert_int_equal(sent[2].hdr.flags, VU_VERSION);
	assert_int_equal(sent[5].hdr.flags, VU_VERSION | VU_FLAG_NEED_REPLY);
	assert_int_equal(fe.queue_num, 4);
	assert_int_equal(fe.max_slots, 100); /* min(ours, theirs) */
}

static void connect_without_protocol_features(void **state)
{
	(void)state;
	reply_u64(VU_REQ_GET_FEATURES, VU_BIT(VU_F_VERSION_1));
	assert_int_equal(vu_fe_connect(&fe, ALL_PF, 0), 0);
	assert_int_equal(nsent, 2);
	assert_int_equal(sent[1].hdr.request, VU_REQ_SET_OWNER);
	assert_int_equal(sent[1].hdr.flags, VU_VERSION);
	assert_true(fe.pfeatures == 0);
	assert_int_equal(fe.max_slots, 8);
}

static void connect_refuses_hostile_numbers(void **state)
{
	(void)state;
	reply_u64(VU_REQ_GET_FEATURES, VU_BIT(VU_F_PROTOCOL_FEATURES));
	reply_u64(VU_REQ_GET_PROTOCOL_FEATURES, ALL_PF);
	reply_u64(VU_REQ_GET_QUEUE_NUM, 0);
	assert_int_equal(vu_fe_connect(&fe, ALL_PF, 0), -EPROTO);
	setup(NULL);
	reply_u64(VU_REQ_GET_FEATURES, VU_BIT(VU_F_PROTOCOL_FEATURES));
	reply_u64(VU_REQ_GET_PROTOCOL_FEATURES, ALL_PF);
	reply_u64(VU_REQ_GET_QUEUE_NUM, 1000);
	assert_int_equal(vu_fe_connect(&fe, ALL_PF, 0), -EPROTO);
	setup(NULL);
	reply_u64(VU_REQ_GET_FEATURES, VU_BIT(VU_F_PROTOCOL_FEATURES));
	reply_u64(VU_REQ_GET_PROTOCOL_FEATURES, ALL_PF);
	reply_u64(VU_REQ_GET_QUEUE_NUM, 2);
	reply_u64(VU_REQ_GET_MAX_MEM_SLOTS, 0);
	assert_int_equal(vu_fe_connect(&fe, ALL_PF, 0), -EPROTO);
}

static void reply_with_bad_flags_fails_call(void **state)
{
	(void)state;
	reply_raw(VU_REQ_GET_FEATURES, VU_VERSION, 8);
	assert_int_equal(vu_fe_connect(&fe, 0, 0), -EPROTO);
	setup(NULL);
	reply_raw(VU_REQ_GET_PROTOCOL_FEATURES, VU_REPLY_FLAGS, 8); /* wrong code */
	assert_int_equal(vu_fe_connect(&fe, 0, 0), -EPROTO);
	setup(NULL);
	reply_raw(VU_REQ_GET_FEATURES, VU_REPLY_FLAGS, 4); /* short */
	assert_int_equal(vu_fe_connect(&fe, 0, 0), -EPROTO);
	setup(NULL);
	assert_int_equal(vu_fe_connect(&fe, 0, 0), -ECONNRESET); /* no reply at all */
}

static void reply_fds_are_closed(void **state)
{
	struct vu_msg *m;
	(void)state;
	m = reply_raw(VU_REQ_GET_FEATURES, VU_REPLY_FLAGS, 8);
	m->fds[0] = 55;
	m->nfds = 1;
	assert_int_equal(vu_fe_connect(&fe, 0, 0), -EPROTO);
	assert_int_equal(nclosed, 1);
	assert_int_equal(closed[0], 55);
}

static void nonzero_ack_is_eio(void **state)
{
	(void)state;
	connect_with(ALL_PF, ALL_PF, 509);
	reply_u64(VU_REQ_SET_VRING_NUM, 1);
	assert_int_equal(vu_fe_set_vring_num(&fe, 0, 256), -EIO);
	assert_int_equal(sent[0].hdr.flags, VU_VERSION | VU_FLAG_NEED_REPLY);
	assert_int_equal(sent[0].p.state.num, 256);
}

static void vring_fds_and_nofd(void **state)
{
	(void)state;
	connect_with(ALL_PF & ~VU_BIT(VU_PF_REPLY_ACK), ALL_PF, 509);
	assert_int_equal(vu_fe_set_vring_kick(&fe, 1, 42), 0);
	assert_int_equal(vu_fe_set_vring_call(&fe, 2, -1), 0);
	assert_int_equal(nsent, 2);
	assert_true(sent[0].p.u64 == 1);
	assert_int_equal(sent[0].nfds, 1);
	assert_int_equal(sent[0].fds[0], 42);
	assert_true(sent[1].p.u64 == (2 | VU_VRING_NOFD));
	assert_int_equal(sent[1].nfds, 0);
	assert_int_equal(sent[1].hdr.flags, VU_VERSION); /* no REPLY_ACK: no NEED_REPLY */
	/* queue_num is 4 with MQ: ring 4 is refused locally, nothing sent */
	assert_int_equal(vu_fe_set_vring_kick(&fe, 4, -1), -EINVAL);
	assert_int_equal(nsent, 2);
}

static void get_vring_base_checks_index(void **state)
{
	struct vu_msg *m;
	uint32_t base = 0;
	(void)state;
	connect_with(ALL_PF, ALL_PF, 509);
	m = reply_raw(VU_REQ_GET_VRING_BASE, VU_REPLY_FLAGS, 8);
	m->p.state = (struct vu_vring_state){1, 77};
	assert_int_equal(vu_fe_get_vring_base(&fe, 1, &base), 0);
	assert_int_equal(base, 77);
	assert_int_equal(sent[0].hdr.flags, VU_VERSION); /* has its own reply */
	m = reply_raw(VU_REQ_GET_VRING_BASE, VU_REPLY_FLAGS, 8);
	m->p.state = (struct vu_vring_state){2, 77};
	assert_int_equal(vu_fe_get_vring_base(&fe, 1, &base), -EPROTO);
	m = reply_raw(VU_REQ_GET_VRING_BASE, VU_REPLY_FLAGS, 8);
	m->p.state = (struct vu_vring_state){1, 0x10000};
	assert_int_equal(vu_fe_get_vring_base(&fe, 1, &base), -EPROTO);
}

static void get_config_checks_range(void **state)
{
	struct vu_msg *m;
	uint8_t out[8] = {0};
	(void)state;
	connect_with(ALL_PF, ALL_PF, 509);
	m = reply_raw(VU_REQ_GET_CONFIG, VU_REPLY_FLAGS, VU_CONFIG_HDR_SIZE + 8);
	m->p.config.offset = 0;
	m->p.config.size = 8;
	m->p.config.data[0] = 0x42;
	assert_int_equal(vu_fe_get_config(&fe, 0, 8, out), 0);
	assert_int_equal(out[0], 0x42);
	assert_int_equal(sent[0].hdr.size, VU_CONFIG_HDR_SIZE + 8);
	m = reply_raw(VU_REQ_GET_CONFIG, VU_REPLY_FLAGS, VU_CONFIG_HDR_SIZE + 8);
	m->p.config.offset = 4;
	m->p.config.size = 8;
	assert_int_equal(vu_fe_get_config(&fe, 0, 8, out), -EPROTO);
	reply_raw(VU_REQ_GET_CONFIG, VU_REPLY_FLAGS, VU_CONFIG_HDR_SIZE + 4);
	assert_int_equal(vu_fe_get_config(&fe, 0, 8, out), -EPROTO);
	assert_int_equal(vu_fe_get_config(&fe, 0, VU_CONFIG_MAX + 1, out), -EINVAL);
}

static void features_gate_requests(void **state)
{
	uint8_t st;
	(void)state;
	connect_with(VU_BIT(VU_PF_REPLY_ACK), ALL_PF, 0);
	assert_int_equal(vu_fe_set_status(&fe, 15), -EOPNOTSUPP);
	assert_int_equal(vu_fe_get_status(&fe, &st), -EOPNOTSUPP);
	assert_int_equal(vu_fe_reset_device(&fe), -EOPNOTSUPP);
	assert_int_equal(vu_fe_set_backend_req(&fe, 5, 0), -EOPNOTSUPP);
	assert_int_equal(vu_fe_vring_kick(&fe, 0), -EOPNOTSUPP);
	assert_int_equal(nsent, 0);
}

/* A kick is a notification: with REPLY_ACK it still goes without
 * NEED_REPLY, and nothing is read back (a round trip per kick would
 * serialise all I/O on the transport's latency). */
static void inband_kick_wants_no_reply(void **state)
{
	(void)state;
	connect_with(ALL_PF | VU_BIT(VU_PF_INBAND_NOTIFICATIONS),
		     ALL_PF | VU_BIT(VU_PF_INBAND_NOTIFICATIONS), 509);
	assert_true(fe.reply_ack);
	assert_int_equal(vu_fe_vring_kick(&fe, 3), 0);
	assert_int_equal(nsent, 1);
	assert_int_equal(sent[0].hdr.request, VU_REQ_VRING_KICK);
	assert_int_equal(sent[0].hdr.flags, VU_VERSION);
	assert_int_equal(sent[0].hdr.size, 8);
	assert_int_equal(sent[0].p.state.index, 3);
	assert_int_equal(sent[0].p.state.num, 0);
	assert_int_equal(vu_fe_vring_kick(&fe, 4), -EINVAL); /* GET_QUEUE_NUM said 4 */
	assert_int_equal(nsent, 1);
}

static void status_and_backend_req_forms(void **state)
{
	uint8_t st = 0;
	(void)state;
	connect_with(ALL_PF, ALL_PF, 509);
	reply_u64(VU_REQ_GET_STATUS, 0x0f);
	assert_int_equal(vu_fe_get_status(&fe, &st), 0);
	assert_int_equal(st, 0x0f);
	reply_u64(VU_REQ_GET_STATUS, 0x100);
	assert_int_equal(vu_fe_get_status(&fe, &st), -EPROTO);
	reply_u64(VU_REQ_SET_BACKEND_REQ_FD, 0);
	assert_int_equal(vu_fe_set_backend_req(&fe, 9, 0), 0);
	assert_int_equal(sent[2].hdr.size, 0);
	assert_int_equal(sent[2].nfds, 1);
	reply_u64(VU_REQ_SET_BACKEND_REQ_FD, 0);
	assert_int_equal(vu_fe_set_backend_req(&fe, -1, 5001), 0);
	assert_int_equal(sent[3].hdr.size, 8);
	assert_int_equal(sent[3].nfds, 0);
	assert_true(sent[3].p.u64 == 5001);
}

static void set_mem_sends_removals_then_additions(void **state)
{
	struct vu_fe_region a[3] = {reg(0, 4096, 0x10000), reg(4096, 4096, 0x20000),
				    reg(8192, 4096, 0x30000)};
	struct vu_fe_region b[2] = {a[1], reg(1 << 20, 4096, 0x90000)};
	(void)state;
	connect_with(ALL_PF, ALL_PF, 509);
	for (int i = 0; i < 3; i++)
		reply_u64(VU_REQ_ADD_MEM_REG, 0);
	assert_int_equal(vu_fe_set_mem(&fe, a, 3), 0);
	assert_int_equal(nsent, 3);
	assert_int_equal(sent[0].nfds, 1);
	assert_int_equal(sent[0].hdr.size, 40);
	assert_int_equal(fe.nshadow, 3);
	nsent = 0;
	reply_u64(VU_REQ_REM_MEM_REG, 0);
	reply_u64(VU_REQ_REM_MEM_REG, 0);
	reply_u64(VU_REQ_ADD_MEM_REG, 0);
	assert_int_equal(vu_fe_set_mem(&fe, b, 2), 0);
	assert_int_equal(nsent, 3);
	assert_int_equal(sent[0].hdr.request, VU_REQ_REM_MEM_REG);
	assert_int_equal(sent[1].hdr.request, VU_REQ_REM_MEM_REG);
	assert_int_equal(sent[0].nfds, 0); /* never an fd on REM */
	assert_int_equal(sent[2].hdr.request, VU_REQ_ADD_MEM_REG);
	assert_true(sent[2].p.mem_single.region.gpa == 1 << 20);
	assert_int_equal(fe.nshadow, 2);
	/* Nothing changes: nothing sent. */
	nsent = 0;
	assert_int_equal(vu_fe_set_mem(&fe, b, 2), 0);
	assert_int_equal(nsent, 0);
}

static void set_mem_shadow_follows_acks(void **state)
{
	struct vu_fe_region a[3] = {reg(0, 4096, 0x10000), reg(4096, 4096, 0x20000),
				    reg(8192, 4096, 0x30000)};
	(void)state;
	connect_with(ALL_PF, ALL_PF, 509);
	reply_u64(VU_REQ_ADD_MEM_REG, 0);
	reply_u64(VU_REQ_ADD_MEM_REG, 22); /* the second one is refused */
	assert_int_equal(vu_fe_set_mem(&fe, a, 3), -EIO);
	assert_int_equal(nsent, 2);
	assert_int_equal(fe.nshadow, 1);
	assert_true(fe.shadow[0].gpa == 0);
	/* Retrying sends only what is missing. */
	nsent = 0;
	reply_u64(VU_REQ_ADD_MEM_REG, 0);
	reply_u64(VU_REQ_ADD_MEM_REG, 0);
	assert_int_equal(vu_fe_set_mem(&fe, a, 3), 0);
	assert_int_equal(nsent, 2);
	assert_int_equal(fe.nshadow, 3);
}

static void set_mem_refuses_beyond_max_slots_locally(void **state)
{
	struct vu_fe_region a[3] = {reg(0, 4096, 0x10000), reg(4096, 4096, 0x20000),
				    reg(8192, 4096, 0x30000)};
	(void)state;
	connect_with(ALL_PF, ALL_PF, 2);
	assert_int_equal(vu_fe_set_mem(&fe, a, 3), -ENOSPC);
	assert_int_equal(nsent, 0);
	assert_int_equal(fe.nshadow, 0);
}

static void set_mem_table_fallback(void **state)
{
	struct vu_fe_region a[9];
	(void)state;
	for (int i = 0; i < 9; i++)
		a[i] = reg((uint64_t)i << 20, 4096, 0x100000 + ((uint64_t)i << 20));
	a[2].fd = -1; /* fd-less region: nothing attached for it */
	connect_with(ALL_PF & ~VU_BIT(VU_PF_CONFIGURE_MEM_SLOTS), ALL_PF, 0);
	assert_int_equal(vu_fe_set_mem(&fe, a, 9), -ENOSPC);
	assert_int_equal(nsent, 0);
	reply_u64(VU_REQ_SET_MEM_TABLE, 0);
	assert_int_equal(vu_fe_set_mem(&fe, a, 3), 0);
	assert_int_equal(nsent, 1);
	assert_int_equal(sent[0].hdr.request, VU_REQ_SET_MEM_TABLE);
	assert_int_equal(sent[0].hdr.size, 8 + 3 * 32);
	assert_int_equal(sent[0].p.mem_table.nregions, 3);
	assert_int_equal(sent[0].nfds, 2);
	assert_int_equal(fe.nshadow, 3);
	assert_int_equal(vu_fe_set_mem(&fe, a, 3), 0); /* unchanged: nothing sent */
	assert_int_equal(nsent, 1);
	reply_u64(VU_REQ_SET_MEM_TABLE, 1);
	assert_int_equal(vu_fe_set_mem(&fe, a, 4), -EIO);
	assert_int_equal(fe.nshadow, 3); /* refused: shadow unchanged */
}

static int cb_calls, cb_ret;
static uint32_t cb_code;
static int cb(void *ctx, struct vu_msg *req)
{
	(void)ctx;
	cb_calls++;
	cb_code = req->hdr.request;
	if (req->nfds)
		req->fds[0] = -1; /* take the fd */
	return cb_ret;
}

static void backend_requests_dispatch_and_reply(void **state)
{
	(void)state;
	connect_with(ALL_PF | VU_BIT(VU_PF_SHMEM), ALL_PF | VU_BIT(VU_PF_SHMEM), 509);
	fe.on_backend_req = cb;
	cb_calls = 0;
	cb_ret = 0;
	breqs[nbreqs++] = breq(VU_BREQ_CONFIG_CHANGE_MSG, VU_VERSION, 0, 0);
	breqs[nbreqs++] = breq(VU_BREQ_SHMEM_MAP, VU_VERSION | VU_FLAG_NEED_REPLY, 40, 1);
	breqs[nbreqs++] = breq(VU_BREQ_SHMEM_UNMAP, VU_VERSION | VU_FLAG_NEED_REPLY, 40, 0);
	breqs[nbreqs++] = breq(77, VU_VERSION | VU_FLAG_NEED_REPLY, 4, 1); /* unknown */
	cb_ret = 0;
	assert_int_equal(vu_fe_poll_backend(&fe), 4);
	assert_int_equal(cb_calls, 3);
	assert_int_equal(nbsent, 3); /* no reply without NEED_REPLY */
	assert_int_equal(bsent[0].hdr.request, VU_BREQ_SHMEM_MAP);
	assert_int_equal(bsent[0].hdr.flags, VU_REPLY_FLAGS);
	assert_int_equal(bsent[0].hdr.size, 8);
	assert_true(bsent[0].p.u64 == 0);
	assert_int_equal(bsent[2].hdr.request, 77);
	assert_true(bsent[2].p.u64 != 0);
	/* The callback took the SHMEM_MAP fd; the unknown one's fd was closed. */
	assert_int_equal(nclosed, 1);
	assert_int_equal(closed[0], 200);
	assert_int_equal(vu_fe_poll_backend(&fe), 0);
}

static void backend_request_failures(void **state)
{
	(void)state;
	connect_with(ALL_PF, ALL_PF, 509);
	/* No callback: a request that wants a reply gets a non-zero one. */
	breqs[nbreqs++] = breq(VU_BREQ_CONFIG_CHANGE_MSG, VU_VERSION | VU_FLAG_NEED_REPLY, 0, 0);
	/* SHMEM not negotiated: refused, fd closed, reply non-zero. */
	breqs[nbreqs++] = breq(VU_BREQ_SHMEM_MAP, VU_VERSION | VU_FLAG_NEED_REPLY, 40, 1);
	/* Malformed: the channel is dropped, its fds closed. */
	breqs[nbreqs++] = breq(VU_BREQ_CONFIG_CHANGE_MSG, VU_REPLY_FLAGS, 0, 2);
	assert_int_equal(vu_fe_poll_backend(&fe), -EPROTO);
	assert_int_equal(nbsent, 2);
	assert_true(bsent[0].p.u64 != 0);
	assert_true(bsent[1].p.u64 != 0);
	assert_int_equal(nclosed, 3);
}

static void send_failure_is_reported(void **state)
{
	(void)state;
	connect_with(ALL_PF, ALL_PF, 509);
	fail_send_at = 0;
	assert_int_equal(vu_fe_set_vring_enable(&fe, 0, true), -EPIPE);
}

/* ---- GET_SHMEM_CONFIG and RESET_DEVICE's hook --------------------------- */

#define SHM_PF (ALL_PF | VU_BIT(VU_PF_SHMEM))

static struct vu_msg *reply_shmem_config(uint32_t nregions)
{
	struct vu_msg *m = reply_raw(VU_REQ_GET_SHMEM_CONFIG, VU_REPLY_FLAGS,
				     sizeof(struct vu_shmem_config_msg));
	m->p.shmem_config.nregions = nregions;
	return m;
}

static uint64_t shm_sizes[VU_SHMEM_MAX_REGIONS];

static void shmem_config_good_replies(void **state)
{
	struct vu_msg *m;
	uint32_t n = 99;
	(void)state;
	connect_with(SHM_PF, SHM_PF, 509);
	m = reply_shmem_config(2);
	m->p.shmem_config.sizes[0] = 1 << 20;
	m->p.shmem_config.sizes[1] = 4 << 20;
	memset(shm_sizes, 0xff, sizeof(shm_sizes));
	assert_int_equal(vu_fe_get_shmem_config(&fe, &n, shm_sizes), 0);
	assert_int_equal(n, 2);
	assert_int_equal(shm_sizes[0], 1 << 20);
	assert_int_equal(shm_sizes[1], 4 << 20);
	for (uint32_t i = 2; i < VU_SHMEM_MAX_REGIONS; i++)
		assert_int_equal(shm_sizes[i], 0);
	/* The request: code 44, no payload, no NEED_REPLY (it has a reply). */
	assert_int_equal(nsent, 1);
	assert_int_equal(sent[0].hdr.request, VU_REQ_GET_SHMEM_CONFIG);
	assert_int_equal(sent[0].hdr.flags, VU_VERSION);
	assert_int_equal(sent[0].hdr.size, 0);
	/* No regions at all, and all 256 with a hole (size 0 inside). */
	reply_shmem_config(0);
	assert_int_equal(vu_fe_get_shmem_config(&fe, &n, shm_sizes), 0);
	assert_int_equal(n, 0);
	m = reply_shmem_config(VU_SHMEM_MAX_REGIONS);
	for (uint32_t i = 0; i < VU_SHMEM_MAX_REGIONS; i++)
		m->p.shmem_config.sizes[i] = i == 7 ? 0 : 4096;
	assert_int_equal(vu_fe_get_shmem_config(&fe, &n, shm_sizes), 0);
	assert_int_equal(n, VU_SHMEM_MAX_REGIONS);
	assert_int_equal(shm_sizes[255], 4096);
	assert_int_equal(shm_sizes[7], 0);
}

static void shmem_config_hostile_replies(void **state)
{
	uint32_t n = 99;
	(void)state;
	connect_with(SHM_PF, SHM_PF, 509);
	memset(shm_sizes, 0xab, sizeof(shm_sizes));
	/* nregions beyond 256 */
	reply_shmem_config(VU_SHMEM_MAX_REGIONS + 1);
	assert_int_equal(vu_fe_get_shmem_config(&fe, &n, shm_sizes), -EPROTO);
	/* a size at shmid >= nregions: first one after, and the very last */
	reply_shmem_config(2)->p.shmem_config.sizes[2] = 4096;
	assert_int_equal(vu_fe_get_shmem_config(&fe, &n, shm_sizes), -EPROTO);
	reply_shmem_config(0)->p.shmem_config.sizes[255] = 1;
	assert_int_equal(vu_fe_get_shmem_config(&fe, &n, shm_sizes), -EPROTO);
	/* short and long payloads, wrong code, wrong flags, fds */
	reply_raw(VU_REQ_GET_SHMEM_CONFIG, VU_REPLY_FLAGS, 8);
	assert_int_equal(vu_fe_get_shmem_config(&fe, &n, shm_sizes), -EPROTO);
	reply_raw(VU_REQ_GET_SHMEM_CONFIG, VU_REPLY_FLAGS, sizeof(struct vu_shmem_config_msg) - 8);
	assert_int_equal(vu_fe_get_shmem_config(&fe, &n, shm_sizes), -EPROTO);
	reply_raw(VU_REQ_GET_SHMEM_CONFIG, VU_REPLY_FLAGS, sizeof(struct vu_shmem_config_msg) + 8);
	assert_int_equal(vu_fe_get_shmem_config(&fe, &n, shm_sizes), -EPROTO);
	reply_raw(VU_REQ_GET_CONFIG, VU_REPLY_FLAGS, sizeof(struct vu_shmem_config_msg));
	assert_int_equal(vu_fe_get_shmem_config(&fe, &n, shm_sizes), -EPROTO);
	reply_raw(VU_REQ_GET_SHMEM_CONFIG, VU_VERSION, sizeof(struct vu_shmem_config_msg));
	assert_int_equal(vu_fe_get_shmem_config(&fe, &n, shm_sizes), -EPROTO);
	{
		struct vu_msg *m = reply_shmem_config(1);
		m->nfds = 1;
		m->fds[0] = 300;
	}
	assert_int_equal(vu_fe_get_shmem_config(&fe, &n, shm_sizes), -EPROTO);
	assert_int_equal(nclosed, 1);
	assert_int_equal(closed[0], 300);
	/* No reply at all. */
	assert_int_equal(vu_fe_get_shmem_config(&fe, &n, shm_sizes), -ECONNRESET);
	/* Nothing was handed out by any failed call. */
	assert_int_equal(n, 99);
	assert_int_equal(shm_sizes[0], 0xababababababababull);
}

static void shmem_config_needs_feature(void **state)
{
	uint32_t n = 99;
	(void)state;
	connect_with(SHM_PF, ALL_PF, 509);
	assert_int_equal(vu_fe_get_shmem_config(&fe, &n, shm_sizes), -EOPNOTSUPP);
	assert_int_equal(nsent, 0);
}

static unsigned resets;
static unsigned resets_seen_at_send; /* nsent when the hook ran */

static void count_reset(void *ctx)
{
	assert_ptr_equal(ctx, &resets);
	resets++;
	resets_seen_at_send = nsent;
}

static void reset_device_runs_hook(void **state)
{
	(void)state;
	resets = 0;
	connect_with(ALL_PF, ALL_PF, 509);
	fe.on_reset = count_reset;
	fe.reset_ctx = &resets;
	/* Acked: the hook ran once, after the request went out. */
	reply_u64(VU_REQ_RESET_DEVICE, 0);
	assert_int_equal(vu_fe_reset_device(&fe), 0);
	assert_int_equal(resets, 1);
	assert_int_equal(resets_seen_at_send, 1);
	assert_int_equal(sent[0].hdr.request, VU_REQ_RESET_DEVICE);
	assert_int_equal(sent[0].hdr.flags, VU_VERSION | VU_FLAG_NEED_REPLY);
	/* Refused, a bad ack and no ack: still dropped on our side. */
	reply_u64(VU_REQ_RESET_DEVICE, 1);
	assert_int_equal(vu_fe_reset_device(&fe), -EIO);
	assert_int_equal(resets, 2);
	reply_raw(VU_REQ_RESET_DEVICE, VU_VERSION, 8);
	assert_int_equal(vu_fe_reset_device(&fe), -EPROTO);
	assert_int_equal(resets, 3);
	assert_int_equal(vu_fe_reset_device(&fe), -ECONNRESET);
	assert_int_equal(resets, 4);
	/* Not sent (send failed): the device was not reset, nor are we. */
	fail_send_at = (int)nsent;
	assert_int_equal(vu_fe_reset_device(&fe), -EPIPE);
	assert_int_equal(resets, 4);
	/* Not negotiated: nothing sent, nothing dropped. */
	fail_send_at = -1;
	connect_with(ALL_PF, ALL_PF & ~VU_BIT(VU_PF_RESET_DEVICE), 509);
	assert_int_equal(vu_fe_reset_device(&fe), -EOPNOTSUPP);
	assert_int_equal(resets, 4);
}

static void reset_device_without_reply_ack(void **state)
{
	(void)state;
	resets = 0;
	connect_with(ALL_PF, ALL_PF & ~VU_BIT(VU_PF_REPLY_ACK), 509);
	fe.on_reset = count_reset;
	fe.reset_ctx = &resets;
	assert_int_equal(vu_fe_reset_device(&fe), 0);
	assert_int_equal(resets, 1);
	assert_int_equal(sent[0].hdr.flags, VU_VERSION);
	/* No hook: still fine. */
	fe.on_reset = NULL;
	assert_int_equal(vu_fe_reset_device(&fe), 0);
	assert_int_equal(resets, 1);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup(diff_from_empty_adds_all, setup),
		cmocka_unit_test_setup(diff_same_table_is_empty, setup),
		cmocka_unit_test_setup(diff_removals_come_first, setup),
		cmocka_unit_test_setup(diff_resized_region_is_replaced, setup),
		cmocka_unit_test_setup(diff_refuses_bad_wanted_tables, setup),
		cmocka_unit_test_setup(diff_respects_slot_limit_and_op_space, setup),
		cmocka_unit_test_setup(reply_checks_flags_code_size_fds, setup),
		cmocka_unit_test_setup(backend_req_validation, setup),
		cmocka_unit_test_setup(connect_sequence_and_intersection, setup),
		cmocka_unit_test_setup(connect_without_protocol_features, setup),
		cmocka_unit_test_setup(connect_refuses_hostile_numbers, setup),
		cmocka_unit_test_setup(reply_with_bad_flags_fails_call, setup),
		cmocka_unit_test_setup(reply_fds_are_closed, setup),
		cmocka_unit_test_setup(nonzero_ack_is_eio, setup),
		cmocka_unit_test_setup(vring_fds_and_nofd, setup),
		cmocka_unit_test_setup(get_vring_base_checks_index, setup),
		cmocka_unit_test_setup(get_config_checks_range, setup),
		cmocka_unit_test_setup(features_gate_requests, setup),
		cmocka_unit_test_setup(inband_kick_wants_no_reply, setup),
		cmocka_unit_test_setup(status_and_backend_req_forms, setup),
		cmocka_unit_test_setup(set_mem_sends_removals_then_additions, setup),
		cmocka_unit_test_setup(set_mem_shadow_follows_acks, setup),
		cmocka_unit_test_setup(set_mem_refuses_beyond_max_slots_locally, setup),
		cmocka_unit_test_setup(set_mem_table_fallback, setup),
		cmocka_unit_test_setup(backend_requests_dispatch_and_reply, setup),
		cmocka_unit_test_setup(backend_request_failures, setup),
		cmocka_unit_test_setup(send_failure_is_reported, setup),
		cmocka_unit_test_setup(shmem_config_good_replies, setup),
		cmocka_unit_test_setup(shmem_config_hostile_replies, setup),
		cmocka_unit_test_setup(shmem_config_needs_feature, setup),
		cmocka_unit_test_setup(reset_device_runs_hook, setup),
		cmocka_unit_test_setup(reset_device_without_reply_ack, setup),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
