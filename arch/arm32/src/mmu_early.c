/* arm32: turn on the MMU with the shared long-descriptor tables
 * (arm-common/mmu_map.c), through LPAE (TTBCR.EAE).
 *
 * Why LPAE rather than short descriptors: its tables are the aarch64
 * format, so one walker serves both ports; attributes come from MAIR as on
 * aarch64 (no TEX remap), and XN/PXN are per block. Pointers stay 32-bit, so
 * the map is still VA == PA below 4 GiB: anything the DTB or PCI puts above
 * is refused by k_mmu_map (docs/arm32.md). Runs with the MMU off: built with
 * -mno-unaligned-access, no C library. */
#include "arch/cpu.h"
#include "arch/mmu.h"
#include "arch/mmu_lpae.h"

#define TTBCR_EAE (1u << 31)

void k_mmu_early(void)
{
	uint32_t sctlr;

	k_mmu_boot_map();
	K_CP15_WRITE(0, c10, c2, 0, K_MAIR_VALUE); /* MAIR0 */
	K_CP15_WRITE(0, c10, c2, 1, 0);		   /* MAIR1 */
	/* T0SZ = 0: TTBR0 covers the whole 32-bit VA; TTBR1 walks disabled. */
	K_CP15_WRITE(0, c2, c0, 2,
		     TTBCR_EAE | K_TCR_IRGN0_WBWA | K_TCR_ORGN0_WBWA | K_TCR_SH0_INNER |
			     K_TCR_EPD1);
	K_CP15_WRITE64(0, c2, k_mmu_root()); /* TTBR0, ASID 0 */
	/* Nothing cached yet on QEMU; real hardware would also need the data
	 * cache invalidated by set/way here. TLBIALL, ICIALLU. */
	k_dsb_sy();
	k_isb();
	K_CP15_WRITE(0, c8, c7, 0, 0);
	K_CP15_WRITE(0, c7, c5, 0, 0);
	k_dsb_sy();
	k_isb();
	sctlr = K_CP15_READ(0, c1, c0, 0);
	sctlr |= K_SCTLR_M | K_SCTLR_C | K_SCTLR_I;
	sctlr &= ~(K_SCTLR_A | K_SCTLR_WXN);
	K_CP15_WRITE(0, c1, c0, 0, sctlr);
	k_isb();
}
