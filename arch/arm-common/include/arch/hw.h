/* arch/hw.h - the Arm ports' side of the kern/hw_arch.h contract.
 *
 * Owns: nothing of its own; it gathers what kernel/hw drivers may use of an
 * Arm port: the MMIO accessors and barriers (arch/mmio.h), the identity
 * mapping of device and shared memory (arch/mmu.h), and MSIs for MSI-X
 * functions (k_board_msi_alloc/take, arch/board.h: the GICv2m frame).
 * Never: exposes system registers (arch/cpu.h stays inside arch/).
 * Used by: kern/hw_arch.h only.
 */
#ifndef ARCH_HW_H
#define ARCH_HW_H

#include "arch/board.h"
#include "arch/mmio.h"
#include "arch/mmu.h"

#endif
