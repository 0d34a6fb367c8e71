/* vu/session.h - one turn of a vhost-user session, the same in every loop.
 *
 * Owns: the order of the work in one turn and its budgets, for uvhostd's
 * poll(2) loop (arch/host/src/host_server.c) and the service VM's session
 * pollers (apps/uvhost-vm/vhost_service.c) alike:
 *   1. the transport's queued output first (a reply still waiting must not
 *      be overtaken), then the device's completions (ops->poll: requests
 *      finished outside serve(), such as asynchronous storage; a pending
 *      GET_VRING_BASE may be answered by them);
 *   2. at most VU_SESSION_MSGS_PER_STEP front-end messages, each read only
 *      while a whole reply would fit (a request is never read whose answer
 *      could not be sent);
 *   3. the backend channel's replies;
 *   4. the started rings, VU_SESSION_RING_BUDGET chains in all.
 * And the busy-poll window both loops apply after work (struct
 * vu_busy_poll): right after a completion the next kick usually follows
 * within microseconds, so a loop keeps polling instead of sleeping for a
 * while, as QEMU's aio poll and SPDK's reactors do.
 * Never: touches a socket, an fd or a clock itself. The transport's
 * callbacks (struct vu_session_io) move the bytes; the caller passes the
 * time.
 * Used by: host_server.c and vhost_service.c, one struct vu_session per
 * connected front-end.
 */
#ifndef VU_SESSION_H
#define VU_SESSION_H

#include <stdbool.h>
#include <stdint.h>

#include "vu/backend.h"
#include "vu/wire.h"

/* Enough to configure a device in a few turns, small enough that one
 * session's control traffic cannot starve another session's rings. */
#define VU_SESSION_MSGS_PER_STEP 8
/* Chains per turn over all of a session's rings; also the device's
 * completions reaped per queue per turn (ops->poll). */
#define VU_SESSION_RING_BUDGET 64

/* A session's transport. recv is required; the others may be NULL. */
struct vu_session_io {
	/* The next whole message into *msg: 0, -EAGAIN when none is ready,
	 * -ECONNRESET at the end of the stream, or another negative errno. */
	int (*recv)(void *ctx, struct vu_msg *msg);
	/* Room for a whole reply (NULL: a reply is always sent at once). */
	bool (*can_reply)(void *ctx);
	/* Push out what is queued on every channel: 0 or a negative errno,
	 * which ends the session (NULL: nothing is ever queued). */
	int (*flush)(void *ctx);
	/* Whether the backend channel may have a reply to read (NULL: always
	 * look; a loop that already polled its fds saves the extra look). */
	bool (*backend_ready)(void *ctx);
	void *ctx;
};

struct vu_session {
	struct vu_backend *b;
	const struct vu_session_io *io;
	struct vu_msg *msg; /* the receive buffer (~4 KiB: the caller places it) */
	/* Why the last step failed, for the caller's log line; NULL after a
	 * step that succeeded. */
	const char *why;
};

void vu_session_init(struct vu_session *s, struct vu_backend *b, const struct vu_session_io *io,
		     struct vu_msg *msg);

/* One turn (see above). Returns the work done (>= 0), or a negative errno
 * after which the session must end (s->why says why in a few words). */
int vu_session_step(struct vu_session *s);

/* The busy-poll window: after a turn that did work, keep polling without
 * sleeping for window_ns (0: sleep as soon as a turn is idle). */
struct vu_busy_poll {
	uint64_t window_ns;
	uint64_t last_work_ns;
};

/* Account one turn that did `work` at `now_ns`. Returns true while the
 * loop should poll again at once, false when it may sleep. */
bool vu_busy_poll_turn(struct vu_busy_poll *bp, int work, uint64_t now_ns);

#endif
