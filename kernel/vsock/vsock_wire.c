/* Byte-exact little-endian encode/decode of the 44-byte packet header. */
#include "kern/vsock_wire.h"

static uint64_t get_le(const uint8_t *p, unsigned n)
{
	uint64_t v = 0;
	for (unsigned i = n; i > 0; i--)
		v = (v << 8) | p[i - 1];
	return v;
}

static void put_le(uint8_t *p, uint64_t v, unsigned n)
{
	for (unsigned i = 0; i < n; i++) {
		p[i] = (uint8_t)v;
		v >>= 8;
	}
}

#define OFF(f) offsetof(struct virtio_vsock_hdr, f)
#define SZ(f) sizeof(((struct virtio_vsock_hdr *)0)->f)

void k_vsock_hdr_decode(struct k_vsock_hdr *h, const void *wire)
{
	const uint8_t *p = wire;
	h->src_cid = get_le(p + OFF(src_cid), SZ(src_cid));
	h->dst_cid = get_le(p + OFF(dst_cid), SZ(dst_cid));
	h->src_port = (uint32_t)get_le(p + OFF(src_port), SZ(src_port));
	h->dst_port = (uint32_t)get_le(p + OFF(dst_port), SZ(dst_port));
	h->len = (uint32_t)get_le(p + OFF(len), SZ(len));
	h->type = (uint16_t)get_le(p + OFF(type), SZ(type));
	h->op = (uint16_t)get_le(p + OFF(op), SZ(op));
	h->flags = (uint32_t)get_le(p + OFF(flags), SZ(flags));
	h->buf_alloc = (uint32_t)get_le(p + OFF(buf_alloc), SZ(buf_alloc));
	h->fwd_cnt = (uint32_t)get_le(p + OFF(fwd_cnt), SZ(fwd_cnt));
}

void k_vsock_hdr_encode(void *wire, const struct k_vsock_hdr *h)
{
	uint8_t *p = wire;
	put_le(p + OFF(src_cid), h->src_cid, SZ(src_cid));
	put_le(p + OFF(dst_cid), h->dst_cid, SZ(dst_cid));
	put_le(p + OFF(src_port), h->src_port, SZ(src_port));
	put_le(p + OFF(dst_port), h->dst_port, SZ(dst_port));
	put_le(p + OFF(len), h->len, SZ(len));
	put_le(p + OFF(type), h->type, SZ(type));
	put_le(p + OFF(op), h->op, SZ(op));
	put_le(p + OFF(flags), h->flags, SZ(flags));
	put_le(p + OFF(buf_alloc), h->buf_alloc, SZ(buf_alloc));
	put_le(p + OFF(fwd_cnt), h->fwd_cnt, SZ(fwd_cnt));
}
