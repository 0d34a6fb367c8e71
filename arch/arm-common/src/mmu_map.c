/* Identity-mapped stage-1 tables in the long-descriptor format, 4 KiB
 * granule: VMSAv8-64 on aarch64 (48-bit VA, level 0 start: the ECAM at
 * 0x40_1000_0000 and the 64-bit PCI window at 0x80_0000_0000 lie beyond what
 * a level-1 start can reach) and LPAE on arm32 (32-bit VA, level 1 start).
 * Both formats put the same bits in the same places at levels 1-3 (table,
 * block, page, AttrIndx, SH, AF, PXN, XN), so the walk is shared; each port
 * names its geometry (arch/mmu_geom.h) and programs its own registers
 * (mmu_early.c). Runs first with the MMU off, so this file is built with
 * strict alignment and never calls the C library. */
#include "arch/mmu.h"

#include <errno.h>
#include <stdbool.h>

#include "arch/board.h"
#include "arch/mmu_lpae.h"

#define PT_ENTRIES 512
#define PT_POOL 24
#define VA_BITS K_MMU_VA_BITS

#define DESC_VALID 0x1ull
#define DESC_TABLE 0x3ull /* level 0-2: next table */
#define DESC_BLOCK 0x1ull /* level 1-2: block */
#define DESC_PAGE 0x3ull  /* level 3: page */
#define DESC_ATTR(i) ((uint64_t)(i) << 2)
#define DESC_SH_INNER (3ull << 8)
#define DESC_AF (1ull << 10)
#define DESC_PXN (1ull << 53)
#define DESC_UXN (1ull << 54)
#define DESC_ADDR_MASK 0x0000fffffffff000ull

static uint64_t k_pt[PT_POOL][PT_ENTRIES] __attribute__((aligned(4096)));
static unsigned k_pt_used;
static uint64_t k_boot_ram_end;

extern char __flash[], __stack[], __data_source[], __data_start[];

uint64_t k_image_start(void)
{
	return (uint64_t)(uintptr_t)__flash;
}

uint64_t k_image_text_bytes(void)
{
	return (uint64_t)(uintptr_t)__data_source - (uint64_t)(uintptr_t)__flash;
}

uint64_t k_image_static_bytes(void)
{
	/* text and rodata up to the load image of .data, then .data, .bss and
	 * the stack in RAM; not the gap between the two regions. */
	uint64_t flash = (uint64_t)(uintptr_t)__flash, src = (uint64_t)(uintptr_t)__data_source;
	uint64_t data = (uint64_t)(uintptr_t)__data_start, top = (uint64_t)(uintptr_t)__stack;

	return (src - flash) + (top - data);
}

uint64_t k_image_end(void)
{
	return (uint64_t)(uintptr_t)__stack;
}

unsigned k_mmu_tables_used(void)
{
	return k_pt_used;
}

unsigned k_mmu_tables_total(void)
{
	return PT_POOL;
}

uint64_t k_mmu_boot_ram_end(void)
{
	return k_boot_ram_end;
}

/* Tables come zeroed from .bss and are never freed. */
static uint64_t *pt_alloc(void)
{
	if (k_pt_used >= PT_POOL)
		return 0;
	return k_pt[k_pt_used++];
}

static uint64_t leaf_bits(enum k_mem_attr attr)
{
	if (attr == K_MEM_NORMAL)
		return DESC_ATTR(K_MEM_NORMAL) | DESC_SH_INNER | DESC_AF | K_MMU_NORMAL_XN;
	return DESC_ATTR(K_MEM_DEVICE) | DESC_AF | DESC_PXN | DESC_UXN;
}

#define DESC_ATTR_MASK (DESC_ATTR(7) | DESC_SH_INNER | DESC_AF | DESC_PXN | DESC_UXN)

/* Map one block or page at `va` (the largest that fits) and return the
 * bytes it covers, or a negative errno. A leaf that already maps `va` with
 * the same attributes is kept (mapping is idempotent); different attributes
 * are -EEXIST, since changing a live mapping would need break-before-make. */
static int64_t map_one(uint64_t va, uint64_t end, enum k_mem_attr attr)
{
	uint64_t *table = k_pt[0];

	for (int level = K_MMU_TOP_LEVEL; level <= 3; level++) {
		unsigned shift = 39 - 9 * (unsigned)level;
		uint64_t bsize = 1ull << shift;
		uint64_t *e = &table[(va >> shift) & (PT_ENTRIES - 1)];
		bool leaf = level == 3 || (*e & 3) == DESC_BLOCK;

		if ((*e & DESC_VALID) && leaf) {
			if ((*e & DESC_ATTR_MASK) != leaf_bits(attr))
				return -EEXIST;
			return (int64_t)(bsize - (va & (bsize - 1)));
		}
		if (!(*e & DESC_VALID) && level >= 1 && (va & (bsize - 1)) == 0 &&
		    end - va >= bsize) {
			*e = va | leaf_bits(attr) | (level == 3 ? DESC_PAGE : DESC_BLOCK);
			return (int64_t)bsize;
		}
		if (!(*e & DESC_VALID)) {
			uint64_t *next = pt_alloc();
			if (!next)
				return -ENOMEM;
			/* The new table is zero; publish it only after that is
			 * visible to the walker. */
			__asm__ volatile("dsb ishst" ::: "memory");
			*e = (uint64_t)(uintptr_t)next | DESC_TABLE;
		}
		table = (uint64_t *)(uintptr_t)(*e & DESC_ADDR_MASK);
	}
	return -EINVAL;
}

int k_mmu_map(uint64_t pa, uint64_t size, enum k_mem_attr attr)
{
	uint64_t va, end;

	if (size == 0 || pa + size < pa || pa + size > (1ull << VA_BITS))
		return -EINVAL;
	va = pa & ~0xfffull;
	end = (pa + size + 0xfffull) & ~0xfffull;
	if (k_pt_used == 0 && !pt_alloc())
		return -ENOMEM;
	while (va < end) {
		int64_t n = map_one(va, end, attr);
		if (n < 0)
			return (int)n;
		va += (uint64_t)n;
	}
	/* New entries replace invalid ones only: no TLB invalidation needed,
	 * just make them visible before the next access. */
	__asm__ volatile("dsb ish\n\tisb" ::: "memory");
	return 0;
}

void k_mmu_early_fail(const char *what)
{
	/* The console is Device MMIO at the fallback address: it works with
	 * the MMU off. */
	k_console_write(what, __builtin_strlen(what));
	k_halt();
}

uint64_t k_mmu_root(void)
{
	return (uint64_t)(uintptr_t)k_pt[0];
}

void k_mmu_boot_map(void)
{
	uint64_t ram0 = K_VIRT_DTB_ADDR;

	k_boot_ram_end = (k_image_end() + 0x1fffffull) & ~0x1fffffull;
	/* Just the console and the image (with the DTB below it): the main maps
	 * the rest from what the DTB says, drivers map the BARs they use, and
	 * anything else faults. */
	if (k_mmu_map(K_VIRT_UART_FALLBACK, 0x1000, K_MEM_DEVICE) != 0 ||
	    k_mmu_map(ram0, k_boot_ram_end - ram0, K_MEM_NORMAL) != 0)
		k_mmu_early_fail("uvhost: boot page tables failed\n");
}
