/* arch/cpu.h - aarch64 system registers, the generic timer and halting.
 *
 * Owns: the few inline wrappers the port needs to talk to the CPU: MRS/MSR,
 * the virtual generic timer as the shared timer code (arch/arm-common)
 * sees it, and the barriers and MMIO accessors (arch/mmio.h).
 * Never: decides policy; it only names instructions.
 * Used by: arch/aarch64 and arch/arm-common (never kernel/: it goes through
 * kern/hw_arch.h).
 */
#ifndef ARCH_CPU_H
#define ARCH_CPU_H

#include <stdint.h>

#include "arch/mmio.h"

#define K_SYSREG_READ(reg)                                                                         \
	({                                                                                         \
		uint64_t v_;                                                                       \
		__asm__ volatile("mrs %0, " #reg : "=r"(v_));                                      \
		v_;                                                                                \
	})
#define K_SYSREG_WRITE(reg, v)                                                                     \
	__asm__ volatile("msr " #reg ", %0" : : "r"((uint64_t)(v)) : "memory")

/* The virtual generic timer (CNTV_*): frequency, count, arm and disarm. */
static inline uint64_t k_cntfrq(void)
{
	return K_SYSREG_READ(cntfrq_el0);
}

static inline uint64_t k_cntvct(void)
{
	return K_SYSREG_READ(cntvct_el0);
}

static inline void k_cntv_set(uint32_t tval, uint32_t ctl)
{
	if (ctl)
		K_SYSREG_WRITE(cntv_tval_el0, tval);
	K_SYSREG_WRITE(cntv_ctl_el0, ctl);
}

static inline void k_cpu_yield(void)
{
	__asm__ volatile("yield");
}

#endif
