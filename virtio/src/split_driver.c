/* split_driver.c - the split virtqueue, driver side (see virtio/split_driver.h).
 *
 * The device shares the ring memory and may be hostile: every value read
 * back from it (used idx, used id, used len, and descriptor links when no
 * private copy exists) is copied once, bounded, and checked against what
 * this driver itself put in flight.
 */
#include "virtio/split_driver.h"

#include <errno.h>
#include <string.h>

#define DRV_USED_ALIGN 4u
#define DRV_MAX_SIZE 32768u

/* Ring indexes are shared with a concurrently running device: atomics keep
 * each access a single load or store the compiler cannot split or repeat. */
static uint16_t ld16(const uint16_t *p)
{
	return __atomic_load_n(p, __ATOMIC_RELAXED);
}

static void st16(uint16_t *p, uint16_t v)
{
	__atomic_store_n(p, v, __ATOMIC_RELAXED);
}

size_t virtq_drv_avail_offset(uint16_t size)
{
	return sizeof(struct vring_desc) * (size_t)size;
}

size_t virtq_drv_used_offset(uint16_t size)
{
	/* flags, idx, ring[size], used_event */
	size_t end = virtq_drv_avail_offset(size) + 4u + 2u * (size_t)size + 2u;

	return (end + DRV_USED_ALIGN - 1u) & ~(size_t)(DRV_USED_ALIGN - 1u);
}

size_t virtq_drv_mem_bytes(uint16_t size)
{
	/* flags, idx, ring[size], avail_event */
	return virtq_drv_used_offset(size) + 4u + sizeof(struct vring_used_elem) * (size_t)size +
	       2u;
}

static uint16_t *used_event(struct virtq_drv *q)
{
	return &q->avail->ring[q->size];
}

static uint16_t *avail_event(struct virtq_drv *q)
{
	return (uint16_t *)(void *)&q->used->ring[q->size];
}

static uint16_t link_get(const struct virtq_drv *q, uint16_t i)
{
	if (q->links)
		return q->links[i];
	return (uint16_t)(ld16(&q->desc[i].next) & (q->size - 1u));
}

static void link_set(struct virtq_drv *q, uint16_t i, uint16_t next)
{
	if (q->links)
		q->links[i] = next;
	q->desc[i].next = next;
}

int virtq_drv_init(struct virtq_drv *q, uint16_t size, void *mem, uint64_t mem_addr, void **cookie,
		   uint16_t *chain_len, uint32_t *max_write, bool event_idx)
{
	uint8_t *m = mem;

	if (!q || !mem || !cookie || !chain_len || !max_write)
		return -EINVAL;
	if (size == 0 || size > DRV_MAX_SIZE || (size & (size - 1u)))
		return -EINVAL;
	if ((uintptr_t)mem & 15u)
		return -EINVAL;
	memset(q, 0, sizeof(*q));
	memset(mem, 0, virtq_drv_mem_bytes(size));
	q->size = size;
	q->event_idx = event_idx;
	q->desc = mem;
	q->avail = (struct vring_avail *)(void *)(m + virtq_drv_avail_offset(size));
	q->used = (struct vring_used *)(void *)(m + virtq_drv_used_offset(size));
	q->desc_addr = mem_addr;
	q->avail_addr = mem_addr + virtq_drv_avail_offset(size);
	q->used_addr = mem_addr + virtq_drv_used_offset(size);
	q->cookie = cookie;
	q->chain_len = chain_len;
	q->max_write = max_write;
	for (uint16_t i = 0; i < size; i++) {
		cookie[i] = NULL;
		chain_len[i] = 0;
		max_write[i] = 0;
		q->desc[i].next = (uint16_t)((i + 1u) & (size - 1u));
	}
	q->free_head = 0;
	q->num_free = size;
	return 0;
}

int virtq_drv_set_links(struct virtq_drv *q, uint16_t *links)
{
	if (!q || !links || q->num_free != q->size)
		return -EINVAL;
	for (uint16_t i = 0; i < q->size; i++)
		links[i] = q->desc[i].next;
	q->links = links;
	return 0;
}

/* Device-readable buffers first, then device-writable ones; the writable
 * total must fit the u32 a used element reports. */
static int check_chain(const struct virtq_buf *bufs, unsigned n, uint32_t *writable)
{
	uint64_t w = 0;
	bool seen_write = false;

	for (unsigned i = 0; i < n; i++) {
		if (bufs[i].device_writable) {
			seen_write = true;
			w += bufs[i].len;
		} else if (seen_write) {
			return -EINVAL;
		}
	}
	if (w > UINT32_MAX)
		return -EINVAL;
	*writable = (uint32_t)w;
	return 0;
}

int virtq_drv_add(struct virtq_drv *q, const struct virtq_buf *bufs, unsigned n, void *cookie)
{
	uint16_t head, i, last = 0;
	uint32_t writable;

	if (!q || !bufs || !cookie || n == 0 || n > q->size)
		return -EINVAL;
	if (q->broken)
		return -EIO;
	if (check_chain(bufs, n, &writable))
		return -EINVAL;
	if (n > q->num_free)
		return -ENOSPC;
	head = i = q->free_head;
	for (unsigned k = 0; k < n; k++) {
		struct vring_desc *d = &q->desc[i];
		uint16_t flags = bufs[k].device_writable ? VRING_DESC_F_WRITE : 0;
		if (k + 1 < n)
			flags |= VRING_DESC_F_NEXT;
		d->addr = bufs[k].addr;
		d->len = bufs[k].len;
		d->flags = flags;
		/* The descriptor's next is already the free-list link, which is
		 * also the chain link for all but the last one. */
		link_set(q, i, link_get(q, i));
		last = i;
		i = link_get(q, i);
	}
	q->free_head = link_get(q, last);
	q->num_free = (uint16_t)(q->num_free - n);
	q->cookie[head] = cookie;
	q->chain_len[head] = (uint16_t)n;
	q->max_write[head] = writable;
	q->chains++;

	q->avail->ring[q->avail_idx & (q->size - 1u)] = head;
	/* The descriptors and ring entry before the index that publishes them. */
	__atomic_thread_fence(__ATOMIC_RELEASE);
	q->avail_idx++;
	st16(&q->avail->idx, q->avail_idx);
	return head;
}

bool virtq_drv_kick_needed(struct virtq_drv *q)
{
	uint16_t old = q->kicked_avail_idx, now = q->avail_idx;

	/* Our avail idx store must be visible before we read the device's
	 * suppression state, or both sides may decide not to act. */
	__atomic_thread_fence(__ATOMIC_SEQ_CST);
	q->kicked_avail_idx = now;
	if (old == now)
		return false;
	if (q->event_idx)
		return vring_need_event(ld16(avail_event(q)), now, old) != 0;
	return !(ld16(&q->used->flags) & VRING_USED_F_NO_NOTIFY);
}

static void free_chain(struct virtq_drv *q, uint16_t head)
{
	uint16_t i = head, n = q->chain_len[head];

	for (uint16_t k = 1; k < n; k++)
		i = link_get(q, i);
	/* The last descriptor of the chain links to the old free head. */
	link_set(q, i, q->free_head);
	q->free_head = head;
	q->num_free = (uint16_t)(q->num_free + n);
	q->cookie[head] = NULL;
	q->chain_len[head] = 0;
	q->max_write[head] = 0;
	q->chains--;
}

int virtq_drv_get_used(struct virtq_drv *q, void **cookie, uint32_t *len)
{
	uint16_t used_idx, slot;
	uint32_t id, ulen;

	if (q->broken)
		return -EIO;
	used_idx = ld16(&q->used->idx);
	if (used_idx == q->last_used)
		return 0;
	/* More used entries than chains in flight is a lie. */
	if ((uint16_t)(used_idx - q->last_used) > q->chains) {
		q->broken = true;
		return -EIO;
	}
	/* Read the element only after seeing the index that published it. */
	__atomic_thread_fence(__ATOMIC_ACQUIRE);
	slot = (uint16_t)(q->last_used & (q->size - 1u));
	id = __atomic_load_n(&q->used->ring[slot].id, __ATOMIC_RELAXED);
	ulen = __atomic_load_n(&q->used->ring[slot].len, __ATOMIC_RELAXED);
	if (id >= q->size || !q->cookie[id] || ulen > q->max_write[id]) {
		q->broken = true;
		return -EIO;
	}
	*cookie = q->cookie[id];
	*len = ulen;
	free_chain(q, (uint16_t)id);
	q->last_used++;
	if (q->event_idx && !q->notify_off)
		st16(used_event(q), q->last_used);
	return 1;
}

bool virtq_drv_enable_notify(struct virtq_drv *q)
{
	q->notify_off = false;
	if (q->event_idx)
		st16(used_event(q), q->last_used);
	else
		st16(&q->avail->flags, 0);
	/* Publish the request before re-reading used idx (see kick_needed). */
	__atomic_thread_fence(__ATOMIC_SEQ_CST);
	return ld16(&q->used->idx) != q->last_used;
}

void virtq_drv_disable_notify(struct virtq_drv *q)
{
	q->notify_off = true;
	/* With EVENT_IDX the flags must stay 0; an event index just behind us
	 * is crossed only after 65535 more completions. */
	if (q->event_idx)
		st16(used_event(q), (uint16_t)(q->last_used - 1u));
	else
		st16(&q->avail->flags, VRING_AVAIL_F_NO_INTERRUPT);
}

uint16_t virtq_drv_in_flight(const struct virtq_drv *q)
{
	return q->chains;
}
