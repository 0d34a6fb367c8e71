/* arch/board.h - the board (QEMU virt, aarch64 or arm32) as the unikernel
 * main sees it: the same contract on both Arm ports (arch/arm-common).
 *
 * Owns: the board contract of QEMU's `virt` board that cannot come from
 * the DTB (where the DTB is, the fallback UART), console selection, the
 * idle wait and what may end it early (GICv2 SPIs), and stopping the
 * machine.
 * Never: enumerates devices (kernel/hw does) or parses bootargs.
 * Used by: apps/uvhost-vm/main.c.
 */
#ifndef ARCH_BOARD_H
#define ARCH_BOARD_H

#include <stddef.h>
#include <stdint.h>

#include "kern/fdt.h"

/* QEMU places the DTB at the start of RAM when the image leaves it free. */
#define K_VIRT_DTB_ADDR 0x40000000ul
#define K_VIRT_DTB_MAX (1ul << 20)
#define K_VIRT_UART_FALLBACK 0x09000000ul

/* Console: PL011 at `base` (the boot default is K_VIRT_UART_FALLBACK). */
void k_console_set_base(uintptr_t base);
void k_console_write(const char *s, size_t n);

/* Timer and interrupt controller set-up from the DTB: enables the wake-up
 * path that k_idle() uses. Returns 0, or -ENODEV when there is no usable
 * GICv2 (then k_idle() spins instead of sleeping). */
int k_board_init_irq(const struct k_fdt *f);

/* Make GIC interrupt `intid`, an SPI of the controller at DTB node
 * `gic_node` (as kern/pci_irq.h resolves it), a wake-up source for k_idle():
 * level-sensitive, CPU 0, enabled, never taken. Whoever owns the device
 * must drop its line before each sleep, or k_idle() returns at once.
 * Returns 0, -ENODEV (no GIC set up) or -EINVAL (another controller, or not
 * an SPI this GIC implements). */
int k_board_wake_spi(int gic_node, uint32_t intid);
/* Stop `intid` waking k_idle() (a device that can no longer be served). */
void k_board_wake_spi_off(uint32_t intid);

/* MSIs through the GICv2m frame (gic_msi.c), for MSI-X functions. Take
 * `n` consecutive SPIs of the frame the DTB describes ("arm,gic-v2m-frame"
 * under the GIC): 0 with the address an MSI writes (*addr, its data is the
 * interrupt id) and the first id, -ENODEV (no GIC or no frame) or -ENOSPC.
 * Each taken SPI is made an edge-triggered wake-up source for k_idle(),
 * CPU 0, enabled, never taken: its pending bit is consumed with
 * k_board_msi_take(). SPIs are never given back (boot-time only). */
int k_board_msi_alloc(const struct k_fdt *f, unsigned n, uint64_t *addr, uint32_t *first_intid);
/* Clear and return the pending bits of ids [first_intid, first_intid + n),
 * n <= 64: bit v for id first_intid + v. Bounded: at most 3 words read. */
uint64_t k_board_msi_take(uint32_t first_intid, unsigned n);

/* Sleep at most `max_ns`: WFI until the virtual timer fires or a wake-up
 * source (the timer, or an SPI of k_board_wake_spi) is pending, which
 * may be at once. Never longer. Without a GIC it spins for `max_ns`. */
void k_idle(uint64_t max_ns);

/* Image extent from the linker script. */
uint64_t k_image_start(void);
uint64_t k_image_end(void);
/* What the image occupies: text, rodata, data, bss and the stack (from the
 * linker script's symbols), the static part of the memory budget. */
uint64_t k_image_static_bytes(void);
/* Its text and rodata part (up to the load image of .data). */
uint64_t k_image_text_bytes(void);

/* Stop this CPU for good (interrupts masked, WFI loop). */
__attribute__((noreturn)) void k_halt(void);

#endif
