/* Ring messages: NUM, ADDR, BASE, KICK, CALL, ERR, ENABLE and in-band KICK.
 * Every index is checked against the device's queue count before use. */
#include <errno.h>

#include "backend_internal.h"

/* A ring whose requests are still pending (or whose GET_VRING_BASE reply is
 * due) keeps its layout until they are done: they complete into it. */
static int ring_settled(struct vu_backend *b, const struct vu_vq *vq, const char *what)
{
	if (vq->inuse == 0 && !b->base_reply_due[vq->index])
		return 0;
	vu_logf(b, VU_LOG_ERR, "%s: ring %u still has %u requests pending", what, vq->index,
		vq->inuse);
	return -EBUSY;
}

int vu_h_set_vring_num(struct vu_backend *b, struct vu_msg *msg)
{
	struct vu_vq *vq = vu_ring_of(b, msg->p.state.index, "SET_VRING_NUM");
	uint32_t num = msg->p.state.num;

	if (!vq)
		return -EINVAL;
	if (!vu_vq_size_valid(num) || num > b->dev->max_queue_size) {
		vu_logf(b, VU_LOG_ERR, "SET_VRING_NUM: size %u is not a power of two in 1..%u", num,
			b->dev->max_queue_size);
		return -EINVAL;
	}
	if (vq->started) {
		vu_logf(b, VU_LOG_ERR, "SET_VRING_NUM: ring %u is started", vq->index);
		return -EBUSY;
	}
	if (ring_settled(b, vq, "SET_VRING_NUM"))
		return -EBUSY;
	vq->size = (uint16_t)num;
	vq->mapped = false;
	return 0;
}

int vu_h_set_vring_addr(struct vu_backend *b, struct vu_msg *msg)
{
	const struct vu_vring_addr *a = &msg->p.addr;
	struct vu_vq *vq = vu_ring_of(b, a->index, "SET_VRING_ADDR");

	if (!vq)
		return -EINVAL;
	if (vq->size == 0) {
		vu_logf(b, VU_LOG_ERR, "SET_VRING_ADDR: ring %u has no size yet", vq->index);
		return -EINVAL;
	}
	if (ring_settled(b, vq, "SET_VRING_ADDR"))
		return -EBUSY;
	vq->desc_addr = a->desc;
	vq->avail_addr = a->avail;
	vq->used_addr = a->used;
	vq->log_addr = a->log;
	vq->addr_flags = a->flags;
	vq->addr_is_gpa = (b->pfeatures & VU_BIT(VU_PF_GPA_ADDRESSES)) != 0;
	vq->addr_set = true;
	vq->mapped = false;
	if (vu_vq_map(vq, &b->mem) < 0) {
		vu_logf(b, VU_LOG_ERR,
			"SET_VRING_ADDR: ring %u desc=0x%llx avail=0x%llx used=0x%llx not in "
			"mapped memory",
			vq->index, (unsigned long long)a->desc, (unsigned long long)a->avail,
			(unsigned long long)a->used);
		vq->addr_set = false;
		return -EFAULT;
	}
	return 0;
}

int vu_h_set_vring_base(struct vu_backend *b, struct vu_msg *msg)
{
	struct vu_vq *vq = vu_ring_of(b, msg->p.state.index, "SET_VRING_BASE");

	if (!vq)
		return -EINVAL;
	if (msg->p.state.num > 0xffff) {
		vu_logf(b, VU_LOG_ERR, "SET_VRING_BASE: %u is not a 16-bit split-ring index",
			msg->p.state.num);
		return -EINVAL;
	}
	if (ring_settled(b, vq, "SET_VRING_BASE"))
		return -EBUSY;
	vq->last_avail_idx = (uint16_t)msg->p.state.num;
	vq->used_idx = vq->last_avail_idx;
	return 0;
}

/* The ring stops taking chains at once; the reply waits until the device
 * has finished every request it holds (vu_complete sends it), so the index
 * it carries is final: nothing the driver gave us is left unanswered. The
 * loop keeps polling meanwhile, which is what lets those requests finish. */
int vu_h_get_vring_base(struct vu_backend *b, struct vu_msg *msg)
{
	struct vu_vq *vq = vu_ring_of(b, msg->p.state.index, "GET_VRING_BASE");

	if (!vq)
		return -EINVAL;
	vu_ring_stop(b, vq);
	if (vq->inuse) {
		vu_logf(b, VU_LOG_INFO,
			"GET_VRING_BASE: ring %u has %u requests pending; reply when they are done",
			vq->index, vq->inuse);
		b->base_reply_due[vq->index] = true;
		return 0;
	}
	vq->mapped = false;
	return vu_ring_base_reply(b, vq);
}

/* DOORBELL form of a KICK or CALL (NOFD | VU_VRING_DOORBELL): the platform
 * turns the named vector into a handle. A kick names no peer. */
static int ring_doorbell_arg(struct vu_backend *b, uint64_t v, bool call, const char *what, int *fd)
{
	uint32_t peer = VU_VRING_DB_PEER(v), vector = VU_VRING_DB_VECTOR(v);
	uint32_t dev = VU_VRING_DB_DEVICE(v);
	int rc;

	if (!call && peer) {
		vu_logf(b, VU_LOG_ERR, "%s: a kick doorbell names no peer (0x%llx)", what,
			(unsigned long long)v);
		return -EINVAL;
	}
	rc = b->plat->doorbell(b->plat->ctx, call, dev, peer, vector, fd);
	if (rc < 0)
		vu_logf(b, VU_LOG_ERR, "%s: doorbell device %u vector %u peer %u refused (%d)",
			what, dev, vector, peer, rc);
	return rc;
}

/* The fd (or NOFD, or a doorbell) for a KICK/CALL/ERR message, validated. */
static int ring_fd_arg(struct vu_backend *b, struct vu_msg *msg, const char *what,
		       struct vu_vq **vq, int *fd)
{
	uint64_t v = msg->p.u64, allowed = VU_VRING_IDX_MASK | VU_VRING_NOFD;
	uint32_t req = msg->hdr.request;
	bool db_ok = !b->plat->has_fds && b->plat->doorbell &&
		     (b->pfeatures & VU_BIT(VU_PF_DOORBELL)) &&
		     (req == VU_REQ_SET_VRING_KICK || req == VU_REQ_SET_VRING_CALL);

	if (db_ok && (v & VU_VRING_DOORBELL))
		allowed |= VU_VRING_DB_BITS;
	if (v & ~allowed) {
		vu_logf(b, VU_LOG_ERR, "%s: reserved bits set in 0x%llx", what,
			(unsigned long long)v);
		return -EINVAL;
	}
	*vq = vu_ring_of(b, (uint32_t)(v & VU_VRING_IDX_MASK), what);
	if (!*vq)
		return -EINVAL;
	if (!b->plat->has_fds && (v & VU_VRING_NOFD) == 0) {
		vu_logf(b, VU_LOG_ERR, "%s: NOFD required on the fd-less transport", what);
		return -EINVAL;
	}
	if ((v & VU_VRING_NOFD) != 0 && msg->nfds != 0) {
		vu_logf(b, VU_LOG_ERR, "%s: NOFD set but an fd came along", what);
		return -EINVAL;
	}
	if ((v & VU_VRING_NOFD) == 0 && msg->nfds != 1) {
		vu_logf(b, VU_LOG_ERR, "%s: no fd and no NOFD flag", what);
		return -EINVAL;
	}
	if (v & VU_VRING_DOORBELL)
		return ring_doorbell_arg(b, v, req == VU_REQ_SET_VRING_CALL, what, fd);
	*fd = msg->nfds ? vu_take_fd(msg, 0) : -1;
	return 0;
}

int vu_h_set_vring_kick(struct vu_backend *b, struct vu_msg *msg)
{
	struct vu_vq *vq;
	int fd, rc = ring_fd_arg(b, msg, "SET_VRING_KICK", &vq, &fd);

	if (rc)
		return rc;
	vu_close_fd(b, vq->kick_fd);
	vq->kick_fd = fd;
	return vu_ring_start(b, vq);
}

int vu_h_set_vring_call(struct vu_backend *b, struct vu_msg *msg)
{
	struct vu_vq *vq;
	int fd, rc = ring_fd_arg(b, msg, "SET_VRING_CALL", &vq, &fd);

	if (rc)
		return rc;
	vu_close_fd(b, vq->call_fd);
	vq->call_fd = fd;
	return 0;
}

int vu_h_set_vring_err(struct vu_backend *b, struct vu_msg *msg)
{
	struct vu_vq *vq;
	int fd, rc = ring_fd_arg(b, msg, "SET_VRING_ERR", &vq, &fd);

	if (rc)
		return rc;
	vu_close_fd(b, vq->err_fd);
	vq->err_fd = fd;
	return 0;
}

int vu_h_set_vring_enable(struct vu_backend *b, struct vu_msg *msg)
{
	struct vu_vq *vq = vu_ring_of(b, msg->p.state.index, "SET_VRING_ENABLE");

	if (!vq)
		return -EINVAL;
	if (msg->p.state.num > 1) {
		vu_logf(b, VU_LOG_ERR, "SET_VRING_ENABLE: %u is neither 0 nor 1", msg->p.state.num);
		return -EINVAL;
	}
	/* Disabling takes no new chains; requests already pending stay valid
	 * and complete into the ring, which still exists: QEMU disables before
	 * GET_VRING_BASE, and that reply waits for them. */
	vq->enabled = msg->p.state.num == 1;
	if (vq->enabled && vq->started)
		vq->kicked = true; /* requests may have queued while disabled */
	return 0;
}

int vu_h_vring_kick(struct vu_backend *b, struct vu_msg *msg)
{
	struct vu_vq *vq = vu_ring_of(b, msg->p.state.index, "VRING_KICK");

	if (!vq)
		return -EINVAL;
	b->n_inband_kicks++;
	if (!vq->started)
		return vu_ring_start(b, vq);
	vq->kicked = true;
	return 0;
}

/* A chain left in flight by an earlier back-end, offered to the device
 * again. It cannot go back to the avail ring (it is not the last one taken),
 * so "not now" completes it empty, which every driver tolerates as a failed
 * request rather than a lost one. */
static int resubmit_one(struct vu_backend *b, struct vu_vq *vq, uint16_t head)
{
	struct vu_req req = {
		.ring = vq->index,
		.chain = &b->scratch_chain,
		.token = {.epoch = vq->epoch, .ring = vq->index, .head = head},
	};
	int rc = vu_vq_chain_from_head(vq, &b->mem, head, &b->scratch_chain);

	if (rc < 0)
		return rc;
	rc = b->dev->ops->serve(b->dev_ctx, b, &req);
	if (rc == VU_NOT_NOW) {
		vu_logf(b, VU_LOG_WARN,
			"ring %u: resubmitted head %u refused for now; completed empty", vq->index,
			head);
		req.written = 0;
		rc = VU_DONE;
	}
	if (rc == VU_DONE)
		return vu_vq_push(vq, &b->mem, head, req.written);
	if (rc == VU_PENDING)
		return 0;
	if (!vq->err_why)
		vq->err_why = "device refused a resubmitted chain";
	return rc < 0 ? rc : -EINVAL;
}

static int resubmit_inflight(struct vu_backend *b, struct vu_vq *vq)
{
	int n;

	n = vu_vq_inflight_recover(vq, &b->mem, b->scratch_heads, VU_VQ_MAX_SIZE);
	if (n < 0) {
		vu_logf(b, VU_LOG_ERR, "ring %u: inflight region is inconsistent (%d)", vq->index,
			n);
		return n;
	}
	if (n)
		vu_logf(b, VU_LOG_INFO, "ring %u: resubmitting %d requests left in flight",
			vq->index, n);
	for (int i = 0; i < n; i++) {
		int rc = resubmit_one(b, vq, b->scratch_heads[i]);

		if (rc < 0) {
			vq->broken = true;
			return rc;
		}
	}
	return 0;
}

int vu_ring_start(struct vu_backend *b, struct vu_vq *vq)
{
	if (!vq->addr_set || vq->size == 0) {
		vu_logf(b, VU_LOG_ERR, "ring %u: kicked before SET_VRING_NUM/ADDR", vq->index);
		return -EINVAL;
	}
	/* Heads index the region's desc[]: checked before the ring may run. A
	 * driver may pick a smaller ring than the region was sized for. */
	if (vq->inflight && vq->size > b->inflight_queue_size) {
		vu_logf(b, VU_LOG_ERR, "ring %u: size %u exceeds the inflight region's %u",
			vq->index, vq->size, b->inflight_queue_size);
		return -EINVAL;
	}
	if (vu_vq_map(vq, &b->mem) < 0) {
		vu_logf(b, VU_LOG_ERR, "ring %u: ring memory is not mapped", vq->index);
		return -EFAULT;
	}
	if (ring_settled(b, vq, "ring start"))
		return -EBUSY;
	vq->broken = false;
	vq->err_why = NULL;
	vq->no_indirect = !(b->features & VU_BIT(VU_F_RING_INDIRECT_DESC));
	vq->used_idx = vq->used->idx;
	vq->signalled_used_valid = false;
	/* The driver may have rewritten its used ring while we were stopped:
	 * publish avail_event again even if place and value look the same. */
	vq->avail_event_at = NULL;
	vq->inuse = 0;
	vq->started = true;
	vq->kicked = true; /* QEMU sends no initial kick: look once */
	if (vq->inflight) {
		int rc = resubmit_inflight(b, vq);

		if (rc < 0)
			vq->broken = true; /* refused start: the ring must not run */
		return rc;
	}
	return 0;
}
