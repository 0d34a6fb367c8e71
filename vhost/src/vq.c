/* vq.c - split virtqueue, device side (see vu/vq.h).
 *
 * Every value taken from driver-owned memory is copied into a local once and
 * checked there, never re-read: the guest may rewrite its rings while we walk
 * them.
 */
#include "vu/vq.h"

#include <errno.h>
#include <stddef.h>

#define VQ_DESC_SIZE 16u
#define VQ_DESC_ALIGN 16u
#define VQ_AVAIL_ALIGN 2u
#define VQ_USED_ALIGN 4u

/* ---- guest memory access ------------------------------------------------ */

/* Ring indexes are shared with a concurrently running driver: atomics keep
 * each access a single load or store the compiler cannot split or repeat. */
static uint16_t ring_load16(const uint16_t *p)
{
	return __atomic_load_n(p, __ATOMIC_RELAXED);
}

static void ring_store16(uint16_t *p, uint16_t v)
{
	__atomic_store_n(p, v, __ATOMIC_RELAXED);
}

static void ring_store32(uint32_t *p, uint32_t v)
{
	__atomic_store_n(p, v, __ATOMIC_RELAXED);
}

/* Indirect tables carry no alignment promise, so descriptors are copied
 * bytewise; the compiler fence stops the copy from being elided and the
 * fields re-read from guest memory after they were checked. */
static void desc_read(struct vring_desc *d, const uint8_t *table, uint32_t i)
{
	__builtin_memcpy(d, table + (uint64_t)i * VQ_DESC_SIZE, sizeof(*d));
	__atomic_signal_fence(__ATOMIC_SEQ_CST);
}

/* The spec sizes (virtio 1.x, "Split Virtqueues") always include the
 * used_event / avail_event words, and mapping them unconditionally means a
 * later EVENT_IDX switch can never reach past what was checked. */
static uint64_t avail_bytes(uint16_t size)
{
	return 6u + 2u * (uint64_t)size;
}

static uint64_t used_bytes(uint16_t size)
{
	return 6u + 8u * (uint64_t)size;
}

static uint16_t *used_event(const struct vu_vq *vq)
{
	return &vq->avail->ring[vq->size];
}

static uint16_t *avail_event(const struct vu_vq *vq)
{
	return (uint16_t *)(void *)&vq->used->ring[vq->size];
}

/* ---- state -------------------------------------------------------------- */

static bool vq_configured(const struct vu_vq *vq)
{
	return vq->addr_set && vu_vq_size_valid(vq->size);
}

static bool vq_ready(const struct vu_vq *vq)
{
	return vq->started && vq_configured(vq);
}

/* Break the ring, keeping the reason for the back-end's log line. Cold and
 * out of line: the idle poll path must stay as small as it was. */
__attribute__((cold, noinline)) static int vq_fail(struct vu_vq *vq, const char *why, uint32_t head,
						   uint64_t addr)
{
	vq->broken = true;
	vq->n_errors++;
	vq->err_why = why;
	vq->err_head = head;
	vq->err_addr = addr;
	return -EIO;
}

/* Map, or break the ring: a ring whose memory vanished cannot be served, and
 * its cleared pointers guarantee nothing stale is touched. */
static int vq_usable(struct vu_vq *vq, const struct vu_mem *mem)
{
	if (vu_vq_map(vq, mem) < 0)
		return vq_fail(vq, "ring addresses are not in mapped memory", VU_NO_HEAD,
			       vq->desc_addr);
	return 0;
}

static void inuse_set(struct vu_vq *vq, uint16_t head)
{
	if (vq->inuse_map)
		vq->inuse_map[head >> 3] |= (uint8_t)(1u << (head & 7u));
}

static void inuse_clear(struct vu_vq *vq, uint16_t head)
{
	if (vq->inuse_map)
		vq->inuse_map[head >> 3] &= (uint8_t) ~(1u << (head & 7u));
}

bool vu_vq_head_in_use(const struct vu_vq *vq, uint16_t head)
{
	if (!vq->inuse_map)
		return vq->inuse != 0;
	return (vq->inuse_map[head >> 3] >> (head & 7u)) & 1u;
}

void vu_vq_init(struct vu_vq *vq, uint16_t index)
{
	__builtin_memset(vq, 0, sizeof(*vq));
	vq->index = index;
	vq->kick_fd = -1;
	vq->call_fd = -1;
	vq->err_fd = -1;
	vq->epoch = 1;
}

void vu_vq_reset(struct vu_vq *vq)
{
	uint16_t index = vq->index;
	int kick = vq->kick_fd, call = vq->call_fd, err = vq->err_fd;
	uint32_t epoch = vq->epoch + 1u;
	uint8_t *map = vq->inuse_map;

	vu_vq_init(vq, index);
	vq->inuse_map = map;
	if (map)
		__builtin_memset(map, 0, VU_VQ_INUSE_BYTES);
	vq->kick_fd = kick;
	vq->call_fd = call;
	vq->err_fd = err;
	/* 0 means "no token": skip it when the counter wraps. */
	vq->epoch = epoch ? epoch : 1u;
}

bool vu_vq_size_valid(uint32_t size)
{
	return size != 0 && size <= VU_VQ_MAX_SIZE && (size & (size - 1)) == 0;
}

/* ---- ring mapping ------------------------------------------------------- */

static void *vq_translate(const struct vu_vq *vq, const struct vu_mem *mem, uint64_t addr,
			  uint64_t len, uintptr_t align)
{
	void *p;

	if (vq->addr_is_gpa)
		p = vu_mem_gpa_to_host(mem, addr, len, NULL);
	else
		p = vu_mem_uaddr_to_host(mem, addr, len, NULL);
	/* Misaligned rings break the spec and would make every index access
	 * undefined behaviour here. */
	if (p && ((uintptr_t)p & (align - 1)) != 0)
		return NULL;
	return p;
}

static void vq_unmap(struct vu_vq *vq)
{
	vq->desc = NULL;
	vq->avail = NULL;
	vq->used = NULL;
	vq->mapped = false;
}

/* Hot: every idle ring's poll calls vu_vq_map() and vu_vq_pop(). Aligned so
 * their short idle paths do not move across fetch blocks with unrelated edits
 * elsewhere in this file (bench_ring_poll varied by ~1 ns/ring without). */
__attribute__((aligned(64))) int vu_vq_map(struct vu_vq *vq, const struct vu_mem *mem)
{
	void *desc, *avail, *used;

	if (vq->mapped && vq->mem_generation == mem->generation)
		return 0;
	vq_unmap(vq);
	if (!vq_configured(vq))
		return -EFAULT;
	desc = vq_translate(vq, mem, vq->desc_addr, (uint64_t)vq->size * VQ_DESC_SIZE,
			    VQ_DESC_ALIGN);
	avail = vq_translate(vq, mem, vq->avail_addr, avail_bytes(vq->size), VQ_AVAIL_ALIGN);
	used = vq_translate(vq, mem, vq->used_addr, used_bytes(vq->size), VQ_USED_ALIGN);
	if (!desc || !avail || !used)
		return -EFAULT;
	vq->desc = desc;
	vq->avail = avail;
	vq->used = used;
	vq->mem_generation = mem->generation;
	vq->mapped = true;
	return 0;
}

/* ---- chain walk --------------------------------------------------------- */

struct vq_walk {
	const struct vu_mem *mem;
	struct vu_mem_hint *hint;
	struct vu_chain *chain;
	uint32_t n_iov;
	bool writable_seen;
	bool no_indirect;
	/* The first failure: what and where, for vq_fail(). */
	const char *why;
	uint64_t addr;
};

static int walk_fail(struct vq_walk *w, const char *why, uint64_t addr)
{
	w->why = why;
	w->addr = addr;
	return -EIO;
}

static int walk_buffer(struct vq_walk *w, const struct vring_desc *d)
{
	bool writable = (d->flags & VRING_DESC_F_WRITE) != 0;
	uint32_t before = w->n_iov;

	/* Devices rely on all readable bytes preceding all writable ones. */
	if (!writable && w->writable_seen)
		return walk_fail(w, "readable descriptor after a writable one", d->addr);
	w->writable_seen |= writable;
	if (d->len == 0)
		return 0;
	/* memtable refuses unmapped and wrapping ranges alike. */
	if (vu_mem_gpa_to_iov(w->mem, d->addr, d->len, w->chain->iov, &w->n_iov, VU_CHAIN_MAX_IOV,
			      w->hint) != 0)
		return walk_fail(w, "buffer not in mapped memory (or too many pieces)", d->addr);
	/* No overflow: at most VU_CHAIN_MAX_IOV non-empty buffers of < 4 GiB. */
	if (writable) {
		w->chain->n_in += w->n_iov - before;
		w->chain->in_len += d->len;
	} else {
		w->chain->n_out += w->n_iov - before;
		w->chain->out_len += d->len;
	}
	return 0;
}

static int walk_table(struct vq_walk *w, const uint8_t *table, uint32_t n, uint32_t first,
		      bool indirect);

static int walk_indirect(struct vq_walk *w, const struct vring_desc *d)
{
	const uint8_t *table;

	/* The spec forbids NEXT here: a chain ends with its indirect table. */
	if (w->no_indirect)
		return walk_fail(w, "indirect descriptor but RING_INDIRECT_DESC not negotiated",
				 d->addr);
	if (d->flags & VRING_DESC_F_NEXT)
		return walk_fail(w, "indirect descriptor with NEXT set", d->addr);
	if (d->len == 0 || d->len % VQ_DESC_SIZE != 0 || d->len / VQ_DESC_SIZE > VU_VQ_MAX_SIZE)
		return walk_fail(w, "indirect table length is 0, not a multiple of 16 or too long",
				 d->addr);
	table = vu_mem_gpa_to_host(w->mem, d->addr, d->len, w->hint);
	if (!table)
		return walk_fail(w, "indirect table not in mapped memory", d->addr);
	return walk_table(w, table, d->len / VQ_DESC_SIZE, 0, true);
}

/* Follow NEXT links through one table of n descriptors, from `first` (the
 * head, unchecked until here). More than n steps can only mean a loop. */
static int walk_table(struct vq_walk *w, const uint8_t *table, uint32_t n, uint32_t first,
		      bool indirect)
{
	uint32_t i = first;
	uint32_t steps = 0;
	struct vring_desc d;
	int rc;

	for (;;) {
		if (i >= n)
			return walk_fail(w, "descriptor index beyond the table", i);
		if (++steps > n)
			return walk_fail(w, "descriptor chain loops or is longer than the table",
					 i);
		desc_read(&d, table, i);
		if (d.flags & VRING_DESC_F_INDIRECT) {
			if (indirect)
				return walk_fail(w, "indirect table inside an indirect table",
						 d.addr);
			return walk_indirect(w, &d);
		}
		rc = walk_buffer(w, &d);
		if (rc)
			return rc;
		if (!(d.flags & VRING_DESC_F_NEXT))
			return 0;
		i = d.next;
	}
}

static int vq_walk_chain(struct vu_vq *vq, const struct vu_mem *mem, uint16_t head,
			 struct vu_chain *chain)
{
	struct vq_walk w = {
		.mem = mem, .hint = &vq->hint, .chain = chain, .no_indirect = vq->no_indirect};

	chain->head = head;
	chain->n_out = 0;
	chain->n_in = 0;
	chain->out_len = 0;
	chain->in_len = 0;
	if (walk_table(&w, (const uint8_t *)vq->desc, vq->size, head, false) != 0)
		return vq_fail(vq, w.why, head, w.addr);
	return 0;
}

/* ---- inflight tracking (vhost-user "Inflight I/O tracking", split) ------ */

static void inflight_mark(struct vu_vq *vq, uint16_t head)
{
	struct vu_inflight_desc *d;

	if (!vq->inflight)
		return;
	d = &vq->inflight->desc[head];
	d->counter = ++vq->inflight_counter;
	/* A crash must never leave inflight=1 next to a stale counter. */
	__atomic_thread_fence(__ATOMIC_RELEASE);
	d->inflight = 1;
}

static void inflight_pre_put(struct vu_vq *vq, uint16_t head)
{
	struct vu_inflight_queue *q = vq->inflight;

	if (!q)
		return;
	q->desc[head].next = q->last_batch_head;
	q->last_batch_head = head;
	__atomic_thread_fence(__ATOMIC_RELEASE);
}

static void inflight_post_put(struct vu_vq *vq, uint16_t head)
{
	struct vu_inflight_queue *q = vq->inflight;

	if (!q)
		return;
	q->desc[head].inflight = 0;
	__atomic_thread_fence(__ATOMIC_RELEASE);
	q->used_idx = vq->used_idx;
}

/* ---- pop / push / notify ------------------------------------------------ */

/* Tell the driver which avail entry we wait for, then look again: an entry
 * added before the driver could see the new avail_event would otherwise
 * wait for a kick that never comes. */
static uint16_t vq_publish_avail_event(struct vu_vq *vq)
{
	ring_store16(avail_event(vq), vq->last_avail_idx);
	__atomic_thread_fence(__ATOMIC_SEQ_CST);
	vq->avail_event_at = avail_event(vq);
	vq->avail_event_gen = vq->mem_generation;
	vq->avail_event_val = vq->last_avail_idx;
	return ring_load16(&vq->avail->idx);
}

/* The same value already stored at the same place and fenced: every later
 * load of avail idx is ordered after that store, so publishing again on
 * each idle poll buys nothing. */
static bool vq_avail_event_current(const struct vu_vq *vq)
{
	return vq->avail_event_at == avail_event(vq) && vq->avail_event_gen == vq->mem_generation &&
	       vq->avail_event_val == vq->last_avail_idx;
}

/* Entries waiting, or -EIO if the driver claims more than the ring holds. */
static int vq_pending(struct vu_vq *vq)
{
	uint16_t avail_idx = ring_load16(&vq->avail->idx);
	uint16_t n = (uint16_t)(avail_idx - vq->last_avail_idx);

	if (n == 0 && vq->event_idx && !vq_avail_event_current(vq))
		n = (uint16_t)(vq_publish_avail_event(vq) - vq->last_avail_idx);
	if (n > vq->size)
		return vq_fail(vq, "driver moved the avail index by more than the ring size",
			       VU_NO_HEAD, vq->avail_addr);
	/* Ring entries must be read after the index that published them. */
	__atomic_thread_fence(__ATOMIC_ACQUIRE);
	return n;
}

/* Take the chain at last_avail_idx, which vq_pending() said is there. Out
 * of line: the idle poll (vu_vq_pop on an empty ring) then needs few
 * registers and stays as cheap as it was before heads were tracked. */
__attribute__((noinline)) static int vq_take(struct vu_vq *vq, const struct vu_mem *mem,
					     struct vu_chain *chain)
{
	uint16_t head = ring_load16(&vq->avail->ring[vq->last_avail_idx & (vq->size - 1u)]);

	if (head >= vq->size)
		return vq_fail(vq, "avail ring names a head beyond the ring size", head,
			       vq->avail_addr);
	if (vq->inuse_map && vu_vq_head_in_use(vq, head))
		return vq_fail(vq, "driver posted a head that is still in use", head,
			       vq->avail_addr);
	if (vq_walk_chain(vq, mem, head, chain) != 0)
		return -EIO;
	vq->last_avail_idx++;
	vq->inuse++;
	vq->n_popped++;
	inuse_set(vq, head);
	vq->unpop_head = head;
	vq->unpop_ok = true;
	inflight_mark(vq, head);
	/* Keep avail_event current while busy, with a plain store: the fence
	 * and re-read matter only when we are about to wait, and vq_pending()
	 * does those when the ring looks empty. A fence per pop was ~7% of
	 * uvhostd's CPU at 550k IOPS (bench/RESULTS.md). */
	if (vq->event_idx) {
		ring_store16(avail_event(vq), vq->last_avail_idx);
		vq->avail_event_at = NULL; /* not fenced */
	}
	return 1;
}

__attribute__((aligned(64))) int vu_vq_pop(struct vu_vq *vq, const struct vu_mem *mem,
					   struct vu_chain *chain)
{
	int n;

	if (vq->broken)
		return -EIO;
	if (!vq_ready(vq))
		return 0;
	if (vq_usable(vq, mem))
		return -EIO;
	n = vq_pending(vq);
	if (n <= 0)
		return n;
	return vq_take(vq, mem, chain);
}

int vu_vq_chain_from_head(struct vu_vq *vq, const struct vu_mem *mem, uint16_t head,
			  struct vu_chain *chain)
{
	if (vq->broken)
		return -EIO;
	if (!vq_configured(vq))
		return -EINVAL;
	if (vq_usable(vq, mem))
		return -EIO;
	if (head >= vq->size)
		return vq_fail(vq, "resubmitted head beyond the ring size", head, 0);
	return vq_walk_chain(vq, mem, head, chain) != 0 ? -EIO : 0;
}

int vu_vq_drop(struct vu_vq *vq, uint16_t head)
{
	if (head >= vq->size || vq->inuse == 0 || !vu_vq_head_in_use(vq, head))
		return -EINVAL;
	inuse_clear(vq, head);
	vq->inuse--;
	vq->unpop_ok = false;
	return 0;
}

int vu_vq_unpop(struct vu_vq *vq, uint16_t head)
{
	if (!vq->unpop_ok || vq->unpop_head != head)
		return -EINVAL;
	vq->unpop_ok = false;
	vq->last_avail_idx--;
	vq->inuse--;
	vq->n_popped--;
	inuse_clear(vq, head);
	if (vq->inflight) {
		/* As if never taken: the mark goes, the counter steps back. */
		vq->inflight->desc[head].inflight = 0;
		vq->inflight_counter--;
	}
	if (vq->event_idx) {
		ring_store16(avail_event(vq), vq->last_avail_idx);
		vq->avail_event_at = NULL;
	}
	return 0;
}

/* Pushing is allowed on a broken ring: chains popped before the breakage are
 * still the device's to complete, and the driver is owed their results. */
int vu_vq_push(struct vu_vq *vq, const struct vu_mem *mem, uint16_t head, uint32_t len)
{
	struct vring_used_elem *e;
	uint16_t old, new;

	if (!vq_configured(vq)) {
		vq->err_why = "completion on a ring that is not set up";
		return -EIO;
	}
	if (head >= vq->size || !vu_vq_head_in_use(vq, head)) {
		/* Not the ring's fault: refused, the ring keeps running. */
		vq->err_why = "completion for a head that is not in use";
		vq->err_head = head;
		return -EIO;
	}
	if (vq_usable(vq, mem))
		return -EIO;
	inuse_clear(vq, head);
	vq->unpop_ok = false;
	inflight_pre_put(vq, head);
	e = &vq->used->ring[vq->used_idx & (vq->size - 1u)];
	ring_store32(&e->id, head);
	ring_store32(&e->len, len);
	/* The element must be visible before the index that publishes it. */
	__atomic_thread_fence(__ATOMIC_RELEASE);
	old = vq->used_idx;
	new = (uint16_t)(old + 1u);
	ring_store16(&vq->used->idx, new);
	vq->used_idx = new;
	vq->inuse--;
	vq->n_pushed++;
	/* signalled_used fell more than 2^15 behind: the wrapped comparison in
	 * vring_need_event would lie, so force the next interrupt. */
	if ((int16_t)(new - vq->signalled_used) < (int16_t)(new - old))
		vq->signalled_used_valid = false;
	inflight_post_put(vq, head);
	return 0;
}

static bool vq_event_idx_notify(struct vu_vq *vq)
{
	uint16_t old = vq->signalled_used;
	bool valid = vq->signalled_used_valid;

	vq->signalled_used = vq->used_idx;
	vq->signalled_used_valid = true;
	return !valid || vring_need_event(ring_load16(used_event(vq)), vq->used_idx, old);
}

bool vu_vq_should_notify(struct vu_vq *vq, const struct vu_mem *mem)
{
	bool notify;

	if (!vq_configured(vq) || vq_usable(vq, mem))
		return false;
	/* Our used->idx store must be visible before we read the driver's
	 * suppression state, or both sides may decide to sleep. */
	__atomic_thread_fence(__ATOMIC_SEQ_CST);
	if (vq->event_idx)
		notify = vq_event_idx_notify(vq);
	else
		notify = !(ring_load16(&vq->avail->flags) & VRING_AVAIL_F_NO_INTERRUPT);
	if (notify)
		vq->n_notified++;
	return notify;
}

uint16_t vu_vq_avail_pending(struct vu_vq *vq, const struct vu_mem *mem)
{
	if (vq->broken || !vq_ready(vq) || vq_usable(vq, mem))
		return 0;
	return (uint16_t)(ring_load16(&vq->avail->idx) - vq->last_avail_idx);
}

/* ---- inflight recovery -------------------------------------------------- */

static bool inflight_is_set(const struct vu_inflight_queue *q, uint32_t i)
{
	return q->desc[i].inflight == 1;
}

/* used->idx moved past inflight->used_idx: the last batch reached the driver
 * but its inflight flags were not cleared before the crash. The list links
 * come from shared memory: every index is checked, and n < 2^16 bounds the
 * walk even if they form a cycle. */
static void inflight_finish_batch(struct vu_inflight_queue *q, uint16_t size, uint16_t used)
{
	uint16_t n = (uint16_t)(used - q->used_idx);
	uint16_t i = q->last_batch_head;

	for (uint16_t k = 0; k < n && i < size; k++) {
		q->desc[i].inflight = 0;
		i = q->desc[i].next;
	}
	__atomic_thread_fence(__ATOMIC_RELEASE);
	q->used_idx = used;
}

static uint64_t heads_key(const struct vu_inflight_queue *q, const uint16_t *heads, uint32_t i)
{
	return q->desc[heads[i]].counter;
}

static void heads_sift_down(const struct vu_inflight_queue *q, uint16_t *heads, uint32_t root,
			    uint32_t n)
{
	for (;;) {
		uint32_t child = 2 * root + 1;
		uint16_t t;

		if (child >= n)
			return;
		if (child + 1 < n && heads_key(q, heads, child + 1) > heads_key(q, heads, child))
			child++;
		if (heads_key(q, heads, root) >= heads_key(q, heads, child))
			return;
		t = heads[root];
		heads[root] = heads[child];
		heads[child] = t;
		root = child;
	}
}

/* Heap sort by counter: O(n log n) even for a full 32768-entry queue. */
static void heads_sort(const struct vu_inflight_queue *q, uint16_t *heads, uint32_t n)
{
	for (uint32_t i = n / 2; i-- > 0;)
		heads_sift_down(q, heads, i, n);
	for (uint32_t end = n; end-- > 1;) {
		uint16_t t = heads[0];

		heads[0] = heads[end];
		heads[end] = t;
		heads_sift_down(q, heads, 0, end);
	}
}

static int inflight_collect(const struct vu_inflight_queue *q, uint16_t size, uint16_t *heads,
			    uint32_t max_heads, uint64_t *max_counter)
{
	uint32_t n = 0;

	for (uint32_t i = 0; i < size; i++)
		n += inflight_is_set(q, i);
	if (n > max_heads)
		return -ENOBUFS;
	n = 0;
	*max_counter = 0;
	for (uint32_t i = 0; i < size && n < max_heads; i++) {
		if (!inflight_is_set(q, i))
			continue;
		heads[n++] = (uint16_t)i;
		if (q->desc[i].counter > *max_counter)
			*max_counter = q->desc[i].counter;
	}
	heads_sort(q, heads, n);
	return (int)n;
}

int vu_vq_inflight_recover(struct vu_vq *vq, const struct vu_mem *mem, uint16_t *heads,
			   uint32_t max_heads)
{
	struct vu_inflight_queue *q = vq->inflight;
	uint64_t max_counter;
	uint16_t used;
	int n;

	if (!q)
		return 0;
	if (!vq_configured(vq))
		return -EINVAL;
	if (vq_usable(vq, mem))
		return -EIO;
	used = ring_load16(&vq->used->idx);
	vq->used_idx = used;
	vq->signalled_used_valid = false;
	if (q->version == 0) {
		/* A fresh region: nothing ran before us. */
		q->version = VU_INFLIGHT_VERSION;
		q->desc_num = vq->size;
		q->used_idx = used;
		return 0;
	}
	if (q->version != VU_INFLIGHT_VERSION)
		return -EINVAL;
	if (q->used_idx != used)
		inflight_finish_batch(q, vq->size, used);
	n = inflight_collect(q, vq->size, heads, max_heads, &max_counter);
	if (n < 0)
		return n;
	/* The front-end restores last_avail_idx to the used index after a
	 * crash; everything still inflight was taken after that. */
	vq->inuse = (uint16_t)n;
	for (int i = 0; i < n; i++)
		inuse_set(vq, heads[i]);
	vq->last_avail_idx = (uint16_t)(used + n);
	vq->inflight_counter = max_counter;
	return n;
}
