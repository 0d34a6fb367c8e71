/* vu/device.h - the interface a virtio device implements to be served.
 *
 * Owns: the contract between the protocol core (vhost/) and the devices in
 * devices/: a const table of callbacks (struct vu_device_ops, one per device
 * type, never written after compile time) and a per-instance description
 * (struct vu_device: name, virtio id, features, queues, shared memory),
 * filled once by the device's init and read by the core.
 * Never: devices do not parse vhost-user messages or touch descriptors. The
 * core pops a chain and offers it to ops->serve(); the device answers with
 * one of three outcomes:
 *   VU_DONE     finished now; the core publishes the used entry with
 *               req->written bytes;
 *   VU_PENDING  the device copied req->token and finishes later, in any
 *               order, with vu_complete(b, token, written);
 *   VU_NOT_NOW  no room: the core puts the chain back in the avail ring (as
 *               Linux vhost_discard_vq_desc) and skips the ring for this
 *               turn. A polled ring is looked at again next turn; a kicked
 *               one when the driver kicks again or the device calls
 *               vu_backend_kick() because it has room now.
 * A token is small and copyable. It names the ring, the head and the ring's
 * epoch; every reset of the ring (RESET_DEVICE, SET_STATUS 0, RESET_OWNER,
 * disconnect) moves the epoch on, so a completion that arrives afterwards is
 * dropped and counted, never written into a ring that is gone.
 * Used by: devices/ (blk, rng, vsock), the apps that make them, and tests.
 */
#ifndef VU_DEVICE_H
#define VU_DEVICE_H

#include <stdbool.h>
#include <stdint.h>

struct vu_backend;
struct vu_chain;
struct vu_shmem_done;

/* What serve() did with a chain (a negative errno instead: the chain is
 * malformed for this device and the core stops the ring). */
enum vu_serve_result {
	VU_DONE = 0,
	VU_PENDING = 1,
	VU_NOT_NOW = 2,
};

/* Identifies one pending request. Copy it; compare nothing inside it. */
struct vu_token {
	uint32_t epoch; /* the ring's epoch when the chain was popped; 0 = none */
	uint16_t ring;
	uint16_t head;
};

/* One chain offered to serve(). */
struct vu_req {
	uint16_t ring;
	struct vu_chain *chain; /* iovecs valid only during serve() */
	struct vu_token token;	/* keep it to answer VU_PENDING */
	uint32_t written;	/* VU_DONE: bytes written to the writable part */
};

/* Callbacks of one device type: a const table, shared by every instance.
 * `dev` is the instance pointer given to vu_backend_init(). */
struct vu_device_ops {
	/* Fill `len` bytes of config space from `offset`. Returns 0 or -EINVAL.
	 * May be NULL when the instance has no config space. */
	int (*get_config)(void *dev, uint8_t *buf, uint32_t offset, uint32_t len);
	/* Write config space. Returns 0 or a negative errno. May be NULL. */
	int (*set_config)(void *dev, const uint8_t *buf, uint32_t offset, uint32_t len,
			  uint32_t flags);
	/* Answer one chain: VU_DONE, VU_PENDING, VU_NOT_NOW or a negative errno
	 * (see the top of this file). */
	int (*serve)(void *dev, struct vu_backend *b, struct vu_req *req);
	/* Drop device state on reset or disconnect, including every token it
	 * holds (they are stale now). May be NULL. */
	void (*reset)(void *dev);
	/* The front-end answered a SHMEM_MAP/UNMAP (see vu/shmem.h), or the
	 * request failed because the backend channel went away. May be NULL:
	 * vu_backend_shmem_state() answers the same question by polling. */
	void (*shmem_done)(void *dev, const struct vu_shmem_done *done);
	/* Guest memory is about to be unmapped (SET_MEM_TABLE, REM_MEM_REG):
	 * finish every request whose buffers something still reads or writes
	 * behind the device's back (asynchronous I/O in the kernel); it may
	 * call vu_complete() from here. May be NULL (nothing is ever in flight
	 * outside serve()). */
	void (*quiesce)(void *dev, struct vu_backend *b);
	/* Finish requests that completed outside serve() since the last turn
	 * (asynchronous storage: reap, write the status, vu_complete()), at
	 * most `budget` per queue; returns how many. The session step runs it
	 * every turn, before the front-end's messages and the rings
	 * (vu/session.h). May be NULL (nothing completes outside serve(), or
	 * the device completes from its own event source). */
	int (*poll)(void *dev, struct vu_backend *b, unsigned budget);
};

/* One device instance as the core sees it: filled by the device's init (or
 * by a helper of the device for instance options such as shared memory)
 * before vu_backend_init(), and only read afterwards. */
struct vu_device {
	const struct vu_device_ops *ops;
	const char *name;    /* "blk", "rng": the --print-capabilities type */
	uint32_t virtio_id;  /* 2 = blk, 4 = rng */
	uint64_t features;   /* device-specific virtio feature bits offered */
	uint16_t num_queues; /* queues served (<= VU_MAX_QUEUES) */
	uint16_t max_queue_size;
	bool has_config; /* offer PROTOCOL_F_CONFIG */
	bool multiqueue; /* offer PROTOCOL_F_MQ meaningfully */
	/* VIRTIO Shared Memory Regions, indexed by shmid (at most 256); a size
	 * of 0 leaves that shmid unused. PROTOCOL_F_SHMEM is offered only when
	 * at least one region is declared. */
	uint32_t num_shmem;
	const uint64_t *shmem_sizes;
};

#endif
