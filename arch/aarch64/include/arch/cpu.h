/* arch/cpu.h - aarch64 system registers, barriers and MMIO accessors.
 *
 * Owns: the few inline wrappers the unikernel needs to talk to the CPU and
 * to Device memory. Every MMIO access goes through k_mmio_* so that each is a
 * single, naturally aligned, volatile access the compiler cannot merge.
 * Never: decides policy; it only names instructions.
 * Used by: arch/aarch64 and kernel/hw drivers (aarch64 only).
 */
#ifndef ARCH_CPU_H
#define ARCH_CPU_H

#include <stdint.h>

#define K_SYSREG_READ(reg)                                                                         \
	({                                                                                         \
		uint64_t v_;                                                                       \
		__asm__ volatile("mrs %0, " #reg : "=r"(v_));                                      \
		v_;                                                                                \
	})
#define K_SYSREG_WRITE(reg, v)                                                                     \
	__asm__ volatile("msr " #reg ", %0" : : "r"((uint64_t)(v)) : "memory")

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
