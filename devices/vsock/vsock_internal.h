/* vsock_internal.h - what the vsock device's files share (not public).
 *
 * vsock.c owns the device ops, the connection table and logging; vsock_tx.c
 * parses what the guest sends; vsock_rx.c owns the guest's held buffers and
 * everything we send to the guest; vsock_unix.c owns every Unix socket.
 */
#ifndef DEV_VSOCK_INTERNAL_H
#define DEV_VSOCK_INTERNAL_H

#include "dev/vsock.h"
#include "vu/vq.h"

#define VS_HDR sizeof(struct virtio_vsock_hdr)
/* Largest payload in one packet to the guest (Linux's own limit). */
#define VS_MAX_PKT (64u * 1024u)
/* Packets sent to the guest per pump, and per connection per pump. */
#define VS_PUMP_BUDGET 128
#define VS_CONN_BUDGET 16
/* Unix clients accepted per turn. */
#define VS_ACCEPT_BUDGET 8

struct vu_backend;

/* vsock.c */
void vs_logf(struct dev_vsock *v, bool verbose_only, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
struct dev_vsock_conn *vs_conn_find(struct dev_vsock *v, uint32_t host_port, uint32_t guest_port);
struct dev_vsock_conn *vs_conn_alloc(struct dev_vsock *v);
/* Close the Unix side and free the slot; with rst, owe the guest a RST. */
void vs_conn_close(struct dev_vsock *v, struct dev_vsock_conn *c, bool rst, const char *why);
/* Drop every connection (device reset, front-end gone, rings stopped). */
void vs_reset_all(struct dev_vsock *v, const char *why);
uint32_t vs_credit(const struct dev_vsock_conn *c);
uint64_t vs_now(const struct dev_vsock *v);

/* vsock_tx.c: a tx chain, always VU_DONE. */
int vs_tx_chain(struct dev_vsock *v, struct vu_req *req);

/* vsock_rx.c: hold an rx or event buffer (VU_PENDING), or give an unusable
 * one straight back (VU_DONE, 0 bytes). */
int vs_rx_hold(struct dev_vsock *v, struct vu_req *req);
int vs_ev_hold(struct dev_vsock *v, struct vu_req *req);
void vs_rst_queue(struct dev_vsock *v, uint32_t host_port, uint32_t guest_port);
void vs_rx_forget(struct dev_vsock *v);
int vs_rx_pump(struct dev_vsock *v);
int vs_rings_check(struct dev_vsock *v);

/* vsock_unix.c */
int vs_unix_listen(struct dev_vsock *v);
int vs_unix_accept(struct dev_vsock *v);
/* A guest REQUEST to host port hdr->dst_port: connect PATH_<port>. */
void vs_unix_guest_connect(struct dev_vsock *v, const struct virtio_vsock_hdr *h);
int vs_unix_handshake(struct dev_vsock *v, struct dev_vsock_conn *c);
int vs_unix_flush(struct dev_vsock *v, struct dev_vsock_conn *c);
/* After the guest shut down or a flush: shut our write side, or finish. */
void vs_conn_settle(struct dev_vsock *v, struct dev_vsock_conn *c);

#endif
