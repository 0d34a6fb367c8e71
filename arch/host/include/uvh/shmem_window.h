/* uvh/shmem_window.h - VIRTIO Shared Memory Regions of a front-end process
 * on Linux: one reserved range of address space per region.
 *
 * Owns: the reservations (PROT_NONE, MAP_NORESERVE anonymous memory) and the
 * file mappings placed inside them with MAP_FIXED. An unmap or a reset puts
 * the PROT_NONE reservation back over the range in the same call, so no
 * hole ever opens that another mmap could take.
 * Never: validates requests (vu/fe_shmem.h does, before calling here) or
 * keeps an fd: the mapping holds its own reference to the file.
 * Used by: front-end programs and tests/shmem, as the vu_fe_shmem_mapper.
 */
#ifndef UVH_SHMEM_WINDOW_H
#define UVH_SHMEM_WINDOW_H

#include <stdint.h>

#include "vu/fe_shmem.h"

struct uvh_shmem_window {
	struct vu_fe_shmem_mapper mapper; /* ctx points back here */
	uint8_t *base[VU_SHMEM_MAX_REGIONS];
	uint64_t size[VU_SHMEM_MAX_REGIONS];
	uint32_t nregions;
	uint64_t n_maps, n_map_failures;
	char last_error[160]; /* why the last refused map was refused ("" if none) */
};

/* Reserve sizes[i] bytes (rounded up to pages) for each shmid i < nregions
 * with a non-zero size. Returns 0 or a negative errno (nothing reserved). */
int uvh_shmem_window_init(struct uvh_shmem_window *w, const uint64_t *sizes, uint32_t nregions);

/* Release every reservation and mapping. */
void uvh_shmem_window_fini(struct uvh_shmem_window *w);

/* Start of region `shmid`, or NULL. */
void *uvh_shmem_window_base(const struct uvh_shmem_window *w, uint8_t shmid);

uint64_t uvh_page_size(void);

#endif
