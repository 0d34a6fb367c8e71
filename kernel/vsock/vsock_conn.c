/* Connection-table bookkeeping and buffer arithmetic for the vsock core. */
#include <errno.h>
#include <string.h>

#include "vsock_int.h"

int k_vsock_conn_alloc(struct k_vsock_core *c)
{
	for (unsigned i = 0; i < c->mem.conns; i++) {
		struct k_vsock_conn *k = &c->conns[i];
		uint16_t gen;
		if (k->state != K_VS_FREE)
			continue;
		gen = k->gen;
		memset(k, 0, sizeof(*k));
		k->gen = gen;
		k->parent = -1;
		c->stats.conns_open++;
		c->stats.conns_total++;
		return (int)i;
	}
	return -1;
}

struct k_vsock_conn *k_vsock_conn_find(struct k_vsock_core *c, uint64_t peer_cid,
				       uint32_t peer_port, uint32_t local_port)
{
	for (unsigned i = 0; i < c->mem.conns; i++) {
		struct k_vsock_conn *k = &c->conns[i];
		if (k->state == K_VS_FREE || k->state == K_VS_CLOSED)
			continue;
		if (k->peer_cid == peer_cid && k->peer_port == peer_port &&
		    k->local_port == local_port)
			return k;
	}
	return NULL;
}

void k_vsock_conn_maybe_free(struct k_vsock_core *c, struct k_vsock_conn *k)
{
	if (k->state != K_VS_CLOSED || k->app || k->parent >= 0 || (k->pending & K_VSOCK_PEND_RST))
		return;
	k->state = K_VS_FREE;
	k->pending = 0;
	k->gen++;
	c->stats.conns_open--;
}

void k_vsock_conn_close(struct k_vsock_core *c, struct k_vsock_conn *k, int err, bool rst)
{
	if (k->state == K_VS_FREE || k->state == K_VS_CLOSED)
		return;
	if (k->parent >= 0) {
		c->listeners[k->parent].queued--;
		k->parent = -1;
	}
	k->state = K_VS_CLOSED;
	if (!k->err)
		k->err = err;
	k->pending = rst ? K_VSOCK_PEND_RST : 0;
	k->deadline_ns = 0;
	/* Nothing queued will ever be sent now. */
	k->tx_app = k->tx_cnt;
	k_vsock_conn_maybe_free(c, k);
}

void k_vsock_rstq_push(struct k_vsock_core *c, uint64_t peer_cid, uint32_t peer_port,
		       uint32_t local_port)
{
	struct k_vsock_rst_reply *r;
	if (c->rstq_len == K_VSOCK_RSTQ) {
		c->stats.err_rstq_full++;
		return;
	}
	r = &c->rstq[(c->rstq_head + c->rstq_len) % K_VSOCK_RSTQ];
	r->peer_cid = peer_cid;
	r->peer_port = peer_port;
	r->local_port = local_port;
	c->rstq_len++;
}

void k_vsock_credit_check(const struct k_vsock_core *c, struct k_vsock_conn *k)
{
	uint32_t unsent = k->fwd_cnt - k->last_fwd_sent;
	uint32_t peer_view_used = k->rx_cnt - k->last_fwd_sent;
	uint32_t peer_view_free =
		peer_view_used >= c->buf_alloc ? 0 : c->buf_alloc - peer_view_used;
	if (!unsent)
		return;
	/* The peer believes it may send peer_view_free more bytes: once that is
	 * low it may be waiting for us, and a large unsent gain is worth a packet. */
	if (unsent >= c->buf_alloc / 4 || peer_view_free < c->buf_alloc / 4)
		k->pending |= K_VSOCK_PEND_CREDIT_UPDATE;
}

void k_vsock_ring_put(uint8_t *ring, uint32_t size, uint32_t pos, const void *src, uint32_t n)
{
	uint32_t off = pos & (size - 1);
	uint32_t first = size - off < n ? size - off : n;
	memcpy(ring + off, src, first);
	memcpy(ring, (const uint8_t *)src + first, n - first);
}

void k_vsock_ring_get(const uint8_t *ring, uint32_t size, uint32_t pos, void *dst, uint32_t n)
{
	uint32_t off = pos & (size - 1);
	uint32_t first = size - off < n ? size - off : n;
	memcpy(dst, ring + off, first);
	memcpy((uint8_t *)dst + first, ring, n - first);
}
