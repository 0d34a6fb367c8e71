/* dev/storage.h - the small storage interface behind virtio-blk.
 *
 * Owns: byte-addressed read/write/flush/discard/write-zeroes on a backing
 * store of fixed size. Callers (dev_blk) have already checked every range
 * against `size`; implementations may trust offsets but not the guest data.
 * Implementations: a file (pread/pwrite, the daemon) and RAM (the unikernel,
 * benchmarks, tests), both synchronous; and io_uring (the daemon,
 * storage_uring.h), asynchronous.
 * Never: an asynchronous storage never calls back from inside submit(), and
 * never blocks the serving thread except in cancel() (reset only).
 */
#ifndef DEV_STORAGE_H
#define DEV_STORAGE_H

#include <stdbool.h>
#include <stdint.h>

#include "vu/memtable.h"

/* Asynchronous operations (optional). */
enum dev_storage_kind {
	DEV_STORAGE_READ,
	DEV_STORAGE_WRITE,
	DEV_STORAGE_FLUSH,
	DEV_STORAGE_DISCARD,
	DEV_STORAGE_WRITE_ZEROES,
};

/* One operation. iov (READ, WRITE) is copied by submit(): the caller may
 * reuse the array at once, but the memory it points to must stay until the
 * completion. len is the byte count for DISCARD and WRITE_ZEROES. */
struct dev_storage_op {
	enum dev_storage_kind kind;
	uint16_t queue;	 /* < async->num_queues: each queue has its own ring */
	uint64_t cookie; /* handed back to the completion, untouched */
	uint64_t off;
	uint64_t len;
	const struct vu_iov *iov;
	uint32_t n_iov;
};

/* result: 0 or a negative errno. */
typedef void (*dev_storage_done_fn)(void *arg, uint64_t cookie, int result);

struct dev_storage_async {
	uint16_t num_queues;
	/* 0: in flight, the completion comes through reap(); -EAGAIN: this
	 * queue is full, try again after a completion; another negative errno:
	 * refused (nothing in flight). */
	int (*submit)(void *ctx, const struct dev_storage_op *op);
	/* Call done() for at most `max` finished operations of `queue`, in the
	 * order they finished; returns how many. Never blocks. */
	int (*reap)(void *ctx, uint16_t queue, unsigned max, dev_storage_done_fn done, void *arg);
	/* Reset: wait for everything in flight and drop it without calling
	 * back, so no operation touches guest memory afterwards. May be NULL:
	 * completions then still arrive through reap(). */
	void (*cancel)(void *ctx);
	/* Guest memory is about to change: wait for everything in flight and
	 * call done() for each (blocks; memory changes are rare). May be NULL
	 * only if the storage never touches guest memory after submit(). */
	void (*drain)(void *ctx, dev_storage_done_fn done, void *arg);
};

struct dev_storage {
	uint64_t size; /* bytes, a multiple of 512 */
	bool read_only;
	void *ctx;
	int (*readv)(void *ctx, uint64_t off, const struct vu_iov *iov, uint32_t n);
	int (*writev)(void *ctx, uint64_t off, const struct vu_iov *iov, uint32_t n);
	int (*flush)(void *ctx);
	int (*discard)(void *ctx, uint64_t off, uint64_t len);
	int (*write_zeroes)(void *ctx, uint64_t off, uint64_t len);
	/* What the medium offers; all zero (every storage but a real disk):
	 * 512-byte blocks, DEV_BLK_SEG_MAX segments of any size, flush,
	 * discard and write-zeroes. dev_blk offers the front-end only what is
	 * there. */
	uint32_t blk_size; /* logical block size, a power of two >= 512 */
	uint32_t seg_max;  /* data segments per request */
	uint32_t size_max; /* bytes per segment (VIRTIO_BLK_F_SIZE_MAX), 0: any */
	bool no_flush;	   /* write-through: FLUSH has nothing to do */
	bool no_discard, no_write_zeroes;
	/* NULL: synchronous only. Set: dev_blk uses it for reads, writes,
	 * flushes, discards and write-zeroes (the synchronous calls above may
	 * then be NULL). */
	const struct dev_storage_async *async;
};

/* Null: `size` bytes that store nothing (reads leave buffers as they are,
 * writes vanish), like QEMU's null-co; for benchmarks only. */
void dev_storage_null(struct dev_storage *s, uint64_t size);

/* RAM: `buf` of `size` bytes, owned by the caller. */
void dev_storage_ram(struct dev_storage *s, uint8_t *buf, uint64_t size, bool read_only);

/* File (hosted only): opens `path`; size is the file's size rounded down to
 * 512. Returns 0 or a negative errno. */
int dev_storage_file_open(struct dev_storage *s, const char *path, bool read_only);
void dev_storage_file_close(struct dev_storage *s);
/* Re-read the file's size (after the operator grew or shrank it).
 * Returns 1 if it changed, 0 if not, or a negative errno. */
int dev_storage_file_refresh(struct dev_storage *s);

#endif
