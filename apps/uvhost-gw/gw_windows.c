/* gw_windows.c - fd -> window translation for uvhost-gw (see gw_windows.h). */
#define _GNU_SOURCE
#include "gw_windows.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "uvh/fd_bounds.h"

#define MAX_INDEX ((1u << (64 - VU_WINDOW_SHIFT)) - 1)
#define MAX_OFFSET ((1ull << VU_WINDOW_SHIFT) - 1)

int gw_windows_add(struct gw_windows *t, uint32_t index, const char *path, char *why, size_t whylen)
{
	struct gw_window *w;
	struct stat st;

	if (index > MAX_INDEX) {
		snprintf(why, whylen, "window %" PRIu32 ": index above %u", index, MAX_INDEX);
		return -EINVAL;
	}
	if (stat(path, &st) < 0) {
		int rc = -errno;
		snprintf(why, whylen, "window %" PRIu32 ": %s: %s", index, path, strerror(-rc));
		return rc;
	}
	if (!S_ISREG(st.st_mode)) {
		snprintf(why, whylen, "window %" PRIu32 ": %s is not a regular file", index, path);
		return -EINVAL;
	}
	if ((uint64_t)st.st_size > MAX_OFFSET + 1) {
		snprintf(why, whylen, "window %" PRIu32 ": %s is larger than 1 TiB", index, path);
		return -EINVAL;
	}
	for (uint32_t i = 0; i < t->n; i++) {
		if (t->w[i].index == index) {
			snprintf(why, whylen, "window %" PRIu32 " declared twice", index);
			return -EEXIST;
		}
		if (t->w[i].dev == st.st_dev && t->w[i].ino == st.st_ino) {
			snprintf(why, whylen, "%s is already window %" PRIu32, path, t->w[i].index);
			return -EEXIST;
		}
	}
	if (t->n >= GW_MAX_WINDOWS) {
		snprintf(why, whylen, "more than %d windows", GW_MAX_WINDOWS);
		return -ENOSPC;
	}
	w = &t->w[t->n++];
	w->index = index;
	w->dev = st.st_dev;
	w->ino = st.st_ino;
	w->size = (uint64_t)st.st_size;
	snprintf(w->path, sizeof(w->path), "%s", path);
	return 0;
}

int gw_windows_add_arg(struct gw_windows *t, const char *arg, char *why, size_t whylen)
{
	const char *eq = strchr(arg, '=');
	unsigned long long v;
	char *end;

	if (!eq || eq == arg || !eq[1]) {
		snprintf(why, whylen, "--window %s: expected N=FILE", arg);
		return -EINVAL;
	}
	errno = 0;
	v = strtoull(arg, &end, 10);
	if (errno || end != eq || arg[0] == '-' || arg[0] == '+' || v > MAX_INDEX) {
		snprintf(why, whylen, "--window %s: N must be a window number 0..%u", arg,
			 MAX_INDEX);
		return -EINVAL;
	}
	return gw_windows_add(t, (uint32_t)v, eq + 1, why, whylen);
}

static const struct gw_window *find(const struct gw_windows *t, const struct stat *st)
{
	for (uint32_t i = 0; i < t->n; i++)
		if (t->w[i].dev == st->st_dev && t->w[i].ino == st->st_ino)
			return &t->w[i];
	return NULL;
}

int gw_windows_translate(const struct gw_windows *t, int fd, struct vu_mem_region *r, char *why,
			 size_t whylen)
{
	const struct gw_window *w;
	struct stat st;
	int rc;

	/* The file must back the range (else the VM would see a hole the VMM
	 * does not), and it must be one the VM maps as a window. */
	rc = uvh_fd_check_range(fd, r->mmap_offset, r->size, why, whylen);
	if (rc)
		return rc;
	if (fstat(fd, &st) < 0) {
		rc = -errno;
		snprintf(why, whylen, "fd %d: fstat: %s", fd, strerror(-rc));
		return rc;
	}
	w = find(t, &st);
	if (!w) {
		char link[64], target[256];
		ssize_t n;

		snprintf(link, sizeof(link), "/proc/self/fd/%d", fd);
		n = readlink(link, target, sizeof(target) - 1);
		target[n > 0 ? n : 0] = '\0';
		snprintf(why, whylen,
			 "region gpa 0x%" PRIx64 " is in %s (dev %lu ino %lu), which is not a "
			 "declared --window",
			 r->gpa, n > 0 ? target : "an unnamed file", (unsigned long)st.st_dev,
			 (unsigned long)st.st_ino);
		return -ENOENT;
	}
	if (r->mmap_offset + r->size > w->size) {
		snprintf(why, whylen,
			 "region gpa 0x%" PRIx64 ": offset 0x%" PRIx64 " + size 0x%" PRIx64
			 " ends past window %" PRIu32 " (%s, 0x%" PRIx64 " bytes as declared)",
			 r->gpa, r->mmap_offset, r->size, w->index, w->path, w->size);
		return -ERANGE;
	}
	r->mmap_offset = (uint64_t)w->index << VU_WINDOW_SHIFT | r->mmap_offset;
	return 0;
}
