/* virtio_rng.h - a virtio-rng self-test of the virtio-pci transport.
 *
 * Owns: one queue of a virtio-rng device (1af4:1044) for one request at
 * boot: reset, negotiate VERSION_1, size and enable queue 0, DRIVER_OK, ask
 * for 16 bytes and wait (bounded) for them.
 * Never: serves entropy to anyone; it proves the transport and the driver
 * ring (virtio/split_driver.h) against a real device.
 * Used by: main.c at boot.
 */
#ifndef UVM_VIRTIO_RNG_H
#define UVM_VIRTIO_RNG_H

#include "kern/virtio_pci.h"

#define VIRTIO_RNG_PCI_ID 0x1044

/* Returns 0, or a negative errno after logging what failed. */
int uvm_rng_selftest(struct virtio_pci_dev *d);

#endif
