/* vu/shmem.h - the back-end's side of VIRTIO Shared Memory Regions (SHMEM,
 * protocol feature 22): SHMEM_MAP/SHMEM_UNMAP on the backend channel.
 *
 * Owns: a static table of the mappings a device asked for, per shmid, and a
 * FIFO of requests sent and not yet answered. A request is refused locally,
 * before anything is sent, when it could never be right: unknown shmid, a
 * range beyond the region or wrapping, zero length, overlap with a mapping
 * that exists or is pending, an unmap that is not exactly one earlier
 * mapping, or SHMEM negotiated without REPLY_ACK (a back-end cannot know a
 * mapping is usable without the front-end's answer).
 * Never: blocks. vu_backend_shmem_map()/unmap() return as soon as the request
 * is sent; the answer is read later by vu_backend_handle_backend_reply(),
 * which the platform's loop calls when the backend channel is readable.
 * Every reply is hostile input: one with the wrong code, flags, size or fds,
 * or one nobody waits for, closes the backend channel with a log line and
 * fails every pending request.
 * Used by: devices that expose shared memory (through vu_device_ops
 * num_shmem/shmem_sizes/shmem_done), the host loop, tests.
 *
 * Mappings disappear on RESET_DEVICE, RESET_OWNER and disconnect, as they do
 * in the front-end. Requests still in flight at that moment stay in the
 * FIFO as orphans, so their replies are consumed instead of desynchronising
 * the channel; their completion is reported with `orphaned` set.
 */
#ifndef VU_SHMEM_H
#define VU_SHMEM_H

#include <stdbool.h>
#include <stdint.h>

#include "vu/wire.h"

#ifndef VU_SHMEM_MAX_MAPS
#define VU_SHMEM_MAX_MAPS 64
#endif

struct vu_backend;

enum vu_shmem_state {
	VU_SHMEM_NONE = 0,
	VU_SHMEM_MAP_PENDING,
	VU_SHMEM_MAPPED,
	VU_SHMEM_UNMAP_PENDING,
};

struct vu_shmem_entry {
	uint64_t shm_offset;
	uint64_t len;
	uint8_t shmid;
	uint8_t state; /* enum vu_shmem_state; NONE = free slot */
	bool rw;
};

/* One request sent and not yet answered. */
struct vu_shmem_pending {
	uint64_t shm_offset;
	uint64_t len;
	uint32_t request; /* VU_BREQ_SHMEM_MAP or VU_BREQ_SHMEM_UNMAP */
	int16_t entry;	  /* index in maps[], or -1: orphaned (reset, probe) */
	uint8_t shmid;
};

/* What a device's shmem_done callback learns about one request. */
struct vu_shmem_done {
	uint64_t shm_offset;
	uint64_t len;
	uint32_t request;
	int status; /* 0, or a negative errno: refused by the front-end, or channel lost */
	uint8_t shmid;
	bool orphaned; /* sent before a reset, or by vu_backend_shmem_probe() */
};

struct vu_backend_shmem {
	struct vu_shmem_entry maps[VU_SHMEM_MAX_MAPS];
	struct vu_shmem_pending pending[VU_SHMEM_MAX_MAPS];
	uint32_t phead, pcount;
	uint64_t n_sent, n_ok, n_failed, n_bad_replies;
	struct vu_msg tx, rx;
};

/* Ask the front-end to map [fd_offset, fd_offset+len) of `fd` at shm_offset
 * of region `shmid`, read-write if `rw`. `fd` is borrowed (the platform
 * duplicates it onto the wire); -1 only on a platform without fds. Returns 0
 * when the request is on its way (state MAP_PENDING), or a negative errno
 * when it was refused locally and nothing was sent. */
int vu_backend_shmem_map(struct vu_backend *b, uint8_t shmid, int fd, uint64_t fd_offset,
			 uint64_t shm_offset, uint64_t len, bool rw);

/* Ask the front-end to remove the mapping that is exactly
 * [shm_offset, shm_offset+len) of `shmid`. Same return convention. */
int vu_backend_shmem_unmap(struct vu_backend *b, uint8_t shmid, uint64_t shm_offset, uint64_t len);

/* Send a SHMEM request as given, without the local table's checks, and
 * track only its reply (reported orphaned). For front-end conformance tests:
 * it shows how a front-end answers what uvhost itself would never send.
 * Still needs SHMEM, REPLY_ACK and a backend channel. */
int vu_backend_shmem_probe(struct vu_backend *b, uint32_t request, const struct vu_shmem_map_msg *m,
			   int fd);

/* Read and settle the replies waiting on the backend channel (at most a
 * small batch). Call it when the channel is readable or hung up. Returns the
 * number of replies handled; channel trouble is handled here (logged,
 * channel closed, pending requests failed), never passed up. */
int vu_backend_handle_backend_reply(struct vu_backend *b);

/* State of the mapping that starts at shm_offset of shmid. */
enum vu_shmem_state vu_backend_shmem_state(const struct vu_backend *b, uint8_t shmid,
					   uint64_t shm_offset);
/* Mappings tracked (any state), and requests waiting for a reply. */
uint32_t vu_backend_shmem_count(const struct vu_backend *b);
uint32_t vu_backend_shmem_pending(const struct vu_backend *b);

#endif
