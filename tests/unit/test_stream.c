/* vu/stream.h: framing survives any split of the stream, a hostile size is
 * refused before its payload, and the transmit queue is all or nothing. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "vu/stream.h"

static uint8_t rxbuf[VU_STREAM_MSG_MAX];
static uint8_t txbuf[2 * VU_STREAM_MSG_MAX];
static struct vu_stream_rx rx;
static struct vu_stream_tx tx;
static struct vu_msg msg;
/* Three wire messages' worth of bytes, and more. */
static uint8_t wire[4 * VU_STREAM_MSG_MAX];

static int setup(void **state)
{
	(void)state;
	memset(rxbuf, 0xee, sizeof(rxbuf));
	assert_int_equal(vu_stream_rx_init(&rx, rxbuf, sizeof(rxbuf)), 0);
	assert_int_equal(vu_stream_tx_init(&tx, txbuf, sizeof(txbuf)), 0);
	memset(&msg, 0x5a, sizeof(msg));
	return 0;
}

/* Write one message to p: header then `size` bytes of a pattern that
 * depends on `request`. Returns the bytes written. */
static size_t encode(uint8_t *p, uint32_t request, uint32_t flags, uint32_t size)
{
	struct vu_hdr h = {request, flags, size};

	memcpy(p, &h, VU_HDR_SIZE);
	for (uint32_t i = 0; i < size; i++)
		p[VU_HDR_SIZE + i] = (uint8_t)(request * 7 + i);
	return VU_HDR_SIZE + (size_t)size;
}

static void assert_msg(const struct vu_msg *m, uint32_t request, uint32_t flags, uint32_t size)
{
	assert_int_equal(m->hdr.request, request);
	assert_int_equal(m->hdr.flags, flags);
	assert_int_equal(m->hdr.size, size);
	for (uint32_t i = 0; i < size; i++)
		assert_int_equal(m->p.raw[i], (uint8_t)(request * 7 + i));
	/* Nothing of an older message or of the caller's garbage survives. */
	for (uint32_t i = size; i < VU_MAX_PAYLOAD; i++)
		assert_int_equal(m->p.raw[i], 0);
	assert_int_equal(m->nfds, 0);
	for (unsigned i = 0; i < VU_MAX_FDS; i++)
		assert_int_equal(m->fds[i], -1);
}

static void init_refuses_small_buffers(void **state)
{
	struct vu_stream_rx r;
	struct vu_stream_tx t;

	(void)state;
	assert_int_equal(vu_stream_rx_init(&r, rxbuf, VU_STREAM_MSG_MAX - 1), -EINVAL);
	assert_int_equal(vu_stream_rx_init(&r, NULL, VU_STREAM_MSG_MAX), -EINVAL);
	assert_int_equal(vu_stream_tx_init(&t, txbuf, VU_STREAM_MSG_MAX - 1), -EINVAL);
	assert_int_equal(vu_stream_tx_init(&t, NULL, VU_STREAM_MSG_MAX), -EINVAL);
	assert_int_equal(vu_stream_tx_init(&t, txbuf, VU_STREAM_MSG_MAX), 0);
	assert_int_equal(vu_stream_tx_room(&t), VU_STREAM_MSG_MAX);
}

/* Every way to cut one message into three pieces. */
static void every_split_of_a_message(void **state)
{
	size_t total = encode(wire, 9, 0x1, 27), used;

	(void)state;
	for (size_t i = 0; i <= total; i++) {
		for (size_t j = i; j <= total; j++) {
			size_t cut[4] = {0, i, j, total};
			int done = 0;

			vu_stream_rx_reset(&rx);
			for (int k = 0; k < 3; k++) {
				size_t n = cut[k + 1] - cut[k];
				int r = vu_stream_rx_feed(&rx, wire + cut[k], n, &used, &msg);

				assert_int_equal(used, n);
				if (cut[k + 1] == total && n > 0) {
					assert_int_equal(r, 0);
					done++;
				} else {
					assert_int_equal(r, -EAGAIN);
				}
			}
			assert_int_equal(done, 1);
			assert_msg(&msg, 9, 0x1, 27);
			assert_int_equal(vu_stream_rx_want(&rx, NULL), (int)VU_HDR_SIZE);
		}
	}
}

static void one_byte_at_a_time(void **state)
{
	size_t total = encode(wire, 5, 0x9, 100), used;

	(void)state;
	for (size_t i = 0; i < total; i++) {
		int r = vu_stream_rx_feed(&rx, wire + i, 1, &used, &msg);

		assert_int_equal(used, 1);
		assert_int_equal(r, i + 1 == total ? 0 : -EAGAIN);
	}
	assert_msg(&msg, 5, 0x9, 100);
}

static void back_to_back_messages_in_one_chunk(void **state)
{
	static const uint32_t sizes[] = {8, 0, VU_MAX_PAYLOAD, 40};
	size_t total = 0, off = 0, used;

	(void)state;
	for (unsigned i = 0; i < 4; i++)
		total += encode(wire + total, 20 + i, 0x1, sizes[i]);
	for (unsigned i = 0; i < 4; i++) {
		assert_int_equal(vu_stream_rx_feed(&rx, wire + off, total - off, &used, &msg), 0);
		assert_int_equal(used, VU_HDR_SIZE + sizes[i]);
		assert_msg(&msg, 20 + i, 0x1, sizes[i]);
		off += used;
	}
	assert_int_equal(off, total);
	assert_int_equal(vu_stream_rx_feed(&rx, wire + off, 0, &used, &msg), -EAGAIN);
	assert_int_equal(used, 0);
}

static void max_size_payload(void **state)
{
	size_t total = encode(wire, 24, 0x5, VU_MAX_PAYLOAD), used;

	(void)state;
	assert_int_equal(vu_stream_rx_feed(&rx, wire, total - 1, &used, &msg), -EAGAIN);
	assert_int_equal(vu_stream_rx_want(&rx, NULL), 1);
	assert_int_equal(vu_stream_rx_feed(&rx, wire + total - 1, 1, &used, &msg), 0);
	assert_msg(&msg, 24, 0x5, VU_MAX_PAYLOAD);
}

static void zero_size_payload(void **state)
{
	size_t total = encode(wire, 3, 0x1, 0), used;

	(void)state;
	assert_int_equal(total, VU_HDR_SIZE);
	/* Complete as soon as the header is: no wait for a payload byte. */
	assert_int_equal(vu_stream_rx_feed(&rx, wire, total, &used, &msg), 0);
	assert_int_equal(used, VU_HDR_SIZE);
	assert_msg(&msg, 3, 0x1, 0);
}

static void size_over_max_refused_before_payload(void **state)
{
	size_t used;

	(void)state;
	encode(wire, 5, 0x1, 0);
	((struct vu_hdr *)(void *)wire)->size = VU_MAX_PAYLOAD + 1;
	memset(wire + VU_HDR_SIZE, 0xab, 64);
	assert_int_equal(vu_stream_rx_feed(&rx, wire, VU_HDR_SIZE + 64, &used, &msg), -EMSGSIZE);
	assert_int_equal(used, VU_HDR_SIZE); /* not a byte of the payload */
	/* Refused until reset, whatever comes next. */
	encode(wire, 1, 0x1, 0);
	assert_int_equal(vu_stream_rx_feed(&rx, wire, VU_HDR_SIZE, &used, &msg), -EMSGSIZE);
	assert_int_equal(used, 0);
	assert_int_equal(vu_stream_rx_want(&rx, NULL), -EMSGSIZE);
	assert_int_equal(vu_stream_rx_commit(&rx, 1), -EMSGSIZE);
	assert_int_equal(vu_stream_rx_take(&rx, &msg), -EMSGSIZE);
	vu_stream_rx_reset(&rx);
	assert_int_equal(vu_stream_rx_feed(&rx, wire, VU_HDR_SIZE, &used, &msg), 0);
	assert_msg(&msg, 1, 0x1, 0);
}

static void size_all_ones_refused_split(void **state)
{
	struct vu_hdr h = {1, 0x1, UINT32_MAX};
	size_t used;

	(void)state;
	memcpy(wire, &h, VU_HDR_SIZE);
	/* The header itself arrives in pieces; refusal comes with its last byte. */
	assert_int_equal(vu_stream_rx_feed(&rx, wire, 11, &used, &msg), -EAGAIN);
	assert_int_equal(vu_stream_rx_feed(&rx, wire + 11, 1, &used, &msg), -EMSGSIZE);
	assert_int_equal(used, 1);
}

static void want_commit_never_reads_past_a_message(void **state)
{
	size_t total = encode(wire, 7, 0x1, 10);
	size_t off = 0;
	uint8_t *dst;
	int want;

	(void)state;
	total += encode(wire + total, 8, 0x1, 3);
	/* A socket that would give everything it has: the caller asks only for
	 * `want`, so the second message stays in the socket. */
	while ((want = vu_stream_rx_want(&rx, &dst)) > 0) {
		memcpy(dst, wire + off, (size_t)want);
		assert_int_equal(vu_stream_rx_commit(&rx, (size_t)want), 0);
		off += (size_t)want;
	}
	assert_int_equal(want, 0);
	assert_int_equal(off, VU_HDR_SIZE + 10);
	assert_int_equal(vu_stream_rx_take(&rx, &msg), 0);
	assert_msg(&msg, 7, 0x1, 10);
}

static void commit_more_than_wanted_refused(void **state)
{
	uint8_t *dst;

	(void)state;
	assert_int_equal(vu_stream_rx_want(&rx, &dst), (int)VU_HDR_SIZE);
	assert_ptr_equal(dst, rxbuf);
	assert_int_equal(vu_stream_rx_commit(&rx, VU_HDR_SIZE + 1), -EINVAL);
	assert_int_equal(vu_stream_rx_want(&rx, NULL), (int)VU_HDR_SIZE);
	assert_int_equal(vu_stream_rx_take(&rx, &msg), -EAGAIN);
}

static void tx_full_is_eagain_with_nothing_queued(void **state)
{
	const uint8_t *src;
	uint8_t before[sizeof(txbuf)];
	uint32_t pending;

	(void)state;
	memset(&msg, 0, sizeof(msg));
	msg.hdr = (struct vu_hdr){1, VU_REPLY_FLAGS, VU_MAX_PAYLOAD};
	assert_int_equal(vu_stream_tx_put(&tx, &msg), 0);
	msg.hdr.size = VU_MAX_PAYLOAD - 13;
	assert_int_equal(vu_stream_tx_put(&tx, &msg), 0);
	assert_int_equal(vu_stream_tx_room(&tx), 13);
	pending = vu_stream_tx_peek(&tx, &src);
	assert_int_equal(pending, sizeof(txbuf) - 13);
	memcpy(before, txbuf, sizeof(txbuf));
	msg.hdr.size = 2; /* 14 bytes, 13 free: all or nothing */
	assert_int_equal(vu_stream_tx_put(&tx, &msg), -EAGAIN);
	assert_int_equal(vu_stream_tx_peek(&tx, &src), pending);
	assert_ptr_equal(src, txbuf);
	assert_memory_equal(before, txbuf, sizeof(txbuf));
	assert_int_equal(vu_stream_tx_room(&tx), 13);
	msg.hdr.size = 1; /* exactly fits */
	assert_int_equal(vu_stream_tx_put(&tx, &msg), 0);
	assert_int_equal(vu_stream_tx_room(&tx), 0);
	msg.hdr.size = 0;
	assert_int_equal(vu_stream_tx_put(&tx, &msg), -EAGAIN);
	assert_int_equal(vu_stream_tx_peek(&tx, NULL), sizeof(txbuf));
}

static void tx_size_over_max_refused(void **state)
{
	(void)state;
	msg.hdr = (struct vu_hdr){1, VU_REPLY_FLAGS, VU_MAX_PAYLOAD + 1};
	assert_int_equal(vu_stream_tx_put(&tx, &msg), -EINVAL);
	assert_int_equal(vu_stream_tx_peek(&tx, NULL), 0);
	assert_int_equal(vu_stream_tx_room(&tx), sizeof(txbuf));
}

static void tx_consume_more_than_pending_refused(void **state)
{
	(void)state;
	msg.hdr = (struct vu_hdr){1, VU_REPLY_FLAGS, 4};
	assert_int_equal(vu_stream_tx_put(&tx, &msg), 0);
	assert_int_equal(vu_stream_tx_consume(&tx, VU_HDR_SIZE + 5), -EINVAL);
	assert_int_equal(vu_stream_tx_peek(&tx, NULL), VU_HDR_SIZE + 4);
	assert_int_equal(vu_stream_tx_consume(&tx, VU_HDR_SIZE + 4), 0);
	assert_int_equal(vu_stream_tx_room(&tx), sizeof(txbuf));
	vu_stream_tx_reset(&tx);
	assert_int_equal(vu_stream_tx_peek(&tx, NULL), 0);
}

/* Set msg to what encode(request, flags, size) puts on the wire. */
static void make_msg(uint32_t request, uint32_t size)
{
	memset(&msg, 0, sizeof(msg));
	encode(wire, request, VU_REPLY_FLAGS, size);
	memcpy(&msg.hdr, wire, VU_HDR_SIZE);
	memcpy(msg.p.raw, wire + VU_HDR_SIZE, size);
}

/* A writer that takes odd amounts, messages queued as room appears (which
 * moves pending bytes to the front): the bytes come out in order, and an
 * assembler reading them gets the same messages back. */
static void tx_partial_consume_keeps_order(void **state)
{
	static const uint32_t sizes[] = {VU_MAX_PAYLOAD, 100, VU_MAX_PAYLOAD, 0, 3000, 7};
	static uint8_t out[sizeof(wire) * 2];
	size_t got = 0, off = 0, used;
	unsigned queued = 0, step = 0;

	(void)state;
	while (queued < 6 || vu_stream_tx_peek(&tx, NULL) > 0) {
		const uint8_t *src;
		uint32_t pending, n;

		while (queued < 6) {
			make_msg(40 + queued, sizes[queued]);
			if (vu_stream_tx_put(&tx, &msg) == -EAGAIN)
				break;
			queued++;
		}
		pending = vu_stream_tx_peek(&tx, &src);
		n = (uint32_t)(1 + (step++ * 997) % 1500);
		n = n < pending ? n : pending;
		memcpy(out + got, src, n);
		got += n;
		assert_int_equal(vu_stream_tx_consume(&tx, n), 0);
	}
	for (unsigned i = 0; i < 6; i++) {
		assert_int_equal(vu_stream_rx_feed(&rx, out + off, got - off, &used, &msg), 0);
		off += used;
		assert_int_equal(msg.hdr.request, 40 + i);
		assert_int_equal(msg.hdr.flags, VU_REPLY_FLAGS);
		assert_int_equal(msg.hdr.size, sizes[i]);
		for (uint32_t k = 0; k < sizes[i]; k++)
			assert_int_equal(msg.p.raw[k], (uint8_t)((40 + i) * 7 + k));
	}
	assert_int_equal(off, got);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup(init_refuses_small_buffers, setup),
		cmocka_unit_test_setup(every_split_of_a_message, setup),
		cmocka_unit_test_setup(one_byte_at_a_time, setup),
		cmocka_unit_test_setup(back_to_back_messages_in_one_chunk, setup),
		cmocka_unit_test_setup(max_size_payload, setup),
		cmocka_unit_test_setup(zero_size_payload, setup),
		cmocka_unit_test_setup(size_over_max_refused_before_payload, setup),
		cmocka_unit_test_setup(size_all_ones_refused_split, setup),
		cmocka_unit_test_setup(want_commit_never_reads_past_a_message, setup),
		cmocka_unit_test_setup(commit_more_than_wanted_refused, setup),
		cmocka_unit_test_setup(tx_full_is_eagain_with_nothing_queued, setup),
		cmocka_unit_test_setup(tx_size_over_max_refused, setup),
		cmocka_unit_test_setup(tx_consume_more_than_pending_refused, setup),
		cmocka_unit_test_setup(tx_partial_consume_keeps_order, setup),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
