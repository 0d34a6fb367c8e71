/* Non-blocking stream sockets over the vsock core's tables. An fd is
 * gen << 9 | kind << 8 | slot: positive, and stale once its slot's
 * generation moves on or the slot is no longer held by the app. */
#include <errno.h>
#include <string.h>

#include "kern/vsock_socket.h"
#include "vsock_int.h"

#define FD_LISTENER 0x100
#define IO_MAX 0x7fffffffu /* results are int */
#define FD_SLOT(fd) ((unsigned)(fd)&0xffu)
#define FD_GEN(fd) ((uint16_t)((unsigned)(fd) >> 9))

static int make_fd(unsigned slot, uint16_t gen, bool listener)
{
	return (int)(((unsigned)gen << 9) | (listener ? FD_LISTENER : 0) | slot);
}

static struct k_vsock_conn *conn_of(struct k_vsock_core *c, int fd)
{
	struct k_vsock_conn *k;
	if (fd < 0 || (fd & FD_LISTENER) || FD_SLOT(fd) >= c->mem.conns)
		return NULL;
	k = &c->conns[FD_SLOT(fd)];
	if (k->state == K_VS_FREE || !k->app || k->gen != FD_GEN(fd))
		return NULL;
	return k;
}

static struct k_vsock_listener *listener_of(struct k_vsock_core *c, int fd)
{
	struct k_vsock_listener *l;
	if (fd < 0 || !(fd & FD_LISTENER) || FD_SLOT(fd) >= K_VSOCK_MAX_LISTENERS)
		return NULL;
	l = &c->listeners[FD_SLOT(fd)];
	if (!l->active || l->gen != FD_GEN(fd))
		return NULL;
	return l;
}

static bool port_in_use(const struct k_vsock_core *c, uint32_t port)
{
	for (unsigned i = 0; i < K_VSOCK_MAX_LISTENERS; i++)
		if (c->listeners[i].active && c->listeners[i].port == port)
			return true;
	for (unsigned i = 0; i < c->mem.conns; i++)
		if (c->conns[i].state != K_VS_FREE && c->conns[i].local_port == port)
			return true;
	return false;
}

int k_vs_listen(struct k_vsock_core *c, uint32_t port, unsigned backlog)
{
	if (port_in_use(c, port))
		return -EADDRINUSE;
	for (unsigned i = 0; i < K_VSOCK_MAX_LISTENERS; i++) {
		struct k_vsock_listener *l = &c->listeners[i];
		if (l->active)
			continue;
		l->active = 1;
		l->port = port;
		l->queued = 0;
		l->backlog = (uint8_t)(backlog < 1		       ? 1
				       : backlog > K_VSOCK_BACKLOG_MAX ? K_VSOCK_BACKLOG_MAX
								       : backlog);
		c->stats.listeners_open++;
		return make_fd(i, l->gen, true);
	}
	return -ENOMEM;
}

int k_vs_accept(struct k_vsock_core *c, int lfd)
{
	struct k_vsock_listener *l = listener_of(c, lfd);
	struct k_vsock_conn *best = NULL;
	if (!l)
		return -EBADF;
	for (unsigned i = 0; i < c->mem.conns; i++) {
		struct k_vsock_conn *k = &c->conns[i];
		if (k->state != K_VS_FREE && k->parent == (int)FD_SLOT(lfd) &&
		    (!best || k->seq < best->seq))
			best = k;
	}
	if (!best)
		return -EAGAIN;
	best->parent = -1;
	best->app = true;
	l->queued--;
	return make_fd(k_vsock_conn_index(c, best), best->gen, false);
}

static int ephemeral_port(struct k_vsock_core *c, uint32_t *port)
{
	for (unsigned tries = 0; tries <= c->mem.conns + K_VSOCK_MAX_LISTENERS; tries++) {
		uint32_t p = c->next_port;
		c->next_port = p >= 65535u ? K_VSOCK_EPHEMERAL_FIRST : p + 1;
		if (!port_in_use(c, p)) {
			*port = p;
			return 0;
		}
	}
	return -EADDRNOTAVAIL;
}

int k_vs_connect(struct k_vsock_core *c, uint64_t cid, uint32_t port)
{
	struct k_vsock_conn *k;
	uint32_t local;
	int i;
	if (ephemeral_port(c, &local) < 0)
		return -EADDRNOTAVAIL;
	i = k_vsock_conn_alloc(c);
	if (i < 0)
		return -ENOMEM;
	k = &c->conns[i];
	k->state = K_VS_CONNECTING;
	k->pending = K_VSOCK_PEND_REQUEST;
	k->app = true;
	k->local_port = local;
	k->peer_cid = cid;
	k->peer_port = port;
	k->deadline_ns = c->now_ns + K_VSOCK_CONNECT_TIMEOUT_NS;
	return make_fd((unsigned)i, k->gen, false);
}

int k_vs_recv(struct k_vsock_core *c, int fd, void *buf, size_t len)
{
	struct k_vsock_conn *k = conn_of(c, fd);
	uint32_t n;
	if (!k)
		return listener_of(c, fd) ? -ENOTCONN : -EBADF;
	if (k->state == K_VS_CONNECTING)
		return -EAGAIN;
	n = k_vsock_rx_used(k);
	if (n && !(k->shut_local & VIRTIO_VSOCK_SHUTDOWN_RCV)) {
		if (len > IO_MAX)
			len = IO_MAX;
		if (n > len)
			n = (uint32_t)len;
		k_vsock_ring_get(k_vsock_rxbuf(c, k), c->mem.rx_size, k->fwd_cnt, buf, n);
		k->fwd_cnt += n;
		if (k->state == K_VS_ESTABLISHED)
			k_vsock_credit_check(c, k);
		return (int)n;
	}
	if (k->state == K_VS_CLOSED || (k->shut_peer & VIRTIO_VSOCK_SHUTDOWN_SEND) ||
	    (k->shut_local & VIRTIO_VSOCK_SHUTDOWN_RCV) || len == 0)
		return 0;
	return -EAGAIN;
}

int k_vs_send(struct k_vsock_core *c, int fd, const void *buf, size_t len)
{
	struct k_vsock_conn *k = conn_of(c, fd);
	uint32_t room;
	if (!k)
		return listener_of(c, fd) ? -ENOTCONN : -EBADF;
	if (k->state == K_VS_CLOSED || (k->shut_local & VIRTIO_VSOCK_SHUTDOWN_SEND) ||
	    (k->shut_peer & VIRTIO_VSOCK_SHUTDOWN_RCV))
		return -EPIPE;
	if (len == 0)
		return 0;
	if (k->state == K_VS_CONNECTING)
		return -EAGAIN;
	room = c->mem.tx_size - k_vsock_tx_queued(k);
	if (room == 0)
		return -EAGAIN;
	if (len > room)
		len = room;
	k_vsock_ring_put(k_vsock_txbuf(c, k), c->mem.tx_size, k->tx_app, buf, (uint32_t)len);
	k->tx_app += (uint32_t)len;
	return (int)len;
}

int k_vs_shutdown(struct k_vsock_core *c, int fd, unsigned how)
{
	struct k_vsock_conn *k = conn_of(c, fd);
	if (!k)
		return listener_of(c, fd) ? -ENOTCONN : -EBADF;
	if (how == 0 || (how & ~VIRTIO_VSOCK_SHUTDOWN_BOTH))
		return -EINVAL;
	if (k->state != K_VS_ESTABLISHED)
		return -ENOTCONN;
	if ((k->shut_local | how) == k->shut_local)
		return 0;
	k->shut_local |= (uint8_t)how;
	k->pending |= K_VSOCK_PEND_SHUTDOWN;
	if (how & VIRTIO_VSOCK_SHUTDOWN_RCV) {
		/* Unread data will never be read: hand its credit back. */
		k->fwd_cnt = k->rx_cnt;
		k_vsock_credit_check(c, k);
	}
	return 0;
}

static void close_conn(struct k_vsock_core *c, struct k_vsock_conn *k)
{
	k->app = false;
	switch (k->state) {
	case K_VS_CONNECTING:
		if (k->pending & K_VSOCK_PEND_REQUEST) {
			/* The peer never heard of it. */
			k_vsock_conn_close(c, k, ECONNRESET, false);
			k->pending = 0;
			k_vsock_conn_maybe_free(c, k);
		} else {
			k_vsock_conn_close(c, k, ECONNRESET, true);
		}
		break;
	case K_VS_ESTABLISHED:
		if (k->shut_peer & VIRTIO_VSOCK_SHUTDOWN_RCV) {
			k_vsock_conn_close(c, k, 0, true);
			break;
		}
		/* Linger: flush what send() accepted, then SHUTDOWN, then wait for
		 * the peer's RST (or time out and send ours). */
		k->state = K_VS_CLOSING;
		k->fwd_cnt = k->rx_cnt;
		k->shut_local = VIRTIO_VSOCK_SHUTDOWN_BOTH;
		k->pending |= K_VSOCK_PEND_SHUTDOWN;
		k->deadline_ns = c->now_ns + K_VSOCK_CLOSE_TIMEOUT_NS;
		break;
	default: k_vsock_conn_maybe_free(c, k); break;
	}
}

int k_vs_close(struct k_vsock_core *c, int fd)
{
	struct k_vsock_conn *k = conn_of(c, fd);
	struct k_vsock_listener *l;
	if (k) {
		close_conn(c, k);
		return 0;
	}
	l = listener_of(c, fd);
	if (!l)
		return -EBADF;
	for (unsigned i = 0; i < c->mem.conns; i++) {
		struct k_vsock_conn *ch = &c->conns[i];
		if (ch->state != K_VS_FREE && ch->parent == (int)FD_SLOT(fd))
			k_vsock_conn_close(c, ch, ECONNRESET, true);
	}
	l->active = 0;
	l->gen++;
	c->stats.listeners_open--;
	return 0;
}

int k_vs_poll(struct k_vsock_core *c, int fd)
{
	struct k_vsock_conn *k = conn_of(c, fd);
	struct k_vsock_listener *l;
	int ev = 0;
	if (!k) {
		l = listener_of(c, fd);
		if (!l)
			return -EBADF;
		return l->queued ? K_VS_POLLIN : 0;
	}
	switch (k->state) {
	case K_VS_CLOSED: return K_VS_POLLIN | K_VS_POLLHUP | (k->err ? K_VS_POLLERR : 0);
	case K_VS_ESTABLISHED:
		if (k_vsock_rx_used(k) || (k->shut_peer & VIRTIO_VSOCK_SHUTDOWN_SEND) ||
		    (k->shut_local & VIRTIO_VSOCK_SHUTDOWN_RCV))
			ev |= K_VS_POLLIN;
		if (!(k->shut_local & VIRTIO_VSOCK_SHUTDOWN_SEND) &&
		    !(k->shut_peer & VIRTIO_VSOCK_SHUTDOWN_RCV) &&
		    k_vsock_tx_queued(k) < c->mem.tx_size)
			ev |= K_VS_POLLOUT;
		if (k->shut_peer == VIRTIO_VSOCK_SHUTDOWN_BOTH)
			ev |= K_VS_POLLHUP;
		return ev;
	default: return 0;
	}
}

int k_vs_error(struct k_vsock_core *c, int fd)
{
	struct k_vsock_conn *k = conn_of(c, fd);
	if (!k)
		return -EBADF;
	return k->err;
}

int k_vs_peer(struct k_vsock_core *c, int fd, uint64_t *cid, uint32_t *port)
{
	struct k_vsock_conn *k = conn_of(c, fd);
	if (!k)
		return -EBADF;
	*cid = k->peer_cid;
	*port = k->peer_port;
	return 0;
}
