/* test_msg.c - vu_msg_check(): one test per rule of the validation table.
 *
 * Each test builds a message that is well-formed except for the one thing
 * under test, and checks both the errno and that *why names the field.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "vu/msg.h"
#include "vu/wire.h"

#define ALL_PF (~0ull)

static struct vu_msg g_msg;

/* A request with `size` payload bytes and `nfds` fake fds, flags = version 1. */
static struct vu_msg *mk(uint32_t request, uint32_t size, uint32_t nfds)
{
	struct vu_msg *m = &g_msg;

	memset(m, 0, sizeof(*m));
	m->hdr.request = request;
	m->hdr.flags = VU_VERSION;
	m->hdr.size = size;
	for (uint32_t i = 0; i < VU_MAX_FDS; i++)
		m->fds[i] = i < nfds ? (int)(100 + i) : -1;
	m->nfds = nfds;
	return m;
}

/* Check with every protocol feature negotiated and ownership taken, so only
 * the envelope can fail. */
static int check(const struct vu_msg *m, const char **why)
{
	return vu_msg_check(m, ALL_PF, true, why);
}

static void expect_reject(const struct vu_msg *m, uint64_t pf, bool owner, int err,
			  const char *field)
{
	const char *why = NULL;

	assert_int_equal(vu_msg_check(m, pf, owner, &why), err);
	assert_non_null(why);
	assert_non_null(strstr(why, field));
}

/* ---- request code ------------------------------------------------------- */

static void test_unknown_code_0(void **state)
{
	(void)state;
	expect_reject(mk(0, 0, 0), ALL_PF, true, -EOPNOTSUPP, "request: unknown");
}

static void test_unknown_code_46(void **state)
{
	(void)state;
	expect_reject(mk(46, 0, 0), ALL_PF, true, -EOPNOTSUPP, "request: unknown");
}

static void test_unknown_code_max(void **state)
{
	(void)state;
	expect_reject(mk(0xffffffffu, 0, 0), ALL_PF, true, -EOPNOTSUPP, "request: unknown");
}

static void test_unknown_code_is_checked_before_flags(void **state)
{
	struct vu_msg *m = mk(VU_REQ_MAX, 0, 0);

	(void)state;
	m->hdr.flags = 0xffffffffu;
	expect_reject(m, ALL_PF, true, -EOPNOTSUPP, "request: unknown");
}

/* ---- flags -------------------------------------------------------------- */

static void test_version_0_refused(void **state)
{
	struct vu_msg *m = mk(VU_REQ_GET_FEATURES, 0, 0);

	(void)state;
	m->hdr.flags = 0;
	expect_reject(m, ALL_PF, true, -EPROTO, "flags: version");
}

static void test_version_2_refused(void **state)
{
	struct vu_msg *m = mk(VU_REQ_GET_FEATURES, 0, 0);

	(void)state;
	m->hdr.flags = 2;
	expect_reject(m, ALL_PF, true, -EPROTO, "flags: version");
}

static void test_version_3_refused(void **state)
{
	struct vu_msg *m = mk(VU_REQ_GET_FEATURES, 0, 0);

	(void)state;
	m->hdr.flags = 3 | VU_FLAG_NEED_REPLY;
	expect_reject(m, ALL_PF, true, -EPROTO, "flags: version");
}

static void test_reply_flag_on_request_refused(void **state)
{
	struct vu_msg *m = mk(VU_REQ_GET_FEATURES, 0, 0);

	(void)state;
	m->hdr.flags = VU_REPLY_FLAGS;
	expect_reject(m, ALL_PF, true, -EPROTO, "flags: REPLY");
}

static void test_reserved_flag_bit_4_refused(void **state)
{
	struct vu_msg *m = mk(VU_REQ_GET_FEATURES, 0, 0);

	(void)state;
	m->hdr.flags = VU_VERSION | (1u << 4);
	expect_reject(m, ALL_PF, true, -EPROTO, "flags: reserved");
}

static void test_reserved_flag_bit_31_refused(void **state)
{
	struct vu_msg *m = mk(VU_REQ_SET_VRING_NUM, 8, 0);

	(void)state;
	m->hdr.flags = VU_VERSION | VU_FLAG_NEED_REPLY | (1u << 31);
	expect_reject(m, ALL_PF, true, -EPROTO, "flags: reserved");
}

static void test_need_reply_flag_accepted(void **state)
{
	struct vu_msg *m = mk(VU_REQ_SET_VRING_NUM, 8, 0);
	const char *why = NULL;

	(void)state;
	m->hdr.flags = VU_VERSION | VU_FLAG_NEED_REPLY;
	assert_int_equal(check(m, &why), 0);
	assert_string_equal(why, "");
}

/* ---- size and fd count -------------------------------------------------- */

static void test_size_above_transport_limit_refused(void **state)
{
	(void)state;
	/* CREATE_CRYPTO_SESSION takes anything up to the limit: only the
	 * transport limit can refuse it. */
	expect_reject(mk(VU_REQ_CREATE_CRYPTO_SESSION, VU_MAX_PAYLOAD + 1, 0), ALL_PF, true,
		      -EINVAL, "size: beyond the transport");
	expect_reject(mk(VU_REQ_GET_FEATURES, 0xffffffffu, 0), ALL_PF, true, -EINVAL,
		      "size: beyond the transport");
}

static void test_nfds_above_transport_limit_refused(void **state)
{
	(void)state;
	expect_reject(mk(VU_REQ_SET_MEM_TABLE, 8, VU_MAX_FDS + 1), ALL_PF, true, -EINVAL,
		      "beyond the transport");
}

static void test_fixed_size_too_small_refused(void **state)
{
	(void)state;
	expect_reject(mk(VU_REQ_SET_VRING_NUM, 4, 0), ALL_PF, true, -EINVAL, "size: wrong");
}

static void test_fixed_size_too_large_refused(void **state)
{
	(void)state;
	expect_reject(mk(VU_REQ_SET_VRING_NUM, 12, 0), ALL_PF, true, -EINVAL, "size: wrong");
}

static void test_empty_request_with_payload_refused(void **state)
{
	(void)state;
	expect_reject(mk(VU_REQ_GET_FEATURES, 8, 0), ALL_PF, true, -EINVAL, "size: wrong");
}

static void test_u64_request_without_payload_refused(void **state)
{
	(void)state;
	expect_reject(mk(VU_REQ_SET_VRING_KICK, 0, 0), ALL_PF, true, -EINVAL, "size: wrong");
}

static void test_variable_size_bounds(void **state)
{
	const char *why;

	(void)state;
	/* SET_MEM_TABLE: 8 (nregions + padding) .. 8 + 8 regions. */
	assert_int_equal(check(mk(VU_REQ_SET_MEM_TABLE, 8, 0), &why), 0);
	assert_int_equal(check(mk(VU_REQ_SET_MEM_TABLE, 8 + 8 * 32, 8), &why), 0);
	expect_reject(mk(VU_REQ_SET_MEM_TABLE, 7, 0), ALL_PF, true, -EINVAL, "size");
	expect_reject(mk(VU_REQ_SET_MEM_TABLE, 8 + 8 * 32 + 1, 0), ALL_PF, true, -EINVAL, "size");
	/* GET_CONFIG: the 12-byte header .. header + 256 bytes. */
	assert_int_equal(check(mk(VU_REQ_GET_CONFIG, 12, 0), &why), 0);
	assert_int_equal(check(mk(VU_REQ_GET_CONFIG, 12 + 256, 0), &why), 0);
	expect_reject(mk(VU_REQ_GET_CONFIG, 11, 0), ALL_PF, true, -EINVAL, "size");
	expect_reject(mk(VU_REQ_GET_CONFIG, 12 + 257, 0), ALL_PF, true, -EINVAL, "size");
}

static void test_add_mem_reg_without_fd_refused(void **state)
{
	(void)state;
	expect_reject(mk(VU_REQ_ADD_MEM_REG, 40, 0), ALL_PF, true, -EINVAL, "fds: required");
}

static void test_set_backend_req_fd_without_fd_refused(void **state)
{
	(void)state;
	expect_reject(mk(VU_REQ_SET_BACKEND_REQ_FD, 0, 0), ALL_PF, true, -EINVAL, "fds: required");
}

static void test_set_inflight_fd_without_fd_refused(void **state)
{
	(void)state;
	expect_reject(mk(VU_REQ_SET_INFLIGHT_FD, 24, 0), ALL_PF, true, -EINVAL, "fds: required");
}

static void test_add_mem_reg_with_two_fds_refused(void **state)
{
	(void)state;
	expect_reject(mk(VU_REQ_ADD_MEM_REG, 40, 2), ALL_PF, true, -EINVAL, "fds: more");
}

static void test_get_features_with_fd_refused(void **state)
{
	(void)state;
	expect_reject(mk(VU_REQ_GET_FEATURES, 0, 1), ALL_PF, true, -EINVAL, "fds: more");
}

static void test_set_vring_kick_with_two_fds_refused(void **state)
{
	(void)state;
	expect_reject(mk(VU_REQ_SET_VRING_KICK, 8, 2), ALL_PF, true, -EINVAL, "fds: more");
}

static void test_rem_mem_reg_with_one_fd_accepted(void **state)
{
	const char *why;

	(void)state;
	/* Older front-ends send one; the back-end closes it. */
	assert_int_equal(check(mk(VU_REQ_REM_MEM_REG, 40, 1), &why), 0);
	expect_reject(mk(VU_REQ_REM_MEM_REG, 40, 2), ALL_PF, true, -EINVAL, "fds: more");
}

/* ---- protocol feature gating -------------------------------------------- */

static void test_add_mem_reg_needs_configure_mem_slots(void **state)
{
	const char *why;
	struct vu_msg *m = mk(VU_REQ_ADD_MEM_REG, 40, 1);

	(void)state;
	expect_reject(m, ALL_PF & ~VU_BIT(VU_PF_CONFIGURE_MEM_SLOTS), true, -EOPNOTSUPP,
		      "protocol feature");
	assert_int_equal(vu_msg_check(m, VU_BIT(VU_PF_CONFIGURE_MEM_SLOTS), true, &why), 0);
}

static void test_get_config_needs_config(void **state)
{
	const char *why;
	struct vu_msg *m = mk(VU_REQ_GET_CONFIG, 12, 0);

	(void)state;
	expect_reject(m, ALL_PF & ~VU_BIT(VU_PF_CONFIG), true, -EOPNOTSUPP, "protocol feature");
	assert_int_equal(vu_msg_check(m, VU_BIT(VU_PF_CONFIG), false, &why), 0);
}

static void test_vring_kick_needs_inband_notifications(void **state)
{
	const char *why;
	struct vu_msg *m = mk(VU_REQ_VRING_KICK, 8, 0);

	(void)state;
	expect_reject(m, ALL_PF & ~VU_BIT(VU_PF_INBAND_NOTIFICATIONS), true, -EOPNOTSUPP,
		      "protocol feature");
	assert_int_equal(vu_msg_check(m, VU_BIT(VU_PF_INBAND_NOTIFICATIONS), true, &why), 0);
}

/* GET_SHMEM_CONFIG (44): no payload, no fd, only with SHMEM (bit 22), and
 * answered with its own 2056-byte reply. */
static void test_get_shmem_config_rules(void **state)
{
	const struct vu_msg_rule *r = vu_msg_rule(VU_REQ_GET_SHMEM_CONFIG);
	const char *why;

	(void)state;
	assert_int_equal(VU_REQ_GET_SHMEM_CONFIG, 44);
	assert_int_equal(VU_PF_SHMEM, 22);
	assert_non_null(r);
	assert_true(r->supported);
	assert_true(r->has_reply);
	assert_false(r->needs_owner);
	assert_int_equal(r->pfeature, VU_PF_SHMEM);
	assert_int_equal(
		vu_msg_check(mk(VU_REQ_GET_SHMEM_CONFIG, 0, 0), VU_BIT(VU_PF_SHMEM), false, &why),
		0);
	expect_reject(mk(VU_REQ_GET_SHMEM_CONFIG, 0, 0), ALL_PF & ~VU_BIT(VU_PF_SHMEM), true,
		      -EOPNOTSUPP, "protocol feature");
	expect_reject(mk(VU_REQ_GET_SHMEM_CONFIG, 8, 0), ALL_PF, true, -EINVAL, "size");
	expect_reject(mk(VU_REQ_GET_SHMEM_CONFIG, 0, 1), ALL_PF, true, -EINVAL, "fds");
}

static void test_gated_request_refused_with_no_protocol_features(void **state)
{
	static const uint32_t gated[] = {
		VU_REQ_GET_QUEUE_NUM,	VU_REQ_GET_MAX_MEM_SLOTS, VU_REQ_GET_STATUS,
		VU_REQ_RESET_DEVICE,	VU_REQ_SET_STATUS,	  VU_REQ_SET_BACKEND_REQ_FD,
		VU_REQ_GET_INFLIGHT_FD, VU_REQ_SET_INFLIGHT_FD,
	};

	(void)state;
	for (size_t i = 0; i < sizeof(gated) / sizeof(gated[0]); i++) {
		const struct vu_msg_rule *r = vu_msg_rule(gated[i]);

		assert_non_null(r);
		expect_reject(mk(gated[i], r->min_size, r->min_fds), 0, true, -EOPNOTSUPP,
			      "protocol feature");
	}
}

/* ---- ownership ---------------------------------------------------------- */

static void test_needs_owner(void **state)
{
	(void)state;
	expect_reject(mk(VU_REQ_SET_VRING_NUM, 8, 0), ALL_PF, false, -EPERM, "SET_OWNER");
	expect_reject(mk(VU_REQ_SET_MEM_TABLE, 8, 0), ALL_PF, false, -EPERM, "SET_OWNER");
	expect_reject(mk(VU_REQ_ADD_MEM_REG, 40, 1), ALL_PF, false, -EPERM, "SET_OWNER");
	expect_reject(mk(VU_REQ_SET_FEATURES, 8, 0), ALL_PF, false, -EPERM, "SET_OWNER");
}

static void test_handshake_requests_need_no_owner(void **state)
{
	/* QEMU sends these before SET_OWNER (PROTOCOL-NOTES, sequence 1). */
	static const uint32_t pre_owner[] = {
		VU_REQ_GET_FEATURES,
		VU_REQ_GET_PROTOCOL_FEATURES,
		VU_REQ_SET_PROTOCOL_FEATURES,
		VU_REQ_GET_QUEUE_NUM,
		VU_REQ_GET_MAX_MEM_SLOTS,
		VU_REQ_SET_BACKEND_REQ_FD,
		VU_REQ_SET_OWNER,
		VU_REQ_GET_CONFIG,
	};
	const char *why;

	(void)state;
	for (size_t i = 0; i < sizeof(pre_owner) / sizeof(pre_owner[0]); i++) {
		const struct vu_msg_rule *r = vu_msg_rule(pre_owner[i]);

		assert_int_equal(vu_msg_check(mk(pre_owner[i], r->min_size, r->min_fds), ALL_PF,
					      false, &why),
				 0);
	}
}

/* ---- unimplemented requests --------------------------------------------- */

static void expect_unimplemented(uint32_t request)
{
	const struct vu_msg_rule *r = vu_msg_rule(request);

	assert_non_null(r);
	assert_false(r->supported);
	/* A perfect envelope, every feature, ownership: still refused. */
	expect_reject(mk(request, r->min_size, r->min_fds), ALL_PF, true, -EOPNOTSUPP,
		      "not implemented");
}

static void test_set_log_base_unimplemented(void **state)
{
	(void)state;
	expect_unimplemented(VU_REQ_SET_LOG_BASE);
}

static void test_set_log_fd_unimplemented(void **state)
{
	(void)state;
	expect_unimplemented(VU_REQ_SET_LOG_FD);
}

static void test_iotlb_msg_unimplemented(void **state)
{
	(void)state;
	expect_unimplemented(VU_REQ_IOTLB_MSG);
}

static void test_postcopy_unimplemented(void **state)
{
	(void)state;
	expect_unimplemented(VU_REQ_POSTCOPY_ADVISE);
	expect_unimplemented(VU_REQ_POSTCOPY_LISTEN);
	expect_unimplemented(VU_REQ_POSTCOPY_END);
}

static void test_get_shared_object_unimplemented(void **state)
{
	(void)state;
	expect_unimplemented(VU_REQ_GET_SHARED_OBJECT);
}

static void test_device_state_unimplemented(void **state)
{
	(void)state;
	expect_unimplemented(VU_REQ_SET_DEVICE_STATE_FD);
	expect_unimplemented(VU_REQ_CHECK_DEVICE_STATE);
}

static void test_other_unimplemented(void **state)
{
	static const uint32_t codes[] = {
		VU_REQ_SEND_RARP,
		VU_REQ_NET_SET_MTU,
		VU_REQ_SET_VRING_ENDIAN,
		VU_REQ_CREATE_CRYPTO_SESSION,
		VU_REQ_CLOSE_CRYPTO_SESSION,
		VU_REQ_GPU_SET_SOCKET,
		VU_REQ_GET_VRING_BASE_SKIP_DRAIN,
	};

	(void)state;
	for (size_t i = 0; i < sizeof(codes) / sizeof(codes[0]); i++)
		expect_unimplemented(codes[i]);
}

/* Unimplemented wins over a bad envelope: the answer names the real reason. */
static void test_unimplemented_checked_before_envelope(void **state)
{
	(void)state;
	expect_reject(mk(VU_REQ_SET_LOG_BASE, 3, 0), 0, false, -EOPNOTSUPP, "not implemented");
}

/* ---- the table itself --------------------------------------------------- */

static void test_every_code_has_a_name_and_rule(void **state)
{
	(void)state;
	assert_int_equal(VU_REQ_MAX, 46);
	for (uint32_t req = 1; req < VU_REQ_MAX; req++) {
		const struct vu_msg_rule *r = vu_msg_rule(req);

		assert_non_null(r);
		assert_non_null(r->name);
		assert_true(strlen(r->name) > 0);
		assert_string_equal(vu_request_name(req), r->name);
		assert_string_not_equal(r->name, "UNKNOWN");
		assert_true(r->min_size <= r->max_size);
		assert_true(r->max_size <= VU_MAX_PAYLOAD);
		assert_true(r->min_fds <= r->max_fds);
		assert_true(r->max_fds <= VU_MAX_FDS);
		assert_true(r->pfeature == VU_NO_FEATURE || r->pfeature < 64);
		/* Names are unique. */
		for (uint32_t other = 1; other < req; other++)
			assert_string_not_equal(vu_msg_rule(other)->name, r->name);
	}
}

static void test_rules_match_the_wire_structs(void **state)
{
	(void)state;
	assert_int_equal(vu_msg_rule(VU_REQ_SET_VRING_ADDR)->min_size,
			 sizeof(struct vu_vring_addr));
	assert_int_equal(vu_msg_rule(VU_REQ_ADD_MEM_REG)->min_size,
			 sizeof(struct vu_mem_single_msg));
	assert_int_equal(vu_msg_rule(VU_REQ_REM_MEM_REG)->max_size,
			 sizeof(struct vu_mem_single_msg));
	assert_int_equal(vu_msg_rule(VU_REQ_GET_INFLIGHT_FD)->min_size,
			 sizeof(struct vu_inflight_msg));
	assert_int_equal(vu_msg_rule(VU_REQ_SET_MEM_TABLE)->max_size,
			 sizeof(struct vu_mem_table_msg));
	assert_int_equal(vu_msg_rule(VU_REQ_SET_MEM_TABLE)->max_fds, VU_MEM_TABLE_MAX_REGIONS);
	assert_int_equal(vu_msg_rule(VU_REQ_GET_CONFIG)->max_size, sizeof(struct vu_config_msg));
}

static void test_reply_column(void **state)
{
	static const uint32_t with_reply[] = {
		VU_REQ_GET_FEATURES,	  VU_REQ_GET_PROTOCOL_FEATURES,
		VU_REQ_GET_QUEUE_NUM,	  VU_REQ_GET_VRING_BASE,
		VU_REQ_GET_CONFIG,	  VU_REQ_GET_INFLIGHT_FD,
		VU_REQ_GET_MAX_MEM_SLOTS, VU_REQ_GET_STATUS,
	};
	static const uint32_t without[] = {
		VU_REQ_SET_FEATURES,	VU_REQ_SET_OWNER,      VU_REQ_SET_MEM_TABLE,
		VU_REQ_SET_VRING_NUM,	VU_REQ_SET_VRING_KICK, VU_REQ_ADD_MEM_REG,
		VU_REQ_REM_MEM_REG,	VU_REQ_SET_STATUS,     VU_REQ_SET_CONFIG,
		VU_REQ_SET_INFLIGHT_FD, VU_REQ_RESET_DEVICE,   VU_REQ_SET_VRING_ENABLE,
	};

	(void)state;
	for (size_t i = 0; i < sizeof(with_reply) / sizeof(with_reply[0]); i++)
		assert_true(vu_msg_rule(with_reply[i])->has_reply);
	for (size_t i = 0; i < sizeof(without) / sizeof(without[0]); i++)
		assert_false(vu_msg_rule(without[i])->has_reply);
}

static void test_every_supported_code_passes_with_minimal_envelope(void **state)
{
	(void)state;
	for (uint32_t req = 1; req < VU_REQ_MAX; req++) {
		const struct vu_msg_rule *r = vu_msg_rule(req);
		const char *why = NULL;
		int rc = check(mk(req, r->min_size, r->min_fds), &why);

		if (r->supported) {
			assert_int_equal(rc, 0);
			assert_string_equal(why, "");
		} else {
			assert_int_equal(rc, -EOPNOTSUPP);
		}
	}
}

static void test_rule_outside_table_is_null(void **state)
{
	(void)state;
	assert_null(vu_msg_rule(0));
	assert_null(vu_msg_rule(VU_REQ_MAX));
	assert_null(vu_msg_rule(0xffffffffu));
}

static void test_request_name_unknown(void **state)
{
	(void)state;
	assert_string_equal(vu_request_name(0), "UNKNOWN");
	assert_string_equal(vu_request_name(46), "UNKNOWN");
	assert_string_equal(vu_request_name(0xffffffffu), "UNKNOWN");
	assert_string_equal(vu_request_name(VU_REQ_GET_FEATURES), "GET_FEATURES");
	assert_string_equal(vu_request_name(VU_REQ_GET_VRING_BASE_SKIP_DRAIN),
			    "GET_VRING_BASE_SKIP_DRAIN");
}

static void test_backend_request_names(void **state)
{
	(void)state;
	for (uint32_t req = 1; req < VU_BREQ_MAX; req++) {
		assert_non_null(vu_backend_request_name(req));
		assert_string_not_equal(vu_backend_request_name(req), "UNKNOWN");
	}
	assert_string_equal(vu_backend_request_name(VU_BREQ_CONFIG_CHANGE_MSG),
			    "CONFIG_CHANGE_MSG");
	assert_string_equal(vu_backend_request_name(0), "UNKNOWN");
	assert_string_equal(vu_backend_request_name(VU_BREQ_MAX), "UNKNOWN");
	assert_string_equal(vu_backend_request_name(0xffffffffu), "UNKNOWN");
}

/* ---- the fd-less transport ---------------------------------------------- */

static void expect_nofd_reject(const struct vu_msg *m, int err, const char *field)
{
	const char *why = NULL;

	assert_int_equal(vu_msg_check_transport(m, ALL_PF, true, false, &why), err);
	assert_non_null(why);
	assert_non_null(strstr(why, field));
}

static int check_nofd(const struct vu_msg *m)
{
	const char *why;

	return vu_msg_check_transport(m, ALL_PF, true, false, &why);
}

static void test_nofd_any_fd_refused(void **state)
{
	(void)state;
	expect_nofd_reject(mk(VU_REQ_ADD_MEM_REG, 40, 1), -EINVAL, "fds: the fd-less");
	expect_nofd_reject(mk(VU_REQ_REM_MEM_REG, 40, 1), -EINVAL, "fds: the fd-less");
	expect_nofd_reject(mk(VU_REQ_SET_VRING_KICK, 8, 1), -EINVAL, "fds: the fd-less");
	expect_nofd_reject(mk(VU_REQ_SET_MEM_TABLE, 8 + 32, 1), -EINVAL, "fds: the fd-less");
}

static void test_nofd_add_mem_reg_without_fd_accepted(void **state)
{
	(void)state;
	assert_int_equal(check_nofd(mk(VU_REQ_ADD_MEM_REG, 40, 0)), 0);
	assert_int_equal(check_nofd(mk(VU_REQ_SET_MEM_TABLE, 8 + 2 * 32, 0)), 0);
	/* The size rule still holds. */
	expect_nofd_reject(mk(VU_REQ_ADD_MEM_REG, 32, 0), -EINVAL, "size");
}

static void test_nofd_backend_req_takes_u64(void **state)
{
	(void)state;
	assert_int_equal(check_nofd(mk(VU_REQ_SET_BACKEND_REQ_FD, 8, 0)), 0);
	expect_nofd_reject(mk(VU_REQ_SET_BACKEND_REQ_FD, 0, 0), -EINVAL, "size: fd-less form");
	expect_nofd_reject(mk(VU_REQ_SET_BACKEND_REQ_FD, 4, 0), -EINVAL, "size: fd-less form");
	expect_nofd_reject(mk(VU_REQ_SET_BACKEND_REQ_FD, 16, 0), -EINVAL, "size: fd-less form");
	/* ...and the fd transport keeps its form: no payload. */
	expect_reject(mk(VU_REQ_SET_BACKEND_REQ_FD, 8, 1), ALL_PF, true, -EINVAL, "size");
}

static void test_nofd_fd_only_request_refused(void **state)
{
	(void)state;
	expect_nofd_reject(mk(VU_REQ_SET_INFLIGHT_FD, sizeof(struct vu_inflight_msg), 0),
			   -EOPNOTSUPP, "needs an fd");
}

static void test_nofd_feature_gating_still_applies(void **state)
{
	const char *why;

	(void)state;
	assert_int_equal(
		vu_msg_check_transport(mk(VU_REQ_ADD_MEM_REG, 40, 0), 0, true, false, &why),
		-EOPNOTSUPP);
	assert_non_null(strstr(why, "protocol feature"));
	assert_int_equal(
		vu_msg_check_transport(mk(VU_REQ_SET_BACKEND_REQ_FD, 8, 0), 0, true, false, &why),
		-EOPNOTSUPP);
}

/* Every request that needs an fd either has an fd-less form or is refused
 * on that transport: none slips through with fds[0] == -1. */
static void test_nofd_forms_cover_fd_requests(void **state)
{
	(void)state;
	for (uint32_t req = 1; req < VU_REQ_MAX; req++) {
		const struct vu_msg_rule *r = vu_msg_rule(req);
		struct vu_msg *m;

		if (!r->supported || r->min_fds == 0)
			continue;
		m = mk(req, r->nofd == VU_NOFD_U64 ? 8 : r->min_size, 0);
		if (r->nofd == VU_NOFD_PLAIN)
			assert_int_equal(check_nofd(m), -EOPNOTSUPP);
		else
			assert_int_equal(check_nofd(m), 0);
	}
	assert_int_equal(vu_msg_rule(VU_REQ_ADD_MEM_REG)->nofd, VU_NOFD_WINDOW);
	assert_int_equal(vu_msg_rule(VU_REQ_SET_MEM_TABLE)->nofd, VU_NOFD_WINDOW);
	assert_int_equal(vu_msg_rule(VU_REQ_SET_BACKEND_REQ_FD)->nofd, VU_NOFD_U64);
}

static void test_nofd_header_rules_unchanged(void **state)
{
	struct vu_msg *m = mk(VU_REQ_GET_FEATURES, 0, 0);

	(void)state;
	m->hdr.flags = VU_VERSION | VU_FLAG_REPLY;
	expect_nofd_reject(m, -EPROTO, "flags");
	expect_nofd_reject(mk(VU_REQ_SET_LOG_BASE, 16, 0), -EOPNOTSUPP, "not implemented");
	expect_nofd_reject(mk(0, 0, 0), -EOPNOTSUPP, "unknown");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_unknown_code_0),
		cmocka_unit_test(test_unknown_code_46),
		cmocka_unit_test(test_unknown_code_max),
		cmocka_unit_test(test_unknown_code_is_checked_before_flags),
		cmocka_unit_test(test_version_0_refused),
		cmocka_unit_test(test_version_2_refused),
		cmocka_unit_test(test_version_3_refused),
		cmocka_unit_test(test_reply_flag_on_request_refused),
		cmocka_unit_test(test_reserved_flag_bit_4_refused),
		cmocka_unit_test(test_reserved_flag_bit_31_refused),
		cmocka_unit_test(test_need_reply_flag_accepted),
		cmocka_unit_test(test_size_above_transport_limit_refused),
		cmocka_unit_test(test_nfds_above_transport_limit_refused),
		cmocka_unit_test(test_fixed_size_too_small_refused),
		cmocka_unit_test(test_fixed_size_too_large_refused),
		cmocka_unit_test(test_empty_request_with_payload_refused),
		cmocka_unit_test(test_u64_request_without_payload_refused),
		cmocka_unit_test(test_variable_size_bounds),
		cmocka_unit_test(test_add_mem_reg_without_fd_refused),
		cmocka_unit_test(test_set_backend_req_fd_without_fd_refused),
		cmocka_unit_test(test_set_inflight_fd_without_fd_refused),
		cmocka_unit_test(test_add_mem_reg_with_two_fds_refused),
		cmocka_unit_test(test_get_features_with_fd_refused),
		cmocka_unit_test(test_set_vring_kick_with_two_fds_refused),
		cmocka_unit_test(test_rem_mem_reg_with_one_fd_accepted),
		cmocka_unit_test(test_add_mem_reg_needs_configure_mem_slots),
		cmocka_unit_test(test_get_config_needs_config),
		cmocka_unit_test(test_vring_kick_needs_inband_notifications),
		cmocka_unit_test(test_gated_request_refused_with_no_protocol_features),
		cmocka_unit_test(test_needs_owner),
		cmocka_unit_test(test_handshake_requests_need_no_owner),
		cmocka_unit_test(test_set_log_base_unimplemented),
		cmocka_unit_test(test_set_log_fd_unimplemented),
		cmocka_unit_test(test_iotlb_msg_unimplemented),
		cmocka_unit_test(test_postcopy_unimplemented),
		cmocka_unit_test(test_get_shared_object_unimplemented),
		cmocka_unit_test(test_device_state_unimplemented),
		cmocka_unit_test(test_other_unimplemented),
		cmocka_unit_test(test_unimplemented_checked_before_envelope),
		cmocka_unit_test(test_every_code_has_a_name_and_rule),
		cmocka_unit_test(test_rules_match_the_wire_structs),
		cmocka_unit_test(test_reply_column),
		cmocka_unit_test(test_every_supported_code_passes_with_minimal_envelope),
		cmocka_unit_test(test_get_shmem_config_rules),
		cmocka_unit_test(test_rule_outside_table_is_null),
		cmocka_unit_test(test_request_name_unknown),
		cmocka_unit_test(test_backend_request_names),
		cmocka_unit_test(test_nofd_any_fd_refused),
		cmocka_unit_test(test_nofd_add_mem_reg_without_fd_accepted),
		cmocka_unit_test(test_nofd_backend_req_takes_u64),
		cmocka_unit_test(test_nofd_fd_only_request_refused),
		cmocka_unit_test(test_nofd_feature_gating_still_applies),
		cmocka_unit_test(test_nofd_forms_cover_fd_requests),
		cmocka_unit_test(test_nofd_header_rules_unchanged),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
