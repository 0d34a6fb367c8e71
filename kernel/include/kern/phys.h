/* kern/phys.h - 64-bit physical addresses meeting this CPU's pointers.
 *
 * Owns: the one rule for turning a physical range into a pointer on an
 * identity-mapped port: the whole range must lie at or below the highest
 * address a pointer holds (UINTPTR_MAX: 4 GiB - 1 on arm32). Addresses,
 * sizes and offsets stay 64-bit everywhere else (wire, memory table, PCI);
 * only here do they become pointers, and a range that does not fit is
 * refused, never truncated.
 * Never: maps anything (the port's k_mmu_map does) or logs (callers say
 * what was refused and why).
 * Used by: kernel/hw/ivshmem.c (windows), tests/unit/test_phys.c.
 */
#ifndef KERN_PHYS_H
#define KERN_PHYS_H

#include <stdbool.h>
#include <stdint.h>

/* True if [pa, pa + len) is non-empty, does not wrap, and its last byte is
 * at or below `limit`. */
bool k_phys_range_fits(uint64_t pa, uint64_t len, uint64_t limit);

/* The pointer for `pa` when [pa, pa + len) fits this CPU's pointers
 * (limit UINTPTR_MAX), else NULL. */
void *k_phys_ptr(uint64_t pa, uint64_t len);

/* Address bits of this CPU's pointers (32 or 64), for error messages. */
unsigned k_phys_ptr_bits(void);

#endif
