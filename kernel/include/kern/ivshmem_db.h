/* kern/ivshmem_db.h - QEMU's ivshmem-doorbell as the service VM's doorbell.
 *
 * Owns: every ivshmem function (1af4:1110) that has an MSI-X capability, in
 * PCI order, as doorbell device i (at most K_IVSHMEM_DB_MAX): its BAR0
 * registers (IVPosition: our peer id; Doorbell: peer << 16 | vector), its
 * MSI-X table (BAR1) programmed so vector v raises GICv2m SPI first + v,
 * and the counters of interrupts taken and doorbells written. Interrupts
 * are never taken by the CPU: k_ivshmem_db_take() consumes the pending
 * bits (arch/board.h), many MSIs of one vector between two takes count
 * once, so a storm costs one bit per vector per turn.
 * Never: maps BAR2 (the server's memory is of no use to us), trusts the
 * device's MSI-X capability (kern/msix.h checks it), allocates.
 * Used by: the service VM's doorbell service (apps/uvhost-vm/doorbell.c).
 */
#ifndef KERN_IVSHMEM_DB_H
#define KERN_IVSHMEM_DB_H

#include <stdint.h>

#include "kern/fdt.h"
#include "kern/pci.h"

#define K_IVSHMEM_DB_MAX 4u
#define K_IVSHMEM_DB_REG_IVPOSITION 8u
#define K_IVSHMEM_DB_REG_DOORBELL 12u
#define K_IVSHMEM_DB_MAX_VECTOR 255u /* QEMU takes the low 8 bits */

struct k_ivshmem_db {
	const struct k_pci_func *pci;
	uintptr_t regs;	      /* BAR0 */
	uint32_t peer_id;     /* IVPosition: our id on the server */
	uint32_t first_intid; /* vector v is interrupt id first_intid + v */
	unsigned nvec;	      /* vectors wired (<= 64) */
	uint64_t irqs;	      /* pending vectors consumed */
	uint64_t rings;	      /* doorbell writes */
};

/* Find, map and wire every doorbell device (needs the GIC's v2m frame).
 * Returns how many work (>= 0); one log line per device. */
int k_ivshmem_db_init(const struct k_fdt *f);

unsigned k_ivshmem_db_count(void);
struct k_ivshmem_db *k_ivshmem_db_get(unsigned i);

/* The vectors that fired since the last take (bit v), now cleared. */
uint64_t k_ivshmem_db_take(struct k_ivshmem_db *d);

/* Ring `peer`'s `vector`. 0, or -EINVAL (peer > 0xffff, vector > 255). */
int k_ivshmem_db_ring(struct k_ivshmem_db *d, uint32_t peer, uint32_t vector);

#endif
