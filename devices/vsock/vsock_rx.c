/* Packets to the guest (rx queue) and events (event queue).
 *
 * The guest posts receive buffers long before we have anything for them, so
 * we answer them VU_PENDING, keep the token, and rebuild the chain from it
 * when a packet is ready (the chain's iovecs are only valid while serve()
 * runs, and memory may have changed since). A held buffer goes back to the
 * guest empty when its ring is disabled or stopped; a reset makes its token
 * stale and the core drops it. */
#define _GNU_SOURCE
#include <errno.h>
#include <stddef.h>
#include <string.h>
#include <sys/uio.h>

#include "vsock_internal.h"
#include "vu/backend.h"
#include "vu/iov.h"

/* readv() takes the chain's iovecs as they are. */
_Static_assert(sizeof(struct vu_iov) == sizeof(struct iovec), "vu_iov is an iovec");
_Static_assert(offsetof(struct vu_iov, base) == offsetof(struct iovec, iov_base), "iov_base");
_Static_assert(offsetof(struct vu_iov, len) == offsetof(struct iovec, iov_len), "iov_len");

#define EVENT_BYTES 4u

static bool ring_ok(const struct dev_vsock *v, uint32_t ring)
{
	return vu_ring_live(v->b, ring);
}

static int hold(struct dev_vsock *v, struct vu_req *req, struct vu_token *toks, uint32_t *first,
		uint32_t *count, uint64_t min_len)
{
	const struct vu_chain *ch = req->chain;

	/* The core never offers more than the ring holds, and never a head we
	 * still hold, so the queue cannot overflow; checked all the same. */
	if (ch->n_out || ch->in_len < min_len || *count >= DEV_VSOCK_MAX_QUEUE) {
		v->st.violations++;
		vs_logf(v, true, "vsock: ring %u buffer %u unusable (%u readable, %llu writable)",
			req->ring, ch->head, ch->n_out, (unsigned long long)ch->in_len);
		req->written = 0;
		return VU_DONE;
	}
	toks[(*first + *count) % DEV_VSOCK_MAX_QUEUE] = req->token;
	(*count)++;
	return VU_PENDING;
}

int vs_rx_hold(struct dev_vsock *v, struct vu_req *req)
{
	return hold(v, req, v->rx_toks, &v->rx_first, &v->rx_count, VS_HDR);
}

int vs_ev_hold(struct dev_vsock *v, struct vu_req *req)
{
	return hold(v, req, v->ev_toks, &v->ev_first, &v->ev_count, EVENT_BYTES);
}

static struct vu_token pop_tok(struct vu_token *toks, uint32_t *first, uint32_t *count)
{
	struct vu_token t = toks[*first];

	*first = (*first + 1) % DEV_VSOCK_MAX_QUEUE;
	(*count)--;
	return t;
}

/* Held buffers go back empty (the driver drops a used buffer shorter than a
 * header and posts a new one). A stopped ring waits for them before it
 * answers GET_VRING_BASE; tokens of a ring that was reset are stale and
 * vu_complete() drops them. */
static void release(struct dev_vsock *v, struct vu_token *toks, uint32_t *first, uint32_t *count)
{
	while (*count) {
		struct vu_token t = pop_tok(toks, first, count);
		if (v->b)
			(void)vu_complete(v->b, t, 0);
	}
	*first = 0;
}

void vs_rx_forget(struct dev_vsock *v)
{
	release(v, v->rx_toks, &v->rx_first, &v->rx_count);
	release(v, v->ev_toks, &v->ev_first, &v->ev_count);
}

int vs_rings_check(struct dev_vsock *v)
{
	bool live = vu_ring_started(v->b, DEV_VSOCK_RXQ) && vu_ring_started(v->b, DEV_VSOCK_TXQ);
	int work = 0;

	if (v->rx_count && !ring_ok(v, DEV_VSOCK_RXQ)) {
		work++;
		release(v, v->rx_toks, &v->rx_first, &v->rx_count);
	}
	if (v->ev_count && !ring_ok(v, DEV_VSOCK_EVQ)) {
		work++;
		release(v, v->ev_toks, &v->ev_first, &v->ev_count);
	}
	/* A stopped data ring means the driver went away (reset, reboot): its
	 * connections went with it. */
	if (v->rings_live && !live) {
		vs_reset_all(v, "rings stopped");
		work++;
	}
	v->rings_live = live;
	return work;
}

/* Rebuild the first held rx buffer into v->chain. 0, or -EAGAIN if none. */
static int rx_peek(struct dev_vsock *v)
{
	while (v->rx_count) {
		struct vu_token t = v->rx_toks[v->rx_first];
		int rc = vu_token_chain(v->b, t, &v->chain);

		if (rc == -ESTALE) {
			/* Its ring was reset: the buffer is not ours any more. */
			pop_tok(v->rx_toks, &v->rx_first, &v->rx_count);
			continue;
		}
		if (rc < 0) {
			/* The ring is broken now; its buffers are void. */
			v->rx_count = v->rx_first = 0;
			return -EAGAIN;
		}
		if (v->chain.n_out == 0 && v->chain.in_len >= VS_HDR)
			return 0;
		/* Rewritten by the driver since it was posted. */
		v->st.violations++;
		pop_tok(v->rx_toks, &v->rx_first, &v->rx_count);
		(void)vu_complete(v->b, t, 0);
	}
	return -EAGAIN;
}

static void rx_send(struct dev_vsock *v, const struct virtio_vsock_hdr *h)
{
	struct vu_token t = pop_tok(v->rx_toks, &v->rx_first, &v->rx_count);

	vu_iov_from_buf(v->chain.iov, v->chain.n_in, 0, h, VS_HDR);
	(void)vu_complete(v->b, t, (uint32_t)VS_HDR + h->len);
}

static void hdr_for(struct dev_vsock *v, struct dev_vsock_conn *c, uint16_t op, uint32_t flags,
		    uint32_t len, struct virtio_vsock_hdr *h)
{
	memset(h, 0, sizeof(*h));
	h->src_cid = DEV_VSOCK_HOST_CID;
	h->dst_cid = v->cfg.guest_cid;
	h->src_port = c->host_port;
	h->dst_port = c->guest_port;
	h->len = len;
	h->type = VIRTIO_VSOCK_TYPE_STREAM;
	h->op = op;
	h->flags = flags;
	h->buf_alloc = DEV_VSOCK_BUF_ALLOC;
	h->fwd_cnt = c->fwd_cnt;
	c->fwd_cnt_told = c->fwd_cnt;
	c->owed &= ~DEV_VSOCK_OWE_CREDIT;
}

void vs_rst_queue(struct dev_vsock *v, uint32_t host_port, uint32_t guest_port)
{
	struct dev_vsock_rst *r;

	if (v->rst_count >= DEV_VSOCK_RST_QUEUE) {
		v->st.rst_dropped++;
		return;
	}
	r = &v->rst_q[(v->rst_first + v->rst_count++) % DEV_VSOCK_RST_QUEUE];
	r->host_port = host_port;
	r->guest_port = guest_port;
}

static void send_rst(struct dev_vsock *v)
{
	struct dev_vsock_rst *r = &v->rst_q[v->rst_first];
	struct dev_vsock_conn tmp = {.host_port = r->host_port, .guest_port = r->guest_port};
	struct virtio_vsock_hdr h;

	hdr_for(v, &tmp, VIRTIO_VSOCK_OP_RST, 0, 0, &h);
	h.buf_alloc = 0;
	rx_send(v, &h);
	v->rst_first = (v->rst_first + 1) % DEV_VSOCK_RST_QUEUE;
	v->rst_count--;
	v->st.rst_sent++;
}

static bool can_read(struct dev_vsock *v, const struct dev_vsock_conn *c)
{
	return c->readable && !c->unix_eof && !c->guest_no_rcv &&
	       !(c->owed & DEV_VSOCK_OWE_RESPONSE) && vs_credit(c) > 0;
}

/* Read from the Unix socket straight into the guest's buffer. 1: a packet
 * went out; 0: nothing to read; -1: the connection is gone. */
static int send_data(struct dev_vsock *v, struct dev_vsock_conn *c)
{
	uint64_t room = v->chain.in_len - VS_HDR;
	uint32_t credit = vs_credit(c);
	struct virtio_vsock_hdr h;
	ssize_t r;
	int n;

	if (room > VS_MAX_PKT)
		room = VS_MAX_PKT;
	if (room > credit)
		room = credit;
	n = vu_iov_slice(v->chain.iov, v->chain.n_in, VS_HDR, room, v->slice, VU_CHAIN_MAX_IOV);
	if (n <= 0)
		return 0;
	r = readv(c->fd, (const struct iovec *)(const void *)v->slice, n);
	if (r < 0 && (errno == EAGAIN || errno == EINTR)) {
		c->readable = false;
		return 0;
	}
	if (r < 0) {
		vs_conn_close(v, c, true, "Unix read error");
		return -1;
	}
	if (r == 0) {
		c->readable = false;
		c->unix_eof = true;
		c->owed |= DEV_VSOCK_OWE_SHUTDOWN;
		return 0;
	}
	hdr_for(v, c, VIRTIO_VSOCK_OP_RW, 0, (uint32_t)r, &h);
	rx_send(v, &h);
	c->tx_cnt += (uint32_t)r;
	c->bytes_to_guest += (uint64_t)r;
	v->st.bytes_to_guest += (uint64_t)r;
	return 1;
}

static int send_ctrl(struct dev_vsock *v, struct dev_vsock_conn *c, uint32_t owe, uint16_t op,
		     uint32_t flags)
{
	struct virtio_vsock_hdr h;

	c->owed &= ~owe;
	hdr_for(v, c, op, flags, 0, &h);
	rx_send(v, &h);
	return 1;
}

/* What the connection would send next, if anything (0: nothing). */
static uint32_t next_owed(struct dev_vsock *v, const struct dev_vsock_conn *c)
{
	static const uint32_t order[] = {DEV_VSOCK_OWE_REQUEST, DEV_VSOCK_OWE_RESPONSE,
					 DEV_VSOCK_OWE_CREDIT_REQUEST, DEV_VSOCK_OWE_CREDIT};

	if (c->state == DEV_VSOCK_CONNECTING)
		return c->owed & DEV_VSOCK_OWE_REQUEST;
	if (c->state != DEV_VSOCK_ESTABLISHED)
		return 0;
	for (size_t i = 0; i < sizeof(order) / sizeof(order[0]); i++)
		if (c->owed & order[i])
			return order[i];
	if (can_read(v, c))
		return ~0u;
	/* Last: everything read before the Unix EOF has gone out. */
	return c->owed & DEV_VSOCK_OWE_SHUTDOWN;
}

/* One packet for c. 1 sent, 0 nothing to send, -EAGAIN no guest buffer. */
static int conn_step(struct dev_vsock *v, struct dev_vsock_conn *c)
{
	uint32_t what = next_owed(v, c);

	if (!what)
		return 0;
	if (rx_peek(v) < 0)
		return -EAGAIN;
	switch (what) {
	case DEV_VSOCK_OWE_REQUEST: return send_ctrl(v, c, what, VIRTIO_VSOCK_OP_REQUEST, 0);
	case DEV_VSOCK_OWE_RESPONSE: return send_ctrl(v, c, what, VIRTIO_VSOCK_OP_RESPONSE, 0);
	case DEV_VSOCK_OWE_CREDIT_REQUEST:
		return send_ctrl(v, c, what, VIRTIO_VSOCK_OP_CREDIT_REQUEST, 0);
	case DEV_VSOCK_OWE_CREDIT: return send_ctrl(v, c, what, VIRTIO_VSOCK_OP_CREDIT_UPDATE, 0);
	case DEV_VSOCK_OWE_SHUTDOWN:
		send_ctrl(v, c, what, VIRTIO_VSOCK_OP_SHUTDOWN, VIRTIO_VSOCK_SHUTDOWN_SEND);
		vs_conn_settle(v, c);
		return 1;
	default:
		if (send_data(v, c) > 0)
			return 1;
		/* EOF just now: the SHUTDOWN can use the buffer we peeked. */
		if (c->state == DEV_VSOCK_ESTABLISHED && (c->owed & DEV_VSOCK_OWE_SHUTDOWN))
			return conn_step(v, c);
		return 0;
	}
}

static int ev_pump(struct dev_vsock *v)
{
	uint32_t id = VIRTIO_VSOCK_EVENT_TRANSPORT_RESET;
	struct vu_token t;
	int rc;

	if (!v->want_transport_reset || !v->ev_count || !ring_ok(v, DEV_VSOCK_EVQ))
		return 0;
	t = pop_tok(v->ev_toks, &v->ev_first, &v->ev_count);
	rc = vu_token_chain(v->b, t, &v->chain);
	if (rc == -ESTALE)
		return 0;
	if (rc < 0) {
		v->ev_count = v->ev_first = 0;
		return 0;
	}
	if (v->chain.n_out || v->chain.in_len < EVENT_BYTES) {
		v->st.violations++;
		(void)vu_complete(v->b, t, 0);
		return 1;
	}
	vu_iov_from_buf(v->chain.iov, v->chain.n_in, 0, &id, sizeof(id));
	(void)vu_complete(v->b, t, EVENT_BYTES);
	v->want_transport_reset = false;
	v->st.events_sent++;
	vs_logf(v, false, "vsock: sent TRANSPORT_RESET to the guest");
	return 1;
}

static void starved(struct dev_vsock *v, bool now)
{
	if (now && !v->starving)
		v->st.rx_starved++;
	v->starving = now;
}

int vs_rx_pump(struct dev_vsock *v)
{
	int work = ev_pump(v), budget = VS_PUMP_BUDGET, rc = 0;

	if (!ring_ok(v, DEV_VSOCK_RXQ))
		return work;
	while (v->rst_count && budget > 0) {
		if (rx_peek(v) < 0) {
			starved(v, true);
			return work;
		}
		send_rst(v);
		budget--;
		work++;
	}
	for (uint32_t i = 0; i < DEV_VSOCK_MAX_CONNS && budget > 0 && rc != -EAGAIN; i++) {
		struct dev_vsock_conn *c = &v->conns[(v->rr + i) % DEV_VSOCK_MAX_CONNS];
		for (int k = 0; k < VS_CONN_BUDGET && budget > 0; k++) {
			rc = conn_step(v, c);
			if (rc <= 0)
				break;
			budget--;
			work++;
		}
	}
	starved(v, rc == -EAGAIN);
	v->rr = (v->rr + 1) % DEV_VSOCK_MAX_CONNS;
	return work;
}
