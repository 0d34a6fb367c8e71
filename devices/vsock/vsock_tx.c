/* Packets from the guest (tx queue): validated once here, then acted on. */
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>

#include "vsock_internal.h"
#include "vu/backend.h"
#include "vu/iov.h"

static void violation(struct dev_vsock *v, const struct virtio_vsock_hdr *h, const char *what)
{
	v->st.violations++;
	vs_logf(v, true, "vsock: dropped a guest packet (op %u, %u -> %u): %s", h ? h->op : 0,
		h ? h->src_port : 0, h ? h->dst_port : 0, what);
}

/* Copy the payload into the connection's ring, which the credit check has
 * proved has room. */
static void buffer_payload(struct dev_vsock_conn *c, const struct vu_chain *ch, uint32_t len)
{
	uint32_t tail = (c->buf_head + c->buf_used) % DEV_VSOCK_BUF_ALLOC;
	uint32_t first = DEV_VSOCK_BUF_ALLOC - tail;

	if (first > len)
		first = len;
	vu_iov_to_buf(ch->iov, ch->n_out, VS_HDR, c->buf + tail, first);
	if (len > first)
		vu_iov_to_buf(ch->iov, ch->n_out, VS_HDR + first, c->buf, len - first);
	c->buf_used += len;
	c->bytes_from_guest += len;
}

static void on_rw(struct dev_vsock *v, struct dev_vsock_conn *c, const struct virtio_vsock_hdr *h,
		  const struct vu_chain *ch)
{
	if (c->state != DEV_VSOCK_ESTABLISHED || c->guest_no_send) {
		violation(v, h, "data on a connection that is not open for it");
		vs_conn_close(v, c, true, "guest protocol violation");
		return;
	}
	if (h->len > DEV_VSOCK_BUF_ALLOC - c->buf_used) {
		violation(v, h, "more data than the credit we gave");
		vs_conn_close(v, c, true, "guest exceeded its credit");
		return;
	}
	if (h->len == 0)
		return;
	buffer_payload(c, ch, h->len);
	v->st.bytes_from_guest += h->len;
}

static void on_response(struct dev_vsock *v, struct dev_vsock_conn *c,
			const struct virtio_vsock_hdr *h)
{
	int n;

	if (c->state != DEV_VSOCK_CONNECTING || (c->owed & DEV_VSOCK_OWE_REQUEST)) {
		violation(v, h, "RESPONSE to nothing we asked");
		vs_conn_close(v, c, true, "unexpected RESPONSE");
		return;
	}
	c->state = DEV_VSOCK_ESTABLISHED;
	n = snprintf(c->ok_line, sizeof(c->ok_line), "OK %u\n", c->host_port);
	c->ok_len = (uint8_t)n;
	c->ok_off = 0;
	c->writable = true;
	v->st.conns_host++;
	vs_logf(v, true, "vsock: host port %u -> guest port %u established", c->host_port,
		c->guest_port);
}

static void on_shutdown(struct dev_vsock *v, struct dev_vsock_conn *c,
			const struct virtio_vsock_hdr *h)
{
	if (c->state != DEV_VSOCK_ESTABLISHED) {
		violation(v, h, "SHUTDOWN before the connection was established");
		vs_conn_close(v, c, true, "unexpected SHUTDOWN");
		return;
	}
	if (h->flags & VIRTIO_VSOCK_SHUTDOWN_RCV) {
		c->guest_no_rcv = true;
		if (c->fd >= 0)
			shutdown(c->fd, SHUT_RD);
	}
	if (h->flags & VIRTIO_VSOCK_SHUTDOWN_SEND)
		c->guest_no_send = true;
	vs_conn_settle(v, c);
}

static void on_packet(struct dev_vsock *v, const struct virtio_vsock_hdr *h,
		      const struct vu_chain *ch)
{
	struct dev_vsock_conn *c;

	if (h->type != VIRTIO_VSOCK_TYPE_STREAM) {
		violation(v, h, "not a stream packet");
		if (h->op != VIRTIO_VSOCK_OP_RST)
			vs_rst_queue(v, h->dst_port, h->src_port);
		return;
	}
	c = vs_conn_find(v, h->dst_port, h->src_port);
	if (!c) {
		if (h->op == VIRTIO_VSOCK_OP_REQUEST)
			vs_unix_guest_connect(v, h);
		else if (h->op != VIRTIO_VSOCK_OP_RST)
			vs_rst_queue(v, h->dst_port, h->src_port);
		return;
	}
	/* Every packet carries the guest's view of its receive buffer. */
	c->peer_buf_alloc = h->buf_alloc;
	c->peer_fwd_cnt = h->fwd_cnt;
	switch (h->op) {
	case VIRTIO_VSOCK_OP_RW: on_rw(v, c, h, ch); break;
	case VIRTIO_VSOCK_OP_RESPONSE: on_response(v, c, h); break;
	case VIRTIO_VSOCK_OP_RST:
		v->st.rst_received++;
		if (c->state == DEV_VSOCK_CONNECTING) {
			v->st.conns_refused++;
			vs_conn_close(v, c, false, "guest refused");
		} else {
			vs_conn_close(v, c, false, "guest reset");
		}
		break;
	case VIRTIO_VSOCK_OP_SHUTDOWN: on_shutdown(v, c, h); break;
	case VIRTIO_VSOCK_OP_CREDIT_UPDATE: break;
	case VIRTIO_VSOCK_OP_CREDIT_REQUEST: c->owed |= DEV_VSOCK_OWE_CREDIT; break;
	case VIRTIO_VSOCK_OP_REQUEST:
		violation(v, h, "REQUEST for a connection that exists");
		vs_conn_close(v, c, true, "duplicate REQUEST");
		break;
	default:
		violation(v, h, "unknown op");
		vs_conn_close(v, c, true, "unknown op");
		break;
	}
}

/* A tx chain is consumed whatever it holds: a bad packet is the guest's
 * problem, not a reason to stop the ring for every other connection. */
int vs_tx_chain(struct dev_vsock *v, struct vu_req *req)
{
	const struct vu_chain *ch = req->chain;
	struct virtio_vsock_hdr h;

	if (ch->out_len < VS_HDR) {
		violation(v, NULL, "chain shorter than a header");
	} else {
		vu_iov_to_buf(ch->iov, ch->n_out, 0, &h, sizeof(h));
		if (h.len > ch->out_len - VS_HDR)
			violation(v, &h, "len larger than the chain");
		else if (h.src_cid != v->cfg.guest_cid)
			violation(v, &h, "src_cid is not the guest's cid");
		else if (h.dst_cid != DEV_VSOCK_HOST_CID)
			violation(v, &h, "dst_cid is not the host");
		else
			on_packet(v, &h, ch);
	}
	req->written = 0;
	return VU_DONE;
}
