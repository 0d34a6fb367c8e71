/* arch/crash.h - what the Arm ports' crash reports share.
 *
 * Owns: printing straight to the UART through a stack buffer (no stdio
 * state is trusted after a fault), and naming a long-descriptor fault
 * status code (aarch64 ESR.ISS[5:0]; arm32 DFSR/IFSR[5:0] with LPAE: the
 * same encoding).
 * Never: decides that a fault is fatal; each port's exceptions.c does.
 * Used by: arch/aarch64/src/exceptions.c, arch/arm32/src/exceptions.c.
 */
#ifndef ARCH_CRASH_H
#define ARCH_CRASH_H

void k_crash_out(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
const char *k_crash_fsc_name(unsigned fsc);

#endif
