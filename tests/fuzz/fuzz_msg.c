/* fuzz_msg.c - libFuzzer target: a front-end that may say anything.
 *
 * One vu_backend serving virtio-blk over a small RAM disk, on the fake
 * platform, is fed a sequence of messages parsed from the input. After each
 * message the rings are polled, as the daemon's loop does; when a message
 * makes vu_backend_handle() fail, the connection is dropped
 * (vu_backend_disconnect) and the next message starts a new one.
 *
 * The invariant checked after every disconnect, and at the end: every fd
 * the back-end was ever given is closed exactly once, and every mapping it
 * made is unmapped (maps == unmaps). Breaking it aborts.
 *
 * Input: one config byte, then records until the input runs out:
 *   u32 request, u32 flags, u16 size, u8 fdspec, then `size` payload bytes
 *   (little-endian; fewer at the end of the input are zero-filled; none when
 *   size > VU_MAX_PAYLOAD, which the transport would not deliver).
 * Config byte: bit 0 fd-less transport, bit 1 trace, bit 2 no_mem_slots,
 *   bit 3 no_inflight, bits 4-7 max_mem_slots / 2 (0: default).
 * fdspec: bits 0-3 fds attached (at most VU_MAX_FDS), each a fresh zeroed
 *   fake file of 4 KiB << (bits 4-7 % 5) bytes, so maps succeed sometimes.
 * The fd-less transport (config bit 0) has two 64 KiB windows instead, which
 *   regions reach with mmap_offset = window << 40 | offset (WINDOW_ADDR),
 *   and doorbells (DOORBELL, docs/vsock-transport.md §4.1): one device with
 *   16 own vectors, as the service VM has. Each doorbell handle is a fresh
 *   fake file, so the invariant below also proves that every handle the
 *   back-end got for a kick or call is released exactly once.
 * Harness requests (never sent to the back-end) let the driver side act:
 *   FUZZ_POKE       write the payload at offset `flags` into target
 *                   fdspec % (windows + files + 1): the windows first, then
 *                   the fake files (guest memory, rings, inflight records);
 *                   the last index means the next file a message brings, so
 *                   a region can hold data before the back-end first sees it;
 *   FUZZ_KICK       vu_backend_kick(flags);
 *   FUZZ_CONFIG     vu_backend_config_changed();
 *   FUZZ_DISCONNECT the front-end hangs up.
 * tests/fuzz/gen_corpus.py writes seeds in this format.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dev/blk.h"
#include "dev/storage.h"
#include "vu/backend.h"

/* The fuzz targets are built from one source file: bring the unit tests'
 * fake platform in whole. */
#include "../unit/helpers/fake_platform.c"

#define FUZZ_POKE 0xf0000001u
#define FUZZ_KICK 0xf0000002u
#define FUZZ_CONFIG 0xf0000003u
#define FUZZ_DISCONNECT 0xf0000004u

#define REC_HDR 11u
#define DISK_BYTES (64u * 1024u)
#define WINDOW_BYTES (64u * 1024u)
#define NOFD_WINDOWS 2
#define POLL_BUDGET 8

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static struct fake_platform g_fp;
static struct vu_backend g_b;
static struct dev_blk g_blk;
static struct dev_storage g_store;
static uint8_t g_disk[DISK_BYTES];
static struct vu_msg g_msg;
/* Contents for the next fake file a message brings (FUZZ_POKE to it). */
static uint8_t g_next[0x10000];
static size_t g_next_len;

static uint32_t rd32(const uint8_t *p)
{
	return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

static uint16_t rd16(const uint8_t *p)
{
	return (uint16_t)(p[0] | p[1] << 8);
}

static void fail(const char *what)
{
	fprintf(stderr,
		"fuzz_msg: invariant broken: %s (maps %d unmaps %d files %d open %d "
		"closes %d)\n",
		what, g_fp.maps, g_fp.unmaps, g_fp.nfiles, fake_open_files(&g_fp), g_fp.closes);
	abort();
}

/* After a disconnect nothing of the old front-end may survive. */
static void check_released(void)
{
	if (g_fp.maps != g_fp.unmaps)
		fail("a mapping outlived the disconnect");
	if (fake_open_files(&g_fp) != 0)
		fail("an fd outlived the disconnect");
	if (g_fp.closes != g_fp.nfiles)
		fail("an fd was closed more than once");
}

static void disconnect(void)
{
	vu_backend_disconnect(&g_b);
	check_released();
}

static void poke(uint32_t offset, uint8_t which, const uint8_t *src, size_t len)
{
	struct fake_file *ff;
	int i = which % (g_fp.nwindows + g_fp.nfiles + 1);

	if (i < g_fp.nwindows) {
		ff = &g_fp.windows[i];
		if (offset >= ff->size)
			return;
		if (len > ff->size - offset)
			len = (size_t)(ff->size - offset);
		memcpy(ff->data + offset, src, len);
		return;
	}
	i -= g_fp.nwindows;
	if (i == g_fp.nfiles) {
		if (offset >= sizeof(g_next))
			return;
		if (len > sizeof(g_next) - offset)
			len = sizeof(g_next) - offset;
		memcpy(g_next + offset, src, len);
		if (offset + len > g_next_len)
			g_next_len = offset + len;
		return;
	}
	ff = &g_fp.files[i];
	if (offset >= ff->size)
		return;
	if (len > ff->size - offset)
		len = (size_t)(ff->size - offset);
	memcpy(ff->data + offset, src, len);
}

/* The service VM's checks (apps/uvhost-vm/doorbell.c): device 0, a kick
 * names one of 16 own vectors and no peer, a call any peer and vector <= 255. */
static int fuzz_doorbell(void *ctx, bool call, uint32_t dev, uint32_t peer, uint32_t vector,
			 int *fd)
{
	int h;

	(void)ctx;
	if (dev != 0)
		return -19; /* ENODEV */
	if (call ? (peer > 0xffffu || vector > 255u) : (peer != 0 || vector >= 16u))
		return -22; /* EINVAL */
	h = fake_file_new(&g_fp, 8);
	if (h < 0)
		return h;
	*fd = h;
	return 0;
}

static void setup(uint8_t cfg_byte)
{
	struct vu_backend_config cfg = {
		.trace = (cfg_byte & 2) != 0,
		.no_mem_slots = (cfg_byte & 4) != 0,
		.no_inflight = (cfg_byte & 8) != 0,
		.max_mem_slots = (uint32_t)(cfg_byte >> 4) * 2u,
	};

	fake_platform_init(&g_fp, !(cfg_byte & 1));
	if (cfg_byte & 1) {
		for (int i = 0; i < NOFD_WINDOWS; i++)
			if (fake_window_new(&g_fp, WINDOW_BYTES) != i)
				abort();
		g_fp.plat.doorbell = fuzz_doorbell;
	}
	memset(g_disk, 0, sizeof(g_disk));
	dev_storage_ram(&g_store, g_disk, sizeof(g_disk), false);
	if (dev_blk_init(&g_blk, &g_store, 2, "fuzz") != 0)
		abort();
	vu_backend_init(&g_b, &g_fp.plat, &g_blk.dev, &g_blk, &cfg);
	memset(&g_msg, 0, sizeof(g_msg));
	memset(g_next, 0, sizeof(g_next));
	g_next_len = 0;
}

/* Attach `n` fresh fake files; false when the fake ran out of files. */
static bool attach_fds(struct vu_msg *m, uint8_t fdspec)
{
	uint32_t n = fdspec & 0x0fu;
	uint64_t fsize = 0x1000ull << ((fdspec >> 4) % 5u);

	if (n > VU_MAX_FDS)
		n = VU_MAX_FDS;
	for (uint32_t i = 0; i < VU_MAX_FDS; i++)
		m->fds[i] = -1;
	m->nfds = 0;
	for (uint32_t i = 0; i < n; i++) {
		int fd = fake_file_new(&g_fp, fsize);

		if (fd < 0) {
			/* Never handed over: ours to close. */
			for (uint32_t k = 0; k < m->nfds; k++)
				g_fp.plat.close_fd(g_fp.plat.ctx, m->fds[k]);
			m->nfds = 0;
			return false;
		}
		m->fds[m->nfds++] = fd;
		if (g_next_len) {
			size_t len = g_next_len < fsize ? g_next_len : (size_t)fsize;

			memcpy(fake_file_ptr(&g_fp, fd, 0), g_next, len);
			memset(g_next, 0, g_next_len);
			g_next_len = 0;
		}
	}
	return true;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct vu_msg *m = &g_msg;
	size_t pos = 1;

	if (size < 1)
		return 0;
	setup(data[0]);
	while (size - pos >= REC_HDR) {
		uint32_t request = rd32(data + pos);
		uint32_t flags = rd32(data + pos + 4);
		uint16_t psize = rd16(data + pos + 8);
		uint8_t fdspec = data[pos + 10];
		const uint8_t *payload = data + pos + REC_HDR;
		size_t avail, take = 0;

		pos += REC_HDR;
		avail = size - pos;
		if (psize <= VU_MAX_PAYLOAD)
			take = psize < avail ? psize : avail;
		pos += take;

		switch (request) {
		case FUZZ_POKE: poke(flags, fdspec, payload, take); break;
		case FUZZ_KICK: vu_backend_kick(&g_b, flags); break;
		case FUZZ_CONFIG: (void)vu_backend_config_changed(&g_b); break;
		case FUZZ_DISCONNECT: disconnect(); break;
		default:
			/* The receive buffer is reused, as the daemon's is: bytes
			 * past `size` are whatever the last message left. */
			m->hdr.request = request;
			m->hdr.flags = flags;
			m->hdr.size = psize;
			if (take)
				memcpy(m->p.raw, payload, take);
			if (psize <= VU_MAX_PAYLOAD && take < psize)
				memset(m->p.raw + take, 0, psize - take);
			if (!attach_fds(m, fdspec))
				goto out;
			if (vu_backend_handle(&g_b, m) < 0)
				disconnect();
			break;
		}
		vu_backend_poll(&g_b, POLL_BUDGET);
	}
out:
	disconnect();
	fake_platform_fini(&g_fp);
	return 0;
}
