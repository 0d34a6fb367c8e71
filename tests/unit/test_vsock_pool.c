/* test_vsock_pool.c - the vsock core on a pool sized at boot (struct
 * k_vsock_mem): the limits k_vsock_set_mem enforces, a table as small as
 * the pool, the buffer size advertised as buf_alloc and enforced on send,
 * and data that wraps a small ring intact between two small cores. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "helpers/vsock_pair.h"
#include "kern/vsock.h"
#include "kern/vsock_socket.h"

#define CONNS 2u
#define BUF 4096u

struct small {
	struct k_vsock_core core;
	uint8_t rx[CONNS][BUF], tx[CONNS][BUF];
};

static struct small guest, host;

static void small_init(struct small *s, uint64_t cid)
{
	const struct k_vsock_mem m = {CONNS, BUF, BUF, &s->rx[0][0], &s->tx[0][0]};
	assert_int_equal(k_vsock_set_mem(&s->core, &m), 0);
	k_vsock_init(&s->core, cid);
}

static void limits_are_enforced(void **state)
{
	static uint8_t b[2][8192];
	struct k_vsock_core *c = &guest.core;
	const struct k_vsock_mem ok = {1, 4096, 8192, b[0], b[1]};
	struct k_vsock_mem m;
	(void)state;

	assert_int_equal(k_vsock_set_mem(c, &ok), 0);
	m = ok, m.conns = 0;
	assert_int_equal(k_vsock_set_mem(c, &m), -EINVAL);
	m = ok, m.conns = K_VSOCK_MAX_CONNS + 1;
	assert_int_equal(k_vsock_set_mem(c, &m), -EINVAL);
	m = ok, m.rx_size = 2048; /* below K_VSOCK_BUF_MIN */
	assert_int_equal(k_vsock_set_mem(c, &m), -EINVAL);
	m = ok, m.tx_size = 6144; /* not a power of two */
	assert_int_equal(k_vsock_set_mem(c, &m), -EINVAL);
	m = ok, m.rx = NULL;
	assert_int_equal(k_vsock_set_mem(c, &m), -EINVAL);
	m = ok, m.tx = NULL;
	assert_int_equal(k_vsock_set_mem(c, &m), -EINVAL);
	/* A refused pool leaves the last good one. */
	assert_int_equal(c->mem.conns, 1);
	assert_int_equal(k_vsock_mem_bytes(8, 8192, 8192), 131072);
	/* init keeps the pool and advertises its receive size. */
	k_vsock_init(c, 3);
	assert_int_equal(c->mem.tx_size, 8192);
	assert_int_equal(c->buf_alloc, 4096);
	assert_int_equal(c->stats.conns_max, 1);
	assert_int_equal(k_vsock_set_buf_alloc(c, 4097), -EINVAL);
	assert_int_equal(k_vsock_set_buf_alloc(c, 4096), 0);
}

/* Move packets both ways until quiet. */
static void pump(void)
{
	static uint8_t buf[VP_MAX_PAYLOAD];
	for (int n = 0; n < 10000; n++) {
		struct k_vsock_hdr h;
		int moved = 0, len;
		if ((len = k_vsock_tx_next(&guest.core, &h, buf, sizeof(buf))) >= 0) {
			k_vsock_rx_packet(&host.core, &h, buf, (size_t)len);
			moved = 1;
		}
		if ((len = k_vsock_tx_next(&host.core, &h, buf, sizeof(buf))) >= 0) {
			k_vsock_rx_packet(&guest.core, &h, buf, (size_t)len);
			moved = 1;
		}
		if (!moved)
			return;
	}
	fail_msg("the cores never went quiet");
}

static void the_table_is_the_pool(void **state)
{
	int lfd, a, b;
	(void)state;
	small_init(&guest, VP_GUEST_CID);
	small_init(&host, VP_HOST_CID);
	lfd = k_vs_listen(&guest.core, 1024, 8);
	assert_true(lfd >= 0);
	a = k_vs_connect(&host.core, VP_GUEST_CID, 1024);
	b = k_vs_connect(&host.core, VP_GUEST_CID, 1024);
	assert_true(a >= 0 && b >= 0);
	/* The host's table (2) is full. */
	assert_int_equal(k_vs_connect(&host.core, VP_GUEST_CID, 1024), -ENOMEM);
	pump();
	assert_int_equal(guest.core.stats.conns_open, 2);
	assert_int_equal(guest.core.stats.conns_max, CONNS);
	/* A third peer finds the guest's table full: refused, counted. */
	{
		struct k_vsock_hdr h = vp_hdr(VP_HOST_CID, 7777, VP_GUEST_CID, 1024,
					      VIRTIO_VSOCK_OP_REQUEST, 65536, 0);
		assert_int_equal(k_vsock_rx_packet(&guest.core, &h, NULL, 0), -ENOBUFS);
		assert_int_equal(guest.core.stats.err_table_full, 1);
	}
}

static void data_wraps_a_small_ring_intact(void **state)
{
	static uint8_t out[3 * BUF + 123], in[sizeof(out)];
	size_t sent = 0, got = 0;
	int lfd, cfd, sfd;
	(void)state;
	small_init(&guest, VP_GUEST_CID);
	small_init(&host, VP_HOST_CID);
	for (size_t i = 0; i < sizeof(out); i++)
		out[i] = (uint8_t)(i * 7 + 1);
	lfd = k_vs_listen(&guest.core, 1024, 8);
	cfd = k_vs_connect(&host.core, VP_GUEST_CID, 1024);
	pump();
	sfd = k_vs_accept(&guest.core, lfd);
	assert_true(sfd >= 0);
	while (got < sizeof(out)) {
		int r;
		if (sent < sizeof(out)) {
			r = k_vs_send(&host.core, cfd, out + sent, sizeof(out) - sent);
			/* Never more than the transmit buffer ahead of credit. */
			assert_true(r == -EAGAIN || (r > 0 && (size_t)r <= BUF));
			if (r > 0)
				sent += (size_t)r;
		}
		pump();
		r = k_vs_recv(&guest.core, sfd, in + got, sizeof(in) - got);
		assert_true(r == -EAGAIN || (r > 0 && (size_t)r <= BUF));
		if (r > 0)
			got += (size_t)r;
	}
	assert_memory_equal(in, out, sizeof(out));
	assert_int_equal(guest.core.stats.err_credit_overflow, 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(limits_are_enforced),
		cmocka_unit_test(the_table_is_the_pool),
		cmocka_unit_test(data_wraps_a_small_ring_intact),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
