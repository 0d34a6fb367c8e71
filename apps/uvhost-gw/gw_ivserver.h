/* gw_ivserver.h - uvhost-gw as the ivshmem server of the service VM's
 * ivshmem-doorbell device (QEMU docs/specs/ivshmem-spec.rst, "The ivshmem
 * Client-Server Protocol"), so the VMM's eventfds become doorbell vectors.
 *
 * Owns: the UNIX socket QEMU's `-chardev socket,path=SOCK -device
 * ivshmem-doorbell,chardev=...` connects to, one client at a time (a new
 * one, a rebooted service VM, replaces the old: every vector starts over),
 * the shared-memory fd the protocol must hand over (a 4 KiB memfd nobody
 * uses), and which eventfd became which vector:
 *   - kicks: the VMM's kick eventfd itself is appended as the next of the
 *     client's own vectors (the client's ID with an fd): QEMU turns a write
 *     to it into an MSI-X interrupt in the VM, no process in between. Own
 *     vectors can only be appended, and QEMU hands a new kick eventfd at
 *     every device start: after `own_max` of them, -ENOSPC (the caller
 *     falls back to in-band kicks).
 *   - calls: the VMM's call eventfd becomes vector 0 of a fake peer whose
 *     doorbell the VM rings; QEMU writes it straight into the eventfd.
 *     A new call eventfd gets a new peer ID, and the old ID is
 *     disconnected once the VM rings the new one (gw_ivs_call_commit).
 *     An ID is never used again: QEMU 7.2 frees a disconnected peer's
 *     vector table and would write a reconnect into freed memory (found
 *     by the first gateway run: the service VM's QEMU died). IDs run to
 *     65535 per client, then -ENOSPC (in-band calls).
 * Messages go out under a lock: the accept thread (gw_ivs_open) and the
 * relay both send.
 * Never: reads anything from the client (the protocol is one-way), keeps
 * an fd it was lent (SCM_RIGHTS sends a copy), or blocks on the client
 * longer than its socket's send timeout.
 * Used by: gw_serve.c (--doorbell SOCK), tests/unit/test_gw_ivserver.c.
 */
#ifndef GW_IVSERVER_H
#define GW_IVSERVER_H

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>

#include "vu/backend.h"

#define GW_IVS_VM_ID 0u
#define GW_IVS_OWN_MAX 64u /* the service VM wires at most 64 vectors */
#define GW_IVS_SHM_BYTES 4096u
#define GW_IVS_PEER_MAX 0xffffu /* the Doorbell register's 16 bits */

struct gw_ivs_stats {
	uint64_t clients;    /* connections served */
	uint64_t own;	     /* own vectors sent (kick eventfds) */
	uint64_t own_full;   /* kicks refused: no own vector left */
	uint64_t connects;   /* peer vectors sent (call eventfds) */
	uint64_t discons;    /* peer disconnects sent */
	uint64_t peers_full; /* calls refused: every peer ID used */
	uint64_t send_errs;  /* a message that could not be sent: client dropped */
};

struct gw_ivs {
	pthread_mutex_t lock;
	int lfd, cfd, shm_fd;
	uint32_t own_used, own_max;
	uint32_t next_peer;		   /* the next unused peer ID */
	uint16_t call_peer[VU_MAX_QUEUES]; /* 0: none */
	uint16_t call_prev[VU_MAX_QUEUES]; /* connected, to disconnect at commit */
	struct gw_ivs_stats st;
	pthread_t thr;
	bool thr_on;
	volatile bool stop;
	char path[108];
};

/* No socket, no thread: a client is adopted with gw_ivs_client (tests).
 * 0, or a negative errno (no memfd). */
int gw_ivs_init(struct gw_ivs *s, uint32_t own_max);

/* gw_ivs_init, then listen on `path` (a stale socket file is replaced) and
 * start the thread that accepts clients. 0 or a negative errno. */
int gw_ivs_open(struct gw_ivs *s, const char *path);

/* Stop the thread, close every fd, remove the socket file. */
void gw_ivs_close(struct gw_ivs *s);

/* Serve connected socket `fd` as the client (the previous one is closed,
 * and every vector forgotten): version, its ID, the shared memory. 0 or a
 * negative errno (then fd is closed). */
int gw_ivs_client(struct gw_ivs *s, int fd);

/* Append `fd` as the client's next own vector: 0 with *vector, -ENOTCONN
 * (no client), -ENOSPC (all own_max used), or a send error. */
int gw_ivs_kick(struct gw_ivs *s, int fd, uint32_t *vector);

/* Connect `fd` as vector 0 of a new peer for ring `ring`'s call: 0 with
 * *peer, -ENOTCONN, -ERANGE (ring), -ENOSPC (no ID left), or a send
 * error. */
int gw_ivs_call(struct gw_ivs *s, uint32_t ring, int fd, uint32_t *peer);

/* The VM now rings the ring's new peer: disconnect the one before. */
void gw_ivs_call_commit(struct gw_ivs *s, uint32_t ring);

/* The ring's call peer is no longer used (the VMM went): disconnect it. */
void gw_ivs_call_drop(struct gw_ivs *s, uint32_t ring);

#endif
