/* vsock_int.h - helpers shared by the files of the vsock core and shim.
 *
 * Owns: connection-table bookkeeping (alloc, lookup, close, free), the ring
 * arithmetic of the receive and transmit buffers, and credit math.
 * Never: seen outside kernel/vsock. Every counter is a free-running u32, as
 * on the wire, so buffer occupancy is always a wrapping difference.
 */
#ifndef KERN_VSOCK_INT_H
#define KERN_VSOCK_INT_H

#include "kern/vsock.h"

/* A free slot, zeroed (generation kept) and counted; index or -1. */
int k_vsock_conn_alloc(struct k_vsock_core *c);

/* The live (not FREE, not CLOSED) connection for a packet's 4-tuple. */
struct k_vsock_conn *k_vsock_conn_find(struct k_vsock_core *c, uint64_t peer_cid,
				       uint32_t peer_port, uint32_t local_port);

/* Close a connection: CLOSED with `err` (positive errno), an RST owed to the
 * peer if `rst`, off its listener's accept queue; freed at once when nobody
 * holds it and no RST is owed. */
void k_vsock_conn_close(struct k_vsock_core *c, struct k_vsock_conn *k, int err, bool rst);

/* Free a CLOSED connection nobody holds and nothing is owed for. */
void k_vsock_conn_maybe_free(struct k_vsock_core *c, struct k_vsock_conn *k);

/* Queue an RST reply for a packet that matches no connection. */
void k_vsock_rstq_push(struct k_vsock_core *c, uint64_t peer_cid, uint32_t peer_port,
		       uint32_t local_port);

/* After the app consumed data: owe a CREDIT_UPDATE when the peer may be (or
 * soon be) blocked on us. */
void k_vsock_credit_check(const struct k_vsock_core *c, struct k_vsock_conn *k);

static inline unsigned k_vsock_conn_index(const struct k_vsock_core *c,
					  const struct k_vsock_conn *k)
{
	return (unsigned)(k - c->conns);
}

/* A connection's slices of the pool (kern/vsock.h, struct k_vsock_mem). */
static inline uint8_t *k_vsock_rxbuf(const struct k_vsock_core *c, const struct k_vsock_conn *k)
{
	return c->mem.rx + (size_t)k_vsock_conn_index(c, k) * c->mem.rx_size;
}

static inline uint8_t *k_vsock_txbuf(const struct k_vsock_core *c, const struct k_vsock_conn *k)
{
	return c->mem.tx + (size_t)k_vsock_conn_index(c, k) * c->mem.tx_size;
}

static inline uint32_t k_vsock_rx_used(const struct k_vsock_conn *k)
{
	return k->rx_cnt - k->fwd_cnt;
}

static inline uint32_t k_vsock_tx_queued(const struct k_vsock_conn *k)
{
	return k->tx_app - k->tx_cnt;
}

/* Bytes the peer lets us send now; 0 if it shrank below what is in flight. */
static inline uint32_t k_vsock_peer_credit(const struct k_vsock_conn *k)
{
	uint32_t in_flight = k->tx_cnt - k->peer_fwd_cnt;
	return in_flight >= k->peer_buf_alloc ? 0 : k->peer_buf_alloc - in_flight;
}

/* Copy between a linear buffer and a ring of `size` (power of two) bytes at
 * free-running position `pos`, wrapping once if needed. */
void k_vsock_ring_put(uint8_t *ring, uint32_t size, uint32_t pos, const void *src, uint32_t n);
void k_vsock_ring_get(const uint8_t *ring, uint32_t size, uint32_t pos, void *dst, uint32_t n);

#endif
