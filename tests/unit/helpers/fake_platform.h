/* fake_platform.h - a struct vu_platform for unit tests and fuzzers.
 *
 * Owns: fake "files" (fd numbers 100..) backed by heap buffers, a record of
 * every message sent, and counters of maps, unmaps, closes and signals, so
 * tests can prove that nothing leaks and nothing is sent twice.
 * Never: touches real fds. map() checks bounds against the fake file.
 *
 * The fd-less flavour (has_fds 0) also has windows: host buffers numbered
 * from 0, reached by map(fd -1, window << 40 | offset) with the bounds check
 * a real window mapper does, and backend_connect(), which records the port
 * and hands out a fake file as the channel so leak checks still hold.
 */
#ifndef FAKE_PLATFORM_H
#define FAKE_PLATFORM_H

#include <stddef.h>
#include <stdint.h>

#include "vu/platform.h"
#include "vu/wire.h"

#define FAKE_FD_BASE 100
#define FAKE_MAX_FILES 64
#define FAKE_MAX_SENT 64
#define FAKE_MAX_WINDOWS 4

struct fake_file {
	uint8_t *data;
	uint64_t size;
	int open; /* 1 until closed */
};

struct fake_platform {
	struct vu_platform plat;
	struct fake_file files[FAKE_MAX_FILES];
	int nfiles;
	struct vu_msg sent[FAKE_MAX_SENT];
	int nsent;
	struct vu_msg backend_sent[FAKE_MAX_SENT];
	int nbackend_sent;
	int fail_backend_send; /* make backend sends fail with this errno if non-zero */
	/* Messages the "front-end" queued on the backend channel, handed out
	 * by backend_recv in order; then backend_rx_err, or -EAGAIN if 0. */
	struct vu_msg backend_rx[FAKE_MAX_SENT];
	int nbackend_rx, backend_rx_pos;
	int backend_rx_err;
	int maps, unmaps, closes, signals, allocs;
	int fail_map; /* make the next map fail with this errno if non-zero */
	int signalled_fd[FAKE_MAX_SENT];
	char last_log[256];
	/* fd-less flavour. */
	struct fake_file windows[FAKE_MAX_WINDOWS];
	int nwindows;
	int window_maps; /* maps that went to a window */
	int map_calls;	 /* every map() call, failed ones included */
	int connects;	 /* backend_connect calls that returned a channel */
	uint32_t connect_port[FAKE_MAX_SENT];
	int connect_chan[FAKE_MAX_SENT];
	int fail_connect; /* make backend_connect fail with this errno if non-zero */
};

/* Set up; has_fds selects the fd or the fd-less flavour. */
void fake_platform_init(struct fake_platform *f, int has_fds);
/* Release every buffer. */
void fake_platform_fini(struct fake_platform *f);
/* A new fake file of `size` zeroed bytes; returns its fd. */
int fake_file_new(struct fake_platform *f, uint64_t size);
/* Host pointer of byte `off` of fake file `fd`. */
uint8_t *fake_file_ptr(struct fake_platform *f, int fd, uint64_t off);
/* A new window of `size` zeroed bytes (fd-less flavour); returns its index. */
int fake_window_new(struct fake_platform *f, uint64_t size);
/* Host pointer of byte `off` of window `index`. */
uint8_t *fake_window_ptr(struct fake_platform *f, uint32_t index, uint64_t off);
/* Number of fake files not yet closed. */
int fake_open_files(const struct fake_platform *f);
/* Queue a reply on the backend channel: flags 0x5, a u64 payload. Returns
 * the message so a test can spoil it. */
struct vu_msg *fake_backend_reply(struct fake_platform *f, uint32_t request, uint64_t value);

#endif
