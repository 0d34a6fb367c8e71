/* kern/control.h - the service VM's control service: a line protocol on vsock.
 *
 * Owns: a listener (default port 1024), a table of clients (its owner sizes
 * it, k_control_set_pool), each with
 * a line assembler (lines up to K_CONTROL_LINE_MAX bytes) and a reply buffer,
 * and the commands: `version`, `stats`, `pollers` (the scheduler's pollers,
 * one line each: name, period in us (0: every turn), runs, busy runs, ns
 * spent busy, ns spent idle), `windows`, `echo <text>`, then the
 * commands an application registers (k_control_set_commands), which the
 * service runs without knowing what they mean.
 * Backpressure: a client's input is read only while its reply buffer has
 * room for the largest reply, so a slow reader stalls its own input (and, by
 * vsock credit, its sender) and nothing is ever dropped, blocked on or grown.
 * Never: allocates, blocks, or reaches into what it reports on: scheduler and
 * windows come through `struct k_control_provider` (function pointers), vsock
 * counters from the core it serves on.
 * Used by: the unikernel main (as a poller), host tests and fuzz_control.
 */
#ifndef KERN_CONTROL_H
#define KERN_CONTROL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "kern/sched.h"
#include "kern/vsock.h"

#define K_CONTROL_PORT 1024u
/* The pool hosted users (tests, fuzzing) give the service; the service VM
 * sizes its own at boot (ctl_clients=, kern/bootargs.h). */
#define K_CONTROL_MAX_CLIENTS 20
#define K_CONTROL_LINE_MAX 4096u /* bytes before the newline */
#define K_CONTROL_MAX_WINDOWS 16u
/* Extra `stats` entries a provider may add, and the longest key: bounded so
 * the stats block still fits K_CONTROL_MAX_REPLY. */
/* 32 + 8 (notification counters) + 48 (up to 4 virtio-blk disks, 12 each). */
#define K_CONTROL_MAX_EXTRA 88u
#define K_CONTROL_EXTRA_KEY_MAX 40u
/* One `pollers` line: a name cut at K_CONTROL_POLLER_NAME_MAX bytes and
 * five numbers of at most 20 digits, each after a space, and a newline. */
#define K_CONTROL_POLLER_NAME_MAX 24u
#define K_CONTROL_POLLER_LINE_MAX (K_CONTROL_POLLER_NAME_MAX + 5u * 21u + 1u)
#define K_CONTROL_POLLERS_REPLY (K_MAX_POLLERS * K_CONTROL_POLLER_LINE_MAX + 2u)
/* Room a reply may need: an echo of a full line, the stats block, or the
 * pollers table, whichever is largest. */
/* The stats block: the kernel's own lines (1536 bytes) and every extra
 * entry at its longest key and a 20-digit value. */
#define K_CONTROL_STATS_REPLY (K_CONTROL_MAX_EXTRA * (K_CONTROL_EXTRA_KEY_MAX + 22u) + 1536u)
#define K_CONTROL_MAX2_(a, b) ((a) > (b) ? (a) : (b))
#define K_CONTROL_MAX_REPLY                                                                        \
	K_CONTROL_MAX2_(K_CONTROL_MAX2_(K_CONTROL_POLLERS_REPLY, K_CONTROL_LINE_MAX + 512u),       \
			K_CONTROL_STATS_REPLY)
#define K_CONTROL_OUT_BUF 16384u

#ifndef UVHOST_VERSION
#define UVHOST_VERSION "0.1.0"
#endif

struct k_control_window {
	uint64_t base, size;
	uint32_t checksum;
};

/* What the control service reports but does not own. Any pointer may be
 * NULL: that part is then reported empty. */
struct k_control_provider {
	void *ctx;
	const char *version; /* NULL: UVHOST_VERSION */
	const struct k_sched *(*sched)(void *ctx);
	unsigned (*window_count)(void *ctx);
	int (*window_get)(void *ctx, unsigned i, struct k_control_window *w);
};

/* Counters of other services, printed by `stats` after its own as
 * `key value`: entry i (0, 1, ...) until it returns nonzero, at most
 * K_CONTROL_MAX_EXTRA. A key that is empty, longer than
 * K_CONTROL_EXTRA_KEY_MAX or not [a-z0-9_] is skipped and counted in
 * stats.extra_skipped, so a bad provider cannot break the format. Kept out
 * of struct k_control_provider so positional initializers of it stay valid. */
typedef int (*k_control_extra_fn)(void *ctx, unsigned i, const char **key, uint64_t *val);

/* Room for the answer of a registered command, terminating NUL included. */
#define K_CONTROL_CMD_REPLY_MAX 256u

/* Commands of other services, tried after the built-in ones (so none can
 * shadow `stats`). `line` is the whole line, word and arguments, without its
 * newline or a trailing CR: len > 0 bytes, not NUL-terminated, and anything
 * a host program sent. Return false for a command the function does not
 * know: the client gets "ERR unknown command". Otherwise write a one-line
 * answer ("OK ..." or "ERR ...") into `reply` as a NUL-terminated string of
 * at most cap - 1 bytes (cap is K_CONTROL_CMD_REPLY_MAX) and return true;
 * the service adds the newline. It runs on the control poller: bounded work,
 * no blocking. So that a bad function cannot break the line framing, the
 * service cuts the answer at cap - 1 bytes, sends a byte outside printable
 * ASCII as '?' and an empty answer as "ERR empty reply", and counts each
 * such answer in stats.cmd_bad_replies. */
typedef bool (*k_control_cmd_fn)(void *ctx, const char *line, size_t len, char *reply, size_t cap);

struct k_control_client {
	bool active;
	bool discarding; /* inside a too-long line: skip to its newline */
	bool eof;	 /* the peer will send no more */
	int fd;
	uint32_t in_start, in_end;
	uint32_t out_start, out_end;
	char in[K_CONTROL_LINE_MAX + 1]; /* a whole line plus its newline */
	char out[K_CONTROL_OUT_BUF];
};

struct k_control_stats {
	uint64_t accepted, refused; /* refused: every client slot was busy */
	uint64_t lines, too_long, unknown;
	uint64_t stalls;	  /* turns a client's input waited for its replies to drain */
	uint64_t reply_truncated; /* must stay 0: K_CONTROL_MAX_REPLY too small */
	uint64_t extra_skipped;	  /* provider extra entries with an unusable key */
	uint64_t cmd_bad_replies; /* registered-command answers the service had to fix */
	uint32_t clients_open, clients_max;
};

struct k_control {
	struct k_vsock_core *vs; /* NULL: parser only (fuzzing, tests) */
	int lfd;
	struct k_control_provider prov;
	k_control_extra_fn extra; /* NULL: no extra entries */
	void *extra_ctx;
	k_control_cmd_fn cmds; /* NULL: built-in commands only */
	void *cmds_ctx;
	char cmd_reply[K_CONTROL_CMD_REPLY_MAX]; /* one answer at a time: not on the stack */
	struct k_control_stats stats;
	struct k_control_client *clients; /* the pool: k_control_set_pool() */
	unsigned nclients;
	uint64_t mem_static_bytes; /* 0: not reported */
};

/* Give the service its client table (n entries, owned by the caller),
 * before k_control_init(); without one every client is refused. */
void k_control_set_pool(struct k_control *ctl, struct k_control_client *clients, unsigned n);

/* Listen on `port` of `vs` (vs may be NULL for parser-only use). `prov` is
 * copied; it may be NULL. Returns 0 or the negative errno of k_vs_listen. */
int k_control_init(struct k_control *ctl, struct k_vsock_core *vs, uint32_t port,
		   const struct k_control_provider *prov);

/* Set (or with fn NULL, clear) the extra `stats` entries; after init. */
void k_control_set_extra(struct k_control *ctl, k_control_extra_fn fn, void *ctx);

/* The system's static memory (image plus every pool and buffer set up at
 * boot; fixed once the boot is done), reported by `stats` as
 * mem_static_bytes; 0 leaves the line out. After init. */
void k_control_set_mem_static(struct k_control *ctl, uint64_t bytes);

/* Set (or with fn NULL, clear) the registered commands; after init. */
void k_control_set_commands(struct k_control *ctl, k_control_cmd_fn fn, void *ctx);

/* The poller: accept, then per client at most one read and one write.
 * Returns work done (0 = idle). */
int k_control_poll(void *ctl);

/* Close every client and the listener. */
void k_control_stop(struct k_control *ctl);

/* The parser without sockets: take up to `len` input bytes into `cl` and run
 * every complete line whose reply fits. Returns the bytes taken (fewer than
 * len when the input or reply buffer is full). */
size_t k_control_feed(struct k_control *ctl, struct k_control_client *cl, const void *data,
		      size_t len);

/* Run the complete lines already in `cl->in` while replies fit. Returns the
 * lines run. */
unsigned k_control_process(struct k_control *ctl, struct k_control_client *cl);

/* Take up to `cap` reply bytes out of `cl` (as a send would). */
size_t k_control_drain(struct k_control_client *cl, void *buf, size_t cap);

void k_control_client_reset(struct k_control_client *cl);

#endif
