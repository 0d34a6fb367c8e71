/* kern/pci.h - PCI host bridge description and the enumerated functions.
 *
 * Owns: the ECAM host bridge as the DTB describes it (pci_dt.c, portable:
 * ECAM base and bus range from "pci-host-ecam-generic", memory windows from
 * its "ranges"), and, on the unikernel (kernel/hw/pci.c), a fixed table of
 * the functions found on the root bus, with their BARs sized, assigned from
 * the windows and enabled (memory decode + bus master), and their INTx
 * enable. Which interrupt an INTx pin raises is kern/pci_irq.h's job.
 * Never: traverses bridges (they are listed, not configured), assigns I/O
 * BARs, maps BARs (drivers map what they use: k_pci_map_bar), or allocates.
 * Used by: the unikernel main, virtio_pci.c, ivshmem.c; host tests of the
 * DTB part.
 */
#ifndef KERN_PCI_H
#define KERN_PCI_H

#include <stdbool.h>
#include <stdint.h>

#include "kern/fdt.h"

#define K_PCI_MAX_FUNCS 32
#define K_PCI_BARS 6
#define K_PCI_CAP_MSIX 0x11

struct k_pci_range {
	uint64_t pci_base, cpu_base, size;
	bool present;
	bool prefetch;
};

struct k_pci_host {
	uint64_t ecam_base, ecam_size;
	uint32_t bus_start, bus_end;
	struct k_pci_range io, mem32, mem64;
};

/* Fill `h` from the first "pci-host-ecam-generic" node. Returns 0, -ENOENT
 * (no such node) or -EINVAL (bad reg, bus-range, cells or ranges). */
int k_pci_host_from_fdt(const struct k_fdt *f, struct k_pci_host *h);

#define K_PCI_BAR_MEM 0x01
#define K_PCI_BAR_IO 0x02
#define K_PCI_BAR_64 0x04
#define K_PCI_BAR_PREFETCH 0x08
#define K_PCI_BAR_ASSIGNED 0x10

struct k_pci_bar {
	uint64_t pci_addr; /* bus address, when assigned */
	uint64_t cpu_addr; /* where to access it */
	uint64_t size;	   /* 0: not implemented (or the upper half of a 64-bit BAR) */
	uint8_t flags;
};

struct k_pci_func {
	uint8_t bus, dev, fn;
	uint8_t hdr_type;
	uint16_t vendor, device;
	uint32_t class_code; /* base class << 16 | subclass << 8 | prog-if */
	uintptr_t cfg;	     /* its 4 KiB of ECAM */
	struct k_pci_bar bar[K_PCI_BARS];
};

/* Enumerate the root bus of `h`, size and assign every memory BAR, enable
 * memory decode and bus mastering, log one line per function. Maps the
 * ECAM. Returns the number of functions (>= 0) or a negative errno. */
int k_pci_init(const struct k_pci_host *h);

unsigned k_pci_count(void);
/* The i-th function in bus order, or NULL. */
const struct k_pci_func *k_pci_get(unsigned i);

/* Config space accessors; `off` must be naturally aligned and inside the
 * 4 KiB of the function (else reads return all ones, writes are dropped). */
uint8_t k_pci_cfg_r8(const struct k_pci_func *p, uint32_t off);
uint16_t k_pci_cfg_r16(const struct k_pci_func *p, uint32_t off);
uint32_t k_pci_cfg_r32(const struct k_pci_func *p, uint32_t off);
void k_pci_cfg_w16(const struct k_pci_func *p, uint32_t off, uint16_t v);
void k_pci_cfg_w32(const struct k_pci_func *p, uint32_t off, uint32_t v);

/* The function's INTx pin (1 = INTA .. 4 = INTD), or 0 when it has none
 * (or reports a value outside 1..4). */
uint8_t k_pci_intx_pin(const struct k_pci_func *p);

/* Let the function signal through its INTx pin (`on`: MSI and MSI-X
 * disabled, the command register's INTx-disable bit clear), or forbid it
 * (INTx-disable set; MSI and MSI-X untouched). */
void k_pci_intx_set(const struct k_pci_func *p, bool on);

/* Config-space offset of the function's first capability `cap_id` (0x11:
 * MSI-X), or 0 when it has none. The walk is bounded (a looping list ends). */
uint32_t k_pci_find_cap(const struct k_pci_func *p, uint8_t cap_id);

/* Map BAR `i` (assigned, memory) with attribute `normal` ? Normal : Device.
 * Returns 0, -EINVAL (no such assigned memory BAR) or the MMU's error. */
int k_pci_map_bar(const struct k_pci_func *p, unsigned i, bool normal);

#endif
