/* The vsock protocol core at packet level: one core (CID 3) facing crafted
 * packets from a host (CID 2), plus two cores back to back for bulk data.
 * Every hostile case checks the exact counter it bumps and what goes out. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "helpers/vsock_pair.h"
#include "kern/vsock.h"
#include "kern/vsock_socket.h"

#define G 3u	       /* our CID */
#define H 2u	       /* the peer */
#define LPORT 1024u    /* our listener */
#define PPORT 5000u    /* the peer's port */
#define PEER_BUF 8192u /* what the peer grants */

static uint8_t pay[70000];

static int feed(struct k_vsock_core *c, uint16_t op, uint32_t flags, uint32_t fwd, const void *data,
		uint32_t len)
{
	struct k_vsock_hdr h = vp_hdr(H, PPORT, G, LPORT, op, PEER_BUF, fwd);
	h.flags = flags;
	h.len = len;
	return k_vsock_rx_packet(c, &h, data, len);
}

static int take(struct k_vsock_core *c, struct k_vsock_hdr *h)
{
	return vp_take(c, h, pay, sizeof(pay));
}

static void expect_op(struct k_vsock_core *c, uint16_t op)
{
	struct k_vsock_hdr h;
	assert_true(take(c, &h) >= 0);
	assert_int_equal(h.op, op);
	assert_int_equal(h.type, VIRTIO_VSOCK_TYPE_STREAM);
	assert_int_equal(h.src_cid, G);
	assert_int_equal(h.dst_cid, H);
}

static void expect_quiet(struct k_vsock_core *c)
{
	struct k_vsock_hdr h;
	assert_false(k_vsock_tx_ready(c));
	assert_int_equal(take(c, &h), -EAGAIN);
}

/* A core with a listener on LPORT and one accepted connection from PPORT. */
static struct k_vsock_core *accepted(int *lfd, int *fd)
{
	struct k_vsock_core *c = vp_core_new(G);
	struct k_vsock_hdr h;
	*lfd = k_vs_listen(c, LPORT, 4);
	assert_true(*lfd >= 0);
	assert_int_equal(feed(c, VIRTIO_VSOCK_OP_REQUEST, 0, 0, NULL, 0), 0);
	assert_int_equal(take(c, &h), 0);
	assert_int_equal(h.op, VIRTIO_VSOCK_OP_RESPONSE);
	assert_int_equal(h.src_port, LPORT);
	assert_int_equal(h.dst_port, PPORT);
	assert_int_equal(h.buf_alloc, K_VSOCK_BUF_ALLOC);
	assert_int_equal(h.fwd_cnt, 0);
	*fd = k_vs_accept(c, *lfd);
	assert_true(*fd >= 0);
	expect_quiet(c);
	return c;
}

static void request_to_listener_is_answered_and_accepted(void **state)
{
	int lfd, fd;
	uint64_t cid;
	uint32_t port;
	(void)state;
	struct k_vsock_core *c = accepted(&lfd, &fd);
	assert_int_equal(k_vs_poll(c, fd), K_VS_POLLOUT);
	assert_int_equal(k_vs_peer(c, fd, &cid, &port), 0);
	assert_int_equal(cid, H);
	assert_int_equal(port, PPORT);
	assert_int_equal(k_vs_accept(c, lfd), -EAGAIN);
	assert_int_equal(c->stats.conns_open, 1);
	assert_int_equal(c->stats.conns_total, 1);
	free(c);
}

static void connect_sends_request_and_response_establishes(void **state)
{
	struct k_vsock_core *c = vp_core_new(G);
	struct k_vsock_hdr h;
	(void)state;
	int fd = k_vs_connect(c, H, 7000);
	assert_true(fd >= 0);
	assert_int_equal(k_vs_poll(c, fd), 0);
	assert_int_equal(k_vs_send(c, fd, "x", 1), -EAGAIN);
	assert_int_equal(k_vs_recv(c, fd, pay, 1), -EAGAIN);
	assert_int_equal(take(c, &h), 0);
	assert_int_equal(h.op, VIRTIO_VSOCK_OP_REQUEST);
	assert_int_equal(h.dst_port, 7000);
	assert_true(h.src_port >= K_VSOCK_EPHEMERAL_FIRST);
	expect_quiet(c);
	struct k_vsock_hdr r =
		vp_hdr(H, 7000, G, h.src_port, VIRTIO_VSOCK_OP_RESPONSE, PEER_BUF, 0);
	assert_int_equal(k_vsock_rx_packet(c, &r, NULL, 0), 0);
	assert_int_equal(k_vs_poll(c, fd), K_VS_POLLOUT);
	assert_int_equal(k_vs_send(c, fd, "hi", 2), 2);
	assert_int_equal(take(c, &h), 2);
	assert_int_equal(h.op, VIRTIO_VSOCK_OP_RW);
	assert_memory_equal(pay, "hi", 2);
	free(c);
}

static void connect_refused_by_rst(void **state)
{
	struct k_vsock_core *c = vp_core_new(G);
	struct k_vsock_hdr h;
	(void)state;
	int fd = k_vs_connect(c, H, 7000);
	assert_int_equal(take(c, &h), 0);
	struct k_vsock_hdr r = vp_hdr(H, 7000, G, h.src_port, VIRTIO_VSOCK_OP_RST, 0, 0);
	assert_int_equal(k_vsock_rx_packet(c, &r, NULL, 0), 0);
	assert_int_equal(k_vs_poll(c, fd), K_VS_POLLIN | K_VS_POLLHUP | K_VS_POLLERR);
	assert_int_equal(k_vs_error(c, fd), ECONNREFUSED);
	assert_int_equal(k_vs_send(c, fd, "x", 1), -EPIPE);
	assert_int_equal(k_vs_recv(c, fd, pay, 1), 0);
	assert_int_equal(c->stats.rst_received, 1);
	expect_quiet(c);
	assert_int_equal(k_vs_close(c, fd), 0);
	assert_int_equal(c->stats.conns_open, 0);
	free(c);
}

static void connect_times_out_with_rst(void **state)
{
	struct k_vsock_core *c = vp_core_new(G);
	struct k_vsock_hdr h;
	(void)state;
	k_vsock_tick(c, 1000);
	int fd = k_vs_connect(c, H, 7000);
	assert_int_equal(take(c, &h), 0);
	assert_int_equal(k_vsock_tick(c, 1000 + K_VSOCK_CONNECT_TIMEOUT_NS - 1), 0);
	assert_int_equal(k_vs_poll(c, fd), 0);
	assert_int_equal(k_vsock_tick(c, 1000 + K_VSOCK_CONNECT_TIMEOUT_NS), 1);
	assert_int_equal(k_vs_error(c, fd), ETIMEDOUT);
	assert_true(k_vs_poll(c, fd) & K_VS_POLLERR);
	assert_int_equal(c->stats.connect_timeouts, 1);
	expect_op(c, VIRTIO_VSOCK_OP_RST);
	expect_quiet(c);
	/* A RESPONSE that arrives too late finds no connection. */
	struct k_vsock_hdr r =
		vp_hdr(H, 7000, G, h.src_port, VIRTIO_VSOCK_OP_RESPONSE, PEER_BUF, 0);
	assert_int_equal(k_vsock_rx_packet(c, &r, NULL, 0), -ENOTCONN);
	assert_int_equal(c->stats.err_unknown_conn, 1);
	k_vs_close(c, fd);
	expect_op(c, VIRTIO_VSOCK_OP_RST); /* the reply to the late RESPONSE */
	assert_int_equal(c->stats.conns_open, 0);
	free(c);
}

static void data_to_peer_respects_credit_and_requests_once(void **state)
{
	int lfd, fd;
	struct k_vsock_hdr h;
	(void)state;
	struct k_vsock_core *c = accepted(&lfd, &fd);
	static uint8_t src[20000];
	for (unsigned i = 0; i < sizeof(src); i++)
		src[i] = (uint8_t)(i * 7);
	assert_int_equal(k_vs_send(c, fd, src, sizeof(src)), sizeof(src));
	/* The peer granted PEER_BUF bytes. */
	assert_int_equal(vp_take(c, &h, pay, 5000), 5000);
	assert_int_equal(h.op, VIRTIO_VSOCK_OP_RW);
	assert_int_equal(take(c, &h), PEER_BUF - 5000);
	assert_memory_equal(pay, src + 5000, PEER_BUF - 5000);
	/* Stalled: exactly one CREDIT_REQUEST, then silence. */
	expect_op(c, VIRTIO_VSOCK_OP_CREDIT_REQUEST);
	assert_int_equal(c->stats.credit_stalls, 1);
	expect_quiet(c);
	/* The peer read 4096 bytes. */
	assert_int_equal(feed(c, VIRTIO_VSOCK_OP_CREDIT_UPDATE, 0, 4096, NULL, 0), 0);
	assert_int_equal(take(c, &h), 4096);
	assert_memory_equal(pay, src + PEER_BUF, 4096);
	expect_op(c, VIRTIO_VSOCK_OP_CREDIT_REQUEST);
	assert_int_equal(c->stats.credit_stalls, 2);
	assert_int_equal(c->stats.credit_requests_sent, 2);
	expect_quiet(c);
	/* An update that grants nothing new does not restart the requests. */
	assert_int_equal(feed(c, VIRTIO_VSOCK_OP_CREDIT_UPDATE, 0, 4096, NULL, 0), 0);
	expect_quiet(c);
	assert_int_equal(c->stats.tx_bytes, PEER_BUF + 4096);
	free(c);
}

static void data_from_peer_is_buffered_and_credit_returned(void **state)
{
	int lfd, fd;
	struct k_vsock_hdr h;
	(void)state;
	struct k_vsock_core *c = accepted(&lfd, &fd);
	for (unsigned i = 0; i < 70000; i++)
		pay[i] = (uint8_t)(i ^ (i >> 8));
	static uint8_t in[K_VSOCK_BUF_ALLOC];
	static uint8_t got[K_VSOCK_BUF_ALLOC];
	memcpy(in, pay, sizeof(in));
	/* Fill our whole buffer in 16 packets. */
	for (unsigned i = 0; i < 16; i++)
		assert_int_equal(feed(c, VIRTIO_VSOCK_OP_RW, 0, 0, in + i * 4096, 4096), 0);
	assert_int_equal(c->stats.rx_bytes, K_VSOCK_BUF_ALLOC);
	assert_int_equal(k_vs_poll(c, fd), K_VS_POLLIN | K_VS_POLLOUT);
	expect_quiet(c); /* nothing read: no credit to give */
	assert_int_equal(k_vs_recv(c, fd, got, 100), 100);
	/* The peer is blocked on us: even 100 bytes are worth an update. */
	assert_int_equal(take(c, &h), 0);
	assert_int_equal(h.op, VIRTIO_VSOCK_OP_CREDIT_UPDATE);
	assert_int_equal(h.fwd_cnt, 100);
	assert_int_equal(k_vs_recv(c, fd, got + 100, sizeof(got)), sizeof(got) - 100);
	assert_memory_equal(got, in, sizeof(got));
	assert_int_equal(take(c, &h), 0);
	assert_int_equal(h.fwd_cnt, K_VSOCK_BUF_ALLOC);
	assert_int_equal(c->stats.credit_updates_sent, 2);
	assert_int_equal(k_vs_recv(c, fd, got, 1), -EAGAIN);
	/* The peer asks: we answer with an update even with nothing new. */
	assert_int_equal(feed(c, VIRTIO_VSOCK_OP_CREDIT_REQUEST, 0, 0, NULL, 0), 0);
	expect_op(c, VIRTIO_VSOCK_OP_CREDIT_UPDATE);
	expect_quiet(c);
	free(c);
}

static void data_beyond_credit_is_reset_not_buffered(void **state)
{
	int lfd, fd;
	(void)state;
	struct k_vsock_core *c = accepted(&lfd, &fd);
	for (unsigned i = 0; i < 15; i++)
		assert_int_equal(feed(c, VIRTIO_VSOCK_OP_RW, 0, 0, pay, 4096), 0);
	assert_int_equal(feed(c, VIRTIO_VSOCK_OP_RW, 0, 0, pay, 4097), -ENOBUFS);
	assert_int_equal(c->stats.err_credit_overflow, 1);
	assert_int_equal(c->stats.rx_bytes, 15 * 4096);
	expect_op(c, VIRTIO_VSOCK_OP_RST);
	expect_quiet(c);
	assert_int_equal(k_vs_error(c, fd), ECONNRESET);
	assert_int_equal(k_vs_send(c, fd, "x", 1), -EPIPE);
	/* What arrived within credit can still be read, then EOF. */
	assert_int_equal(k_vs_recv(c, fd, pay, sizeof(pay)), 15 * 4096);
	assert_int_equal(k_vs_recv(c, fd, pay, sizeof(pay)), 0);
	free(c);
}

static void small_buf_alloc_is_enforced(void **state)
{
	int lfd, fd;
	(void)state;
	struct k_vsock_core *c = vp_core_new(G);
	assert_int_equal(k_vsock_set_buf_alloc(c, 0), -EINVAL);
	assert_int_equal(k_vsock_set_buf_alloc(c, K_VSOCK_BUF_ALLOC + 1), -EINVAL);
	assert_int_equal(k_vsock_set_buf_alloc(c, 1000), 0);
	lfd = k_vs_listen(c, LPORT, 1);
	assert_int_equal(feed(c, VIRTIO_VSOCK_OP_REQUEST, 0, 0, NULL, 0), 0);
	fd = k_vs_accept(c, lfd);
	struct k_vsock_hdr h;
	assert_int_equal(take(c, &h), 0);
	assert_int_equal(h.buf_alloc, 1000);
	assert_int_equal(feed(c, VIRTIO_VSOCK_OP_RW, 0, 0, pay, 1000), 0);
	assert_int_equal(feed(c, VIRTIO_VSOCK_OP_RW, 0, 0, pay, 1), -ENOBUFS);
	assert_int_equal(c->stats.err_credit_overflow, 1);
	(void)fd;
	free(c);
}

static void peer_shutdown_send_gives_eof_after_data(void **state)
{
	int lfd, fd;
	struct k_vsock_hdr h;
	(void)state;
	struct k_vsock_core *c = accepted(&lfd, &fd);
	assert_int_equal(feed(c, VIRTIO_VSOCK_OP_RW, 0, 0, "abc", 3), 0);
	assert_int_equal(feed(c, VIRTIO_VSOCK_OP_SHUTDOWN, VIRTIO_VSOCK_SHUTDOWN_SEND, 0, NULL, 0),
			 0);
	/* Data after SHUTDOWN SEND is a protocol error. */
	assert_int_equal(feed(c, VIRTIO_VSOCK_OP_RW, 0, 0, "d", 1), -EPROTO);
	assert_int_equal(c->stats.err_bad_op, 1);
	assert_int_equal(k_vs_poll(c, fd), K_VS_POLLIN | K_VS_POLLOUT);
	uint8_t b[8];
	assert_int_equal(k_vs_recv(c, fd, b, sizeof(b)), 3);
	assert_int_equal(k_vs_recv(c, fd, b, sizeof(b)), 0);
	/* Half-closed: we can still send. */
	assert_int_equal(k_vs_send(c, fd, "xy", 2), 2);
	assert_int_equal(take(c, &h), 2);
	/* Our own SHUTDOWN SEND goes out after the queued data. */
	assert_int_equal(k_vs_send(c, fd, "z", 1), 1);
	assert_int_equal(k_vs_shutdown(c, fd, VIRTIO_VSOCK_SHUTDOWN_SEND), 0);
	assert_int_equal(k_vs_send(c, fd, "w", 1), -EPIPE);
	assert_int_equal(take(c, &h), 1);
	assert_int_equal(h.op, VIRTIO_VSOCK_OP_RW);
	assert_int_equal(take(c, &h), 0);
	assert_int_equal(h.op, VIRTIO_VSOCK_OP_SHUTDOWN);
	assert_int_equal(h.flags, VIRTIO_VSOCK_SHUTDOWN_SEND);
	expect_quiet(c);
	assert_int_equal(k_vs_shutdown(c, fd, 4), -EINVAL);
	assert_int_equal(k_vs_shutdown(c, fd, 0), -EINVAL);
	/* Peer finishes: close sends RST since it reads no more. */
	assert_int_equal(feed(c, VIRTIO_VSOCK_OP_SHUTDOWN, VIRTIO_VSOCK_SHUTDOWN_BOTH, 0, NULL, 0),
			 0);
	assert_true(k_vs_poll(c, fd) & K_VS_POLLHUP);
	assert_int_equal(k_vs_close(c, fd), 0);
	expect_op(c, VIRTIO_VSOCK_OP_RST);
	expect_quiet(c);
	assert_int_equal(c->stats.conns_open, 0);
	free(c);
}

static void peer_shutdown_rcv_makes_send_fail(void **state)
{
	int lfd, fd;
	(void)state;
	struct k_vsock_core *c = accepted(&lfd, &fd);
	assert_int_equal(k_vs_send(c, fd, "abc", 3), 3);
	assert_int_equal(feed(c, VIRTIO_VSOCK_OP_SHUTDOWN, VIRTIO_VSOCK_SHUTDOWN_RCV, 0, NULL, 0),
			 0);
	assert_int_equal(k_vs_send(c, fd, "x", 1), -EPIPE);
	assert_false(k_vs_poll(c, fd) & K_VS_POLLOUT);
	expect_quiet(c); /* queued data is dropped: the peer reads no more */
	free(c);
}

static void rst_from_peer_closes(void **state)
{
	int lfd, fd;
	(void)state;
	struct k_vsock_core *c = accepted(&lfd, &fd);
	assert_int_equal(feed(c, VIRTIO_VSOCK_OP_RST, 0, 0, NULL, 0), 0);
	assert_int_equal(c->stats.rst_received, 1);
	assert_int_equal(k_vs_recv(c, fd, pay, 10), 0);
	assert_int_equal(k_vs_send(c, fd, "x", 1), -EPIPE);
	assert_int_equal(k_vs_error(c, fd), ECONNRESET);
	expect_quiet(c);
	assert_int_equal(c->stats.conns_open, 1); /* the fd still holds it */
	assert_int_equal(k_vs_close(c, fd), 0);
	assert_int_equal(c->stats.conns_open, 0);
	assert_int_equal(k_vs_close(c, fd), -EBADF);
	free(c);
}

static void close_flushes_then_shuts_down_and_lingers(void **state)
{
	int lfd, fd;
	struct k_vsock_hdr h;
	(void)state;
	struct k_vsock_core *c = accepted(&lfd, &fd);
	k_vsock_tick(c, 50);
	assert_int_equal(k_vs_send(c, fd, pay, 10000), 10000);
	assert_int_equal(k_vs_close(c, fd), 0);
	assert_int_equal(k_vs_send(c, fd, "x", 1), -EBADF);
	/* Data keeps flowing within credit after close. */
	assert_int_equal(take(c, &h), PEER_BUF);
	expect_op(c, VIRTIO_VSOCK_OP_CREDIT_REQUEST);
	expect_quiet(c);
	/* Data the peer sends now is consumed (nobody reads it). */
	assert_int_equal(feed(c, VIRTIO_VSOCK_OP_RW, 0, PEER_BUF, pay, 100), 0);
	assert_int_equal(take(c, &h), 10000 - PEER_BUF);
	assert_int_equal(take(c, &h), 0);
	assert_int_equal(h.op, VIRTIO_VSOCK_OP_SHUTDOWN);
	assert_int_equal(h.flags, VIRTIO_VSOCK_SHUTDOWN_BOTH);
	assert_int_equal(h.fwd_cnt, 100);
	expect_quiet(c);
	assert_int_equal(c->stats.conns_open, 1);
	assert_int_equal(feed(c, VIRTIO_VSOCK_OP_RST, 0, 10000, NULL, 0), 0);
	assert_int_equal(c->stats.conns_open, 0);
	expect_quiet(c);
	free(c);
}

static void close_linger_times_out_with_rst(void **state)
{
	int lfd, fd;
	(void)state;
	struct k_vsock_core *c = accepted(&lfd, &fd);
	k_vsock_tick(c, 10);
	assert_int_equal(k_vs_close(c, fd), 0);
	expect_op(c, VIRTIO_VSOCK_OP_SHUTDOWN);
	assert_int_equal(k_vsock_tick(c, 10 + K_VSOCK_CLOSE_TIMEOUT_NS), 1);
	assert_int_equal(c->stats.close_timeouts, 1);
	expect_op(c, VIRTIO_VSOCK_OP_RST);
	expect_quiet(c);
	assert_int_equal(c->stats.conns_open, 0);
	free(c);
}

static void peer_shutdown_while_closing_finishes_with_rst(void **state)
{
	int lfd, fd;
	(void)state;
	struct k_vsock_core *c = accepted(&lfd, &fd);
	assert_int_equal(k_vs_close(c, fd), 0);
	expect_op(c, VIRTIO_VSOCK_OP_SHUTDOWN);
	assert_int_equal(feed(c, VIRTIO_VSOCK_OP_SHUTDOWN, VIRTIO_VSOCK_SHUTDOWN_BOTH, 0, NULL, 0),
			 0);
	expect_op(c, VIRTIO_VSOCK_OP_RST);
	expect_quiet(c);
	assert_int_equal(c->stats.conns_open, 0);
	free(c);
}

static void transport_reset_drops_every_connection_silently(void **state)
{
	int lfd, fd;
	(void)state;
	struct k_vsock_core *c = accepted(&lfd, &fd);
	int cfd = k_vs_connect(c, H, 9000);
	assert_int_equal(k_vs_send(c, fd, "abc", 3), 3);
	/* A second REQUEST waits for accept. */
	struct k_vsock_hdr r = vp_hdr(H, PPORT + 1, G, LPORT, VIRTIO_VSOCK_OP_REQUEST, PEER_BUF, 0);
	assert_int_equal(k_vsock_rx_packet(c, &r, NULL, 0), 0);
	assert_int_equal(c->stats.conns_open, 3);
	k_vsock_transport_reset(c, 7);
	assert_int_equal(c->cid, 7);
	assert_int_equal(c->stats.transport_resets, 1);
	expect_quiet(c);
	assert_int_equal(k_vs_error(c, fd), ECONNRESET);
	assert_int_equal(k_vs_error(c, cfd), ECONNRESET);
	assert_int_equal(k_vs_accept(c, lfd), -EAGAIN);
	assert_int_equal(c->stats.conns_open, 2); /* the two fds */
	k_vs_close(c, fd);
	k_vs_close(c, cfd);
	expect_quiet(c);
	assert_int_equal(c->stats.conns_open, 0);
	/* The listener survived, and the new CID is ours. */
	struct k_vsock_hdr q = vp_hdr(H, PPORT, 7, LPORT, VIRTIO_VSOCK_OP_REQUEST, PEER_BUF, 0);
	assert_int_equal(k_vsock_rx_packet(c, &q, NULL, 0), 0);
	assert_true(k_vs_accept(c, lfd) >= 0);
	free(c);
}

/* ---- hostile input: each bumps one counter ---- */

static void wrong_dst_cid_is_dropped(void **state)
{
	struct k_vsock_core *c = vp_core_new(G);
	(void)state;
	k_vs_listen(c, LPORT, 4);
	struct k_vsock_hdr h = vp_hdr(H, PPORT, G + 1, LPORT, VIRTIO_VSOCK_OP_REQUEST, PEER_BUF, 0);
	assert_int_equal(k_vsock_rx_packet(c, &h, NULL, 0), -EINVAL);
	assert_int_equal(c->stats.err_bad_cid, 1);
	assert_int_equal(c->stats.conns_open, 0);
	expect_quiet(c);
	free(c);
}

static void unknown_type_gets_rst(void **state)
{
	struct k_vsock_core *c = vp_core_new(G);
	(void)state;
	k_vs_listen(c, LPORT, 4);
	struct k_vsock_hdr h = vp_hdr(H, PPORT, G, LPORT, VIRTIO_VSOCK_OP_REQUEST, PEER_BUF, 0);
	h.type = 2; /* SEQPACKET: not supported */
	assert_int_equal(k_vsock_rx_packet(c, &h, NULL, 0), -EINVAL);
	assert_int_equal(c->stats.err_bad_type, 1);
	assert_int_equal(c->stats.conns_open, 0);
	expect_op(c, VIRTIO_VSOCK_OP_RST);
	expect_quiet(c);
	free(c);
}

static void unknown_op_is_dropped(void **state)
{
	int lfd, fd;
	(void)state;
	struct k_vsock_core *c = accepted(&lfd, &fd);
	assert_int_equal(feed(c, 0, 0, 0, NULL, 0), -EINVAL);
	assert_int_equal(feed(c, 8, 0, 0, NULL, 0), -EINVAL);
	assert_int_equal(feed(c, 0xffff, 0, 0, NULL, 0), -EINVAL);
	assert_int_equal(c->stats.err_bad_op, 3);
	/* RESPONSE on an open connection is not valid either. */
	assert_int_equal(feed(c, VIRTIO_VSOCK_OP_RESPONSE, 0, 0, NULL, 0), -EPROTO);
	assert_int_equal(c->stats.err_bad_op, 4);
	expect_quiet(c);
	assert_int_equal(k_vs_poll(c, fd), K_VS_POLLOUT);
	free(c);
}

static void len_beyond_bytes_present_is_dropped(void **state)
{
	int lfd, fd;
	(void)state;
	struct k_vsock_core *c = accepted(&lfd, &fd);
	struct k_vsock_hdr h = vp_hdr(H, PPORT, G, LPORT, VIRTIO_VSOCK_OP_RW, PEER_BUF, 0);
	h.len = 100;
	assert_int_equal(k_vsock_rx_packet(c, &h, pay, 99), -EINVAL);
	assert_int_equal(k_vsock_rx_packet(c, &h, NULL, 100), -EINVAL);
	assert_int_equal(c->stats.err_truncated, 2);
	assert_int_equal(k_vs_recv(c, fd, pay, 10), -EAGAIN);
	free(c);
}

static void len_over_64k_is_dropped(void **state)
{
	int lfd, fd;
	(void)state;
	struct k_vsock_core *c = accepted(&lfd, &fd);
	struct k_vsock_hdr h = vp_hdr(H, PPORT, G, LPORT, VIRTIO_VSOCK_OP_RW, PEER_BUF, 0);
	h.len = K_VSOCK_MAX_PKT_LEN + 1;
	assert_int_equal(k_vsock_rx_packet(c, &h, pay, sizeof(pay)), -EINVAL);
	h.len = 0xffffffffu;
	assert_int_equal(k_vsock_rx_packet(c, &h, pay, sizeof(pay)), -EINVAL);
	assert_int_equal(c->stats.err_oversize, 2);
	assert_int_equal(k_vs_error(c, fd), 0);
	free(c);
}

static void packet_for_unknown_connection_gets_rst(void **state)
{
	struct k_vsock_core *c = vp_core_new(G);
	struct k_vsock_hdr h;
	(void)state;
	assert_int_equal(feed(c, VIRTIO_VSOCK_OP_RW, 0, 0, "x", 1), -ENOTCONN);
	assert_int_equal(c->stats.err_unknown_conn, 1);
	assert_int_equal(take(c, &h), 0);
	assert_int_equal(h.op, VIRTIO_VSOCK_OP_RST);
	assert_int_equal(h.src_port, LPORT);
	assert_int_equal(h.dst_port, PPORT);
	assert_int_equal(h.dst_cid, H);
	/* An RST for an unknown connection is never answered. */
	assert_int_equal(feed(c, VIRTIO_VSOCK_OP_RST, 0, 0, NULL, 0), 0);
	assert_int_equal(c->stats.err_unknown_conn, 1);
	expect_quiet(c);
	free(c);
}

static void rst_replies_are_bounded(void **state)
{
	struct k_vsock_core *c = vp_core_new(G);
	struct k_vsock_hdr h;
	(void)state;
	for (unsigned i = 0; i < K_VSOCK_RSTQ + 5; i++)
		feed(c, VIRTIO_VSOCK_OP_CREDIT_UPDATE, 0, 0, NULL, 0);
	assert_int_equal(c->stats.err_unknown_conn, K_VSOCK_RSTQ + 5);
	assert_int_equal(c->stats.err_rstq_full, 5);
	for (unsigned i = 0; i < K_VSOCK_RSTQ; i++)
		assert_int_equal(take(c, &h), 0);
	expect_quiet(c);
	assert_int_equal(c->stats.rst_sent, K_VSOCK_RSTQ);
	free(c);
}

static void request_without_listener_gets_rst(void **state)
{
	struct k_vsock_core *c = vp_core_new(G);
	(void)state;
	assert_int_equal(feed(c, VIRTIO_VSOCK_OP_REQUEST, 0, 0, NULL, 0), -ECONNREFUSED);
	assert_int_equal(c->stats.err_no_listener, 1);
	assert_int_equal(c->stats.conns_open, 0);
	expect_op(c, VIRTIO_VSOCK_OP_RST);
	expect_quiet(c);
	free(c);
}

static void request_beyond_backlog_gets_rst(void **state)
{
	struct k_vsock_core *c = vp_core_new(G);
	(void)state;
	int lfd = k_vs_listen(c, LPORT, 2);
	for (uint32_t p = 0; p < 3; p++) {
		struct k_vsock_hdr h =
			vp_hdr(H, 100 + p, G, LPORT, VIRTIO_VSOCK_OP_REQUEST, PEER_BUF, 0);
		assert_int_equal(k_vsock_rx_packet(c, &h, NULL, 0), p < 2 ? 0 : -ECONNREFUSED);
	}
	assert_int_equal(c->stats.err_backlog_full, 1);
	expect_op(c, VIRTIO_VSOCK_OP_RST); /* replies without a connection go first */
	expect_op(c, VIRTIO_VSOCK_OP_RESPONSE);
	expect_op(c, VIRTIO_VSOCK_OP_RESPONSE);
	/* Accept is FIFO, and frees a backlog place. */
	int fd = k_vs_accept(c, lfd);
	uint64_t cid;
	uint32_t port;
	k_vs_peer(c, fd, &cid, &port);
	assert_int_equal(port, 100);
	struct k_vsock_hdr h = vp_hdr(H, 103, G, LPORT, VIRTIO_VSOCK_OP_REQUEST, PEER_BUF, 0);
	assert_int_equal(k_vsock_rx_packet(c, &h, NULL, 0), 0);
	free(c);
}

static void request_with_full_table_gets_rst(void **state)
{
	struct k_vsock_core *c = vp_core_new(G);
	(void)state;
	for (unsigned i = 0; i < K_VSOCK_MAX_CONNS; i++)
		assert_true(k_vs_connect(c, H, 9000) >= 0);
	assert_int_equal(k_vs_connect(c, H, 9000), -ENOMEM);
	k_vs_listen(c, LPORT, 4);
	assert_int_equal(feed(c, VIRTIO_VSOCK_OP_REQUEST, 0, 0, NULL, 0), -ENOBUFS);
	assert_int_equal(c->stats.err_table_full, 1);
	free(c);
}

static void duplicate_request_keeps_the_connection(void **state)
{
	int lfd, fd;
	(void)state;
	struct k_vsock_core *c = accepted(&lfd, &fd);
	assert_int_equal(feed(c, VIRTIO_VSOCK_OP_REQUEST, 0, 0, NULL, 0), -EPROTO);
	assert_int_equal(c->stats.err_dup_request, 1);
	assert_int_equal(c->stats.conns_open, 1);
	expect_quiet(c);
	assert_int_equal(k_vs_poll(c, fd), K_VS_POLLOUT);
	free(c);
}

static void fwd_cnt_beyond_sent_resets(void **state)
{
	int lfd, fd;
	(void)state;
	struct k_vsock_core *c = accepted(&lfd, &fd);
	assert_int_equal(k_vs_send(c, fd, pay, 100), 100);
	expect_op(c, VIRTIO_VSOCK_OP_RW);
	assert_int_equal(feed(c, VIRTIO_VSOCK_OP_CREDIT_UPDATE, 0, 100, NULL, 0), 0);
	assert_int_equal(feed(c, VIRTIO_VSOCK_OP_CREDIT_UPDATE, 0, 101, NULL, 0), -EPROTO);
	assert_int_equal(c->stats.err_bad_fwd_cnt, 1);
	expect_op(c, VIRTIO_VSOCK_OP_RST);
	assert_int_equal(k_vs_error(c, fd), EPROTO);
	free(c);
}

static void fwd_cnt_going_backwards_resets(void **state)
{
	int lfd, fd;
	(void)state;
	struct k_vsock_core *c = accepted(&lfd, &fd);
	assert_int_equal(k_vs_send(c, fd, pay, 100), 100);
	expect_op(c, VIRTIO_VSOCK_OP_RW);
	assert_int_equal(feed(c, VIRTIO_VSOCK_OP_CREDIT_UPDATE, 0, 50, NULL, 0), 0);
	assert_int_equal(feed(c, VIRTIO_VSOCK_OP_CREDIT_UPDATE, 0, 49, NULL, 0), -EPROTO);
	assert_int_equal(c->stats.err_bad_fwd_cnt, 1);
	expect_op(c, VIRTIO_VSOCK_OP_RST);
	free(c);
}

static void buf_alloc_changes_move_credit(void **state)
{
	int lfd, fd;
	struct k_vsock_hdr h;
	(void)state;
	struct k_vsock_core *c = accepted(&lfd, &fd);
	assert_int_equal(k_vs_send(c, fd, pay, 3000), 3000);
	/* The peer shrinks its buffer to 1000: that is all we may send. */
	struct k_vsock_hdr u = vp_hdr(H, PPORT, G, LPORT, VIRTIO_VSOCK_OP_CREDIT_UPDATE, 1000, 0);
	assert_int_equal(k_vsock_rx_packet(c, &u, NULL, 0), 0);
	assert_int_equal(c->stats.peer_buf_alloc_changes, 1);
	assert_int_equal(take(c, &h), 1000);
	expect_op(c, VIRTIO_VSOCK_OP_CREDIT_REQUEST);
	expect_quiet(c);
	/* Shrinking below what is in flight leaves no credit, never a wrap. */
	u.buf_alloc = 10;
	assert_int_equal(k_vsock_rx_packet(c, &u, NULL, 0), 0);
	expect_quiet(c);
	/* Growing restores it. */
	u.buf_alloc = 4000;
	assert_int_equal(k_vsock_rx_packet(c, &u, NULL, 0), 0);
	assert_int_equal(c->stats.peer_buf_alloc_changes, 3);
	assert_int_equal(take(c, &h), 2000);
	free(c);
}

static void bad_op_while_connecting_resets(void **state)
{
	struct k_vsock_core *c = vp_core_new(G);
	struct k_vsock_hdr h;
	(void)state;
	int fd = k_vs_connect(c, H, 7000);
	assert_int_equal(take(c, &h), 0);
	struct k_vsock_hdr r = vp_hdr(H, 7000, G, h.src_port, VIRTIO_VSOCK_OP_RW, PEER_BUF, 0);
	r.len = 1;
	assert_int_equal(k_vsock_rx_packet(c, &r, "x", 1), -EPROTO);
	assert_int_equal(c->stats.err_bad_op, 1);
	assert_int_equal(k_vs_error(c, fd), EPROTO);
	expect_op(c, VIRTIO_VSOCK_OP_RST);
	free(c);
}

/* ---- two cores back to back ---- */

static void bulk_both_ways_between_two_cores(void **state)
{
	(void)state;
	struct vsock_pair *p = vp_new();
	const size_t total = 1u << 20;
	uint8_t *a = malloc(total), *b = malloc(total);
	uint8_t *ra = malloc(total), *rb = malloc(total);
	for (size_t i = 0; i < total; i++) {
		a[i] = (uint8_t)(i * 31 + (i >> 12));
		b[i] = (uint8_t)(i * 17 + 5);
	}
	int lfd = k_vs_listen(p->host, 6000, 4);
	int gfd = k_vs_connect(p->guest, VP_HOST_CID, 6000);
	vp_pump(p, 100);
	int hfd = k_vs_accept(p->host, lfd);
	assert_true(hfd >= 0);
	assert_int_equal(k_vs_poll(p->guest, gfd), K_VS_POLLOUT);
	size_t sa = 0, sb = 0, ga = 0, gb = 0;
	unsigned rounds = 0;
	while ((ga < total || gb < total) && rounds++ < 100000) {
		int n;
		if (sa < total && (n = k_vs_send(p->guest, gfd, a + sa, total - sa)) > 0)
			sa += (size_t)n;
		if (sb < total && (n = k_vs_send(p->host, hfd, b + sb, total - sb)) > 0)
			sb += (size_t)n;
		vp_pump(p, 7);
		/* Readers take odd-sized bites to exercise the ring wrap. */
		if ((n = k_vs_recv(p->host, hfd, ra + ga, total - ga < 3001 ? total - ga : 3001)) >
		    0)
			ga += (size_t)n;
		if ((n = k_vs_recv(p->guest, gfd, rb + gb, total - gb < 5003 ? total - gb : 5003)) >
		    0)
			gb += (size_t)n;
	}
	assert_int_equal(ga, total);
	assert_int_equal(gb, total);
	assert_memory_equal(ra, a, total);
	assert_memory_equal(rb, b, total);
	assert_int_equal(p->guest->stats.err_credit_overflow + p->host->stats.err_credit_overflow,
			 0);
	/* Orderly close from the guest: flush, SHUTDOWN, EOF, close, RST. */
	assert_int_equal(k_vs_close(p->guest, gfd), 0);
	vp_pump(p, 100);
	assert_int_equal(k_vs_recv(p->host, hfd, ra, 10), 0);
	assert_true(k_vs_poll(p->host, hfd) & K_VS_POLLHUP);
	assert_int_equal(k_vs_close(p->host, hfd), 0);
	vp_pump(p, 100);
	assert_int_equal(p->guest->stats.conns_open, 0);
	assert_int_equal(p->host->stats.conns_open, 0);
	assert_int_equal(p->guest->stats.rst_received, 1);
	free(a);
	free(b);
	free(ra);
	free(rb);
	vp_free(p);
}

static void round_robin_between_connections(void **state)
{
	(void)state;
	struct vsock_pair *p = vp_new();
	int lfd = k_vs_listen(p->host, 6000, 4);
	int g1 = k_vs_connect(p->guest, VP_HOST_CID, 6000);
	int g2 = k_vs_connect(p->guest, VP_HOST_CID, 6000);
	vp_pump(p, 100);
	int h1 = k_vs_accept(p->host, lfd), h2 = k_vs_accept(p->host, lfd);
	assert_true(h1 >= 0 && h2 >= 0);
	assert_int_equal(k_vs_send(p->guest, g1, pay, 20000), 20000);
	assert_int_equal(k_vs_send(p->guest, g2, pay, 20000), 20000);
	struct k_vsock_hdr h;
	uint32_t last = 0;
	for (int i = 0; i < 4; i++) {
		assert_int_equal(vp_take(p->guest, &h, pay, 4000), 4000);
		assert_int_not_equal(h.src_port, last);
		last = h.src_port;
	}
	vp_free(p);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(request_to_listener_is_answered_and_accepted),
		cmocka_unit_test(connect_sends_request_and_response_establishes),
		cmocka_unit_test(connect_refused_by_rst),
		cmocka_unit_test(connect_times_out_with_rst),
		cmocka_unit_test(data_to_peer_respects_credit_and_requests_once),
		cmocka_unit_test(data_from_peer_is_buffered_and_credit_returned),
		cmocka_unit_test(data_beyond_credit_is_reset_not_buffered),
		cmocka_unit_test(small_buf_alloc_is_enforced),
		cmocka_unit_test(peer_shutdown_send_gives_eof_after_data),
		cmocka_unit_test(peer_shutdown_rcv_makes_send_fail),
		cmocka_unit_test(rst_from_peer_closes),
		cmocka_unit_test(close_flushes_then_shuts_down_and_lingers),
		cmocka_unit_test(close_linger_times_out_with_rst),
		cmocka_unit_test(peer_shutdown_while_closing_finishes_with_rst),
		cmocka_unit_test(transport_reset_drops_every_connection_silently),
		cmocka_unit_test(wrong_dst_cid_is_dropped),
		cmocka_unit_test(unknown_type_gets_rst),
		cmocka_unit_test(unknown_op_is_dropped),
		cmocka_unit_test(len_beyond_bytes_present_is_dropped),
		cmocka_unit_test(len_over_64k_is_dropped),
		cmocka_unit_test(packet_for_unknown_connection_gets_rst),
		cmocka_unit_test(rst_replies_are_bounded),
		cmocka_unit_test(request_without_listener_gets_rst),
		cmocka_unit_test(request_beyond_backlog_gets_rst),
		cmocka_unit_test(request_with_full_table_gets_rst),
		cmocka_unit_test(duplicate_request_keeps_the_connection),
		cmocka_unit_test(fwd_cnt_beyond_sent_resets),
		cmocka_unit_test(fwd_cnt_going_backwards_resets),
		cmocka_unit_test(buf_alloc_changes_move_credit),
		cmocka_unit_test(bad_op_while_connecting_resets),
		cmocka_unit_test(bulk_both_ways_between_two_cores),
		cmocka_unit_test(round_robin_between_connections),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
