/* fuzz_vsock.c - libFuzzer target: a hostile peer and a busy app against the
 * vsock protocol core.
 *
 * Our core is CID 3 with a listener on port 1024. The input is a script of
 * records; the first byte of each picks what happens:
 *   0,1  a packet from the peer, compact form (fields steered towards the
 *        connections that exist, so deep states are reachable):
 *        op, type, src port, dst port, flags, len (u16), buf_alloc (u16 <<
 *        shift), fwd_cnt delta (u16), cid selector, then up to len payload
 *        bytes (fewer = truncated)
 *   2    a packet as 44 raw wire bytes (decoded), then payload as above
 *   3    the app: accept, connect, send, recv, shutdown, close on fd slot n
 *   4    pull up to n packets from k_vsock_tx_next
 *   5    advance time by n * 100 ms
 *   6    TRANSPORT_RESET
 * Afterwards every invariant is checked (buffers within bounds, credit
 * never exceeded), then everything is closed and reset and the pools must
 * be back at baseline: a violation aborts.
 */
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "kern/vsock.h"
#include "kern/vsock_socket.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define OUR_CID 3u
#define PEER_CID 2u
#define LPORT 1024u
#define NFDS 16

static struct k_vsock_core core;
static uint8_t buf[K_VSOCK_MAX_PKT_LEN + 1];

struct in {
	const uint8_t *p;
	size_t n;
};

static uint32_t take(struct in *in, unsigned bytes)
{
	uint32_t v = 0;
	for (unsigned i = 0; i < bytes; i++) {
		v |= (uint32_t)(in->n ? *in->p : 0) << (8 * i);
		if (in->n) {
			in->p++;
			in->n--;
		}
	}
	return v;
}

/* A port of a live connection (ours or the peer's side), or a raw one. */
static uint32_t pick_port(uint8_t sel, bool local)
{
	if (sel < 128) {
		const struct k_vsock_conn *k = &core.conns[sel % K_VSOCK_MAX_CONNS];
		if (k->state != K_VS_FREE)
			return local ? k->local_port : k->peer_port;
		for (unsigned i = 0; i < K_VSOCK_MAX_CONNS; i++)
			if (core.conns[i].state != K_VS_FREE)
				return local ? core.conns[i].local_port : core.conns[i].peer_port;
	}
	if (local)
		return sel < 200 ? LPORT : K_VSOCK_EPHEMERAL_FIRST + (sel & 7);
	return 5000u + (sel & 7);
}

/* fwd_cnt near what the connection expects, so credit checks pass or fail
 * by a little rather than always by a lot. */
static uint32_t fwd_for(uint32_t sport, uint32_t dport, uint16_t delta)
{
	for (unsigned i = 0; i < K_VSOCK_MAX_CONNS; i++) {
		const struct k_vsock_conn *k = &core.conns[i];
		if (k->state != K_VS_FREE && k->peer_port == sport && k->local_port == dport)
			return k->peer_fwd_cnt + delta - 0x100u;
	}
	return delta;
}

static void packet(struct in *in, bool raw)
{
	struct k_vsock_hdr h;
	if (raw) {
		uint8_t w[K_VSOCK_HDR_SIZE];
		for (unsigned i = 0; i < sizeof(w); i++)
			w[i] = (uint8_t)take(in, 1);
		k_vsock_hdr_decode(&h, w);
	} else {
		uint8_t op = (uint8_t)take(in, 1), type = (uint8_t)take(in, 1);
		uint8_t sp = (uint8_t)take(in, 1), dp = (uint8_t)take(in, 1);
		memset(&h, 0, sizeof(h));
		h.op = op % 10;
		h.type = type < 250 ? VIRTIO_VSOCK_TYPE_STREAM : type;
		h.src_port = pick_port(sp, false);
		h.dst_port = pick_port(dp, true);
		h.flags = take(in, 1);
		h.len = take(in, 2);
		h.buf_alloc = take(in, 2) << (take(in, 1) & 15);
		h.fwd_cnt = fwd_for(h.src_port, h.dst_port, (uint16_t)take(in, 2));
		uint8_t cid = (uint8_t)take(in, 1);
		h.src_cid = cid < 250 ? PEER_CID : cid;
		h.dst_cid = cid < 240 ? OUR_CID : cid;
	}
	size_t present = h.len < in->n ? h.len : in->n;
	if (present > sizeof(buf))
		present = sizeof(buf);
	memcpy(buf, in->p, present);
	in->p += present;
	in->n -= present;
	(void)k_vsock_rx_packet(&core, &h, buf, present);
}

static void app(struct in *in, int *fds, int lfd)
{
	uint8_t what = (uint8_t)take(in, 1), slot = (uint8_t)(take(in, 1) % NFDS);
	uint32_t n = take(in, 2);
	int r;
	switch (what % 8) {
	case 0:
		r = k_vs_accept(&core, lfd);
		if (r >= 0) {
			(void)k_vs_close(&core, fds[slot]); /* never leak the old one */
			fds[slot] = r;
		}
		break;
	case 1:
		r = k_vs_connect(&core, PEER_CID, 5000u + (n & 7));
		if (r >= 0) {
			(void)k_vs_close(&core, fds[slot]);
			fds[slot] = r;
		}
		break;
	case 2:
		memset(buf, (int)n, n);
		(void)k_vs_send(&core, fds[slot], buf, n);
		break;
	case 3: (void)k_vs_recv(&core, fds[slot], buf, n); break;
	case 4: (void)k_vs_shutdown(&core, fds[slot], n & 7); break;
	case 5: (void)k_vs_close(&core, fds[slot]); break;
	case 6:
		(void)k_vs_poll(&core, fds[slot]);
		(void)k_vs_error(&core, fds[slot]);
		break;
	default: (void)k_vs_close(&core, (int)(n | (uint32_t)slot << 16)); break;
	}
}

static void drain(unsigned max)
{
	struct k_vsock_hdr h;
	for (unsigned i = 0; i < max; i++) {
		int n = k_vsock_tx_next(&core, &h, buf, 4096 - K_VSOCK_HDR_SIZE);
		if (n < 0)
			return;
		if ((uint32_t)n != h.len || n > 4096 - (int)K_VSOCK_HDR_SIZE)
			abort();
	}
}

static void check_invariants(void)
{
	unsigned open = 0;
	for (unsigned i = 0; i < K_VSOCK_MAX_CONNS; i++) {
		const struct k_vsock_conn *k = &core.conns[i];
		if (k->state == K_VS_FREE)
			continue;
		open++;
		if (k->rx_cnt - k->fwd_cnt > core.buf_alloc)
			abort();
		if (k->tx_app - k->tx_cnt > K_VSOCK_TX_BUF)
			abort();
		/* The peer's fwd_cnt never passes what we sent (in flight may exceed
		 * buf_alloc only because the peer shrank it). */
		if (k->tx_cnt - k->peer_fwd_cnt > (1u << 31))
			abort();
	}
	if (open != core.stats.conns_open)
		abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct in in = {data, size};
	int fds[NFDS];
	uint64_t now = 0;
	int lfd;

	static uint8_t rx[K_VSOCK_MAX_CONNS][K_VSOCK_BUF_ALLOC],
		tx[K_VSOCK_MAX_CONNS][K_VSOCK_TX_BUF];
	static const struct k_vsock_mem mem = {K_VSOCK_MAX_CONNS, K_VSOCK_BUF_ALLOC, K_VSOCK_TX_BUF,
					       &rx[0][0], &tx[0][0]};

	if (k_vsock_set_mem(&core, &mem))
		abort();
	k_vsock_init(&core, OUR_CID);
	lfd = k_vs_listen(&core, LPORT, 4);
	for (int i = 0; i < NFDS; i++)
		fds[i] = -1;
	for (unsigned steps = 0; in.n && steps < 2048; steps++) {
		switch (take(&in, 1) % 7) {
		case 0:
		case 1: packet(&in, false); break;
		case 2: packet(&in, true); break;
		case 3: app(&in, fds, lfd); break;
		case 4: drain(take(&in, 1)); break;
		case 5:
			now += (uint64_t)take(&in, 1) * 100000000ull;
			(void)k_vsock_tick(&core, now);
			break;
		default: k_vsock_transport_reset(&core, OUR_CID); break;
		}
		check_invariants();
	}
	/* Teardown: close every fd the app may hold, then the pools must empty. */
	for (int i = 0; i < NFDS; i++)
		(void)k_vs_close(&core, fds[i]);
	(void)k_vs_close(&core, lfd);
	k_vsock_transport_reset(&core, OUR_CID);
	drain(1000);
	if (core.stats.conns_open != 0 || core.stats.listeners_open != 0)
		abort();
	return 0;
}
