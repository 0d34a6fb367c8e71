/* test_dev_vsock.c - virtio-vsock through a real back-end session.
 *
 * The guest is three test_rings (rx 0, tx 1, event 2) in one fake file; the
 * host side is real Unix sockets in a scratch directory. Packets go the
 * whole way: tx ring, vu_backend_poll(), dev_vsock, Unix socket, and back
 * through the held rx buffers. Every hostile packet must be dropped and
 * counted (or answered with RST) without stopping the ring, and every fd the
 * device opened must be closed again on each way out.
 */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <cmocka.h>

#include "dev/vsock.h"
#include "helpers/fake_platform.h"
#include "helpers/msg_build.h"
#include "helpers/test_ring.h"
#include "vu/backend.h"

#define QSZ 64u
#define CID 3u
#define MEM_GPA 0x40000000ull
#define MEM_SIZE 0x800000ull
#define MEM_UADDR 0x7f3400000000ull
#define HDR ((uint32_t)sizeof(struct virtio_vsock_hdr))
#define RXBUF 4096u
#define UVH_TEST_MAX_FDS 256

static const uint64_t ring_off[3] = {0x0, 0x4000, 0x8000};
static const uint64_t data_off[3] = {0x10000, 0x200000, 0x780000};
static const uint64_t data_len[3] = {0x1f0000, 0x580000, 0x80000};

struct fx {
	struct fake_platform fp;
	struct vu_backend b;
	struct dev_vsock v;
	struct vu_msg m;
	struct test_ring ring[3];
	int mem_fd;
	char dir[64];
	char path[96];
	uint64_t now;
	int fds_before;
};

static uint64_t fake_now;

static uint64_t now_ns(void)
{
	return fake_now;
}

static int count_fds(void)
{
	DIR *d = opendir("/proc/self/fd");
	int n = 0;

	assert_non_null(d);
	while (readdir(d))
		n++;
	closedir(d);
	return n;
}

/* ---- session ------------------------------------------------------------ */

static void send_ok(struct fx *f)
{
	assert_int_equal(vu_backend_handle(&f->b, &f->m), 0);
}

static void send_u64(struct fx *f, uint32_t request, uint64_t v)
{
	msg_build(&f->m, request, 8);
	f->m.p.u64 = v;
	send_ok(f);
}

static void send_state(struct fx *f, uint32_t request, uint32_t index, uint32_t num)
{
	msg_build(&f->m, request, 8);
	f->m.p.state.index = index;
	f->m.p.state.num = num;
	send_ok(f);
}

static void start_ring(struct fx *f, uint32_t q)
{
	struct vu_vring_addr a;

	send_state(f, VU_REQ_SET_VRING_NUM, q, QSZ);
	send_state(f, VU_REQ_SET_VRING_BASE, q, 0);
	test_ring_addr(&f->ring[q], q, &a);
	msg_build(&f->m, VU_REQ_SET_VRING_ADDR, sizeof(a));
	f->m.p.addr = a;
	send_ok(f);
	send_u64(f, VU_REQ_SET_VRING_KICK, q | VU_VRING_NOFD);
	send_state(f, VU_REQ_SET_VRING_ENABLE, q, 1);
}

static void bring_up(struct fx *f)
{
	uint8_t *host;

	msg_build(&f->m, VU_REQ_GET_FEATURES, 0);
	send_ok(f);
	send_u64(f, VU_REQ_SET_PROTOCOL_FEATURES, vu_backend_offered_protocol_features(&f->b));
	msg_build(&f->m, VU_REQ_SET_OWNER, 0);
	send_ok(f);
	send_u64(f, VU_REQ_SET_FEATURES, VU_BIT(VU_F_VERSION_1) | VU_BIT(VU_F_PROTOCOL_FEATURES));
	f->mem_fd = fake_file_new(&f->fp, MEM_SIZE);
	host = fake_file_ptr(&f->fp, f->mem_fd, 0);
	for (int q = 0; q < 3; q++)
		test_ring_init(&f->ring[q], host, MEM_GPA, MEM_UADDR, MEM_SIZE, ring_off[q],
			       data_off[q], data_len[q], QSZ);
	msg_build(&f->m, VU_REQ_ADD_MEM_REG, sizeof(struct vu_mem_single_msg));
	f->m.p.mem_single.region =
		(struct vu_mem_region){.gpa = MEM_GPA, .size = MEM_SIZE, .uaddr = MEM_UADDR};
	f->m.fds[f->m.nfds++] = f->mem_fd;
	send_ok(f);
	for (uint32_t q = 0; q < 3; q++)
		start_ring(f, q);
	f->fp.nsent = 0;
}

static int setup(void **state)
{
	struct fx *f = calloc(1, sizeof(*f));
	struct dev_vsock_config c = {.guest_cid = CID, .now_ns = now_ns};

	if (!f)
		return -1;
	fake_now = 1000;
	f->fds_before = count_fds();
	strcpy(f->dir, "/tmp/uvt-vsock-XXXXXX");
	if (!mkdtemp(f->dir))
		return -1;
	snprintf(f->path, sizeof(f->path), "%s/v.sock", f->dir);
	c.uds_path = f->path;
	fake_platform_init(&f->fp, 1);
	if (dev_vsock_init(&f->v, &c) != 0)
		return -1;
	vu_backend_init(&f->b, &f->fp.plat, &f->v.dev, &f->v, NULL);
	dev_vsock_attach(&f->v, &f->b);
	*state = f;
	bring_up(f);
	return 0;
}

static int teardown(void **state)
{
	struct fx *f = *state;
	char p[128];

	vu_backend_disconnect(&f->b);
	assert_int_equal(dev_vsock_active(&f->v), 0);
	dev_vsock_fini(&f->v);
	assert_int_equal(fake_open_files(&f->fp), 0);
	fake_platform_fini(&f->fp);
	/* Every socket the device or the test opened is closed again. */
	assert_int_equal(count_fds(), f->fds_before);
	for (int port = 0; port < 3; port++) {
		snprintf(p, sizeof(p), "%s_%d", f->path, 5000 + port);
		unlink(p);
	}
	rmdir(f->dir);
	free(f);
	return 0;
}

/* ---- the guest's side --------------------------------------------------- */

static struct virtio_vsock_hdr hdr(uint16_t op, uint32_t src_port, uint32_t dst_port, uint32_t len)
{
	struct virtio_vsock_hdr h;

	memset(&h, 0, sizeof(h));
	h.src_cid = CID;
	h.dst_cid = DEV_VSOCK_HOST_CID;
	h.src_port = src_port;
	h.dst_port = dst_port;
	h.len = len;
	h.type = VIRTIO_VSOCK_TYPE_STREAM;
	h.op = op;
	h.buf_alloc = 256 * 1024;
	return h;
}

/* Put header + payload on the tx ring, cut into descriptors at `cuts`
 * (byte offsets into the packet, increasing; 0-terminated), and run it. */
static void tx_cut(struct fx *f, const void *pkt, uint32_t len, const uint32_t *cuts)
{
	struct test_seg seg[16];
	unsigned n = 0;
	uint32_t at = 0;
	uint32_t used_len, id;

	for (unsigned i = 0; at < len || (len == 0 && n == 0); i++) {
		uint32_t end = cuts && cuts[i] && cuts[i] < len ? cuts[i] : len;
		uint64_t g = test_ring_alloc(&f->ring[1], end - at ? end - at : 1);
		memcpy(test_ring_ptr(&f->ring[1], g), (const uint8_t *)pkt + at, end - at);
		seg[n++] = (struct test_seg){.gpa = g, .len = end - at};
		at = end;
		assert_true(n < 16);
		if (len == 0)
			break;
	}
	test_ring_add(&f->ring[1], seg, n);
	vu_backend_poll(&f->b, 64);
	assert_true(test_ring_pop_used(&f->ring[1], &id, &used_len));
	assert_int_equal(used_len, 0);
	assert_false(f->b.vq[1].broken);
}

static void tx(struct fx *f, struct virtio_vsock_hdr h, const void *payload, uint32_t len)
{
	static uint8_t pkt[512 * 1024];

	memcpy(pkt, &h, HDR);
	if (len)
		memcpy(pkt + HDR, payload, len);
	tx_cut(f, pkt, HDR + len, NULL);
}

/* Post n rx buffers of `room` payload bytes; split puts the header in its
 * own descriptor (Linux 6.1) instead of one buffer (Linux 6.2+). */
static void post_rx(struct fx *f, unsigned n, uint32_t room, bool split)
{
	for (unsigned i = 0; i < n; i++) {
		if (split) {
			struct test_seg s[2] = {
				{.gpa = test_ring_alloc(&f->ring[0], HDR),
				 .len = HDR,
				 .write = true},
				{.gpa = test_ring_alloc(&f->ring[0], room),
				 .len = room,
				 .write = true},
			};
			test_ring_add(&f->ring[0], s, 2);
		} else {
			struct test_seg s = {.gpa = test_ring_alloc(&f->ring[0], HDR + room),
					     .len = HDR + room,
					     .write = true};
			test_ring_add(&f->ring[0], &s, 1);
		}
	}
	vu_backend_poll(&f->b, 64);
}

/* The next packet the device gave the guest: header, payload into buf. */
static bool rx(struct fx *f, struct virtio_vsock_hdr *h, uint8_t *buf, uint32_t max)
{
	struct vring_desc *d = test_ring_desc(&f->ring[0]);
	uint32_t id, len, at = 0;
	uint8_t pkt[HDR + 70000];

	if (!test_ring_pop_used(&f->ring[0], &id, &len))
		return false;
	assert_true(len >= HDR);
	for (uint16_t i = (uint16_t)id;; i = d[i].next) {
		uint32_t take = d[i].len < len - at ? d[i].len : len - at;
		memcpy(pkt + at, test_ring_ptr(&f->ring[0], d[i].addr), take);
		at += take;
		if (!(d[i].flags & VRING_DESC_F_NEXT) || at == len)
			break;
	}
	assert_int_equal(at, len);
	memcpy(h, pkt, HDR);
	assert_int_equal(h->len, len - HDR);
	assert_true(h->len <= max);
	if (h->len)
		memcpy(buf, pkt + HDR, h->len);
	assert_int_equal(h->src_cid, DEV_VSOCK_HOST_CID);
	assert_int_equal(h->dst_cid, CID);
	assert_int_equal(h->type, VIRTIO_VSOCK_TYPE_STREAM);
	return true;
}

/* One turn of the host loop as uvhostd runs it: rings, then the device's
 * pollfds through poll(2) (no waiting), then the rings again. */
static int turn(struct fx *f)
{
	struct pollfd p[UVH_TEST_MAX_FDS];
	int n, work = vu_backend_poll(&f->b, 64);

	n = dev_vsock_fill(&f->v, p, UVH_TEST_MAX_FDS);
	assert_true(n >= 1);
	assert_true(poll(p, (nfds_t)n, 0) >= 0);
	work += dev_vsock_ready(&f->v, p, n);
	return work + vu_backend_poll(&f->b, 64);
}

/* Turns until the device is idle, as the loop runs while there is work. */
static void pump(struct fx *f)
{
	for (int i = 0; i < 16 && turn(f) > 0; i++)
		;
}

static void expect_rx_op(struct fx *f, uint16_t op, uint32_t host_port, uint32_t guest_port)
{
	struct virtio_vsock_hdr h;
	uint8_t b[8];

	assert_true(rx(f, &h, b, 0));
	assert_int_equal(h.op, op);
	assert_int_equal(h.src_port, host_port);
	assert_int_equal(h.dst_port, guest_port);
}

static void expect_no_rx(struct fx *f)
{
	struct virtio_vsock_hdr h;
	uint8_t b[8];

	pump(f);
	assert_false(rx(f, &h, b, 0));
}

/* ---- the host's side ---------------------------------------------------- */

static int host_listen(struct fx *f, uint32_t port)
{
	struct sockaddr_un a = {.sun_family = AF_UNIX};
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);

	snprintf(a.sun_path, sizeof(a.sun_path), "%s_%u", f->path, port);
	unlink(a.sun_path);
	assert_int_equal(bind(fd, (struct sockaddr *)&a, sizeof(a)), 0);
	assert_int_equal(listen(fd, 4), 0);
	return fd;
}

static int host_connect(struct fx *f, const char *hello)
{
	struct sockaddr_un a = {.sun_family = AF_UNIX};
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	struct pollfd p[1];
	int n;

	strcpy(a.sun_path, f->path);
	assert_int_equal(connect(fd, (struct sockaddr *)&a, sizeof(a)), 0);
	if (hello)
		assert_int_equal(write(fd, hello, strlen(hello)), (ssize_t)strlen(hello));
	/* Through the loop hooks, as uvhostd runs them. */
	n = dev_vsock_fill(&f->v, p, 1);
	assert_int_equal(n, 1);
	assert_int_equal(poll(p, 1, 1000), 1);
	dev_vsock_ready(&f->v, p, 1);
	return fd;
}

/* Bytes read; 0 at EOF; -1 when the device closed the socket with data
 * unread (Linux reports ECONNRESET then); -2 when nothing came in 1 s. */
static ssize_t read_some(int fd, void *buf, size_t len)
{
	struct pollfd p = {.fd = fd, .events = POLLIN};
	ssize_t r;

	if (poll(&p, 1, 1000) != 1)
		return -2;
	r = read(fd, buf, len);
	return r < 0 && errno != ECONNRESET ? -3 : r;
}

/* A guest connection to host port 5000, accepted by the test's listener.
 * Returns the host-side socket. */
static int guest_connects(struct fx *f, int lfd, uint32_t gport)
{
	int fd;

	post_rx(f, 1, RXBUF, false);
	tx(f, hdr(VIRTIO_VSOCK_OP_REQUEST, gport, 5000, 0), NULL, 0);
	fd = accept4(lfd, NULL, NULL, SOCK_CLOEXEC);
	assert_true(fd >= 0);
	pump(f);
	expect_rx_op(f, VIRTIO_VSOCK_OP_RESPONSE, 5000, gport);
	return fd;
}

/* ---- tests: what the device offers ------------------------------------- */

static void test_config_and_ops(void **state)
{
	struct fx *f = *state;
	uint64_t cid = 0;

	assert_int_equal(f->v.dev.virtio_id, 19);
	assert_int_equal(f->v.dev.num_queues, 3);
	assert_true(f->v.dev.has_config);
	assert_int_equal(f->v.dev.ops->get_config(&f->v, (uint8_t *)&cid, 0, 8), 0);
	assert_int_equal(cid, CID);
	assert_int_equal(f->v.dev.ops->get_config(&f->v, (uint8_t *)&cid, VU_CONFIG_MAX, 8),
			 -EINVAL);
}

static void test_init_rejects_bad_cid(void **state)
{
	struct dev_vsock *v = calloc(1, sizeof(*v));
	struct dev_vsock_config c = {.guest_cid = 2};

	(void)state;
	assert_int_equal(dev_vsock_init(v, &c), -EINVAL);
	c.guest_cid = 0xffffffffull;
	assert_int_equal(dev_vsock_init(v, &c), -EINVAL);
	free(v);
}

/* ---- tests: hostile packets --------------------------------------------- */

static void test_zero_length_chain(void **state)
{
	struct fx *f = *state;

	post_rx(f, 2, RXBUF, false);
	tx_cut(f, "", 0, NULL);
	assert_int_equal(f->v.st.violations, 1);
	expect_no_rx(f);
}

static void test_short_header(void **state)
{
	struct fx *f = *state;
	struct virtio_vsock_hdr h = hdr(VIRTIO_VSOCK_OP_REQUEST, 1, 5000, 0);

	post_rx(f, 2, RXBUF, false);
	tx_cut(f, &h, HDR - 1, NULL);
	assert_int_equal(f->v.st.violations, 1);
	expect_no_rx(f);
}

static void test_len_larger_than_chain(void **state)
{
	struct fx *f = *state;
	int lfd = host_listen(f, 5000);
	int fd = guest_connects(f, lfd, 7);
	uint8_t data[100];

	memset(data, 'x', sizeof(data));
	struct virtio_vsock_hdr h = hdr(VIRTIO_VSOCK_OP_RW, 7, 5000, sizeof(data) + 1);
	tx(f, h, data, sizeof(data));
	assert_int_equal(f->v.st.violations, 1);
	assert_int_equal(f->v.conns[0].buf_used, 0);
	assert_int_equal(f->v.st.bytes_from_guest, 0);
	close(fd);
	close(lfd);
}

static void test_wrong_src_cid(void **state)
{
	struct fx *f = *state;
	int lfd = host_listen(f, 5000);
	struct virtio_vsock_hdr h = hdr(VIRTIO_VSOCK_OP_REQUEST, 7, 5000, 0);

	post_rx(f, 2, RXBUF, false);
	h.src_cid = CID + 1;
	tx(f, h, NULL, 0);
	assert_int_equal(f->v.st.violations, 1);
	assert_int_equal(dev_vsock_active(&f->v), 0);
	expect_no_rx(f);
	close(lfd);
}

static void test_dst_cid_not_host(void **state)
{
	struct fx *f = *state;
	struct virtio_vsock_hdr h = hdr(VIRTIO_VSOCK_OP_REQUEST, 7, 5000, 0);

	post_rx(f, 2, RXBUF, false);
	h.dst_cid = 1;
	tx(f, h, NULL, 0);
	assert_int_equal(f->v.st.violations, 1);
	expect_no_rx(f);
}

static void test_unknown_type_gets_rst(void **state)
{
	struct fx *f = *state;
	struct virtio_vsock_hdr h = hdr(VIRTIO_VSOCK_OP_REQUEST, 7, 5000, 0);

	post_rx(f, 2, RXBUF, false);
	h.type = 2; /* SEQPACKET: never offered */
	tx(f, h, NULL, 0);
	assert_int_equal(f->v.st.violations, 1);
	pump(f);
	expect_rx_op(f, VIRTIO_VSOCK_OP_RST, 5000, 7);
	/* ...but an RST of an unknown type is not answered. */
	h.op = VIRTIO_VSOCK_OP_RST;
	tx(f, h, NULL, 0);
	expect_no_rx(f);
}

static void test_unknown_connection_gets_rst(void **state)
{
	struct fx *f = *state;

	post_rx(f, 4, RXBUF, false);
	tx(f, hdr(VIRTIO_VSOCK_OP_RW, 9, 4000, 3), "abc", 3);
	tx(f, hdr(VIRTIO_VSOCK_OP_SHUTDOWN, 10, 4000, 0), NULL, 0);
	pump(f);
	expect_rx_op(f, VIRTIO_VSOCK_OP_RST, 4000, 9);
	expect_rx_op(f, VIRTIO_VSOCK_OP_RST, 4000, 10);
	tx(f, hdr(VIRTIO_VSOCK_OP_RST, 11, 4000, 0), NULL, 0);
	expect_no_rx(f);
	assert_int_equal(f->v.st.rst_sent, 2);
}

static void test_unknown_op_resets_connection(void **state)
{
	struct fx *f = *state;
	int lfd = host_listen(f, 5000);
	int fd = guest_connects(f, lfd, 7);
	char b[8];

	post_rx(f, 2, RXBUF, false);
	tx(f, hdr(99, 7, 5000, 0), NULL, 0);
	assert_int_equal(f->v.st.violations, 1);
	pump(f);
	expect_rx_op(f, VIRTIO_VSOCK_OP_RST, 5000, 7);
	assert_int_equal(dev_vsock_active(&f->v), 0);
	assert_int_equal(read_some(fd, b, sizeof(b)), 0); /* the Unix side sees EOF */
	close(fd);
	close(lfd);
}

static void test_guest_connect_refused(void **state)
{
	struct fx *f = *state;

	post_rx(f, 2, RXBUF, false);
	tx(f, hdr(VIRTIO_VSOCK_OP_REQUEST, 7, 5001, 0), NULL, 0); /* nobody on PATH_5001 */
	pump(f);
	expect_rx_op(f, VIRTIO_VSOCK_OP_RST, 5001, 7);
	assert_int_equal(f->v.st.conns_refused, 1);
	assert_int_equal(dev_vsock_active(&f->v), 0);
}

/* ---- tests: data ------------------------------------------------------- */

static void test_split_header_and_payload(void **state)
{
	struct fx *f = *state;
	int lfd = host_listen(f, 5000);
	int fd;
	uint8_t pkt[HDR + 300], got[300];
	struct virtio_vsock_hdr h = hdr(VIRTIO_VSOCK_OP_REQUEST, 7, 5000, 0);
	static const uint32_t cuts_req[] = {1, 8, 9, 30, 43, 0};
	static const uint32_t cuts_rw[] = {3, 20, 44, 45, 100, 0};

	post_rx(f, 4, RXBUF, true);
	memcpy(pkt, &h, HDR);
	tx_cut(f, pkt, HDR, cuts_req);
	fd = accept4(lfd, NULL, NULL, SOCK_CLOEXEC);
	assert_true(fd >= 0);
	pump(f);
	expect_rx_op(f, VIRTIO_VSOCK_OP_RESPONSE, 5000, 7);
	h = hdr(VIRTIO_VSOCK_OP_RW, 7, 5000, 300);
	memcpy(pkt, &h, HDR);
	for (int i = 0; i < 300; i++)
		pkt[HDR + i] = (uint8_t)(i * 13 + 1);
	tx_cut(f, pkt, HDR + 300, cuts_rw);
	pump(f);
	assert_int_equal(read_some(fd, got, sizeof(got)), 300);
	assert_memory_equal(got, pkt + HDR, 300);
	assert_int_equal(f->v.st.violations, 0);
	close(fd);
	close(lfd);
}

static void test_guest_exceeds_credit(void **state)
{
	struct fx *f = *state;
	int lfd = host_listen(f, 5000);
	int fd = guest_connects(f, lfd, 7);
	static uint8_t big[DEV_VSOCK_BUF_ALLOC];

	/* The Unix peer reads nothing: the first 256 KiB fill our buffer (and
	 * whatever the socket takes), then one byte more is a violation. */
	post_rx(f, 2, RXBUF, false);
	memset(big, 0x5a, sizeof(big));
	tx(f, hdr(VIRTIO_VSOCK_OP_RW, 7, 5000, sizeof(big)), big, sizeof(big));
	assert_int_equal(f->v.st.violations, 0);
	tx(f, hdr(VIRTIO_VSOCK_OP_RW, 7, 5000, 1), big, 1);
	assert_int_equal(f->v.st.violations, 1);
	pump(f);
	expect_rx_op(f, VIRTIO_VSOCK_OP_RST, 5000, 7);
	assert_int_equal(dev_vsock_active(&f->v), 0);
	close(fd);
	close(lfd);
}

/* A Unix reader that does not read: nothing is lost, fwd_cnt only counts
 * what the socket took, and the credit comes back as it drains. */
static void test_slow_unix_reader_loses_nothing(void **state)
{
	struct fx *f = *state;
	int lfd = host_listen(f, 5000);
	int fd = guest_connects(f, lfd, 7);
	static uint8_t sent[4 * DEV_VSOCK_BUF_ALLOC], got[4 * DEV_VSOCK_BUF_ALLOC];
	uint32_t total = 0, read_total = 0, guest_credit_used = 0, fwd = 0;
	struct virtio_vsock_hdr h;
	uint8_t b[8];

	for (uint32_t i = 0; i < sizeof(sent); i++)
		sent[i] = (uint8_t)(i ^ (i >> 9));
	post_rx(f, 32, RXBUF, false);
	while (total < sizeof(sent) || read_total < total) {
		/* The guest sends whatever its credit allows, in 64 KiB packets. */
		while (total < sizeof(sent) && guest_credit_used - fwd < DEV_VSOCK_BUF_ALLOC) {
			uint32_t n = DEV_VSOCK_BUF_ALLOC - (guest_credit_used - fwd);
			if (n > 65536)
				n = 65536;
			if (n > sizeof(sent) - total)
				n = sizeof(sent) - total;
			tx(f, hdr(VIRTIO_VSOCK_OP_RW, 7, 5000, n), sent + total, n);
			total += n;
			guest_credit_used += n;
		}
		pump(f);
		while (rx(f, &h, b, 0)) {
			assert_int_equal(h.op, VIRTIO_VSOCK_OP_CREDIT_UPDATE);
			assert_true(h.fwd_cnt - fwd <= total - fwd);
			fwd = h.fwd_cnt;
			post_rx(f, 1, RXBUF, false);
		}
		/* fwd_cnt never runs ahead of the bytes the socket accepted. */
		assert_true(f->v.conns[0].fwd_cnt <= total);
		ssize_t r = read_some(fd, got + read_total, 8192); /* a slow reader */
		assert_true(r > 0);
		read_total += (uint32_t)r;
		pump(f);
	}
	assert_int_equal(read_total, sizeof(sent));
	assert_memory_equal(got, sent, sizeof(sent));
	assert_int_equal(f->v.st.violations, 0);
	assert_int_equal(f->v.st.bytes_from_guest, sizeof(sent));
	close(fd);
	close(lfd);
}

/* Host -> guest: never more than the guest's credit, never more than the
 * posted buffer holds. */
static void test_host_data_respects_credit_and_buffers(void **state)
{
	struct fx *f = *state;
	int lfd = host_listen(f, 5000);
	struct virtio_vsock_hdr h = hdr(VIRTIO_VSOCK_OP_REQUEST, 7, 5000, 0);
	uint8_t data[5000], got[5000];
	uint32_t have = 0;
	int fd, asked = 0;

	for (unsigned i = 0; i < sizeof(data); i++)
		data[i] = (uint8_t)(i * 7);
	h.buf_alloc = 1000;
	post_rx(f, 16, 100, true);
	tx(f, h, NULL, 0);
	fd = accept4(lfd, NULL, NULL, SOCK_CLOEXEC);
	assert_int_equal(write(fd, data, sizeof(data)), (ssize_t)sizeof(data));
	pump(f);
	expect_rx_op(f, VIRTIO_VSOCK_OP_RESPONSE, 5000, 7);
	while (rx(f, &h, got + have, 100)) {
		if (h.op == VIRTIO_VSOCK_OP_CREDIT_REQUEST) {
			asked++;
			continue;
		}
		assert_int_equal(h.op, VIRTIO_VSOCK_OP_RW);
		assert_true(h.len <= 100);
		have += h.len;
	}
	assert_int_equal(have, 1000); /* exactly the credit */
	assert_int_equal(f->v.st.stalls, 1);
	assert_int_equal(asked, 1);
	/* The guest read it all: 2000 more. */
	h = hdr(VIRTIO_VSOCK_OP_CREDIT_UPDATE, 7, 5000, 0);
	h.buf_alloc = 1000;
	h.fwd_cnt = 1000;
	tx(f, h, NULL, 0);
	post_rx(f, 16, 100, false);
	pump(f);
	while (rx(f, &h, got + have, 100))
		if (h.op == VIRTIO_VSOCK_OP_RW)
			have += h.len;
	assert_int_equal(have, 2000);
	assert_memory_equal(got, data, 2000);
	close(fd);
	close(lfd);
}

/* ---- tests: the host side connects ------------------------------------ */

static void test_host_connect_and_ok_line(void **state)
{
	struct fx *f = *state;
	int fd = host_connect(f, "CONNECT 1234\nhello");
	struct virtio_vsock_hdr h;
	uint8_t b[64];
	char line[64];
	uint32_t hp;
	ssize_t n;

	post_rx(f, 4, RXBUF, false);
	pump(f);
	assert_true(rx(f, &h, b, 0));
	assert_int_equal(h.op, VIRTIO_VSOCK_OP_REQUEST);
	assert_int_equal(h.dst_port, 1234);
	hp = h.src_port;
	assert_true(hp >= DEV_VSOCK_EPHEMERAL_BASE);
	h = hdr(VIRTIO_VSOCK_OP_RESPONSE, 1234, hp, 0);
	tx(f, h, NULL, 0);
	pump(f);
	n = read_some(fd, line, sizeof(line) - 1);
	assert_true(n > 0);
	line[n] = '\0';
	snprintf((char *)b, sizeof(b), "OK %u\n", hp);
	assert_string_equal(line, (char *)b);
	/* The bytes after the CONNECT line are the first payload. */
	pump(f);
	assert_true(rx(f, &h, b, sizeof(b)));
	assert_int_equal(h.op, VIRTIO_VSOCK_OP_RW);
	assert_int_equal(h.len, 5);
	assert_memory_equal(b, "hello", 5);
	assert_int_equal(f->v.st.conns_host, 1);
	/* Unix EOF becomes SHUTDOWN(SEND). */
	shutdown(fd, SHUT_WR);
	pump(f);
	assert_true(rx(f, &h, b, 0));
	assert_int_equal(h.op, VIRTIO_VSOCK_OP_SHUTDOWN);
	assert_int_equal(h.flags, VIRTIO_VSOCK_SHUTDOWN_SEND);
	/* The guest closes: RST, and the Unix side sees EOF. */
	h = hdr(VIRTIO_VSOCK_OP_SHUTDOWN, 1234, hp, 0);
	h.flags = VIRTIO_VSOCK_SHUTDOWN_RCV | VIRTIO_VSOCK_SHUTDOWN_SEND;
	tx(f, h, NULL, 0);
	pump(f);
	expect_rx_op(f, VIRTIO_VSOCK_OP_RST, hp, 1234);
	assert_int_equal(read_some(fd, line, sizeof(line)), 0);
	assert_int_equal(dev_vsock_active(&f->v), 0);
	close(fd);
}

static void test_host_connect_refused_by_guest(void **state)
{
	struct fx *f = *state;
	int fd = host_connect(f, "CONNECT 77\n");
	struct virtio_vsock_hdr h;
	uint8_t b[8];

	post_rx(f, 2, RXBUF, false);
	pump(f);
	assert_true(rx(f, &h, b, 0));
	assert_int_equal(h.op, VIRTIO_VSOCK_OP_REQUEST);
	tx(f, hdr(VIRTIO_VSOCK_OP_RST, 77, h.src_port, 0), NULL, 0);
	assert_int_equal(read_some(fd, b, sizeof(b)), 0); /* closed, no OK */
	assert_int_equal(f->v.st.conns_refused, 1);
	expect_no_rx(f);
	close(fd);
}

static void test_host_connect_timeout(void **state)
{
	struct fx *f = *state;
	int fd = host_connect(f, "CONNECT 77\n");
	struct virtio_vsock_hdr h;
	uint8_t b[8];

	post_rx(f, 2, RXBUF, false);
	pump(f);
	assert_true(rx(f, &h, b, 0));
	assert_int_equal(h.op, VIRTIO_VSOCK_OP_REQUEST);
	fake_now += DEV_VSOCK_CONNECT_TIMEOUT_NS + 1;
	pump(f);
	assert_int_equal(read_some(fd, b, sizeof(b)), 0);
	/* The guest may still answer: it must learn the connection is gone. */
	expect_rx_op(f, VIRTIO_VSOCK_OP_RST, h.src_port, 77);
	close(fd);
}

static void test_bad_handshakes(void **state)
{
	struct fx *f = *state;
	static const char *bad[] = {"HELLO 1\n", "CONNECT\n", "CONNECT 12x\n",
				    "CONNECT 4294967296\n", "CONNECT 1111111111111111111111111"};
	char b[8];

	for (unsigned i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		int fd = host_connect(f, bad[i]);
		ssize_t r = read_some(fd, b, sizeof(b));
		assert_true(r == 0 || r == -1);
		close(fd);
		assert_int_equal(dev_vsock_active(&f->v), 0);
	}
}

/* ---- tests: every way out closes every fd ------------------------------ */

static int three_connections(struct fx *f, int *lfd, int *fds)
{
	*lfd = host_listen(f, 5000);
	fds[0] = guest_connects(f, *lfd, 7);
	fds[1] = guest_connects(f, *lfd, 8);
	fds[2] = host_connect(f, "CONNECT 99\n");
	assert_int_equal(dev_vsock_active(&f->v), 3);
	return 3;
}

static void all_closed(int lfd, int *fds)
{
	char b[8];

	for (int i = 0; i < 3; i++) {
		assert_int_equal(read_some(fds[i], b, sizeof(b)), 0);
		close(fds[i]);
	}
	close(lfd);
}

static void test_reset_device_closes_all_and_reports(void **state)
{
	struct fx *f = *state;
	uint32_t id, len, ev = 0xffffffffu;
	int lfd, fds[3];
	struct test_seg s;

	post_rx(f, 8, RXBUF, false);
	three_connections(f, &lfd, fds);
	msg_build(&f->m, VU_REQ_RESET_DEVICE, 0);
	send_ok(f);
	assert_int_equal(dev_vsock_active(&f->v), 0);
	all_closed(lfd, fds);
	/* The driver comes back: the first event buffer says TRANSPORT_RESET. */
	send_u64(f, VU_REQ_SET_FEATURES, VU_BIT(VU_F_VERSION_1) | VU_BIT(VU_F_PROTOCOL_FEATURES));
	for (uint32_t q = 0; q < 3; q++) {
		test_ring_init(&f->ring[q], f->ring[q].host, MEM_GPA, MEM_UADDR, MEM_SIZE,
			       ring_off[q], data_off[q], data_len[q], QSZ);
		start_ring(f, q);
	}
	s = (struct test_seg){.gpa = test_ring_alloc(&f->ring[2], 4), .len = 4, .write = true};
	test_ring_add(&f->ring[2], &s, 1);
	pump(f);
	assert_true(test_ring_pop_used(&f->ring[2], &id, &len));
	assert_int_equal(len, 4);
	memcpy(&ev, test_ring_ptr(&f->ring[2], s.gpa), 4);
	assert_int_equal(ev, VIRTIO_VSOCK_EVENT_TRANSPORT_RESET);
	assert_int_equal(f->v.st.events_sent, 1);
}

static void test_disconnect_closes_all(void **state)
{
	struct fx *f = *state;
	int lfd, fds[3];

	post_rx(f, 8, RXBUF, false);
	three_connections(f, &lfd, fds);
	vu_backend_disconnect(&f->b);
	assert_int_equal(dev_vsock_active(&f->v), 0);
	all_closed(lfd, fds);
}

static void test_ring_stop_closes_all_and_returns_buffers(void **state)
{
	struct fx *f = *state;
	uint32_t id, len;
	int lfd, fds[3];
	unsigned back = 0;

	post_rx(f, 8, RXBUF, false);
	three_connections(f, &lfd, fds);
	pump(f);
	while (test_ring_pop_used(&f->ring[0], &id, &len))
		; /* RESPONSEs and the REQUEST */
	/* QEMU's stop: disable, then GET_VRING_BASE. Held buffers come back
	 * empty while the ring is still there. */
	send_state(f, VU_REQ_SET_VRING_ENABLE, 0, 0);
	pump(f);
	while (test_ring_pop_used(&f->ring[0], &id, &len)) {
		assert_int_equal(len, 0);
		back++;
	}
	assert_int_equal(back, 7);
	msg_build(&f->m, VU_REQ_GET_VRING_BASE, 8);
	f->m.p.state.index = 0;
	send_ok(f);
	pump(f);
	assert_int_equal(dev_vsock_active(&f->v), 0);
	all_closed(lfd, fds);
}

static void test_bad_rx_buffer_returned(void **state)
{
	struct fx *f = *state;
	struct test_seg s = {
		.gpa = test_ring_alloc(&f->ring[0], HDR - 1), .len = HDR - 1, .write = true};
	struct test_seg ro = {.gpa = test_ring_alloc(&f->ring[0], 100), .len = 100};
	uint32_t id, len;

	test_ring_add(&f->ring[0], &s, 1);
	test_ring_add(&f->ring[0], &ro, 1);
	vu_backend_poll(&f->b, 64);
	assert_true(test_ring_pop_used(&f->ring[0], &id, &len));
	assert_int_equal(len, 0);
	assert_true(test_ring_pop_used(&f->ring[0], &id, &len));
	assert_int_equal(len, 0);
	assert_int_equal(f->v.st.violations, 2);
	assert_int_equal(f->v.rx_count, 0);
	assert_false(f->b.vq[0].broken);
}

/* A hostile driver posts an rx head the device still holds: the ring stops
 * with a reason and the device holds the buffer once, never twice. */
static void test_rx_head_posted_twice_is_ring_error(void **state)
{
	struct fx *f = *state;
	uint16_t head;

	post_rx(f, 1, 64, false);
	assert_int_equal(f->v.rx_count, 1);
	head = (uint16_t)(f->ring[0].next_desc - 1);
	test_ring_publish(&f->ring[0], head);
	vu_backend_poll(&f->b, 64);
	assert_true(f->b.vq[0].broken);
	assert_non_null(strstr(f->fp.last_log, "still in use"));
	assert_int_equal(f->v.rx_count, 1);
	assert_int_equal(vu_ring_pending(&f->b, 0), 1);
}

static void test_credit_request_answered(void **state)
{
	struct fx *f = *state;
	int lfd = host_listen(f, 5000);
	int fd = guest_connects(f, lfd, 7);
	struct virtio_vsock_hdr h;
	uint8_t b[8];

	post_rx(f, 2, RXBUF, false);
	tx(f, hdr(VIRTIO_VSOCK_OP_CREDIT_REQUEST, 7, 5000, 0), NULL, 0);
	pump(f);
	assert_true(rx(f, &h, b, 0));
	assert_int_equal(h.op, VIRTIO_VSOCK_OP_CREDIT_UPDATE);
	assert_int_equal(h.buf_alloc, DEV_VSOCK_BUF_ALLOC);
	assert_int_equal(h.fwd_cnt, 0);
	close(fd);
	close(lfd);
}

#define T(fn) cmocka_unit_test_setup_teardown(fn, setup, teardown)

int main(void)
{
	const struct CMUnitTest tests[] = {
		T(test_config_and_ops),
		cmocka_unit_test(test_init_rejects_bad_cid),
		T(test_zero_length_chain),
		T(test_short_header),
		T(test_len_larger_than_chain),
		T(test_wrong_src_cid),
		T(test_dst_cid_not_host),
		T(test_unknown_type_gets_rst),
		T(test_unknown_connection_gets_rst),
		T(test_unknown_op_resets_connection),
		T(test_guest_connect_refused),
		T(test_split_header_and_payload),
		T(test_guest_exceeds_credit),
		T(test_slow_unix_reader_loses_nothing),
		T(test_host_data_respects_credit_and_buffers),
		T(test_host_connect_and_ok_line),
		T(test_host_connect_refused_by_guest),
		T(test_host_connect_timeout),
		T(test_bad_handshakes),
		T(test_reset_device_closes_all_and_reports),
		T(test_disconnect_closes_all),
		T(test_ring_stop_closes_all_and_returns_buffers),
		T(test_bad_rx_buffer_returned),
		T(test_rx_head_posted_twice_is_ring_error),
		T(test_credit_request_answered),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
