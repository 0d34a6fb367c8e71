/* vu/vq.h - split virtqueue, device side.
 *
 * Owns: one ring's addresses and indexes, the walk of a descriptor chain
 * (direct and indirect) into host iovecs, publishing used elements, EVENT_IDX
 * notification suppression, and the inflight record of each chain.
 * Never: trusts the driver. A chain that loops, nests indirect tables, uses
 * one without RING_INDIRECT_DESC, is longer than the queue, points outside
 * mapped memory, puts a readable descriptor after a writable one, or starts
 * at a head still in use makes vu_vq_pop() return -EIO and marks the ring
 * broken, with the reason in err_why; a broken ring is never walked again
 * until it is set up anew.
 * Used by: the back-end session (vhost/src/backend*.c: setup, start, stop,
 * pop, put back, push, notify). Devices never see a struct vu_vq: they get
 * chains through vu/device.h and ring state through vu/backend.h.
 */
#ifndef VU_VQ_H
#define VU_VQ_H

#include <stdbool.h>
#include <stdint.h>

#include "virtio/ring_layout.h"
#include "vu/inflight.h"
#include "vu/memtable.h"

/* The largest ring the library accepts: the spec's 32768 by default. A
 * build may lower it (the service VM: UV_VM_QUEUE_SIZE_MAX, 1024 like QEMU's
 * own limit): each session holds an in-use bit and a scratch slot per
 * possible head of each ring, about 80 KiB per session at 32768. */
#ifndef VU_VQ_MAX_SIZE
#define VU_VQ_MAX_SIZE 32768u
#endif
/* Enough for virtio-blk with seg_max 254 plus header and status, even when
 * every buffer crosses a region boundary. */
#define VU_CHAIN_MAX_IOV 512u
/* Bytes of a ring's in-use map (struct vu_vq.inuse_map). */
#define VU_VQ_INUSE_BYTES (VU_VQ_MAX_SIZE / 8u)
/* err_head when a ring error concerns no particular chain. */
#define VU_NO_HEAD 0xffffu

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

/* Cache-line aligned: everything an idle poll reads (flags, indexes, host
 * views, avail_event, kick_fd) lies in the first two lines of each ring, so
 * a round over many idle rings touches two lines per ring, wherever the
 * array starts (bench_ring_poll). */
struct vu_vq {
	_Alignas(64) uint16_t index;
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
	/* An in-band call was due but could not be sent (the backend channel's
	 * queue was full): the back-end sends it on a later turn. */
	bool call_owed;

	struct vu_inflight_queue *inflight; /* NULL unless INFLIGHT_SHMFD set up */
	uint64_t inflight_counter;

	struct vu_mem_hint hint;

	/* Moves on at every reset of the ring, never back to 0: a completion
	 * token carries it, and one from an earlier epoch is stale. */
	uint32_t epoch;
	/* Heads popped and not yet pushed, one bit each (VU_VQ_INUSE_BYTES,
	 * owned by the caller, kept across vu_vq_reset): a driver posting a head
	 * that is still in use breaks the ring, and a push of a head not in use
	 * is refused, so no buffer is ever used twice. Outside the struct so an
	 * idle ring's poll touches as few cache lines and pages as before. NULL:
	 * no tracking, and push checks only that something is in use. */
	uint8_t *inuse_map;

	/* Statistics for operators. */
	uint64_t n_popped, n_pushed, n_notified, n_errors;

	/* Below: what the idle poll never reads, kept out of its cache lines. */

	/* VIRTIO_F_RING_INDIRECT_DESC was not negotiated: an indirect
	 * descriptor breaks the ring (set by the back-end from the features). */
	bool no_indirect;
	/* The head of the last pop, which vu_vq_unpop() may put back until the
	 * next pop or reset. */
	uint16_t unpop_head;
	bool unpop_ok;

	/* Why the ring broke, for the log line: a fixed string, the head of the
	 * chain (or VU_NO_HEAD when no chain was involved) and the guest address
	 * concerned (0 if none). */
	const char *err_why;
	uint32_t err_head;
	uint64_t err_addr;
};

void vu_vq_init(struct vu_vq *vq, uint16_t index);

/* Forget addresses, indexes and state; keep fds (the caller owns closing).
 * The epoch moves on: tokens of chains popped before are stale. */
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

/* Put back the chain just popped (its head is `head`): the avail index
 * steps back, the head is no longer in use and its inflight mark is
 * cleared, as Linux vhost_discard_vq_desc(). Only the most recent pop may be
 * put back. Returns 0, or -EINVAL if `head` is not that chain. */
int vu_vq_unpop(struct vu_vq *vq, uint16_t head);

/* Forget a popped head without publishing it (its ring became unusable):
 * no longer in use, its inflight mark kept so a restart resubmits it.
 * Returns 0, or -EINVAL if the head is not in use. */
int vu_vq_drop(struct vu_vq *vq, uint16_t head);

/* Whether `head` is popped and not yet pushed. */
bool vu_vq_head_in_use(const struct vu_vq *vq, uint16_t head);

/* Publish one used element. `len` is the number of bytes written to the
 * writable part. Works on a ring broken by a later bad chain, so chains
 * popped earlier still complete. Returns 0, or -EIO if the ring is unmapped,
 * head is out of range, or that head is not in use (err_why says which). */
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
