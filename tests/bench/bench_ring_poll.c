/* bench_ring_poll - ns per vu_backend_poll() round by number of started idle rings.
 *
 * The service VM's shape, natively: BENCH_SESSIONS blk back-ends (16 queues
 * each, RAM disk) on the fd-less fake platform, each with its own window;
 * rings are filled session by session (k = 20 means 16 + 4). Every ring is
 * NOFD (polled), enabled, size 8, in its own 4 KiB of its session's window,
 * and empty. One round is vu_backend_poll(b, 32) on every session, as one
 * scheduler turn of the VM does; ns per round is CPU time of this thread,
 * best of RUNS runs. Printed for the features the VM test front-end uses
 * (VERSION_1 only) and with EVENT_IDX, next to the floor: a bare acquire
 * load of each ring's avail idx. Before timing, each row proves every
 * ring is really polled: one request posted on the first and on the last
 * started ring is completed by a round. Not a ctest: timings are not
 * pass/fail; it exits non-zero only if set-up or that proof fails.
 * Usage: bench_ring_poll [rounds per run, default 200000]
 */
#define _POSIX_C_SOURCE 200809L

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "dev/blk.h"
#include "dev/storage.h"
#include "fake_platform.h"
#include "msg_build.h"
#include "test_ring.h"
#include "vu/backend.h"

#define BENCH_SESSIONS 4u
#define BENCH_BUDGET 32
#define QSZ 8u
#define RING_STRIDE 0x1000ull
#define DATA_OFF ((uint64_t)VU_MAX_QUEUES * RING_STRIDE)
#define DATA_LEN 0x10000ull
#define WIN_SIZE (DATA_OFF + DATA_LEN)
#define MEM_GPA 0x40000000ull
#define MEM_UADDR 0x7f0000000000ull
#define DISK_BYTES (1u << 20)
#define RUNS 9

static const unsigned ring_counts[] = {0, 1, 2, 4, 8, 16, 32, 64};

struct session {
	struct fake_platform fp;
	struct vu_backend b;
	struct dev_blk blk;
	struct dev_storage store;
	uint8_t disk[DISK_BYTES];
	struct vu_msg m;
	struct test_ring ring[VU_MAX_QUEUES];
	unsigned nrings;
};

static struct session *sess[BENCH_SESSIONS];

static int req(struct session *s, uint32_t request, uint32_t size, const void *payload)
{
	int r;

	msg_build(&s->m, request, size);
	if (payload)
		memcpy(&s->m.p, payload, size);
	r = vu_backend_handle(&s->b, &s->m);
	if (r < 0)
		fprintf(stderr, "request %u refused (%d): %s\n", request, r, s->fp.last_log);
	return r;
}

static int send_u64(struct session *s, uint32_t request, uint64_t v)
{
	return req(s, request, 8, &v);
}

static int send_state(struct session *s, uint32_t request, uint32_t index, uint32_t num)
{
	struct vu_vring_state st = {.index = index, .num = num};

	return req(s, request, sizeof(st), &st);
}

/* A new front-end: negotiate, one window-addressed region, no rings. */
static int session_connect(struct session *s, uint64_t features)
{
	struct vu_mem_single_msg reg;
	uint64_t pf = VU_BIT(VU_PF_MQ) | VU_BIT(VU_PF_REPLY_ACK) | VU_BIT(VU_PF_CONFIG) |
		      VU_BIT(VU_PF_CONFIGURE_MEM_SLOTS) | VU_BIT(VU_PF_WINDOW_ADDR);

	vu_backend_disconnect(&s->b);
	s->nrings = 0;
	memset(&reg, 0, sizeof(reg));
	reg.region = (struct vu_mem_region){
		.gpa = MEM_GPA, .size = WIN_SIZE, .uaddr = MEM_UADDR, .mmap_offset = 0};
	if (req(s, VU_REQ_GET_FEATURES, 0, NULL) < 0 ||
	    send_u64(s, VU_REQ_SET_PROTOCOL_FEATURES, pf) < 0 ||
	    req(s, VU_REQ_SET_OWNER, 0, NULL) < 0 ||
	    send_u64(s, VU_REQ_SET_FEATURES, features) < 0 ||
	    req(s, VU_REQ_ADD_MEM_REG, sizeof(reg), &reg) < 0)
		return -1;
	return 0;
}

static int ring_start(struct session *s, unsigned q)
{
	struct test_ring *r = &s->ring[q];
	struct vu_vring_addr a;

	test_ring_init(r, fake_window_ptr(&s->fp, 0, 0), MEM_GPA, MEM_UADDR, WIN_SIZE,
		       q * RING_STRIDE, DATA_OFF + q * (DATA_LEN / VU_MAX_QUEUES),
		       DATA_LEN / VU_MAX_QUEUES, QSZ);
	test_ring_addr(r, q, &a);
	if (send_state(s, VU_REQ_SET_VRING_NUM, q, QSZ) < 0 ||
	    send_state(s, VU_REQ_SET_VRING_BASE, q, 0) < 0 ||
	    req(s, VU_REQ_SET_VRING_ADDR, sizeof(a), &a) < 0 ||
	    send_u64(s, VU_REQ_SET_VRING_CALL, q | VU_VRING_NOFD) < 0 ||
	    send_u64(s, VU_REQ_SET_VRING_KICK, q | VU_VRING_NOFD) < 0 ||
	    send_state(s, VU_REQ_SET_VRING_ENABLE, q, 1) < 0)
		return -1;
	if (!s->b.vq[q].started || !s->b.vq[q].enabled) {
		fprintf(stderr, "ring %u did not start\n", q);
		return -1;
	}
	s->nrings = q + 1;
	return 0;
}

/* k started rings over the sessions, 16 per session, in order. */
static int setup(unsigned k, uint64_t features)
{
	for (unsigned i = 0; i < BENCH_SESSIONS; i++) {
		if (session_connect(sess[i], features) < 0)
			return -1;
		for (unsigned q = 0; q < VU_MAX_QUEUES && i * VU_MAX_QUEUES + q < k; q++)
			if (ring_start(sess[i], q) < 0)
				return -1;
	}
	return 0;
}

static int round_all(void)
{
	int work = 0;

	for (unsigned i = 0; i < BENCH_SESSIONS; i++)
		work += vu_backend_poll(&sess[i]->b, BENCH_BUDGET);
	return work;
}

/* A GET_ID request on ring q of session s must come back after one round. */
static int prove_polled(struct session *s, unsigned q)
{
	struct test_ring *r = &s->ring[q];
	uint64_t hdr = test_ring_alloc(r, 16), id = test_ring_alloc(r, DEV_BLK_ID_BYTES),
		 st = test_ring_alloc(r, 1);
	uint32_t hdr_words[4] = {8, 0, 0, 0}; /* VIRTIO_BLK_T_GET_ID */
	struct test_seg seg[3] = {{.gpa = hdr, .len = 16},
				  {.gpa = id, .len = DEV_BLK_ID_BYTES, .write = true},
				  {.gpa = st, .len = 1, .write = true}};
	uint16_t head;
	uint32_t uid, ulen;

	memcpy(test_ring_ptr(r, hdr), hdr_words, sizeof(hdr_words));
	*(uint8_t *)test_ring_ptr(r, st) = 0xee;
	head = test_ring_add(r, seg, 3);
	if (round_all() < 1 || !test_ring_pop_used(r, &uid, &ulen) || uid != head ||
	    *(uint8_t *)test_ring_ptr(r, st) != 0) {
		fprintf(stderr, "ring %u: request not served by one round\n", q);
		return -1;
	}
	return 0;
}

static int prove_all_polled(unsigned k)
{
	unsigned last = k - 1;

	if (k == 0)
		return 0;
	if (prove_polled(sess[0], 0) < 0)
		return -1;
	return prove_polled(sess[last / VU_MAX_QUEUES], last % VU_MAX_QUEUES);
}

static double now_ns(void)
{
	struct timespec ts;

	/* CPU time of this thread: time spent descheduled is not counted. */
	clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
	return (double)ts.tv_sec * 1e9 + (double)ts.tv_nsec;
}

static volatile int sink;

static double ns_per_round(uint64_t rounds)
{
	double best = 1e300;

	for (int run = 0; run < RUNS; run++) {
		double t0 = now_ns(), dt;
		int work = 0;

		for (uint64_t i = 0; i < rounds; i++)
			work += round_all();
		dt = (now_ns() - t0) / (double)rounds;
		sink += work;
		if (dt < best)
			best = dt;
	}
	return best;
}

/* The floor: what an idle ring has to cost at least, one acquire load of
 * its avail idx compared with where we stopped. */
static double ns_bare_avail(unsigned k, uint64_t rounds)
{
	double best = 1e300;

	for (int run = 0; run < RUNS; run++) {
		double t0 = now_ns(), dt;
		int pending = 0;

		for (uint64_t i = 0; i < rounds; i++)
			for (unsigned j = 0; j < k; j++) {
				struct session *s = sess[j / VU_MAX_QUEUES];
				const struct vu_vq *vq = &s->b.vq[j % VU_MAX_QUEUES];
				uint16_t idx = __atomic_load_n(&vq->avail->idx, __ATOMIC_ACQUIRE);

				pending += idx != vq->last_avail_idx;
			}
		dt = (now_ns() - t0) / (double)rounds;
		sink += pending;
		if (dt < best)
			best = dt;
	}
	return best;
}

enum { PLAIN, EVIDX, BARE, NCOL };

struct row {
	double ns[NCOL];
};

static int measure(unsigned k, uint64_t rounds, struct row *out)
{
	if (setup(k, VU_BIT(VU_F_VERSION_1) | VU_BIT(VU_F_PROTOCOL_FEATURES)) < 0 ||
	    prove_all_polled(k) < 0)
		return -1;
	out->ns[PLAIN] = ns_per_round(rounds);
	out->ns[BARE] = ns_bare_avail(k, rounds);
	if (setup(k, VU_BIT(VU_F_VERSION_1) | VU_BIT(VU_F_PROTOCOL_FEATURES) |
			     VU_BIT(VU_F_RING_EVENT_IDX)) < 0 ||
	    prove_all_polled(k) < 0)
		return -1;
	out->ns[EVIDX] = ns_per_round(rounds);
	return 0;
}

/* Least-squares slope of y over the ring counts. */
static double slope(const struct row *rows, size_t n, int col)
{
	double sx = 0, sy = 0, sxx = 0, sxy = 0;

	for (size_t i = 0; i < n; i++) {
		double x = ring_counts[i], y = rows[i].ns[col];

		sx += x;
		sy += y;
		sxx += x * x;
		sxy += x * y;
	}
	return (n * sxy - sx * sy) / (n * sxx - sx * sx);
}

int main(int argc, char **argv)
{
	uint64_t rounds = argc > 1 ? strtoull(argv[1], NULL, 0) : 200000u;
	size_t n = sizeof(ring_counts) / sizeof(ring_counts[0]);
	struct row rows[sizeof(ring_counts) / sizeof(ring_counts[0])];
	int rc = 0;

	if (rounds == 0)
		return 2;
	for (unsigned i = 0; i < BENCH_SESSIONS; i++) {
		char serial[DEV_BLK_ID_BYTES + 1];

		sess[i] = calloc(1, sizeof(*sess[i]));
		if (!sess[i])
			return 2;
		fake_platform_init(&sess[i]->fp, 0);
		if (fake_window_new(&sess[i]->fp, WIN_SIZE) != 0)
			return 2;
		dev_storage_ram(&sess[i]->store, sess[i]->disk, DISK_BYTES, false);
		snprintf(serial, sizeof(serial), "bench-%u", i);
		if (dev_blk_init(&sess[i]->blk, &sess[i]->store, VU_MAX_QUEUES, serial) < 0)
			return 2;
		vu_backend_init(&sess[i]->b, &sess[i]->fp.plat, &sess[i]->blk.dev, &sess[i]->blk,
				NULL);
	}
	printf("ns per round = vu_backend_poll(b, %d) on each of %u blk sessions (%u queues "
	       "each), k started idle NOFD rings; %llu rounds per run, best of %d runs\n\n",
	       BENCH_BUDGET, BENCH_SESSIONS, (unsigned)VU_MAX_QUEUES, (unsigned long long)rounds,
	       RUNS);
	printf("| rings | ns/round | ns/ring over k=0 | ns/round EVENT_IDX | ns/ring over k=0 "
	       "EVENT_IDX | bare avail idx loads ns |\n");
	printf("|------:|---------:|-----------------:|-------------------:|"
	       "---------------------------:|------------------------:|\n");
	for (size_t i = 0; i < n && !rc; i++) {
		unsigned k = ring_counts[i];

		rc = measure(k, rounds, &rows[i]);
		if (rc)
			break;
		if (k == 0)
			printf("| %5u | %8.1f | %16s | %18.1f | %27s | %23.1f |\n", k,
			       rows[i].ns[PLAIN], "-", rows[i].ns[EVIDX], "-", rows[i].ns[BARE]);
		else
			printf("| %5u | %8.1f | %16.2f | %18.1f | %27.2f | %23.1f |\n", k,
			       rows[i].ns[PLAIN], (rows[i].ns[PLAIN] - rows[0].ns[PLAIN]) / k,
			       rows[i].ns[EVIDX], (rows[i].ns[EVIDX] - rows[0].ns[EVIDX]) / k,
			       rows[i].ns[BARE]);
	}
	if (!rc)
		printf("\nleast-squares slope, ns per ring: %.2f (VERSION_1), %.2f (EVENT_IDX), "
		       "%.2f (bare avail idx load)\n",
		       slope(rows, n, PLAIN), slope(rows, n, EVIDX), slope(rows, n, BARE));
	for (unsigned i = 0; i < BENCH_SESSIONS; i++) {
		vu_backend_disconnect(&sess[i]->b);
		fake_platform_fini(&sess[i]->fp);
		free(sess[i]);
	}
	return rc ? 1 : 0;
}
