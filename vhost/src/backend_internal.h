/* backend_internal.h - shared by the back-end's files only.
 *
 * Layers, so no file depends on one that depends on it: backend_core.c (log,
 * replies, fds) and backend_notify.c (calls, errors) at the bottom; the
 * handler files above them; backend.c (dispatch and polling) on top.
 *
 * Handlers get a message whose envelope already passed vu_msg_check(). They
 * return 0 or a negative errno; the dispatcher turns that into a REPLY_ACK
 * answer or a closed connection. A handler that has a reply of its own sends
 * it with reply_*() and only on success.
 */
#ifndef VU_BACKEND_INTERNAL_H
#define VU_BACKEND_INTERNAL_H

#include "vu/backend.h"

typedef int (*vu_handler_fn)(struct vu_backend *b, struct vu_msg *msg);

/* Logging: one line, formatted. */
void vu_logf(const struct vu_backend *b, enum vu_log_level lvl, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

/* Replies: flags exactly VERSION|REPLY, same request code. */
int vu_reply(struct vu_backend *b, const struct vu_msg *req, const void *payload, uint32_t size,
	     const int *fds, uint32_t nfds);
int vu_reply_u64(struct vu_backend *b, const struct vu_msg *req, uint64_t value);

/* Take fd i of msg: marks it consumed so the dispatcher will not close it. */
int vu_take_fd(struct vu_msg *msg, uint32_t i);
void vu_close_fd(struct vu_backend *b, int fd);

/* The ring named by a state/addr/u64 payload, or NULL (logged) if out of range. */
struct vu_vq *vu_ring_of(struct vu_backend *b, uint32_t index, const char *what);

/* Stop a ring: no more processing; kick fd closed. */
void vu_ring_stop(struct vu_backend *b, struct vu_vq *vq);
/* A ring broke: log why (vq->err_why, head, address) and tell the
 * front-end (err fd, or in-band VRING_ERR). */
void vu_ring_error(struct vu_backend *b, struct vu_vq *vq, int rc);
/* Interrupt the driver if it wants one (call fd, or in-band VRING_CALL). */
void vu_ring_notify(struct vu_backend *b, struct vu_vq *vq);
/* Send the in-band calls an earlier turn could not (b->n_calls_owed). */
void vu_pay_owed_calls(struct vu_backend *b);
/* Send the GET_VRING_BASE reply of a stopped ring: {index, next avail}. */
int vu_ring_base_reply(struct vu_backend *b, struct vu_vq *vq);
/* Recompute b->rings_gated from status and negotiated features. */
void vu_status_gate(struct vu_backend *b);
/* Memory changed: every ring re-translates before its next use. */
void vu_rings_memory_changed(struct vu_backend *b);
/* Drop the inflight region. */
void vu_inflight_release(struct vu_backend *b);

/* Handlers, by topic. */
int vu_h_get_features(struct vu_backend *b, struct vu_msg *msg);
int vu_h_set_features(struct vu_backend *b, struct vu_msg *msg);
int vu_h_get_protocol_features(struct vu_backend *b, struct vu_msg *msg);
int vu_h_set_protocol_features(struct vu_backend *b, struct vu_msg *msg);
int vu_h_set_owner(struct vu_backend *b, struct vu_msg *msg);
int vu_h_reset_owner(struct vu_backend *b, struct vu_msg *msg);
int vu_h_get_queue_num(struct vu_backend *b, struct vu_msg *msg);
int vu_h_set_backend_req_fd(struct vu_backend *b, struct vu_msg *msg);
int vu_h_get_config(struct vu_backend *b, struct vu_msg *msg);
int vu_h_set_config(struct vu_backend *b, struct vu_msg *msg);
int vu_h_reset_device(struct vu_backend *b, struct vu_msg *msg);
int vu_h_set_status(struct vu_backend *b, struct vu_msg *msg);
int vu_h_get_status(struct vu_backend *b, struct vu_msg *msg);

int vu_h_set_mem_table(struct vu_backend *b, struct vu_msg *msg);
int vu_h_get_max_mem_slots(struct vu_backend *b, struct vu_msg *msg);
int vu_h_add_mem_reg(struct vu_backend *b, struct vu_msg *msg);
int vu_h_rem_mem_reg(struct vu_backend *b, struct vu_msg *msg);

int vu_h_set_vring_num(struct vu_backend *b, struct vu_msg *msg);
int vu_h_set_vring_addr(struct vu_backend *b, struct vu_msg *msg);
int vu_h_set_vring_base(struct vu_backend *b, struct vu_msg *msg);
int vu_h_get_vring_base(struct vu_backend *b, struct vu_msg *msg);
int vu_h_set_vring_kick(struct vu_backend *b, struct vu_msg *msg);
int vu_h_set_vring_call(struct vu_backend *b, struct vu_msg *msg);
int vu_h_set_vring_err(struct vu_backend *b, struct vu_msg *msg);
int vu_h_set_vring_enable(struct vu_backend *b, struct vu_msg *msg);
int vu_h_vring_kick(struct vu_backend *b, struct vu_msg *msg);

int vu_h_get_shmem_config(struct vu_backend *b, struct vu_msg *msg);
/* The device declares at least one shared memory region. */
bool vu_shmem_offered(const struct vu_device *dev);
/* Reset: forget every mapping; replies still due are consumed as orphans. */
void vu_shmem_forget(struct vu_backend *b);
/* The backend channel is gone: every pending request completes with `why`. */
void vu_shmem_channel_lost(struct vu_backend *b, int why);

int vu_h_get_inflight_fd(struct vu_backend *b, struct vu_msg *msg);
int vu_h_set_inflight_fd(struct vu_backend *b, struct vu_msg *msg);

/* Start ring processing after SET_VRING_KICK: map, recover inflight, poll once. */
int vu_ring_start(struct vu_backend *b, struct vu_vq *vq);

#endif
