/* Fault-injecting storage (see dev/storage_fault.h): the lies a back-end
 * can tell without dev_blk noticing, so that a front-end's verifier can be
 * shown to catch each of them. Hosted only, for tests only. */
#include "dev/storage_fault.h"

#include <errno.h>
#include <string.h>

#include "vu/iov.h"

static const char *const names[] = {
	[DEV_FAULT_DROP_WRITES] = "drop-writes",
	[DEV_FAULT_SHORT_READ] = "short-read",
	[DEV_FAULT_BAD_STATUS] = "bad-status",
};

enum dev_fault dev_fault_by_name(const char *name)
{
	for (unsigned k = DEV_FAULT_DROP_WRITES; k <= DEV_FAULT_BAD_STATUS; k++) {
		if (name && !strcmp(name, names[k]))
			return (enum dev_fault)k;
	}
	return 0;
}

const char *dev_fault_name(enum dev_fault kind)
{
	return kind >= DEV_FAULT_DROP_WRITES && kind <= DEV_FAULT_BAD_STATUS ? names[kind] : "none";
}

/* Counting from 1: with every = 16 the 16th, 32nd, ... request is hit. */
static bool due(const struct dev_storage_fault *f, uint64_t count)
{
	return count % f->every == 0;
}

static int fault_readv(void *ctx, uint64_t off, const struct vu_iov *iov, uint32_t n)
{
	struct dev_storage_fault *f = ctx;
	uint64_t total = 0;
	int m;

	f->reads++;
	if (f->kind == DEV_FAULT_BAD_STATUS && due(f, f->reads + f->writes)) {
		f->hits++;
		return -EIO;
	}
	if (f->kind != DEV_FAULT_SHORT_READ || !due(f, f->reads))
		return f->inner->readv(f->inner->ctx, off, iov, n);
	f->hits++;
	for (uint32_t i = 0; i < n; i++)
		total += iov[i].len;
	/* The first half of the same buffers: what a back-end that forgot a
	 * short pread would leave behind, with success reported. */
	m = vu_iov_slice(iov, n, 0, total / 2, f->half, VU_CHAIN_MAX_IOV);
	if (m <= 0)
		return m < 0 ? -EIO : 0;
	return f->inner->readv(f->inner->ctx, off, f->half, (uint32_t)m);
}

static int fault_writev(void *ctx, uint64_t off, const struct vu_iov *iov, uint32_t n)
{
	struct dev_storage_fault *f = ctx;

	f->writes++;
	if (f->kind == DEV_FAULT_BAD_STATUS && due(f, f->reads + f->writes)) {
		f->hits++;
		return -EIO;
	}
	if (f->kind == DEV_FAULT_DROP_WRITES && due(f, f->writes)) {
		f->hits++;
		return 0;
	}
	return f->inner->writev(f->inner->ctx, off, iov, n);
}

static int fault_flush(void *ctx)
{
	struct dev_storage_fault *f = ctx;

	return f->inner->flush(f->inner->ctx);
}

static int fault_discard(void *ctx, uint64_t off, uint64_t len)
{
	struct dev_storage_fault *f = ctx;

	return f->inner->discard(f->inner->ctx, off, len);
}

static int fault_write_zeroes(void *ctx, uint64_t off, uint64_t len)
{
	struct dev_storage_fault *f = ctx;

	return f->inner->write_zeroes(f->inner->ctx, off, len);
}

void dev_storage_fault(struct dev_storage *outer, struct dev_storage_fault *f,
		       struct dev_storage *inner, enum dev_fault kind, uint32_t every)
{
	memset(f, 0, sizeof(*f));
	f->inner = inner;
	f->kind = kind;
	f->every = every ? every : 1;
	memset(outer, 0, sizeof(*outer));
	outer->size = inner->size;
	outer->read_only = inner->read_only;
	outer->ctx = f;
	outer->readv = fault_readv;
	outer->writev = fault_writev;
	outer->flush = fault_flush;
	outer->discard = fault_discard;
	outer->write_zeroes = fault_write_zeroes;
}
