/* Generic timer: time from CNTVCT_EL0, and the idle wait. The wait arms the
 * virtual timer and sleeps in WFI until an interrupt is pending in the GICv2
 * (gic.c): the timer's PPI bounds the sleep, and a device SPI made a wake-up
 * source (k_board_wake_spi) ends it early. Neither is ever taken
 * (PSTATE.I stays masked). QEMU halts the vCPU in WFI, so an idle unikernel
 * costs the host nothing. */
#include <errno.h>

#include "arch/cpu.h"
#include "arch/gic.h"
#include "arch/board.h"
#include "kern/time.h"

#define CNTV_CTL_ENABLE 1u

static uint64_t k_cntfrq;

uint64_t k_now_ns(void)
{
	uint64_t cnt;

	if (!k_cntfrq)
		k_cntfrq = K_SYSREG_READ(cntfrq_el0);
	k_isb();
	cnt = K_SYSREG_READ(cntvct_el0);
	return k_ticks_to_ns(cnt, k_cntfrq);
}

void k_idle(uint64_t max_ns)
{
	uint64_t deadline, ticks;

	if (!k_cntfrq)
		k_cntfrq = K_SYSREG_READ(cntfrq_el0);
	if (max_ns > 1000000000ull)
		max_ns = 1000000000ull;
	deadline = k_now_ns() + max_ns;
	if (!k_gic_ready()) {
		while (k_now_ns() < deadline)
			__asm__ volatile("yield");
		return;
	}
	ticks = max_ns * k_cntfrq / 1000000000ull;
	K_SYSREG_WRITE(cntv_tval_el0, ticks ? ticks : 1);
	K_SYSREG_WRITE(cntv_ctl_el0, CNTV_CTL_ENABLE);
	k_isb();
	__asm__ volatile("dsb sy\n\twfi" ::: "memory");
	/* Disarming drops the level-triggered PPI, so nothing stays pending. */
	K_SYSREG_WRITE(cntv_ctl_el0, 0);
	k_isb();
}
