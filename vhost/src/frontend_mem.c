/* frontend_mem.c - the shadow-table diff (see vu_fe_mem_diff in vu/frontend.h).
 *
 * As in QEMU's vhost_user_add_remove_regions: a region is "the same" when
 * gpa, uaddr and size match (REM_MEM_REG identifies regions that way too);
 * every other shadow entry is removed and every other wanted one added.
 * Removals go first so the back-end never holds more regions than the
 * larger of the old and new tables, and never sees a transient overlap
 * between a region on its way out and its replacement.
 */
#include "vu/frontend.h"

#include <errno.h>

static bool fe_same(const struct vu_fe_region *a, const struct vu_fe_region *b)
{
	return a->gpa == b->gpa && a->uaddr == b->uaddr && a->size == b->size;
}

/* [a, a+alen) and [b, b+blen), both known not to wrap. */
static bool fe_overlap(uint64_t a, uint64_t alen, uint64_t b, uint64_t blen)
{
	return a < b + blen && b < a + alen;
}

static int fe_check_want(const struct vu_fe_region *want, uint32_t nwant)
{
	for (uint32_t i = 0; i < nwant; i++) {
		const struct vu_fe_region *w = &want[i];
		if (w->size == 0 || w->gpa + w->size < w->gpa || w->uaddr + w->size < w->uaddr)
			return -EINVAL;
		for (uint32_t j = 0; j < i; j++) {
			if (fe_overlap(w->gpa, w->size, want[j].gpa, want[j].size) ||
			    fe_overlap(w->uaddr, w->size, want[j].uaddr, want[j].size))
				return -EINVAL;
		}
	}
	return 0;
}

static bool fe_contains(const struct vu_fe_region *set, uint32_t n, const struct vu_fe_region *r)
{
	for (uint32_t i = 0; i < n; i++) {
		if (fe_same(&set[i], r))
			return true;
	}
	return false;
}

int vu_fe_mem_diff(const struct vu_fe_region *shadow, uint32_t nshadow,
		   const struct vu_fe_region *want, uint32_t nwant, uint32_t max_slots,
		   struct vu_fe_mem_op *ops, uint32_t max_ops, uint32_t *nops)
{
	uint32_t n = 0;
	int rc;

	*nops = 0;
	if (nwant > VU_FE_MAX_REGIONS)
		return -ENOSPC;
	rc = fe_check_want(want, nwant);
	if (rc)
		return rc;
	if (nwant > max_slots)
		return -ENOSPC;
	for (uint32_t i = 0; i < nshadow; i++) {
		if (fe_contains(want, nwant, &shadow[i]))
			continue;
		if (n == max_ops)
			return -E2BIG;
		ops[n++] = (struct vu_fe_mem_op){VU_FE_MEM_REM, i};
	}
	for (uint32_t i = 0; i < nwant; i++) {
		if (fe_contains(shadow, nshadow, &want[i]))
			continue;
		if (n == max_ops)
			return -E2BIG;
		ops[n++] = (struct vu_fe_mem_op){VU_FE_MEM_ADD, i};
	}
	*nops = n;
	return 0;
}
