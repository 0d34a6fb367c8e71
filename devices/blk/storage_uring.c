/* io_uring storage for the daemon: one ring per blk queue, O_DIRECT on
 * request, a buffered fd for what O_DIRECT cannot take. See
 * dev/storage_uring.h for what it owns and never does. */
#define _GNU_SOURCE
#include "dev/storage_uring.h"
#include "iovec_advance.h"

#include <errno.h>
#include <fcntl.h>
#include <liburing.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/eventfd.h>
#include <sys/uio.h>
#include <unistd.h>

#include "vu/vq.h"

#define MAX_IOV VU_CHAIN_MAX_IOV
#define FALLBACK_ALIGN 4096u

struct ur_req {
	uint64_t cookie;
	enum dev_storage_kind kind;
	uint64_t off, len; /* len: bytes expected (READ, WRITE) */
	struct iovec *iov; /* MAX_IOV entries of the queue's iov pool */
	uint32_t n_iov;
	int fd; /* the fd it went to (direct or buffered) */
};

struct ur_queue {
	struct io_uring ring;
	bool ring_ok;
	int efd;
	unsigned inflight;
	unsigned queued; /* prepared, not yet submitted */
	struct ur_req req[DEV_URING_DEPTH];
	uint16_t free[DEV_URING_DEPTH];
	uint16_t nfree;
	struct iovec *iov_pool;
};

struct ur_ctx {
	int fd;	     /* O_DIRECT when direct */
	int fd_buf;  /* buffered: unaligned requests, short-transfer finish */
	bool direct; /* fd is O_DIRECT */
	uint32_t off_align, mem_align;
	uint16_t nq;
	uint64_t n_unaligned;
	struct ur_queue *q;
	struct dev_storage_async async;
};

static bool aligned(const struct ur_ctx *c, uint64_t off, const struct vu_iov *iov, uint32_t n)
{
	uint64_t total = 0;

	if (!c->direct)
		return true;
	for (uint32_t i = 0; i < n; i++) {
		if (((uintptr_t)iov[i].base | iov[i].len) & (c->mem_align - 1))
			return false;
		total += iov[i].len;
	}
	return ((off | total) & (c->off_align - 1)) == 0;
}

static void submit_queued(struct ur_queue *q)
{
	if (q->queued) {
		int rc = io_uring_submit(&q->ring);
		if (rc > 0)
			q->queued -= (unsigned)rc < q->queued ? (unsigned)rc : q->queued;
	}
}

static int ur_submit(void *ctx, const struct dev_storage_op *op)
{
	struct ur_ctx *c = ctx;
	struct ur_queue *q;
	struct io_uring_sqe *sqe;
	struct ur_req *r;
	uint16_t i;

	if (op->queue >= c->nq)
		return -EINVAL;
	q = &c->q[op->queue];
	if ((op->kind == DEV_STORAGE_READ || op->kind == DEV_STORAGE_WRITE) &&
	    (op->n_iov == 0 || op->n_iov > MAX_IOV))
		return -EINVAL;
	if (q->nfree == 0)
		return -EAGAIN;
	sqe = io_uring_get_sqe(&q->ring);
	if (!sqe)
		return -EAGAIN;
	i = q->free[--q->nfree];
	r = &q->req[i];
	r->cookie = op->cookie;
	r->kind = op->kind;
	r->off = op->off;
	r->len = op->len;
	r->n_iov = 0;
	r->fd = c->fd;
	switch (op->kind) {
	case DEV_STORAGE_READ:
	case DEV_STORAGE_WRITE:
		/* Copied: the kernel reads the array at submit time, which is
		 * after the caller has reused its own. */
		memcpy(r->iov, op->iov, op->n_iov * sizeof(*r->iov));
		r->n_iov = op->n_iov;
		r->len = 0;
		for (uint32_t k = 0; k < op->n_iov; k++)
			r->len += op->iov[k].len;
		if (!aligned(c, op->off, op->iov, op->n_iov)) {
			r->fd = c->fd_buf;
			c->n_unaligned++;
		}
		if (op->kind == DEV_STORAGE_READ)
			io_uring_prep_readv(sqe, r->fd, r->iov, r->n_iov, op->off);
		else
			io_uring_prep_writev(sqe, r->fd, r->iov, r->n_iov, op->off);
		break;
	case DEV_STORAGE_FLUSH: io_uring_prep_fsync(sqe, c->fd, IORING_FSYNC_DATASYNC); break;
	case DEV_STORAGE_DISCARD:
		io_uring_prep_fallocate(sqe, c->fd, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE,
					op->off, op->len);
		break;
	case DEV_STORAGE_WRITE_ZEROES:
		io_uring_prep_fallocate(sqe, c->fd, FALLOC_FL_ZERO_RANGE | FALLOC_FL_KEEP_SIZE,
					op->off, op->len);
		break;
	default: q->free[q->nfree++] = i; return -EINVAL;
	}
	io_uring_sqe_set_data64(sqe, i);
	q->inflight++;
	q->queued++;
	/* Never hold back more than the disk already has: an idle ring gets
	 * a burst's first request at once, then batches of 1, 2, 4..., so the
	 * disk works while the rest of the burst is still being popped, for
	 * a few notifications per burst; a busy ring waits for the end of the
	 * turn (dev_storage_uring_flush) and one submission. */
	if (q->queued > q->inflight - q->queued)
		submit_queued(q);
	return 0;
}

/* The kernel moved `done` of r->len bytes: finish the rest synchronously on
 * the buffered fd (rare: a transfer cut short). 0 or a negative errno. */
static int finish_short(const struct ur_ctx *c, struct ur_req *r, size_t done)
{
	uint32_t k = r->n_iov;
	struct iovec *v = dev_iovec_advance(r->iov, &k, done);
	uint64_t off = r->off + done;

	while (k) {
		ssize_t n = r->kind == DEV_STORAGE_WRITE ? pwritev(c->fd_buf, v, (int)k, (off_t)off)
							 : preadv(c->fd_buf, v, (int)k, (off_t)off);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return n < 0 ? -errno : -EIO;
		off += (uint64_t)n;
		v = dev_iovec_advance(v, &k, (size_t)n);
	}
	return 0;
}

/* File systems without ZERO_RANGE: write the zeroes (rare, synchronous). */
static int zeroes_by_writing(const struct ur_ctx *c, uint64_t off, uint64_t len)
{
	static const uint8_t zeroes[65536];

	while (len) {
		size_t chunk = len < sizeof(zeroes) ? (size_t)len : sizeof(zeroes);
		ssize_t w = pwrite(c->fd_buf, zeroes, chunk, (off_t)off);
		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0)
			return w < 0 ? -errno : -EIO;
		off += (uint64_t)w;
		len -= (uint64_t)w;
	}
	return 0;
}

static int result_of(const struct ur_ctx *c, struct ur_req *r, int res)
{
	switch (r->kind) {
	case DEV_STORAGE_READ:
	case DEV_STORAGE_WRITE:
		if (res < 0)
			return res;
		return (uint64_t)res < r->len ? finish_short(c, r, (size_t)res) : 0;
	case DEV_STORAGE_DISCARD:
		/* Discard is advisory: no hole punching is no error. */
		return res == -EOPNOTSUPP ? 0 : res;
	case DEV_STORAGE_WRITE_ZEROES:
		if (res == -EOPNOTSUPP || res == -EINVAL)
			return zeroes_by_writing(c, r->off, r->len);
		return res;
	default: return res;
	}
}

/* wait: block for each completion (drain) instead of peeking (reap). */
static int reap_queue(struct ur_ctx *c, struct ur_queue *q, unsigned max, dev_storage_done_fn done,
		      void *arg, bool wait)
{
	struct io_uring_cqe *cqe;
	int n = 0;

	while ((unsigned)n < max && q->inflight &&
	       (wait ? io_uring_wait_cqe(&q->ring, &cqe) : io_uring_peek_cqe(&q->ring, &cqe)) ==
		       0) {
		uint64_t i = io_uring_cqe_get_data64(cqe);
		int res = cqe->res;
		struct ur_req *r;

		io_uring_cqe_seen(&q->ring, cqe);
		if (i >= DEV_URING_DEPTH)
			continue; /* not ours */
		r = &q->req[i];
		res = result_of(c, r, res);
		q->free[q->nfree++] = (uint16_t)i;
		q->inflight--;
		done(arg, r->cookie, res);
		n++;
	}
	return n;
}

static int ur_reap(void *ctx, uint16_t queue, unsigned max, dev_storage_done_fn done, void *arg)
{
	struct ur_ctx *c = ctx;

	return queue < c->nq ? reap_queue(c, &c->q[queue], max, done, arg, false) : 0;
}

static void ur_drain(void *ctx, dev_storage_done_fn done, void *arg)
{
	struct ur_ctx *c = ctx;

	for (uint16_t k = 0; k < c->nq; k++) {
		submit_queued(&c->q[k]);
		(void)reap_queue(c, &c->q[k], DEV_URING_DEPTH, done, arg, true);
	}
}

/* Reset: nothing may write guest memory once this returns. */
static void ur_cancel(void *ctx)
{
	struct ur_ctx *c = ctx;

	for (uint16_t k = 0; k < c->nq; k++) {
		struct ur_queue *q = &c->q[k];
		submit_queued(q);
		while (q->inflight) {
			struct io_uring_cqe *cqe;
			uint64_t i;
			if (io_uring_wait_cqe(&q->ring, &cqe) < 0)
				break;
			i = io_uring_cqe_get_data64(cqe);
			io_uring_cqe_seen(&q->ring, cqe);
			if (i < DEV_URING_DEPTH) {
				q->free[q->nfree++] = (uint16_t)i;
				q->inflight--;
			}
		}
		q->queued = 0;
	}
}

void dev_storage_uring_flush(struct dev_storage *s)
{
	struct ur_ctx *c = s->ctx;

	for (uint16_t k = 0; k < c->nq; k++)
		submit_queued(&c->q[k]);
}

/* What O_DIRECT needs from this file: statx STATX_DIOALIGN (Linux 6.1),
 * else the conservative 4096 for both. */
static void dio_align(struct ur_ctx *c)
{
	struct statx sx;

	c->off_align = c->mem_align = FALLBACK_ALIGN;
	if (statx(c->fd, "", AT_EMPTY_PATH, STATX_DIOALIGN, &sx) == 0 &&
	    (sx.stx_mask & STATX_DIOALIGN) && sx.stx_dio_offset_align && sx.stx_dio_mem_align) {
		c->off_align = sx.stx_dio_offset_align;
		c->mem_align = sx.stx_dio_mem_align;
	}
}

static int queue_init(struct ur_queue *q)
{
	int rc;

	q->efd = -1;
	q->nfree = DEV_URING_DEPTH;
	for (uint16_t i = 0; i < DEV_URING_DEPTH; i++) {
		q->free[i] = (uint16_t)(DEV_URING_DEPTH - 1 - i);
		q->req[i].iov = q->iov_pool + (size_t)i * MAX_IOV;
	}
	/* One thread submits and reaps (SINGLE_ISSUER: the kernel skips its
	 * locking), and completions wait for that thread's next syscall
	 * instead of interrupting it (COOP_TASKRUN); the serving loop makes
	 * one every turn. Kernels before 6.0 refuse the flags: then none. */
	rc = io_uring_queue_init(DEV_URING_DEPTH, &q->ring,
				 IORING_SETUP_SINGLE_ISSUER | IORING_SETUP_COOP_TASKRUN);
	if (rc == -EINVAL)
		rc = io_uring_queue_init(DEV_URING_DEPTH, &q->ring, 0);
	if (rc < 0)
		return rc;
	q->ring_ok = true;
	q->efd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
	if (q->efd < 0)
		return -errno;
	return io_uring_register_eventfd(&q->ring, q->efd);
}

static void ctx_free(struct ur_ctx *c)
{
	if (c->q) {
		for (uint16_t k = 0; k < c->nq; k++) {
			struct ur_queue *q = &c->q[k];
			if (q->ring_ok)
				io_uring_queue_exit(&q->ring);
			if (q->efd >= 0)
				close(q->efd);
			free(q->iov_pool);
		}
		free(c->q);
	}
	if (c->fd >= 0)
		close(c->fd);
	if (c->fd_buf >= 0)
		close(c->fd_buf);
	free(c);
}

static int open_files(struct ur_ctx *c, const struct dev_uring_config *cfg, const char **failed)
{
	int mode = (cfg->read_only ? O_RDONLY : O_RDWR) | O_CLOEXEC;

	c->fd_buf = open(cfg->path, mode);
	if (c->fd_buf < 0) {
		*failed = "open";
		return -errno;
	}
	c->direct = cfg->direct;
	c->off_align = c->mem_align = 1;
	if (!cfg->direct) {
		c->fd = dup(c->fd_buf);
		*failed = "dup";
		return c->fd < 0 ? -errno : 0;
	}
	c->fd = open(cfg->path, mode | O_DIRECT);
	if (c->fd < 0) {
		/* tmpfs and some FUSE file systems have no O_DIRECT. */
		*failed = "O_DIRECT open";
		return -errno;
	}
	dio_align(c);
	return 0;
}

int dev_storage_uring_open(struct dev_storage *s, const struct dev_uring_config *cfg,
			   const char **failed)
{
	struct ur_ctx *c;
	struct stat st;
	int rc;

	*failed = "arguments";
	if (!cfg->path || cfg->num_queues == 0)
		return -EINVAL;
	c = calloc(1, sizeof(*c)); /* once, at start-up */
	if (!c) {
		*failed = "allocation";
		return -ENOMEM;
	}
	c->fd = c->fd_buf = -1;
	rc = open_files(c, cfg, failed);
	if (rc == 0 && (fstat(c->fd_buf, &st) < 0 || st.st_size < 512)) {
		*failed = "size (at least 512 bytes)";
		rc = -EINVAL;
	}
	if (rc == 0) {
		c->q = calloc(cfg->num_queues, sizeof(*c->q));
		rc = c->q ? 0 : -ENOMEM;
		*failed = "allocation";
	}
	if (rc == 0) {
		c->nq = cfg->num_queues;
		for (uint16_t k = 0; k < c->nq; k++)
			c->q[k].efd = -1;
		for (uint16_t k = 0; k < c->nq && rc == 0; k++) {
			c->q[k].iov_pool =
				calloc((size_t)DEV_URING_DEPTH * MAX_IOV, sizeof(struct iovec));
			if (!c->q[k].iov_pool)
				rc = -ENOMEM;
			else
				rc = queue_init(&c->q[k]);
			if (rc)
				*failed = c->q[k].ring_ok ? "io_uring eventfd"
							  : "io_uring_queue_init";
		}
	}
	if (rc) {
		ctx_free(c);
		return rc;
	}
	c->async = (struct dev_storage_async){.num_queues = c->nq,
					      .submit = ur_submit,
					      .reap = ur_reap,
					      .cancel = ur_cancel,
					      .drain = ur_drain};
	memset(s, 0, sizeof(*s));
	s->size = (uint64_t)st.st_size - (uint64_t)st.st_size % 512;
	s->read_only = cfg->read_only;
	s->ctx = c;
	s->async = &c->async;
	return 0;
}

void dev_storage_uring_close(struct dev_storage *s)
{
	if (s->ctx) {
		ur_cancel(s->ctx);
		ctx_free(s->ctx);
	}
	s->ctx = NULL;
	s->async = NULL;
}

int dev_storage_uring_event_fd(const struct dev_storage *s, uint16_t queue)
{
	const struct ur_ctx *c = s->ctx;
	return queue < c->nq ? c->q[queue].efd : -1;
}

void dev_storage_uring_drain_event(const struct dev_storage *s, uint16_t queue)
{
	const struct ur_ctx *c = s->ctx;
	uint64_t v;

	if (queue < c->nq)
		(void)!read(c->q[queue].efd, &v, sizeof(v));
}

bool dev_storage_uring_waiting(const struct dev_storage *s)
{
	const struct ur_ctx *c = s->ctx;
	bool waiting = false;

	for (uint16_t k = 0; c && k < c->nq; k++) {
		/* Cast: liburing's accessor takes a non-const ring. */
		if (io_uring_cq_ready((struct io_uring *)&c->q[k].ring))
			return false;
		waiting |= c->q[k].inflight > 0;
	}
	return waiting;
}

uint32_t dev_storage_uring_offset_align(const struct dev_storage *s)
{
	return ((const struct ur_ctx *)s->ctx)->off_align;
}

uint32_t dev_storage_uring_mem_align(const struct dev_storage *s)
{
	return ((const struct ur_ctx *)s->ctx)->mem_align;
}

uint64_t dev_storage_uring_unaligned(const struct dev_storage *s)
{
	return ((const struct ur_ctx *)s->ctx)->n_unaligned;
}

int dev_storage_uring_refresh(struct dev_storage *s)
{
	const struct ur_ctx *c = s->ctx;
	struct stat st;
	uint64_t size;

	if (!c)
		return -EBADF;
	if (fstat(c->fd_buf, &st) < 0)
		return -errno;
	size = (uint64_t)st.st_size - (uint64_t)st.st_size % 512;
	if (size < 512)
		return -EINVAL;
	if (size == s->size)
		return 0;
	s->size = size;
	return 1;
}
