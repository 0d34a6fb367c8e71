/* uvh/window_ram.h - front-end guest RAM made of ivshmem window files.
 *
 * Owns: one contiguous range of our address space assembled from pieces of
 * shared files (the /dev/shm files a hypervisor also maps into the service
 * VM as windows), so a front-end can lay out rings and buffers as in
 * ordinary RAM, and the translation of any region of it into the fd-less
 * form: mmap_offset = window << VU_WINDOW_SHIFT | offset, fd -1.
 * Never: speaks vhost-user or guesses the window numbering: the caller says
 * which index each file has in the service VM (docs/vsock-transport.md §3).
 * Used by: uvhost-bench --vsock and its tests.
 *
 * Layout: the RAM is cut into `unit`-byte pieces (one memory region each in
 * uvhost-bench); the pieces are spread over the windows as evenly as their
 * sizes allow, window by window in the order given, so a region never
 * straddles two windows.
 */
#ifndef UVH_WINDOW_RAM_H
#define UVH_WINDOW_RAM_H

#include <stdint.h>

#include "vu/frontend.h"

#define UVH_WINDOW_RAM_MAX 16u

struct uvh_window_file {
	const char *path;
	uint32_t index; /* the window's number in the service VM */
};

struct uvh_window_seg {
	uint32_t window;
	uint64_t ram_off; /* where the piece starts in the RAM */
	uint64_t win_off; /* and in the window file */
	uint64_t len;
};

struct uvh_window_ram {
	uint8_t *base;
	uint64_t size;
	uint32_t nseg;
	struct uvh_window_seg seg[UVH_WINDOW_RAM_MAX];
	char last_error[160]; /* why create failed, when a file was the reason */
};

/* Pure: spread `units` pieces of `unit` bytes over windows of the given
 * sizes (in order), as evenly as each window's capacity allows. Fills
 * per_window[0..n). Returns 0, -EINVAL (unit 0, n 0 or over the max) or
 * -ENOSPC (the windows together hold fewer pieces). */
int uvh_window_ram_spread(const uint64_t *sizes, uint32_t n, uint64_t unit, uint64_t units,
			  uint64_t *per_window);

/* Map `units` pieces of `unit` bytes (unit a multiple of the page size)
 * from the files, spread as above, one after the other at r->base. Returns
 * 0 or a negative errno (nothing stays mapped). Duplicate window indexes
 * are -EINVAL. */
int uvh_window_ram_create(struct uvh_window_ram *r, const struct uvh_window_file *files, uint32_t n,
			  uint64_t unit, uint64_t units);
void uvh_window_ram_destroy(struct uvh_window_ram *r);

/* The region for RAM bytes [off, off + len) at guest address gpa_base +
 * off, window-addressed. -ERANGE if it is outside the RAM or straddles two
 * windows. */
int uvh_window_ram_region(const struct uvh_window_ram *r, uint64_t gpa_base, uint64_t off,
			  uint64_t len, struct vu_fe_region *out);

#endif
