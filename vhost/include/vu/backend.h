/* vu/backend.h - one vhost-user back-end session (one device, one front-end).
 *
 * Owns: everything a front-end can change: negotiated features, ownership,
 * the memory table, the rings, status, the backend channel and inflight
 * region. It validates each message (vu/msg.h) and runs its handler.
 * Never: blocks, allocates, or makes OS calls (all through vu_platform).
 * Used by: the transports in arch/ (feed messages, report kicks, poll) and
 * devices (answer chains through vu/device.h, finish pending ones with
 * vu_complete()).
 *
 * Life cycle: vu_backend_init() once; vu_backend_handle() per message;
 * vu_backend_poll() every scheduler turn; vu_backend_handle_backend_reply()
 * (vu/shmem.h) when the backend channel is readable, for as long as
 * backend_chan >= 0; vu_backend_disconnect() when the
 * front-end goes away, which releases every fd and mapping and leaves the
 * session ready for the next front-end.
 */
#ifndef VU_BACKEND_H
#define VU_BACKEND_H

#include <stdbool.h>
#include <stdint.h>

#include "vu/device.h"
#include "vu/memtable.h"
#include "vu/platform.h"
#include "vu/shmem.h"
#include "vu/vq.h"
#include "vu/wire.h"

#ifndef VU_MAX_QUEUES
#define VU_MAX_QUEUES 16
#endif

struct vu_backend_config {
	bool no_mem_slots;	/* do not offer CONFIGURE_MEM_SLOTS */
	bool no_inflight;	/* do not offer INFLIGHT_SHMFD */
	uint32_t max_mem_slots; /* 0: VU_MAX_MEM_SLOTS */
	/* Print one line per received message through platform->log. */
	bool trace;
};

/* How much a reset takes away (vu_backend_reset). Each level includes the
 * ones above it. */
enum vu_reset_level {
	/* RESET_DEVICE, SET_STATUS 0: rings stop and forget their layout,
	 * pending requests are dropped, shared memory mappings and device state
	 * go, features are renegotiated. Ownership, protocol features, the
	 * memory table, the backend channel, the inflight region and each
	 * ring's next avail index stay (QEMU 7.2 stops with SET_STATUS 0 and
	 * then asks GET_VRING_BASE). */
	VU_RESET_DEVICE,
	/* RESET_OWNER: as DEVICE, and the session has no owner any more. */
	VU_RESET_OWNER,
	/* The front-end went away: every fd, mapping and negotiated value. */
	VU_RESET_CONNECTION,
};

struct vu_backend {
	const struct vu_platform *plat;
	const struct vu_device *dev;
	void *dev_ctx;
	struct vu_backend_config cfg;

	uint64_t features_offered;
	uint64_t features;
	uint64_t pfeatures_offered;
	uint64_t pfeatures;
	bool pfeatures_set;
	bool owner;
	uint8_t status;
	/* The front-end has set DRIVER_OK on this connection: from then on
	 * rings run only while DRIVER_OK is set (backend_reset.c says why not
	 * before). FAILED always stops them. */
	bool driver_ok_seen;
	bool rings_gated;

	int backend_chan; /* -1: none */
	/* SHMEM mappings and requests awaiting a reply (vu/shmem.h). */
	struct vu_backend_shmem shmem;

	/* Inflight region, ours (GET) or handed in (SET). */
	int inflight_fd;
	void *inflight_host;
	void *inflight_cookie;
	uint64_t inflight_size;
	uint16_t inflight_num_queues;
	uint16_t inflight_queue_size;

	uint64_t n_msgs;
	uint64_t n_rejected;
	/* fd-less transport: in-band BACKEND_VRING_CALL/ERR sent, and sends
	 * that failed. A call that failed is owed: retried every poll until it
	 * goes out, because a driver waiting for it would wait forever
	 * (n_calls_owed rings owe one now, n_calls_retried went out late). */
	uint64_t n_inband_calls;
	uint64_t n_inband_kicks; /* VRING_KICKs received */
	uint64_t n_inband_errs;
	uint64_t n_inband_fail;
	uint32_t n_calls_owed;
	uint64_t n_calls_retried;
	/* Set by a handler whose failure must end the connection even when a
	 * REPLY_ACK answer was sent (memory without WINDOW_ADDR). */
	bool close_after_reply;

	/* GET_VRING_BASE answered once the ring's last pending request
	 * completes (the reply is due, the front-end waits). */
	bool base_reply_due[VU_MAX_QUEUES];
	/* Chains a device put back (VU_NOT_NOW); pending requests dropped by a
	 * reset; completions that arrived for such a request, or with a token
	 * that names nothing pending. */
	uint64_t n_not_now;
	uint64_t n_dropped;
	uint64_t n_late;

	struct vu_vq vq[VU_MAX_QUEUES];
	struct vu_mem mem;

	/* Scratch space, here rather than on the stack or in globals, so one
	 * service VM can run many sessions on small stacks. */
	struct vu_msg scratch_reply;
	struct vu_chain scratch_chain;
	uint16_t scratch_heads[VU_VQ_MAX_SIZE];
	/* True while vu_backend_poll() runs a batch: completions defer the
	 * interrupt decision to the end of the batch. */
	bool in_batch;
	/* Each ring's in-use map (struct vu_vq.inuse_map), last: cold. */
	uint8_t inuse_maps[VU_MAX_QUEUES][VU_VQ_INUSE_BYTES];
};

/* `dev` describes the device instance and must outlive the session;
 * `dev_ctx` is passed to every dev->ops callback. */
void vu_backend_init(struct vu_backend *b, const struct vu_platform *plat,
		     const struct vu_device *dev, void *dev_ctx,
		     const struct vu_backend_config *cfg);

/* Handle one received message. The session takes every fd in msg (closing
 * those it does not keep). Returns 0, or a negative errno when the
 * connection must be closed (the reason has been logged). */
int vu_backend_handle(struct vu_backend *b, struct vu_msg *msg);

/* Process started rings: each ring whose kick was seen (vu_backend_kick) or
 * that is polled (NOFD) gets at most `budget` chains. Returns the work done. */
int vu_backend_poll(struct vu_backend *b, int budget);

/* Ring `index` has work: its kick fd became readable (already drained), or
 * the device has room again after answering VU_NOT_NOW. */
void vu_backend_kick(struct vu_backend *b, uint32_t index);

/* Finish a request the device answered VU_PENDING: publish it with
 * `written` bytes in its writable part and interrupt the driver if it wants
 * one. A stale token (the ring was reset since, or the request was already
 * completed) changes nothing and is counted in n_late. Returns 0, or
 * -ESTALE for such a token. If this was the last pending request of a ring
 * whose GET_VRING_BASE waits, the reply goes out now. */
int vu_complete(struct vu_backend *b, struct vu_token token, uint32_t written);

/* Rebuild the chain of a pending request (its iovecs are valid until the
 * next memory change). Returns 0, -ESTALE for a stale token, or -EIO if the
 * chain is malformed now (the ring is then broken). */
int vu_token_chain(struct vu_backend *b, struct vu_token token, struct vu_chain *chain);

/* Requests of ring `ring` the device holds (VU_PENDING, not completed). */
uint32_t vu_ring_pending(const struct vu_backend *b, uint32_t ring);

/* Chains the driver posted to ring `ring` and the device has not taken yet
 * (0 if the ring is stopped, broken or its view of memory is stale). */
uint32_t vu_ring_waiting(const struct vu_backend *b, uint32_t ring);

/* Ring state for devices and transports, which never read struct vu_vq:
 * started (SET_VRING_KICK seen, no GET_VRING_BASE since), live (started,
 * enabled, not broken, not gated by status), and its kick fd (-1: polled). */
bool vu_ring_started(const struct vu_backend *b, uint32_t ring);
bool vu_ring_live(const struct vu_backend *b, uint32_t ring);
int vu_ring_kick_fd(const struct vu_backend *b, uint32_t ring);
uint32_t vu_backend_num_queues(const struct vu_backend *b);

/* The one reset path: RESET_DEVICE and SET_STATUS 0 (DEVICE), RESET_OWNER
 * (OWNER) and disconnect (CONNECTION) all go through it. A GET_VRING_BASE
 * reply still due is sent first (DEVICE, OWNER) or dropped with the
 * connection. */
void vu_backend_reset(struct vu_backend *b, enum vu_reset_level level, const char *why);

/* Tell the front-end the config space changed (BACKEND_REQ channel). No
 * reply is asked for: QEMU answers with GET_CONFIG on the main channel.
 *
 * On the fd-less transport (platform has_fds false) the backend channel is
 * opened by the back-end itself (SET_BACKEND_REQ_FD carries a vsock port),
 * and with INBAND_NOTIFICATIONS a completion that would have written the
 * call eventfd sends BACKEND_VRING_CALL instead, a broken ring sends
 * BACKEND_VRING_ERR. */
int vu_backend_config_changed(struct vu_backend *b);

/* Front-end went away: release all fds and mappings, reset all state
 * (vu_backend_reset at VU_RESET_CONNECTION). */
void vu_backend_disconnect(struct vu_backend *b);

/* Features offered in GET_FEATURES / GET_PROTOCOL_FEATURES. */
uint64_t vu_backend_offered_features(const struct vu_backend *b);
uint64_t vu_backend_offered_protocol_features(const struct vu_backend *b);

#endif
