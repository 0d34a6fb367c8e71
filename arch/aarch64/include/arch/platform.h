/* arch/platform.h - what the aarch64 port offers the unikernel main.
 *
 * Owns: the platform contract of QEMU's `virt` board that cannot come from
 * the DTB (where the DTB is, the fallback UART), console selection, the
 * idle wait, and stopping the machine.
 * Never: enumerates devices (kernel/hw does) or parses bootargs.
 * Used by: apps/uvhost-vm/main.c.
 */
#ifndef ARCH_PLATFORM_H
#define ARCH_PLATFORM_H

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
int k_platform_init_irq(const struct k_fdt *f);

/* Sleep at most `max_ns` (WFI until the virtual timer fires), or less if an
 * interrupt is already pending. Never longer. */
void k_idle(uint64_t max_ns);

/* Image extent from the linker script. */
uint64_t k_image_start(void);
uint64_t k_image_end(void);

/* Stop this CPU for good (interrupts masked, WFI loop). */
__attribute__((noreturn)) void k_halt(void);

#endif
