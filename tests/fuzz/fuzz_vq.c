/* fuzz_vq.c - libFuzzer target: a hostile driver against the split ring walker.
 *
 * Guest memory (64 KiB): region A [0, 32K) and B [32K, 48K) are adjacent in
 * gpa but separate host buffers; C [128K, 144K) stands alone. The rings sit
 * at the start of A, packed, so that a short input already fills them.
 *
 * Input:
 *   [0]    cfg: bit0 EVENT_IDX, bit1 ring addresses are gpas, bit2 inflight
 *          tracking, bit3 fold descriptor addresses into [0, 256K) so they
 *          land in (or near) guest memory, bits 4-6 queue size 8 << (n % 6)
 *   [1..2] n: how many bytes of guest memory image follow (little endian)
 *   [3..]  the image, copied to gpa 0 upwards (A, B, then C)
 *   rest   a script of device/driver steps (see run_op); an empty script
 *          means "pop everything, completing each chain at once".
 * Each iov of a popped chain is read and written in full, so ASan proves
 * every iovec lies inside mapped guest memory. The harness keeps its own
 * record of heads in use and aborts if a pop ever hands out one of them
 * again (a driver posting a head twice must break the ring instead), or if
 * putting a chain back (vu_vq_unpop, the device's "not now") leaves the
 * counts out of step.
 */
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "../unit/helpers/fake_platform.c"
#include "vu/inflight.h"
#include "vu/memtable.h"
#include "vu/vq.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define NREG 3
#define FOLD_MASK 0x3ffffull
#define MAX_STEPS 4096

static const uint64_t reg_gpa[NREG] = {0x0, 0x8000, 0x20000};
static const uint64_t reg_size[NREG] = {0x8000, 0x4000, 0x4000};
static const uint64_t reg_uaddr[NREG] = {0x7f0000000000, 0x7f0000100000, 0x7f0000200000};

struct input {
	const uint8_t *p;
	size_t n;
};

struct harness {
	struct fake_platform fp;
	struct vu_mem mem;
	struct vu_vq vq;
	struct vu_chain chain;
	struct vu_mem_region reg[NREG];
	int fd[NREG];
	bool present[NREG];
	struct vu_inflight_queue *infl;
	uint16_t pending[VU_VQ_MAX_SIZE];
	uint32_t npending;
	uint8_t inuse_map[VU_VQ_INUSE_BYTES]; /* the ring's */
	uint8_t mine[VU_VQ_INUSE_BYTES];      /* the harness's own record */
	uint16_t heads[256];
	uint64_t sink;
};

static struct harness h;

static uint8_t take8(struct input *in)
{
	uint8_t v = 0;

	if (in->n) {
		v = in->p[0];
		in->p++;
		in->n--;
	}
	return v;
}

static uint16_t take16(struct input *in)
{
	uint16_t lo = take8(in);

	return (uint16_t)(lo | take8(in) << 8);
}

/* Host view of a gpa in our memory, for writes the "driver" makes. */
static uint8_t *guest(uint64_t gpa)
{
	for (int i = 0; i < NREG; i++) {
		if (gpa >= reg_gpa[i] && gpa - reg_gpa[i] < reg_size[i])
			return fake_file_ptr(&h.fp, h.fd[i], gpa - reg_gpa[i]);
	}
	return NULL;
}

static void load_image(const uint8_t *img, size_t n)
{
	size_t off = 0;

	for (int i = 0; i < NREG && off < n; i++) {
		size_t k = n - off < reg_size[i] ? n - off : reg_size[i];

		memcpy(fake_file_ptr(&h.fp, h.fd[i], 0), img + off, k);
		off += k;
	}
}

static void fold_descriptors(uint16_t qsize)
{
	struct vring_desc *t = (struct vring_desc *)(void *)guest(0);

	for (uint16_t i = 0; i < qsize; i++)
		t[i].addr &= FOLD_MASK;
}

static void setup_memory(void)
{
	fake_platform_init(&h.fp, 1);
	vu_mem_init(&h.mem, &h.fp.plat, 0);
	for (int i = 0; i < NREG; i++) {
		h.fd[i] = fake_file_new(&h.fp, reg_size[i]);
		h.reg[i] = (struct vu_mem_region){
			.gpa = reg_gpa[i], .size = reg_size[i], .uaddr = reg_uaddr[i]};
		h.present[i] = vu_mem_add(&h.mem, &h.reg[i], h.fd[i]) == 0;
	}
}

/* Rings packed at gpa 0: desc, avail (+used_event), used (+avail_event). */
static void setup_vq(uint16_t qsize, bool gpa, bool event_idx)
{
	uint64_t base = gpa ? 0 : reg_uaddr[0];
	uint64_t avail = 16u * qsize;
	uint64_t used = (avail + 6u + 2u * qsize + 3u) & ~3ull;

	vu_vq_init(&h.vq, 0);
	h.vq.size = qsize;
	h.vq.addr_is_gpa = gpa;
	h.vq.event_idx = event_idx;
	h.vq.desc_addr = base;
	h.vq.avail_addr = base + avail;
	h.vq.used_addr = base + used;
	h.vq.addr_set = true;
	h.vq.started = true;
	h.vq.enabled = true;
	h.vq.inflight = h.infl;
	memset(h.inuse_map, 0, sizeof(h.inuse_map));
	memset(h.mine, 0, sizeof(h.mine));
	h.vq.inuse_map = h.inuse_map;
}

static bool mine_test(uint16_t head)
{
	return (h.mine[head >> 3] >> (head & 7u)) & 1u;
}

static void mine_set(uint16_t head, bool on)
{
	if (on)
		h.mine[head >> 3] |= (uint8_t)(1u << (head & 7u));
	else
		h.mine[head >> 3] &= (uint8_t) ~(1u << (head & 7u));
}

static void touch_chain(const struct vu_chain *c)
{
	uint32_t n = c->n_out + c->n_in;

	if (n > VU_CHAIN_MAX_IOV)
		abort();
	for (uint32_t i = 0; i < n; i++) {
		volatile uint8_t *b = c->iov[i].base;
		size_t len = c->iov[i].len;

		if (!b || len == 0)
			abort();
		h.sink += b[0] + b[len - 1];
		if (i >= c->n_out) {
			b[0] = 0xaa;
			b[len - 1] = 0x55;
		}
	}
}

static int do_pop(void)
{
	int rc = vu_vq_pop(&h.vq, &h.mem, &h.chain);

	if (rc == 1) {
		touch_chain(&h.chain);
		if (h.npending >= VU_VQ_MAX_SIZE || h.vq.inuse != h.npending + 1)
			abort();
		if (mine_test(h.chain.head))
			abort(); /* the same buffer handed out twice */
		mine_set(h.chain.head, true);
		h.pending[h.npending++] = h.chain.head;
	}
	return rc;
}

/* Pop, then put the chain back ("not now"): the ring must look as before. */
static void do_pop_unpop(void)
{
	uint16_t avail = h.vq.last_avail_idx;
	uint16_t head;

	if (do_pop() != 1)
		return;
	head = h.pending[--h.npending];
	mine_set(head, false);
	if (vu_vq_unpop(&h.vq, head) != 0 || h.vq.last_avail_idx != avail ||
	    h.vq.inuse != h.npending || vu_vq_head_in_use(&h.vq, head))
		abort();
	if (h.vq.inflight && h.vq.inflight->desc[head].inflight)
		abort();
	/* Only the last pop can go back. */
	if (vu_vq_unpop(&h.vq, head) == 0)
		abort();
}

/* Complete one pending chain. One the ring refuses (its memory went away)
 * stays the device's, unless `give_up` (the end of a run). */
static void complete(uint32_t which, uint32_t len, bool give_up)
{
	uint16_t head;

	if (h.npending == 0)
		return;
	which %= h.npending;
	head = h.pending[which];
	h.pending[which] = h.pending[--h.npending];
	if (vu_vq_push(&h.vq, &h.mem, head, len) == 0 || give_up)
		mine_set(head, false);
	else
		h.pending[h.npending++] = head; /* still the device's */
}

static void do_push(uint32_t which, uint32_t len)
{
	complete(which, len, false);
}

/* A back-end restart: forget everything but guest memory and the inflight
 * region, recover, and resubmit what was in flight. */
static void do_restart(void)
{
	uint16_t qsize = h.vq.size;
	bool gpa = h.vq.addr_is_gpa, event_idx = h.vq.event_idx;
	int n;

	if (!h.infl)
		return;
	setup_vq(qsize, gpa, event_idx);
	n = vu_vq_inflight_recover(&h.vq, &h.mem, h.heads, qsize);
	h.npending = 0;
	if (n < 0)
		return;
	if ((uint32_t)n > qsize || h.vq.inuse != n)
		abort();
	for (int i = 0; i < n; i++)
		mine_set(h.heads[i], true);
	for (int i = 0; i < n; i++) {
		if (vu_vq_chain_from_head(&h.vq, &h.mem, h.heads[i], &h.chain) != 0)
			break;
		touch_chain(&h.chain);
		h.pending[h.npending++] = h.heads[i];
	}
}

static void toggle_region(int i)
{
	if (h.present[i])
		h.present[i] = vu_mem_remove(&h.mem, &h.reg[i]) != 0;
	else
		h.present[i] = vu_mem_add(&h.mem, &h.reg[i], h.fd[i]) == 0;
}

static void driver_write(struct input *in)
{
	uint16_t off = take16(in);
	uint16_t val = take16(in);
	uint8_t *p = guest(off & ~1u);

	if (p)
		memcpy(p, &val, sizeof(val));
}

static void run_op(struct input *in)
{
	uint8_t op = take8(in);

	switch (op % 10) {
	case 0:
	case 1: do_pop(); break;
	case 2: do_pop_unpop(); break;
	case 3: do_push(0, take8(in) * 16u); break;
	case 4: do_push(take16(in), take8(in)); break;
	case 5: driver_write(in); break;
	case 6:
		(void)vu_vq_should_notify(&h.vq, &h.mem);
		h.sink += vu_vq_avail_pending(&h.vq, &h.mem);
		break;
	case 7: do_restart(); break;
	case 8: toggle_region(2); break;
	case 9: toggle_region(op >= 128 ? 0 : 1); break;
	}
}

/* No script: behave like a simple synchronous device. */
static void drain(void)
{
	for (int i = 0; i < MAX_STEPS && do_pop() == 1; i++) {
		do_push(h.npending - 1, 1);
		(void)vu_vq_should_notify(&h.vq, &h.mem);
	}
}

static void finish(void)
{
	while (h.npending)
		complete(0, 0, true);
	(void)vu_vq_should_notify(&h.vq, &h.mem);
	if (h.vq.n_popped < h.vq.n_pushed && !h.infl)
		abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct input in = {data, size};
	uint8_t cfg = take8(&in);
	uint16_t qsize = (uint16_t)(8u << ((cfg >> 4 & 7u) % 6u));
	uint16_t img = take16(&in);

	if (img > in.n)
		img = (uint16_t)in.n;
	setup_memory();
	load_image(in.p, img);
	in.p += img;
	in.n -= img;
	if (cfg & 8u)
		fold_descriptors(qsize);
	h.infl = NULL;
	if (cfg & 4u) {
		h.infl = calloc(1, vu_inflight_queue_bytes(qsize));
		if (!h.infl)
			abort();
		h.infl->version = VU_INFLIGHT_VERSION;
		h.infl->desc_num = qsize;
	}
	setup_vq(qsize, cfg & 2u, cfg & 1u);
	h.npending = 0;

	if (in.n == 0)
		drain();
	for (int i = 0; i < MAX_STEPS && in.n; i++)
		run_op(&in);
	finish();

	vu_mem_clear(&h.mem);
	if (h.fp.maps != h.fp.unmaps)
		abort();
	fake_platform_fini(&h.fp);
	free(h.infl);
	return 0;
}
