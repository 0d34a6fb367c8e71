/* kern/pci_irq.h - which GIC interrupt a PCI function's INTx pin raises.
 *
 * Owns: resolving (bus, device, function, INTx pin) through the ECAM host
 * bridge's "interrupt-map" / "interrupt-map-mask" (the DTB interrupt-map
 * binding, as QEMU virt and Linux use it) to a GIC shared peripheral
 * interrupt: the map's child cells (#address-cells 3 of the bridge plus its
 * #interrupt-cells 1), the interrupt parent found by phandle, and that
 * parent's own #address-cells and #interrupt-cells.
 * Never: touches hardware, allocates, or trusts the DTB: every length and
 * cell count is checked before a cell is read, the whole map is validated
 * before any entry is used, and anything but a level-high SPI of a GIC-style
 * controller (#interrupt-cells 3, directly the parent) is refused.
 * Used by: the unikernel's interrupt wake-up (apps/uvhost-vm/vsock_wake.c);
 * host unit tests (tests/unit/test_pci_irq.c).
 */
#ifndef KERN_PCI_IRQ_H
#define KERN_PCI_IRQ_H

#include <stdint.h>

#include "kern/fdt.h"

#define K_PCI_IRQ_MAX_ENTRIES 256u /* a longer map is refused */
#define K_GIC_SPI_BASE 32u
#define K_GIC_INTID_MAX 1019u

struct k_pci_intx {
	uint32_t intid;	 /* GIC interrupt id: 32 + the SPI number */
	int parent_node; /* the interrupt controller's DTB node */
};

/* The child unit address (phys.hi) of a function on the bridge. */
static inline uint32_t k_pci_devfn_hi(uint32_t bus, uint32_t dev, uint32_t fn)
{
	return (bus & 0xffu) << 16 | (dev & 0x1fu) << 11 | (fn & 7u) << 8;
}

/* Resolve INTx `pin` (1 = INTA .. 4 = INTD) of the function whose phys.hi is
 * `devfn_hi` through the first "pci-host-ecam-generic" node. Returns 0 with
 * `*out` filled, -ENOENT (no bridge, no interrupt-map, or no entry matches),
 * -EINVAL (malformed map, cells or parent) or -ENOTSUP (well-formed but not
 * a level-high GIC SPI: a nested nexus, a PPI, an edge). */
int k_pci_intx_from_fdt(const struct k_fdt *f, uint32_t devfn_hi, uint32_t pin,
			struct k_pci_intx *out);

#endif
