/* vu/frontend.h - the vhost-user front-end role (what QEMU plays).
 *
 * Owns: the front-end's side of one connection: feature and protocol-feature
 * negotiation, ring set-up messages, the shadow memory table (ADD/REM_MEM_REG
 * diffed against the caller's wanted regions, as QEMU does, or SET_MEM_TABLE
 * when the back-end lacks CONFIGURE_MEM_SLOTS), status and reset (with a
 * hook for front-end state that a reset must drop, such as SHMEM mappings),
 * GET_SHMEM_CONFIG, and the requests the back-end sends on the backend
 * channel.
 * Never: makes an OS call, allocates, maps memory or owns an fd the caller
 * gave it. Everything a back-end sends (replies and backend-channel
 * requests) is hostile input: a reply must have flags exactly 0x5, the
 * request's code and the exact expected size, or the call fails with -EPROTO.
 * Used by: uvhost-bench, tests/frontend, and later the gateway and the
 * service-VM rig.
 *
 * fds are optional attachments: every place that takes one also works with
 * -1, which gives the fd-less form (regions whose mmap_offset names a window,
 * NOFD rings, a vsock port for the backend channel), so a transport without
 * fds plugs in through the same struct vu_fe_transport.
 */
#ifndef VU_FRONTEND_H
#define VU_FRONTEND_H

#include <stdbool.h>
#include <stdint.h>

#include "vu/wire.h"

/* Shadow table capacity: the largest slot count any back-end may announce
 * that we can follow (uvhost's own limit is 509). */
#define VU_FE_MAX_REGIONS 512u
/* Back-end requests handled per vu_fe_poll_backend() call at most. */
#define VU_FE_BACKEND_BATCH 16u

/* How the front-end reaches its back-end. All return 0 or a negative errno. */
struct vu_fe_transport {
	void *ctx;
	/* Send one message with msg->nfds fds attached. The fds are borrowed:
	 * the transport duplicates them onto the wire and never closes them. */
	int (*send)(void *ctx, const struct vu_msg *msg);
	/* Block until one whole message arrives on the main channel. Any fds
	 * that came with it are in msg->fds and belong to the caller. */
	int (*recv)(void *ctx, struct vu_msg *msg);
	/* Backend channel: take one waiting request without blocking
	 * (-EAGAIN when none), and send a reply. May be NULL when no backend
	 * channel exists. */
	int (*backend_recv)(void *ctx, struct vu_msg *msg);
	int (*backend_send)(void *ctx, const struct vu_msg *msg);
	/* Close an fd that arrived from the back-end and nobody took. */
	void (*close_fd)(void *ctx, int fd);
};

/* One region of guest memory. fd is -1 on an fd-less transport, where
 * mmap_offset then means window << 40 | offset. */
struct vu_fe_region {
	uint64_t gpa;
	uint64_t size;
	uint64_t uaddr;
	uint64_t mmap_offset;
	int fd;
};

enum vu_fe_mem_op_kind { VU_FE_MEM_REM = 1, VU_FE_MEM_ADD = 2 };

/* One step of a memory update: REM of shadow[index] or ADD of want[index]. */
struct vu_fe_mem_op {
	uint32_t kind;
	uint32_t index;
};

struct vu_frontend;

/* Called for each valid back-end request. It may take fds by setting
 * req->fds[i] = -1; the rest are closed afterwards. Its return value is the
 * reply's u64 (0 = success), sent iff the request had NEED_REPLY. */
typedef int (*vu_fe_backend_req_fn)(void *ctx, struct vu_msg *req);

/* Called by vu_fe_reset_device() once RESET_DEVICE went out, whatever the
 * back-end answers: the device forgot its state, so front-end state tied to
 * it (SHMEM mappings: plug in vu_fe_shmem_reset) must go too. */
typedef void (*vu_fe_reset_fn)(void *ctx);

struct vu_fe_stats {
	uint64_t add_mem_reg, rem_mem_reg, set_mem_table;
	uint64_t backend_reqs, backend_refused;
};

struct vu_frontend {
	const struct vu_fe_transport *t;
	const char *why; /* reason for the last failure, static string */

	uint64_t features;	    /* GET_FEATURES */
	uint64_t acked_features;    /* SET_FEATURES */
	uint64_t offered_pfeatures; /* GET_PROTOCOL_FEATURES */
	uint64_t pfeatures;	    /* negotiated */
	uint32_t queue_num;	    /* GET_QUEUE_NUM, or 1 without MQ */
	uint32_t max_slots;	    /* usable slots: GET_MAX_MEM_SLOTS or 8 */
	bool reply_ack;		    /* REPLY_ACK negotiated */

	vu_fe_backend_req_fn on_backend_req; /* may be NULL */
	void *backend_ctx;
	vu_fe_reset_fn on_reset; /* may be NULL */
	void *reset_ctx;

	uint32_t nshadow; /* regions the back-end has, as far as we know */
	struct vu_fe_region shadow[VU_FE_MAX_REGIONS];
	struct vu_fe_mem_op ops[2 * VU_FE_MAX_REGIONS];
	struct vu_fe_stats stats;
	struct vu_msg tx, rx;	/* main channel */
	struct vu_msg btx, brx; /* backend channel: a callback may use the main one */
};

void vu_fe_init(struct vu_frontend *fe, const struct vu_fe_transport *t);

/* Connect sequence: GET_FEATURES, then (if the back-end offers
 * PROTOCOL_FEATURES) GET_PROTOCOL_FEATURES and SET_PROTOCOL_FEATURES with
 * (offered & want_pfeatures), GET_QUEUE_NUM (MQ), GET_MAX_MEM_SLOTS
 * (CONFIGURE_MEM_SLOTS; capped at our_max_slots), then SET_OWNER. */
int vu_fe_connect(struct vu_frontend *fe, uint64_t want_pfeatures, uint32_t our_max_slots);

/* SET_BACKEND_REQ_FD: the fd of our end of the backend channel, or with
 * fd < 0 a u64 vsock port (the fd-less transport). Needs BACKEND_REQ. */
int vu_fe_set_backend_req(struct vu_frontend *fe, int fd, uint32_t vsock_port);

int vu_fe_set_features(struct vu_frontend *fe, uint64_t features);
/* GET_CONFIG of [offset, offset+size), size <= VU_CONFIG_MAX. */
int vu_fe_get_config(struct vu_frontend *fe, uint32_t offset, uint32_t size, void *out);

int vu_fe_set_vring_num(struct vu_frontend *fe, uint32_t index, uint32_t num);
int vu_fe_set_vring_base(struct vu_frontend *fe, uint32_t index, uint32_t base);
int vu_fe_set_vring_addr(struct vu_frontend *fe, uint32_t index, uint64_t desc, uint64_t used,
			 uint64_t avail);
/* fd < 0 sends the NOFD bit: the back-end polls (kick) or we poll (call). */
int vu_fe_set_vring_kick(struct vu_frontend *fe, uint32_t index, int fd);
int vu_fe_set_vring_call(struct vu_frontend *fe, uint32_t index, int fd);
int vu_fe_set_vring_err(struct vu_frontend *fe, uint32_t index, int fd);
int vu_fe_set_vring_enable(struct vu_frontend *fe, uint32_t index, bool enable);
int vu_fe_get_vring_base(struct vu_frontend *fe, uint32_t index, uint32_t *base);
/* In-band kick (VRING_KICK), for INBAND_NOTIFICATIONS: sent without
 * NEED_REPLY even with REPLY_ACK, nothing is read back. */
int vu_fe_vring_kick(struct vu_frontend *fe, uint32_t index);

int vu_fe_set_status(struct vu_frontend *fe, uint8_t status);
int vu_fe_get_status(struct vu_frontend *fe, uint8_t *status);
/* RESET_DEVICE, then on_reset (if set) as soon as the request was sent,
 * even when the back-end's ack is bad or missing: a device we asked to
 * reset must not keep shared memory mapped in us. */
int vu_fe_reset_device(struct vu_frontend *fe);

/* GET_SHMEM_CONFIG (needs SHMEM): the back-end's VIRTIO Shared Memory
 * Regions. The reply must be the whole 2056-byte struct with nregions <=
 * VU_SHMEM_MAX_REGIONS and every size from nregions on 0, or -EPROTO.
 * On success sizes[0..VU_SHMEM_MAX_REGIONS) is filled (0 = no region). */
int vu_fe_get_shmem_config(struct vu_frontend *fe, uint32_t *nregions,
			   uint64_t sizes[VU_SHMEM_MAX_REGIONS]);

/* Make the back-end's memory table equal `want` (at most VU_FE_MAX_REGIONS
 * regions, pairwise disjoint in gpa and in uaddr). With CONFIGURE_MEM_SLOTS:
 * every removal first, then every addition, the shadow updated after each
 * acknowledged step; -ENOSPC, with nothing sent, if the result would exceed
 * max_slots. Without it: one SET_MEM_TABLE (at most 8 regions) when the
 * table changed. Returns 0 or a negative errno (fe->why says which step). */
int vu_fe_set_mem(struct vu_frontend *fe, const struct vu_fe_region *want, uint32_t nwant);

/* Pure: the steps that turn `shadow` into `want`, regions compared on
 * (gpa, uaddr, size). Removals come first. Returns 0 with *nops set,
 * -EINVAL if `want` has an empty, wrapping or overlapping region, -ENOSPC
 * if nwant > max_slots, -E2BIG if more than max_ops steps are needed. */
int vu_fe_mem_diff(const struct vu_fe_region *shadow, uint32_t nshadow,
		   const struct vu_fe_region *want, uint32_t nwant, uint32_t max_slots,
		   struct vu_fe_mem_op *ops, uint32_t max_ops, uint32_t *nops);

/* Pure: is `reply` the reply to `request` with exactly `size` bytes of
 * payload and no fds? Returns 0 or -EPROTO with *why set. */
int vu_fe_check_reply(const struct vu_msg *reply, uint32_t request, uint32_t size,
		      const char **why);

/* Pure: is `req` a well-formed back-end request (version, flags, size and
 * fd count for its code) given the negotiated protocol features? Unknown
 * codes are well-formed if their header is (they get an error reply).
 * Returns 0 or -EPROTO with *why set. */
int vu_fe_check_backend_req(const struct vu_msg *req, uint64_t pfeatures, const char **why);

/* Handle up to VU_FE_BACKEND_BATCH requests waiting on the backend channel.
 * Returns how many were handled, or a negative errno when the channel broke
 * or the back-end sent a malformed request (then drop the connection). */
int vu_fe_poll_backend(struct vu_frontend *fe);

#endif
