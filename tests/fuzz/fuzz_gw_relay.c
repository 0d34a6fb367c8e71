/* fuzz_gw_relay.c - libFuzzer target: uvhost-gw's relay between a VMM that
 * may send anything and a service VM that may answer anything.
 *
 * Input: records until the input runs out:
 *   u8 kind, u32 request, u32 flags, u16 size, u8 fdspec, then `size`
 *   payload bytes (fewer at the end are zero-filled; none above
 *   VU_MAX_PAYLOAD, which the socket layer would not deliver).
 * kind % 4: 0 a message from the VMM; 1 a back-end request from the VM;
 *   2 a kick of ring (request % 32); 3 the VM's next answer is wrong
 *   (request code, flags or size from the record) or it fails (fdspec bit 7).
 * fdspec bits 0-2: fds on a VMM message: each a fresh memfd of 64 KiB, or
 *   when bit 3 is set the declared window file, or when bit 4 is set an
 *   eventfd.
 * The VM answers everything that wants an answer, correctly unless told.
 *
 * Doorbells are on (the ivshmem server is a stub that lends nothing out;
 * one kick in 4 finds no vector left, as when QEMU's own vectors run out):
 * the relay may lend only an fd it holds, for a ring it has.
 *
 * Invariants (abort on breach): nothing sent to the VM carries an fd; every
 * fd the relay was given is closed exactly once or still held in its
 * table, and after gw_relay_reset() the process has the fds it had before.
 */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/mman.h>
#include <unistd.h>

#include "gw_relay.h"
#include "vu/msg.h"

#define REC_HDR 12u

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

struct fz {
	struct vu_msg reply;
	bool have;
	bool wrong, fail;
	uint32_t wrong_req, wrong_flags, wrong_size;
};

static struct fz fz;
static char win_path[64];
static struct gw_windows win;

static int vm_send(void *ctx, const struct vu_msg *msg)
{
	const struct vu_msg_rule *rule = vu_msg_rule(msg->hdr.request);

	(void)ctx;
	if (msg->nfds != 0)
		abort();
	if (fz.fail)
		return -EPIPE;
	fz.have = false;
	if (!((rule && rule->has_reply) || (msg->hdr.flags & VU_FLAG_NEED_REPLY)))
		return 0;
	memset(&fz.reply.hdr, 0, sizeof(fz.reply.hdr));
	fz.reply.hdr.request = msg->hdr.request;
	fz.reply.hdr.flags = VU_REPLY_FLAGS;
	fz.reply.hdr.size = msg->hdr.request == VU_REQ_GET_CONFIG ? msg->hdr.size : 8;
	memcpy(fz.reply.p.raw, msg->p.raw, msg->hdr.size < 8 ? 8 : msg->hdr.size);
	if (msg->hdr.request == VU_REQ_GET_PROTOCOL_FEATURES)
		fz.reply.p.u64 = ~0ull;
	else if (msg->hdr.request != VU_REQ_GET_CONFIG && msg->hdr.request != VU_REQ_GET_VRING_BASE)
		fz.reply.p.u64 = 0;
	if (fz.wrong) {
		fz.reply.hdr.request = fz.wrong_req;
		fz.reply.hdr.flags = fz.wrong_flags;
		fz.reply.hdr.size = fz.wrong_size % (VU_MAX_PAYLOAD + 1);
		fz.wrong = false;
	}
	fz.have = true;
	return 0;
}

static int vm_recv(void *ctx, struct vu_msg *msg)
{
	(void)ctx;
	if (fz.fail || !fz.have)
		return -ECONNRESET;
	*msg = fz.reply;
	msg->nfds = 0;
	fz.have = false;
	return 0;
}

static int vm_backend_send(void *ctx, const struct vu_msg *msg)
{
	(void)ctx;
	if (msg->nfds != 0)
		abort();
	return fz.fail ? -EPIPE : 0;
}

static void vm_close(void *ctx, int fd)
{
	(void)ctx;
	close(fd);
}

static int fe_send(void *ctx, const struct vu_msg *msg)
{
	(void)ctx;
	(void)msg;
	return 0;
}

static int fe_backend_send(void *ctx, int chan, const struct vu_msg *msg)
{
	(void)ctx;
	(void)msg;
	return chan >= 0 ? 0 : -EBADF;
}

static int do_signal(void *ctx, int fd)
{
	uint64_t one = 1;

	(void)ctx;
	return write(fd, &one, sizeof(one)) < 0 ? -errno : 0;
}

static void do_close(void *ctx, int fd)
{
	(void)ctx;
	if (close(fd) != 0)
		abort(); /* closed twice, or never ours */
}

static int backend_listen(void *ctx, uint32_t *port)
{
	(void)ctx;
	*port = 105000;
	return 0;
}

static int open_fds(void)
{
	DIR *d = opendir("/proc/self/fd");
	int n = 0;

	if (!d)
		abort();
	while (readdir(d))
		n++;
	closedir(d);
	return n;
}

static int new_fd(uint8_t spec)
{
	int fd;

	if (spec & 0x10)
		return eventfd(0, EFD_NONBLOCK);
	if (spec & 0x08)
		return open(win_path, O_RDWR | O_CLOEXEC);
	fd = memfd_create("fuzz-gw", MFD_CLOEXEC);
	if (fd >= 0 && ftruncate(fd, 65536) != 0)
		abort();
	return fd;
}

static uint32_t le32(const uint8_t *p)
{
	return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

static uint32_t db_n;

/* The relay lends only fds it holds, for rings it has. */
static void lent(uint32_t ring, int fd)
{
	if (ring >= VU_MAX_QUEUES || fd < 0 || fcntl(fd, F_GETFD) < 0)
		abort();
}

static int db_kick(void *ctx, uint32_t ring, int fd, uint32_t *vector)
{
	(void)ctx;
	lent(ring, fd);
	if (++db_n % 4 == 0)
		return -ENOSPC;
	*vector = db_n % 64;
	return 0;
}

static int db_call(void *ctx, uint32_t ring, int fd, uint32_t *peer)
{
	(void)ctx;
	lent(ring, fd);
	*peer = 1 + ++db_n % 0xfffe;
	return 0;
}

static void db_ring(void *ctx, uint32_t ring)
{
	(void)ctx;
	if (ring >= VU_MAX_QUEUES)
		abort();
}

static void setup_once(void)
{
	char why[320];
	int fd;

	if (win_path[0])
		return;
	snprintf(win_path, sizeof(win_path), "/tmp/uvfuzz-gw-XXXXXX");
	fd = mkstemp(win_path);
	if (fd < 0 || ftruncate(fd, 1 << 20) != 0)
		abort();
	close(fd);
	if (gw_windows_add(&win, 0, win_path, why, sizeof(why)) != 0)
		abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const struct vu_fe_transport vm = {.send = vm_send,
						  .recv = vm_recv,
						  .backend_send = vm_backend_send,
						  .close_fd = vm_close};
	static const struct gw_relay_io io = {.fe_send = fe_send,
					      .fe_backend_send = fe_backend_send,
					      .signal = do_signal,
					      .close_fd = do_close,
					      .vm_backend_listen = backend_listen,
					      .db_kick = db_kick,
					      .db_call = db_call,
					      .db_call_commit = db_ring,
					      .db_call_drop = db_ring};
	static struct gw_relay r;
	static struct vu_msg m;
	int before;

	setup_once();
	before = open_fds();
	memset(&fz, 0, sizeof(fz));
	gw_relay_init(&r, &vm, &io, &win);
	for (size_t at = 0; at + REC_HDR <= size;) {
		const uint8_t *h = data + at;
		uint8_t kind = h[0] % 4, spec = h[11];
		uint32_t req = le32(h + 1), flags = le32(h + 5);
		uint16_t len = (uint16_t)(h[9] | h[10] << 8);
		size_t avail;

		at += REC_HDR;
		avail = size - at < len ? size - at : len;
		memset(&m, 0, sizeof(m));
		for (uint32_t i = 0; i < VU_MAX_FDS; i++)
			m.fds[i] = -1;
		m.hdr.request = req;
		m.hdr.flags = flags;
		m.hdr.size = len;
		if (len <= VU_MAX_PAYLOAD)
			memcpy(m.p.raw, data + at, avail);
		at += avail;
		if (len > VU_MAX_PAYLOAD)
			continue;
		switch (kind) {
		case 0:
			m.nfds = spec & 7;
			for (uint32_t i = 0; i < m.nfds; i++)
				m.fds[i] = new_fd(spec);
			if (gw_relay_fe_msg(&r, &m) < 0 || r.vm_lost) {
				gw_relay_reset(&r);
				gw_relay_init(&r, &vm, &io, &win);
			}
			break;
		case 1:
			if (gw_relay_vm_request(&r, &m) < 0) {
				gw_relay_reset(&r);
				gw_relay_init(&r, &vm, &io, &win);
			}
			break;
		case 2: gw_relay_kick(&r, req % 32); break;
		default:
			fz.fail = (spec & 0x80) != 0;
			fz.wrong = !fz.fail;
			fz.wrong_req = req;
			fz.wrong_flags = flags;
			fz.wrong_size = len;
			break;
		}
	}
	gw_relay_reset(&r);
	if (open_fds() != before)
		abort(); /* an fd leaked */
	return 0;
}
