/* The back-end session: dispatch, reply rules and ring polling. Handlers
 * live in backend_{features,mem,vring,inflight,reset,shmem}.c; what they all
 * use in backend_core.c (replies, fds, log) and backend_notify.c (calls and
 * ring errors), so no handler depends on this file. */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "backend_internal.h"
#include "vu/msg.h"

static const vu_handler_fn handlers[VU_REQ_MAX] = {
	[VU_REQ_GET_FEATURES] = vu_h_get_features,
	[VU_REQ_SET_FEATURES] = vu_h_set_features,
	[VU_REQ_SET_OWNER] = vu_h_set_owner,
	[VU_REQ_RESET_OWNER] = vu_h_reset_owner,
	[VU_REQ_SET_MEM_TABLE] = vu_h_set_mem_table,
	[VU_REQ_SET_VRING_NUM] = vu_h_set_vring_num,
	[VU_REQ_SET_VRING_ADDR] = vu_h_set_vring_addr,
	[VU_REQ_SET_VRING_BASE] = vu_h_set_vring_base,
	[VU_REQ_GET_VRING_BASE] = vu_h_get_vring_base,
	[VU_REQ_SET_VRING_KICK] = vu_h_set_vring_kick,
	[VU_REQ_SET_VRING_CALL] = vu_h_set_vring_call,
	[VU_REQ_SET_VRING_ERR] = vu_h_set_vring_err,
	[VU_REQ_GET_PROTOCOL_FEATURES] = vu_h_get_protocol_features,
	[VU_REQ_SET_PROTOCOL_FEATURES] = vu_h_set_protocol_features,
	[VU_REQ_GET_QUEUE_NUM] = vu_h_get_queue_num,
	[VU_REQ_SET_VRING_ENABLE] = vu_h_set_vring_enable,
	[VU_REQ_SET_BACKEND_REQ_FD] = vu_h_set_backend_req_fd,
	[VU_REQ_GET_CONFIG] = vu_h_get_config,
	[VU_REQ_SET_CONFIG] = vu_h_set_config,
	[VU_REQ_GET_INFLIGHT_FD] = vu_h_get_inflight_fd,
	[VU_REQ_SET_INFLIGHT_FD] = vu_h_set_inflight_fd,
	[VU_REQ_RESET_DEVICE] = vu_h_reset_device,
	[VU_REQ_VRING_KICK] = vu_h_vring_kick,
	[VU_REQ_GET_MAX_MEM_SLOTS] = vu_h_get_max_mem_slots,
	[VU_REQ_ADD_MEM_REG] = vu_h_add_mem_reg,
	[VU_REQ_REM_MEM_REG] = vu_h_rem_mem_reg,
	[VU_REQ_SET_STATUS] = vu_h_set_status,
	[VU_REQ_GET_STATUS] = vu_h_get_status,
	[VU_REQ_GET_SHMEM_CONFIG] = vu_h_get_shmem_config,
};

uint64_t vu_backend_offered_features(const struct vu_backend *b)
{
	return b->dev->features | VU_BIT(VU_F_VERSION_1) | VU_BIT(VU_F_RING_EVENT_IDX) |
	       VU_BIT(VU_F_RING_INDIRECT_DESC) | VU_BIT(VU_F_PROTOCOL_FEATURES);
}

uint64_t vu_backend_offered_protocol_features(const struct vu_backend *b)
{
	uint64_t pf = VU_BIT(VU_PF_MQ) | VU_BIT(VU_PF_REPLY_ACK) | VU_BIT(VU_PF_BACKEND_REQ) |
		      VU_BIT(VU_PF_RESET_DEVICE) | VU_BIT(VU_PF_STATUS);

	if (b->dev->has_config)
		pf |= VU_BIT(VU_PF_CONFIG);
	if (!b->cfg.no_mem_slots)
		pf |= VU_BIT(VU_PF_CONFIGURE_MEM_SLOTS);
	/* Inflight tracking needs a shared fd; fd-less transports instead get
	 * in-band notifications, which an fd-capable QEMU would ack but never use. */
	if (b->plat->has_fds && !b->cfg.no_inflight)
		pf |= VU_BIT(VU_PF_INFLIGHT_SHMFD);
	if (!b->plat->has_fds)
		pf |= VU_BIT(VU_PF_INBAND_NOTIFICATIONS) | VU_BIT(VU_PF_WINDOW_ADDR);
	if (!b->plat->has_fds && b->plat->doorbell)
		pf |= VU_BIT(VU_PF_DOORBELL);
	/* SHMEM rides on the REPLY_ACK and BACKEND_REQ offered above, and on a
	 * platform that can read replies without stalling its loop. */
	if (vu_shmem_offered(b->dev) && b->plat->backend_recv)
		pf |= VU_BIT(VU_PF_SHMEM);
	return pf;
}

void vu_backend_init(struct vu_backend *b, const struct vu_platform *plat,
		     const struct vu_device *dev, void *dev_ctx,
		     const struct vu_backend_config *cfg)
{
	memset(b, 0, sizeof(*b));
	b->plat = plat;
	b->dev = dev;
	b->dev_ctx = dev_ctx;
	if (cfg)
		b->cfg = *cfg;
	b->backend_chan = -1;
	b->inflight_fd = -1;
	for (uint32_t i = 0; i < VU_MAX_QUEUES; i++) {
		vu_vq_init(&b->vq[i], (uint16_t)i);
		b->vq[i].inuse_map = b->inuse_maps[i];
		b->vq[i].kick_fd = b->vq[i].call_fd = b->vq[i].err_fd = -1;
	}
	vu_mem_init(&b->mem, plat, b->cfg.max_mem_slots);
	b->features_offered = vu_backend_offered_features(b);
	b->pfeatures_offered = vu_backend_offered_protocol_features(b);
}

static void close_msg_fds(struct vu_backend *b, struct vu_msg *msg)
{
	for (uint32_t i = 0; i < msg->nfds && i < VU_MAX_FDS; i++) {
		vu_close_fd(b, msg->fds[i]);
		msg->fds[i] = -1;
	}
}

static void trace(struct vu_backend *b, const struct vu_msg *msg)
{
	const struct vu_mem_region *r = &msg->p.mem_single.region;
	const char *name = vu_request_name(msg->hdr.request);
	uint32_t size = msg->hdr.size;

	switch (msg->hdr.request) {
	case VU_REQ_ADD_MEM_REG:
	case VU_REQ_REM_MEM_REG:
		if (size >= sizeof(msg->p.mem_single)) {
			vu_logf(b, VU_LOG_INFO,
				"<- %s gpa=0x%llx size=0x%llx uaddr=0x%llx off=0x%llx fds=%u", name,
				(unsigned long long)r->gpa, (unsigned long long)r->size,
				(unsigned long long)r->uaddr, (unsigned long long)r->mmap_offset,
				msg->nfds);
			return;
		}
		break;
	case VU_REQ_SET_MEM_TABLE:
		vu_logf(b, VU_LOG_INFO, "<- %s nregions=%u fds=%u", name,
			size >= 4 ? msg->p.mem_table.nregions : 0, msg->nfds);
		return;
	case VU_REQ_SET_VRING_NUM:
	case VU_REQ_SET_VRING_BASE:
	case VU_REQ_GET_VRING_BASE:
	case VU_REQ_SET_VRING_ENABLE:
	case VU_REQ_VRING_KICK:
		vu_logf(b, VU_LOG_INFO, "<- %s ring=%u num=%u", name, msg->p.state.index,
			msg->p.state.num);
		return;
	case VU_REQ_SET_VRING_KICK:
	case VU_REQ_SET_VRING_CALL:
	case VU_REQ_SET_VRING_ERR:
		vu_logf(b, VU_LOG_INFO, "<- %s ring=%llu%s", name,
			(unsigned long long)(msg->p.u64 & VU_VRING_IDX_MASK),
			(msg->p.u64 & VU_VRING_NOFD) ? " nofd" : "");
		return;
	case VU_REQ_SET_VRING_ADDR:
		vu_logf(b, VU_LOG_INFO, "<- %s ring=%u desc=0x%llx avail=0x%llx used=0x%llx", name,
			msg->p.addr.index, (unsigned long long)msg->p.addr.desc,
			(unsigned long long)msg->p.addr.avail,
			(unsigned long long)msg->p.addr.used);
		return;
	case VU_REQ_SET_FEATURES:
	case VU_REQ_SET_PROTOCOL_FEATURES:
	case VU_REQ_SET_STATUS:
		vu_logf(b, VU_LOG_INFO, "<- %s 0x%llx", name, (unsigned long long)msg->p.u64);
		return;
	default: break;
	}
	vu_logf(b, VU_LOG_INFO, "<- %s (%u) flags=0x%x size=%u fds=%u", name, msg->hdr.request,
		msg->hdr.flags, size, msg->nfds);
}

static bool wants_ack(const struct vu_backend *b, const struct vu_msg *msg)
{
	return (msg->hdr.flags & VU_FLAG_NEED_REPLY) && (b->pfeatures & VU_BIT(VU_PF_REPLY_ACK));
}

/* Turn a handler's result into the answer the front-end expects: its own
 * reply (sent by the handler), a REPLY_ACK u64, or a closed connection. */
static int conclude(struct vu_backend *b, struct vu_msg *msg, const struct vu_msg_rule *rule,
		    int rc)
{
	if (rule && rule->has_reply) {
		if (rc < 0)
			vu_logf(b, VU_LOG_ERR, "%s failed (%d); closing: no valid reply exists",
				rule->name, rc);
		return rc;
	}
	if (wants_ack(b, msg)) {
		int src = vu_reply_u64(b, msg, rc < 0 ? (uint64_t)-rc : 0);

		if (src < 0)
			return src;
		if (rc < 0 && b->close_after_reply) {
			vu_logf(b, VU_LOG_ERR, "%s refused; closing the connection",
				vu_request_name(msg->hdr.request));
			return rc;
		}
		return 0;
	}
	if (rc < 0)
		vu_logf(b, VU_LOG_ERR, "%s failed (%d) and no REPLY_ACK was asked; closing",
			vu_request_name(msg->hdr.request), rc);
	return rc;
}

int vu_backend_handle(struct vu_backend *b, struct vu_msg *msg)
{
	const struct vu_msg_rule *rule = vu_msg_rule(msg->hdr.request);
	const char *why;
	int rc;

	b->n_msgs++;
	b->close_after_reply = false;
	if (b->cfg.trace)
		trace(b, msg);
	rc = vu_msg_check_transport(msg, b->pfeatures, b->owner, b->plat->has_fds, &why);
	if (rc == 0 && handlers[msg->hdr.request])
		rc = handlers[msg->hdr.request](b, msg);
	else if (rc == 0)
		rc = -EOPNOTSUPP;
	else
		vu_logf(b, VU_LOG_ERR, "rejected %s (%u): %s", vu_request_name(msg->hdr.request),
			msg->hdr.request, why);
	if (rc < 0)
		b->n_rejected++;
	close_msg_fds(b, msg);
	return conclude(b, msg, rule, rc);
}

static bool ring_runnable(const struct vu_vq *vq)
{
	return vq->started && vq->enabled && !vq->broken && (vq->kicked || vq->kick_fd < 0);
}

/* Offer one popped chain to the device and act on its answer. Returns 1 if
 * the chain was consumed (done or pending), 0 if it went back, or a
 * negative errno if the ring broke. */
__attribute__((noinline)) static int serve_one(struct vu_backend *b, struct vu_vq *vq,
					       struct vu_chain *chain)
{
	struct vu_req req = {
		.ring = vq->index,
		.chain = chain,
		.token = {.epoch = vq->epoch, .ring = vq->index, .head = chain->head},
	};
	int rc = b->dev->ops->serve(b->dev_ctx, b, &req);

	switch (rc) {
	case VU_DONE:
		if (vu_vq_push(vq, &b->mem, chain->head, req.written) < 0) {
			/* Unmapped ring, or the device already completed it: a
			 * device bug either way, and the ring cannot go on. */
			vq->broken = true;
			vq->n_errors++;
			return -EIO;
		}
		return 1;
	case VU_PENDING: return 1;
	case VU_NOT_NOW:
		vu_vq_unpop(vq, chain->head);
		b->n_not_now++;
		return 0;
	default:
		if (rc >= 0) {
			vq->err_why = "device answered with an unknown outcome";
			rc = -EINVAL;
		} else {
			vq->err_why = "device refused the chain as malformed";
		}
		vq->err_head = chain->head;
		vq->err_addr = 0;
		vq->broken = true;
		vq->n_errors++;
		return rc;
	}
}

static int poll_ring(struct vu_backend *b, struct vu_vq *vq, int budget)
{
	struct vu_chain *chain = &b->scratch_chain;
	int done = 0, rc = 0;

	vq->kicked = false;
	b->in_batch = true;
	while (done < budget) {
		rc = vu_vq_pop(vq, &b->mem, chain);
		if (rc <= 0)
			break;
		rc = serve_one(b, vq, chain);
		if (rc == 0)
			break; /* not now: the ring waits for a later turn */
		done++;	       /* a chain that broke the ring was work too */
		if (rc < 0)
			break;
	}
	b->in_batch = false;
	if (done)
		vu_ring_notify(b, vq);
	if (rc < 0)
		vu_ring_error(b, vq, rc);
	else if (done == budget)
		vq->kicked = true; /* more may be waiting: come back next turn */
	return done;
}

/* Aligned for the same reason as vu_vq_pop() (vq.c). */
__attribute__((aligned(64))) int vu_backend_poll(struct vu_backend *b, int budget)
{
	uint32_t nq = b->dev->num_queues; /* the description is fixed for the session */
	int work = 0;

	/* Status gates every ring at once (backend_reset.c): checked once per
	 * call, not per ring. Kicks stay pending meanwhile. */
	if (b->rings_gated)
		return 0;
	if (b->n_calls_owed)
		vu_pay_owed_calls(b);
	for (uint32_t i = 0; i < nq; i++) {
		struct vu_vq *vq = &b->vq[i];
		if (ring_runnable(vq))
			work += poll_ring(b, vq, budget);
	}
	return work;
}

void vu_backend_kick(struct vu_backend *b, uint32_t index)
{
	if (index < b->dev->num_queues)
		b->vq[index].kicked = true;
}
