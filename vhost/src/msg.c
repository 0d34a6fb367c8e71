/* Validation as data: a request is checked against its row before any
 * handler sees it, so handlers can trust size, fd count and gating. */
#include "vu/msg.h"

#include <errno.h>
#include <stddef.h>

#define NOF VU_NO_FEATURE
#define U64 8
#define STATE 8
#define REGION 40 /* single region: padding + region */
#define WIN VU_NOFD_WINDOW
#define PLN VU_NOFD_PLAIN

/* clang-format off */
static const struct vu_msg_rule rules[VU_REQ_MAX] = {
/*  request                             name                         min  max   fds  pfeature                  owner  reply  served  nofd */
	[VU_REQ_GET_FEATURES]           = {"GET_FEATURES",           0,   0,   0, 0, NOF,                         false, true,  true, PLN},
	[VU_REQ_SET_FEATURES]           = {"SET_FEATURES",           U64, U64, 0, 0, NOF,                         true,  false, true, PLN},
	[VU_REQ_SET_OWNER]              = {"SET_OWNER",              0,   0,   0, 0, NOF,                         false, false, true, PLN},
	[VU_REQ_RESET_OWNER]            = {"RESET_OWNER",            0,   0,   0, 0, NOF,                         false, false, true, PLN},
	[VU_REQ_SET_MEM_TABLE]          = {"SET_MEM_TABLE",          8,   sizeof(struct vu_mem_table_msg), 0, VU_MEM_TABLE_MAX_REGIONS, NOF, true, false, true, WIN},
	[VU_REQ_SET_LOG_BASE]           = {"SET_LOG_BASE",           16,  16,  0, 1, VU_PF_LOG_SHMFD,             true,  true,  false, PLN},
	[VU_REQ_SET_LOG_FD]             = {"SET_LOG_FD",             0,   U64, 0, 1, NOF,                         true,  false, false, PLN},
	[VU_REQ_SET_VRING_NUM]          = {"SET_VRING_NUM",          STATE, STATE, 0, 0, NOF,                     true,  false, true, PLN},
	[VU_REQ_SET_VRING_ADDR]         = {"SET_VRING_ADDR",         40,  40,  0, 0, NOF,                         true,  false, true, PLN},
	[VU_REQ_SET_VRING_BASE]         = {"SET_VRING_BASE",         STATE, STATE, 0, 0, NOF,                     true,  false, true, PLN},
	[VU_REQ_GET_VRING_BASE]         = {"GET_VRING_BASE",         STATE, STATE, 0, 0, NOF,                     true,  true,  true, PLN},
	[VU_REQ_SET_VRING_KICK]         = {"SET_VRING_KICK",         U64, U64, 0, 1, NOF,                         true,  false, true, PLN},
	[VU_REQ_SET_VRING_CALL]         = {"SET_VRING_CALL",         U64, U64, 0, 1, NOF,                         true,  false, true, PLN},
	[VU_REQ_SET_VRING_ERR]          = {"SET_VRING_ERR",          U64, U64, 0, 1, NOF,                         true,  false, true, PLN},
	[VU_REQ_GET_PROTOCOL_FEATURES]  = {"GET_PROTOCOL_FEATURES",  0,   0,   0, 0, NOF,                         false, true,  true, PLN},
	[VU_REQ_SET_PROTOCOL_FEATURES]  = {"SET_PROTOCOL_FEATURES",  U64, U64, 0, 0, NOF,                         false, false, true, PLN},
	[VU_REQ_GET_QUEUE_NUM]          = {"GET_QUEUE_NUM",          0,   0,   0, 0, VU_PF_MQ,                    false, true,  true, PLN},
	[VU_REQ_SET_VRING_ENABLE]       = {"SET_VRING_ENABLE",       STATE, STATE, 0, 0, NOF,                     true,  false, true, PLN},
	[VU_REQ_SEND_RARP]              = {"SEND_RARP",              U64, U64, 0, 0, VU_PF_RARP,                  true,  false, false, PLN},
	[VU_REQ_NET_SET_MTU]            = {"NET_SET_MTU",            U64, U64, 0, 0, VU_PF_NET_MTU,               true,  false, false, PLN},
	/* fd-less: a u64 vsock port to connect back to. */
	[VU_REQ_SET_BACKEND_REQ_FD]     = {"SET_BACKEND_REQ_FD",     0,   0,   1, 1, VU_PF_BACKEND_REQ,           false, false, true, VU_NOFD_U64},
	[VU_REQ_IOTLB_MSG]              = {"IOTLB_MSG",              32,  32,  0, 0, NOF,                         true,  false, false, PLN},
	[VU_REQ_SET_VRING_ENDIAN]       = {"SET_VRING_ENDIAN",       STATE, STATE, 0, 0, VU_PF_CROSS_ENDIAN,      true,  false, false, PLN},
	[VU_REQ_GET_CONFIG]             = {"GET_CONFIG",             VU_CONFIG_HDR_SIZE, sizeof(struct vu_config_msg), 0, 0, VU_PF_CONFIG, false, true, true, PLN},
	[VU_REQ_SET_CONFIG]             = {"SET_CONFIG",             VU_CONFIG_HDR_SIZE, sizeof(struct vu_config_msg), 0, 0, VU_PF_CONFIG, true, false, true, PLN},
	[VU_REQ_CREATE_CRYPTO_SESSION]  = {"CREATE_CRYPTO_SESSION",  0,   VU_MAX_PAYLOAD, 0, 0, VU_PF_CRYPTO_SESSION, true, true, false, PLN},
	[VU_REQ_CLOSE_CRYPTO_SESSION]   = {"CLOSE_CRYPTO_SESSION",   U64, U64, 0, 0, VU_PF_CRYPTO_SESSION,        true,  false, false, PLN},
	[VU_REQ_POSTCOPY_ADVISE]        = {"POSTCOPY_ADVISE",        0,   0,   0, 0, VU_PF_PAGEFAULT,             true,  true,  false, PLN},
	[VU_REQ_POSTCOPY_LISTEN]        = {"POSTCOPY_LISTEN",        0,   0,   0, 0, VU_PF_PAGEFAULT,             true,  false, false, PLN},
	[VU_REQ_POSTCOPY_END]           = {"POSTCOPY_END",           0,   0,   0, 0, VU_PF_PAGEFAULT,             true,  true,  false, PLN},
	[VU_REQ_GET_INFLIGHT_FD]        = {"GET_INFLIGHT_FD",        sizeof(struct vu_inflight_msg), sizeof(struct vu_inflight_msg), 0, 0, VU_PF_INFLIGHT_SHMFD, true, true, true, PLN},
	[VU_REQ_SET_INFLIGHT_FD]        = {"SET_INFLIGHT_FD",        sizeof(struct vu_inflight_msg), sizeof(struct vu_inflight_msg), 1, 1, VU_PF_INFLIGHT_SHMFD, true, false, true, PLN},
	[VU_REQ_GPU_SET_SOCKET]         = {"GPU_SET_SOCKET",         0,   0,   1, 1, NOF,                         true,  false, false, PLN},
	[VU_REQ_RESET_DEVICE]           = {"RESET_DEVICE",           0,   0,   0, 0, VU_PF_RESET_DEVICE,          false, false, true, PLN},
	[VU_REQ_VRING_KICK]             = {"VRING_KICK",             STATE, STATE, 0, 0, VU_PF_INBAND_NOTIFICATIONS, true, false, true, PLN},
	[VU_REQ_GET_MAX_MEM_SLOTS]      = {"GET_MAX_MEM_SLOTS",      0,   0,   0, 0, VU_PF_CONFIGURE_MEM_SLOTS,   false, true,  true, PLN},
	[VU_REQ_ADD_MEM_REG]            = {"ADD_MEM_REG",            REGION, REGION, 1, 1, VU_PF_CONFIGURE_MEM_SLOTS, true, false, true, WIN},
	/* An fd on REM is a mistake of older front-ends: accepted, and closed. */
	[VU_REQ_REM_MEM_REG]            = {"REM_MEM_REG",            REGION, REGION, 0, 1, VU_PF_CONFIGURE_MEM_SLOTS, true, false, true, PLN},
	[VU_REQ_SET_STATUS]             = {"SET_STATUS",             U64, U64, 0, 0, VU_PF_STATUS,                false, false, true, PLN},
	[VU_REQ_GET_STATUS]             = {"GET_STATUS",             0,   0,   0, 0, VU_PF_STATUS,                false, true,  true, PLN},
	[VU_REQ_GET_SHARED_OBJECT]      = {"GET_SHARED_OBJECT",      16,  16,  0, 0, VU_PF_SHARED_OBJECT,         true,  true,  false, PLN},
	[VU_REQ_SET_DEVICE_STATE_FD]    = {"SET_DEVICE_STATE_FD",    8,   8,   1, 1, VU_PF_DEVICE_STATE,          true,  true,  false, PLN},
	[VU_REQ_CHECK_DEVICE_STATE]     = {"CHECK_DEVICE_STATE",     0,   0,   0, 0, VU_PF_DEVICE_STATE,          true,  true,  false, PLN},
	[VU_REQ_GET_SHMEM_CONFIG]       = {"GET_SHMEM_CONFIG",       0,   0,   0, 0, VU_PF_SHMEM,                 false, true,  true, PLN},
	[VU_REQ_GET_VRING_BASE_SKIP_DRAIN] = {"GET_VRING_BASE_SKIP_DRAIN", STATE, STATE, 0, 0, VU_PF_GET_VRING_BASE_SKIP_DRAIN, true, true, false, PLN},
};
/* clang-format on */

static const char *const backend_names[VU_BREQ_MAX] = {
	[VU_BREQ_IOTLB_MSG] = "IOTLB_MSG",
	[VU_BREQ_CONFIG_CHANGE_MSG] = "CONFIG_CHANGE_MSG",
	[VU_BREQ_VRING_HOST_NOTIFIER_MSG] = "VRING_HOST_NOTIFIER_MSG",
	[VU_BREQ_VRING_CALL] = "VRING_CALL",
	[VU_BREQ_VRING_ERR] = "VRING_ERR",
	[VU_BREQ_SHARED_OBJECT_ADD] = "SHARED_OBJECT_ADD",
	[VU_BREQ_SHARED_OBJECT_REMOVE] = "SHARED_OBJECT_REMOVE",
	[VU_BREQ_SHARED_OBJECT_LOOKUP] = "SHARED_OBJECT_LOOKUP",
	[VU_BREQ_SHMEM_MAP] = "SHMEM_MAP",
	[VU_BREQ_SHMEM_UNMAP] = "SHMEM_UNMAP",
};

const struct vu_msg_rule *vu_msg_rule(uint32_t request)
{
	if (request == VU_REQ_NONE || request >= VU_REQ_MAX)
		return NULL;
	return &rules[request];
}

const char *vu_request_name(uint32_t request)
{
	const struct vu_msg_rule *r = vu_msg_rule(request);
	return r ? r->name : "UNKNOWN";
}

const char *vu_backend_request_name(uint32_t request)
{
	if (request == VU_BREQ_NONE || request >= VU_BREQ_MAX)
		return "UNKNOWN";
	return backend_names[request];
}

static int check_flags(uint32_t flags, const char **why)
{
	if ((flags & VU_FLAG_VERSION_MASK) != VU_VERSION) {
		*why = "flags: version is not 1";
		return -EPROTO;
	}
	if (flags & VU_FLAG_REPLY) {
		*why = "flags: REPLY set on a request";
		return -EPROTO;
	}
	if (flags & ~(VU_FLAG_VERSION_MASK | VU_FLAG_REPLY | VU_FLAG_NEED_REPLY)) {
		*why = "flags: reserved bits set";
		return -EPROTO;
	}
	return 0;
}

/* No fd can arrive: the rule's nofd form replaces the fd part. */
static int check_envelope_nofd(const struct vu_msg *msg, const struct vu_msg_rule *r,
			       const char **why)
{
	if (msg->nfds != 0) {
		*why = "fds: the fd-less transport carries none";
		return -EINVAL;
	}
	if (r->nofd == VU_NOFD_U64) {
		if (msg->hdr.size != sizeof(uint64_t)) {
			*why = "size: fd-less form takes a u64 in place of the fd";
			return -EINVAL;
		}
		return 0;
	}
	if (r->min_fds > 0 && r->nofd != VU_NOFD_WINDOW) {
		*why = "request: needs an fd, which this transport cannot carry";
		return -EOPNOTSUPP;
	}
	if (msg->hdr.size < r->min_size || msg->hdr.size > r->max_size) {
		*why = "size: wrong payload size for this request";
		return -EINVAL;
	}
	return 0;
}

static int check_envelope(const struct vu_msg *msg, const struct vu_msg_rule *r, const char **why)
{
	if (msg->hdr.size < r->min_size || msg->hdr.size > r->max_size) {
		*why = "size: wrong payload size for this request";
		return -EINVAL;
	}
	if (msg->nfds < r->min_fds) {
		*why = "fds: required fd missing";
		return -EINVAL;
	}
	if (msg->nfds > r->max_fds) {
		*why = "fds: more fds than this request takes";
		return -EINVAL;
	}
	return 0;
}

int vu_msg_check(const struct vu_msg *msg, uint64_t pfeatures, bool owner, const char **why)
{
	return vu_msg_check_transport(msg, pfeatures, owner, true, why);
}

int vu_msg_check_transport(const struct vu_msg *msg, uint64_t pfeatures, bool owner, bool has_fds,
			   const char **why)
{
	const struct vu_msg_rule *r = vu_msg_rule(msg->hdr.request);
	int rc;

	*why = "";
	if (!r) {
		*why = "request: unknown code";
		return -EOPNOTSUPP;
	}
	rc = check_flags(msg->hdr.flags, why);
	if (rc)
		return rc;
	if (msg->hdr.size > VU_MAX_PAYLOAD || msg->nfds > VU_MAX_FDS) {
		*why = "size: beyond the transport limit";
		return -EINVAL;
	}
	if (!r->supported) {
		*why = "request: not implemented by uvhost";
		return -EOPNOTSUPP;
	}
	rc = has_fds ? check_envelope(msg, r, why) : check_envelope_nofd(msg, r, why);
	if (rc)
		return rc;
	if (r->pfeature != VU_NO_FEATURE && !(pfeatures & VU_BIT(r->pfeature))) {
		*why = "request: its protocol feature was not negotiated";
		return -EOPNOTSUPP;
	}
	if (r->needs_owner && !owner) {
		*why = "request: SET_OWNER has not been sent";
		return -EPERM;
	}
	return 0;
}
