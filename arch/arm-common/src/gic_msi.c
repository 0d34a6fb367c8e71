/* MSIs through QEMU virt's GICv2m frame: an MSI-X entry writes an SPI's id
 * to the frame's MSI_SETSPI_NS, which pulses that SPI. The SPIs are edge
 * triggered and never taken (PSTATE.I stays masked, as in gic.c): a pulse
 * latches the pending bit, which ends WFI until the driver clears it
 * through GICD_ICPENDR. Clearing before the work is looked at means a pulse
 * that arrives meanwhile is never lost: it pends again. */
#include <errno.h>

#include "arch/board.h"
#include "arch/cpu.h"
#include "arch/gic.h"
#include "arch/mmu.h"
#include "kern/log.h"
#include "kern/msix.h"

#define GICD_ISENABLER 0x100
#define GICD_ICENABLER 0x180
#define GICD_ISPENDR 0x200
#define GICD_ICPENDR 0x280
#define GICD_IPRIORITYR 0x400
#define GICD_ITARGETSR 0x800
#define GICD_ICFGR 0xc00
#define GIC_PRIO 0x80 /* as gic.c: below the PMR, signalled */
#define V2M_MSI_TYPER 0x008
#define V2M_FRAME_BYTES 0x1000u

static uint64_t v2m_base;
static uint32_t v2m_first, v2m_count, v2m_used;
static bool v2m_probed;

static int v2m_probe(const struct k_fdt *f)
{
	int n = k_fdt_find_compatible(f, -1, "arm,gic-v2m-frame");
	uint64_t base, size;
	uint32_t first, count;

	v2m_probed = true;
	if (n < 0 || k_fdt_reg(f, n, 0, &base, &size) || size < V2M_FRAME_BYTES)
		return -ENODEV;
	if (k_mmu_map(base, V2M_FRAME_BYTES, K_MEM_DEVICE))
		return -ENODEV;
	if (k_gicv2m_range(k_mmio_r32((uintptr_t)base + V2M_MSI_TYPER), &first, &count) ||
	    first + count > k_gic_nlines()) {
		k_warn("gicv2m at %#lx: unusable MSI_TYPER", (unsigned long)base);
		return -ENODEV;
	}
	v2m_base = base;
	v2m_first = first;
	v2m_count = count;
	k_info("gicv2m: frame %#lx, SPIs %u-%u (intids %u-%u)", (unsigned long)base,
	       (unsigned)(first - 32), (unsigned)(first - 32 + count - 1), (unsigned)first,
	       (unsigned)(first + count - 1));
	return 0;
}

static void edge_wake(uintptr_t d, uint32_t id)
{
	uint32_t bit = 1u << (id % 32), cfg;

	k_mmio_w32(d + GICD_ICENABLER + 4 * (id / 32), bit);
	cfg = k_mmio_r32(d + GICD_ICFGR + 4 * (id / 16));
	cfg |= 2u << (2 * (id % 16)); /* edge-triggered */
	k_mmio_w32(d + GICD_ICFGR + 4 * (id / 16), cfg);
	k_mmio_w8(d + GICD_IPRIORITYR + id, GIC_PRIO);
	k_mmio_w8(d + GICD_ITARGETSR + id, 1);
	k_mmio_w32(d + GICD_ICPENDR + 4 * (id / 32), bit);
	k_mmio_w32(d + GICD_ISENABLER + 4 * (id / 32), bit);
}

int k_board_msi_alloc(const struct k_fdt *f, unsigned n, uint64_t *addr, uint32_t *first_intid)
{
	uintptr_t d = k_gic_dist();

	if (!d)
		return -ENODEV;
	if (!v2m_probed)
		(void)v2m_probe(f);
	if (!v2m_base)
		return -ENODEV;
	if (n == 0 || n > K_MSIX_MAX_VECTORS || n > v2m_count - v2m_used)
		return -ENOSPC;
	*first_intid = v2m_first + v2m_used;
	*addr = v2m_base + K_GICV2M_SETSPI_NS;
	for (unsigned i = 0; i < n; i++)
		edge_wake(d, *first_intid + i);
	v2m_used += n;
	return 0;
}

uint64_t k_board_msi_take(uint32_t first_intid, unsigned n)
{
	uintptr_t d = k_gic_dist();
	uint32_t pend[3] = {0, 0, 0};
	unsigned w = k_msix_pending_words(first_intid, n);
	uint64_t m;

	if (!d || n == 0 || n > K_MSIX_MAX_VECTORS || w > 3)
		return 0;
	for (unsigned i = 0; i < w; i++)
		pend[i] = k_mmio_r32(d + GICD_ISPENDR + 4 * (first_intid / 32 + i));
	m = k_msix_pending(pend, w, first_intid, n);
	/* Clear exactly what was seen: an id outside the range shares the
	 * word but not the mask. */
	for (unsigned i = 0; i < w; i++) {
		uint32_t clr = 0;
		for (unsigned v = 0; v < n; v++) {
			uint32_t id = first_intid + v;
			if ((m >> v & 1u) && id / 32 == first_intid / 32 + i)
				clr |= 1u << (id % 32);
		}
		if (clr)
			k_mmio_w32(d + GICD_ICPENDR + 4 * (first_intid / 32 + i), clr);
	}
	return m;
}
