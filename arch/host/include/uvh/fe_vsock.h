/* uvh/fe_vsock.h - the front-end's transport to a back-end in a service VM.
 *
 * Owns: one hybrid-vsock stream to the back-end's port (Firecracker's
 * convention, served by `uvhostd --device vsock`: connect to the Unix
 * socket PATH, write "CONNECT <port>\n", read "OK <n>\n"), message framing
 * over it with vu/stream.h, and the backend channel of
 * docs/vsock-transport.md §5: a Unix listener at PATH_<port> that the
 * back-end's connection to host port <port> arrives on, accepted and read
 * without blocking.
 * Never: passes a file descriptor (send refuses a message carrying one) or
 * trusts the stream: a hostile header is -EMSGSIZE and a silent back-end
 * is -ETIMEDOUT after UVH_FE_VSOCK_TIMEOUT_MS, never a hang.
 * Used by: uvhost-bench --vsock and tests/unit/test_fe_vsock.c.
 */
#ifndef UVH_FE_VSOCK_H
#define UVH_FE_VSOCK_H

#include <stdint.h>
#include <sys/un.h>

#include "vu/frontend.h"
#include "vu/stream.h"

#define UVH_FE_VSOCK_TIMEOUT_MS 30000

struct uvh_fe_vsock {
	int sock;	/* main channel, -1 when closed */
	int listen_fd;	/* backend-channel listener, -1 when none */
	int backend_fd; /* the back-end's connection to it, -1 until accepted */
	char listen_path[sizeof(((struct sockaddr_un *)0)->sun_path)];
	struct vu_stream_rx rx, brx;
	uint8_t *rx_buf, *brx_buf;
	uint64_t backend_accepts; /* connections taken on the listener */
	struct vu_fe_transport t;
};

/* Connect to `port` through the hybrid socket at uds_path. Returns 0 or a
 * negative errno: -ECONNREFUSED when uvhostd refused the port (nobody
 * listens in the VM), -EPROTO on a bad handshake. */
int uvh_fe_vsock_connect(struct uvh_fe_vsock *c, const char *uds_path, uint32_t port);

/* Use an already connected stream (the handshake done, or a socketpair in
 * tests); takes ownership of fd. */
int uvh_fe_vsock_attach(struct uvh_fe_vsock *c, int fd);

/* Listen for the backend channel at "<uds_path>_<port>" (a stale socket
 * file there is replaced). Send the port with vu_fe_set_backend_req(fe, -1,
 * port) afterwards; the connection is accepted by backend_recv. */
int uvh_fe_vsock_backend_listen(struct uvh_fe_vsock *c, const char *uds_path, uint32_t port);

/* The fd to poll for backend-channel traffic (the listener until the
 * back-end connected), or -1. */
int uvh_fe_vsock_backend_pollfd(const struct uvh_fe_vsock *c);

/* Close everything and remove the listener's socket file. */
void uvh_fe_vsock_close(struct uvh_fe_vsock *c);

#endif
