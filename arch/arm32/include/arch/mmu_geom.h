/* arch/mmu_geom.h - arm32 page-table geometry for arch/mmu_lpae.h: LPAE
 * with TTBCR.T0SZ = 0, a 32-bit VA walked from level 1 (four 1 GiB
 * entries). Identity mapping: VA == PA, so only the low 4 GiB of the
 * physical address space is reachable (docs/arm32.md). */
#ifndef ARCH_MMU_GEOM_H
#define ARCH_MMU_GEOM_H

#define K_MMU_VA_BITS 32
#define K_MMU_TOP_LEVEL 1
/* RAM and windows: executable (bit 54 is XN at every privilege level in
 * LPAE, so it must stay clear where the image lives). */
#define K_MMU_NORMAL_XN 0ull

#endif
