/* fuzz_stream.c - libFuzzer target: a peer's byte stream, cut anywhere.
 *
 * Input: u8 a, u8 b (how the stream is cut), then the stream itself.
 * Two assemblers read the same stream: one through vu_stream_rx_feed() in
 * chunks of 1..(a+1) bytes, one through want/commit in chunks of at most
 * 1..(b+1) bytes, as a socket would deliver them. Every message each yields
 * is queued on a transmit queue drained by odd amounts.
 *
 * Invariants, any break aborts:
 * - both assemblers yield the same messages and stop at the same byte with
 *   the same verdict (the cut never matters);
 * - a yielded message is at most VU_MAX_PAYLOAD, carries no fds, and is
 *   byte for byte the part of the stream it came from;
 * - after -EMSGSIZE the assembler takes no more bytes;
 * - the transmit queue gives back exactly the bytes of the queued messages,
 *   in order, and a refused put changes nothing.
 */
#include <errno.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "vu/stream.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static uint8_t buf_a[VU_STREAM_MSG_MAX], buf_b[VU_STREAM_MSG_MAX];
static uint8_t txbuf[VU_STREAM_MSG_MAX + 64];
static uint8_t drained[VU_STREAM_MSG_MAX + 64];
static struct vu_msg ma, mb;

#define CHECK(x)                                                                                   \
	do {                                                                                       \
		if (!(x))                                                                          \
			abort();                                                                   \
	} while (0)

/* Path B: read like vm_platform.c does, at most `cut` bytes a time. */
static int next_b(struct vu_stream_rx *rx, const uint8_t *s, size_t len, size_t *off, size_t cut)
{
	for (;;) {
		uint8_t *dst;
		int want = vu_stream_rx_want(rx, &dst);
		size_t n;

		if (want < 0)
			return want;
		if (want == 0)
			return vu_stream_rx_take(rx, &mb);
		if (*off == len)
			return -EAGAIN;
		n = (size_t)want < cut ? (size_t)want : cut;
		n = n < len - *off ? n : len - *off;
		memcpy(dst, s + *off, n);
		CHECK(vu_stream_rx_commit(rx, n) == 0);
		*off += n;
	}
}

/* Drain the queue by `n` bytes (or all pending), checking them against the
 * expected stream at *exp. */
static void drain(struct vu_stream_tx *tx, const uint8_t *expect, size_t *exp, size_t n)
{
	const uint8_t *src;
	uint32_t pending = vu_stream_tx_peek(tx, &src);

	n = n < pending ? n : pending;
	memcpy(drained, src, n);
	CHECK(memcmp(drained, expect + *exp, n) == 0);
	*exp += n;
	CHECK(vu_stream_tx_consume(tx, n) == 0);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct vu_stream_rx ra, rb;
	struct vu_stream_tx tx;
	size_t cut_a, cut_b, len, off_a = 0, off_b = 0, exp = 0, whole = 0;
	const uint8_t *s;
	unsigned step = 0;

	if (size < 2)
		return 0;
	cut_a = (size_t)data[0] + 1;
	cut_b = (size_t)data[1] * 17 + 1;
	s = data + 2;
	len = size - 2;
	CHECK(vu_stream_rx_init(&ra, buf_a, sizeof(buf_a)) == 0);
	CHECK(vu_stream_rx_init(&rb, buf_b, sizeof(buf_b)) == 0);
	CHECK(vu_stream_tx_init(&tx, txbuf, sizeof(txbuf)) == 0);
	for (;;) {
		size_t start = off_a, used;
		int r, rb_r;

		/* Path A: feed chunks until a message or a verdict. */
		do {
			size_t n = cut_a < len - off_a ? cut_a : len - off_a;

			r = vu_stream_rx_feed(&ra, s + off_a, n, &used, &ma);
			CHECK(used <= n);
			off_a += used;
		} while (r == -EAGAIN && off_a < len);
		rb_r = next_b(&rb, s, len, &off_b, cut_b);
		CHECK(r == rb_r);
		CHECK(off_a == off_b);
		if (r == -EMSGSIZE) {
			CHECK(vu_stream_rx_feed(&ra, s + off_a, len - off_a, &used, &ma) ==
			      -EMSGSIZE);
			CHECK(used == 0);
			CHECK(vu_stream_rx_want(&ra, NULL) == -EMSGSIZE);
			break;
		}
		if (r == -EAGAIN)
			break;
		CHECK(r == 0);
		CHECK(ma.hdr.size <= VU_MAX_PAYLOAD && ma.nfds == 0 && ma.fds[0] == -1);
		CHECK(off_a - start == VU_HDR_SIZE + ma.hdr.size);
		CHECK(memcmp(&ma.hdr, s + start, VU_HDR_SIZE) == 0);
		CHECK(memcmp(ma.p.raw, s + start + VU_HDR_SIZE, ma.hdr.size) == 0);
		CHECK(memcmp(&ma.hdr, &mb.hdr, VU_HDR_SIZE) == 0);
		CHECK(memcmp(ma.p.raw, mb.p.raw, VU_MAX_PAYLOAD) == 0);
		/* The queue refuses without a trace, then takes it once drained. */
		while ((r = vu_stream_tx_put(&tx, &ma)) == -EAGAIN) {
			uint32_t before = vu_stream_tx_peek(&tx, NULL);

			CHECK(vu_stream_tx_room(&tx) < VU_HDR_SIZE + ma.hdr.size);
			CHECK(before > 0);
			drain(&tx, s, &exp, 1 + (step++ * 389) % 2000);
		}
		CHECK(r == 0);
		whole += off_a - start;
	}
	drain(&tx, s, &exp, SIZE_MAX);
	CHECK(vu_stream_tx_peek(&tx, NULL) == 0);
	/* Every byte of every whole message came back out, nothing else. */
	CHECK(exp == whole);
	return 0;
}
