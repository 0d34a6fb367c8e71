/* Generic timer: time from CNTVCT_EL0, and the idle wait. The wait arms the
 * virtual timer and sleeps in WFI: the timer's PPI, enabled in a GICv2 but
 * never taken (PSTATE.I stays masked), is what wakes the CPU. QEMU halts the
 * vCPU in WFI, so an idle unikernel costs the host nothing. */
#include <errno.h>

#include "arch/cpu.h"
#include "arch/mmu.h"
#include "arch/platform.h"
#include "kern/log.h"
#include "kern/time.h"

#define GICD_CTLR 0x000
#define GICD_ISENABLER0 0x100
#define GICD_IPRIORITYR 0x400
#define GICC_CTLR 0x000
#define GICC_PMR 0x004
#define VTIMER_PPI_DEFAULT 27u /* PPI 11 */
#define CNTV_CTL_ENABLE 1u

static uint64_t k_cntfrq;
static int k_gic_ok;

uint64_t k_now_ns(void)
{
	uint64_t cnt;

	if (!k_cntfrq)
		k_cntfrq = K_SYSREG_READ(cntfrq_el0);
	k_isb();
	cnt = K_SYSREG_READ(cntvct_el0);
	return k_ticks_to_ns(cnt, k_cntfrq);
}

/* The virtual timer's interrupt id: third entry of the timer node's
 * "interrupts" (secure, non-secure, virtual, hypervisor), a PPI. */
static uint32_t vtimer_intid(const struct k_fdt *f)
{
	int n = k_fdt_find_compatible(f, -1, "arm,armv8-timer");
	uint32_t len;
	const uint8_t *p = n >= 0 ? k_fdt_prop(f, n, "interrupts", &len) : 0;

	if (!p || len < 36 || k_fdt_be32(p + 24) != 1 || k_fdt_be32(p + 28) > 15)
		return VTIMER_PPI_DEFAULT;
	return 16 + k_fdt_be32(p + 28);
}

int k_platform_init_irq(const struct k_fdt *f)
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
	k_mmio_w8((uintptr_t)dist + GICD_IPRIORITYR + id, 0x80);
	k_mmio_w32((uintptr_t)dist + GICD_ISENABLER0, 1u << id);
	k_mmio_w32((uintptr_t)dist + GICD_CTLR, 3);
	k_mmio_w32((uintptr_t)cpu + GICC_PMR, 0xf0);
	k_mmio_w32((uintptr_t)cpu + GICC_CTLR, 3);
	K_SYSREG_WRITE(cntv_ctl_el0, 0);
	k_gic_ok = 1;
	k_debug("gic: dist %#lx cpu %#lx, virtual timer intid %u", (unsigned long)dist,
		(unsigned long)cpu, id);
	return 0;
}

void k_idle(uint64_t max_ns)
{
	uint64_t deadline, ticks;

	if (!k_cntfrq)
		k_cntfrq = K_SYSREG_READ(cntfrq_el0);
	if (max_ns > 1000000000ull)
		max_ns = 1000000000ull;
	deadline = k_now_ns() + max_ns;
	if (!k_gic_ok) {
		while (k_now_ns() < deadline)
			__asm__ volatile("yield");
		return;
	}
	ticks = max_ns * k_cntfrq / 1000000000ull;
	K_SYSREG_WRITE(cntv_tval_el0, ticks ? ticks : 1);
	K_SYSREG_WRITE(cntv_ctl_el0, CNTV_CTL_ENABLE);
	k_isb();
	__asm__ volatile("dsb sy\n\twfi" ::: "memory");
	/* Disarming drops the level-triggered PPI, so nothing stays pending. */
	K_SYSREG_WRITE(cntv_ctl_el0, 0);
	k_isb();
}
