/* Telling the front-end about a ring: calls (through the call eventfd, or
 * in-band on the backend channel when the transport has no fds), calls owed
 * after a failed send, ring errors, and config changes. */
#include <errno.h>
#include <string.h>

#include "backend_internal.h"
#include "vu/msg.h"

/* fd-less transport with INBAND_NOTIFICATIONS and a backend channel: ring
 * events go in-band. The fd transport never does this, even when asked:
 * there the eventfds are the only notification QEMU listens to. */
static bool inband_up(const struct vu_backend *b)
{
	return !b->plat->has_fds && b->backend_chan >= 0 &&
	       (b->pfeatures & VU_BIT(VU_PF_INBAND_NOTIFICATIONS)) &&
	       (b->pfeatures & VU_BIT(VU_PF_BACKEND_REQ));
}

/* No NEED_REPLY: a call per completion batch must never stall the loop,
 * and the spec gives num no meaning yet (reserved, 0). */
static int send_inband(struct vu_backend *b, uint32_t request, const struct vu_vq *vq)
{
	struct vu_msg m;
	int rc;

	memset(&m, 0, sizeof(m));
	m.hdr.request = request;
	m.hdr.flags = VU_VERSION;
	m.hdr.size = sizeof(struct vu_vring_state);
	m.p.state.index = vq->index;
	m.p.state.num = 0;
	rc = b->plat->backend_send(b->plat->ctx, b->backend_chan, &m, NULL);
	if (rc < 0) {
		b->n_inband_fail++;
		vu_logf(b, VU_LOG_WARN, "ring %u: in-band %s not sent (%d)", vq->index,
			vu_backend_request_name(request), rc);
	}
	return rc;
}

void vu_ring_error(struct vu_backend *b, struct vu_vq *vq, int rc)
{
	const char *why = vq->err_why ? vq->err_why : "device refused the chain";

	if (vq->err_head != VU_NO_HEAD && vq->err_why)
		vu_logf(b, VU_LOG_ERR, "ring %u: %s (head %u, addr 0x%llx, %d); ring stopped",
			vq->index, why, vq->err_head, (unsigned long long)vq->err_addr, rc);
	else
		vu_logf(b, VU_LOG_ERR, "ring %u: %s (%d); ring stopped", vq->index, why, rc);
	if (vq->err_fd >= 0)
		b->plat->signal(b->plat->ctx, vq->err_fd);
	else if (inband_up(b) && send_inband(b, VU_BREQ_VRING_ERR, vq) == 0)
		b->n_inband_errs++;
}

static void owe_call(struct vu_backend *b, struct vu_vq *vq)
{
	if (!vq->call_owed)
		b->n_calls_owed++;
	vq->call_owed = true;
}

void vu_ring_notify(struct vu_backend *b, struct vu_vq *vq)
{
	if (!vu_vq_should_notify(vq, &b->mem))
		return;
	if (vq->call_fd >= 0)
		b->plat->signal(b->plat->ctx, vq->call_fd);
	else if (inband_up(b)) {
		/* The decision was made (EVENT_IDX has recorded it): if the send
		 * fails, the call is owed, not re-decided. */
		if (send_inband(b, VU_BREQ_VRING_CALL, vq) == 0)
			b->n_inband_calls++;
		else
			owe_call(b, vq);
	}
}

/* Calls that could not be sent on an earlier turn. Cold: only while a ring
 * owes one, so the idle poll pays one load for it. The count is recounted
 * here, so a ring reset (which clears its flag) needs no bookkeeping. */
void vu_pay_owed_calls(struct vu_backend *b)
{
	uint32_t left = 0;

	for (uint32_t i = 0; i < b->dev->num_queues; i++) {
		struct vu_vq *vq = &b->vq[i];

		if (!vq->call_owed)
			continue;
		if (!inband_up(b) || !vq->started) {
			vq->call_owed = false; /* nobody to call any more */
			continue;
		}
		if (send_inband(b, VU_BREQ_VRING_CALL, vq) < 0) {
			left++;
			continue;
		}
		b->n_inband_calls++;
		b->n_calls_retried++;
		vq->call_owed = false;
	}
	b->n_calls_owed = left;
}

int vu_backend_config_changed(struct vu_backend *b)
{
	struct vu_msg m;

	if (b->backend_chan < 0 || !(b->pfeatures & VU_BIT(VU_PF_BACKEND_REQ)))
		return -ENOTCONN;
	memset(&m, 0, sizeof(m));
	m.hdr.request = VU_BREQ_CONFIG_CHANGE_MSG;
	/* No NEED_REPLY: QEMU answers a config change with GET_CONFIG on the
	 * main channel, so waiting here for its reply would deadlock both. */
	m.hdr.flags = VU_VERSION;
	return b->plat->backend_send(b->plat->ctx, b->backend_chan, &m, NULL);
}
