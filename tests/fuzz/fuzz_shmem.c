/* fuzz_shmem.c - libFuzzer target: SHMEM from both ends of the wire.
 *
 * Front-end side: hostile SHMEM_MAP/UNMAP requests go to vu_fe_shmem_handle()
 * over a shadow mapper that aborts if the handler ever lets through a map
 * that overlaps a live mapping or leaves its region, or an unmap that is not
 * exactly one live mapping. Back-end side: a vu_backend on the fake platform
 * (device with shmid 0 = 64 KiB, 1 unused, 2 = 1 MiB) gets map/unmap calls
 * with hostile arguments and hostile replies on its backend channel; after
 * every step its table must agree with the pending count, and after a
 * disconnect nothing may be left (mappings, pending requests, open fds).
 *
 * Input: records of 44 bytes until the input runs out:
 *   u8 op, u8 nfds, u16 size, then a 40-byte struct vu_shmem_map_msg
 *   (zero-filled when the input ends early).
 * op % 9: 0 MAP to the front-end handler (nfds fds, size as given),
 *   1 UNMAP to it, 2 a request with code = payload byte 1, 3 front-end reset,
 *   4 back-end map (flags bit 0 = rw), 5 back-end unmap,
 *   6 a reply on the backend channel: code = payload byte 1, flags = byte 2,
 *     hdr.size = size, u64 = fd_offset, nfds fake fds attached,
 *   7 RESET_DEVICE to the back-end, 8 disconnect and negotiate again.
 */
#include <errno.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "vu/backend.h"
#include "vu/fe_shmem.h"
#include "vu/shmem.h"

#include "../unit/helpers/fake_platform.c"

#define REC 44u
#define MAXLIVE 256

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const uint64_t fe_sizes[3] = {0x10000, 0, 0x100000};
static const uint64_t be_sizes[3] = {0x10000, 0, 0x100000};

struct live {
	uint64_t off, len;
	uint8_t shmid;
	bool used;
};

static struct live g_live[MAXLIVE];
static struct vu_fe_shmem g_fe;
static struct fake_platform g_fp;
static struct vu_backend g_b;
static struct vu_device g_dev;
static struct vu_msg g_msg;

static void die(const char *what)
{
	fprintf(stderr, "fuzz_shmem: invariant broken: %s\n", what);
	abort();
}

static int sh_map(void *ctx, uint8_t shmid, uint64_t off, uint64_t len, int fd, uint64_t fd_offset,
		  bool rw)
{
	struct live *free_slot = NULL;

	if (fd < 0 || len == 0 || off + len < off || off + len > fe_sizes[shmid])
		die("map outside its region reached the mapper");
	for (int i = 0; i < MAXLIVE; i++) {
		struct live *l = &g_live[i];
		if (l->used && l->shmid == shmid && off < l->off + l->len && l->off < off + len)
			die("overlapping map reached the mapper");
		if (!l->used && !free_slot)
			free_slot = l;
	}
	if (!free_slot)
		die("more live mappings than the handler's table");
	*free_slot = (struct live){.off = off, .len = len, .shmid = shmid, .used = true};
	/* Sometimes the real mmap would fail. */
	if ((fd_offset & 0xff000) == 0xbad000) {
		free_slot->used = false;
		return -ENODEV;
	}
	return 0;
}

static int sh_unmap(void *ctx, uint8_t shmid, uint64_t off, uint64_t len)
{
	for (int i = 0; i < MAXLIVE; i++) {
		struct live *l = &g_live[i];
		if (l->used && l->shmid == shmid && l->off == off && l->len == len) {
			l->used = false;
			return 0;
		}
	}
	die("unmap of something not exactly mapped reached the mapper");
	return 0;
}

static void sh_reset(void *ctx)
{
	memset(g_live, 0, sizeof(g_live));
}

static const struct vu_fe_shmem_mapper g_mapper = {
	.map = sh_map, .unmap = sh_unmap, .reset = sh_reset};

static int be_serve(void *dev, struct vu_backend *b, struct vu_req *req)
{
	(void)dev, (void)b, (void)req;
	return VU_DONE;
}

static const struct vu_device_ops be_ops = {.serve = be_serve};

static void negotiate(void)
{
	struct vu_msg *m = &g_msg;
	int chan = fake_file_new(&g_fp, 8);

	memset(&m->hdr, 0, sizeof(m->hdr));
	for (uint32_t i = 0; i < VU_MAX_FDS; i++)
		m->fds[i] = -1;
	m->nfds = 0;
	m->hdr = (struct vu_hdr){.request = VU_REQ_SET_OWNER, .flags = VU_VERSION};
	vu_backend_handle(&g_b, m);
	m->hdr = (struct vu_hdr){
		.request = VU_REQ_SET_PROTOCOL_FEATURES, .flags = VU_VERSION, .size = 8};
	m->p.u64 = vu_backend_offered_protocol_features(&g_b);
	vu_backend_handle(&g_b, m);
	if (chan < 0)
		return;
	m->hdr = (struct vu_hdr){.request = VU_REQ_SET_BACKEND_REQ_FD, .flags = VU_VERSION};
	m->fds[0] = chan;
	m->nfds = 1;
	vu_backend_handle(&g_b, m);
}

static void check_backend(void)
{
	uint32_t pending_entries = 0;

	for (int i = 0; i < VU_SHMEM_MAX_MAPS; i++) {
		uint8_t st = g_b.shmem.maps[i].state;
		if (st == VU_SHMEM_MAP_PENDING || st == VU_SHMEM_UNMAP_PENDING)
			pending_entries++;
	}
	if (pending_entries > vu_backend_shmem_pending(&g_b))
		die("a table entry waits for a reply nobody will send");
}

static void disconnect(void)
{
	vu_backend_disconnect(&g_b);
	if (vu_backend_shmem_count(&g_b) || vu_backend_shmem_pending(&g_b))
		die("SHMEM state outlived the disconnect");
	if (fake_open_files(&g_fp))
		die("an fd outlived the disconnect");
}

static void fe_request(uint32_t code, uint8_t nfds, uint16_t psize, const uint8_t *p)
{
	struct vu_msg *m = &g_msg;

	m->hdr = (struct vu_hdr){.request = code, .flags = VU_VERSION | VU_FLAG_NEED_REPLY};
	m->hdr.size = psize;
	memcpy(m->p.raw, p, 40);
	m->nfds = nfds;
	for (uint32_t i = 0; i < VU_MAX_FDS; i++)
		m->fds[i] = i < nfds ? 200 + (int)i : -1;
	(void)vu_fe_shmem_handle(&g_fe, m);
	if (g_fe.nmaps > VU_FE_SHMEM_MAX_MAPS)
		die("front-end table count out of bounds");
}

static void be_reply(uint8_t code, uint8_t flags, uint16_t psize, uint8_t nfds,
		     const struct vu_shmem_map_msg *p)
{
	struct vu_msg *r;

	if (g_b.backend_chan < 0)
		return;
	if (g_fp.backend_rx_pos == g_fp.nbackend_rx)
		g_fp.backend_rx_pos = g_fp.nbackend_rx = 0;
	r = fake_backend_reply(&g_fp, code, p->fd_offset);
	if (!r)
		return;
	r->hdr.flags = flags;
	r->hdr.size = psize > VU_MAX_PAYLOAD ? VU_MAX_PAYLOAD : psize;
	for (uint8_t i = 0; i < nfds % (VU_MAX_FDS + 1); i++) {
		int fd = fake_file_new(&g_fp, 8);
		if (fd < 0)
			break;
		r->fds[r->nfds++] = fd;
	}
	(void)vu_backend_handle_backend_reply(&g_b);
	/* Not read (channel gone): the fds were never handed over. */
	for (int k = g_fp.backend_rx_pos; k < g_fp.nbackend_rx; k++)
		for (uint32_t i = 0; i < g_fp.backend_rx[k].nfds; i++)
			g_fp.plat.close_fd(g_fp.plat.ctx, g_fp.backend_rx[k].fds[i]);
	g_fp.backend_rx_pos = g_fp.nbackend_rx = 0;
}

static void be_map(const struct vu_shmem_map_msg *p)
{
	int fd = fake_file_new(&g_fp, 8);

	(void)vu_backend_shmem_map(&g_b, p->shmid % 4, fd, p->fd_offset, p->shm_offset, p->len,
				   p->flags & 1);
	/* Borrowed by the library: still ours to close. */
	if (fd >= 0)
		g_fp.plat.close_fd(g_fp.plat.ctx, fd);
}

static void step(uint8_t op, uint8_t nfds, uint16_t psize, const uint8_t *payload)
{
	struct vu_shmem_map_msg p;
	struct vu_msg *m = &g_msg;

	memcpy(&p, payload, sizeof(p));
	switch (op % 9) {
	case 0: fe_request(VU_BREQ_SHMEM_MAP, nfds % 10, psize, payload); break;
	case 1: fe_request(VU_BREQ_SHMEM_UNMAP, nfds % 10, psize, payload); break;
	case 2: fe_request(payload[1], nfds % 10, psize, payload); break;
	case 3: vu_fe_shmem_reset(&g_fe); break;
	case 4: be_map(&p); break;
	case 5: (void)vu_backend_shmem_unmap(&g_b, p.shmid % 4, p.shm_offset, p.len); break;
	case 6: be_reply(payload[1], payload[2], psize, nfds, &p); break;
	case 7:
		m->hdr = (struct vu_hdr){.request = VU_REQ_RESET_DEVICE, .flags = VU_VERSION};
		m->nfds = 0;
		vu_backend_handle(&g_b, m);
		if (vu_backend_shmem_count(&g_b))
			die("a mapping survived RESET_DEVICE");
		break;
	case 8:
		disconnect();
		negotiate();
		break;
	}
	check_backend();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	size_t pos = 0;

	memset(g_live, 0, sizeof(g_live));
	if (vu_fe_shmem_init(&g_fe, &g_mapper, fe_sizes, 3, 0x1000) != 0)
		abort();
	fake_platform_init(&g_fp, 1);
	memset(&g_dev, 0, sizeof(g_dev));
	g_dev.ops = &be_ops;
	g_dev.name = "fuzz";
	g_dev.num_queues = 1;
	g_dev.max_queue_size = 16;
	g_dev.num_shmem = 3;
	g_dev.shmem_sizes = be_sizes;
	vu_backend_init(&g_b, &g_fp.plat, &g_dev, NULL, NULL);
	negotiate();
	while (pos < size) {
		uint8_t rec[REC] = {0};
		size_t take = size - pos < REC ? size - pos : REC;

		memcpy(rec, data + pos, take);
		pos += take;
		step(rec[0], rec[1], (uint16_t)(rec[2] | rec[3] << 8), rec + 4);
	}
	disconnect();
	if (g_fp.closes != g_fp.nfiles)
		die("an fd was closed more than once, or never");
	vu_fe_shmem_reset(&g_fe);
	for (int i = 0; i < MAXLIVE; i++)
		if (g_live[i].used)
			die("a mapping outlived the front-end reset");
	fake_platform_fini(&g_fp);
	return 0;
}
