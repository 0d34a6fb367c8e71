/* fuzz_dev_vsock.c - libFuzzer target: a hostile guest against the vsock device.
 *
 * One vu_backend serving dev_vsock on the fake platform, rings rx/tx/event in
 * one region of fake guest memory (test_ring). The host side is real: the
 * device's uds_path lives in a scratch directory where a listener accepts
 * guest connections to host port 5000 and never reads, so the device's
 * buffers fill up. Each input is a fresh front-end session; at its end the
 * session is dropped, and every fd the device opened must be closed and no
 * connection may survive (breaking that aborts).
 *
 * Input: records until the input runs out (missing bytes read as zero):
 *   0 raw     u8 cut1, u8 cut2, u16 len, len bytes: a tx chain cut into up
 *             to three descriptors at cut1 and cut2 (header split anywhere)
 *   1 packet  u8 op, u8 sport, u8 dport, u8 flags, u32 buf_alloc, u32 fwd_cnt,
 *             u16 len: a well-addressed header (cids right, type STREAM,
 *             ports picked from small sets so packets meet connections)
 *             followed by len payload bytes of a pattern
 *   2 post    u8 n, u8 room: post n % 16 rx buffers (bit 7 of room: header
 *             in its own descriptor), payload room (room & 0x7f) * 64 + 1
 *   3 pump    run the device's loop hooks and the rings once
 *   4 ring    u8 what: 0 disable rx, 1 enable rx, 2 GET_VRING_BASE rx,
 *             3 RESET_DEVICE, 4 post an event buffer
 *   5 host    u8 port: a Unix client connects with "CONNECT <port>\n"
 */
#define _GNU_SOURCE
#include <dirent.h>
#include <poll.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "../unit/helpers/fake_platform.c"
#include "../unit/helpers/msg_build.c"
#include "../unit/helpers/test_ring.c"
#include "dev/vsock.h"
#include "vu/backend.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define QSZ 64u
#define CID 3u
#define MEM_GPA 0x100000ull
#define MEM_SIZE 0x200000ull
#define MEM_UADDR 0x7f1000000000ull
#define HDR ((uint32_t)sizeof(struct virtio_vsock_hdr))
#define MAX_CLIENTS 16

static const uint64_t ring_off[3] = {0x0, 0x4000, 0x8000};
static const uint64_t data_off[3] = {0x10000, 0x100000, 0x1f0000};
static const uint64_t data_len[3] = {0xf0000, 0xf0000, 0x10000};

struct input {
	const uint8_t *p;
	size_t n;
};

static struct {
	bool ready;
	char dir[64], path[96], lpath[112];
	int lfd;
	struct fake_platform fp;
	struct vu_backend b;
	struct dev_vsock v;
	struct vu_msg m;
	struct test_ring ring[3];
	int clients[MAX_CLIENTS];
	int nclients;
	uint8_t pkt[HDR + 65536];
} h;

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

static uint32_t take32(struct input *in)
{
	uint32_t lo = take16(in);
	return lo | (uint32_t)take16(in) << 16;
}

static int count_fds(void)
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

static uint64_t clock_ns;

static uint64_t now_ns(void)
{
	return clock_ns;
}

static void once(void)
{
	struct dev_vsock_config c = {.guest_cid = CID, .now_ns = now_ns};
	struct sockaddr_un a = {.sun_family = AF_UNIX};

	strcpy(h.dir, "/tmp/uvfuzz-vsock-XXXXXX");
	if (!mkdtemp(h.dir))
		abort();
	snprintf(h.path, sizeof(h.path), "%s/v.sock", h.dir);
	snprintf(h.lpath, sizeof(h.lpath), "%s_5000", h.path);
	c.uds_path = h.path;
	if (dev_vsock_init(&h.v, &c) != 0)
		abort();
	h.lfd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	strcpy(a.sun_path, h.lpath);
	if (bind(h.lfd, (struct sockaddr *)&a, sizeof(a)) < 0 || listen(h.lfd, 256) < 0)
		abort();
	h.ready = true;
}

static int handle(void)
{
	return vu_backend_handle(&h.b, &h.m);
}

static void send_u64(uint32_t req, uint64_t v)
{
	msg_build(&h.m, req, 8);
	h.m.p.u64 = v;
	handle();
}

static void send_state(uint32_t req, uint32_t index, uint32_t num)
{
	msg_build(&h.m, req, 8);
	h.m.p.state.index = index;
	h.m.p.state.num = num;
	handle();
}

static void start_ring(uint32_t q)
{
	struct vu_vring_addr a;

	send_state(VU_REQ_SET_VRING_NUM, q, QSZ);
	send_state(VU_REQ_SET_VRING_BASE, q, 0);
	test_ring_addr(&h.ring[q], q, &a);
	msg_build(&h.m, VU_REQ_SET_VRING_ADDR, sizeof(a));
	h.m.p.addr = a;
	handle();
	send_u64(VU_REQ_SET_VRING_KICK, q | VU_VRING_NOFD);
	send_state(VU_REQ_SET_VRING_ENABLE, q, 1);
}

static void bring_up(void)
{
	uint8_t *host;
	int fd;

	fake_platform_init(&h.fp, 1);
	vu_backend_init(&h.b, &h.fp.plat, &h.v.dev, &h.v, NULL);
	dev_vsock_attach(&h.v, &h.b);
	send_u64(VU_REQ_SET_PROTOCOL_FEATURES, vu_backend_offered_protocol_features(&h.b));
	msg_build(&h.m, VU_REQ_SET_OWNER, 0);
	handle();
	send_u64(VU_REQ_SET_FEATURES, VU_BIT(VU_F_VERSION_1) | VU_BIT(VU_F_PROTOCOL_FEATURES) |
					      VU_BIT(VU_F_RING_EVENT_IDX));
	fd = fake_file_new(&h.fp, MEM_SIZE);
	host = fake_file_ptr(&h.fp, fd, 0);
	for (int q = 0; q < 3; q++)
		test_ring_init(&h.ring[q], host, MEM_GPA, MEM_UADDR, MEM_SIZE, ring_off[q],
			       data_off[q], data_len[q], QSZ);
	msg_build(&h.m, VU_REQ_ADD_MEM_REG, sizeof(struct vu_mem_single_msg));
	h.m.p.mem_single.region =
		(struct vu_mem_region){.gpa = MEM_GPA, .size = MEM_SIZE, .uaddr = MEM_UADDR};
	h.m.fds[h.m.nfds++] = fd;
	handle();
	for (uint32_t q = 0; q < 3; q++)
		start_ring(q);
}

static bool room(const struct test_ring *r, uint32_t len)
{
	return r->data_end - r->data_next > (uint64_t)len + 64;
}

static void loop_turn(void)
{
	struct pollfd p[256];
	int n;

	vu_backend_poll(&h.b, 64);
	n = dev_vsock_fill(&h.v, p, 256);
	if (poll(p, (nfds_t)n, 0) < 0)
		return;
	dev_vsock_ready(&h.v, p, n);
	vu_backend_poll(&h.b, 64);
	/* The guest consumes what it was given. */
	for (int q = 0; q < 3; q++) {
		uint32_t id, len;
		while (test_ring_pop_used(&h.ring[q], &id, &len))
			;
	}
	clock_ns += 1000ull * 1000 * 1000;
}

static void tx_chain(const uint8_t *pkt, uint32_t len, uint32_t c1, uint32_t c2)
{
	struct test_seg seg[3];
	uint32_t cut[4] = {0, c1 < len ? c1 : len, c2 < len ? c2 : len, len};
	unsigned n = 0;

	if (cut[2] < cut[1])
		cut[2] = cut[1];
	if (!room(&h.ring[1], len + 48))
		return;
	for (int i = 0; i < 3; i++) {
		uint32_t l = cut[i + 1] - cut[i];
		uint64_t g;
		if (l == 0 && !(len == 0 && i == 0))
			continue;
		g = test_ring_alloc(&h.ring[1], l ? l : 1);
		memcpy(test_ring_ptr(&h.ring[1], g), pkt + cut[i], l);
		seg[n++] = (struct test_seg){.gpa = g, .len = l};
	}
	test_ring_add(&h.ring[1], seg, n);
	vu_backend_poll(&h.b, 64);
}

static void op_raw(struct input *in)
{
	uint32_t c1 = take8(in), c2 = take8(in), len = take16(in) % sizeof(h.pkt);

	memset(h.pkt, 0, len);
	for (uint32_t i = 0; i < len && in->n; i++)
		h.pkt[i] = take8(in);
	tx_chain(h.pkt, len, c1, c2);
}

static void op_packet(struct input *in)
{
	static const uint32_t gports[4] = {1024, 1025, 40000, 0xffffffffu};
	struct virtio_vsock_hdr hd;
	uint8_t sp = take8(in), dp = take8(in);
	uint32_t len;

	memset(&hd, 0, sizeof(hd));
	hd.op = take8(in) % 9;
	hd.src_cid = CID;
	hd.dst_cid = DEV_VSOCK_HOST_CID;
	hd.src_port = gports[sp % 4];
	/* 5000 has a listener, 5001 none, the rest are our ephemeral ports. */
	hd.dst_port = dp % 4 < 2 ? 5000u + dp % 4 : DEV_VSOCK_EPHEMERAL_BASE + (dp >> 2) % 4;
	hd.type = VIRTIO_VSOCK_TYPE_STREAM;
	hd.flags = take8(in);
	hd.buf_alloc = take32(in);
	hd.fwd_cnt = take32(in);
	len = take16(in);
	hd.len = len;
	memcpy(h.pkt, &hd, HDR);
	for (uint32_t i = 0; i < len; i++)
		h.pkt[HDR + i] = (uint8_t)(i * 31 + sp);
	tx_chain(h.pkt, HDR + len, HDR / 2, HDR + len / 2);
}

static void op_post(struct input *in)
{
	uint32_t n = take8(in) % 16, r = take8(in);
	uint32_t payload = (r & 0x7f) * 64 + 1;

	for (uint32_t i = 0; i < n && room(&h.ring[0], HDR + payload); i++) {
		if (r & 0x80) {
			struct test_seg s[2] = {
				{.gpa = test_ring_alloc(&h.ring[0], HDR),
				 .len = HDR,
				 .write = true},
				{.gpa = test_ring_alloc(&h.ring[0], payload),
				 .len = payload,
				 .write = true},
			};
			test_ring_add(&h.ring[0], s, 2);
		} else {
			struct test_seg s = {.gpa = test_ring_alloc(&h.ring[0], HDR + payload),
					     .len = HDR + payload,
					     .write = true};
			test_ring_add(&h.ring[0], &s, 1);
		}
	}
	vu_backend_poll(&h.b, 64);
}

static void op_ring(struct input *in)
{
	struct test_seg s;

	switch (take8(in) % 5) {
	case 0: send_state(VU_REQ_SET_VRING_ENABLE, 0, 0); break;
	case 1: send_state(VU_REQ_SET_VRING_ENABLE, 0, 1); break;
	case 2:
		msg_build(&h.m, VU_REQ_GET_VRING_BASE, 8);
		h.m.p.state.index = 0;
		handle();
		break;
	case 3:
		msg_build(&h.m, VU_REQ_RESET_DEVICE, 0);
		handle();
		break;
	default:
		if (!room(&h.ring[2], 8))
			break;
		s = (struct test_seg){
			.gpa = test_ring_alloc(&h.ring[2], 4), .len = 4, .write = true};
		test_ring_add(&h.ring[2], &s, 1);
		vu_backend_poll(&h.b, 64);
		break;
	}
}

static void op_host(struct input *in)
{
	struct sockaddr_un a = {.sun_family = AF_UNIX};
	char line[32];
	int fd, n;

	if (h.nclients >= MAX_CLIENTS)
		return;
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	strcpy(a.sun_path, h.path);
	if (connect(fd, (struct sockaddr *)&a, sizeof(a)) < 0) {
		close(fd);
		return;
	}
	n = snprintf(line, sizeof(line), "CONNECT %u\nhi", 1024u + take8(in) % 2);
	if (write(fd, line, (size_t)n) < 0) {
		close(fd);
		return;
	}
	h.clients[h.nclients++] = fd;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct input in = {data, size};
	int fds_before, steps = 0;

	if (!h.ready)
		once();
	fds_before = count_fds();
	h.v.next_port = DEV_VSOCK_EPHEMERAL_BASE; /* seeds can name the first one */
	bring_up();
	while (in.n && steps++ < 512) {
		switch (take8(&in) % 6) {
		case 0: op_raw(&in); break;
		case 1: op_packet(&in); break;
		case 2: op_post(&in); break;
		case 3: loop_turn(); break;
		case 4: op_ring(&in); break;
		default: op_host(&in); break;
		}
	}
	loop_turn();
	vu_backend_disconnect(&h.b);
	if (dev_vsock_active(&h.v) != 0)
		abort();
	for (int i = 0; i < h.nclients; i++)
		close(h.clients[i]);
	h.nclients = 0;
	for (;;) { /* the listener's side of guest connections */
		int fd = accept4(h.lfd, NULL, NULL, SOCK_CLOEXEC);
		if (fd < 0)
			break;
		close(fd);
	}
	if (fake_open_files(&h.fp) != 0 || count_fds() != fds_before)
		abort();
	fake_platform_fini(&h.fp);
	memset(&h.v.st, 0, sizeof(h.v.st));
	return 0;
}
