/* The GICv2 as a wake-up source for k_idle() (aarch64 and arm32: the same
 * MMIO; the CPU masks with PSTATE.I or CPSR.I): interrupts are enabled in the
 * distributor and signalled by the CPU interface, but PSTATE.I stays masked,
 * so none is ever taken or acknowledged. WFI ends on a pending interrupt
 * regardless of PSTATE.I; a level-triggered source stops being pending when
 * its device drops the line (the timer when disarmed, a PCI function when
 * its driver clears the cause), so nothing stays pending to spin on. */
#include <errno.h>

#include "arch/cpu.h"
#include "arch/gic.h"
#include "arch/mmu.h"
#include "arch/board.h"
#include "kern/log.h"

#define GICD_CTLR 0x000
#define GICD_TYPER 0x004
#define GICD_ISENABLER 0x100
#define GICD_ICENABLER 0x180
#define GICD_IPRIORITYR 0x400
#define GICD_ITARGETSR 0x800
#define GICD_ICFGR 0xc00
#define GICC_CTLR 0x000
#define GICC_PMR 0x004
#define GIC_PRIO 0x80 /* below the PMR's 0xf0: signalled */
#define GIC_SPI_FIRST 32u
#define VTIMER_PPI_DEFAULT 27u /* PPI 11 */

static uintptr_t k_gicd;
static int k_gic_node = -1;
static uint32_t k_gic_lines; /* interrupt ids the distributor implements */

bool k_gic_ready(void)
{
	return k_gicd != 0;
}

uintptr_t k_gic_dist(void)
{
	return k_gicd;
}

uint32_t k_gic_nlines(void)
{
	return k_gic_lines;
}

/* The virtual timer's interrupt id: third entry of the timer node's
 * "interrupts" (secure, non-secure, virtual, hypervisor), a PPI. */
static uint32_t vtimer_intid(const struct k_fdt *f)
{
	int n = k_fdt_find_compatible(f, -1, "arm,armv8-timer");
	uint32_t len;
	const uint8_t *p;

	if (n < 0) /* QEMU names the arm32 board's timer armv7 only */
		n = k_fdt_find_compatible(f, -1, "arm,armv7-timer");
	p = n >= 0 ? k_fdt_prop(f, n, "interrupts", &len) : 0;
	if (!p || len < 36 || k_fdt_be32(p + 24) != 1 || k_fdt_be32(p + 28) > 15)
		return VTIMER_PPI_DEFAULT;
	return 16 + k_fdt_be32(p + 28);
}

int k_board_init_irq(const struct k_fdt *f)
{
	int gic = k_fdt_find_compatible(f, -1, "arm,cortex-a15-gic");
	uint64_t dist, dsize, cpu, csize;
	uint32_t id;

	if (gic < 0)
		gic = k_fdt_find_compatible(f, -1, "arm,gic-400");
	if (gic < 0 || k_fdt_reg(f, gic, 0, &dist, &dsize) || k_fdt_reg(f, gic, 1, &cpu, &csize)) {
		k_warn("no GICv2 in the DTB: idle will spin");
		return -ENODEV;
	}
	if (k_mmu_map(dist, 0x1000, K_MEM_DEVICE) || k_mmu_map(cpu, 0x2000, K_MEM_DEVICE)) {
		k_warn("cannot map the GIC: idle will spin");
		return -ENODEV;
	}
	id = vtimer_intid(f);
	k_mmio_w8((uintptr_t)dist + GICD_IPRIORITYR + id, GIC_PRIO);
	k_mmio_w32((uintptr_t)dist + GICD_ISENABLER, 1u << id);
	k_mmio_w32((uintptr_t)dist + GICD_CTLR, 3);
	k_mmio_w32((uintptr_t)cpu + GICC_PMR, 0xf0);
	k_mmio_w32((uintptr_t)cpu + GICC_CTLR, 3);
	k_cntv_set(0, 0); /* the timer's PPI stays quiet until k_idle() arms it */
	k_gic_lines = 32u * ((k_mmio_r32((uintptr_t)dist + GICD_TYPER) & 0x1fu) + 1u);
	k_gicd = (uintptr_t)dist;
	k_gic_node = gic;
	k_debug("gic: dist %#lx cpu %#lx, %u interrupt ids, virtual timer intid %u",
		(unsigned long)dist, (unsigned long)cpu, k_gic_lines, id);
	return 0;
}

int k_board_wake_spi(int gic_node, uint32_t intid)
{
	uintptr_t d = k_gicd;
	uint32_t bit = 1u << (intid % 32), cfg;

	if (!d)
		return -ENODEV;
	/* The map must name the controller we programmed, not another one. */
	if (gic_node != k_gic_node || intid < GIC_SPI_FIRST || intid >= k_gic_lines || intid > 1019)
		return -EINVAL;
	k_mmio_w32(d + GICD_ICENABLER + 4 * (intid / 32), bit);
	cfg = k_mmio_r32(d + GICD_ICFGR + 4 * (intid / 16));
	cfg &= ~(2u << (2 * (intid % 16))); /* level-sensitive */
	k_mmio_w32(d + GICD_ICFGR + 4 * (intid / 16), cfg);
	k_mmio_w8(d + GICD_IPRIORITYR + intid, GIC_PRIO);
	k_mmio_w8(d + GICD_ITARGETSR + intid, 1); /* CPU 0: the only one we run */
	k_mmio_w32(d + GICD_ISENABLER + 4 * (intid / 32), bit);
	return 0;
}

void k_board_wake_spi_off(uint32_t intid)
{
	if (k_gicd && intid >= GIC_SPI_FIRST && intid < k_gic_lines)
		k_mmio_w32(k_gicd + GICD_ICENABLER + 4 * (intid / 32), 1u << (intid % 32));
}
