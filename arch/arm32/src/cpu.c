/* arm32: stopping this CPU for good. */
#include "arch/board.h"

void k_halt(void)
{
	__asm__ volatile("cpsid aif");
	for (;;)
		__asm__ volatile("wfi");
}
