/* dev/blk.h - virtio-blk served through vhost/.
 *
 * Owns: request parsing (IN, OUT, FLUSH, GET_ID, DISCARD, WRITE_ZEROES) and
 * the config space (capacity, blk_size, seg_max, num_queues, discard and
 * write-zeroes limits). Every sector range is checked against capacity
 * before the storage sees it; a request the guest formed badly gets
 * VIRTIO_BLK_S_IOERR or UNSUPP, and a chain with no room for the header or
 * status byte is a device error (the ring stops).
 * Used by: uvhostd and the unikernel, through struct vu_device (blk->dev).
 */
#ifndef DEV_BLK_H
#define DEV_BLK_H

#include <stdint.h>

#include "dev/storage.h"
#include "vu/device.h"
#include "vu/memtable.h"
#include "vu/vq.h"

#define DEV_BLK_SEG_MAX 254u
#define DEV_BLK_ID_BYTES 20u

struct dev_blk {
	struct vu_device dev;
	struct dev_storage *store;
	char serial[DEV_BLK_ID_BYTES + 1];
	/* Scratch for the data part of one request (chain minus header/status). */
	struct vu_iov data[VU_CHAIN_MAX_IOV];
	uint64_t n_reads, n_writes, n_flushes, n_errors;
};

/* num_queues: 1..VU_MAX_QUEUES. */
int dev_blk_init(struct dev_blk *blk, struct dev_storage *store, uint16_t num_queues,
		 const char *serial);

/* Declare VIRTIO Shared Memory Regions for this instance (the service VM
 * offers its RAM disk as shmid 0); `sizes` must outlive the session. Call
 * before vu_backend_init(). num 0: none (the default). */
void dev_blk_declare_shmem(struct dev_blk *blk, uint32_t num, const uint64_t *sizes);

#endif
