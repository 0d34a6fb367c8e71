/* The socket shim over two cores back to back: -EAGAIN paths, partial
 * sends, stale and reused fds, the backlog bound, and pools returning to
 * baseline after many connect/close cycles. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "helpers/vsock_pair.h"
#include "kern/vsock_socket.h"

#define PORT 4000u

static uint8_t big[K_VSOCK_TX_BUF * 2];

static int connected(struct vsock_pair *p, int lfd, int *hfd)
{
	int gfd = k_vs_connect(p->guest, VP_HOST_CID, PORT);
	assert_true(gfd >= 0);
	vp_pump(p, 100);
	*hfd = k_vs_accept(p->host, lfd);
	assert_true(*hfd >= 0);
	return gfd;
}

static void eagain_paths(void **state)
{
	(void)state;
	struct vsock_pair *p = vp_new();
	uint8_t b[16];
	int lfd = k_vs_listen(p->host, PORT, 4);
	assert_int_equal(k_vs_accept(p->host, lfd), -EAGAIN);
	assert_int_equal(k_vs_poll(p->host, lfd), 0);
	int gfd = k_vs_connect(p->guest, VP_HOST_CID, PORT);
	assert_int_equal(k_vs_recv(p->guest, gfd, b, sizeof(b)), -EAGAIN);
	assert_int_equal(k_vs_send(p->guest, gfd, b, sizeof(b)), -EAGAIN);
	vp_pump(p, 100);
	assert_int_equal(k_vs_poll(p->host, lfd), K_VS_POLLIN);
	int hfd = k_vs_accept(p->host, lfd);
	assert_int_equal(k_vs_recv(p->host, hfd, b, sizeof(b)), -EAGAIN);
	assert_int_equal(k_vs_recv(p->guest, gfd, b, sizeof(b)), -EAGAIN);
	/* Listeners carry no data. */
	assert_int_equal(k_vs_recv(p->host, lfd, b, 1), -ENOTCONN);
	assert_int_equal(k_vs_send(p->host, lfd, b, 1), -ENOTCONN);
	assert_int_equal(k_vs_shutdown(p->host, lfd, VIRTIO_VSOCK_SHUTDOWN_BOTH), -ENOTCONN);
	assert_int_equal(k_vs_accept(p->host, hfd), -EBADF);
	vp_free(p);
}

static void partial_send_when_tx_buffer_fills(void **state)
{
	(void)state;
	struct vsock_pair *p = vp_new();
	int hfd, lfd = k_vs_listen(p->host, PORT, 4);
	int gfd = connected(p, lfd, &hfd);
	for (size_t i = 0; i < sizeof(big); i++)
		big[i] = (uint8_t)(i * 13);
	assert_int_equal(k_vs_send(p->guest, gfd, big, 1000), 1000);
	assert_int_equal(k_vs_send(p->guest, gfd, big + 1000, sizeof(big) - 1000),
			 K_VSOCK_TX_BUF - 1000);
	assert_int_equal(k_vs_send(p->guest, gfd, big, 1), -EAGAIN);
	assert_false(k_vs_poll(p->guest, gfd) & K_VS_POLLOUT);
	/* The peer's buffer (64 KiB) takes it all; ours drains. */
	vp_pump(p, 1000);
	assert_true(k_vs_poll(p->guest, gfd) & K_VS_POLLOUT);
	assert_int_equal(k_vs_send(p->guest, gfd, big + K_VSOCK_TX_BUF, 10), 10);
	static uint8_t got[K_VSOCK_TX_BUF + 10];
	size_t n = 0;
	for (int i = 0; i < 100 && n < sizeof(got); i++) {
		int r = k_vs_recv(p->host, hfd, got + n, sizeof(got) - n);
		if (r > 0)
			n += (size_t)r;
		vp_pump(p, 100);
	}
	assert_int_equal(n, sizeof(got));
	assert_memory_equal(got, big, sizeof(got));
	vp_free(p);
}

static void stale_fds_are_rejected_and_slots_reused(void **state)
{
	(void)state;
	struct vsock_pair *p = vp_new();
	uint8_t b[4];
	int fd1 = k_vs_connect(p->guest, VP_HOST_CID, PORT); /* nobody listens */
	vp_pump(p, 100);
	assert_int_equal(k_vs_error(p->guest, fd1), ECONNREFUSED);
	assert_int_equal(k_vs_close(p->guest, fd1), 0);
	int fd2 = k_vs_connect(p->guest, VP_HOST_CID, PORT);
	/* Same slot, new generation: the old fd is dead. */
	assert_int_equal(fd2 & 0xff, fd1 & 0xff);
	assert_int_not_equal(fd2, fd1);
	assert_int_equal(k_vs_send(p->guest, fd1, b, 1), -EBADF);
	assert_int_equal(k_vs_recv(p->guest, fd1, b, 1), -EBADF);
	assert_int_equal(k_vs_poll(p->guest, fd1), -EBADF);
	assert_int_equal(k_vs_close(p->guest, fd1), -EBADF);
	assert_int_equal(k_vs_shutdown(p->guest, fd1, 1), -EBADF);
	assert_int_equal(k_vs_error(p->guest, fd1), -EBADF);
	assert_int_equal(k_vs_poll(p->guest, fd2), 0);
	/* Garbage fds. */
	assert_int_equal(k_vs_poll(p->guest, -1), -EBADF);
	assert_int_equal(k_vs_poll(p->guest, 0xff), -EBADF);
	assert_int_equal(k_vs_poll(p->guest, 0x1ff), -EBADF);
	assert_int_equal(k_vs_accept(p->guest, 0x7fffffff), -EBADF);
	/* Listener fds go stale too. */
	int l1 = k_vs_listen(p->guest, 77, 1);
	assert_int_equal(k_vs_listen(p->guest, 77, 1), -EADDRINUSE);
	assert_int_equal(k_vs_close(p->guest, l1), 0);
	int l2 = k_vs_listen(p->guest, 77, 1);
	assert_true(l2 >= 0);
	assert_int_not_equal(l1, l2);
	assert_int_equal(k_vs_accept(p->guest, l1), -EBADF);
	assert_int_equal(k_vs_close(p->guest, l1), -EBADF);
	vp_free(p);
}

static void listener_table_is_bounded(void **state)
{
	(void)state;
	struct k_vsock_core *c = vp_core_new(VP_GUEST_CID);
	for (unsigned i = 0; i < K_VSOCK_MAX_LISTENERS; i++)
		assert_true(k_vs_listen(c, 100 + i, 1) >= 0);
	assert_int_equal(k_vs_listen(c, 99, 1), -ENOMEM);
	assert_int_equal(c->stats.listeners_open, K_VSOCK_MAX_LISTENERS);
	free(c);
}

static void backlog_limit_refuses_extra_connects(void **state)
{
	(void)state;
	struct vsock_pair *p = vp_new();
	int lfd = k_vs_listen(p->host, PORT, 3);
	int fds[5];
	for (int i = 0; i < 5; i++)
		fds[i] = k_vs_connect(p->guest, VP_HOST_CID, PORT);
	vp_pump(p, 100);
	int refused = 0;
	for (int i = 0; i < 5; i++)
		refused += k_vs_error(p->guest, fds[i]) == ECONNREFUSED;
	assert_int_equal(refused, 2);
	assert_int_equal(p->host->stats.err_backlog_full, 2);
	/* The backlog clamps to K_VSOCK_BACKLOG_MAX and at least 1. */
	int l2 = k_vs_listen(p->host, PORT + 1, 0);
	int a = k_vs_connect(p->guest, VP_HOST_CID, PORT + 1);
	int b = k_vs_connect(p->guest, VP_HOST_CID, PORT + 1);
	vp_pump(p, 100);
	assert_int_equal(k_vs_error(p->guest, a), 0);
	assert_int_equal(k_vs_error(p->guest, b), ECONNREFUSED);
	/* Closing a listener resets what waits for accept. */
	assert_int_equal(k_vs_close(p->host, lfd), 0);
	assert_int_equal(k_vs_close(p->host, l2), 0);
	vp_pump(p, 100);
	for (int i = 0; i < 5; i++)
		assert_int_not_equal(k_vs_error(p->guest, fds[i]), 0);
	assert_int_equal(k_vs_error(p->guest, a), ECONNRESET);
	assert_int_equal(p->host->stats.conns_open, 0);
	vp_free(p);
}

static void close_with_request_unsent_sends_nothing(void **state)
{
	(void)state;
	struct vsock_pair *p = vp_new();
	int fd = k_vs_connect(p->guest, VP_HOST_CID, PORT);
	assert_int_equal(k_vs_close(p->guest, fd), 0);
	assert_false(k_vsock_tx_ready(p->guest));
	assert_int_equal(p->guest->stats.conns_open, 0);
	vp_free(p);
}

static void pools_return_to_baseline_after_200_cycles(void **state)
{
	(void)state;
	struct vsock_pair *p = vp_new();
	int lfd = k_vs_listen(p->host, PORT, 8);
	uint8_t b[64];
	for (int cycle = 0; cycle < 200; cycle++) {
		int hfd, gfd = connected(p, lfd, &hfd);
		assert_int_equal(k_vs_send(p->guest, gfd, "ping", 4), 4);
		vp_pump(p, 100);
		assert_int_equal(k_vs_recv(p->host, hfd, b, sizeof(b)), 4);
		assert_int_equal(k_vs_send(p->host, hfd, b, 4), 4);
		/* Alternate who closes first. */
		if (cycle & 1) {
			k_vs_close(p->guest, gfd);
			vp_pump(p, 100);
			assert_int_equal(k_vs_recv(p->host, hfd, b, sizeof(b)), 0);
			k_vs_close(p->host, hfd);
		} else {
			k_vs_close(p->host, hfd);
			vp_pump(p, 100);
			assert_int_equal(k_vs_recv(p->guest, gfd, b, sizeof(b)), 4);
			assert_int_equal(k_vs_recv(p->guest, gfd, b, sizeof(b)), 0);
			k_vs_close(p->guest, gfd);
		}
		vp_pump(p, 100);
		assert_int_equal(p->guest->stats.conns_open, 0);
		assert_int_equal(p->host->stats.conns_open, 0);
	}
	assert_int_equal(p->guest->stats.conns_total, 200);
	assert_int_equal(p->host->stats.listeners_open, 1);
	assert_int_equal(p->guest->stats.rst_sent + p->host->stats.rst_sent, 200);
	assert_int_equal(p->guest->stats.err_unknown_conn + p->host->stats.err_unknown_conn, 0);
	k_vs_close(p->host, lfd);
	assert_int_equal(p->host->stats.listeners_open, 0);
	vp_free(p);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(eagain_paths),
		cmocka_unit_test(partial_send_when_tx_buffer_fills),
		cmocka_unit_test(stale_fds_are_rejected_and_slots_reused),
		cmocka_unit_test(listener_table_is_bounded),
		cmocka_unit_test(backlog_limit_refuses_extra_connects),
		cmocka_unit_test(close_with_request_unsent_sends_nothing),
		cmocka_unit_test(pools_return_to_baseline_after_200_cycles),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
