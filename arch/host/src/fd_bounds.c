/* fd_bounds.c - a peer's fd against the range it claims (see fd_bounds.h). */
#define _GNU_SOURCE
#include "uvh/fd_bounds.h"

#include <errno.h>
#include <inttypes.h>
#include <linux/fs.h>
#include <stdio.h>
#include <sys/ioctl.h>
#include <sys/stat.h>

static const char *kind_of(mode_t mode)
{
	if (S_ISFIFO(mode))
		return "a pipe";
	if (S_ISSOCK(mode))
		return "a socket";
	if (S_ISCHR(mode))
		return "a character device";
	if (S_ISDIR(mode))
		return "a directory";
	return "a special file";
}

static int file_bytes(int fd, uint64_t *size, char *why, size_t whylen)
{
	struct stat st;

	if (fstat(fd, &st) < 0) {
		int rc = -errno;
		snprintf(why, whylen, "fd %d: fstat failed (errno %d)", fd, -rc);
		return rc;
	}
	if (S_ISREG(st.st_mode)) {
		*size = (uint64_t)st.st_size;
		return 0;
	}
	if (S_ISBLK(st.st_mode)) {
		uint64_t bytes = 0;

		if (ioctl(fd, BLKGETSIZE64, &bytes) < 0) {
			int rc = -errno;
			snprintf(why, whylen, "fd %d: block device size unknown (errno %d)", fd,
				 -rc);
			return rc;
		}
		*size = bytes;
		return 0;
	}
	snprintf(why, whylen, "fd %d: %s, not a regular file or block device", fd,
		 kind_of(st.st_mode));
	return -ENODEV;
}

int uvh_fd_check_range(int fd, uint64_t offset, uint64_t len, char *why, size_t whylen)
{
	uint64_t size = 0; /* gcc -m32 cannot see file_bytes() set it */
	int rc;

	if (whylen)
		why[0] = '\0';
	if (fd < 0) {
		snprintf(why, whylen, "no fd");
		return -EBADF;
	}
	if (len == 0 || offset > UINT64_MAX - len) {
		snprintf(why, whylen,
			 "fd %d: range offset 0x%" PRIx64 " + size 0x%" PRIx64 " is empty or wraps",
			 fd, offset, len);
		return -EINVAL;
	}
	rc = file_bytes(fd, &size, why, whylen);
	if (rc)
		return rc;
	if (offset + len > size) {
		snprintf(why, whylen,
			 "fd %d: offset 0x%" PRIx64 " + size 0x%" PRIx64 " = 0x%" PRIx64
			 " ends past the file's 0x%" PRIx64 " bytes",
			 fd, offset, len, offset + len, size);
		return -ERANGE;
	}
	return 0;
}
