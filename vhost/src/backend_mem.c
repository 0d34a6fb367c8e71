/* Memory messages: SET_MEM_TABLE, GET_MAX_MEM_SLOTS, ADD_MEM_REG, REM_MEM_REG.
 * The table logic is in memtable.c; this file checks the envelope-specific
 * rules (fds, or windows on the fd-less transport) and tells the rings that
 * memory moved. */
#include <errno.h>

#include "backend_internal.h"

/* fd-less: a front-end that did not agree to window addressing would have
 * its offsets read wrongly, so nothing is mapped and the connection ends. */
static int need_window_addr(struct vu_backend *b, const char *what)
{
	if (b->plat->has_fds || (b->pfeatures & VU_BIT(VU_PF_WINDOW_ADDR)))
		return 0;
	vu_logf(b, VU_LOG_ERR, "%s: memory message without WINDOW_ADDR on an fd-less transport",
		what);
	b->close_after_reply = true;
	return -EPROTO;
}

/* The window bounds of one region, checked here once for every platform;
 * the platform's map() re-checks. */
static int window_check(struct vu_backend *b, const struct vu_mem_region *r, const char *what)
{
	uint32_t win = VU_WINDOW_INDEX(r->mmap_offset);
	uint64_t off = VU_WINDOW_OFFSET(r->mmap_offset), wsize;

	if (b->plat->has_fds)
		return 0;
	if (!b->plat->window_size || b->plat->window_size(b->plat->ctx, win, &wsize) < 0) {
		vu_logf(b, VU_LOG_ERR, "%s gpa=0x%llx: window %u does not exist", what,
			(unsigned long long)r->gpa, win);
		return -ENOENT;
	}
	if (r->size == 0 || off > wsize || r->size > wsize - off) {
		vu_logf(b, VU_LOG_ERR,
			"%s gpa=0x%llx: window %u offset 0x%llx size 0x%llx outside its 0x%llx "
			"bytes",
			what, (unsigned long long)r->gpa, win, (unsigned long long)off,
			(unsigned long long)r->size, (unsigned long long)wsize);
		return -ERANGE;
	}
	return 0;
}

/* No request may still move data through a mapping that is about to go. */
static void vu_device_quiesce(struct vu_backend *b)
{
	if (b->dev->ops->quiesce)
		b->dev->ops->quiesce(b->dev_ctx, b);
}

int vu_h_set_mem_table(struct vu_backend *b, struct vu_msg *msg)
{
	const struct vu_mem_table_msg *t = &msg->p.mem_table;
	uint32_t n = t->nregions;
	int rc;

	if (n > VU_MEM_TABLE_MAX_REGIONS) {
		vu_logf(b, VU_LOG_ERR, "SET_MEM_TABLE: nregions %u exceeds %u", n,
			VU_MEM_TABLE_MAX_REGIONS);
		return -EINVAL;
	}
	if (msg->hdr.size != 8 + n * sizeof(struct vu_mem_region)) {
		vu_logf(b, VU_LOG_ERR, "SET_MEM_TABLE: size %u does not fit nregions %u",
			msg->hdr.size, n);
		return -EINVAL;
	}
	if (b->plat->has_fds && msg->nfds != n) {
		vu_logf(b, VU_LOG_ERR, "SET_MEM_TABLE: %u fds for %u regions", msg->nfds, n);
		return -EINVAL;
	}
	rc = need_window_addr(b, "SET_MEM_TABLE");
	/* All or nothing: one bad region refuses the whole table. */
	for (uint32_t i = 0; rc == 0 && i < n; i++)
		rc = window_check(b, &t->regions[i], "SET_MEM_TABLE");
	if (rc)
		return rc;
	vu_device_quiesce(b);
	rc = vu_mem_set_table(&b->mem, t->regions, n, msg->fds);
	if (rc) {
		vu_logf(b, VU_LOG_ERR, "SET_MEM_TABLE: refused (%d); old table kept", rc);
		return rc;
	}
	for (uint32_t i = 0; i < n; i++)
		vu_logf(b, VU_LOG_INFO, "mapped region gpa=0x%llx size=0x%llx (table of %u)",
			(unsigned long long)t->regions[i].gpa,
			(unsigned long long)t->regions[i].size, n);
	vu_rings_memory_changed(b);
	return 0;
}

int vu_h_get_max_mem_slots(struct vu_backend *b, struct vu_msg *msg)
{
	return vu_reply_u64(b, msg, b->mem.max_slots);
}

int vu_h_add_mem_reg(struct vu_backend *b, struct vu_msg *msg)
{
	const struct vu_mem_region *r = &msg->p.mem_single.region;
	int rc = need_window_addr(b, "ADD_MEM_REG");

	if (rc == 0)
		rc = window_check(b, r, "ADD_MEM_REG");
	if (rc)
		return rc;
	rc = vu_mem_add(&b->mem, r, msg->fds[0]);
	if (rc == 1) {
		vu_logf(b, VU_LOG_INFO, "ADD_MEM_REG gpa=0x%llx: exact duplicate, accepted",
			(unsigned long long)r->gpa);
		return 0;
	}
	if (rc < 0) {
		vu_logf(b, VU_LOG_ERR, "ADD_MEM_REG gpa=0x%llx size=0x%llx refused (%d)",
			(unsigned long long)r->gpa, (unsigned long long)r->size, rc);
		return rc;
	}
	vu_logf(b, VU_LOG_INFO, "mapped region gpa=0x%llx size=0x%llx (%u slots in use)",
		(unsigned long long)r->gpa, (unsigned long long)r->size, b->mem.count);
	vu_rings_memory_changed(b);
	return 0;
}

int vu_h_rem_mem_reg(struct vu_backend *b, struct vu_msg *msg)
{
	const struct vu_mem_region *r = &msg->p.mem_single.region;
	int rc;

	vu_device_quiesce(b);
	rc = vu_mem_remove(&b->mem, r);

	if (rc < 0) {
		vu_logf(b, VU_LOG_ERR, "REM_MEM_REG gpa=0x%llx size=0x%llx: no such region",
			(unsigned long long)r->gpa, (unsigned long long)r->size);
		return rc;
	}
	vu_logf(b, VU_LOG_INFO, "unmapped region gpa=0x%llx size=0x%llx (%u slots in use)",
		(unsigned long long)r->gpa, (unsigned long long)r->size, b->mem.count);
	vu_rings_memory_changed(b);
	return 0;
}
