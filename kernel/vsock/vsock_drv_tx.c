/* vsock_drv_tx.c - the driver side (the service VM's kernel) of
 * virtio-vsock, transmit direction: what the glue pulls next for the
 * device. RST replies first, then each connection's owed control packets,
 * then data within the peer's credit, round-robin so one busy stream cannot
 * starve the others. */
#include <errno.h>
#include <string.h>

#include "vsock_int.h"

static void fill(const struct k_vsock_core *c, struct k_vsock_hdr *h, uint64_t peer_cid,
		 uint32_t peer_port, uint32_t local_port, uint16_t op)
{
	memset(h, 0, sizeof(*h));
	h->src_cid = c->cid;
	h->dst_cid = peer_cid;
	h->src_port = local_port;
	h->dst_port = peer_port;
	h->type = VIRTIO_VSOCK_TYPE_STREAM;
	h->op = op;
	h->buf_alloc = c->buf_alloc;
}

/* Fill a connection's header; every packet tells the peer our credit. */
static void fill_conn(struct k_vsock_core *c, struct k_vsock_conn *k, struct k_vsock_hdr *h,
		      uint16_t op)
{
	fill(c, h, k->peer_cid, k->peer_port, k->local_port, op);
	h->fwd_cnt = k->fwd_cnt;
	k->last_fwd_sent = k->fwd_cnt;
	k->pending &= (uint8_t)~K_VSOCK_PEND_CREDIT_UPDATE;
}

static bool shutdown_ready(const struct k_vsock_conn *k)
{
	return (k->pending & K_VSOCK_PEND_SHUTDOWN) && k_vsock_tx_queued(k) == 0;
}

static bool control_ready(const struct k_vsock_conn *k)
{
	return (k->pending & ~K_VSOCK_PEND_SHUTDOWN) || shutdown_ready(k);
}

/* Emit one owed control packet of `k`, in the order the peer needs them. */
static void control_one(struct k_vsock_core *c, struct k_vsock_conn *k, struct k_vsock_hdr *h)
{
	if (k->pending & K_VSOCK_PEND_RST) {
		fill_conn(c, k, h, VIRTIO_VSOCK_OP_RST);
		k->pending = 0;
		c->stats.rst_sent++;
		k_vsock_conn_maybe_free(c, k);
	} else if (k->pending & K_VSOCK_PEND_REQUEST) {
		fill_conn(c, k, h, VIRTIO_VSOCK_OP_REQUEST);
		k->pending &= (uint8_t)~K_VSOCK_PEND_REQUEST;
	} else if (k->pending & K_VSOCK_PEND_RESPONSE) {
		fill_conn(c, k, h, VIRTIO_VSOCK_OP_RESPONSE);
		k->pending &= (uint8_t)~K_VSOCK_PEND_RESPONSE;
	} else if (k->pending & K_VSOCK_PEND_CREDIT_REQUEST) {
		fill_conn(c, k, h, VIRTIO_VSOCK_OP_CREDIT_REQUEST);
		k->pending &= (uint8_t)~K_VSOCK_PEND_CREDIT_REQUEST;
		c->stats.credit_requests_sent++;
	} else if (k->pending & K_VSOCK_PEND_CREDIT_UPDATE) {
		fill_conn(c, k, h, VIRTIO_VSOCK_OP_CREDIT_UPDATE);
		c->stats.credit_updates_sent++;
	} else {
		fill_conn(c, k, h, VIRTIO_VSOCK_OP_SHUTDOWN);
		h->flags = k->shut_local;
		k->pending &= (uint8_t)~K_VSOCK_PEND_SHUTDOWN;
	}
}

static bool data_ready(const struct k_vsock_conn *k)
{
	return (k->state == K_VS_ESTABLISHED || k->state == K_VS_CLOSING) &&
	       k_vsock_tx_queued(k) > 0 && !(k->pending & K_VSOCK_PEND_RESPONSE);
}

/* One data packet of `k` (or its one CREDIT_REQUEST when stalled). Returns
 * the payload length, or -EAGAIN when it can send nothing. */
static int data_one(struct k_vsock_core *c, struct k_vsock_conn *k, struct k_vsock_hdr *h,
		    void *buf, size_t cap)
{
	uint32_t n = k_vsock_tx_queued(k);
	uint32_t credit = k_vsock_peer_credit(k);

	if (k->shut_peer & VIRTIO_VSOCK_SHUTDOWN_RCV) {
		/* The peer will read no more: what is queued is moot. */
		k->tx_app = k->tx_cnt;
		return -EAGAIN;
	}
	if (credit == 0) {
		if (k->credit_req_sent)
			return -EAGAIN;
		k->credit_req_sent = true;
		c->stats.credit_stalls++;
		c->stats.credit_requests_sent++;
		fill_conn(c, k, h, VIRTIO_VSOCK_OP_CREDIT_REQUEST);
		return 0;
	}
	if (n > credit)
		n = credit;
	if (n > cap)
		n = (uint32_t)cap;
	if (n > K_VSOCK_MAX_PKT_LEN)
		n = K_VSOCK_MAX_PKT_LEN;
	if (n == 0)
		return -EAGAIN;
	fill_conn(c, k, h, VIRTIO_VSOCK_OP_RW);
	h->len = n;
	k_vsock_ring_get(k_vsock_txbuf(c, k), c->mem.tx_size, k->tx_cnt, buf, n);
	k->tx_cnt += n;
	c->stats.tx_bytes += n;
	return (int)n;
}

int k_vsock_tx_next(struct k_vsock_core *c, struct k_vsock_hdr *h, void *buf, size_t cap)
{
	if (c->rstq_len) {
		struct k_vsock_rst_reply *r = &c->rstq[c->rstq_head];
		fill(c, h, r->peer_cid, r->peer_port, r->local_port, VIRTIO_VSOCK_OP_RST);
		c->rstq_head = (c->rstq_head + 1) % K_VSOCK_RSTQ;
		c->rstq_len--;
		c->stats.rst_sent++;
		c->stats.tx_packets++;
		return 0;
	}
	for (unsigned i = 0; i < c->mem.conns; i++) {
		struct k_vsock_conn *k = &c->conns[i];
		if (k->state == K_VS_FREE || !control_ready(k))
			continue;
		control_one(c, k, h);
		c->stats.tx_packets++;
		return 0;
	}
	for (unsigned j = 0; j < c->mem.conns; j++) {
		unsigned i = (c->rr + j) % c->mem.conns;
		struct k_vsock_conn *k = &c->conns[i];
		int n;
		if (!data_ready(k))
			continue;
		n = data_one(c, k, h, buf, cap);
		if (n < 0)
			continue;
		c->rr = (i + 1) % c->mem.conns;
		c->stats.tx_packets++;
		/* Flushed: an owed SHUTDOWN goes out on the next call. */
		return n;
	}
	return -EAGAIN;
}

bool k_vsock_tx_ready(const struct k_vsock_core *c)
{
	if (c->rstq_len)
		return true;
	for (unsigned i = 0; i < c->mem.conns; i++) {
		const struct k_vsock_conn *k = &c->conns[i];
		if (k->state == K_VS_FREE)
			continue;
		if (control_ready(k))
			return true;
		if (data_ready(k) && !(k->shut_peer & VIRTIO_VSOCK_SHUTDOWN_RCV) &&
		    (k_vsock_peer_credit(k) > 0 || !k->credit_req_sent))
			return true;
	}
	return false;
}
