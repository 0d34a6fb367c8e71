/* The one reset path (RESET_DEVICE, SET_STATUS 0, RESET_OWNER, disconnect)
 * and the status byte: what SET_STATUS gates.
 *
 * Status (VHOST_USER_PROTOCOL_F_STATUS): once the front-end has set
 * DRIVER_OK on this connection, rings run only while DRIVER_OK is set; FAILED
 * always stops them. Before the first DRIVER_OK nothing is gated, because
 * QEMU 7.2 sends DRIVER_OK only for devices that set vq_index_end (blk):
 * vhost-user-rng and vhost-user-vsock get FEATURES_OK from SET_FEATURES and
 * never a DRIVER_OK, and must still run. blk gets FEATURES_OK, then its rings
 * are enabled, then DRIVER_OK; after a stop (SET_STATUS 0) the next start's
 * rings wait for DRIVER_OK, their kicks kept, and run the moment it arrives.
 * SET_STATUS 0 is a device reset. FAILED stops the rings, which keep their
 * state: a reset, or a status without FAILED, lets them run again. */
#include <errno.h>

#include "backend_internal.h"

#define STATUS_DRIVER_OK 0x04u
#define STATUS_FAILED 0x80u

void vu_status_gate(struct vu_backend *b)
{
	bool was = b->rings_gated;

	b->rings_gated = (b->pfeatures & VU_BIT(VU_PF_STATUS)) &&
			 ((b->status & STATUS_FAILED) ||
			  (b->driver_ok_seen && !(b->status & STATUS_DRIVER_OK)));
	if (was && !b->rings_gated)
		for (uint32_t i = 0; i < b->dev->num_queues; i++)
			if (b->vq[i].started)
				b->vq[i].kicked = true; /* kicks may have come meanwhile */
}

static void release_ring_fds(struct vu_backend *b, struct vu_vq *vq)
{
	vu_close_fd(b, vq->kick_fd);
	vu_close_fd(b, vq->call_fd);
	vu_close_fd(b, vq->err_fd);
	vq->kick_fd = vq->call_fd = vq->err_fd = -1;
}

/* Stop the ring and drop what is pending (its epoch moves on, so late
 * completions are no-ops). Below CONNECTION the next avail index and the
 * inflight record stay: GET_VRING_BASE may follow (QEMU 7.2 stops with
 * SET_STATUS 0, then GET_VRING_BASE), and requests dropped here stay marked
 * inflight, so they are resubmitted when the ring starts again. */
static void reset_ring(struct vu_backend *b, struct vu_vq *vq, enum vu_reset_level level)
{
	uint16_t next = vq->last_avail_idx;
	struct vu_inflight_queue *inflight = vq->inflight;

	b->n_dropped += vq->inuse;
	if (vq->inuse)
		vu_logf(b, VU_LOG_WARN, "ring %u: %u pending requests dropped by reset", vq->index,
			vq->inuse);
	vu_ring_stop(b, vq);
	if (level == VU_RESET_CONNECTION)
		release_ring_fds(b, vq);
	vu_vq_reset(vq);
	if (level == VU_RESET_CONNECTION) {
		b->base_reply_due[vq->index] = false;
		return;
	}
	vq->last_avail_idx = next;
	vq->used_idx = next;
	vq->inflight = inflight;
	if (b->base_reply_due[vq->index])
		(void)vu_ring_base_reply(b, vq);
}

void vu_backend_reset(struct vu_backend *b, enum vu_reset_level level, const char *why)
{
	if (b->cfg.trace)
		vu_logf(b, VU_LOG_INFO, "reset (%s)", why);
	for (uint32_t i = 0; i < VU_MAX_QUEUES; i++)
		reset_ring(b, &b->vq[i], level);
	if (level == VU_RESET_CONNECTION) {
		vu_close_fd(b, b->backend_chan);
		b->backend_chan = -1;
		vu_shmem_channel_lost(b, -ECONNRESET);
	}
	/* The front-end drops every shared memory mapping on reset too. */
	vu_shmem_forget(b);
	/* The device first, while guest memory is still mapped: a device with
	 * asynchronous I/O in flight (blk on io_uring) waits for it there, so
	 * no kernel write lands in memory unmapped (or mapped anew) below. */
	if (b->dev->ops->reset)
		b->dev->ops->reset(b->dev_ctx);
	if (level == VU_RESET_CONNECTION) {
		vu_inflight_release(b);
		vu_mem_clear(&b->mem);
	}
	b->features = 0;
	b->status = 0;
	if (level >= VU_RESET_OWNER)
		b->owner = false;
	if (level == VU_RESET_CONNECTION) {
		b->pfeatures = 0;
		b->pfeatures_set = false;
		b->driver_ok_seen = false;
	}
	vu_status_gate(b);
}

void vu_backend_disconnect(struct vu_backend *b)
{
	vu_backend_reset(b, VU_RESET_CONNECTION, "front-end gone");
}

/* Deprecated; treated as "this front-end is done with the device". */
int vu_h_reset_owner(struct vu_backend *b, struct vu_msg *msg)
{
	(void)msg;
	vu_backend_reset(b, VU_RESET_OWNER, "RESET_OWNER");
	return 0;
}

/* Rings off and device state gone, but ownership and the memory table stay:
 * QEMU keeps its shadow table across a reset and will not resend it. */
int vu_h_reset_device(struct vu_backend *b, struct vu_msg *msg)
{
	(void)msg;
	vu_backend_reset(b, VU_RESET_DEVICE, "RESET_DEVICE");
	return 0;
}

int vu_h_set_status(struct vu_backend *b, struct vu_msg *msg)
{
	uint8_t st;

	if (msg->p.u64 > 0xff) {
		vu_logf(b, VU_LOG_ERR, "SET_STATUS: 0x%llx does not fit the 8-bit status",
			(unsigned long long)msg->p.u64);
		return -EINVAL;
	}
	st = (uint8_t)msg->p.u64;
	if (st == 0) {
		vu_backend_reset(b, VU_RESET_DEVICE, "SET_STATUS 0");
	} else if ((st & STATUS_FAILED) && !(b->status & STATUS_FAILED)) {
		vu_logf(b, VU_LOG_WARN,
			"SET_STATUS 0x%02x: the driver gave up on the device (FAILED); rings "
			"stopped",
			st);
	}
	b->status = st;
	if (st & STATUS_DRIVER_OK)
		b->driver_ok_seen = true;
	vu_status_gate(b);
	return 0;
}
