/* kern/vsock_socket.h - non-blocking stream sockets on the vsock core.
 *
 * Owns: the fd namespace over the core's connection and listener tables. An
 * fd encodes the slot, its kind and the slot's generation, so a closed fd is
 * rejected (-EBADF) even after its slot is reused.
 * Never: blocks, allocates or touches a queue: every call returns at once,
 * with -EAGAIN where a blocking socket would wait. Readiness comes from
 * k_vs_poll(), which pollers call each turn.
 * Used by: the control service, the vhost-user transport of the service VM,
 * and host tests.
 *
 * Semantics: recv returns 0 at EOF (peer SHUTDOWN SEND, RST, or our own
 * SHUTDOWN RCV) once buffered data is read; send accepts what fits in the
 * transmit buffer (a partial count), -EAGAIN when it is full, -EPIPE once
 * the connection is closed or shut for sending. Data accepted by send is
 * delivered even if the fd is closed right after (the core lingers).
 */
#ifndef KERN_VSOCK_SOCKET_H
#define KERN_VSOCK_SOCKET_H

#include <stddef.h>
#include <stdint.h>

#include "kern/vsock.h"

#define K_VS_POLLIN 0x1	 /* recv (or accept) would not return -EAGAIN */
#define K_VS_POLLOUT 0x2 /* send would accept at least one byte */
#define K_VS_POLLHUP 0x4 /* the peer is gone or shut both ways */
#define K_VS_POLLERR 0x8 /* the connection failed: see k_vs_error() */

/* Listen on `port` with at most `backlog` (1..K_VSOCK_BACKLOG_MAX, clamped)
 * connections waiting for accept. Returns an fd, -EADDRINUSE or -ENOMEM. */
int k_vs_listen(struct k_vsock_core *c, uint32_t port, unsigned backlog);

/* Returns the fd of the oldest established connection waiting on listener
 * `lfd`, -EAGAIN when none, or -EBADF. */
int k_vs_accept(struct k_vsock_core *c, int lfd);

/* Start connecting to (cid, port): returns an fd in connecting state (poll
 * shows POLLOUT when established, POLLERR|POLLHUP if refused or timed out),
 * -ENOMEM when the table is full, -EADDRNOTAVAIL when no port is free. */
int k_vs_connect(struct k_vsock_core *c, uint64_t cid, uint32_t port);

/* Bytes read (> 0), 0 at EOF, -EAGAIN, -EBADF or -ENOTCONN (a listener). */
int k_vs_recv(struct k_vsock_core *c, int fd, void *buf, size_t len);

/* Bytes queued (> 0, maybe fewer than len), -EAGAIN (buffer full or still
 * connecting), -EPIPE, -EBADF. len == 0 returns 0. */
int k_vs_send(struct k_vsock_core *c, int fd, const void *buf, size_t len);

/* Shut VIRTIO_VSOCK_SHUTDOWN_RCV and/or _SEND; SEND takes effect on the wire
 * once queued data is sent. Returns 0, -EINVAL, -ENOTCONN or -EBADF. */
int k_vs_shutdown(struct k_vsock_core *c, int fd, unsigned how);

/* Release the fd. A connection flushes what was queued, then shuts down and
 * lingers until the peer resets it or K_VSOCK_CLOSE_TIMEOUT_NS. Closing a
 * listener resets the connections still waiting for accept. 0 or -EBADF. */
int k_vs_close(struct k_vsock_core *c, int fd);

/* K_VS_POLL* flags (>= 0) or -EBADF. */
int k_vs_poll(struct k_vsock_core *c, int fd);

/* The positive errno that closed the connection (ECONNREFUSED, ETIMEDOUT,
 * ECONNRESET), 0 while it is alive, or -EBADF. */
int k_vs_error(struct k_vsock_core *c, int fd);

/* The peer of a connection fd. Returns 0 or -EBADF. */
int k_vs_peer(struct k_vsock_core *c, int fd, uint64_t *cid, uint32_t *port);

#endif
