/* A disk's bounce pool (see vdisk_bounce.h). */
#include "vdisk_bounce.h"

#include <errno.h>
#include <string.h>

uint64_t uvm_bounce_bytes(uint16_t nslots)
{
	return (uint64_t)nslots * (UVM_BOUNCE_SLOT_BYTES + sizeof(struct uvm_bounce_slot));
}

int uvm_bounce_init(struct uvm_bounce *b, void *ram, uint16_t nslots)
{
	if (!ram || nslots == 0 || nslots > UVM_BOUNCE_SLOTS_MAX)
		return -EINVAL;
	b->mem = ram;
	/* The records after the data: the data stays slot-aligned. */
	b->slot = (struct uvm_bounce_slot *)(b->mem + (uint64_t)nslots * UVM_BOUNCE_SLOT_BYTES);
	b->nslots = b->nfree = nslots;
	for (uint16_t i = 0; i < nslots; i++)
		b->free[i] = (uint16_t)(nslots - 1 - i);
	b->bytes = 0;
	return 0;
}

static uint8_t *slot_mem(const struct uvm_bounce *b, int slot)
{
	return b->mem + (uint64_t)slot * UVM_BOUNCE_SLOT_BYTES;
}

int uvm_bounce_get(struct uvm_bounce *b, const struct k_vblk_seg *seg, uint32_t n, uint64_t len,
		   bool read, uint64_t *dev)
{
	struct uvm_bounce_slot *s;
	uint64_t sum = 0;
	uint8_t *p;
	int slot;

	if (len == 0 || len > UVM_BOUNCE_SLOT_BYTES || n == 0 || n > VU_CHAIN_MAX_IOV)
		return -EINVAL;
	for (uint32_t i = 0; i < n; i++)
		sum += seg[i].len;
	if (sum != len)
		return -EINVAL;
	if (b->nfree == 0)
		return -EAGAIN;
	slot = b->free[--b->nfree];
	s = &b->slot[slot];
	p = slot_mem(b, slot);
	memcpy(s->seg, seg, n * sizeof(*seg));
	s->nseg = n;
	s->read = read;
	if (!read) {
		for (uint32_t i = 0; i < n; i++) {
			memcpy(p, (const void *)(uintptr_t)seg[i].addr, seg[i].len);
			p += seg[i].len;
		}
		b->bytes += len;
	}
	*dev = (uint64_t)(uintptr_t)slot_mem(b, slot);
	return slot;
}

void uvm_bounce_put(struct uvm_bounce *b, int slot, int result)
{
	struct uvm_bounce_slot *s;
	const uint8_t *p;

	if (slot < 0 || slot >= b->nslots)
		return;
	s = &b->slot[slot];
	if (s->nseg == 0)
		return; /* not in use: never freed twice */
	p = slot_mem(b, slot);
	if (s->read && result == 0)
		for (uint32_t i = 0; i < s->nseg; i++) {
			memcpy((void *)(uintptr_t)s->seg[i].addr, p, s->seg[i].len);
			p += s->seg[i].len;
			b->bytes += s->seg[i].len;
		}
	s->nseg = 0;
	b->free[b->nfree++] = (uint16_t)slot;
}
