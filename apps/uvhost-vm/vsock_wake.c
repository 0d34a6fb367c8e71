/* The vsock device's INTx as the idle loop's wake-up. */
#include "vsock_wake.h"

#include <stdbool.h>
#include <stdint.h>

#include "arch/board.h"
#include "kern/log.h"
#include "kern/pci.h"
#include "kern/pci_irq.h"
#include "kern/virtio_vsock.h"

static int route(const struct k_fdt *f, const struct k_pci_func *p, struct k_pci_intx *x)
{
	uint8_t pin = k_pci_intx_pin(p);

	if (!pin)
		return -1;
	return k_pci_intx_from_fdt(f, k_pci_devfn_hi(p->bus, p->dev, p->fn), pin, x);
}

/* A level line is shared by wiring: another function holding it (its ISR
 * never read by a polling driver) would keep WFI from ever sleeping. */
static unsigned silence_sharers(const struct k_fdt *f, const struct k_pci_func *self,
				uint32_t intid)
{
	unsigned n = 0;

	for (unsigned i = 0; i < k_pci_count(); i++) {
		const struct k_pci_func *q = k_pci_get(i);
		struct k_pci_intx x;

		if (q != self && route(f, q, &x) == 0 && x.intid == intid) {
			k_pci_intx_set(q, false);
			n++;
		}
	}
	return n;
}

void uvm_vsock_wake_init(struct uvm_wake *w, struct k_virtio_vsock *v, const struct k_fdt *f)
{
	const struct k_pci_func *p;
	struct k_pci_intx x;
	unsigned shared;
	int r;

	w->drv = NULL;
	if (!v)
		return; /* no vsock: nothing to wake for */
	p = v->pci->pci;
	if (!k_pci_intx_pin(p)) {
		k_info("vsock: no INTx pin: idle wakes on the timer only");
		return;
	}
	r = route(f, p, &x);
	if (r) {
		k_info("vsock: no usable INTx route in the DTB (%d): idle wakes on the timer only",
		       r);
		return;
	}
	shared = silence_sharers(f, p, x.intid);
	k_pci_intx_set(p, true);
	r = k_board_wake_spi(x.parent_node, x.intid);
	if (r) {
		k_pci_intx_set(p, false);
		k_info("vsock: GIC cannot take SPI %u (%d): idle wakes on the timer only",
		       (unsigned)(x.intid - K_GIC_SPI_BASE), r);
		return;
	}
	w->intid = x.intid;
	w->drv = v;
	k_info("vsock: idle wake-up on INTx pin %c, GIC SPI %u (intid %u), %u sharer(s) silenced",
	       'A' + k_pci_intx_pin(p) - 1, (unsigned)(x.intid - K_GIC_SPI_BASE), (unsigned)x.intid,
	       shared);
}

int uvm_vsock_idle_prepare(struct uvm_wake *w)
{
	int r;

	if (!w->drv)
		return 0;
	r = k_virtio_vsock_idle_prepare(w->drv);
	if (r >= 0)
		return r;
	/* A broken driver never reads the ISR again: let go of its line. */
	k_board_wake_spi_off(w->intid);
	w->drv = NULL;
	k_warn("vsock: driver stopped (%d): idle wakes on the timer only", r);
	return 0;
}
