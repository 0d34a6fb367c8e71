/* virtio-vsock device: ops, config space, connection table, counters. */
#define _GNU_SOURCE
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "vsock_internal.h"
#include "vu/backend.h"

/* Wire fields are little endian and read in place. */
_Static_assert(__BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__, "vsock device assumes a LE host");

#define VIRTIO_ID_VSOCK 19

void vs_logf(struct dev_vsock *v, bool verbose_only, const char *fmt, ...)
{
	char line[256];
	va_list ap;

	if (!v->cfg.log || (verbose_only && !v->cfg.verbose))
		return;
	va_start(ap, fmt);
	vsnprintf(line, sizeof(line), fmt, ap);
	va_end(ap);
	v->cfg.log(v->cfg.log_ctx, line);
}

uint64_t vs_now(const struct dev_vsock *v)
{
	return v->cfg.now_ns ? v->cfg.now_ns() : 0;
}

struct dev_vsock_conn *vs_conn_find(struct dev_vsock *v, uint32_t host_port, uint32_t guest_port)
{
	for (uint32_t i = 0; i < DEV_VSOCK_MAX_CONNS; i++) {
		struct dev_vsock_conn *c = &v->conns[i];
		if (c->state >= DEV_VSOCK_CONNECTING && c->host_port == host_port &&
		    c->guest_port == guest_port)
			return c;
	}
	return NULL;
}

static void conn_clear(struct dev_vsock_conn *c)
{
	uint8_t *buf = c->buf;

	memset(c, 0, sizeof(*c));
	c->buf = buf;
	c->fd = -1;
}

struct dev_vsock_conn *vs_conn_alloc(struct dev_vsock *v)
{
	for (uint32_t i = 0; i < DEV_VSOCK_MAX_CONNS; i++) {
		struct dev_vsock_conn *c = &v->conns[i];
		if (c->state == DEV_VSOCK_FREE) {
			conn_clear(c);
			v->had_conns = true;
			return c;
		}
	}
	return NULL;
}

void vs_conn_close(struct dev_vsock *v, struct dev_vsock_conn *c, bool rst, const char *why)
{
	if (c->state == DEV_VSOCK_FREE)
		return;
	if (c->state >= DEV_VSOCK_CONNECTING)
		vs_logf(v, true,
			"vsock: close host port %u <-> guest port %u (%s): %llu bytes to the "
			"guest, "
			"%llu from it%s",
			c->host_port, c->guest_port, why, (unsigned long long)c->bytes_to_guest,
			(unsigned long long)c->bytes_from_guest,
			c->buf_used ? ", unwritten data dropped" : "");
	if (rst && c->state >= DEV_VSOCK_CONNECTING && !(c->owed & DEV_VSOCK_OWE_REQUEST))
		vs_rst_queue(v, c->host_port, c->guest_port);
	if (c->fd >= 0)
		close(c->fd);
	conn_clear(c);
}

uint32_t dev_vsock_active(const struct dev_vsock *v)
{
	uint32_t n = 0;

	for (uint32_t i = 0; i < DEV_VSOCK_MAX_CONNS; i++)
		n += v->conns[i].state != DEV_VSOCK_FREE;
	return n;
}

void vs_reset_all(struct dev_vsock *v, const char *why)
{
	uint32_t n = dev_vsock_active(v);

	for (uint32_t i = 0; i < DEV_VSOCK_MAX_CONNS; i++)
		vs_conn_close(v, &v->conns[i], false, why);
	vs_rx_forget(v);
	v->rst_first = v->rst_count = 0;
	/* The guest may still think those connections exist. */
	if (v->had_conns)
		v->want_transport_reset = true;
	v->had_conns = false;
	if (n)
		vs_logf(v, false, "vsock: %s: closed %u connection(s)", why, n);
}

uint32_t vs_credit(const struct dev_vsock_conn *c)
{
	uint32_t in_flight = c->tx_cnt - c->peer_fwd_cnt;

	return in_flight > c->peer_buf_alloc ? 0 : c->peer_buf_alloc - in_flight;
}

void dev_vsock_stats_line(const struct dev_vsock *v, char *buf, size_t len)
{
	const struct dev_vsock_stats *s = &v->st;

	snprintf(buf, len,
		 "vsock: connections host=%llu guest=%llu refused=%llu active=%u; bytes to guest "
		 "%llu, from guest %llu; RST sent %llu received %llu dropped %llu; stalls %llu; "
		 "rx starved %llu; violations %llu; events %llu",
		 (unsigned long long)s->conns_host, (unsigned long long)s->conns_guest,
		 (unsigned long long)s->conns_refused, dev_vsock_active(v),
		 (unsigned long long)s->bytes_to_guest, (unsigned long long)s->bytes_from_guest,
		 (unsigned long long)s->rst_sent, (unsigned long long)s->rst_received,
		 (unsigned long long)s->rst_dropped, (unsigned long long)s->stalls,
		 (unsigned long long)s->rx_starved, (unsigned long long)s->violations,
		 (unsigned long long)s->events_sent);
}

static int vsock_get_config(void *dev, uint8_t *buf, uint32_t offset, uint32_t len)
{
	struct dev_vsock *v = dev;
	uint8_t space[VU_CONFIG_MAX];

	memset(space, 0, sizeof(space));
	memcpy(space, &v->cfg.guest_cid, sizeof(v->cfg.guest_cid));
	if (offset > sizeof(space) || len > sizeof(space) - offset)
		return -EINVAL;
	memcpy(buf, space + offset, len);
	return 0;
}

static int vsock_serve(void *dev, struct vu_backend *b, struct vu_req *req)
{
	struct dev_vsock *v = dev;

	v->b = b;
	switch (req->ring) {
	case DEV_VSOCK_RXQ: return vs_rx_hold(v, req);
	case DEV_VSOCK_TXQ: return vs_tx_chain(v, req);
	default: return vs_ev_hold(v, req);
	}
}

static void vsock_reset(void *dev)
{
	struct dev_vsock *v = dev;
	char line[400];

	vs_reset_all(v, "device reset");
	v->rings_live = false;
	dev_vsock_stats_line(v, line, sizeof(line));
	vs_logf(v, false, "%s", line);
}

static const struct vu_device_ops vsock_ops = {
	.get_config = vsock_get_config,
	.serve = vsock_serve,
	.reset = vsock_reset,
};

void dev_vsock_attach(struct dev_vsock *v, struct vu_backend *b)
{
	v->b = b;
}

int dev_vsock_init(struct dev_vsock *v, const struct dev_vsock_config *cfg)
{
	int rc;

	if (cfg->guest_cid < 3 || cfg->guest_cid > 0xfffffffeull)
		return -EINVAL;
	if (cfg->uds_path && strlen(cfg->uds_path) + 12 > sizeof(v->uds_path))
		return -ENAMETOOLONG;
	memset(v, 0, sizeof(*v));
	v->cfg = *cfg;
	v->listen_fd = -1;
	v->next_port = DEV_VSOCK_EPHEMERAL_BASE;
	v->bufs = calloc(DEV_VSOCK_MAX_CONNS, DEV_VSOCK_BUF_ALLOC);
	if (!v->bufs)
		return -ENOMEM;
	for (uint32_t i = 0; i < DEV_VSOCK_MAX_CONNS; i++) {
		v->conns[i].buf = v->bufs + (size_t)i * DEV_VSOCK_BUF_ALLOC;
		conn_clear(&v->conns[i]);
	}
	v->dev.ops = &vsock_ops;
	v->dev.name = "vsock";
	v->dev.virtio_id = VIRTIO_ID_VSOCK;
	v->dev.num_queues = 3; /* QEMU keeps the event queue; others may not */
	v->dev.max_queue_size = DEV_VSOCK_MAX_QUEUE;
	v->dev.has_config = true;
	if (cfg->uds_path) {
		strcpy(v->uds_path, cfg->uds_path);
		v->cfg.uds_path = v->uds_path;
		rc = vs_unix_listen(v);
		if (rc < 0) {
			free(v->bufs);
			v->bufs = NULL;
			return rc;
		}
	}
	return 0;
}

void dev_vsock_fini(struct dev_vsock *v)
{
	for (uint32_t i = 0; i < DEV_VSOCK_MAX_CONNS; i++)
		vs_conn_close(v, &v->conns[i], false, "shutdown");
	if (v->listen_fd >= 0) {
		close(v->listen_fd);
		unlink(v->uds_path);
		v->listen_fd = -1;
	}
	free(v->bufs);
	v->bufs = NULL;
}
