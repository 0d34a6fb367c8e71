/* Generic timer: time from the virtual counter, and the idle wait. The wait arms the
 * virtual timer and sleeps in WFI until an interrupt is pending in the GICv2
 * (gic.c): the timer's PPI bounds the sleep, and a device SPI made a wake-up
 * source (k_board_wake_spi) ends it early. Neither is ever taken
 * (PSTATE.I stays masked). QEMU halts the vCPU in WFI, so an idle unikernel
 * costs the host nothing. The registers are named by each port's arch/cpu.h
 * (MRS/MSR on aarch64, CP15 on arm32); the logic is the same. */
#include <errno.h>

#include "arch/cpu.h"
#include "arch/gic.h"
#include "arch/board.h"
#include "kern/time.h"

#define CNTV_CTL_ENABLE 1u

static uint64_t k_freq;

uint64_t k_now_ns(void)
{
	uint64_t cnt;

	if (!k_freq)
		k_freq = k_cntfrq();
	k_isb();
	cnt = k_cntvct();
	return k_ticks_to_ns(cnt, k_freq);
}

void k_idle(uint64_t max_ns)
{
	uint64_t deadline, ticks;

	if (!k_freq)
		k_freq = k_cntfrq();
	if (max_ns > 1000000000ull)
		max_ns = 1000000000ull;
	deadline = k_now_ns() + max_ns;
	if (!k_gic_ready()) {
		while (k_now_ns() < deadline)
			k_cpu_yield();
		return;
	}
	ticks = max_ns * k_freq / 1000000000ull;
	k_cntv_set(ticks ? (uint32_t)ticks : 1u, CNTV_CTL_ENABLE);
	k_isb();
	__asm__ volatile("dsb sy\n\twfi" ::: "memory");
	/* Disarming drops the level-triggered PPI, so nothing stays pending. */
	k_cntv_set(0, 0);
	k_isb();
}
