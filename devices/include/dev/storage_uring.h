/* dev/storage_uring.h - a file served asynchronously through io_uring.
 *
 * Owns: one io_uring per blk queue (each with an eventfd that becomes
 * readable when completions are waiting), the file's fds (O_DIRECT when
 * asked, plus a buffered one for requests O_DIRECT cannot take), and the
 * per-request state until its completion is reaped.
 * Never: blocks the serving thread while serving: submissions are queued by
 * submit() and pushed to the kernel by dev_storage_uring_flush() once per
 * loop turn, or by submit() itself while the ring holds no more submitted
 * operations than queued ones (so an idle disk starts at once, in batches
 * that double); completions are only peeked. The exceptions are rare and
 * bounded: cancel() on reset waits for the operations in flight, and a
 * short transfer (end of file, a full disk) is finished synchronously.
 * Alignment: with O_DIRECT a request whose offset, length or buffers do not
 * meet the file's direct-I/O alignment (statx STATX_DIOALIGN, else 4096) is
 * still served, through the buffered fd (also via io_uring), so the guest
 * always gets correct data.
 * Used by: uvhostd (hosted only; needs liburing) and its tests.
 */
#ifndef DEV_STORAGE_URING_H
#define DEV_STORAGE_URING_H

#include <stdbool.h>
#include <stdint.h>

#include "dev/storage.h"

/* Operations one queue keeps in flight (dev_blk keeps at most as many). */
#define DEV_URING_DEPTH 128u

struct dev_uring_config {
	const char *path;
	bool read_only;
	bool direct;	     /* O_DIRECT, like qemu's cache.direct=on */
	uint16_t num_queues; /* one io_uring each */
};

/* Opens the file and sets up the rings. Returns 0 or a negative errno, and
 * on failure *failed names the step ("open", "O_DIRECT open",
 * "io_uring_queue_init", ...) so the caller can tell "no io_uring here"
 * (fall back to synchronous I/O) from "bad file". */
int dev_storage_uring_open(struct dev_storage *s, const struct dev_uring_config *c,
			   const char **failed);
void dev_storage_uring_close(struct dev_storage *s);

/* Push every queued submission to the kernel (one syscall per queue that
 * has any). Call once per loop turn before sleeping. */
void dev_storage_uring_flush(struct dev_storage *s);

/* Queue `queue`'s eventfd: readable while completions may be waiting. */
int dev_storage_uring_event_fd(const struct dev_storage *s, uint16_t queue);
/* Read and discard the eventfd's count. */
void dev_storage_uring_drain_event(const struct dev_storage *s, uint16_t queue);

/* True while operations are in flight and no completion is waiting to be
 * reaped: the next completion will make an eventfd readable. */
bool dev_storage_uring_waiting(const struct dev_storage *s);

/* Direct-I/O alignment in use (1 when not O_DIRECT): offsets and lengths,
 * and buffer addresses. Requests that miss either go buffered. */
uint32_t dev_storage_uring_offset_align(const struct dev_storage *s);
uint32_t dev_storage_uring_mem_align(const struct dev_storage *s);
/* Requests served through the buffered fd because of alignment. */
uint64_t dev_storage_uring_unaligned(const struct dev_storage *s);

/* Re-read the file's size: 1 changed, 0 not, or a negative errno. */
int dev_storage_uring_refresh(struct dev_storage *s);

#endif
