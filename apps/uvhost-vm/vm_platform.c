/* The service VM's vu_platform: vsock streams, ivshmem windows, no fds. */
#include "vm_platform.h"

#include <errno.h>
#include <stddef.h>
#include <string.h>

#include "doorbell.h"
#include "kern/ivshmem.h"
#include "kern/log.h"
#include "kern/vsock_socket.h"
#include "vu/stream.h"

static void chan_reset(struct uvm_chan *ch, int fd)
{
	ch->fd = fd;
	/* Both buffers are sized from VU_STREAM_MSG_MAX: init cannot fail. */
	(void)vu_stream_rx_init(&ch->rx, ch->rx_buf, sizeof(ch->rx_buf));
	(void)vu_stream_tx_init(&ch->tx, ch->tx_buf, sizeof(ch->tx_buf));
}

bool uvm_chan_tx_room(const struct uvm_chan *ch)
{
	return vu_stream_tx_room(&ch->tx) >= UVM_MSG_MAX;
}

/* Write queued bytes until the socket is full or the queue empty. */
static int chan_push(struct uvm_vu_conn *c, struct uvm_chan *ch, struct vu_stream_tx *tx)
{
	const uint8_t *src;
	uint32_t n;

	while ((n = vu_stream_tx_peek(tx, &src)) > 0) {
		int r = k_vs_send(c->vs, ch->fd, src, n);

		if (r == -EAGAIN)
			break;
		if (r < 0)
			return r;
		if (vu_stream_tx_consume(tx, (size_t)r))
			return -EIO; /* the socket claims more than it was given */
	}
	return 0;
}

int uvm_chan_flush(struct uvm_vu_conn *c, struct uvm_chan *ch)
{
	return chan_push(c, ch, &ch->tx);
}

int uvm_chan_send(struct uvm_vu_conn *c, struct uvm_chan *ch, const struct vu_msg *msg)
{
	int r;

	if (ch->fd < 0)
		return -EBADF;
	if (msg->hdr.size > VU_MAX_PAYLOAD)
		return -EINVAL;
	r = chan_push(c, ch, &ch->tx);
	if (r == 0)
		r = vu_stream_tx_put(&ch->tx, msg);
	if (r == 0)
		r = chan_push(c, ch, &ch->tx);
	return r;
}

int uvm_chan_recv(struct uvm_vu_conn *c, struct uvm_chan *ch, struct vu_msg *msg)
{
	struct vu_stream_rx *rx = &ch->rx;
	uint8_t *dst;
	int want, r = 0;

	if (ch->fd < 0)
		return -EBADF;
	/* Read exactly what the current message still needs, so a byte of the
	 * next one never leaves the socket early. */
	while (r == 0 && (want = vu_stream_rx_want(rx, &dst)) > 0) {
		r = k_vs_recv(c->vs, ch->fd, dst, (size_t)want);
		if (r == 0)
			r = -ECONNRESET;
		else if (r > 0)
			r = vu_stream_rx_commit(rx, (size_t)r) ? -EIO : 0;
	}
	if (r == 0)
		r = vu_stream_rx_take(rx, msg);
	return r;
}

static struct uvm_chan *back_chan(struct uvm_vu_conn *c, int fd)
{
	for (unsigned i = 0; i < UVM_BACKEND_CHANS; i++)
		if (fd >= 0 && c->back[i].fd == fd)
			return &c->back[i];
	return NULL;
}

static int plat_send(void *ctx, const struct vu_msg *msg)
{
	struct uvm_vu_conn *c = ctx;

	return uvm_chan_send(c, &c->front, msg);
}

static int plat_backend_send(void *ctx, int chan, const struct vu_msg *msg, struct vu_msg *reply)
{
	struct uvm_vu_conn *c = ctx;
	struct uvm_chan *ch = back_chan(c, chan);

	if (reply)
		return -EOPNOTSUPP; /* waiting would stall every session */
	if (!ch)
		return -EBADF;
	return uvm_chan_send(c, ch, msg);
}

static int plat_backend_recv(void *ctx, int chan, struct vu_msg *msg)
{
	struct uvm_vu_conn *c = ctx;
	struct uvm_chan *ch = back_chan(c, chan);
	int r;

	if (!ch)
		return -EBADF;
	r = uvm_chan_flush(c, ch);
	if (r < 0)
		return r == -EPIPE ? -ECONNRESET : r;
	r = uvm_chan_recv(c, ch, msg);
	if (r == -EAGAIN && (k_vs_poll(c->vs, ch->fd) & (K_VS_POLLHUP | K_VS_POLLERR)))
		return -ECONNRESET;
	return r;
}

static int plat_window_size(void *ctx, uint32_t index, uint64_t *size)
{
	uint64_t base;

	(void)ctx;
	return k_window_get(index, &base, size) ? -ENOENT : 0;
}

static int plat_map(void *ctx, int fd, uint64_t offset, uint64_t len, bool writable, void **host,
		    void **cookie)
{
	uint32_t win = VU_WINDOW_INDEX(offset);
	uint64_t off = VU_WINDOW_OFFSET(offset);
	uint64_t base, size;
	void *p;

	(void)ctx;
	(void)writable;
	if (fd != -1)
		return -EBADF;
	if (k_window_get(win, &base, &size))
		return -ENOENT;
	if (len == 0 || off > size || len > size - off)
		return -ERANGE;
	p = k_window_ptr(win, off, len);
	if (!p)
		return -ERANGE;
	*host = p;
	*cookie = NULL; /* BAR2 stays mapped for the VM's lifetime */
	return 0;
}

static void plat_unmap(void *ctx, void *cookie)
{
	(void)ctx;
	(void)cookie;
}

static int plat_alloc_shared(void *ctx, uint64_t len, int *fd, void **host, void **cookie)
{
	(void)ctx;
	(void)len;
	(void)fd;
	(void)host;
	(void)cookie;
	return -EOPNOTSUPP; /* inflight regions need an fd to hand over */
}

/* No eventfds here: a call is a doorbell handle, or nothing. */
static int plat_signal(void *ctx, int fd)
{
	(void)ctx;
	return uvm_doorbell_signal(fd);
}

static int plat_doorbell(void *ctx, bool call, uint32_t device, uint32_t peer, uint32_t vector,
			 int *fd)
{
	(void)ctx;
	return uvm_doorbell_handle(call, device, peer, vector, fd);
}

static void plat_close_fd(void *ctx, int fd)
{
	struct uvm_vu_conn *c = ctx;
	struct uvm_chan *ch;

	if (uvm_doorbell_is_handle(fd))
		return; /* a name, nothing to release */
	ch = back_chan(c, fd);

	if (!ch)
		return;
	(void)uvm_chan_flush(c, ch);
	k_vs_close(c->vs, ch->fd);
	chan_reset(ch, -1);
}

static int plat_backend_connect(void *ctx, uint32_t port, int *chan)
{
	struct uvm_vu_conn *c = ctx;
	int fd;

	for (unsigned i = 0; i < UVM_BACKEND_CHANS; i++) {
		if (c->back[i].fd >= 0)
			continue;
		fd = k_vs_connect(c->vs, c->peer_cid, port);
		if (fd < 0)
			return fd;
		chan_reset(&c->back[i], fd);
		*chan = fd;
		k_info("%s: backend channel to cid %llu port %u", c->tag,
		       (unsigned long long)c->peer_cid, (unsigned)port);
		return 0;
	}
	return -EMFILE;
}

static void plat_log(void *ctx, enum vu_log_level level, const char *line)
{
	struct uvm_vu_conn *c = ctx;
	static const int map[] = {K_LOG_WARN, K_LOG_WARN, K_LOG_INFO, K_LOG_DEBUG};

	/* A front-end's mistake is a warning here, never an error of the VM. */
	k_log(level <= VU_LOG_DEBUG ? map[level] : K_LOG_DEBUG, "%s: %s", c->tag, line);
}

void uvm_vu_conn_init(struct uvm_vu_conn *c, struct k_vsock_core *vs, int fd, const char *tag)
{
	uint32_t port;

	c->vs = vs;
	c->tag = tag;
	c->peer_cid = 0;
	if (k_vs_peer(vs, fd, &c->peer_cid, &port))
		c->peer_cid = 0;
	chan_reset(&c->front, fd);
	for (unsigned i = 0; i < UVM_BACKEND_CHANS; i++)
		chan_reset(&c->back[i], -1);
	c->plat = (struct vu_platform){
		.ctx = c,
		.send = plat_send,
		.backend_send = plat_backend_send,
		.backend_recv = plat_backend_recv,
		.map = plat_map,
		.unmap = plat_unmap,
		.alloc_shared = plat_alloc_shared,
		.signal = plat_signal,
		.close_fd = plat_close_fd,
		.has_fds = false,
		.window_size = plat_window_size,
		.backend_connect = plat_backend_connect,
		.doorbell = plat_doorbell,
		.log = plat_log,
	};
}

void uvm_vu_conn_close(struct uvm_vu_conn *c)
{
	for (unsigned i = 0; i < UVM_BACKEND_CHANS; i++)
		if (c->back[i].fd >= 0)
			plat_close_fd(c, c->back[i].fd);
	if (c->front.fd >= 0) {
		(void)uvm_chan_flush(c, &c->front);
		k_vs_close(c->vs, c->front.fd);
	}
	chan_reset(&c->front, -1);
}
