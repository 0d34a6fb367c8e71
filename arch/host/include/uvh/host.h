/* uvh/host.h - the Linux process port of uvhost.
 *
 * Owns: AF_UNIX sockets carrying vhost-user messages with SCM_RIGHTS fds,
 * the struct vu_platform for Linux (mmap of region fds, memfd, eventfd),
 * and the serving loop that feeds one back-end session from poll(2).
 * Never: interprets messages (that is vhost/'s job); it only moves bytes and
 * fds, and refuses anything larger than the wire format allows.
 * Used by: uvhostd, uvhost-bench and the tests.
 */
#ifndef UVH_HOST_H
#define UVH_HOST_H

#include <stdbool.h>
#include <stdint.h>

#include "kern/sched.h"
#include "vu/backend.h"
#include "vu/platform.h"
#include "vu/session.h"
#include "vu/wire.h"

/* Sockets. All return an fd or a negative errno. */
int uvh_listen(const char *path);
int uvh_connect(const char *path);

/* Read one whole message (header, payload, fds). Returns 0, -ECONNRESET on
 * a clean EOF, or a negative errno; on error no fd is left open. */
int uvh_recv_msg(int sock, struct vu_msg *msg);

/* Write one whole message with its fds. Returns 0 or a negative errno. */
int uvh_send_msg(int sock, const struct vu_msg *msg);

/* Platform state for one connection. */
#define UVH_MAX_MAPPINGS (VU_MAX_MEM_SLOTS + 16)

struct uvh_mapping {
	void *base;
	uint64_t len;
	bool used;
	int guard; /* uvh/sigbus_guard.h slot, or -1 */
};

struct uvh_platform {
	struct vu_platform plat;
	int sock; /* front-end channel */
	bool verbose;
	uint32_t live_mappings;
	uint64_t n_map_refused; /* map() calls whose range the file did not back */
	struct uvh_mapping maps[UVH_MAX_MAPPINGS];
};

/* Also installs the process's SIGBUS guard (uvh/sigbus_guard.h). */
void uvh_platform_init(struct uvh_platform *p, bool verbose);

/* A mapping of this connection faulted: the front-end shrank a file under
 * it. The session must be dropped; the zero pages keep the process alive. */
bool uvh_platform_poisoned(const struct uvh_platform *p);

/* The serving loop. */
enum uvh_mode { UVH_SERVER, UVH_CLIENT, UVH_FD };

/* Extra fds a device wants in the loop's poll(2) (e.g. the vsock device's
 * Unix sockets). Each turn, fill() writes up to `max` pollfds and returns
 * how many; after poll, ready() gets the same array with revents set and
 * returns the work it did (> 0 keeps the loop busy, i.e. polling without
 * sleeping). Both run only while a front-end is attached. */
#define UVH_MAX_EXTRA_FDS 256
struct pollfd;
struct uvh_fd_source {
	int (*fill)(void *ctx, struct pollfd *pfd, int max);
	int (*ready)(void *ctx, const struct pollfd *pfd, int n);
	/* Optional: true while operations of this source are in flight, none
	 * has completed yet, and the next completion will make one of its fds
	 * readable. The loop then sleeps in poll(2) instead of busy-polling:
	 * the completion wakes it, and a spinning CPU only slows the device
	 * down where CPUs are shared (a virtual machine's disk). */
	bool (*waiting)(void *ctx);
	void *ctx;
};

struct uvh_server {
	enum uvh_mode mode;
	const char *path;
	int listen_fd;
	int conn_fd; /* -1 between front-ends */
	struct uvh_platform hp;
	struct vu_backend *backend;
	struct k_sched sched;
	uint64_t connections;
	volatile int stop;
	/* After a turn that did work, keep polling without sleeping for this
	 * long (0: always sleep when idle). */
	uint64_t busy_poll_ns;
	/* Called once per loop turn while a front-end is attached; may be NULL.
	 * Lets the daemon act on signals (e.g. SIGHUP: disk resized). */
	void (*on_turn)(void *ctx);
	void *on_turn_ctx;
	const struct uvh_fd_source *extra; /* may be NULL */
	/* The session step (vu/session.h), run as the scheduler's "session"
	 * poller; its transport reads the front-end socket once poll(2) said
	 * it is readable. */
	struct vu_session session;
	struct vu_session_io io;
	bool readable, chan_readable; /* what this turn's poll(2) saw */
	bool read_more;		      /* a message was read this turn: look for more */
	int step_err;
	struct vu_msg rx;
};

#define UVH_BUSY_POLL_NS_DEFAULT (50u * 1000u)

/* mode SERVER: listen on path; CLIENT: connect to path (retrying);
 * FD: serve the already connected socket `fd` and return when it closes. */
int uvh_server_init(struct uvh_server *s, enum uvh_mode mode, const char *path, int fd,
		    struct vu_backend *backend, bool verbose);

/* Serve until s->stop is set (or, in FD mode, the front-end leaves). */
int uvh_server_run(struct uvh_server *s);

uint64_t uvh_now_ns(void);

#endif
