/* kern/vsock_wire.h - the virtio-vsock packet header and constants.
 *
 * Owns: the 44-byte little-endian packet header of the virtio "Socket Device"
 * (declared once, sizes and offsets asserted), its ops, flags and the event
 * ids, plus byte-exact encode/decode to a host-order struct.
 * Never: validates semantics (the protocol core does) or touches queues.
 * Used by: the protocol core (kernel/vsock), the virtio glue
 * (kernel/hw/virtio_vsock.c), tests and fuzzers that craft packets.
 */
#ifndef KERN_VSOCK_WIRE_H
#define KERN_VSOCK_WIRE_H

#include <stddef.h>
#include <stdint.h>

#define K_VSOCK_CID_HOST 2u

#define K_VSOCK_TYPE_STREAM 1u

#define K_VSOCK_OP_REQUEST 1u
#define K_VSOCK_OP_RESPONSE 2u
#define K_VSOCK_OP_RST 3u
#define K_VSOCK_OP_SHUTDOWN 4u
#define K_VSOCK_OP_RW 5u
#define K_VSOCK_OP_CREDIT_UPDATE 6u
#define K_VSOCK_OP_CREDIT_REQUEST 7u

#define K_VSOCK_SHUTDOWN_RCV 1u
#define K_VSOCK_SHUTDOWN_SEND 2u
#define K_VSOCK_SHUTDOWN_BOTH 3u

#define K_VSOCK_EVENT_TRANSPORT_RESET 0u

/* Virtqueue indexes of the device. */
#define K_VSOCK_VQ_RX 0u
#define K_VSOCK_VQ_TX 1u
#define K_VSOCK_VQ_EVENT 2u

/* The wire layout; only ever accessed through encode/decode below, because
 * the fields are unaligned and little-endian. */
struct virtio_vsock_hdr {
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
} __attribute__((packed));

_Static_assert(sizeof(struct virtio_vsock_hdr) == 44, "virtio_vsock_hdr is 44 bytes");
_Static_assert(offsetof(struct virtio_vsock_hdr, src_port) == 16, "src_port at 16");
_Static_assert(offsetof(struct virtio_vsock_hdr, len) == 24, "len at 24");
_Static_assert(offsetof(struct virtio_vsock_hdr, type) == 28, "type at 28");
_Static_assert(offsetof(struct virtio_vsock_hdr, op) == 30, "op at 30");
_Static_assert(offsetof(struct virtio_vsock_hdr, flags) == 32, "flags at 32");
_Static_assert(offsetof(struct virtio_vsock_hdr, buf_alloc) == 36, "buf_alloc at 36");
_Static_assert(offsetof(struct virtio_vsock_hdr, fwd_cnt) == 40, "fwd_cnt at 40");

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
