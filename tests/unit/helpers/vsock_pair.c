#include "vsock_pair.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

struct k_vsock_core *vp_core_new(uint64_t cid)
{
	/* The core and its pool in one block (freed as one): the hosted
	 * default of K_VSOCK_MAX_CONNS connections x 64 KiB each way. */
	size_t bufs =
		(size_t)k_vsock_mem_bytes(K_VSOCK_MAX_CONNS, K_VSOCK_BUF_ALLOC, K_VSOCK_TX_BUF);
	struct k_vsock_core *c = malloc(sizeof(*c) + bufs);
	uint8_t *rx;
	if (!c)
		abort();
	rx = (uint8_t *)(c + 1);
	c->mem = (struct k_vsock_mem){0};
	if (k_vsock_set_mem(c, &(struct k_vsock_mem){.conns = K_VSOCK_MAX_CONNS,
						     .rx_size = K_VSOCK_BUF_ALLOC,
						     .tx_size = K_VSOCK_TX_BUF,
						     .rx = rx,
						     .tx = rx + (size_t)K_VSOCK_MAX_CONNS *
									K_VSOCK_BUF_ALLOC}))
		abort();
	k_vsock_init(c, cid);
	return c;
}

struct vsock_pair *vp_new(void)
{
	struct vsock_pair *p = calloc(1, sizeof(*p));
	if (!p)
		abort();
	p->guest = vp_core_new(VP_GUEST_CID);
	p->host = vp_core_new(VP_HOST_CID);
	return p;
}

void vp_free(struct vsock_pair *p)
{
	free(p->guest);
	free(p->host);
	free(p);
}

static bool move_one(struct vsock_pair *p, bool to_host)
{
	struct k_vsock_core *from = to_host ? p->guest : p->host;
	struct k_vsock_core *to = to_host ? p->host : p->guest;
	struct k_vsock_hdr h;
	int n = k_vsock_tx_next(from, &h, p->buf, sizeof(p->buf));
	if (n < 0)
		return false;
	if ((uint32_t)n != h.len)
		abort(); /* the core must describe exactly what it filled */
	p->moved++;
	if (p->filter && !p->filter(p, to_host, &h, p->buf, p->filter_arg))
		return true;
	(void)k_vsock_rx_packet(to, &h, p->buf, h.len);
	return true;
}

unsigned vp_pump(struct vsock_pair *p, unsigned max)
{
	unsigned moved = 0;
	while (moved < max) {
		bool a = move_one(p, true);
		bool b = moved + a < max && move_one(p, false);
		if (!a && !b)
			break;
		moved += (unsigned)a + (unsigned)b;
	}
	return moved;
}

struct k_vsock_hdr vp_hdr(uint64_t src_cid, uint32_t src_port, uint64_t dst_cid, uint32_t dst_port,
			  uint16_t op, uint32_t buf_alloc, uint32_t fwd_cnt)
{
	struct k_vsock_hdr h;
	memset(&h, 0, sizeof(h));
	h.src_cid = src_cid;
	h.src_port = src_port;
	h.dst_cid = dst_cid;
	h.dst_port = dst_port;
	h.type = VIRTIO_VSOCK_TYPE_STREAM;
	h.op = op;
	h.buf_alloc = buf_alloc;
	h.fwd_cnt = fwd_cnt;
	return h;
}

int vp_take(struct k_vsock_core *c, struct k_vsock_hdr *h, uint8_t *payload, size_t cap)
{
	return k_vsock_tx_next(c, h, payload, payload ? cap : 0);
}
