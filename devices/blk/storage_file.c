/* File-backed storage for the daemon: preadv/pwritev on one fd. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <unistd.h>

#include "dev/storage.h"
#include "iovec_advance.h"

_Static_assert(sizeof(struct vu_iov) == sizeof(struct iovec), "vu_iov is an iovec");
_Static_assert(offsetof(struct vu_iov, len) == offsetof(struct iovec, iov_len), "iovec");

struct file_ctx {
	int fd;
};

/* preadv/pwritev may move less than asked: loop until every byte is done. */
static int file_io(int fd, uint64_t off, const struct vu_iov *iov, uint32_t n, bool write)
{
	struct iovec local[64];

	for (uint32_t i = 0; i < n;) {
		uint32_t k = n - i < 64 ? n - i : 64;
		struct iovec *v = local;
		memcpy(local, iov + i, (size_t)k * sizeof(*local));
		i += k;
		while (k) {
			ssize_t r = write ? pwritev(fd, v, (int)k, (off_t)off)
					  : preadv(fd, v, (int)k, (off_t)off);
			if (r < 0 && errno == EINTR)
				continue;
			if (r < 0)
				return -errno;
			if (r == 0)
				return -EIO; /* past the end of the file */
			off += (uint64_t)r;
			v = dev_iovec_advance(v, &k, (size_t)r);
		}
	}
	return 0;
}

static int file_readv(void *ctx, uint64_t off, const struct vu_iov *iov, uint32_t n)
{
	return file_io(((struct file_ctx *)ctx)->fd, off, iov, n, false);
}

static int file_writev(void *ctx, uint64_t off, const struct vu_iov *iov, uint32_t n)
{
	return file_io(((struct file_ctx *)ctx)->fd, off, iov, n, true);
}

static int file_flush(void *ctx)
{
	return fdatasync(((struct file_ctx *)ctx)->fd) < 0 ? -errno : 0;
}

static int file_discard(void *ctx, uint64_t off, uint64_t len)
{
	int fd = ((struct file_ctx *)ctx)->fd;
	/* Discard is advisory: a file system without hole punching ignores it. */
	if (fallocate(fd, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE, (off_t)off, (off_t)len) < 0 &&
	    errno != EOPNOTSUPP)
		return -errno;
	return 0;
}

static int file_write_zeroes(void *ctx, uint64_t off, uint64_t len)
{
	static const uint8_t zeroes[65536];
	int fd = ((struct file_ctx *)ctx)->fd;

	if (fallocate(fd, FALLOC_FL_ZERO_RANGE | FALLOC_FL_KEEP_SIZE, (off_t)off, (off_t)len) == 0)
		return 0;
	while (len) {
		size_t chunk = len < sizeof(zeroes) ? (size_t)len : sizeof(zeroes);
		ssize_t w = pwrite(fd, zeroes, chunk, (off_t)off);
		if (w <= 0)
			return w < 0 ? -errno : -EIO;
		off += (uint64_t)w;
		len -= (uint64_t)w;
	}
	return 0;
}

int dev_storage_file_open(struct dev_storage *s, const char *path, bool read_only)
{
	struct file_ctx *fc;
	struct stat st;
	int fd = open(path, (read_only ? O_RDONLY : O_RDWR) | O_CLOEXEC);

	if (fd < 0)
		return -errno;
	if (fstat(fd, &st) < 0 || st.st_size < 512) {
		close(fd);
		return -EINVAL;
	}
	fc = malloc(sizeof(*fc)); /* once, at start-up */
	if (!fc) {
		close(fd);
		return -ENOMEM;
	}
	fc->fd = fd;
	memset(s, 0, sizeof(*s));
	s->size = (uint64_t)st.st_size - (uint64_t)st.st_size % 512;
	s->read_only = read_only;
	s->ctx = fc;
	s->readv = file_readv;
	s->writev = file_writev;
	s->flush = file_flush;
	s->discard = file_discard;
	s->write_zeroes = file_write_zeroes;
	return 0;
}

void dev_storage_file_close(struct dev_storage *s)
{
	struct file_ctx *fc = s->ctx;
	if (fc) {
		close(fc->fd);
		free(fc);
	}
	s->ctx = NULL;
}

int dev_storage_file_refresh(struct dev_storage *s)
{
	struct file_ctx *fc = s->ctx;
	struct stat st;
	uint64_t size;

	if (!fc || fstat(fc->fd, &st) < 0)
		return fc ? -errno : -EBADF;
	size = (uint64_t)st.st_size - (uint64_t)st.st_size % 512;
	if (size < 512)
		return -EINVAL;
	if (size == s->size)
		return 0;
	s->size = size;
	return 1;
}
