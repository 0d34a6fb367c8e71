/* The vsock core's lifecycle: init, time (connect and close timeouts) and
 * the device's TRANSPORT_RESET. */
#include <errno.h>
#include <string.h>

#include "vsock_int.h"

int k_vsock_set_mem(struct k_vsock_core *c, const struct k_vsock_mem *m)
{
	if (!m->conns || m->conns > K_VSOCK_MAX_CONNS || !m->rx || !m->tx ||
	    m->rx_size < K_VSOCK_BUF_MIN || m->tx_size < K_VSOCK_BUF_MIN ||
	    (m->rx_size & (m->rx_size - 1)) || (m->tx_size & (m->tx_size - 1)))
		return -EINVAL;
	c->mem = *m;
	return 0;
}

uint64_t k_vsock_mem_bytes(unsigned conns, uint32_t rx_size, uint32_t tx_size)
{
	return (uint64_t)conns * ((uint64_t)rx_size + tx_size);
}

void k_vsock_init(struct k_vsock_core *c, uint64_t cid)
{
	/* Everything but the pool; the buffers are only read where counters
	 * say data was written, and clearing them per init would dominate
	 * fuzzing. */
	struct k_vsock_mem m = c->mem;

	memset(c, 0, sizeof(*c));
	c->mem = m;
	c->cid = cid;
	c->buf_alloc = m.rx_size;
	c->next_port = K_VSOCK_EPHEMERAL_FIRST;
	c->stats.conns_max = m.conns;
	c->stats.listeners_max = K_VSOCK_MAX_LISTENERS;
	for (unsigned i = 0; i < c->mem.conns; i++)
		c->conns[i].parent = -1;
}

int k_vsock_set_buf_alloc(struct k_vsock_core *c, uint32_t bytes)
{
	if (bytes == 0 || bytes > c->mem.rx_size)
		return -EINVAL;
	c->buf_alloc = bytes;
	return 0;
}

void k_vsock_clock(struct k_vsock_core *c, uint64_t now_ns)
{
	c->now_ns = now_ns;
}

int k_vsock_tick(struct k_vsock_core *c, uint64_t now_ns)
{
	int work = 0;
	c->now_ns = now_ns;
	for (unsigned i = 0; i < c->mem.conns; i++) {
		struct k_vsock_conn *k = &c->conns[i];
		if (!k->deadline_ns || now_ns < k->deadline_ns)
			continue;
		if (k->state == K_VS_CONNECTING) {
			c->stats.connect_timeouts++;
			k_vsock_conn_close(c, k, ETIMEDOUT, true);
			work++;
		} else if (k->state == K_VS_CLOSING) {
			c->stats.close_timeouts++;
			k_vsock_conn_close(c, k, ETIMEDOUT, true);
			work++;
		}
	}
	return work;
}

void k_vsock_transport_reset(struct k_vsock_core *c, uint64_t cid)
{
	c->cid = cid;
	c->rstq_len = 0;
	c->rstq_head = 0;
	c->stats.transport_resets++;
	for (unsigned i = 0; i < c->mem.conns; i++) {
		struct k_vsock_conn *k = &c->conns[i];
		if (k->state == K_VS_FREE)
			continue;
		/* The peer forgot the connection: owe it nothing. */
		k_vsock_conn_close(c, k, ECONNRESET, false);
		k->pending = 0;
		k_vsock_conn_maybe_free(c, k);
	}
}
