/* kern/time.h - monotonic time of the runtime.
 *
 * Owns: nothing but the contract: k_now_ns() is monotonic nanoseconds since
 * the machine started (aarch64: CNTVCT_EL0 / CNTFRQ_EL0, and QEMU starts the
 * virtual counter at machine start, so it also measures boot time).
 * Never: sleeps (see arch/board.h k_idle for that).
 * Used by: the scheduler's clock, the log, vsock timeouts.
 * Implemented by the port (arch/aarch64/src/timer.c).
 */
#ifndef KERN_TIME_H
#define KERN_TIME_H

#include <stdint.h>

uint64_t k_now_ns(void);

/* Convert `ticks` of a `freq` Hz counter (below 18 GHz) to ns without an
 * intermediate overflow; 0 when freq is 0. */
uint64_t k_ticks_to_ns(uint64_t ticks, uint64_t freq);

#endif
