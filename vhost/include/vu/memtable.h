/* vu/memtable.h - the guest memory slot table.
 *
 * Owns: a static array of VU_MAX_MEM_SLOTS regions, their mappings, and two
 * sorted indexes (by gpa and by uaddr) that give O(log n) translation.
 * Never: allocates memory, or trusts a range: every translation checks that
 * [addr, addr+len) lies fully inside mapped memory, without wrapping.
 * Used by: the message handlers (ADD/REM_MEM_REG, SET_MEM_TABLE) and the
 * virtqueue walker. Mapping and unmapping go through struct vu_platform.
 *
 * Rules (see shared/design/PROTOCOL-NOTES.md):
 * - An exact duplicate ADD (same gpa, size, uaddr) is accepted and changes
 *   nothing; any other overlap in gpa or uaddr is refused.
 * - REM matches on gpa + uaddr + size; mmap_offset is ignored.
 * - SET_MEM_TABLE replaces the whole table, whatever built it.
 * - Every change bumps `generation`, so cached ring pointers know to
 *   re-translate.
 */
#ifndef VU_MEMTABLE_H
#define VU_MEMTABLE_H

#include <stddef.h>
#include <stdint.h>

#include "vu/platform.h"
#include "vu/wire.h"

#ifndef VU_MAX_MEM_SLOTS
#define VU_MAX_MEM_SLOTS 509
#endif

struct vu_iov {
	void *base;
	size_t len;
};

struct vu_region {
	uint64_t gpa;
	uint64_t size;
	uint64_t uaddr;
	uint64_t mmap_offset;
	uint8_t *host; /* host address of gpa */
	void *cookie;  /* from platform->map, for unmap */
};

struct vu_mem {
	const struct vu_platform *plat;
	uint32_t count;
	uint64_t generation; /* 64-bit: a hostile front-end cannot cycle it back */
	uint32_t max_slots;  /* <= VU_MAX_MEM_SLOTS; what GET_MAX_MEM_SLOTS says */
	/* Dense: slots [0, count) are live. Indexes hold slot numbers sorted by
	 * gpa and by uaddr. */
	struct vu_region slot[VU_MAX_MEM_SLOTS];
	uint16_t by_gpa[VU_MAX_MEM_SLOTS];
	uint16_t by_uaddr[VU_MAX_MEM_SLOTS];
};

/* A per-user cache of the last region hit; reset when generation changes. */
struct vu_mem_hint {
	uint64_t generation; /* 64-bit: a hostile front-end cannot cycle it back */
	uint32_t slot;
};

/* Start empty. Does not unmap: call vu_mem_clear() on a live table first. */
void vu_mem_init(struct vu_mem *mem, const struct vu_platform *plat, uint32_t max_slots);

/* Unmap every region. The table is empty afterwards. */
void vu_mem_clear(struct vu_mem *mem);

/* Map `fd` and insert. The fd stays owned by the caller (close it after).
 * Returns 0 on insert, 1 on an exact duplicate (nothing mapped),
 * -EINVAL for size 0 or ranges that wrap or end exactly at 2^64, -EEXIST on
 * overlap, -ENOSPC when
 * full, or the platform's map error. */
int vu_mem_add(struct vu_mem *mem, const struct vu_mem_region *r, int fd);

/* Unmap and remove the region matching gpa + uaddr + size. -ENOENT if none. */
int vu_mem_remove(struct vu_mem *mem, const struct vu_mem_region *r);

/* Replace the whole table. Validates all regions (count, no overlap among
 * them) before touching the current table; on error the old table stays.
 * -EINVAL for more than 8 regions or overlaps among them, -ENOSPC for more
 * than max_slots. */
int vu_mem_set_table(struct vu_mem *mem, const struct vu_mem_region *r, uint32_t n, const int *fds);

/* Host pointer for [gpa, gpa+len) if it lies inside one region, else NULL.
 * len 0 is treated as 1. `hint` may be NULL. */
void *vu_mem_gpa_to_host(const struct vu_mem *mem, uint64_t gpa, uint64_t len,
			 struct vu_mem_hint *hint);

/* Same, for front-end user addresses (ring addresses from SET_VRING_ADDR). */
void *vu_mem_uaddr_to_host(const struct vu_mem *mem, uint64_t uaddr, uint64_t len,
			   struct vu_mem_hint *hint);

/* Split [gpa, gpa+len) into host iovecs, one per region it crosses; the
 * regions must be contiguous in gpa. Appends at iov[*n], up to `max` in all.
 * Returns 0, -EFAULT if any byte is unmapped or the range wraps, -ENOBUFS if
 * more than `max` iovecs would be needed. */
int vu_mem_gpa_to_iov(const struct vu_mem *mem, uint64_t gpa, uint64_t len, struct vu_iov *iov,
		      uint32_t *n, uint32_t max, struct vu_mem_hint *hint);

#endif
