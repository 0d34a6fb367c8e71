/* vu/vq.h - split virtqueue, device side.
 *
 * Owns: one ring's addresses and indexes, the walk of a descriptor chain
 * (direct and indirect) into host iovecs, publishing used elements, EVENT_IDX
 * notification suppression, and the inflight record of each chain.
 * Never: trusts the driver. A chain that loops, nests indirect tables, is
 * longer than the queue, points outside mapped memory, or puts a readable
 * descriptor after a writable one makes vu_vq_pop() return -EIO and marks the
 * ring broken; a broken ring is never walked again until it is set up anew.
 * Used by: devices/ (through pop/push/notify only; devices never see
 * descriptors) and the message handlers (setup, start, stop).
 */
#ifndef VU_VQ_H
#define VU_VQ_H

#include <stdbool.h>
#include <stdint.h>

#include "virtio/ring_layout.h"
#include "vu/inflight.h"
#include "vu/memtable.h"

#define VU_VQ_MAX_SIZE 32768u
/* Enough for virtio-blk with seg_max 254 plus header and status, even when
 * every buffer crosses a region boundary. */
#define VU_CHAIN_MAX_IOV 512u

/* One descriptor chain: device-readable iovecs first (out), then
 * device-writable ones (in). */
struct vu_chain {
	uint16_t head;
	uint32_t n_out;
	uint32_t n_in;
	uint64_t out_len;
	uint64_t in_len;
	struct vu_iov iov[VU_CHAIN_MAX_IOV];
};

struct vu_vq {
	uint16_t index;
	uint16_t size; /* 0 until SET_VRING_NUM */

	/* As the front-end gave them (uaddr, or gpa with GPA_ADDRESSES). */
	uint64_t desc_addr, avail_addr, used_addr, log_addr;
	uint32_t addr_flags;
	bool addr_set;
	bool addr_is_gpa;

	/* Host views, valid only while mem_generation == mem->generation. */
	struct vring_desc *desc;
	struct vring_avail *avail;
	struct vring_used *used;
	uint64_t mem_generation;
	bool mapped;

	uint16_t last_avail_idx; /* next avail entry to take */
	uint16_t used_idx;	 /* next used entry to write */
	uint16_t signalled_used;
	bool signalled_used_valid;
	uint16_t inuse; /* chains popped and not yet pushed */

	bool started;
	bool enabled;
	bool broken;
	bool kicked; /* work may be waiting: set by a kick, or once on start */
	bool event_idx;
	/* EVENT_IDX: where and under which memory generation avail_event was
	 * last published with a full fence, and its value. An idle polled ring
	 * then skips the store and fence: it costs one load, not ~30 ns
	 * (bench/RESULTS.md, "Turn time vs started rings"). */
	const uint16_t *avail_event_at; /* NULL: not published since the last pop */
	uint64_t avail_event_gen;
	uint16_t avail_event_val;

	int kick_fd, call_fd, err_fd; /* -1: none (polled) */

	struct vu_inflight_queue *inflight; /* NULL unless INFLIGHT_SHMFD set up */
	uint64_t inflight_counter;

	struct vu_mem_hint hint;

	/* Statistics for operators. */
	uint64_t n_popped, n_pushed, n_notified, n_errors;
};

void vu_vq_init(struct vu_vq *vq, uint16_t index);

/* Forget addresses, indexes and state; keep fds (the caller owns closing). */
void vu_vq_reset(struct vu_vq *vq);

/* Validate a queue size: power of two, 1..VU_VQ_MAX_SIZE. */
bool vu_vq_size_valid(uint32_t size);

/* (Re)translate ring addresses if memory changed since the last time.
 * Ring sizes always include the EVENT_IDX words (the spec's sizes), and each
 * ring must be aligned as the spec requires (desc 16, avail 2, used 4).
 * Returns 0, or -EFAULT if the ring has no size or address yet, is
 * misaligned, or is not fully inside mapped memory (the host pointers are
 * then cleared so nothing can touch freed memory). */
int vu_vq_map(struct vu_vq *vq, const struct vu_mem *mem);

/* Take the next available chain. Returns 1 with *chain filled, 0 if the ring
 * is empty or not started, -EIO on a malformed chain or a broken ring. Does
 * not look at `enabled`: the back-end decides when a ring is runnable. Each
 * descriptor is copied once before it is checked, so a driver rewriting the
 * table during the walk cannot change what was validated. */
int vu_vq_pop(struct vu_vq *vq, const struct vu_mem *mem, struct vu_chain *chain);

/* Publish one used element. `len` is the number of bytes written to the
 * writable part. Works on a ring broken by a later bad chain, so chains
 * popped earlier still complete. Returns 0, or -EIO if the ring is unmapped,
 * head is out of range, or nothing is in use. */
int vu_vq_push(struct vu_vq *vq, const struct vu_mem *mem, uint16_t head, uint32_t len);

/* Whether the driver wants an interrupt now (EVENT_IDX or NO_INTERRUPT),
 * updating the signalled-used bookkeeping. */
bool vu_vq_should_notify(struct vu_vq *vq, const struct vu_mem *mem);

/* Entries waiting in the avail ring (0 if not mapped). Raw: a value larger
 * than the queue size is returned as is, and the next pop breaks the ring. */
uint16_t vu_vq_avail_pending(struct vu_vq *vq, const struct vu_mem *mem);

/* Rebuild state from the inflight region after a reconnect: fixes used_idx
 * if the last batch was half-published and returns how many chains to
 * resubmit; their heads are in inflight order in heads[]. */
int vu_vq_inflight_recover(struct vu_vq *vq, const struct vu_mem *mem, uint16_t *heads,
			   uint32_t max_heads);

/* Rebuild the chain for a head the device must resubmit after a restart.
 * Returns 0, or -EIO for a malformed chain. vq->inflight, when set, must
 * hold at least `size` entries (the back-end checks at ring start). */
int vu_vq_chain_from_head(struct vu_vq *vq, const struct vu_mem *mem, uint16_t head,
			  struct vu_chain *chain);

#endif
