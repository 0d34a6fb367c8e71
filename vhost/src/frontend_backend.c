/* frontend_backend.c - requests the back-end sends on the backend channel.
 *
 * Each request is checked against one table row (size, fds, gating protocol
 * feature) before the caller's callback sees it. A malformed envelope means
 * the stream can no longer be trusted: the caller drops the connection. A
 * well-formed request we cannot serve (unknown code, feature not negotiated,
 * no callback) is answered with a non-zero status when it asked for a reply,
 * so the back-end never hangs waiting for us.
 */
#include "vu/frontend.h"

#include <errno.h>
#include <string.h>

#define FE_NOF 0xffu

struct fe_breq_rule {
	uint16_t min_size, max_size;
	uint8_t max_fds;
	uint8_t pfeature;
};

static const struct fe_breq_rule fe_breq_rules[VU_BREQ_MAX] = {
	[VU_BREQ_IOTLB_MSG] = {32, 32, 0, FE_NOF},
	/* libvhost-user and uvhost send no payload; tolerate a u64. */
	[VU_BREQ_CONFIG_CHANGE_MSG] = {0, 8, 0, VU_PF_CONFIG},
	[VU_BREQ_VRING_HOST_NOTIFIER_MSG] = {24, 24, 1, VU_PF_HOST_NOTIFIER},
	[VU_BREQ_VRING_CALL] = {8, 8, 0, VU_PF_INBAND_NOTIFICATIONS},
	[VU_BREQ_VRING_ERR] = {8, 8, 0, VU_PF_INBAND_NOTIFICATIONS},
	[VU_BREQ_SHARED_OBJECT_ADD] = {16, 16, 0, VU_PF_SHARED_OBJECT},
	[VU_BREQ_SHARED_OBJECT_REMOVE] = {16, 16, 0, VU_PF_SHARED_OBJECT},
	[VU_BREQ_SHARED_OBJECT_LOOKUP] = {16, 16, 0, VU_PF_SHARED_OBJECT},
	/* No fd on an fd-less transport, where fd_offset names shared RAM. */
	[VU_BREQ_SHMEM_MAP] = {sizeof(struct vu_shmem_map_msg), sizeof(struct vu_shmem_map_msg), 1,
			       VU_PF_SHMEM},
	[VU_BREQ_SHMEM_UNMAP] = {sizeof(struct vu_shmem_map_msg), sizeof(struct vu_shmem_map_msg),
				 0, VU_PF_SHMEM},
};

int vu_fe_check_backend_req(const struct vu_msg *req, uint64_t pfeatures, const char **why)
{
	const struct fe_breq_rule *r;
	uint32_t code = req->hdr.request;

	if ((req->hdr.flags & VU_FLAG_VERSION_MASK) != VU_VERSION) {
		*why = "backend request with a bad version";
		return -EPROTO;
	}
	if (req->hdr.flags & ~(VU_FLAG_VERSION_MASK | VU_FLAG_NEED_REPLY)) {
		*why = "backend request with reply or unknown flags";
		return -EPROTO;
	}
	if (req->hdr.size > VU_MAX_PAYLOAD || req->nfds > VU_MAX_FDS) {
		*why = "backend request too large";
		return -EPROTO;
	}
	if (code == VU_BREQ_NONE || code >= VU_BREQ_MAX) {
		*why = "unknown backend request";
		return -EOPNOTSUPP;
	}
	r = &fe_breq_rules[code];
	if (req->hdr.size < r->min_size || req->hdr.size > r->max_size) {
		*why = "backend request with the wrong payload size";
		return -EPROTO;
	}
	if (req->nfds > r->max_fds) {
		*why = "backend request with too many fds";
		return -EPROTO;
	}
	if (r->pfeature != FE_NOF && !(pfeatures & VU_BIT(r->pfeature))) {
		*why = "backend request for a protocol feature not negotiated";
		return -EOPNOTSUPP;
	}
	return 0;
}

static void fe_drop_fds(struct vu_frontend *fe, struct vu_msg *m)
{
	for (uint32_t i = 0; i < m->nfds && i < VU_MAX_FDS; i++) {
		if (m->fds[i] >= 0 && fe->t->close_fd)
			fe->t->close_fd(fe->t->ctx, m->fds[i]);
		m->fds[i] = -1;
	}
	m->nfds = 0;
}

static int fe_backend_reply(struct vu_frontend *fe, uint32_t code, uint64_t status)
{
	struct vu_msg *m = &fe->btx;

	memset(&m->hdr, 0, sizeof(m->hdr));
	m->hdr.request = code;
	m->hdr.flags = VU_REPLY_FLAGS;
	m->hdr.size = sizeof(uint64_t);
	m->p.u64 = status;
	m->nfds = 0;
	return fe->t->backend_send(fe->t->ctx, m);
}

static int fe_backend_one(struct vu_frontend *fe, struct vu_msg *req)
{
	bool need_reply = (req->hdr.flags & VU_FLAG_NEED_REPLY) != 0;
	const char *why = "";
	int64_t status;
	int rc;

	rc = vu_fe_check_backend_req(req, fe->pfeatures, &why);
	if (rc == -EPROTO) {
		fe->why = why;
		fe->stats.backend_refused++;
		fe_drop_fds(fe, req);
		return rc;
	}
	fe->stats.backend_reqs++;
	if (rc) {
		fe->why = why;
		fe->stats.backend_refused++;
		status = rc;
	} else if (!fe->on_backend_req) {
		fe->why = "no handler for backend requests";
		status = -EOPNOTSUPP;
	} else {
		status = fe->on_backend_req(fe->backend_ctx, req);
	}
	fe_drop_fds(fe, req);
	if (!need_reply)
		return 0;
	/* A non-zero u64 is failure; keep the errno visible to the peer. */
	return fe_backend_reply(fe, req->hdr.request, (uint64_t)status);
}

int vu_fe_poll_backend(struct vu_frontend *fe)
{
	int handled = 0;

	if (!fe->t->backend_recv || !fe->t->backend_send)
		return 0;
	while (handled < (int)VU_FE_BACKEND_BATCH) {
		struct vu_msg *req = &fe->brx;
		int rc;
		req->nfds = 0;
		rc = fe->t->backend_recv(fe->t->ctx, req);
		if (rc == -EAGAIN)
			break;
		if (rc) {
			fe->why = "backend channel lost";
			return rc;
		}
		rc = fe_backend_one(fe, req);
		if (rc)
			return rc;
		handled++;
	}
	return handled;
}
