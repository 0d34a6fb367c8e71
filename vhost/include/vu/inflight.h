/* vu/inflight.h - the shared inflight-I/O region (protocol feature INFLIGHT_SHMFD).
 *
 * Owns: the split-ring layout from the vhost-user spec ("Inflight I/O
 * tracking"), and the size arithmetic, checked for overflow.
 * The front-end keeps this memory across a back-end crash and hands it to the
 * new back-end with SET_INFLIGHT_FD, which resubmits what is still inflight.
 * Never: trusts a region handed in by SET_INFLIGHT_FD; its size is checked
 * against the queue count and size before any queue points into it.
 */
#ifndef VU_INFLIGHT_H
#define VU_INFLIGHT_H

#include <stdint.h>

#define VU_INFLIGHT_VERSION 1u
#define VU_INFLIGHT_ALIGN 64u

struct vu_inflight_desc {
	uint8_t inflight;
	uint8_t padding[5];
	uint16_t next;
	uint64_t counter;
};

struct vu_inflight_queue {
	uint64_t features;
	uint16_t version;
	uint16_t desc_num;
	uint16_t last_batch_head;
	uint16_t used_idx;
	struct vu_inflight_desc desc[];
};

_Static_assert(sizeof(struct vu_inflight_desc) == 16, "inflight desc");
_Static_assert(sizeof(struct vu_inflight_queue) == 16, "inflight queue header");

/* Bytes one queue of `queue_size` entries takes, aligned; 0 if invalid. */
uint64_t vu_inflight_queue_bytes(uint32_t queue_size);

/* Total bytes for `num_queues` queues; 0 if either count is invalid. */
uint64_t vu_inflight_total_bytes(uint32_t num_queues, uint32_t queue_size);

#endif
