/* vu/device.h - the interface a virtio device implements to be served.
 *
 * Owns: the contract between the protocol core (vhost/) and the devices in
 * devices/: what the device offers, and the callbacks the core makes.
 * Never: devices do not parse vhost-user messages or touch descriptors; they
 * get chains from vu_vq_pop() and give them back with vu_dev_complete().
 */
#ifndef VU_DEVICE_H
#define VU_DEVICE_H

#include <stdbool.h>
#include <stdint.h>

struct vu_backend;
struct vu_vq;
struct vu_chain;
struct vu_shmem_done;

struct vu_device_ops {
	const char *name;    /* "blk", "rng": the --print-capabilities type */
	uint32_t virtio_id;  /* 2 = blk, 4 = rng */
	uint64_t features;   /* device-specific virtio feature bits offered */
	uint16_t num_queues; /* queues served (<= VU_MAX_QUEUES) */
	uint16_t max_queue_size;
	bool has_config; /* offer PROTOCOL_F_CONFIG */
	bool multiqueue; /* offer PROTOCOL_F_MQ meaningfully */

	/* Fill `len` bytes of config space from `offset`. Returns 0 or -EINVAL. */
	int (*get_config)(void *dev, uint8_t *buf, uint32_t offset, uint32_t len);
	/* Write config space. Returns 0 or a negative errno. May be NULL. */
	int (*set_config)(void *dev, const uint8_t *buf, uint32_t offset, uint32_t len,
			  uint32_t flags);
	/* Serve one chain popped from ring `vq`. The device owns chain->head
	 * until it calls vu_dev_complete() (now, or later for async I/O). The
	 * chain's iovecs stay valid only during this call. Returns 0, or a
	 * negative errno if the chain is malformed for this device (the core
	 * then treats the ring as broken). */
	int (*handle)(void *dev, struct vu_backend *b, struct vu_vq *vq, struct vu_chain *chain);
	/* Drop device state on reset or disconnect. May be NULL. */
	void (*reset)(void *dev);

	/* VIRTIO Shared Memory Regions, indexed by shmid (at most 256); a size
	 * of 0 leaves that shmid unused. PROTOCOL_F_SHMEM is offered only when
	 * at least one region is declared. */
	uint32_t num_shmem;
	const uint64_t *shmem_sizes;
	/* The front-end answered a SHMEM_MAP/UNMAP (see vu/shmem.h), or the
	 * request failed because the backend channel went away. May be NULL:
	 * vu_backend_shmem_state() answers the same question by polling. */
	void (*shmem_done)(void *dev, const struct vu_shmem_done *done);
};

#endif
