/* arch/gic.h - the GICv2 inside the Arm ports (arch/arm-common).
 *
 * Owns: whether k_board_init_irq() left a GIC that can wake WFI.
 * Never: used outside arch/ (the unikernel sees arch/board.h).
 * Used by: timer.c (k_idle sleeps only when an interrupt can end the sleep),
 * gic_msi.c (MSIs through the GICv2m frame).
 */
#ifndef ARCH_GIC_H
#define ARCH_GIC_H

#include <stdbool.h>
#include <stdint.h>

bool k_gic_ready(void);
/* The distributor's base (0: no GIC) and how many interrupt ids it has
 * (gic_msi.c programs the GICv2m's SPIs through them). */
uintptr_t k_gic_dist(void);
uint32_t k_gic_nlines(void);

#endif
