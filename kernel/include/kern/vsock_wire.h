/* kern/vsock_wire.h - the driver's view of the virtio-vsock packet header.
 *
 * Owns: byte-exact encode/decode between the wire header (declared once, in
 * virtio/vsock_wire.h, shared with the device side in devices/vsock) and an
 * aligned host-order struct, and the driver's queue indexes.
 * Never: validates semantics (the protocol core does) or touches queues.
 * Used by: the protocol core (kernel/vsock), the virtio glue
 * (kernel/hw/virtio_vsock.c), tests and fuzzers that craft packets.
 */
#ifndef KERN_VSOCK_WIRE_H
#define KERN_VSOCK_WIRE_H

#include <stddef.h>
#include <stdint.h>

#include "virtio/vsock_wire.h"

/* Virtqueue indexes of the device. */
#define K_VSOCK_VQ_RX 0u
#define K_VSOCK_VQ_TX 1u
#define K_VSOCK_VQ_EVENT 2u

#define K_VSOCK_HDR_SIZE 44u

/* struct virtio_vsock_event: one le32. */
#define K_VSOCK_EVENT_SIZE 4u

/* A header in host byte order, aligned: what the core works with. */
struct k_vsock_hdr {
	uint64_t src_cid;
	uint64_t dst_cid;
	uint32_t src_port;
	uint32_t dst_port;
	uint32_t len;
	uint16_t type;
	uint16_t op;
	uint32_t flags;
	uint32_t buf_alloc;
	uint32_t fwd_cnt;
};

/* Decode K_VSOCK_HDR_SIZE bytes at `wire`. */
void k_vsock_hdr_decode(struct k_vsock_hdr *h, const void *wire);

/* Encode into K_VSOCK_HDR_SIZE bytes at `wire`. */
void k_vsock_hdr_encode(void *wire, const struct k_vsock_hdr *h);

#endif
