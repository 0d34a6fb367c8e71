/* vhost-user framing over a byte stream: assembler and transmit queue. */
#include "vu/stream.h"

#include <errno.h>
#include <string.h>

int vu_stream_rx_init(struct vu_stream_rx *rx, uint8_t *buf, size_t cap)
{
	if (!buf || cap < VU_STREAM_MSG_MAX)
		return -EINVAL;
	rx->buf = buf;
	rx->len = 0;
	return 0;
}

void vu_stream_rx_reset(struct vu_stream_rx *rx)
{
	rx->len = 0;
}

/* Total bytes of the current message: the header alone until it is held. */
static int rx_need(const struct vu_stream_rx *rx, uint32_t *need)
{
	struct vu_hdr h;

	if (rx->len < VU_HDR_SIZE) {
		*need = VU_HDR_SIZE;
		return 0;
	}
	memcpy(&h, rx->buf, VU_HDR_SIZE);
	/* Judged before a byte of payload is accepted: a size the buffer
	 * cannot hold never makes anyone wait for it. */
	if (h.size > VU_MAX_PAYLOAD)
		return -EMSGSIZE;
	*need = VU_HDR_SIZE + h.size;
	return 0;
}

int vu_stream_rx_want(const struct vu_stream_rx *rx, uint8_t **dst)
{
	uint32_t need;
	int r = rx_need(rx, &need);

	if (r < 0)
		return r;
	if (dst)
		*dst = rx->buf + rx->len;
	return (int)(need - rx->len);
}

int vu_stream_rx_commit(struct vu_stream_rx *rx, size_t n)
{
	int want = vu_stream_rx_want(rx, NULL);

	if (want < 0)
		return want;
	if (n > (size_t)want)
		return -EINVAL;
	rx->len += (uint32_t)n;
	return 0;
}

int vu_stream_rx_take(struct vu_stream_rx *rx, struct vu_msg *msg)
{
	uint32_t need;
	int r = rx_need(rx, &need);

	if (r < 0)
		return r;
	if (rx->len < need)
		return -EAGAIN;
	memset(msg, 0, offsetof(struct vu_msg, fds));
	memcpy(&msg->hdr, rx->buf, VU_HDR_SIZE);
	memcpy(msg->p.raw, rx->buf + VU_HDR_SIZE, msg->hdr.size);
	for (unsigned i = 0; i < VU_MAX_FDS; i++)
		msg->fds[i] = -1;
	msg->nfds = 0;
	rx->len = 0;
	return 0;
}

int vu_stream_rx_feed(struct vu_stream_rx *rx, const uint8_t *data, size_t len, size_t *used,
		      struct vu_msg *msg)
{
	*used = 0;
	for (;;) {
		uint8_t *dst;
		int want = vu_stream_rx_want(rx, &dst);
		size_t n;

		if (want < 0)
			return want;
		if (want == 0)
			return vu_stream_rx_take(rx, msg);
		if (*used == len)
			return -EAGAIN;
		n = len - *used < (size_t)want ? len - *used : (size_t)want;
		memcpy(dst, data + *used, n);
		rx->len += (uint32_t)n;
		*used += n;
	}
}

int vu_stream_tx_init(struct vu_stream_tx *tx, uint8_t *buf, size_t cap)
{
	if (!buf || cap < VU_STREAM_MSG_MAX || cap > UINT32_MAX)
		return -EINVAL;
	tx->buf = buf;
	tx->cap = (uint32_t)cap;
	tx->start = tx->end = 0;
	return 0;
}

void vu_stream_tx_reset(struct vu_stream_tx *tx)
{
	tx->start = tx->end = 0;
}

uint32_t vu_stream_tx_room(const struct vu_stream_tx *tx)
{
	return tx->cap - (tx->end - tx->start);
}

int vu_stream_tx_put(struct vu_stream_tx *tx, const struct vu_msg *msg)
{
	uint32_t total;

	if (msg->hdr.size > VU_MAX_PAYLOAD)
		return -EINVAL;
	total = VU_HDR_SIZE + msg->hdr.size;
	if (vu_stream_tx_room(tx) < total)
		return -EAGAIN;
	/* Keep pending bytes contiguous so one write can take them all. */
	if (tx->cap - tx->end < total) {
		memmove(tx->buf, tx->buf + tx->start, tx->end - tx->start);
		tx->end -= tx->start;
		tx->start = 0;
	}
	memcpy(tx->buf + tx->end, &msg->hdr, VU_HDR_SIZE);
	memcpy(tx->buf + tx->end + VU_HDR_SIZE, msg->p.raw, msg->hdr.size);
	tx->end += total;
	return 0;
}

uint32_t vu_stream_tx_peek(const struct vu_stream_tx *tx, const uint8_t **src)
{
	if (src)
		*src = tx->buf + tx->start;
	return tx->end - tx->start;
}

int vu_stream_tx_consume(struct vu_stream_tx *tx, size_t n)
{
	if (n > tx->end - tx->start)
		return -EINVAL;
	tx->start += (uint32_t)n;
	if (tx->start == tx->end)
		tx->start = tx->end = 0;
	return 0;
}
