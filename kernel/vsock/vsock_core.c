/* The vsock core's lifecycle: init, time (connect and close timeouts) and
 * the device's TRANSPORT_RESET. */
#include <errno.h>
#include <string.h>

#include "vsock_int.h"

void k_vsock_init(struct k_vsock_core *c, uint64_t cid)
{
	/* Everything up to the buffers; they are only read where counters say
	 * data was written, and clearing 8 MiB per init would dominate fuzzing. */
	memset(c, 0, offsetof(struct k_vsock_core, rxbuf));
	c->cid = cid;
	c->buf_alloc = K_VSOCK_BUF_ALLOC;
	c->next_port = K_VSOCK_EPHEMERAL_FIRST;
	c->stats.conns_max = K_VSOCK_MAX_CONNS;
	c->stats.listeners_max = K_VSOCK_MAX_LISTENERS;
	for (unsigned i = 0; i < K_VSOCK_MAX_CONNS; i++)
		c->conns[i].parent = -1;
}

int k_vsock_set_buf_alloc(struct k_vsock_core *c, uint32_t bytes)
{
	if (bytes == 0 || bytes > K_VSOCK_BUF_ALLOC)
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
	for (unsigned i = 0; i < K_VSOCK_MAX_CONNS; i++) {
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
	for (unsigned i = 0; i < K_VSOCK_MAX_CONNS; i++) {
		struct k_vsock_conn *k = &c->conns[i];
		if (k->state == K_VS_FREE)
			continue;
		/* The peer forgot the connection: owe it nothing. */
		k_vsock_conn_close(c, k, ECONNRESET, false);
		k->pending = 0;
		k_vsock_conn_maybe_free(c, k);
	}
}
