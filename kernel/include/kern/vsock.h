/* kern/vsock.h - the virtio-vsock protocol core (stream sockets, packet level).
 *
 * Owns: a static table of connections and listeners, each connection's
 * receive buffer (our buf_alloc) and transmit buffer (from a pool its owner
 * sizes, struct k_vsock_mem), the connection state
 * machine (REQUEST/RESPONSE handshake both ways, SHUTDOWN half-close, RST,
 * connect and close timeouts, TRANSPORT_RESET), credit flow control in both
 * directions, validation of every field a peer sends, and the counters.
 * Never: touches a virtqueue, allocates, blocks or pushes packets: the glue
 * hands in what arrived (k_vsock_rx_packet) and pulls what to send
 * (k_vsock_tx_next). Everything the core wants to send is a per-connection
 * flag or buffered data, so nothing can overflow; the only queue (RST replies
 * for packets that match no connection) is bounded and counts what it drops.
 * Used by: the socket shim (kern/vsock_socket.h), the virtio glue
 * (kern/virtio_vsock.h), and host tests that wire two cores back to back.
 *
 * Time comes in through k_vsock_clock() and k_vsock_tick(); with no ticks
 * nothing times out.
 */
#ifndef KERN_VSOCK_H
#define KERN_VSOCK_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "kern/vsock_wire.h"

#include "kern/vsock_limits.h"
/* Buffer sizes hosted users (tests, fuzzing) give their pools; the service
 * VM sizes its pool at boot (struct k_vsock_mem). Powers of two. */
#define K_VSOCK_BUF_ALLOC 65536u /* receive: advertised as buf_alloc */
#define K_VSOCK_TX_BUF 65536u	 /* transmit: what send() accepts ahead of credit */
#define K_VSOCK_BUF_MIN 4096u
#ifndef K_VSOCK_MAX_LISTENERS
#define K_VSOCK_MAX_LISTENERS 16
#endif
#define K_VSOCK_BACKLOG_MAX 32
/* RST replies to packets that match no connection, waiting for tx. */
#define K_VSOCK_RSTQ 16
/* Largest payload we accept in one packet (Linux sends at most 64 KiB). */
#define K_VSOCK_MAX_PKT_LEN 65536u
#define K_VSOCK_CONNECT_TIMEOUT_NS (2000ull * 1000 * 1000)
#define K_VSOCK_CLOSE_TIMEOUT_NS (8000ull * 1000 * 1000)
#define K_VSOCK_EPHEMERAL_FIRST 49152u

_Static_assert(K_VSOCK_MAX_CONNS <= 255 && K_VSOCK_MAX_LISTENERS <= 255, "fd index is 8 bits");

enum k_vsock_state {
	K_VS_FREE = 0,
	K_VS_CONNECTING,  /* REQUEST queued or sent, waiting for RESPONSE */
	K_VS_ESTABLISHED, /* both ways open, or half-closed (see shut_*) */
	K_VS_CLOSING,	  /* app closed: flush, SHUTDOWN, wait for RST or timeout */
	K_VS_CLOSED,	  /* reset, refused or timed out; the fd still holds it */
};

/* Packets a connection owes the peer (one bit each, so they coalesce). */
#define K_VSOCK_PEND_REQUEST 0x01u
#define K_VSOCK_PEND_RESPONSE 0x02u
#define K_VSOCK_PEND_RST 0x04u
#define K_VSOCK_PEND_CREDIT_UPDATE 0x08u
#define K_VSOCK_PEND_CREDIT_REQUEST 0x10u
#define K_VSOCK_PEND_SHUTDOWN 0x20u

struct k_vsock_conn {
	uint8_t state;
	uint8_t pending;
	uint8_t shut_local; /* K_VSOCK_SHUTDOWN_* we declared */
	uint8_t shut_peer;  /* K_VSOCK_SHUTDOWN_* the peer declared */
	bool app;	    /* held by an fd */
	bool credit_req_sent;
	int16_t parent; /* listener index until accepted, else -1 */
	uint16_t gen;	/* bumped on free: stale fds never match */
	int err;	/* positive errno once closed: ECONNRESET, ... */
	uint32_t local_port, peer_port;
	uint64_t peer_cid;
	/* Receive side: [fwd_cnt, rx_cnt) is buffered, unread. */
	uint32_t rx_cnt, fwd_cnt, last_fwd_sent;
	/* Transmit side: [tx_cnt, tx_app) is queued, not yet on the wire. */
	uint32_t tx_app, tx_cnt;
	uint32_t peer_buf_alloc, peer_fwd_cnt;
	uint64_t deadline_ns; /* connect or close timeout, 0 = none */
	uint64_t seq;	      /* accept order */
};

struct k_vsock_listener {
	uint32_t port;
	uint16_t gen;
	uint8_t active;
	uint8_t backlog; /* max connections waiting for accept */
	uint8_t queued;	 /* connections waiting for accept */
};

struct k_vsock_stats {
	uint64_t rx_packets, rx_bytes; /* bytes: RW payload */
	uint64_t tx_packets, tx_bytes;
	uint64_t rst_sent, rst_received;
	uint64_t credit_updates_sent, credit_requests_sent, credit_stalls;
	uint64_t conns_total, connect_timeouts, close_timeouts, transport_resets;
	uint64_t peer_buf_alloc_changes;
	/* Protocol errors, by kind: each names the check that refused a packet. */
	uint64_t err_bad_cid;	      /* dst_cid is not ours */
	uint64_t err_bad_type;	      /* type is not STREAM */
	uint64_t err_bad_op;	      /* op unknown or not valid in this state */
	uint64_t err_truncated;	      /* len larger than the bytes present */
	uint64_t err_oversize;	      /* len > K_VSOCK_MAX_PKT_LEN */
	uint64_t err_credit_overflow; /* data beyond the credit we gave: RST */
	uint64_t err_unknown_conn;    /* no connection matches: RST reply */
	uint64_t err_no_listener;     /* REQUEST to a port nobody listens on */
	uint64_t err_backlog_full;    /* REQUEST refused: backlog full */
	uint64_t err_table_full;      /* REQUEST refused: no free connection */
	uint64_t err_dup_request;     /* REQUEST for an existing connection */
	uint64_t err_bad_fwd_cnt;     /* fwd_cnt backwards or beyond what we sent */
	uint64_t err_rstq_full;	      /* RST reply dropped, the queue was full */
	/* Pool usage: back at baseline once every fd is closed. */
	uint32_t conns_open, conns_max;
	uint32_t listeners_open, listeners_max;
};

struct k_vsock_rst_reply {
	uint64_t peer_cid;
	uint32_t peer_port, local_port;
};

/* The connection pool: how many connections, and their buffers (conns x
 * rx_size and conns x tx_size bytes, powers of two, at least
 * K_VSOCK_BUF_MIN), which the owner of the core provides. */
struct k_vsock_mem {
	unsigned conns; /* 1..K_VSOCK_MAX_CONNS */
	uint32_t rx_size, tx_size;
	uint8_t *rx, *tx;
};

struct k_vsock_core {
	struct k_vsock_mem mem;
	uint64_t cid;
	uint32_t buf_alloc; /* advertised; <= mem.rx_size */
	uint64_t now_ns;
	uint64_t accept_seq;
	uint32_t next_port;
	unsigned rr; /* round-robin cursor for data */
	unsigned rstq_head, rstq_len;
	struct k_vsock_stats stats;
	struct k_vsock_rst_reply rstq[K_VSOCK_RSTQ];
	struct k_vsock_listener listeners[K_VSOCK_MAX_LISTENERS];
	struct k_vsock_conn conns[K_VSOCK_MAX_CONNS]; /* the first mem.conns are used */
};

/* Give the core its pool, once, before k_vsock_init(). 0, or -EINVAL for a
 * pool outside the limits above. */
int k_vsock_set_mem(struct k_vsock_core *c, const struct k_vsock_mem *m);
/* Bytes of buffers a pool of `conns` connections needs. */
uint64_t k_vsock_mem_bytes(unsigned conns, uint32_t rx_size, uint32_t tx_size);

/* Start with no connections; `cid` is our own CID (the device's guest_cid).
 * The pool stays (k_vsock_set_mem first). */
void k_vsock_init(struct k_vsock_core *c, uint64_t cid);

/* Advertise (and enforce) a smaller receive buffer than the pool's,
 * 1..mem.rx_size. Call right after init, before any connection;
 * tests use it to play a peer that grants little credit. Returns 0 or
 * -EINVAL. */
int k_vsock_set_buf_alloc(struct k_vsock_core *c, uint32_t bytes);

/* One received packet: `payload` holds `present` bytes after the header.
 * Returns 0 when accepted, or a negative errno when dropped or refused
 * (-EINVAL malformed, -EPROTO not valid here, -ECONNREFUSED, -ENOBUFS);
 * every refusal also bumps exactly one err_* counter. */
int k_vsock_rx_packet(struct k_vsock_core *c, const struct k_vsock_hdr *h, const void *payload,
		      size_t present);

/* The next packet to send: fills `h` and up to `cap` payload bytes in
 * `buf`. Control packets first, then data within the peer's credit,
 * round-robin over connections. Returns the payload length (>= 0) or
 * -EAGAIN when there is nothing to send. */
int k_vsock_tx_next(struct k_vsock_core *c, struct k_vsock_hdr *h, void *buf, size_t cap);

/* Whether k_vsock_tx_next() would return a packet (cheap scan). */
bool k_vsock_tx_ready(const struct k_vsock_core *c);

/* Advance time: expire connects and lingering closes. Returns work done.
 * Run it as a timed poller (every K_VSOCK_TIMER_PERIOD_US): a timeout then
 * fires at most one period late. */
int k_vsock_tick(struct k_vsock_core *c, uint64_t now_ns);
#define K_VSOCK_TIMER_PERIOD_US 50000u

/* Record the time without expiring anything, so that connects and closes
 * started now count their timeouts from now (cheap: every packet poll). */
void k_vsock_clock(struct k_vsock_core *c, uint64_t now_ns);

/* The device announced TRANSPORT_RESET: every connection is gone on the peer
 * side. Connections held by fds become CLOSED (ECONNRESET), others are freed;
 * nothing is sent for them. Listeners stay. `cid` may have changed. */
void k_vsock_transport_reset(struct k_vsock_core *c, uint64_t cid);

#endif
