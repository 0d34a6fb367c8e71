/* arch/cpu.h - arm32 (ARMv7-A) CP15 registers, the generic timer, barriers.
 *
 * Owns: the few inline wrappers the port needs to talk to the CPU: MRC/MCR
 * and MRRC/MCRR, the virtual generic timer as the shared timer code
 * (arch/arm-common) sees it, and the barriers and MMIO accessors
 * (arch/mmio.h).
 * Never: decides policy; it only names instructions.
 * Used by: arch/arm32 and arch/arm-common (never kernel/: it goes through
 * kern/hw_arch.h).
 */
#ifndef ARCH_CPU_H
#define ARCH_CPU_H

#include <stdint.h>

#include "arch/mmio.h"

/* 32-bit CP15 register (op1, CRn, CRm, op2 as in the Arm ARM). */
#define K_CP15_READ(op1, crn, crm, op2)                                                            \
	({                                                                                         \
		uint32_t v_;                                                                       \
		__asm__ volatile("mrc p15, " #op1 ", %0, " #crn ", " #crm ", " #op2 : "=r"(v_));   \
		v_;                                                                                \
	})
#define K_CP15_WRITE(op1, crn, crm, op2, v)                                                        \
	__asm__ volatile("mcr p15, " #op1 ", %0, " #crn ", " #crm ", " #op2                        \
			 :                                                                         \
			 : "r"((uint32_t)(v))                                                      \
			 : "memory")
/* 64-bit CP15 register (op1, CRm): TTBR0, CNTVCT. */
#define K_CP15_READ64(op1, crm)                                                                    \
	({                                                                                         \
		uint32_t lo_, hi_;                                                                 \
		__asm__ volatile("mrrc p15, " #op1 ", %0, %1, " #crm : "=r"(lo_), "=r"(hi_));      \
		(uint64_t) hi_ << 32 | lo_;                                                        \
	})
#define K_CP15_WRITE64(op1, crm, v)                                                                \
	__asm__ volatile("mcrr p15, " #op1 ", %0, %1, " #crm                                       \
			 :                                                                         \
			 : "r"((uint32_t)(v)), "r"((uint32_t)((uint64_t)(v) >> 32))                \
			 : "memory")

/* The virtual generic timer: CNTFRQ, CNTVCT, CNTV_TVAL, CNTV_CTL. */
static inline uint64_t k_cntfrq(void)
{
	return K_CP15_READ(0, c14, c0, 0);
}

static inline uint64_t k_cntvct(void)
{
	return K_CP15_READ64(1, c14);
}

static inline void k_cntv_set(uint32_t tval, uint32_t ctl)
{
	if (ctl)
		K_CP15_WRITE(0, c14, c3, 0, tval);
	K_CP15_WRITE(0, c14, c3, 1, ctl);
}

static inline void k_cpu_yield(void)
{
	__asm__ volatile("yield");
}

#endif
