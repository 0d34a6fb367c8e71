/* Guest memory slots: a dense array of regions plus two indexes of slot
 * numbers, sorted by gpa and by uaddr.
 *
 * Dense slots keep clear and iteration trivial; sorted indexes make every
 * translation a binary search. Updates pay an O(n) memmove, which is cheap:
 * they happen a few times per boot, translation runs on every descriptor.
 * Regions are never empty, never overlap and never reach 2^64, so starts are
 * unique in each index and `start + size` can be computed without overflow.
 */
#include "vu/memtable.h"

#include <errno.h>
#include <stdbool.h>
#include <string.h>

_Static_assert(VU_MAX_MEM_SLOTS >= 1 && VU_MAX_MEM_SLOTS <= UINT16_MAX + 1,
	       "slot numbers are stored as uint16_t");

/* The two address spaces a region lives in; both are searched alike. */
enum space { GPA, UADDR };

static uint64_t start_in(const struct vu_region *r, enum space sp)
{
	return sp == GPA ? r->gpa : r->uaddr;
}

static const uint16_t *index_in(const struct vu_mem *mem, enum space sp)
{
	return sp == GPA ? mem->by_gpa : mem->by_uaddr;
}

static uint16_t *index_mut(struct vu_mem *mem, enum space sp)
{
	return sp == GPA ? mem->by_gpa : mem->by_uaddr;
}

/* How many of the first n index entries start at or below addr: the
 * insertion point for addr, and one past the only region that may hold it. */
static uint32_t rank(const struct vu_mem *mem, enum space sp, uint32_t n, uint64_t addr)
{
	const uint16_t *idx = index_in(mem, sp);
	uint32_t lo = 0, hi = n;

	while (lo < hi) {
		uint32_t mid = lo + (hi - lo) / 2;

		if (start_in(&mem->slot[idx[mid]], sp) <= addr)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

/* [addr, addr+len) inside r, for len >= 1. Written as differences from the
 * start so that no sum can wrap, whatever the guest passed. */
static bool covers(const struct vu_region *r, enum space sp, uint64_t addr, uint64_t len)
{
	uint64_t start = start_in(r, sp);

	return addr >= start && addr - start < r->size && len <= r->size - (addr - start);
}

/* The generation test only skips stale hints cheaply. What makes a hint
 * safe is that covers() reads the slot as it is now, so even a forged or
 * wrapped generation cannot yield a pointer into a removed region. */
static const struct vu_region *from_hint(const struct vu_mem *mem, const struct vu_mem_hint *hint,
					 enum space sp, uint64_t addr, uint64_t len)
{
	const struct vu_region *r;

	if (!hint || hint->generation != mem->generation || hint->slot >= mem->count)
		return NULL;
	r = &mem->slot[hint->slot];
	return covers(r, sp, addr, len) ? r : NULL;
}

static const struct vu_region *lookup(const struct vu_mem *mem, enum space sp, uint64_t addr,
				      uint64_t len, struct vu_mem_hint *hint)
{
	const struct vu_region *r;
	uint32_t pos;

	if (len == 0)
		len = 1;
	r = from_hint(mem, hint, sp, addr, len);
	if (r)
		return r;
	pos = rank(mem, sp, mem->count, addr);
	if (pos == 0)
		return NULL;
	r = &mem->slot[index_in(mem, sp)[pos - 1]];
	if (!covers(r, sp, addr, len))
		return NULL;
	if (hint) {
		hint->generation = mem->generation;
		hint->slot = (uint32_t)(r - mem->slot);
	}
	return r;
}

static void *to_host(const struct vu_mem *mem, enum space sp, uint64_t addr, uint64_t len,
		     struct vu_mem_hint *hint)
{
	const struct vu_region *r = lookup(mem, sp, addr, len, hint);

	return r ? r->host + (addr - start_in(r, sp)) : NULL;
}

/* An end of exactly 2^64 is refused too: it keeps every end representable. */
static bool span_ok(uint64_t start, uint64_t size)
{
	return size <= UINT64_MAX - start;
}

static int check_region(const struct vu_mem_region *r)
{
	if (r->size == 0)
		return -EINVAL;
	if (!span_ok(r->gpa, r->size) || !span_ok(r->uaddr, r->size) ||
	    !span_ok(r->mmap_offset, r->size))
		return -EINVAL;
	return 0;
}

/* The live regions are disjoint, so only the two neighbours of the
 * insertion point can overlap [start, start+size). */
static bool collides(const struct vu_mem *mem, enum space sp, uint64_t start, uint64_t size)
{
	const uint16_t *idx = index_in(mem, sp);
	uint32_t pos = rank(mem, sp, mem->count, start);
	const struct vu_region *r;

	if (pos > 0) {
		r = &mem->slot[idx[pos - 1]];
		if (start_in(r, sp) + r->size > start)
			return true;
	}
	if (pos < mem->count) {
		r = &mem->slot[idx[pos]];
		if (start_in(r, sp) < start + size)
			return true;
	}
	return false;
}

/* The slot holding r's gpa, uaddr and size (mmap_offset ignored), or -1. */
static int find_same(const struct vu_mem *mem, const struct vu_mem_region *r)
{
	uint32_t pos = rank(mem, GPA, mem->count, r->gpa);
	const struct vu_region *s;

	if (pos == 0)
		return -1;
	s = &mem->slot[mem->by_gpa[pos - 1]];
	if (s->gpa != r->gpa || s->uaddr != r->uaddr || s->size != r->size)
		return -1;
	return mem->by_gpa[pos - 1];
}

static int map_region(const struct vu_mem *mem, const struct vu_mem_region *r, int fd,
		      struct vu_region *out)
{
	const struct vu_platform *p = mem->plat;
	void *host = NULL, *cookie = NULL;
	int err = p->map(p->ctx, fd, r->mmap_offset, r->size, true, &host, &cookie);

	/* A positive return would read as "duplicate" to our callers. */
	if (err)
		return err < 0 ? err : -EIO;
	out->gpa = r->gpa;
	out->size = r->size;
	out->uaddr = r->uaddr;
	out->mmap_offset = r->mmap_offset;
	out->host = host;
	out->cookie = cookie;
	return 0;
}

static void unmap_regions(const struct vu_mem *mem, const struct vu_region *r, uint32_t n)
{
	const struct vu_platform *p = mem->plat;

	for (uint32_t i = 0; i < n; i++)
		p->unmap(p->ctx, r[i].cookie);
}

/* Slot s is filled in but not yet counted. */
static void index_insert(struct vu_mem *mem, enum space sp, uint32_t s)
{
	uint16_t *idx = index_mut(mem, sp);
	uint32_t pos = rank(mem, sp, mem->count, start_in(&mem->slot[s], sp));

	memmove(&idx[pos + 1], &idx[pos], (mem->count - pos) * sizeof(idx[0]));
	idx[pos] = (uint16_t)s;
}

/* Starts are unique, so slot s sits just below the rank of its own start. */
static uint32_t index_pos(const struct vu_mem *mem, enum space sp, uint32_t n, uint32_t s)
{
	return rank(mem, sp, n, start_in(&mem->slot[s], sp)) - 1;
}

static void index_remove(struct vu_mem *mem, enum space sp, uint32_t s)
{
	uint16_t *idx = index_mut(mem, sp);
	uint32_t pos = index_pos(mem, sp, mem->count, s);

	memmove(&idx[pos], &idx[pos + 1], (mem->count - pos - 1) * sizeof(idx[0]));
}

static void insert(struct vu_mem *mem, const struct vu_region *nr)
{
	uint32_t s = mem->count;

	mem->slot[s] = *nr;
	index_insert(mem, GPA, s);
	index_insert(mem, UADDR, s);
	mem->count++;
}

/* Keep slots dense: the last slot moves into the hole, and the one index
 * entry per space that named it is renamed. */
static void drop_slot(struct vu_mem *mem, uint32_t s)
{
	uint32_t last = mem->count - 1;

	index_remove(mem, GPA, s);
	index_remove(mem, UADDR, s);
	mem->count = last;
	if (s != last) {
		mem->slot[s] = mem->slot[last];
		mem->by_gpa[index_pos(mem, GPA, last, s)] = (uint16_t)s;
		mem->by_uaddr[index_pos(mem, UADDR, last, s)] = (uint16_t)s;
	}
	memset(&mem->slot[last], 0, sizeof(mem->slot[last]));
}

void vu_mem_init(struct vu_mem *mem, const struct vu_platform *plat, uint32_t max_slots)
{
	memset(mem, 0, sizeof(*mem));
	mem->plat = plat;
	if (max_slots == 0 || max_slots > VU_MAX_MEM_SLOTS)
		max_slots = VU_MAX_MEM_SLOTS;
	mem->max_slots = max_slots;
}

void vu_mem_clear(struct vu_mem *mem)
{
	unmap_regions(mem, mem->slot, mem->count);
	/* No stale cookie or host pointer may outlive its mapping. */
	memset(mem->slot, 0, mem->count * sizeof(mem->slot[0]));
	mem->count = 0;
	mem->generation++;
}

int vu_mem_add(struct vu_mem *mem, const struct vu_mem_region *r, int fd)
{
	struct vu_region nr;
	int err = check_region(r);

	if (err)
		return err;
	/* QEMU sends each ADD once per vhost_dev: a repeat must be harmless. */
	if (find_same(mem, r) >= 0)
		return 1;
	if (collides(mem, GPA, r->gpa, r->size) || collides(mem, UADDR, r->uaddr, r->size))
		return -EEXIST;
	if (mem->count >= mem->max_slots)
		return -ENOSPC;
	err = map_region(mem, r, fd, &nr);
	if (err)
		return err;
	insert(mem, &nr);
	mem->generation++;
	return 0;
}

int vu_mem_remove(struct vu_mem *mem, const struct vu_mem_region *r)
{
	int s = find_same(mem, r);

	if (s < 0)
		return -ENOENT;
	unmap_regions(mem, &mem->slot[s], 1);
	drop_slot(mem, (uint32_t)s);
	mem->generation++;
	return 0;
}

static bool disjoint(uint64_t a, uint64_t b, uint64_t size_a, uint64_t size_b)
{
	return a + size_a <= b || b + size_b <= a;
}

/* At most 8 regions: pairwise checks cost nothing. Each region is checked
 * before it is compared, so disjoint() cannot overflow. An exact duplicate
 * inside one SET is an overlap too; only ADD has a reason to repeat. */
static int check_table(const struct vu_mem_region *r, uint32_t n)
{
	for (uint32_t i = 0; i < n; i++) {
		int err = check_region(&r[i]);

		if (err)
			return err;
		for (uint32_t j = 0; j < i; j++) {
			if (!disjoint(r[i].gpa, r[j].gpa, r[i].size, r[j].size) ||
			    !disjoint(r[i].uaddr, r[j].uaddr, r[i].size, r[j].size))
				return -EINVAL;
		}
	}
	return 0;
}

static int map_table(const struct vu_mem *mem, const struct vu_mem_region *r, uint32_t n,
		     const int *fds, struct vu_region *fresh)
{
	for (uint32_t i = 0; i < n; i++) {
		int err = map_region(mem, &r[i], fds[i], &fresh[i]);

		if (err) {
			unmap_regions(mem, fresh, i);
			return err;
		}
	}
	return 0;
}

int vu_mem_set_table(struct vu_mem *mem, const struct vu_mem_region *r, uint32_t n, const int *fds)
{
	struct vu_region fresh[VU_MEM_TABLE_MAX_REGIONS];
	int err;

	if (n > VU_MEM_TABLE_MAX_REGIONS || (n && (!r || !fds)))
		return -EINVAL;
	if (n > mem->max_slots)
		return -ENOSPC;
	err = check_table(r, n);
	if (err)
		return err;
	/* Map everything new before dropping anything old, so that a failure
	 * leaves the front-end's previous view fully working. */
	err = map_table(mem, r, n, fds, fresh);
	if (err)
		return err;
	/* clear() bumps the generation: one bump for the whole swap. */
	vu_mem_clear(mem);
	for (uint32_t i = 0; i < n; i++)
		insert(mem, &fresh[i]);
	return 0;
}

void *vu_mem_gpa_to_host(const struct vu_mem *mem, uint64_t gpa, uint64_t len,
			 struct vu_mem_hint *hint)
{
	return to_host(mem, GPA, gpa, len, hint);
}

void *vu_mem_uaddr_to_host(const struct vu_mem *mem, uint64_t uaddr, uint64_t len,
			   struct vu_mem_hint *hint)
{
	return to_host(mem, UADDR, uaddr, len, hint);
}

/* Each piece starts where the previous region ended, so a hole between
 * regions shows up as a failed lookup: contiguity needs no test of its own.
 * Entries are written past *n as we go, but *n moves only on success. */
int vu_mem_gpa_to_iov(const struct vu_mem *mem, uint64_t gpa, uint64_t len, struct vu_iov *iov,
		      uint32_t *n, uint32_t max, struct vu_mem_hint *hint)
{
	uint32_t k = *n;

	if (len == 0)
		return 0;
	if (len > UINT64_MAX - gpa)
		return -EFAULT;
	while (len) {
		const struct vu_region *r = lookup(mem, GPA, gpa, 1, hint);
		uint64_t off, piece;

		if (!r)
			return -EFAULT;
		if (k >= max)
			return -ENOBUFS;
		off = gpa - r->gpa;
		piece = r->size - off < len ? r->size - off : len;
		iov[k].base = r->host + off;
		iov[k].len = (size_t)piece;
		k++;
		gpa += piece;
		len -= piece;
	}
	*n = k;
	return 0;
}
