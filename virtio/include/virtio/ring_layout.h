/* virtio/ring_layout.h - the split virtqueue as it sits in memory.
 *
 * Owns: the wire layout shared by the device side (vhost/, vu/vq.h) and the
 * driver side (virtio/split_driver.h), declared once. Little-endian fields;
 * uvhost only runs on little-endian machines (x86_64, aarch64).
 */
#ifndef VIRTIO_RING_LAYOUT_H
#define VIRTIO_RING_LAYOUT_H

#include <stdint.h>

struct vring_desc {
	uint64_t addr;
	uint32_t len;
	uint16_t flags;
	uint16_t next;
};
#define VRING_DESC_F_NEXT 1u
#define VRING_DESC_F_WRITE 2u
#define VRING_DESC_F_INDIRECT 4u

struct vring_avail {
	uint16_t flags;
	uint16_t idx;
	uint16_t ring[];
};
#define VRING_AVAIL_F_NO_INTERRUPT 1u

struct vring_used_elem {
	uint32_t id;
	uint32_t len;
};

struct vring_used {
	uint16_t flags;
	uint16_t idx;
	struct vring_used_elem ring[];
};
#define VRING_USED_F_NO_NOTIFY 1u

_Static_assert(sizeof(struct vring_desc) == 16, "virtq_desc is 16 bytes");
_Static_assert(sizeof(struct vring_used_elem) == 8, "virtq_used_elem is 8 bytes");

/* EVENT_IDX: used_event follows avail->ring[size]; avail_event follows
 * used->ring[size]. Notify iff the event index lies in [old_idx, new_idx). */
static inline int vring_need_event(uint16_t event_idx, uint16_t new_idx, uint16_t old_idx)
{
	return (uint16_t)(new_idx - event_idx - 1) < (uint16_t)(new_idx - old_idx);
}

#endif
