/* vu/stream.h - vhost-user message framing over a byte stream.
 *
 * Owns: turning a byte stream (a vsock or any SOCK_STREAM without fds) into
 * whole struct vu_msg and back: an assembler that takes bytes split anywhere
 * and yields one message at a time, and a bounded transmit queue that takes
 * whole messages and hands out bytes for the caller to write.
 * Never: calls the OS, allocates, blocks or drops a byte. The caller owns
 * both buffers (static in the service VM) and moves the bytes itself. A
 * header announcing more than VU_MAX_PAYLOAD is hostile: the assembler says
 * -EMSGSIZE before a byte of that payload is accepted, and keeps saying it
 * until vu_stream_rx_reset(). A message that does not fit the transmit
 * queue is refused with -EAGAIN with nothing queued.
 * Used by: the service VM's platform (apps/uvhost-vm/vm_platform.c), the
 * host-side front-end over hybrid vsock, unit tests and fuzz_stream.
 */
#ifndef VU_STREAM_H
#define VU_STREAM_H

#include <stddef.h>
#include <stdint.h>

#include "vu/wire.h"

/* The largest framed message: what one receive buffer must hold, and what a
 * transmit buffer must hold at least. */
#define VU_STREAM_MSG_MAX (VU_HDR_SIZE + VU_MAX_PAYLOAD)

/* Assembler state. Everything it knows is the bytes held in buf, so a
 * hostile header stays refused for as long as it is held. */
struct vu_stream_rx {
	uint8_t *buf; /* VU_STREAM_MSG_MAX bytes, the caller's */
	uint32_t len; /* bytes of the current message held */
};

/* Transmit queue: pending bytes are buf[start, end), always contiguous. */
struct vu_stream_tx {
	uint8_t *buf; /* cap bytes, the caller's */
	uint32_t cap;
	uint32_t start, end;
};

/* Empty assembler over `buf` of `cap` bytes. -EINVAL if cap is smaller than
 * VU_STREAM_MSG_MAX (a valid message could never complete). */
int vu_stream_rx_init(struct vu_stream_rx *rx, uint8_t *buf, size_t cap);
/* Forget everything held, including a refused header. */
void vu_stream_rx_reset(struct vu_stream_rx *rx);

/* How many bytes the current message still needs, and where they go
 * (*dst, may be NULL): > 0 bytes wanted, 0 a whole message is held (take
 * it), -EMSGSIZE the held header is hostile. Reading exactly that many
 * bytes never takes a byte of the next message off the stream. */
int vu_stream_rx_want(const struct vu_stream_rx *rx, uint8_t **dst);
/* Account for n bytes the caller wrote at the vu_stream_rx_want() pointer.
 * -EINVAL if n is more than was wanted (nothing changes). */
int vu_stream_rx_commit(struct vu_stream_rx *rx, size_t n);
/* Hand out the held message: 0 with *msg filled (nfds 0, fds -1) and the
 * assembler empty, -EAGAIN incomplete, -EMSGSIZE hostile header. */
int vu_stream_rx_take(struct vu_stream_rx *rx, struct vu_msg *msg);

/* Copy bytes from `data` until one message completes: 0 with *msg filled,
 * -EAGAIN when all `len` bytes were taken without completing one,
 * -EMSGSIZE when a hostile header is held. *used says how many bytes were
 * taken in every case; call again with the rest. */
int vu_stream_rx_feed(struct vu_stream_rx *rx, const uint8_t *data, size_t len, size_t *used,
		      struct vu_msg *msg);

/* Empty queue over `buf` of `cap` bytes. -EINVAL if cap is smaller than
 * VU_STREAM_MSG_MAX or does not fit in 32 bits. */
int vu_stream_tx_init(struct vu_stream_tx *tx, uint8_t *buf, size_t cap);
/* Drop every pending byte (the stream is gone). */
void vu_stream_tx_reset(struct vu_stream_tx *tx);
/* Queue the header and hdr.size payload bytes of `msg`, all or nothing:
 * 0, -EINVAL (size over VU_MAX_PAYLOAD), -EAGAIN (no room: nothing queued). */
int vu_stream_tx_put(struct vu_stream_tx *tx, const struct vu_msg *msg);
/* Pending bytes, with *src (may be NULL) pointing at the first of them. */
uint32_t vu_stream_tx_peek(const struct vu_stream_tx *tx, const uint8_t **src);
/* Drop the first n pending bytes, written by the caller. -EINVAL if n is
 * more than is pending (nothing changes). */
int vu_stream_tx_consume(struct vu_stream_tx *tx, size_t n);
/* Bytes a vu_stream_tx_put() could queue now. */
uint32_t vu_stream_tx_room(const struct vu_stream_tx *tx);

#endif
