/* arch/mmu_geom.h - aarch64 page-table geometry for arch/mmu_lpae.h:
 * 48-bit VA with a level-0 start, so that the ECAM at 0x40_1000_0000 and
 * the 64-bit PCI window at 0x80_0000_0000 can be identity-mapped. */
#ifndef ARCH_MMU_GEOM_H
#define ARCH_MMU_GEOM_H

#define K_MMU_VA_BITS 48
#define K_MMU_TOP_LEVEL 0
/* RAM and windows: executable at EL1, never at EL0 (bit 54 is UXN). */
#define K_MMU_NORMAL_XN (1ull << 54)

#endif
