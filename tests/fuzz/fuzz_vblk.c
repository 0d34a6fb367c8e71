/* fuzz_vblk.c - the virtio-blk driver's core (kernel/src/virtio_blk_core.c)
 * against a device made of fuzz input: the config space it publishes, then
 * its answers (used id, used length, status byte) to a few requests of
 * every kind, with the clock jumping far enough for a broken disk to be
 * restarted, cut-offs for one of two owners (the others' requests parked
 * and put on the new ring), descriptors rewritten and rings that come back
 * smaller. Whatever the device says, the driver must not crash, must
 * answer each request at most once, and while broken must refuse all
 * (-EAGAIN while a cut-off waits for its restart, -EIO otherwise). */
#include <errno.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "kern/log.h"
#include "kern/virtio_blk.h"

static struct k_virtio_blk disk;
static uint8_t data[8][4096];
static unsigned answers[8];
static uint64_t clock_ns;
static uint16_t restart_size = 16;

static uint64_t now(void)
{
	return clock_ns += 1000;
}

static void notify(void *t, uint16_t q)
{
	(void)t;
	(void)q;
}

static void done(void *owner, uint64_t cookie, int result)
{
	(void)owner;
	(void)result;
	if (++answers[cookie % 8] > 1)
		__builtin_trap(); /* answered twice */
}

/* The transport's restart: fresh rings, as kernel/hw/virtio_blk.c lays
 * them out after its reset. */
static int restart(struct k_virtio_blk *b)
{
	return k_vblk_queue_init(b, 0, restart_size);
}

static uint8_t take(const uint8_t **p, size_t *n)
{
	uint8_t v = 0;

	if (*n) {
		v = **p;
		(*p)++;
		(*n)--;
	}
	return v;
}

int LLVMFuzzerTestOneInput(const uint8_t *in, size_t len);
int LLVMFuzzerTestOneInput(const uint8_t *in, size_t len)
{
	struct k_vblk_geometry g;
	uint8_t cfg[60];
	uint64_t features;

	k_log_set_level(-1);
	if (len < sizeof(cfg) + 8)
		return 0;
	memcpy(cfg, in, sizeof(cfg));
	memcpy(&features, in + sizeof(cfg), 8);
	in += sizeof(cfg) + 8;
	len -= sizeof(cfg) + 8;
	memset(&disk, 0, sizeof(disk));
	memset(answers, 0, sizeof(answers));
	restart_size = 16;
	if (k_vblk_geometry(&g, cfg, sizeof(cfg), features, 8))
		return 0;
	k_vblk_init(&disk, 0, features, &g, now);
	disk.notify = notify;
	disk.restart = restart;
	disk.timeout_ns = 50000;
	if (k_vblk_queue_init(&disk, 0, 16))
		__builtin_trap();
	for (unsigned round = 0; round < 8 && len; round++) {
		struct virtq_drv *q = &disk.q[0].q;
		uint8_t op = take(&in, &len);
		struct k_vblk_seg s = {(uint64_t)(uintptr_t)data[round], 512u << (op >> 6)};
		struct k_vblk_io io = {.kind = (enum k_vblk_kind)(op % 5),
				       .off = (uint64_t)take(&in, &len) * 512,
				       .len = s.len,
				       .seg = &s,
				       .nseg = 1};
		int r = k_vblk_submit(&disk, 0, &io, done, (void *)(uintptr_t)(1 + (round & 1)),
				      round);

		if (disk.broken && r != (disk.cut_off ? -EAGAIN : -EIO))
			__builtin_trap();
		/* The device publishes one used element of its choosing. */
		if (take(&in, &len) & 1) {
			uint32_t id = take(&in, &len) % 32, ulen = take(&in, &len) * 40u;
			uint8_t status = take(&in, &len);
			struct k_vblk_req *req = &disk.q[0].req[round % K_VBLK_REQS];

			req->status = status;
			q->used->ring[q->used->idx % q->size] = (struct vring_used_elem){id, ulen};
			q->used->idx++;
		}
		(void)k_vblk_poll(&disk);
		op = take(&in, &len);
		if (op & 2)
			clock_ns += K_VBLK_RETRY_MAX_NS; /* a restart is due */
		if (op & 4)
			k_vblk_cut_off(&disk, (void *)(uintptr_t)(1 + ((op >> 3) & 1)), "fuzz");
		if (op & 16) /* the device rewrites a descriptor */
			q->desc[take(&in, &len) % q->size].addr ^= (uint64_t)take(&in, &len) << 3;
		if (op & 32)
			restart_size = (uint16_t)(4u << (take(&in, &len) % 3));
		if (op & 1)
			(void)k_vblk_timeout_poll(&disk);
	}
	return 0;
}
