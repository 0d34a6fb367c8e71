/* vsock_wake.h - the vsock device's INTx as the idle loop's wake-up.
 *
 * Owns: wiring the virtio-vsock function's INTx pin to a GIC SPI (route
 * from the DTB's interrupt-map, MSI-X off, INTx enabled; other functions on
 * the same SPI have their INTx disabled so nothing else holds the line),
 * and the step the main loop takes before each sleep.
 * Never: takes an interrupt (PSTATE.I stays masked; the pending SPI only
 * ends WFI) or replaces the timer, which still bounds every sleep.
 * Used by: main.c, after uvm_vsock_start(), and in the scheduler loop.
 */
#ifndef UVM_VSOCK_WAKE_H
#define UVM_VSOCK_WAKE_H

#include <stdbool.h>
#include <stdint.h>

#include "kern/fdt.h"

struct k_virtio_vsock;

struct uvm_wake {
	struct k_virtio_vsock *drv; /* NULL: not wired */
	uint32_t intid;
};

/* Wire the interrupt of `drv` (NULL: the VM has no vsock). Logs one info
 * line either way: the SPI in use, or why idle wakes on the timer only (no
 * pin, no route, no GIC). */
void uvm_vsock_wake_init(struct uvm_wake *w, struct k_virtio_vsock *drv, const struct k_fdt *f);

/* Call right before k_idle(): nonzero means vsock work arrived, so poll
 * instead of sleeping. 0 when not wired (the timer alone wakes). */
int uvm_vsock_idle_prepare(struct uvm_wake *w);

#endif
