/* kern/panic.h - stop the machine with a reason.
 *
 * Owns: the last words: one "PANIC: ..." line on the console, then the CPU
 * halts for good (interrupts masked).
 * Never: returns or tries to recover.
 * Used by: the unikernel when an invariant it cannot live without breaks.
 * Implemented by the port (arch/aarch64/src/panic.c).
 */
#ifndef KERN_PANIC_H
#define KERN_PANIC_H

__attribute__((noreturn, format(printf, 1, 2))) void k_panic(const char *fmt, ...);

#endif
