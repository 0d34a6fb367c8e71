/* dev/blk.h - virtio-blk served through vhost/.
 *
 * Owns: request parsing (IN, OUT, FLUSH, GET_ID, DISCARD, WRITE_ZEROES) and
 * the config space (capacity, blk_size, seg_max, num_queues, discard and
 * write-zeroes limits). Every sector range is checked against capacity
 * before the storage sees it; a request the guest formed badly gets
 * VIRTIO_BLK_S_IOERR or UNSUPP, and a chain with no room for the header or
 * status byte is a device error (the ring stops).
 * With an asynchronous storage (dev_storage.async) a request is submitted and
 * answered VU_PENDING; dev_blk_poll() (blk's ops->poll, which the session
 * step runs every turn: vu/session.h) reaps completions, writes the status
 * byte only while the request's token is still live, and completes it with
 * vu_complete(), in whatever order the storage finished. A full storage
 * queue (or no free request slot) answers VU_NOT_NOW.
 * Used by: uvhostd and the unikernel, through struct vu_device (blk->dev).
 */
#ifndef DEV_BLK_H
#define DEV_BLK_H

#include <stdbool.h>
#include <stdint.h>

#include "dev/storage.h"
#include "vu/device.h"
#include "vu/memtable.h"
#include "vu/backend.h"
#include "vu/vq.h"

#define DEV_BLK_SEG_MAX 254u
#define DEV_BLK_ID_BYTES 20u
/* Requests one queue keeps in flight on an asynchronous storage. */
#define DEV_BLK_ASYNC_SLOTS 128u

/* One request in flight: what its completion needs. */
struct dev_blk_slot {
	struct vu_token token;
	uint32_t written; /* data bytes to report on success (reads) */
	bool busy;
};

struct dev_blk_queue {
	struct dev_blk_slot slot[DEV_BLK_ASYNC_SLOTS];
	uint16_t free[DEV_BLK_ASYNC_SLOTS]; /* stack of free slot indexes */
	uint16_t nfree;
	bool blocked; /* answered VU_NOT_NOW: kick the ring on a completion */
};

struct dev_blk {
	struct vu_device dev;
	struct dev_storage *store;
	char serial[DEV_BLK_ID_BYTES + 1];
	/* Scratch for the data part of one request (chain minus header/status). */
	struct vu_iov data[VU_CHAIN_MAX_IOV];
	uint64_t n_reads, n_writes, n_flushes, n_errors;
	/* Asynchronous storage only: completions reaped, and those whose
	 * request had been reset meanwhile (nothing written). */
	uint64_t n_async_done, n_async_stale;
	/* Asynchronous storage only (dev_blk_init_async), else NULL. */
	struct vu_chain *done_chain; /* a completed request's chain, rebuilt */
	struct dev_blk_queue *q;     /* [VU_MAX_QUEUES] */
};

/* What an asynchronous storage needs besides struct dev_blk (about 45 KiB):
 * request slots per queue and a chain to rebuild completions in. The caller
 * provides it, so a dev_blk on synchronous storage (the service VM's RAM
 * disks) does not carry it. */
struct dev_blk_async {
	struct vu_chain done_chain;
	struct dev_blk_queue q[VU_MAX_QUEUES];
};

/* num_queues: 1..VU_MAX_QUEUES. A storage with async set needs
 * dev_blk_init_async() (here: -EINVAL). */
int dev_blk_init(struct dev_blk *blk, struct dev_storage *store, uint16_t num_queues,
		 const char *serial);
/* The same, for an asynchronous storage (store->async set, with at least
 * num_queues queues, submit and reap): `area` must outlive blk. */
int dev_blk_init_async(struct dev_blk *blk, struct dev_storage *store, uint16_t num_queues,
		       const char *serial, struct dev_blk_async *area);

/* Declare VIRTIO Shared Memory Regions for this instance (the service VM
 * offers its RAM disk as shmid 0); `sizes` must outlive the session. Call
 * before vu_backend_init(). num 0: none (the default). */
void dev_blk_declare_shmem(struct dev_blk *blk, uint32_t num, const uint64_t *sizes);

/* Asynchronous storage: reap at most `budget` completions per queue and
 * finish their requests on `b`. Returns the completions handled (0 with a
 * synchronous storage). Never blocks. Also blk's ops->poll. */
int dev_blk_poll(struct dev_blk *blk, struct vu_backend *b, unsigned budget);

#endif
