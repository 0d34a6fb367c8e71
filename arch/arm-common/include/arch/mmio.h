/* arch/mmio.h - barriers and MMIO accessors shared by the Arm ports.
 *
 * Owns: the inline wrappers through which every Device-memory access goes,
 * so that each is a single, naturally aligned, volatile access the compiler
 * cannot merge, and the barriers (the same mnemonics in A64 and A32/T32).
 * Never: decides policy; it only names instructions.
 * Used by: arch/aarch64, arch/arm32, arch/arm-common and, through the
 * kern/hw_arch.h contract, kernel/hw drivers.
 */
#ifndef ARCH_MMIO_H
#define ARCH_MMIO_H

#include <stdint.h>

static inline void k_isb(void)
{
	__asm__ volatile("isb" ::: "memory");
}

static inline void k_dsb_sy(void)
{
	__asm__ volatile("dsb sy" ::: "memory");
}

static inline void k_dmb_sy(void)
{
	__asm__ volatile("dmb sy" ::: "memory");
}

static inline uint8_t k_mmio_r8(uintptr_t a)
{
	return *(volatile uint8_t *)a;
}

static inline uint16_t k_mmio_r16(uintptr_t a)
{
	return *(volatile uint16_t *)a;
}

static inline uint32_t k_mmio_r32(uintptr_t a)
{
	return *(volatile uint32_t *)a;
}

static inline void k_mmio_w8(uintptr_t a, uint8_t v)
{
	*(volatile uint8_t *)a = v;
}

static inline void k_mmio_w16(uintptr_t a, uint16_t v)
{
	*(volatile uint16_t *)a = v;
}

static inline void k_mmio_w32(uintptr_t a, uint32_t v)
{
	*(volatile uint32_t *)a = v;
}

#endif
