/* PCI ECAM enumeration of the root bus, BAR sizing and assignment. Firmware
 * (none, with -kernel) assigns nothing, so we do what a BIOS would. */
#include "kern/pci.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "kern/hw_arch.h"
#include "kern/log.h"
#include "kern/pci_alloc.h"

#define PCI_VENDOR 0x00
#define PCI_COMMAND 0x04
#define PCI_CLASS_REV 0x08
#define PCI_HEADER_TYPE 0x0e
#define PCI_STATUS 0x06
#define PCI_STATUS_CAP_LIST 0x10u
#define PCI_CAP_PTR 0x34
#define PCI_INTERRUPT_PIN 0x3d
#define PCI_CMD_INTX_DISABLE 0x400u
#define PCI_CAP_ID_MSI 0x05
#define PCI_CAP_ID_MSIX 0x11
#define PCI_MSI_ENABLE 0x0001u
#define PCI_MSIX_ENABLE 0x8000u
#define PCI_CAP_MAX 48 /* bounds the walk even on a looping list */
#define PCI_BAR0 0x10
#define PCI_CMD_IO 0x1u
#define PCI_CMD_MEM 0x2u
#define PCI_CMD_MASTER 0x4u
#define PCI_BAR_IO 0x1u
#define PCI_BAR_TYPE_64 0x4u
#define PCI_BAR_PREFETCH 0x8u
#define ECAM_FUNC_BYTES 4096u

static struct k_pci_func k_pci_funcs[K_PCI_MAX_FUNCS];
static unsigned k_pci_nfuncs;

unsigned k_pci_count(void)
{
	return k_pci_nfuncs;
}

const struct k_pci_func *k_pci_get(unsigned i)
{
	return i < k_pci_nfuncs ? &k_pci_funcs[i] : NULL;
}

static bool cfg_ok(uint32_t off, uint32_t width)
{
	return off % width == 0 && off + width <= ECAM_FUNC_BYTES;
}

uint8_t k_pci_cfg_r8(const struct k_pci_func *p, uint32_t off)
{
	return cfg_ok(off, 1) ? k_mmio_r8(p->cfg + off) : 0xff;
}

uint16_t k_pci_cfg_r16(const struct k_pci_func *p, uint32_t off)
{
	return cfg_ok(off, 2) ? k_mmio_r16(p->cfg + off) : 0xffff;
}

uint32_t k_pci_cfg_r32(const struct k_pci_func *p, uint32_t off)
{
	return cfg_ok(off, 4) ? k_mmio_r32(p->cfg + off) : 0xffffffffu;
}

void k_pci_cfg_w16(const struct k_pci_func *p, uint32_t off, uint16_t v)
{
	if (cfg_ok(off, 2))
		k_mmio_w16(p->cfg + off, v);
}

void k_pci_cfg_w32(const struct k_pci_func *p, uint32_t off, uint32_t v)
{
	if (cfg_ok(off, 4))
		k_mmio_w32(p->cfg + off, v);
}

/* Size the BARs with decode off (a BAR briefly reads all ones). */
static void size_bars(struct k_pci_func *p)
{
	unsigned nbars = (p->hdr_type & 0x7f) == 0 ? 6 : (p->hdr_type & 0x7f) == 1 ? 2 : 0;
	uint16_t cmd = k_pci_cfg_r16(p, PCI_COMMAND);

	k_pci_cfg_w16(p, PCI_COMMAND, cmd & (uint16_t) ~(PCI_CMD_IO | PCI_CMD_MEM));
	for (unsigned i = 0; i < nbars; i++) {
		uint32_t off = PCI_BAR0 + 4 * i;
		uint32_t orig = k_pci_cfg_r32(p, off), lo;
		struct k_pci_bar *b = &p->bar[i];
		uint64_t mask;

		k_pci_cfg_w32(p, off, 0xffffffffu);
		lo = k_pci_cfg_r32(p, off);
		k_pci_cfg_w32(p, off, orig);
		if (orig & PCI_BAR_IO) {
			mask = lo & ~3u;
			b->flags = K_PCI_BAR_IO;
		} else {
			b->flags = K_PCI_BAR_MEM;
			if (orig & PCI_BAR_PREFETCH)
				b->flags |= K_PCI_BAR_PREFETCH;
			mask = lo & ~0xfu;
			if ((orig & 6u) == PCI_BAR_TYPE_64 && i + 1 < nbars) {
				uint32_t orig_hi = k_pci_cfg_r32(p, off + 4);
				k_pci_cfg_w32(p, off + 4, 0xffffffffu);
				mask |= (uint64_t)k_pci_cfg_r32(p, off + 4) << 32;
				k_pci_cfg_w32(p, off + 4, orig_hi);
				b->flags |= K_PCI_BAR_64;
			}
		}
		/* The lowest writable address bit is the size; a device that
		 * reports nonsense still yields a power of two. */
		b->size = mask & (~mask + 1);
		if (b->size == 0)
			b->flags &= K_PCI_BAR_64; /* unimplemented, but skip its pair */
		if (b->flags & K_PCI_BAR_64)
			i++; /* the upper half */
		if (b->size == 0)
			b->flags = 0;
	}
	k_pci_cfg_w16(p, PCI_COMMAND, cmd);
}

struct bar_ref {
	struct k_pci_func *p;
	unsigned i;
};

static int assign_one(struct k_pci_func *p, unsigned i, struct k_pci_window *w32,
		      struct k_pci_window *w64)
{
	struct k_pci_bar *b = &p->bar[i];
	struct k_pci_window *w = NULL;
	uint64_t addr;
	int r = -ENOSPC;

	/* 64-bit BARs prefer the high window, keeping the 32-bit one for
	 * devices that cannot go above 4 GiB. */
	if ((b->flags & K_PCI_BAR_64) && w64->size) {
		r = k_pci_window_alloc(w64, b->size, 0, &addr);
		w = w64;
	}
	if (r && w32->size) {
		r = k_pci_window_alloc(w32, b->size, 1ull << 32, &addr);
		w = w32;
	}
	if (r)
		return r;
	b->pci_addr = addr;
	b->cpu_addr = k_pci_window_cpu(w, addr);
	k_pci_cfg_w32(p, PCI_BAR0 + 4 * i, (uint32_t)addr);
	if (b->flags & K_PCI_BAR_64)
		k_pci_cfg_w32(p, PCI_BAR0 + 4 * i + 4, (uint32_t)(addr >> 32));
	b->flags |= K_PCI_BAR_ASSIGNED;
	return 0;
}

/* Largest BARs first: with natural alignment that packs the windows. */
static void assign_bars(const struct k_pci_host *h)
{
	static struct bar_ref refs[K_PCI_MAX_FUNCS * K_PCI_BARS];
	struct k_pci_window w32 = {0}, w64 = {0};
	unsigned n = 0;

	if (h->mem32.present)
		k_pci_window_init(&w32, h->mem32.pci_base, h->mem32.cpu_base, h->mem32.size);
	if (h->mem64.present)
		k_pci_window_init(&w64, h->mem64.pci_base, h->mem64.cpu_base, h->mem64.size);
	for (unsigned f = 0; f < k_pci_nfuncs; f++)
		for (unsigned i = 0; i < K_PCI_BARS; i++)
			if (k_pci_funcs[f].bar[i].flags & K_PCI_BAR_MEM)
				refs[n++] = (struct bar_ref){&k_pci_funcs[f], i};
	for (unsigned a = 1; a < n; a++) {
		struct bar_ref t = refs[a];
		unsigned b = a;
		for (; b > 0 && refs[b - 1].p->bar[refs[b - 1].i].size < t.p->bar[t.i].size; b--)
			refs[b] = refs[b - 1];
		refs[b] = t;
	}
	for (unsigned a = 0; a < n; a++) {
		struct k_pci_func *p = refs[a].p;
		int r = assign_one(p, refs[a].i, &w32, &w64);
		if (r)
			k_err("pci %02x:%02x.%x BAR%u (%lu bytes): no room (%d)", p->bus, p->dev,
			      p->fn, refs[a].i, (unsigned long)p->bar[refs[a].i].size, r);
	}
}

static void enable(struct k_pci_func *p)
{
	uint16_t cmd = k_pci_cfg_r16(p, PCI_COMMAND);
	bool any = false;

	for (unsigned i = 0; i < K_PCI_BARS; i++)
		any |= (p->bar[i].flags & K_PCI_BAR_ASSIGNED) != 0;
	if (any)
		cmd |= PCI_CMD_MEM;
	k_pci_cfg_w16(p, PCI_COMMAND, cmd | PCI_CMD_MASTER);
}

static void log_func(const struct k_pci_func *p)
{
	char bars[160];
	size_t n = 0;

	bars[0] = '\0';
	for (unsigned i = 0; i < K_PCI_BARS && n < sizeof(bars) - 48; i++) {
		const struct k_pci_bar *b = &p->bar[i];
		int w;
		if (!b->flags)
			continue;
		if (b->flags & K_PCI_BAR_ASSIGNED)
			w = snprintf(bars + n, sizeof(bars) - n, " BAR%u=%#lx+%#lx%s%s", i,
				     (unsigned long)b->cpu_addr, (unsigned long)b->size,
				     b->flags & K_PCI_BAR_64 ? "/64" : "",
				     b->flags & K_PCI_BAR_PREFETCH ? "/pf" : "");
		else
			w = snprintf(bars + n, sizeof(bars) - n, " BAR%u=%s+%#lx-unassigned", i,
				     b->flags & K_PCI_BAR_IO ? "io" : "mem",
				     (unsigned long)b->size);
		if (w > 0)
			n += (size_t)w;
	}
	k_info("pci %02x:%02x.%x %04x:%04x class %06x%s%s", p->bus, p->dev, p->fn, p->vendor,
	       p->device, (unsigned)p->class_code, (p->hdr_type & 0x7f) == 1 ? " bridge" : "",
	       bars);
}

static void probe(const struct k_pci_host *h, uint32_t bus, unsigned dev, unsigned fn)
{
	uintptr_t cfg = (uintptr_t)(h->ecam_base + ((uint64_t)(bus - h->bus_start) << 20) +
				    ((uint64_t)dev << 15) + ((uint64_t)fn << 12));
	struct k_pci_func *p;
	uint32_t id = k_mmio_r32(cfg + PCI_VENDOR);

	if ((id & 0xffff) == 0xffff || (id & 0xffff) == 0)
		return;
	if (k_pci_nfuncs == K_PCI_MAX_FUNCS) {
		k_warn("pci %02x:%02x.%x ignored: table full (%d)", (unsigned)bus, dev, fn,
		       K_PCI_MAX_FUNCS);
		return;
	}
	p = &k_pci_funcs[k_pci_nfuncs++];
	memset(p, 0, sizeof(*p));
	p->cfg = cfg;
	p->bus = (uint8_t)bus;
	p->dev = (uint8_t)dev;
	p->fn = (uint8_t)fn;
	p->vendor = (uint16_t)id;
	p->device = (uint16_t)(id >> 16);
	p->class_code = k_pci_cfg_r32(p, PCI_CLASS_REV) >> 8;
	p->hdr_type = k_pci_cfg_r8(p, PCI_HEADER_TYPE);
	size_bars(p);
}

int k_pci_init(const struct k_pci_host *h)
{
	uint32_t bus = h->bus_start;
	int r;

	k_pci_nfuncs = 0;
	/* Only the root bus: its config space is all we map. */
	r = k_mmu_map(h->ecam_base, 1ull << 20, K_MEM_DEVICE);
	if (r)
		return r;
	for (unsigned dev = 0; dev < 32; dev++) {
		uintptr_t cfg0 = (uintptr_t)(h->ecam_base + ((uint64_t)dev << 15));
		unsigned nfn = (k_mmio_r8(cfg0 + PCI_HEADER_TYPE) & 0x80) ? 8 : 1;
		if ((k_mmio_r32(cfg0 + PCI_VENDOR) & 0xffff) == 0xffff)
			continue;
		for (unsigned fn = 0; fn < nfn; fn++)
			probe(h, bus, dev, fn);
	}
	assign_bars(h);
	for (unsigned i = 0; i < k_pci_nfuncs; i++) {
		enable(&k_pci_funcs[i]);
		log_func(&k_pci_funcs[i]);
	}
	return (int)k_pci_nfuncs;
}

uint8_t k_pci_intx_pin(const struct k_pci_func *p)
{
	uint8_t pin = k_pci_cfg_r8(p, PCI_INTERRUPT_PIN);

	return pin >= 1 && pin <= 4 ? pin : 0;
}

uint32_t k_pci_find_cap(const struct k_pci_func *p, uint8_t cap_id)
{
	uint32_t pos;

	if (!(k_pci_cfg_r16(p, PCI_STATUS) & PCI_STATUS_CAP_LIST))
		return 0;
	pos = k_pci_cfg_r8(p, PCI_CAP_PTR) & 0xfcu;
	for (int n = 0; pos >= 0x40 && n < PCI_CAP_MAX; n++) {
		if (k_pci_cfg_r8(p, pos) == cap_id)
			return pos;
		pos = k_pci_cfg_r8(p, pos + 1) & 0xfcu;
	}
	return 0;
}

/* Clear the enable bit of every MSI and MSI-X capability: while one is set
 * the function never raises INTx. */
static void msi_off(const struct k_pci_func *p)
{
	uint32_t pos;

	if (!(k_pci_cfg_r16(p, PCI_STATUS) & PCI_STATUS_CAP_LIST))
		return;
	pos = k_pci_cfg_r8(p, PCI_CAP_PTR) & 0xfcu;
	for (int n = 0; pos >= 0x40 && n < PCI_CAP_MAX; n++) {
		uint8_t id = k_pci_cfg_r8(p, pos);
		uint16_t ctl = k_pci_cfg_r16(p, pos + 2);

		if (id == PCI_CAP_ID_MSIX && (ctl & PCI_MSIX_ENABLE))
			k_pci_cfg_w16(p, pos + 2, ctl & (uint16_t)~PCI_MSIX_ENABLE);
		else if (id == PCI_CAP_ID_MSI && (ctl & PCI_MSI_ENABLE))
			k_pci_cfg_w16(p, pos + 2, ctl & (uint16_t)~PCI_MSI_ENABLE);
		pos = k_pci_cfg_r8(p, pos + 1) & 0xfcu;
	}
}

void k_pci_intx_set(const struct k_pci_func *p, bool on)
{
	uint16_t cmd = k_pci_cfg_r16(p, PCI_COMMAND);

	if (on) {
		msi_off(p);
		k_pci_cfg_w16(p, PCI_COMMAND, cmd & (uint16_t)~PCI_CMD_INTX_DISABLE);
	} else {
		k_pci_cfg_w16(p, PCI_COMMAND, cmd | PCI_CMD_INTX_DISABLE);
	}
}

int k_pci_map_bar(const struct k_pci_func *p, unsigned i, bool normal)
{
	const struct k_pci_bar *b;

	if (!p || i >= K_PCI_BARS)
		return -EINVAL;
	b = &p->bar[i];
	if (!(b->flags & K_PCI_BAR_ASSIGNED))
		return -EINVAL;
	return k_mmu_map(b->cpu_addr, b->size, normal ? K_MEM_NORMAL : K_MEM_DEVICE);
}
