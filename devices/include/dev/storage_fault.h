/* dev/storage_fault.h - a storage that lies, for testing front-ends only.
 *
 * Owns: wrapping another dev_storage and, on every EVERY-th read or write,
 * doing one thing wrong while (except bad-status) still reporting success:
 *   drop-writes  the write is not passed on (the data never lands)
 *   short-read   only the first half of the requested bytes are read; the
 *                rest of the guest's buffer is left as it was
 *   bad-status   the read or write fails with -EIO, which dev_blk reports
 *                as VIRTIO_BLK_S_IOERR
 * Everything else (flush, discard, write-zeroes, size, read-only) is the
 * wrapped storage's.
 * Never: used outside tests: uvhostd offers it only as --fault, documented
 * as for testing only, so that tests can prove a verifier catches each lie.
 * Used by: uvhostd (--fault), tests/frontend/run_frontend.py through it.
 */
#ifndef DEV_STORAGE_FAULT_H
#define DEV_STORAGE_FAULT_H

#include <stdint.h>

#include "dev/storage.h"
#include "vu/memtable.h"
#include "vu/vq.h"

enum dev_fault { DEV_FAULT_DROP_WRITES = 1, DEV_FAULT_SHORT_READ, DEV_FAULT_BAD_STATUS };

#define DEV_FAULT_NAMES "drop-writes, short-read or bad-status"

struct dev_storage_fault {
	struct dev_storage *inner;
	enum dev_fault kind;
	uint32_t every;		/* the every-th request of the kind the fault hits */
	uint64_t reads, writes; /* requests seen */
	uint64_t hits;		/* requests the fault changed */
	struct vu_iov half[VU_CHAIN_MAX_IOV];
};

/* The fault called `name`, or 0 if there is none by that name. */
enum dev_fault dev_fault_by_name(const char *name);
const char *dev_fault_name(enum dev_fault kind);

/* Make `outer` the faulty view of `inner` (which must outlive it): the
 * every-th read (short-read), write (drop-writes) or either (bad-status)
 * goes wrong, counting from 1, so every = 1 hits all of them. */
void dev_storage_fault(struct dev_storage *outer, struct dev_storage_fault *f,
		       struct dev_storage *inner, enum dev_fault kind, uint32_t every);

#endif
