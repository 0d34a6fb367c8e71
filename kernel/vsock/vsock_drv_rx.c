/* vsock_drv_rx.c - the driver side (the service VM's kernel) of
 * virtio-vsock, receive direction: what the device delivered. Validates
 * every field of a peer's packet, then drives the connection state
 * machine. Each refusal bumps one err_* counter and returns a negative
 * errno. (The device side, uvhostd's, lives in devices/vsock.) */
#include <errno.h>
#include <string.h>

#include "vsock_int.h"

static int refuse(struct k_vsock_core *c, const struct k_vsock_hdr *h, uint64_t *counter, int err)
{
	(*counter)++;
	if (h->op != VIRTIO_VSOCK_OP_RST)
		k_vsock_rstq_push(c, h->src_cid, h->src_port, h->dst_port);
	return err;
}

static int rx_request(struct k_vsock_core *c, const struct k_vsock_hdr *h)
{
	struct k_vsock_listener *l = NULL;
	struct k_vsock_conn *k;
	int li = -1, ci;

	if (k_vsock_conn_find(c, h->src_cid, h->src_port, h->dst_port)) {
		/* The peer cannot open a connection it already has; keep the
		 * existing one rather than let a stray packet tear it down. */
		c->stats.err_dup_request++;
		return -EPROTO;
	}
	for (int i = 0; i < K_VSOCK_MAX_LISTENERS; i++) {
		if (c->listeners[i].active && c->listeners[i].port == h->dst_port) {
			l = &c->listeners[i];
			li = i;
			break;
		}
	}
	if (!l)
		return refuse(c, h, &c->stats.err_no_listener, -ECONNREFUSED);
	if (l->queued >= l->backlog)
		return refuse(c, h, &c->stats.err_backlog_full, -ECONNREFUSED);
	ci = k_vsock_conn_alloc(c);
	if (ci < 0)
		return refuse(c, h, &c->stats.err_table_full, -ENOBUFS);
	k = &c->conns[ci];
	k->state = K_VS_ESTABLISHED;
	k->pending = K_VSOCK_PEND_RESPONSE;
	k->parent = (int16_t)li;
	k->seq = ++c->accept_seq;
	k->local_port = h->dst_port;
	k->peer_port = h->src_port;
	k->peer_cid = h->src_cid;
	k->peer_buf_alloc = h->buf_alloc;
	k->peer_fwd_cnt = h->fwd_cnt;
	/* The peer's fwd_cnt counts what it forwarded of *our* stream; we have
	 * sent nothing yet, so align our tx counters with it. */
	k->tx_cnt = k->tx_app = h->fwd_cnt;
	l->queued++;
	return 0;
}

/* Take the credit fields every packet carries. Returns false (and resets
 * the connection) when fwd_cnt claims bytes we never sent or goes back. */
static bool rx_credit(struct k_vsock_core *c, struct k_vsock_conn *k, const struct k_vsock_hdr *h)
{
	uint32_t gained = h->fwd_cnt - k->peer_fwd_cnt;
	uint32_t in_flight = k->tx_cnt - k->peer_fwd_cnt;
	uint32_t before = k_vsock_peer_credit(k);

	if (gained > in_flight) {
		c->stats.err_bad_fwd_cnt++;
		k_vsock_conn_close(c, k, EPROTO, true);
		return false;
	}
	if (h->buf_alloc != k->peer_buf_alloc)
		c->stats.peer_buf_alloc_changes++;
	k->peer_buf_alloc = h->buf_alloc;
	k->peer_fwd_cnt = h->fwd_cnt;
	if (k_vsock_peer_credit(k) > before)
		k->credit_req_sent = false;
	return true;
}

static int rx_data(struct k_vsock_core *c, struct k_vsock_conn *k, const struct k_vsock_hdr *h,
		   const void *payload)
{
	uint32_t used = k_vsock_rx_used(k);
	uint32_t room = used >= c->buf_alloc ? 0 : c->buf_alloc - used;

	if (k->shut_peer & VIRTIO_VSOCK_SHUTDOWN_SEND) {
		c->stats.err_bad_op++;
		return -EPROTO;
	}
	if (h->len > room) {
		c->stats.err_credit_overflow++;
		k_vsock_conn_close(c, k, ECONNRESET, true);
		return -ENOBUFS;
	}
	c->stats.rx_bytes += h->len;
	if (k->state == K_VS_CLOSING || (k->shut_local & VIRTIO_VSOCK_SHUTDOWN_RCV)) {
		/* Nobody will read it: consume at once so credit keeps flowing. */
		k->rx_cnt += h->len;
		k->fwd_cnt = k->rx_cnt;
		k_vsock_credit_check(c, k);
		return 0;
	}
	k_vsock_ring_put(k_vsock_rxbuf(c, k), c->mem.rx_size, k->rx_cnt, payload, h->len);
	k->rx_cnt += h->len;
	return 0;
}

static int rx_connecting(struct k_vsock_core *c, struct k_vsock_conn *k,
			 const struct k_vsock_hdr *h)
{
	switch (h->op) {
	case VIRTIO_VSOCK_OP_RESPONSE:
		k->state = K_VS_ESTABLISHED;
		k->deadline_ns = 0;
		k->pending &= (uint8_t)~K_VSOCK_PEND_REQUEST;
		return 0;
	case VIRTIO_VSOCK_OP_RST:
		c->stats.rst_received++;
		k_vsock_conn_close(c, k, ECONNREFUSED, false);
		return 0;
	default:
		c->stats.err_bad_op++;
		k_vsock_conn_close(c, k, EPROTO, true);
		return -EPROTO;
	}
}

static int rx_connected(struct k_vsock_core *c, struct k_vsock_conn *k, const struct k_vsock_hdr *h,
			const void *payload)
{
	switch (h->op) {
	case VIRTIO_VSOCK_OP_RW: return rx_data(c, k, h, payload);
	case VIRTIO_VSOCK_OP_CREDIT_UPDATE: return 0;
	case VIRTIO_VSOCK_OP_CREDIT_REQUEST: k->pending |= K_VSOCK_PEND_CREDIT_UPDATE; return 0;
	case VIRTIO_VSOCK_OP_SHUTDOWN:
		k->shut_peer |= (uint8_t)(h->flags & VIRTIO_VSOCK_SHUTDOWN_BOTH);
		/* Closing and the peer will read no more: finish now (as Linux). */
		if (k->state == K_VS_CLOSING && (k->shut_peer & VIRTIO_VSOCK_SHUTDOWN_RCV))
			k_vsock_conn_close(c, k, 0, true);
		return 0;
	case VIRTIO_VSOCK_OP_RST:
		c->stats.rst_received++;
		k_vsock_conn_close(c, k, ECONNRESET, false);
		return 0;
	default: /* RESPONSE on an open connection */ c->stats.err_bad_op++; return -EPROTO;
	}
}

int k_vsock_rx_packet(struct k_vsock_core *c, const struct k_vsock_hdr *h, const void *payload,
		      size_t present)
{
	struct k_vsock_conn *k;

	c->stats.rx_packets++;
	if (h->dst_cid != c->cid) {
		c->stats.err_bad_cid++;
		return -EINVAL;
	}
	if (h->len > K_VSOCK_MAX_PKT_LEN) {
		c->stats.err_oversize++;
		return -EINVAL;
	}
	if (h->len > present || (h->len && !payload)) {
		c->stats.err_truncated++;
		return -EINVAL;
	}
	if (h->type != VIRTIO_VSOCK_TYPE_STREAM)
		return refuse(c, h, &c->stats.err_bad_type, -EINVAL);
	if (h->op < VIRTIO_VSOCK_OP_REQUEST || h->op > VIRTIO_VSOCK_OP_CREDIT_REQUEST) {
		c->stats.err_bad_op++;
		return -EINVAL;
	}
	if (h->op == VIRTIO_VSOCK_OP_REQUEST)
		return rx_request(c, h);

	k = k_vsock_conn_find(c, h->src_cid, h->src_port, h->dst_port);
	if (!k) {
		if (h->op == VIRTIO_VSOCK_OP_RST) {
			/* The answer to our own RST, or a late one: nothing to do. */
			c->stats.rst_received++;
			return 0;
		}
		return refuse(c, h, &c->stats.err_unknown_conn, -ENOTCONN);
	}
	if (h->op != VIRTIO_VSOCK_OP_RST && !rx_credit(c, k, h))
		return -EPROTO;
	if (k->state == K_VS_CONNECTING)
		return rx_connecting(c, k, h);
	return rx_connected(c, k, h, payload);
}
