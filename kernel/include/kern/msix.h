/* kern/msix.h - MSI-X and GICv2m arithmetic, kept apart from the hardware.
 *
 * Owns: the checks and numbers a driver needs before it touches an MSI-X
 * table or a GICv2m frame: where a function's MSI-X table lies (capability
 * words against its assigned BARs), what a GICv2m MSI_TYPER register
 * grants, one table entry's four words, and which vectors a window of
 * GICD_ISPENDR words says are pending.
 * Never: reads or writes MMIO, allocates, or trusts its input: the
 * capability comes from a device, the TYPER from the hypervisor; a table
 * outside its BAR, a BAR not assigned, an SPI range past the GIC's 1020
 * ids are refused.
 * Used by: kernel/hw/ivshmem_db.c (the ivshmem-doorbell driver),
 * arch/aarch64/src/gic_msi.c, tests/unit/test_msix.c.
 */
#ifndef KERN_MSIX_H
#define KERN_MSIX_H

#include <stdint.h>

#include "kern/pci.h"

#define K_MSIX_ENTRY_BYTES 16u
#define K_MSIX_CTRL_MASKED 1u
#define K_GICV2M_SETSPI_NS 0x040u /* the frame's doorbell: write the SPI id */
#define K_MSIX_MAX_VECTORS 64u	  /* per function: one uint64_t of vectors */

struct k_msix_table {
	uint64_t addr;	  /* CPU address of entry 0 */
	unsigned bar;	  /* BIR */
	uint32_t entries; /* table size, as the device says */
};

/* From the capability's Message Control (`ctl`) and Table Offset/BIR
 * (`table`) words and the function's BARs: 0 with `t` filled, or -EINVAL
 * (BIR > 5, a BAR that is not an assigned memory BAR, a table that does
 * not fit inside it). */
int k_msix_locate(uint16_t ctl, uint32_t table, const struct k_pci_bar bars[K_PCI_BARS],
		  struct k_msix_table *t);

/* The SPI range a GICv2m frame's MSI_TYPER grants: first interrupt id and
 * count. 0, or -EINVAL (no SPI, a base below 32, a range past id 1019). */
int k_gicv2m_range(uint32_t typer, uint32_t *first_intid, uint32_t *count);

/* Entry words (address low, address high, data, vector control, unmasked)
 * for an MSI that writes `data` to `addr`. */
void k_msix_entry(uint64_t addr, uint32_t data, uint32_t out[4]);

/* Vectors [0, nvec) map to interrupt ids first_intid + v. `pend` holds the
 * GICD_ISPENDR words from index first_intid / 32 on (`nwords` of them):
 * the mask of pending vectors (bit v). nvec is at most 64; words missing
 * from `pend` count as not pending. */
uint64_t k_msix_pending(const uint32_t *pend, unsigned nwords, uint32_t first_intid, unsigned nvec);

/* How many ISPENDR words cover ids [first_intid, first_intid + nvec). */
unsigned k_msix_pending_words(uint32_t first_intid, unsigned nvec);

#endif
