/* dev/vsock.h - virtio-vsock served through vhost/, bridged to Unix sockets.
 *
 * Owns: the device side of virtio-vsock (virtio 1.2, 5.10) for stream
 * sockets: the connection table, credit accounting in both directions, the
 * guest's receive buffers while they wait for data, and the "hybrid vsock"
 * convention of Firecracker and cloud-hypervisor on the host side:
 *   - a host program connects to the Unix socket PATH, writes
 *     "CONNECT <port>\n", and once the guest accepts reads "OK <host_port>\n";
 *   - a guest connection to host port P becomes a connection to PATH_P.
 * Never: drops data. It reads from a Unix socket only what the guest's
 * credit and posted buffers can take, accepts from the guest only what it
 * advertised, and keeps it until the Unix socket takes it. It never blocks
 * (non-blocking sockets, poll readiness through the host loop), never
 * allocates after dev_vsock_init(), and treats every packet as hostile: a
 * bad packet is dropped and counted, never a reason to stop the ring.
 * Used by: uvhostd (--device vsock). Hosted only: it makes Linux socket calls.
 */
#ifndef DEV_VSOCK_H
#define DEV_VSOCK_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "virtio/vsock_wire.h"

#include "vu/device.h"
#include "vu/vq.h"

#define DEV_VSOCK_HOST_CID 2u
#define DEV_VSOCK_MAX_CONNS 128u
/* Per connection, what we advertise as buf_alloc to the guest. */
#define DEV_VSOCK_BUF_ALLOC (256u * 1024u)
#define DEV_VSOCK_MAX_QUEUE 1024u
/* RSTs owed to the guest for connections that no longer have a slot. */
#define DEV_VSOCK_RST_QUEUE 256u
/* A guest that does not answer a host CONNECT within this is refused. */
#define DEV_VSOCK_CONNECT_TIMEOUT_NS (5ull * 1000 * 1000 * 1000)
/* Host ports handed out to host-initiated connections start here (as in
 * Firecracker), far from the ports guests usually listen on. */
#define DEV_VSOCK_EPHEMERAL_BASE (1u << 30)

#define DEV_VSOCK_RXQ 0u
#define DEV_VSOCK_TXQ 1u
#define DEV_VSOCK_EVQ 2u

enum dev_vsock_state {
	DEV_VSOCK_FREE = 0,
	DEV_VSOCK_HANDSHAKE,  /* Unix client accepted, "CONNECT <port>" not read yet */
	DEV_VSOCK_CONNECTING, /* REQUEST owed or sent to the guest, no RESPONSE yet */
	DEV_VSOCK_ESTABLISHED,
};

/* Control packets a connection owes the guest (dev_vsock_conn.owed). */
#define DEV_VSOCK_OWE_REQUEST 1u
#define DEV_VSOCK_OWE_RESPONSE 2u
#define DEV_VSOCK_OWE_CREDIT 4u
#define DEV_VSOCK_OWE_SHUTDOWN 8u
#define DEV_VSOCK_OWE_CREDIT_REQUEST 16u

struct dev_vsock_conn {
	uint8_t state;
	int fd;
	uint32_t host_port;  /* our end: cid 2 */
	uint32_t guest_port; /* the guest's end */
	uint32_t owed;	     /* DEV_VSOCK_OWE_* */
	bool guest_no_rcv;   /* guest sent SHUTDOWN RCV: it takes no more data */
	bool guest_no_send;  /* guest sent SHUTDOWN SEND: no more data will come */
	bool unix_eof;	     /* the Unix peer will send no more */
	bool unix_wr_shut;   /* we shut down the Unix socket's write side */
	bool readable;	     /* poll saw POLLIN (or HUP) and no read said EAGAIN since */
	bool writable;	     /* no write said EAGAIN since the last POLLOUT */
	bool stalled;	     /* waiting for guest credit (counted once per stall) */
	/* Host -> guest: what the guest told us, and what we sent. */
	uint32_t peer_buf_alloc;
	uint32_t peer_fwd_cnt;
	uint32_t tx_cnt;
	/* Guest -> host: bytes accepted and not yet written to the Unix socket,
	 * a ring of DEV_VSOCK_BUF_ALLOC bytes at buf. */
	uint8_t *buf;
	uint32_t buf_head;
	uint32_t buf_used;
	uint32_t fwd_cnt;      /* bytes written to the Unix socket */
	uint32_t fwd_cnt_told; /* fwd_cnt in the last packet we sent */
	/* "OK <port>\n" still to be written to the Unix socket. */
	char ok_line[24];
	uint8_t ok_len, ok_off;
	uint64_t deadline_ns; /* CONNECTING: give up at this time */
	uint64_t bytes_to_guest, bytes_from_guest;
};

struct dev_vsock_stats {
	uint64_t conns_host;  /* host-initiated (CONNECT) connections established */
	uint64_t conns_guest; /* guest-initiated connections established */
	uint64_t conns_refused;
	uint64_t bytes_to_guest, bytes_from_guest;
	uint64_t rst_sent, rst_received, rst_dropped;
	uint64_t stalls;     /* a connection ran out of guest credit */
	uint64_t violations; /* malformed or out-of-credit packets from the guest */
	uint64_t rx_starved; /* a packet waited because the guest posted no buffer */
	uint64_t events_sent;
};

struct dev_vsock_rst {
	uint32_t host_port, guest_port;
};

struct dev_vsock_config {
	uint64_t guest_cid;
	const char *uds_path; /* may be NULL: no host side at all */
	uint64_t (*now_ns)(void);
	/* One line per event; NULL for silence. */
	void (*log)(void *ctx, const char *line);
	void *log_ctx;
	bool verbose; /* also log every connection opened and closed */
};

struct vu_backend;
struct pollfd;

struct dev_vsock {
	struct vu_device dev;
	struct dev_vsock_config cfg;
	char uds_path[108];
	int listen_fd;
	struct vu_backend *b; /* the session whose rings we serve */

	struct dev_vsock_conn conns[DEV_VSOCK_MAX_CONNS];
	uint32_t rr; /* round-robin start for the next pump */
	uint32_t next_port;
	uint8_t *bufs; /* DEV_VSOCK_MAX_CONNS * DEV_VSOCK_BUF_ALLOC, from init */

	/* Guest buffers we hold (answered VU_PENDING): rx waits for data, event
	 * for events. The core refuses a head posted again while we hold it. */
	struct vu_token rx_toks[DEV_VSOCK_MAX_QUEUE];
	uint32_t rx_first, rx_count;
	struct vu_token ev_toks[DEV_VSOCK_MAX_QUEUE];
	uint32_t ev_first, ev_count;
	bool want_transport_reset;
	bool had_conns;	 /* connections existed since the last reset */
	bool rings_live; /* rx and tx were both started: a stop ends every connection */
	bool starving;	 /* something waits for a guest rx buffer */

	struct dev_vsock_rst rst_q[DEV_VSOCK_RST_QUEUE];
	uint32_t rst_first, rst_count;

	/* Which connection each pollfd of the last fill() belongs to (-1: the
	 * listening socket). */
	int16_t poll_conn[DEV_VSOCK_MAX_CONNS + 1];
	int n_poll;

	struct dev_vsock_stats st;
	struct vu_chain chain; /* scratch for rebuilding a held chain */
	struct vu_iov slice[VU_CHAIN_MAX_IOV];
};

/* Set up the device; allocates every connection buffer now. With a
 * uds_path, listens on it (a stale socket file is replaced). Returns 0 or a
 * negative errno. */
int dev_vsock_init(struct dev_vsock *v, const struct dev_vsock_config *cfg);

/* Release the listening socket, every connection and the buffers. */
void dev_vsock_fini(struct dev_vsock *v);

/* The session whose rings the device completes buffers on. */
void dev_vsock_attach(struct dev_vsock *v, struct vu_backend *b);

/* For the host loop's struct uvh_fd_source: the pollfds we want this turn,
 * and the work after poll. ready() also sends what the guest is owed. */
int dev_vsock_fill(void *ctx, struct pollfd *pfd, int max);
int dev_vsock_ready(void *ctx, const struct pollfd *pfd, int n);

/* Move data and owed packets without poll readiness (tests, fuzzing):
 * exactly what ready() does after it has read the revents. */
int dev_vsock_pump(struct dev_vsock *v);

/* One line summary of the counters into buf. */
void dev_vsock_stats_line(const struct dev_vsock *v, char *buf, size_t len);

/* Active connections. */
uint32_t dev_vsock_active(const struct dev_vsock *v);

#endif
