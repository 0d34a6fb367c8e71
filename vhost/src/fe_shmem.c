/* SHMEM_MAP/UNMAP as a front-end sees them: checked in full before the
 * mapper is asked to do anything, and recorded only when it succeeded. */
#include "vu/fe_shmem.h"

#include <errno.h>
#include <string.h>

int vu_fe_shmem_init(struct vu_fe_shmem *s, const struct vu_fe_shmem_mapper *mapper,
		     const uint64_t *sizes, uint32_t nregions, uint64_t align)
{
	if (!mapper || !mapper->map || !mapper->unmap || nregions > VU_SHMEM_MAX_REGIONS ||
	    (nregions && !sizes) || (align & (align - 1)))
		return -EINVAL;
	memset(s, 0, sizeof(*s));
	s->mapper = mapper;
	s->align = align ? align : 1;
	for (uint32_t i = 0; i < nregions; i++)
		s->sizes[i] = sizes[i];
	s->why = "";
	return 0;
}

static int refuse(struct vu_fe_shmem *s, int err, const char *why)
{
	s->why = why;
	s->n_refused++;
	return err;
}

static bool overlaps(const struct vu_fe_shmem_map *m, uint8_t shmid, uint64_t off, uint64_t len)
{
	return m->used && m->shmid == shmid && off < m->shm_offset + m->len &&
	       m->shm_offset < off + len;
}

/* Checks common to MAP and UNMAP; the payload size was checked already. */
static int check_range(struct vu_fe_shmem *s, const struct vu_shmem_map_msg *p)
{
	uint64_t mask = s->align - 1;

	if (s->sizes[p->shmid] == 0)
		return refuse(s, -EINVAL, "shmid names no region");
	if (p->len == 0)
		return refuse(s, -EINVAL, "zero length");
	if (p->shm_offset > UINT64_MAX - p->len)
		return refuse(s, -ERANGE, "shm_offset + len wraps");
	if (p->shm_offset + p->len > s->sizes[p->shmid])
		return refuse(s, -ERANGE, "range beyond the region");
	if ((p->shm_offset | p->len) & mask)
		return refuse(s, -EINVAL, "shm_offset or len not aligned");
	return 0;
}

static int do_map(struct vu_fe_shmem *s, const struct vu_msg *req)
{
	const struct vu_shmem_map_msg *p = &req->p.shmem_map;
	struct vu_fe_shmem_map *slot = NULL;
	int rc;

	if (req->nfds != 1 || req->fds[0] < 0)
		return refuse(s, -EBADF, "SHMEM_MAP needs exactly one fd");
	rc = check_range(s, p);
	if (rc)
		return rc;
	if (p->flags & ~(uint64_t)VU_SHMEM_MAP_RW)
		return refuse(s, -EINVAL, "unknown flags");
	if (p->fd_offset > UINT64_MAX - p->len)
		return refuse(s, -ERANGE, "fd_offset + len wraps");
	if (p->fd_offset & (s->align - 1))
		return refuse(s, -EINVAL, "fd_offset not aligned");
	for (uint32_t i = 0; i < VU_FE_SHMEM_MAX_MAPS; i++) {
		if (overlaps(&s->maps[i], p->shmid, p->shm_offset, p->len))
			return refuse(s, -EEXIST, "overlaps an existing mapping");
		if (!slot && !s->maps[i].used)
			slot = &s->maps[i];
	}
	if (!slot)
		return refuse(s, -ENOSPC, "mapping table full");
	rc = s->mapper->map(s->mapper->ctx, p->shmid, p->shm_offset, p->len, req->fds[0],
			    p->fd_offset, (p->flags & VU_SHMEM_MAP_RW) != 0);
	if (rc)
		return refuse(s, rc < 0 ? rc : -EIO, "the mapper failed");
	*slot = (struct vu_fe_shmem_map){.shm_offset = p->shm_offset,
					 .len = p->len,
					 .shmid = p->shmid,
					 .used = true,
					 .rw = (p->flags & VU_SHMEM_MAP_RW) != 0};
	s->nmaps++;
	s->n_mapped++;
	return 0;
}

static int do_unmap(struct vu_fe_shmem *s, const struct vu_msg *req)
{
	const struct vu_shmem_map_msg *p = &req->p.shmem_map;
	struct vu_fe_shmem_map *found = NULL;
	int rc;

	if (req->nfds != 0)
		return refuse(s, -EBADF, "SHMEM_UNMAP takes no fd");
	rc = check_range(s, p);
	if (rc)
		return rc;
	for (uint32_t i = 0; i < VU_FE_SHMEM_MAX_MAPS; i++) {
		struct vu_fe_shmem_map *m = &s->maps[i];
		if (!overlaps(m, p->shmid, p->shm_offset, p->len))
			continue;
		if (m->shm_offset != p->shm_offset || m->len != p->len)
			return refuse(s, -EINVAL, "unmap is not exactly one whole mapping");
		found = m;
	}
	if (!found)
		return refuse(s, -ENOENT, "nothing mapped there");
	rc = s->mapper->unmap(s->mapper->ctx, p->shmid, p->shm_offset, p->len);
	if (rc)
		return refuse(s, rc < 0 ? rc : -EIO, "the mapper failed to unmap");
	found->used = false;
	s->nmaps--;
	s->n_unmapped++;
	return 0;
}

int vu_fe_shmem_handle(void *ctx, struct vu_msg *req)
{
	struct vu_fe_shmem *s = ctx;

	if (req->hdr.size != sizeof(struct vu_shmem_map_msg))
		return refuse(s, -EINVAL, "payload is not the 40-byte SHMEM struct");
	if (req->nfds > VU_MAX_FDS)
		return refuse(s, -EINVAL, "fd count beyond the transport limit");
	switch (req->hdr.request) {
	case VU_BREQ_SHMEM_MAP: return do_map(s, req);
	case VU_BREQ_SHMEM_UNMAP: return do_unmap(s, req);
	default: return refuse(s, -EOPNOTSUPP, "not a SHMEM request");
	}
}

void vu_fe_shmem_reset(struct vu_fe_shmem *s)
{
	if (s->mapper->reset)
		s->mapper->reset(s->mapper->ctx);
	else
		for (uint32_t i = 0; i < VU_FE_SHMEM_MAX_MAPS; i++)
			if (s->maps[i].used)
				s->mapper->unmap(s->mapper->ctx, s->maps[i].shmid,
						 s->maps[i].shm_offset, s->maps[i].len);
	memset(s->maps, 0, sizeof(s->maps));
	s->nmaps = 0;
}
