/* gw_windows.h - which service-VM window holds the memory behind an fd.
 *
 * Owns: the table of windows declared with --window N=FILE (index, device
 * and inode of the file, its size), and the translation of one region the
 * VMM sent with an fd into the fd-less form of docs/vsock-transport.md §3:
 * mmap_offset = N << 40 | (offset of the region in that file).
 * Never: maps memory (the gateway touches no guest byte), keeps or closes
 * the fd, or trusts the region: the fd's file must be a declared window, by
 * identity (st_dev, st_ino) and not by name, and the region must lie inside
 * both the file and the window as declared.
 * Used by: gw_relay.c, uvhost-gw's main, tests/unit/test_gw_windows.c.
 */
#ifndef GW_WINDOWS_H
#define GW_WINDOWS_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "vu/wire.h"

#define GW_MAX_WINDOWS 16

struct gw_window {
	uint32_t index; /* the service VM's window number (its ivshmem order) */
	dev_t dev;
	ino_t ino;
	uint64_t size; /* the file's size when it was declared */
	char path[256];
};

struct gw_windows {
	uint32_t n;
	struct gw_window w[GW_MAX_WINDOWS];
};

/* Declare window `index` as the file at `path`. 0, or a negative errno with
 * a reason in why: -ENOENT (no such file), -EINVAL (not a regular file, or
 * an index that does not fit the 24 bits above offset 40), -EEXIST (index
 * or file declared twice), -ENOSPC (table full). */
int gw_windows_add(struct gw_windows *t, uint32_t index, const char *path, char *why,
		   size_t whylen);

/* Parse "N=FILE" and add it. */
int gw_windows_add_arg(struct gw_windows *t, const char *arg, char *why, size_t whylen);

/* Rewrite r->mmap_offset for the region whose memory is [r->mmap_offset,
 * + r->size) of the file behind fd. 0, or a negative errno with a reason
 * that names the file: -EBADF/-ENODEV (no usable fd), -ENOENT (not a
 * declared window), -ERANGE (past the end of the file or the window),
 * -EINVAL (empty or wrapping range). r is unchanged on failure. */
int gw_windows_translate(const struct gw_windows *t, int fd, struct vu_mem_region *r, char *why,
			 size_t whylen);

#endif
