/* window_ram.c - guest RAM assembled from window files (see window_ram.h). */
#define _GNU_SOURCE
#include "uvh/window_ram.h"

#include <errno.h>
#include <stdio.h>
#include <fcntl.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "uvh/fd_bounds.h"

int uvh_window_ram_spread(const uint64_t *sizes, uint32_t n, uint64_t unit, uint64_t units,
			  uint64_t *per_window)
{
	uint64_t left = units;

	if (unit == 0 || n == 0 || n > UVH_WINDOW_RAM_MAX)
		return -EINVAL;
	for (uint32_t i = 0; i < n; i++)
		per_window[i] = 0;
	/* Fair shares first; what a small window cannot take goes to the
	 * windows after it, and a second pass fills from the front. */
	for (uint32_t i = 0; i < n && left; i++) {
		uint64_t cap = sizes[i] / unit, share = (left + (n - i) - 1) / (n - i);
		per_window[i] = share < cap ? share : cap;
		left -= per_window[i];
	}
	for (uint32_t i = 0; i < n && left; i++) {
		uint64_t room = sizes[i] / unit - per_window[i];
		uint64_t take = room < left ? room : left;
		per_window[i] += take;
		left -= take;
	}
	return left ? -ENOSPC : 0;
}

void uvh_window_ram_destroy(struct uvh_window_ram *r)
{
	if (r->base)
		munmap(r->base, (size_t)r->size);
	memset(r, 0, sizeof(*r));
}

static int file_size(const char *path, uint64_t *size)
{
	struct stat st;

	if (stat(path, &st) < 0)
		return -errno;
	if (!S_ISREG(st.st_mode))
		return -EINVAL;
	*size = (uint64_t)st.st_size;
	return 0;
}

int uvh_window_ram_create(struct uvh_window_ram *r, const struct uvh_window_file *files, uint32_t n,
			  uint64_t unit, uint64_t units)
{
	uint64_t sizes[UVH_WINDOW_RAM_MAX], per[UVH_WINDOW_RAM_MAX], off = 0;
	long page = sysconf(_SC_PAGESIZE);
	char why[160] = "";
	void *p;
	int rc;

	memset(r, 0, sizeof(*r));
	if (n == 0 || n > UVH_WINDOW_RAM_MAX || unit == 0 || units == 0 || page <= 0 ||
	    unit % (uint64_t)page || units > UINT64_MAX / unit || unit * units > SIZE_MAX)
		return -EINVAL;
	for (uint32_t i = 0; i < n; i++) {
		if (files[i].index >= (1u << (64 - VU_WINDOW_SHIFT)))
			return -EINVAL;
		for (uint32_t j = 0; j < i; j++)
			if (files[j].index == files[i].index)
				return -EINVAL;
		rc = file_size(files[i].path, &sizes[i]);
		if (rc)
			return rc;
	}
	rc = uvh_window_ram_spread(sizes, n, unit, units, per);
	if (rc)
		return rc;
	/* Reserve the whole range first so the pieces land side by side. */
	p = mmap(NULL, (size_t)(unit * units), PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (p == MAP_FAILED)
		return -errno;
	r->base = p;
	r->size = unit * units;
	for (uint32_t i = 0; i < n; i++) {
		uint64_t len = per[i] * unit;
		int fd;
		if (!len)
			continue;
		fd = open(files[i].path, O_RDWR | O_CLOEXEC);
		if (fd < 0) {
			rc = -errno;
			goto fail;
		}
		/* Sized by path above; the file may have shrunk since, and a
		 * mapping past its end is SIGBUS on first touch. */
		rc = uvh_fd_check_range(fd, 0, len, why, sizeof(why));
		if (rc) {
			close(fd);
			goto fail;
		}
		p = mmap(r->base + off, (size_t)len, PROT_READ | PROT_WRITE,
			 MAP_SHARED | MAP_FIXED | MAP_POPULATE, fd, 0);
		rc = p == MAP_FAILED ? -errno : 0;
		close(fd); /* the mapping keeps the file */
		if (rc)
			goto fail;
		r->seg[r->nseg++] = (struct uvh_window_seg){
			.window = files[i].index, .ram_off = off, .win_off = 0, .len = len};
		off += len;
	}
	return 0;
fail:
	uvh_window_ram_destroy(r);
	snprintf(r->last_error, sizeof(r->last_error), "%s", why);
	return rc;
}

int uvh_window_ram_region(const struct uvh_window_ram *r, uint64_t gpa_base, uint64_t off,
			  uint64_t len, struct vu_fe_region *out)
{
	for (uint32_t i = 0; i < r->nseg; i++) {
		const struct uvh_window_seg *s = &r->seg[i];
		if (off < s->ram_off || off - s->ram_off >= s->len)
			continue;
		if (len == 0 || len > s->len - (off - s->ram_off))
			return -ERANGE;
		*out = (struct vu_fe_region){
			.gpa = gpa_base + off,
			.size = len,
			.uaddr = (uint64_t)(uintptr_t)(r->base + off),
			.mmap_offset = (uint64_t)s->window << VU_WINDOW_SHIFT |
				       (s->win_off + off - s->ram_off),
			.fd = -1,
		};
		return 0;
	}
	return -ERANGE;
}
