/* aarch64: turn on the MMU with the shared tables (arm-common/mmu_map.c).
 * Runs with the MMU off: built with -mstrict-align, no C library. */
#include "arch/cpu.h"
#include "arch/mmu.h"
#include "arch/mmu_lpae.h"

#define TCR_T0SZ(n) ((uint64_t)(n))
#define TCR_IPS_SHIFT 32
#define SCTLR_SA (1ull << 3)

void k_mmu_early(void)
{
	uint64_t parange, sctlr, tcr;

	k_mmu_boot_map();
	parange = K_SYSREG_READ(id_aa64mmfr0_el1) & 0xf;
	if (parange > 5)
		parange = 5; /* 48 bits: our VA size */
	K_SYSREG_WRITE(mair_el1, K_MAIR_VALUE);
	tcr = TCR_T0SZ(64 - K_MMU_VA_BITS) | K_TCR_IRGN0_WBWA | K_TCR_ORGN0_WBWA | K_TCR_SH0_INNER |
	      K_TCR_EPD1 | (parange << TCR_IPS_SHIFT);
	K_SYSREG_WRITE(tcr_el1, tcr);
	K_SYSREG_WRITE(ttbr0_el1, k_mmu_root());
	/* Nothing cached yet on QEMU; real hardware would also need the data
	 * cache invalidated by set/way here. */
	__asm__ volatile("dsb ish\n\tisb\n\ttlbi vmalle1\n\tic iallu\n\tdsb ish\n\tisb" ::
				 : "memory");
	sctlr = K_SYSREG_READ(sctlr_el1);
	sctlr |= K_SCTLR_M | K_SCTLR_C | K_SCTLR_I | SCTLR_SA;
	sctlr &= ~(uint64_t)(K_SCTLR_A | K_SCTLR_WXN);
	K_SYSREG_WRITE(sctlr_el1, sctlr);
	k_isb();
}
