/* RAM-backed storage: the unikernel's disk, and the benchmarks'. */
#include <errno.h>
#include <string.h>

#include "dev/storage.h"
#include "vu/iov.h"

struct ram_ctx {
	uint8_t *buf;
};

static int ram_readv(void *ctx, uint64_t off, const struct vu_iov *iov, uint32_t n)
{
	uint8_t *p = ctx;
	for (uint32_t i = 0; i < n; i++) {
		memcpy(iov[i].base, p + off, iov[i].len);
		off += iov[i].len;
	}
	return 0;
}

static int ram_writev(void *ctx, uint64_t off, const struct vu_iov *iov, uint32_t n)
{
	uint8_t *p = ctx;
	for (uint32_t i = 0; i < n; i++) {
		memcpy(p + off, iov[i].base, iov[i].len);
		off += iov[i].len;
	}
	return 0;
}

static int ram_flush(void *ctx)
{
	(void)ctx;
	return 0;
}

static int ram_zero(void *ctx, uint64_t off, uint64_t len)
{
	memset((uint8_t *)ctx + off, 0, len);
	return 0;
}

void dev_storage_ram(struct dev_storage *s, uint8_t *buf, uint64_t size, bool read_only)
{
	memset(s, 0, sizeof(*s));
	s->size = size - size % 512;
	s->read_only = read_only;
	s->ctx = buf;
	s->readv = ram_readv;
	s->writev = ram_writev;
	s->flush = ram_flush;
	s->discard = ram_zero;
	s->write_zeroes = ram_zero;
}
