/* virtio/vsock_wire.h - the virtio "Socket Device" packet header and constants.
 *
 * Owns: the 44-byte little-endian packet header (declared once, sizes and
 * offsets asserted), its types, ops, shutdown flags and event ids.
 * Never: validates semantics; the driver side (kernel/vsock) and the device
 * side (devices/vsock) each do that for their role.
 * Used by: kernel/vsock and kernel/hw/virtio_vsock.c (driver), devices/vsock
 * (device, in uvhostd), their tests and fuzzers.
 */
#ifndef VIRTIO_VSOCK_WIRE_H
#define VIRTIO_VSOCK_WIRE_H

#include <stddef.h>
#include <stdint.h>

#define VIRTIO_VSOCK_CID_HOST 2u
#define VIRTIO_VSOCK_TYPE_STREAM 1u

#define VIRTIO_VSOCK_OP_INVALID 0u
#define VIRTIO_VSOCK_OP_REQUEST 1u
#define VIRTIO_VSOCK_OP_RESPONSE 2u
#define VIRTIO_VSOCK_OP_RST 3u
#define VIRTIO_VSOCK_OP_SHUTDOWN 4u
#define VIRTIO_VSOCK_OP_RW 5u
#define VIRTIO_VSOCK_OP_CREDIT_UPDATE 6u
#define VIRTIO_VSOCK_OP_CREDIT_REQUEST 7u

#define VIRTIO_VSOCK_SHUTDOWN_RCV 1u
#define VIRTIO_VSOCK_SHUTDOWN_SEND 2u
#define VIRTIO_VSOCK_SHUTDOWN_BOTH 3u

#define VIRTIO_VSOCK_EVENT_TRANSPORT_RESET 0u

/* The wire layout. Fields are unaligned: copy in and out (memcpy or the
 * driver's encode/decode), never dereference in place on strict-align CPUs. */
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

#endif
