/* dev/storage.h - the small storage interface behind virtio-blk.
 *
 * Owns: byte-addressed read/write/flush/discard/write-zeroes on a backing
 * store of fixed size. Callers (dev_blk) have already checked every range
 * against `size`; implementations may trust offsets but not the guest data.
 * Implementations: a file (pread/pwrite, the daemon) and RAM (the unikernel,
 * benchmarks, tests).
 */
#ifndef DEV_STORAGE_H
#define DEV_STORAGE_H

#include <stdbool.h>
#include <stdint.h>

#include "vu/memtable.h"

struct dev_storage {
	uint64_t size; /* bytes, a multiple of 512 */
	bool read_only;
	void *ctx;
	int (*readv)(void *ctx, uint64_t off, const struct vu_iov *iov, uint32_t n);
	int (*writev)(void *ctx, uint64_t off, const struct vu_iov *iov, uint32_t n);
	int (*flush)(void *ctx);
	int (*discard)(void *ctx, uint64_t off, uint64_t len);
	int (*write_zeroes)(void *ctx, uint64_t off, uint64_t len);
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
