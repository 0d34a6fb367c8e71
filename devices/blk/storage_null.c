/* Null storage: the counterpart of QEMU's null-co (read-zeroes=off), so a
 * benchmark can compare the vhost-user paths of two back-ends without
 * either of them moving data. Reads leave the guest buffers untouched;
 * writes are discarded. Never for real use: nothing is stored. */
#include "dev/storage.h"

static int null_io(void *ctx, uint64_t off, const struct vu_iov *iov, uint32_t n)
{
	(void)ctx, (void)off, (void)iov, (void)n;
	return 0;
}

static int null_flush(void *ctx)
{
	(void)ctx;
	return 0;
}

static int null_range(void *ctx, uint64_t off, uint64_t len)
{
	(void)ctx, (void)off, (void)len;
	return 0;
}

void dev_storage_null(struct dev_storage *s, uint64_t size)
{
	s->size = size - size % 512;
	s->read_only = false;
	s->ctx = NULL;
	s->readv = null_io;
	s->writev = null_io;
	s->flush = null_flush;
	s->discard = null_range;
	s->write_zeroes = null_range;
}
