/* The driver's side of a split ring in fake guest memory (see test_ring.h).
 * Misuse by a test is a bug in the test: it aborts with a message. */
#include "test_ring.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define RING_DESC_SIZE 16u

static void ring_die(const char *what)
{
	fprintf(stderr, "test_ring: %s\n", what);
	abort();
}

static uint64_t align_up(uint64_t v, uint64_t a)
{
	return (v + a - 1u) & ~(a - 1u);
}

void test_ring_init(struct test_ring *r, void *host, uint64_t gpa, uint64_t uaddr,
		    uint64_t mem_size, uint64_t ring_off, uint64_t data_off, uint64_t data_len,
		    uint16_t size)
{
	uint64_t end;

	if (size == 0 || (size & (size - 1u)) != 0)
		ring_die("queue size must be a power of two");
	memset(r, 0, sizeof(*r));
	r->host = host;
	r->gpa = gpa;
	r->uaddr = uaddr;
	r->mem_size = mem_size;
	r->size = size;
	r->desc_off = align_up(ring_off, 16);
	r->avail_off = r->desc_off + (uint64_t)size * RING_DESC_SIZE;
	/* flags, idx, ring[size], used_event */
	r->used_off = align_up(r->avail_off + 6u + 2u * (uint64_t)size, 4);
	/* flags, idx, ring[size], avail_event */
	end = r->used_off + 6u + 8u * (uint64_t)size;
	if (end > mem_size)
		ring_die("ring does not fit the memory");
	if (data_off > mem_size || data_len > mem_size - data_off)
		ring_die("data area outside the memory");
	if (data_off < end && r->desc_off < data_off + data_len)
		ring_die("data area overlaps the ring");
	r->data_next = align_up(data_off, 16);
	r->data_end = data_off + data_len;
	memset(r->host + r->desc_off, 0, end - r->desc_off);
}

void test_ring_addr(const struct test_ring *r, uint32_t index, struct vu_vring_addr *a)
{
	memset(a, 0, sizeof(*a));
	a->index = index;
	a->desc = r->uaddr + r->desc_off;
	a->avail = r->uaddr + r->avail_off;
	a->used = r->uaddr + r->used_off;
}

struct vring_desc *test_ring_desc(const struct test_ring *r)
{
	return (struct vring_desc *)(void *)(r->host + r->desc_off);
}

struct vring_avail *test_ring_avail(const struct test_ring *r)
{
	return (struct vring_avail *)(void *)(r->host + r->avail_off);
}

struct vring_used *test_ring_used(const struct test_ring *r)
{
	return (struct vring_used *)(void *)(r->host + r->used_off);
}

void test_ring_set_idx(struct test_ring *r, uint16_t idx)
{
	test_ring_avail(r)->idx = idx;
	test_ring_used(r)->idx = idx;
	r->last_used = idx;
}

uint64_t test_ring_alloc(struct test_ring *r, uint32_t len)
{
	uint64_t off = r->data_next;

	if (len > r->data_end || off > r->data_end - len)
		ring_die("out of guest memory for buffers");
	r->data_next = align_up(off + len, 16);
	memset(r->host + off, 0, len);
	return r->gpa + off;
}

void *test_ring_ptr(const struct test_ring *r, uint64_t gpa)
{
	if (gpa < r->gpa || gpa - r->gpa >= r->mem_size)
		ring_die("gpa outside guest memory");
	return r->host + (gpa - r->gpa);
}

uint16_t test_ring_write_chain(struct test_ring *r, const struct test_seg *seg, unsigned n)
{
	struct vring_desc *t = test_ring_desc(r);
	uint16_t head = r->next_desc;
	uint16_t i = head;

	if (n == 0 || n > r->size)
		ring_die("a chain has 1..size buffers");
	for (unsigned k = 0; k < n; k++) {
		uint16_t next = (uint16_t)((i + 1u) & (r->size - 1u));
		uint16_t flags = seg[k].write ? VRING_DESC_F_WRITE : 0;

		if (k + 1 < n)
			flags |= VRING_DESC_F_NEXT;
		t[i].addr = seg[k].gpa;
		t[i].len = seg[k].len;
		t[i].flags = flags;
		t[i].next = k + 1 < n ? next : 0;
		i = next;
	}
	r->next_desc = i;
	return head;
}

void test_ring_publish(struct test_ring *r, uint16_t head)
{
	struct vring_avail *a = test_ring_avail(r);

	a->ring[a->idx & (r->size - 1u)] = head;
	__atomic_thread_fence(__ATOMIC_RELEASE);
	a->idx++;
}

uint16_t test_ring_add(struct test_ring *r, const struct test_seg *seg, unsigned n)
{
	uint16_t head = test_ring_write_chain(r, seg, n);

	test_ring_publish(r, head);
	return head;
}

uint16_t test_ring_used_pending(const struct test_ring *r)
{
	return (uint16_t)(test_ring_used(r)->idx - r->last_used);
}

bool test_ring_pop_used(struct test_ring *r, uint32_t *id, uint32_t *len)
{
	const struct vring_used *u = test_ring_used(r);

	if (test_ring_used_pending(r) == 0)
		return false;
	__atomic_thread_fence(__ATOMIC_ACQUIRE);
	*id = u->ring[r->last_used & (r->size - 1u)].id;
	*len = u->ring[r->last_used & (r->size - 1u)].len;
	r->last_used++;
	return true;
}
