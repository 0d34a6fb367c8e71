/* vu/fe_shmem.h - the front-end's handler for SHMEM_MAP and SHMEM_UNMAP
 * requests from a back-end (backend channel codes 9 and 10).
 *
 * Owns: the front-end's record of which ranges of each VIRTIO Shared Memory
 * Region a back-end has mapped, and the validation of every request before
 * anything is mapped: payload size, fd count (exactly one on MAP, none on
 * UNMAP), known shmid, range inside the region without wrapping, alignment,
 * flags (only bit 0, RW), no overlap with an existing mapping, and an UNMAP
 * that names exactly one whole earlier mapping.
 * Never: maps memory itself, makes OS calls or keeps an fd: the work goes
 * to a struct vu_fe_shmem_mapper (arch/host: uvh/shmem_window.h), which must
 * not keep the fd beyond the call either; the caller closes it afterwards.
 * Used by: the front-end role (plugged in as its on_backend_req callback),
 * tests/shmem and the fuzz_shmem target.
 *
 * The answer is 0 or a negative errno; a front-end sends it as the reply's
 * u64, so any non-zero value tells the back-end the request failed.
 */
#ifndef VU_FE_SHMEM_H
#define VU_FE_SHMEM_H

#include <stdbool.h>
#include <stdint.h>

#include "vu/wire.h"

#ifndef VU_FE_SHMEM_MAX_MAPS
#define VU_FE_SHMEM_MAX_MAPS 64
#endif

/* What actually maps. Each returns 0 or a negative errno; a failed map must
 * leave the range as it was (reserved, unmapped). */
struct vu_fe_shmem_mapper {
	void *ctx;
	int (*map)(void *ctx, uint8_t shmid, uint64_t shm_offset, uint64_t len, int fd,
		   uint64_t fd_offset, bool rw);
	int (*unmap)(void *ctx, uint8_t shmid, uint64_t shm_offset, uint64_t len);
	/* Drop every mapping of every region. */
	void (*reset)(void *ctx);
};

struct vu_fe_shmem_map {
	uint64_t shm_offset;
	uint64_t len;
	uint8_t shmid;
	bool used;
	bool rw;
};

struct vu_fe_shmem {
	const struct vu_fe_shmem_mapper *mapper;
	uint64_t sizes[VU_SHMEM_MAX_REGIONS]; /* 0: no such region */
	uint64_t align;			      /* offsets and lengths must be multiples; 1: any */
	struct vu_fe_shmem_map maps[VU_FE_SHMEM_MAX_MAPS];
	uint32_t nmaps;
	uint64_t n_mapped, n_unmapped, n_refused;
	const char *why; /* reason for the last refusal, static string */
};

/* sizes[i] for shmid i < nregions (at most VU_SHMEM_MAX_REGIONS; 0 = no
 * region), e.g. straight from a GET_SHMEM_CONFIG reply. `align` is a power
 * of two (the page size for mmap), or 0/1 for none. Returns 0 or -EINVAL. */
int vu_fe_shmem_init(struct vu_fe_shmem *s, const struct vu_fe_shmem_mapper *mapper,
		     const uint64_t *sizes, uint32_t nregions, uint64_t align);

/* Handle one SHMEM_MAP/SHMEM_UNMAP request. Matches the front-end's
 * on_backend_req callback (ctx is the struct vu_fe_shmem). fds in `req`
 * stay the caller's. Returns 0 or a negative errno. */
int vu_fe_shmem_handle(void *ctx, struct vu_msg *req);

/* Device reset or back-end gone: every mapping is dropped. */
void vu_fe_shmem_reset(struct vu_fe_shmem *s);

#endif
