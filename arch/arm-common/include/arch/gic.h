/* arch/gic.h - the GICv2 inside the Arm ports (arch/arm-common).
 *
 * Owns: whether k_board_init_irq() left a GIC that can wake WFI.
 * Never: used outside arch/ (the unikernel sees arch/board.h).
 * Used by: timer.c (k_idle sleeps only when an interrupt can end the sleep).
 */
#ifndef ARCH_GIC_H
#define ARCH_GIC_H

#include <stdbool.h>

bool k_gic_ready(void);

#endif
