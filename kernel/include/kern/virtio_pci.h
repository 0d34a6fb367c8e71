/* kern/virtio_pci.h - the virtio-pci modern transport, driver side.
 *
 * Owns: one virtio-pci function's capabilities (common, notify, ISR and
 * device config windows found through the vendor capability list), the
 * device status handshake, feature negotiation, queue setup and notify.
 * Never: allocates ring memory or knows what the device is; drivers
 * (kernel/hw/virtio_vsock.c) bring their rings (virtio/split_driver.h).
 * Used by: the unikernel main, which probes it from PCI enumeration, and the
 * virtio drivers. The unikernel is identity-mapped: a pointer is its address.
 */
#ifndef KERN_VIRTIO_PCI_H
#define KERN_VIRTIO_PCI_H

#include <stdbool.h>
#include <stdint.h>

#define VIRTIO_F_VERSION_1 32u
#define VIRTIO_F_RING_EVENT_IDX 29u

#define VIRTIO_STATUS_ACKNOWLEDGE 1u
#define VIRTIO_STATUS_DRIVER 2u
#define VIRTIO_STATUS_DRIVER_OK 4u
#define VIRTIO_STATUS_FEATURES_OK 8u
#define VIRTIO_STATUS_NEEDS_RESET 0x40u
#define VIRTIO_STATUS_FAILED 0x80u

struct k_pci_func;

struct virtio_pci_dev {
	uint16_t device_id; /* PCI device id, e.g. 0x1053 for vsock */
	volatile uint8_t *common;
	volatile uint8_t *notify_base;
	uint32_t notify_mult;
	volatile uint8_t *isr;
	volatile uint8_t *device_cfg;
	uint32_t device_cfg_len;
	uint64_t features; /* negotiated */
	/* Filled by virtio_pci_probe(): */
	uint32_t notify_len; /* bytes of the notify window */
	uint16_t num_queues;
	const struct k_pci_func *pci;
};

/* Fill `d` from PCI function `p` (vendor 0x1af4, device 0x1040..0x107f):
 * walk its vendor capabilities for the common, notify, ISR and device
 * config windows (first of each kind), check that each lies inside an
 * assigned memory BAR, and map those BARs as Device memory. Returns 0,
 * -ENODEV (not a modern virtio device) or -EINVAL (a capability is missing,
 * malformed or points outside its BAR). */
int virtio_pci_probe(struct virtio_pci_dev *d, const struct k_pci_func *p);

/* Device features as offered (all 64 bits). */
uint64_t virtio_pci_device_features(struct virtio_pci_dev *d);

/* Reset the device (status 0, waits until it reads back 0), then set
 * ACKNOWLEDGE|DRIVER. Returns 0 or -EIO. */
int virtio_pci_reset(struct virtio_pci_dev *d);

/* Offer `wanted & device features` (VERSION_1 is required), set
 * FEATURES_OK and check it stuck. Stores the result in d->features.
 * Returns 0, -ENOTSUP without VERSION_1, or -EIO. */
int virtio_pci_negotiate(struct virtio_pci_dev *d, uint64_t wanted);

/* Largest size the device allows for queue `q` (0: no such queue). */
uint16_t virtio_pci_queue_max(struct virtio_pci_dev *d, uint16_t q);

/* Program queue `q` with `size` entries at the given device addresses and
 * enable it. Returns 0 or -EINVAL. */
int virtio_pci_queue_enable(struct virtio_pci_dev *d, uint16_t q, uint16_t size, uint64_t desc,
			    uint64_t avail, uint64_t used);

/* Tell the device queue `q` has new buffers. */
void virtio_pci_notify(struct virtio_pci_dev *d, uint16_t q);

/* Set DRIVER_OK. */
void virtio_pci_driver_ok(struct virtio_pci_dev *d);

/* Read `len` bytes of device config at `off`, retrying while
 * config_generation changes. Returns 0 or -EINVAL when out of range. */
int virtio_pci_config_read(struct virtio_pci_dev *d, uint32_t off, void *buf, uint32_t len);

/* Read and clear the ISR status (bit 0: queue, bit 1: config change). With
 * MSI-X off this also deasserts the function's INTx line. Ordered before
 * any later memory access (ring reads). */
uint8_t virtio_pci_isr(struct virtio_pci_dev *d);

#endif
