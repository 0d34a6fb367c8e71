/* test_shmem_backend.c - SHMEM (protocol feature 22) on the back-end side.
 *
 * A vu_backend on the fake platform serves a device that declares shared
 * memory regions: shmid 0 = 1 MiB, 1 = 4 MiB, 2 unused, 3 = 64 KiB. The
 * tests drive GET_SHMEM_CONFIG through vu_backend_handle(), and SHMEM_MAP/
 * UNMAP through the device API; replies are queued on the fake backend
 * channel and read back with vu_backend_handle_backend_reply(), as the
 * host loop does when the channel becomes readable.
 */
#define _DEFAULT_SOURCE
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "helpers/fake_platform.h"
#include "helpers/msg_build.h"
#include "vu/backend.h"
#include "vu/shmem.h"

#define MIB 0x100000ull
#define PF_SHMEM_ALL (VU_BIT(VU_PF_SHMEM) | VU_BIT(VU_PF_REPLY_ACK) | VU_BIT(VU_PF_BACKEND_REQ))
#define MAX_DONE 128

static const uint64_t sizes[4] = {MIB, 4 * MIB, 0, 0x10000};

struct sdev {
	struct vu_device desc;
	struct vu_shmem_done done[MAX_DONE];
	int ndone;
	int resets;
};

static int sd_serve(void *dev, struct vu_backend *b, struct vu_req *req)
{
	(void)dev, (void)b, (void)req;
	return VU_DONE;
}

static void sd_reset(void *dev)
{
	((struct sdev *)dev)->resets++;
}

static void sd_done(void *dev, const struct vu_shmem_done *d)
{
	struct sdev *s = dev;

	if (s->ndone < MAX_DONE)
		s->done[s->ndone] = *d;
	s->ndone++;
}

static const struct vu_device_ops sd_ops = {
	.serve = sd_serve,
	.reset = sd_reset,
	.shmem_done = sd_done,
};

struct fx {
	struct fake_platform fp;
	struct vu_backend b;
	struct sdev dev;
	struct vu_msg m;
	int chan;
	int memfd;
};

static void fx_init(struct fx *f)
{
	memset(&f->dev, 0, sizeof(f->dev));
	f->dev.desc.ops = &sd_ops;
	f->dev.desc.name = "shm";
	f->dev.desc.virtio_id = 0x7e58;
	f->dev.desc.num_queues = 1;
	f->dev.desc.max_queue_size = 64;
	f->dev.desc.num_shmem = 4;
	f->dev.desc.shmem_sizes = sizes;
	vu_backend_init(&f->b, &f->fp.plat, &f->dev.desc, &f->dev, NULL);
}

static int setup(void **state)
{
	struct fx *f = calloc(1, sizeof(*f));

	assert_non_null(f);
	fake_platform_init(&f->fp, 1);
	fx_init(f);
	f->chan = -1;
	f->memfd = fake_file_new(&f->fp, 8 * MIB);
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fx *f = *state;

	vu_backend_disconnect(&f->b);
	fake_platform_fini(&f->fp);
	free(f);
	return 0;
}

static int handle(struct fx *f)
{
	return vu_backend_handle(&f->b, &f->m);
}

static void send_u64(struct fx *f, uint32_t req, uint64_t v)
{
	msg_build(&f->m, req, 8);
	f->m.p.u64 = v;
	assert_int_equal(handle(f), 0);
}

/* SET_OWNER, SET_PROTOCOL_FEATURES(pf) and, with BACKEND_REQ, a channel. */
static void negotiate(struct fx *f, uint64_t pf)
{
	msg_build(&f->m, VU_REQ_SET_OWNER, 0);
	assert_int_equal(handle(f), 0);
	send_u64(f, VU_REQ_SET_PROTOCOL_FEATURES, pf);
	if (pf & VU_BIT(VU_PF_BACKEND_REQ)) {
		f->chan = fake_file_new(&f->fp, 8);
		msg_build(&f->m, VU_REQ_SET_BACKEND_REQ_FD, 0);
		f->m.fds[0] = f->chan;
		f->m.nfds = 1;
		assert_int_equal(handle(f), 0);
		assert_int_equal(f->b.backend_chan, f->chan);
	}
}

static int map(struct fx *f, uint8_t shmid, uint64_t off, uint64_t len)
{
	return vu_backend_shmem_map(&f->b, shmid, f->memfd, 0, off, len, true);
}

static void reply(struct fx *f, uint32_t req, uint64_t status)
{
	assert_non_null(fake_backend_reply(&f->fp, req, status));
}

static int settle(struct fx *f)
{
	return vu_backend_handle_backend_reply(&f->b);
}

/* Map and get a success reply. */
static void mapped(struct fx *f, uint8_t shmid, uint64_t off, uint64_t len)
{
	assert_int_equal(map(f, shmid, off, len), 0);
	reply(f, VU_BREQ_SHMEM_MAP, 0);
	assert_int_equal(settle(f), 1);
	assert_int_equal(vu_backend_shmem_state(&f->b, shmid, off), VU_SHMEM_MAPPED);
}

/* ---- offer and GET_SHMEM_CONFIG ----------------------------------------- */

static uint64_t offered(struct fx *f)
{
	vu_backend_init(&f->b, &f->fp.plat, &f->dev.desc, &f->dev, NULL);
	return vu_backend_offered_protocol_features(&f->b);
}

static void test_offered_only_with_declared_regions(void **state)
{
	struct fx *f = *state;
	static const uint64_t zeros[2] = {0, 0};
	uint64_t pf = offered(f);

	assert_true(pf & VU_BIT(VU_PF_SHMEM));
	/* Only together with what makes a reply possible. */
	assert_true(pf & VU_BIT(VU_PF_REPLY_ACK));
	assert_true(pf & VU_BIT(VU_PF_BACKEND_REQ));

	f->dev.desc.shmem_sizes = zeros;
	f->dev.desc.num_shmem = 2;
	assert_false(offered(f) & VU_BIT(VU_PF_SHMEM));
	f->dev.desc.num_shmem = 0;
	f->dev.desc.shmem_sizes = sizes;
	assert_false(offered(f) & VU_BIT(VU_PF_SHMEM));
	f->dev.desc.num_shmem = VU_SHMEM_MAX_REGIONS + 1;
	assert_false(offered(f) & VU_BIT(VU_PF_SHMEM));
	f->dev.desc.num_shmem = 4;
	f->dev.desc.shmem_sizes = NULL;
	assert_false(offered(f) & VU_BIT(VU_PF_SHMEM));
}

static void test_not_offered_without_backend_recv(void **state)
{
	struct fx *f = *state;

	f->fp.plat.backend_recv = NULL;
	assert_false(offered(f) & VU_BIT(VU_PF_SHMEM));
}

static void test_get_shmem_config_contents(void **state)
{
	struct fx *f = *state;
	const struct vu_msg *r;

	negotiate(f, PF_SHMEM_ALL);
	msg_build(&f->m, VU_REQ_GET_SHMEM_CONFIG, 0);
	assert_int_equal(handle(f), 0);
	assert_int_equal(f->fp.nsent, 1);
	r = &f->fp.sent[0];
	assert_int_equal(r->hdr.request, VU_REQ_GET_SHMEM_CONFIG);
	assert_int_equal(r->hdr.flags, VU_REPLY_FLAGS);
	assert_int_equal(r->hdr.size, 2056);
	assert_int_equal(r->nfds, 0);
	/* Counted up to the last used shmid; unused ones read 0. */
	assert_int_equal(r->p.shmem_config.nregions, 4);
	assert_int_equal(r->p.shmem_config.padding, 0);
	assert_int_equal(r->p.shmem_config.sizes[0], MIB);
	assert_int_equal(r->p.shmem_config.sizes[1], 4 * MIB);
	assert_int_equal(r->p.shmem_config.sizes[2], 0);
	assert_int_equal(r->p.shmem_config.sizes[3], 0x10000);
	for (uint32_t i = 4; i < VU_SHMEM_MAX_REGIONS; i++)
		assert_int_equal(r->p.shmem_config.sizes[i], 0);
}

static void test_get_shmem_config_before_owner(void **state)
{
	struct fx *f = *state;

	send_u64(f, VU_REQ_SET_PROTOCOL_FEATURES, VU_BIT(VU_PF_SHMEM));
	msg_build(&f->m, VU_REQ_GET_SHMEM_CONFIG, 0);
	assert_int_equal(handle(f), 0);
	assert_int_equal(f->fp.nsent, 1);
}

static void test_get_shmem_config_not_negotiated(void **state)
{
	struct fx *f = *state;

	negotiate(f, VU_BIT(VU_PF_REPLY_ACK) | VU_BIT(VU_PF_BACKEND_REQ));
	msg_build(&f->m, VU_REQ_GET_SHMEM_CONFIG, 0);
	f->m.hdr.flags |= VU_FLAG_NEED_REPLY;
	/* It has a reply of its own, so no valid answer exists: close. */
	assert_int_equal(handle(f), -EOPNOTSUPP);
	assert_int_equal(f->fp.nsent, 0);
}

static void test_get_shmem_config_with_payload(void **state)
{
	struct fx *f = *state;

	negotiate(f, PF_SHMEM_ALL);
	msg_build(&f->m, VU_REQ_GET_SHMEM_CONFIG, 8);
	assert_int_equal(handle(f), -EINVAL);
	assert_int_equal(f->fp.nsent, 0);
}

static void test_get_shmem_config_with_fd_closes_it(void **state)
{
	struct fx *f = *state;
	int fd, closes;

	negotiate(f, PF_SHMEM_ALL);
	fd = fake_file_new(&f->fp, 8);
	closes = f->fp.closes;
	msg_build(&f->m, VU_REQ_GET_SHMEM_CONFIG, 0);
	f->m.fds[0] = fd;
	f->m.nfds = 1;
	assert_int_equal(handle(f), -EINVAL);
	assert_int_equal(f->fp.nsent, 0);
	assert_int_equal(f->fp.closes, closes + 1);
	assert_int_equal(f->fp.files[fd - FAKE_FD_BASE].open, 0);
}

static void test_set_protocol_features_shmem_needs_no_reply_ack(void **state)
{
	struct fx *f = *state;

	/* The front-end may take SHMEM alone (GET_SHMEM_CONFIG still works);
	 * mapping is what needs the rest, and is refused later. */
	negotiate(f, VU_BIT(VU_PF_SHMEM));
	assert_int_equal(f->b.pfeatures, VU_BIT(VU_PF_SHMEM));
}

/* ---- SHMEM_MAP: the request on the wire --------------------------------- */

static void test_map_sends_request_with_need_reply(void **state)
{
	struct fx *f = *state;
	const struct vu_msg *m;

	negotiate(f, PF_SHMEM_ALL);
	assert_int_equal(vu_backend_shmem_map(&f->b, 1, f->memfd, 0x2000, 0x10000, 0x4000, false),
			 0);
	assert_int_equal(f->fp.nbackend_sent, 1);
	m = &f->fp.backend_sent[0];
	assert_int_equal(m->hdr.request, VU_BREQ_SHMEM_MAP);
	assert_int_equal(m->hdr.flags, VU_VERSION | VU_FLAG_NEED_REPLY);
	assert_int_equal(m->hdr.size, 40);
	assert_int_equal(m->nfds, 1);
	assert_int_equal(m->fds[0], f->memfd);
	assert_int_equal(m->p.shmem_map.shmid, 1);
	assert_int_equal(m->p.shmem_map.fd_offset, 0x2000);
	assert_int_equal(m->p.shmem_map.shm_offset, 0x10000);
	assert_int_equal(m->p.shmem_map.len, 0x4000);
	assert_int_equal(m->p.shmem_map.flags, 0);
	for (int i = 0; i < 7; i++)
		assert_int_equal(m->p.shmem_map.padding[i], 0);
	/* Nothing on the main channel; the fd stays the caller's. */
	assert_int_equal(f->fp.nsent, 0);
	assert_int_equal(f->fp.files[f->memfd - FAKE_FD_BASE].open, 1);
	/* Returned at once: pending until the reply is read. */
	assert_int_equal(vu_backend_shmem_state(&f->b, 1, 0x10000), VU_SHMEM_MAP_PENDING);
	assert_int_equal(vu_backend_shmem_pending(&f->b), 1);
	assert_int_equal(f->dev.ndone, 0);
}

static void test_map_rw_flag(void **state)
{
	struct fx *f = *state;

	negotiate(f, PF_SHMEM_ALL);
	assert_int_equal(map(f, 0, 0, 0x1000), 0);
	assert_int_equal(f->fp.backend_sent[0].p.shmem_map.flags, VU_SHMEM_MAP_RW);
}

static void test_map_success_reply(void **state)
{
	struct fx *f = *state;

	negotiate(f, PF_SHMEM_ALL);
	assert_int_equal(map(f, 0, 0x1000, 0x1000), 0);
	/* Nothing to read yet: still pending, no callback. */
	assert_int_equal(settle(f), 0);
	assert_int_equal(vu_backend_shmem_state(&f->b, 0, 0x1000), VU_SHMEM_MAP_PENDING);
	reply(f, VU_BREQ_SHMEM_MAP, 0);
	assert_int_equal(settle(f), 1);
	assert_int_equal(vu_backend_shmem_state(&f->b, 0, 0x1000), VU_SHMEM_MAPPED);
	assert_int_equal(vu_backend_shmem_pending(&f->b), 0);
	assert_int_equal(f->dev.ndone, 1);
	assert_int_equal(f->dev.done[0].request, VU_BREQ_SHMEM_MAP);
	assert_int_equal(f->dev.done[0].status, 0);
	assert_int_equal(f->dev.done[0].shmid, 0);
	assert_int_equal(f->dev.done[0].shm_offset, 0x1000);
	assert_int_equal(f->dev.done[0].len, 0x1000);
	assert_false(f->dev.done[0].orphaned);
	assert_int_equal(f->b.backend_chan, f->chan);
}

static void test_map_failure_reply_removes_pending(void **state)
{
	struct fx *f = *state;

	negotiate(f, PF_SHMEM_ALL);
	assert_int_equal(map(f, 0, 0, 0x2000), 0);
	reply(f, VU_BREQ_SHMEM_MAP, EINVAL);
	assert_int_equal(settle(f), 1);
	assert_int_equal(vu_backend_shmem_state(&f->b, 0, 0), VU_SHMEM_NONE);
	assert_int_equal(vu_backend_shmem_count(&f->b), 0);
	assert_int_equal(f->dev.done[0].status, -EINVAL);
	/* The range is free again; the channel stays up. */
	assert_int_equal(f->b.backend_chan, f->chan);
	assert_int_equal(map(f, 0, 0, 0x2000), 0);
}

static void test_map_failure_as_negative_errno(void **state)
{
	struct fx *f = *state;

	negotiate(f, PF_SHMEM_ALL);
	assert_int_equal(map(f, 0, 0, 0x2000), 0);
	reply(f, VU_BREQ_SHMEM_MAP, (uint64_t)(int64_t)-ENOMEM);
	assert_int_equal(settle(f), 1);
	assert_int_equal(f->dev.done[0].status, -ENOMEM);
	assert_int_equal(map(f, 0, 0x2000, 0x2000), 0);
	reply(f, VU_BREQ_SHMEM_MAP, 0x123456789ull);
	assert_int_equal(settle(f), 1);
	assert_int_equal(f->dev.done[1].status, -EIO);
}

static void test_replies_settle_in_order(void **state)
{
	struct fx *f = *state;

	negotiate(f, PF_SHMEM_ALL);
	assert_int_equal(map(f, 0, 0, 0x1000), 0);
	assert_int_equal(map(f, 1, 0, 0x1000), 0);
	assert_int_equal(map(f, 3, 0, 0x1000), 0);
	reply(f, VU_BREQ_SHMEM_MAP, 0);
	reply(f, VU_BREQ_SHMEM_MAP, EPERM);
	reply(f, VU_BREQ_SHMEM_MAP, 0);
	assert_int_equal(settle(f), 3);
	assert_int_equal(vu_backend_shmem_state(&f->b, 0, 0), VU_SHMEM_MAPPED);
	assert_int_equal(vu_backend_shmem_state(&f->b, 1, 0), VU_SHMEM_NONE);
	assert_int_equal(vu_backend_shmem_state(&f->b, 3, 0), VU_SHMEM_MAPPED);
	assert_int_equal(f->dev.done[1].shmid, 1);
	assert_int_equal(f->dev.done[1].status, -EPERM);
}

/* ---- SHMEM_MAP: local refusals, nothing sent ----------------------------- */

static void expect_map_refused(struct fx *f, uint8_t shmid, uint64_t off, uint64_t len, int err)
{
	int sent = f->fp.nbackend_sent;
	uint32_t count = vu_backend_shmem_count(&f->b);

	assert_int_equal(map(f, shmid, off, len), err);
	assert_int_equal(f->fp.nbackend_sent, sent);
	assert_int_equal(vu_backend_shmem_count(&f->b), count);
}

static void test_map_unknown_shmid(void **state)
{
	struct fx *f = *state;

	negotiate(f, PF_SHMEM_ALL);
	expect_map_refused(f, 2, 0, 0x1000, -EINVAL); /* declared with size 0 */
	expect_map_refused(f, 4, 0, 0x1000, -EINVAL); /* beyond num_shmem */
	expect_map_refused(f, 255, 0, 0x1000, -EINVAL);
}

static void test_map_out_of_range(void **state)
{
	struct fx *f = *state;

	negotiate(f, PF_SHMEM_ALL);
	expect_map_refused(f, 0, MIB - 0x1000, 0x2000, -ERANGE);
	expect_map_refused(f, 0, MIB, 0x1000, -ERANGE);
	expect_map_refused(f, 3, 0, 0x10001, -ERANGE);
	/* The exact end is fine. */
	assert_int_equal(map(f, 0, MIB - 0x1000, 0x1000), 0);
}

static void test_map_overflow(void **state)
{
	struct fx *f = *state;
	int sent;

	negotiate(f, PF_SHMEM_ALL);
	expect_map_refused(f, 1, UINT64_MAX - 0xfff, 0x2000, -ERANGE);
	expect_map_refused(f, 1, 0x1000, UINT64_MAX, -ERANGE);
	sent = f->fp.nbackend_sent;
	assert_int_equal(
		vu_backend_shmem_map(&f->b, 1, f->memfd, UINT64_MAX - 0xfff, 0, 0x2000, true),
		-ERANGE);
	assert_int_equal(f->fp.nbackend_sent, sent);
}

static void test_map_zero_length(void **state)
{
	struct fx *f = *state;

	negotiate(f, PF_SHMEM_ALL);
	expect_map_refused(f, 0, 0, 0, -EINVAL);
}

static void test_map_without_fd(void **state)
{
	struct fx *f = *state;

	negotiate(f, PF_SHMEM_ALL);
	assert_int_equal(vu_backend_shmem_map(&f->b, 0, -1, 0, 0, 0x1000, true), -EBADF);
	assert_int_equal(f->fp.nbackend_sent, 0);
}

static void test_map_overlap_with_mapped(void **state)
{
	struct fx *f = *state;

	negotiate(f, PF_SHMEM_ALL);
	mapped(f, 0, 0x10000, 0x10000);
	expect_map_refused(f, 0, 0x10000, 0x10000, -EEXIST); /* identical */
	expect_map_refused(f, 0, 0x8000, 0x9000, -EEXIST);   /* tail overlaps head */
	expect_map_refused(f, 0, 0x1f000, 0x2000, -EEXIST);  /* head overlaps tail */
	expect_map_refused(f, 0, 0x12000, 0x1000, -EEXIST);  /* inside */
	expect_map_refused(f, 0, 0, 0x40000, -EEXIST);	     /* around */
	/* Adjacent on both sides, and the same range of another region: fine. */
	assert_int_equal(map(f, 0, 0xf000, 0x1000), 0);
	assert_int_equal(map(f, 0, 0x20000, 0x1000), 0);
	assert_int_equal(map(f, 1, 0x10000, 0x10000), 0);
}

static void test_map_overlap_with_pending(void **state)
{
	struct fx *f = *state;

	negotiate(f, PF_SHMEM_ALL);
	mapped(f, 3, 0, 0x1000);
	assert_int_equal(map(f, 1, 0, 0x4000), 0);
	expect_map_refused(f, 1, 0x3000, 0x1000, -EEXIST);
	/* A pending unmap still holds its range too. */
	assert_int_equal(vu_backend_shmem_unmap(&f->b, 3, 0, 0x1000), 0);
	expect_map_refused(f, 3, 0, 0x1000, -EEXIST);
}

static void test_map_not_negotiated(void **state)
{
	struct fx *f = *state;

	negotiate(f, VU_BIT(VU_PF_REPLY_ACK) | VU_BIT(VU_PF_BACKEND_REQ));
	expect_map_refused(f, 0, 0, 0x1000, -EOPNOTSUPP);
	assert_int_equal(vu_backend_shmem_unmap(&f->b, 0, 0, 0x1000), -EOPNOTSUPP);
}

static void test_map_without_reply_ack_refused(void **state)
{
	struct fx *f = *state;

	negotiate(f, VU_BIT(VU_PF_SHMEM) | VU_BIT(VU_PF_BACKEND_REQ));
	expect_map_refused(f, 0, 0, 0x1000, -EOPNOTSUPP);
	assert_non_null(strstr(f->fp.last_log, "REPLY_ACK"));
}

static void test_map_without_backend_channel(void **state)
{
	struct fx *f = *state;

	negotiate(f, VU_BIT(VU_PF_SHMEM) | VU_BIT(VU_PF_REPLY_ACK));
	expect_map_refused(f, 0, 0, 0x1000, -EOPNOTSUPP);
	vu_backend_disconnect(&f->b);
	/* All three negotiated, but SET_BACKEND_REQ_FD never came. */
	msg_build(&f->m, VU_REQ_SET_OWNER, 0);
	assert_int_equal(handle(f), 0);
	send_u64(f, VU_REQ_SET_PROTOCOL_FEATURES, PF_SHMEM_ALL);
	expect_map_refused(f, 0, 0, 0x1000, -ENOTCONN);
}

static void test_map_send_failure_leaves_nothing(void **state)
{
	struct fx *f = *state;

	negotiate(f, PF_SHMEM_ALL);
	f->fp.fail_backend_send = EPIPE;
	assert_int_equal(map(f, 0, 0, 0x1000), -EPIPE);
	assert_int_equal(vu_backend_shmem_count(&f->b), 0);
	assert_int_equal(vu_backend_shmem_pending(&f->b), 0);
	f->fp.fail_backend_send = 0;
	assert_int_equal(map(f, 0, 0, 0x1000), 0);
}

static void test_map_pending_limit(void **state)
{
	struct fx *f = *state;

	negotiate(f, PF_SHMEM_ALL);
	for (uint64_t i = 0; i < VU_SHMEM_MAX_MAPS; i++)
		assert_int_equal(map(f, 0, i * 0x1000, 0x1000), 0);
	expect_map_refused(f, 1, 0, 0x1000, -EBUSY);
	reply(f, VU_BREQ_SHMEM_MAP, 0);
	assert_int_equal(settle(f), 1);
	/* A reply frees a pending slot, but every table slot is now taken. */
	expect_map_refused(f, 1, 0, 0x1000, -ENOSPC);
}

/* ---- SHMEM_UNMAP -------------------------------------------------------- */

static void test_unmap_sends_request(void **state)
{
	struct fx *f = *state;
	const struct vu_msg *m;

	negotiate(f, PF_SHMEM_ALL);
	mapped(f, 1, 0x20000, 0x8000);
	assert_int_equal(vu_backend_shmem_unmap(&f->b, 1, 0x20000, 0x8000), 0);
	m = &f->fp.backend_sent[f->fp.nbackend_sent - 1];
	assert_int_equal(m->hdr.request, VU_BREQ_SHMEM_UNMAP);
	assert_int_equal(m->hdr.flags, VU_VERSION | VU_FLAG_NEED_REPLY);
	assert_int_equal(m->hdr.size, 40);
	assert_int_equal(m->nfds, 0);
	assert_int_equal(m->p.shmem_map.shmid, 1);
	assert_int_equal(m->p.shmem_map.shm_offset, 0x20000);
	assert_int_equal(m->p.shmem_map.len, 0x8000);
	assert_int_equal(vu_backend_shmem_state(&f->b, 1, 0x20000), VU_SHMEM_UNMAP_PENDING);
	reply(f, VU_BREQ_SHMEM_UNMAP, 0);
	assert_int_equal(settle(f), 1);
	assert_int_equal(vu_backend_shmem_state(&f->b, 1, 0x20000), VU_SHMEM_NONE);
	assert_int_equal(f->dev.done[1].request, VU_BREQ_SHMEM_UNMAP);
	assert_int_equal(f->dev.done[1].status, 0);
}

static void test_unmap_failure_keeps_mapping(void **state)
{
	struct fx *f = *state;

	negotiate(f, PF_SHMEM_ALL);
	mapped(f, 0, 0, 0x4000);
	assert_int_equal(vu_backend_shmem_unmap(&f->b, 0, 0, 0x4000), 0);
	reply(f, VU_BREQ_SHMEM_UNMAP, EBUSY);
	assert_int_equal(settle(f), 1);
	assert_int_equal(vu_backend_shmem_state(&f->b, 0, 0), VU_SHMEM_MAPPED);
	assert_int_equal(f->dev.done[1].status, -EBUSY);
}

static void expect_unmap_refused(struct fx *f, uint8_t shmid, uint64_t off, uint64_t len, int err)
{
	int sent = f->fp.nbackend_sent;

	assert_int_equal(vu_backend_shmem_unmap(&f->b, shmid, off, len), err);
	assert_int_equal(f->fp.nbackend_sent, sent);
}

static void test_unmap_partial(void **state)
{
	struct fx *f = *state;

	negotiate(f, PF_SHMEM_ALL);
	mapped(f, 0, 0x10000, 0x4000);
	expect_unmap_refused(f, 0, 0x10000, 0x1000, -EINVAL); /* head only */
	expect_unmap_refused(f, 0, 0x13000, 0x1000, -EINVAL); /* tail only */
	expect_unmap_refused(f, 0, 0x8000, 0x10000, -EINVAL); /* more than it */
	assert_int_equal(vu_backend_shmem_state(&f->b, 0, 0x10000), VU_SHMEM_MAPPED);
}

static void test_unmap_spanning_two_mappings(void **state)
{
	struct fx *f = *state;

	negotiate(f, PF_SHMEM_ALL);
	mapped(f, 0, 0, 0x1000);
	mapped(f, 0, 0x1000, 0x1000);
	expect_unmap_refused(f, 0, 0, 0x2000, -EINVAL);
}

static void test_unmap_nothing_there(void **state)
{
	struct fx *f = *state;

	negotiate(f, PF_SHMEM_ALL);
	expect_unmap_refused(f, 0, 0, 0x1000, -ENOENT);
	mapped(f, 0, 0, 0x1000);
	expect_unmap_refused(f, 1, 0, 0x1000, -ENOENT); /* same range, other region */
}

static void test_unmap_bad_ranges(void **state)
{
	struct fx *f = *state;

	negotiate(f, PF_SHMEM_ALL);
	expect_unmap_refused(f, 2, 0, 0x1000, -EINVAL);
	expect_unmap_refused(f, 9, 0, 0x1000, -EINVAL);
	expect_unmap_refused(f, 0, 0, 0, -EINVAL);
	expect_unmap_refused(f, 0, UINT64_MAX - 0xfff, 0x2000, -ERANGE);
	expect_unmap_refused(f, 3, 0x10000, 0x1000, -ERANGE);
}

static void test_unmap_pending_map(void **state)
{
	struct fx *f = *state;

	negotiate(f, PF_SHMEM_ALL);
	mapped(f, 1, 0, 0x1000);
	assert_int_equal(map(f, 0, 0, 0x1000), 0);
	expect_unmap_refused(f, 0, 0, 0x1000, -EBUSY);
	assert_int_equal(vu_backend_shmem_unmap(&f->b, 1, 0, 0x1000), 0);
	expect_unmap_refused(f, 1, 0, 0x1000, -EBUSY);
}

/* ---- hostile replies ---------------------------------------------------- */

/* The channel is closed (its fd too), the pending request failed with err. */
static void expect_channel_dropped(struct fx *f, int err)
{
	assert_int_equal(f->b.backend_chan, -1);
	assert_int_equal(f->fp.files[f->chan - FAKE_FD_BASE].open, 0);
	assert_int_equal(vu_backend_shmem_pending(&f->b), 0);
	assert_int_equal(f->dev.ndone, 1);
	assert_int_equal(f->dev.done[0].status, err);
	assert_int_equal(vu_backend_shmem_state(&f->b, 0, 0), VU_SHMEM_NONE);
	/* Later calls are refused cleanly, and a later read does nothing. */
	assert_int_equal(map(f, 0, 0, 0x1000), -ENOTCONN);
	assert_int_equal(settle(f), 0);
}

static void test_reply_with_wrong_code(void **state)
{
	struct fx *f = *state;

	negotiate(f, PF_SHMEM_ALL);
	assert_int_equal(map(f, 0, 0, 0x1000), 0);
	reply(f, VU_BREQ_SHMEM_UNMAP, 0);
	assert_int_equal(settle(f), 0);
	expect_channel_dropped(f, -EPROTO);
	assert_int_equal(f->b.shmem.n_bad_replies, 1);
}

static void test_reply_with_wrong_flags(void **state)
{
	static const uint32_t bad_flags[] = {VU_VERSION, VU_FLAG_REPLY, 0x5 | VU_FLAG_NEED_REPLY,
					     0x6, 0x5 | 0x100};

	for (size_t i = 0; i < sizeof(bad_flags) / sizeof(bad_flags[0]); i++) {
		struct fx *f = *state;

		negotiate(f, PF_SHMEM_ALL);
		assert_int_equal(map(f, 0, 0, 0x1000), 0);
		fake_backend_reply(&f->fp, VU_BREQ_SHMEM_MAP, 0)->hdr.flags = bad_flags[i];
		assert_int_equal(settle(f), 0);
		expect_channel_dropped(f, -EPROTO);
		teardown(state);
		setup(state);
	}
}

static void test_reply_with_wrong_size(void **state)
{
	static const uint32_t bad_sizes[] = {0, 4, 16, 40};

	for (size_t i = 0; i < sizeof(bad_sizes) / sizeof(bad_sizes[0]); i++) {
		struct fx *f = *state;

		negotiate(f, PF_SHMEM_ALL);
		assert_int_equal(map(f, 0, 0, 0x1000), 0);
		fake_backend_reply(&f->fp, VU_BREQ_SHMEM_MAP, 0)->hdr.size = bad_sizes[i];
		assert_int_equal(settle(f), 0);
		expect_channel_dropped(f, -EPROTO);
		teardown(state);
		setup(state);
	}
}

static void test_reply_with_fd(void **state)
{
	struct fx *f = *state;
	struct vu_msg *r;
	int fd;

	negotiate(f, PF_SHMEM_ALL);
	assert_int_equal(map(f, 0, 0, 0x1000), 0);
	fd = fake_file_new(&f->fp, 8);
	r = fake_backend_reply(&f->fp, VU_BREQ_SHMEM_MAP, 0);
	r->fds[0] = fd;
	r->nfds = 1;
	assert_int_equal(settle(f), 0);
	assert_int_equal(f->fp.files[fd - FAKE_FD_BASE].open, 0);
	expect_channel_dropped(f, -EPROTO);
}

static void test_unexpected_reply(void **state)
{
	struct fx *f = *state;

	negotiate(f, PF_SHMEM_ALL);
	reply(f, VU_BREQ_SHMEM_MAP, 0);
	assert_int_equal(settle(f), 0);
	assert_int_equal(f->b.backend_chan, -1);
	assert_int_equal(f->fp.files[f->chan - FAKE_FD_BASE].open, 0);
	assert_int_equal(f->dev.ndone, 0);
	/* A config change now reports the missing channel, nothing crashes. */
	assert_int_equal(vu_backend_config_changed(&f->b), -ENOTCONN);
}

static void test_second_reply_for_one_request(void **state)
{
	struct fx *f = *state;

	negotiate(f, PF_SHMEM_ALL);
	assert_int_equal(map(f, 0, 0, 0x1000), 0);
	reply(f, VU_BREQ_SHMEM_MAP, 0);
	reply(f, VU_BREQ_SHMEM_MAP, 0);
	assert_int_equal(settle(f), 1);
	assert_int_equal(f->b.backend_chan, -1);
	/* The first reply counted; the mapping stays known. */
	assert_int_equal(vu_backend_shmem_state(&f->b, 0, 0), VU_SHMEM_MAPPED);
}

static void test_channel_hangup_fails_pending(void **state)
{
	struct fx *f = *state;

	negotiate(f, PF_SHMEM_ALL);
	assert_int_equal(map(f, 0, 0, 0x1000), 0);
	f->fp.backend_rx_err = -ECONNRESET;
	assert_int_equal(settle(f), 0);
	expect_channel_dropped(f, -ECONNRESET);
}

static void test_channel_replaced_fails_pending(void **state)
{
	struct fx *f = *state;
	int chan2 = fake_file_new(&f->fp, 8);

	negotiate(f, PF_SHMEM_ALL);
	mapped(f, 1, 0, 0x1000);
	assert_int_equal(map(f, 0, 0, 0x1000), 0);
	msg_build(&f->m, VU_REQ_SET_BACKEND_REQ_FD, 0);
	f->m.fds[0] = chan2;
	f->m.nfds = 1;
	assert_int_equal(handle(f), 0);
	assert_int_equal(vu_backend_shmem_pending(&f->b), 0);
	assert_int_equal(f->dev.done[1].status, -ECONNRESET);
	assert_int_equal(vu_backend_shmem_state(&f->b, 0, 0), VU_SHMEM_NONE);
	/* Established mappings survive a new channel. */
	assert_int_equal(vu_backend_shmem_state(&f->b, 1, 0), VU_SHMEM_MAPPED);
}

/* ---- reset drops everything --------------------------------------------- */

static void test_reset_device_drops_mappings(void **state)
{
	struct fx *f = *state;

	negotiate(f, PF_SHMEM_ALL | VU_BIT(VU_PF_RESET_DEVICE));
	mapped(f, 0, 0, 0x1000);
	mapped(f, 1, 0x1000, 0x1000);
	assert_int_equal(map(f, 3, 0, 0x1000), 0); /* still pending */
	msg_build(&f->m, VU_REQ_RESET_DEVICE, 0);
	assert_int_equal(handle(f), 0);
	assert_int_equal(vu_backend_shmem_count(&f->b), 0);
	assert_int_equal(vu_backend_shmem_state(&f->b, 0, 0), VU_SHMEM_NONE);
	expect_unmap_refused(f, 0, 0, 0x1000, -ENOENT);
	/* The pending request's reply still arrives: consumed as an orphan,
	 * without taking the channel down. */
	assert_int_equal(vu_backend_shmem_pending(&f->b), 1);
	reply(f, VU_BREQ_SHMEM_MAP, 0);
	assert_int_equal(settle(f), 1);
	assert_int_equal(f->b.backend_chan, f->chan);
	assert_true(f->dev.done[2].orphaned);
	assert_int_equal(vu_backend_shmem_count(&f->b), 0);
	/* The same ranges can be mapped again. */
	assert_int_equal(map(f, 0, 0, 0x1000), 0);
	assert_int_equal(map(f, 3, 0, 0x1000), 0);
}

static void test_reset_owner_drops_mappings(void **state)
{
	struct fx *f = *state;

	negotiate(f, PF_SHMEM_ALL);
	mapped(f, 0, 0, 0x1000);
	msg_build(&f->m, VU_REQ_RESET_OWNER, 0);
	assert_int_equal(handle(f), 0);
	assert_int_equal(vu_backend_shmem_count(&f->b), 0);
}

static void test_disconnect_drops_mappings_and_pending(void **state)
{
	struct fx *f = *state;

	negotiate(f, PF_SHMEM_ALL);
	mapped(f, 0, 0, 0x1000);
	assert_int_equal(map(f, 1, 0, 0x1000), 0);
	vu_backend_disconnect(&f->b);
	assert_int_equal(vu_backend_shmem_count(&f->b), 0);
	assert_int_equal(vu_backend_shmem_pending(&f->b), 0);
	assert_int_equal(f->dev.done[1].status, -ECONNRESET);
	assert_int_equal(f->fp.files[f->chan - FAKE_FD_BASE].open, 0);
	/* The next front-end starts from nothing. */
	negotiate(f, PF_SHMEM_ALL);
	assert_int_equal(map(f, 0, 0, 0x1000), 0);
}

/* ---- probe -------------------------------------------------------------- */

static void test_probe_skips_table(void **state)
{
	struct fx *f = *state;
	struct vu_shmem_map_msg m = {.shmid = 200, .shm_offset = 0, .len = 0x1000};

	assert_int_equal(vu_backend_shmem_probe(&f->b, VU_BREQ_SHMEM_MAP, &m, f->memfd),
			 -EOPNOTSUPP);
	negotiate(f, PF_SHMEM_ALL);
	assert_int_equal(vu_backend_shmem_probe(&f->b, VU_BREQ_CONFIG_CHANGE_MSG, &m, -1), -EINVAL);
	assert_int_equal(vu_backend_shmem_probe(&f->b, VU_BREQ_SHMEM_MAP, &m, f->memfd), 0);
	assert_int_equal(f->fp.backend_sent[0].p.shmem_map.shmid, 200);
	assert_int_equal(vu_backend_shmem_count(&f->b), 0);
	reply(f, VU_BREQ_SHMEM_MAP, EINVAL);
	assert_int_equal(settle(f), 1);
	assert_true(f->dev.done[0].orphaned);
	assert_int_equal(f->dev.done[0].status, -EINVAL);
	assert_int_equal(f->dev.done[0].shmid, 200);
}

#define T(fn) cmocka_unit_test_setup_teardown(fn, setup, teardown)

int main(void)
{
	const struct CMUnitTest tests[] = {
		T(test_offered_only_with_declared_regions),
		T(test_not_offered_without_backend_recv),
		T(test_get_shmem_config_contents),
		T(test_get_shmem_config_before_owner),
		T(test_get_shmem_config_not_negotiated),
		T(test_get_shmem_config_with_payload),
		T(test_get_shmem_config_with_fd_closes_it),
		T(test_set_protocol_features_shmem_needs_no_reply_ack),
		T(test_map_sends_request_with_need_reply),
		T(test_map_rw_flag),
		T(test_map_success_reply),
		T(test_map_failure_reply_removes_pending),
		T(test_map_failure_as_negative_errno),
		T(test_replies_settle_in_order),
		T(test_map_unknown_shmid),
		T(test_map_out_of_range),
		T(test_map_overflow),
		T(test_map_zero_length),
		T(test_map_without_fd),
		T(test_map_overlap_with_mapped),
		T(test_map_overlap_with_pending),
		T(test_map_not_negotiated),
		T(test_map_without_reply_ack_refused),
		T(test_map_without_backend_channel),
		T(test_map_send_failure_leaves_nothing),
		T(test_map_pending_limit),
		T(test_unmap_sends_request),
		T(test_unmap_failure_keeps_mapping),
		T(test_unmap_partial),
		T(test_unmap_spanning_two_mappings),
		T(test_unmap_nothing_there),
		T(test_unmap_bad_ranges),
		T(test_unmap_pending_map),
		T(test_reply_with_wrong_code),
		T(test_reply_with_wrong_flags),
		T(test_reply_with_wrong_size),
		T(test_reply_with_fd),
		T(test_unexpected_reply),
		T(test_second_reply_for_one_request),
		T(test_channel_hangup_fails_pending),
		T(test_channel_replaced_fails_pending),
		T(test_reset_device_drops_mappings),
		T(test_reset_owner_drops_mappings),
		T(test_disconnect_drops_mappings_and_pending),
		T(test_probe_skips_table),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
