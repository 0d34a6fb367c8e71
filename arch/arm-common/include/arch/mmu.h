/* arch/mmu.h - the identity-mapped stage-1 translation of the unikernel.
 *
 * Owns: one set of 4 KiB-granule long-descriptor page tables (VA == PA;
 * 48-bit VA on aarch64, 32-bit with LPAE on arm32) from a fixed pool, the
 * MAIR attribute slots, and turning the MMU and caches on.
 * Boot maps the fallback UART as Device and the image plus the DTB as
 * Normal; everything else (the rest of RAM, ECAM, PCI BARs) is mapped by
 * k_mmu_map() once the DTB and PCI enumeration say where it is.
 * Never: unmaps, or changes the attributes of a live mapping (so no
 * break-before-make is ever needed), or allocates beyond its pool. Mapping
 * a range again with the same attributes is a no-op.
 * Used by: start.S (k_mmu_early), the main (RAM, ECAM), kernel/hw/pci.c (BARs,
 * through kern/hw_arch.h).
 */
#ifndef ARCH_MMU_H
#define ARCH_MMU_H

#include <stdint.h>

enum k_mem_attr {
	K_MEM_DEVICE = 0, /* Device-nGnRE, never executable: MMIO, ECAM, BARs */
	K_MEM_NORMAL = 1, /* Normal write-back cacheable: RAM, ivshmem windows */
};

/* Identity-map [pa, pa + size) with `attr`, using the largest blocks the
 * alignment allows. The range is widened to 4 KiB pages. Returns 0, -EINVAL
 * (empty, wraps, or beyond the port's VA: 48 bits on aarch64, 32 on arm32,
 * so a 32-bit VM refuses anything reaching 4 GiB instead of truncating it),
 * -EEXIST (part of it is already mapped with other attributes) or -ENOMEM
 * (table pool exhausted). */
int k_mmu_map(uint64_t pa, uint64_t size, enum k_mem_attr attr);

/* Called once from start.S with the MMU off: builds the boot mappings and
 * turns on the MMU and caches. */
void k_mmu_early(void);

/* Page tables in use out of the pool (for the boot log). */
unsigned k_mmu_tables_used(void);
unsigned k_mmu_tables_total(void);

/* First byte after the boot mapping of RAM (2 MiB aligned). */
uint64_t k_mmu_boot_ram_end(void);

#endif
