/* Shared memory regions of a front-end process: PROT_NONE reservations with
 * file mappings put in place by MAP_FIXED, and the reservation put back
 * (again MAP_FIXED, never munmap) when a mapping goes. */
#define _GNU_SOURCE
#include "uvh/shmem_window.h"

#include <stdio.h>

#include <errno.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "uvh/fd_bounds.h"

#define RESERVE_FLAGS (MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE)

uint64_t uvh_page_size(void)
{
	return (uint64_t)sysconf(_SC_PAGESIZE);
}

static uint64_t round_up_page(uint64_t v)
{
	uint64_t page = uvh_page_size();
	return (v + page - 1) & ~(page - 1);
}

/* Replace whatever is at [addr, addr+len) by the reservation, atomically. */
static int reserve_at(void *addr, uint64_t len)
{
	void *p = mmap(addr, len, PROT_NONE, RESERVE_FLAGS | MAP_FIXED, -1, 0);
	return p == MAP_FAILED ? -errno : 0;
}

static bool inside(const struct uvh_shmem_window *w, uint8_t shmid, uint64_t off, uint64_t len)
{
	return w->base[shmid] && len && off <= w->size[shmid] && len <= w->size[shmid] - off;
}

static int win_map(void *ctx, uint8_t shmid, uint64_t off, uint64_t len, int fd, uint64_t fd_offset,
		   bool rw)
{
	struct uvh_shmem_window *w = ctx;
	uint8_t *at;
	void *p;
	int rc;

	if (!inside(w, shmid, off, len))
		return -ERANGE;
	/* The back-end's fd must back the whole range: touching a mapping past
	 * the end of its file is SIGBUS in this process. */
	rc = uvh_fd_check_range(fd, fd_offset, len, w->last_error, sizeof(w->last_error));
	if (rc) {
		w->n_map_failures++;
		return rc;
	}
	at = w->base[shmid] + off;
	p = mmap(at, len, PROT_READ | (rw ? PROT_WRITE : 0), MAP_SHARED | MAP_FIXED, fd,
		 (off_t)fd_offset);
	if (p == MAP_FAILED) {
		rc = -errno;
		w->n_map_failures++;
		/* Linux may already have torn down the old range: reserve it again. */
		reserve_at(at, len);
		return rc;
	}
	w->n_maps++;
	return 0;
}

static int win_unmap(void *ctx, uint8_t shmid, uint64_t off, uint64_t len)
{
	struct uvh_shmem_window *w = ctx;

	if (!inside(w, shmid, off, len))
		return -ERANGE;
	return reserve_at(w->base[shmid] + off, len);
}

static void win_reset(void *ctx)
{
	struct uvh_shmem_window *w = ctx;

	for (uint32_t i = 0; i < w->nregions; i++)
		if (w->base[i])
			reserve_at(w->base[i], w->size[i]);
}

int uvh_shmem_window_init(struct uvh_shmem_window *w, const uint64_t *sizes, uint32_t nregions)
{
	if (nregions > VU_SHMEM_MAX_REGIONS)
		return -EINVAL;
	memset(w, 0, sizeof(*w));
	w->mapper.ctx = w;
	w->mapper.map = win_map;
	w->mapper.unmap = win_unmap;
	w->mapper.reset = win_reset;
	w->nregions = nregions;
	for (uint32_t i = 0; i < nregions; i++) {
		void *p;
		if (!sizes[i])
			continue;
		if (sizes[i] > UINT64_MAX - uvh_page_size()) {
			uvh_shmem_window_fini(w);
			return -EINVAL;
		}
		p = mmap(NULL, round_up_page(sizes[i]), PROT_NONE, RESERVE_FLAGS, -1, 0);
		if (p == MAP_FAILED) {
			int rc = -errno;
			uvh_shmem_window_fini(w);
			return rc;
		}
		w->base[i] = p;
		w->size[i] = round_up_page(sizes[i]);
	}
	return 0;
}

void uvh_shmem_window_fini(struct uvh_shmem_window *w)
{
	for (uint32_t i = 0; i < w->nregions; i++) {
		if (w->base[i])
			munmap(w->base[i], w->size[i]);
		w->base[i] = NULL;
		w->size[i] = 0;
	}
	w->nregions = 0;
}

void *uvh_shmem_window_base(const struct uvh_shmem_window *w, uint8_t shmid)
{
	return shmid < w->nregions ? w->base[shmid] : NULL;
}
