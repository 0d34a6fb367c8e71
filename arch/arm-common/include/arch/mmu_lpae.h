/* arch/mmu_lpae.h - the long-descriptor page tables inside the Arm ports.
 *
 * Owns: what the shared table walker (arm-common/src/mmu_map.c) and each
 * port's register set-up (mmu_early.c) agree on: the geometry the port
 * names in arch/mmu_geom.h (K_MMU_VA_BITS, K_MMU_TOP_LEVEL), the memory
 * attribute encodings for MAIR slots (enum k_mem_attr), and the boot steps.
 * Never: used outside arch/ (the rest of the unikernel sees arch/mmu.h).
 * Used by: arch/arm-common/src/mmu_map.c, arch/{aarch64,arm32}/src/mmu_early.c.
 */
#ifndef ARCH_MMU_LPAE_H
#define ARCH_MMU_LPAE_H

#include <stdint.h>

#include "arch/mmu_geom.h"

/* MAIR slots, indexed by enum k_mem_attr (the same encodings in MAIR_EL1
 * and in ARMv7's MAIR0). */
#define K_MAIR_DEVICE 0x04u    /* Device-nGnRE (ARMv7: Device) */
#define K_MAIR_NORMAL_WB 0xffu /* Normal, write-back read/write-allocate */
#define K_MAIR_VALUE (K_MAIR_DEVICE | (K_MAIR_NORMAL_WB << 8))

/* TCR_EL1 / TTBCR bits for TTBR0 walks: the same positions in both. */
#define K_TCR_IRGN0_WBWA (1u << 8)
#define K_TCR_ORGN0_WBWA (1u << 10)
#define K_TCR_SH0_INNER (3u << 12)
#define K_TCR_EPD1 (1u << 23)

/* SCTLR bits both ports set or clear. */
#define K_SCTLR_M (1u << 0)
#define K_SCTLR_A (1u << 1)
#define K_SCTLR_C (1u << 2)
#define K_SCTLR_I (1u << 12)
#define K_SCTLR_WXN (1u << 19)

/* Build the boot mappings (fallback UART, RAM from the DTB up to the image
 * end rounded to 2 MiB) in the pool; on failure print and halt. */
void k_mmu_boot_map(void);
/* Physical address of the top-level table, for TTBR0. */
uint64_t k_mmu_root(void);
/* Print `what` on the fallback UART and halt (MMU on or off). */
__attribute__((noreturn)) void k_mmu_early_fail(const char *what);

#endif
