/* vu/platform.h - what the protocol library needs from the machine it runs on.
 *
 * Owns: the one table of operations through which vhost/ reaches the outside
 * world: sending a message, mapping a region, signalling and closing fds.
 * Never: the library makes no OS call of its own; everything goes through here.
 * Implemented by: arch/host (AF_UNIX + SCM_RIGHTS, mmap, eventfd) and, later,
 * the unikernel (vsock stream, ivshmem windows, no fds at all).
 * An "fd" is an opaque small integer owned by the platform; -1 means none.
 *
 * Two flavours, chosen by has_fds (docs/vsock-transport.md):
 * - fd transport: map() gets the region's fd and mmap_offset as sent.
 * - fd-less transport: no message carries an fd. Client memory lives in
 *   windows the hypervisor shares; map() gets fd == -1 and a window-addressed
 *   offset (VU_WINDOW_INDEX/OFFSET in vu/wire.h). The library checks every
 *   region against window_size() before it calls map(), but a platform
 *   re-checks anyway: map() must refuse a window that does not exist
 *   (-ENOENT) and a range that wraps or ends past the window (-ERANGE).
 *   The backend channel is a connection the back-end opens itself
 *   (backend_connect); its handle is used like a received channel fd.
 */
#ifndef VU_PLATFORM_H
#define VU_PLATFORM_H

#include <stdbool.h>
#include <stdint.h>

struct vu_msg;

enum vu_log_level { VU_LOG_ERR = 0, VU_LOG_WARN, VU_LOG_INFO, VU_LOG_DEBUG };

struct vu_platform {
	void *ctx;

	/* Send one message (header, payload, and msg->nfds fds) on the
	 * front-end channel. Returns 0 or a negative errno. */
	int (*send)(void *ctx, const struct vu_msg *msg);

	/* Send one message, with msg->nfds borrowed fds, on the backend
	 * channel `chan` (the fd received in SET_BACKEND_REQ_FD). The library
	 * always passes reply == NULL: waiting here would stall the loop, so
	 * replies come back through backend_recv instead. (The parameter stays
	 * so existing platforms keep compiling; a platform may refuse non-NULL.)
	 * Returns 0 or a negative errno. */
	int (*backend_send)(void *ctx, int chan, const struct vu_msg *msg, struct vu_msg *reply);
	/* Take one whole message from the backend channel without waiting:
	 * 0 with *msg filled (its fds belong to the caller), -EAGAIN when none
	 * is there, -ECONNRESET on hang-up, or another negative errno. May be
	 * NULL: then no request that needs a reply is ever sent. */
	int (*backend_recv)(void *ctx, int chan, struct vu_msg *msg);

	/* Make [offset, offset+len) of `fd` addressable. On success store the
	 * host pointer of `offset` in *host and a handle for unmap in *cookie.
	 * The fd stays owned by the caller. Returns 0 or a negative errno.
	 * fd-less: fd is -1 and offset is window << 40 | byte offset; the
	 * region is [window base + byte offset, + len). */
	int (*map)(void *ctx, int fd, uint64_t offset, uint64_t len, bool writable, void **host,
		   void **cookie);
	void (*unmap)(void *ctx, void *cookie);

	/* Create shared memory of `len` bytes for inflight tracking, zeroed. */
	int (*alloc_shared)(void *ctx, uint64_t len, int *fd, void **host, void **cookie);

	/* Write one event to an eventfd-like fd. */
	int (*signal)(void *ctx, int fd);
	void (*close_fd)(void *ctx, int fd);

	/* The transport can pass fds; if false, the back-end offers
	 * INBAND_NOTIFICATIONS and WINDOW_ADDR, takes no fd on any message,
	 * and expects NOFD rings. */
	bool has_fds;

	/* fd-less only (NULL on an fd transport). */
	/* Size in bytes of window `index`: 0 with *size set, or -ENOENT when
	 * there is no such window. Without this op every region is refused. */
	int (*window_size)(void *ctx, uint32_t index, uint64_t *size);
	/* Start connecting the backend channel to `port` on the peer the
	 * front-end connection came from (vsock: its CID). Must not wait for
	 * the connection to complete. 0 with *chan set to a handle that
	 * backend_send/backend_recv take and close_fd releases, or a negative
	 * errno (then no channel exists). A connection that fails later shows
	 * up as errors from backend_send/backend_recv. NULL: SET_BACKEND_REQ_FD
	 * is refused. */
	int (*backend_connect)(void *ctx, uint32_t port, int *chan);
	/* DOORBELL (docs/vsock-transport.md §4.1): a handle for a ring's kick
	 * (`call` false: the interrupt of own `vector` of doorbell device
	 * `device`; peer is 0) or call (`call` true: ring `peer`'s `vector`).
	 * The handle is used like an eventfd: signal() rings a call,
	 * vu_backend_kick() is how a kick arrives, close_fd() releases it.
	 * 0 with *fd set, or a negative errno (no such device, a vector it
	 * does not have). NULL: DOORBELL is not offered. */
	int (*doorbell)(void *ctx, bool call, uint32_t device, uint32_t peer, uint32_t vector,
			int *fd);

	/* One line, without a trailing newline. May be NULL. */
	void (*log)(void *ctx, enum vu_log_level level, const char *line);
};

#endif
