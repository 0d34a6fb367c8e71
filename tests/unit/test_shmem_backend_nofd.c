/* test_shmem_backend_nofd.c - SHMEM (protocol feature 22) on the fd-less
 * transport (docs/vsock-transport.md section 6).
 *
 * The fake platform runs without fds, as the service VM does: the backend
 * channel is a vsock port the back-end connects to (SET_BACKEND_REQ_FD
 * carries a u64), and SHMEM_MAP carries no fd: fd_offset names the service
 * VM's own RAM. The device declares shmid 0 = 16 MiB (a RAM disk, as the
 * service VM's blk does) and shmid 1 = 64 KiB. Each refusal of the fd-less
 * path has a test; teardown proves the channel is released.
 */
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
#define PORT 6000u
#define RAM_OFF 0x1200000ull /* where a RAM disk would sit past the image */
#define PF_BASE (VU_BIT(VU_PF_REPLY_ACK) | VU_BIT(VU_PF_WINDOW_ADDR))
#define PF_SHMEM_ALL (PF_BASE | VU_BIT(VU_PF_SHMEM) | VU_BIT(VU_PF_BACKEND_REQ))

static const uint64_t sizes[2] = {16 * MIB, 0x10000};

struct fx {
	struct fake_platform fp;
	struct vu_backend b;
	struct vu_device desc;
	struct vu_msg m;
};

static int nd_serve(void *dev, struct vu_backend *b, struct vu_req *req)
{
	(void)dev;
	(void)b;
	(void)req;
	return VU_DONE;
}

static const struct vu_device_ops nd_ops = {.serve = nd_serve};

static int setup(void **state)
{
	struct fx *f = calloc(1, sizeof(*f));

	if (!f)
		return -1;
	fake_platform_init(&f->fp, 0);
	f->desc = (struct vu_device){
		.ops = &nd_ops,
		.name = "ramdisk",
		.virtio_id = 2,
		.num_queues = 1,
		.max_queue_size = 64,
		.num_shmem = 2,
		.shmem_sizes = sizes,
	};
	vu_backend_init(&f->b, &f->fp.plat, &f->desc, NULL, NULL);
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fx *f = *state;

	vu_backend_disconnect(&f->b);
	assert_int_equal(fake_open_files(&f->fp), 0);
	assert_int_equal(f->b.backend_chan, -1);
	assert_int_equal(vu_backend_shmem_count(&f->b), 0);
	fake_platform_fini(&f->fp);
	free(f);
	return 0;
}

static int send_u64(struct fx *f, uint32_t req, uint64_t v)
{
	msg_build(&f->m, req, 8);
	f->m.p.u64 = v;
	return vu_backend_handle(&f->b, &f->m);
}

/* SET_OWNER, SET_PROTOCOL_FEATURES(pf) and, with BACKEND_REQ, a channel
 * to PORT that the back-end opens itself. */
static void negotiate(struct fx *f, uint64_t pf)
{
	msg_build(&f->m, VU_REQ_SET_OWNER, 0);
	assert_int_equal(vu_backend_handle(&f->b, &f->m), 0);
	assert_int_equal(send_u64(f, VU_REQ_SET_PROTOCOL_FEATURES, pf), 0);
	if (pf & VU_BIT(VU_PF_BACKEND_REQ)) {
		assert_int_equal(send_u64(f, VU_REQ_SET_BACKEND_REQ_FD, PORT), 0);
		assert_int_equal(f->fp.connects, 1);
		assert_int_equal(f->fp.connect_port[0], PORT);
		assert_int_equal(f->b.backend_chan, f->fp.connect_chan[0]);
	}
}

static int map_disk(struct fx *f)
{
	return vu_backend_shmem_map(&f->b, 0, -1, RAM_OFF, 0, 16 * MIB, false);
}

static void test_offered_without_fds(void **state)
{
	struct fx *f = *state;
	uint64_t pf = vu_backend_offered_protocol_features(&f->b);

	/* Next to the fd-less transport's own bits; never the fd-only ones. */
	assert_true(pf & VU_BIT(VU_PF_SHMEM));
	assert_true(pf & VU_BIT(VU_PF_WINDOW_ADDR));
	assert_true(pf & VU_BIT(VU_PF_BACKEND_REQ));
	assert_false(pf & VU_BIT(VU_PF_INFLIGHT_SHMFD));
	f->desc.num_shmem = 0;
	vu_backend_init(&f->b, &f->fp.plat, &f->desc, NULL, NULL);
	assert_false(vu_backend_offered_protocol_features(&f->b) & VU_BIT(VU_PF_SHMEM));
}

static void test_get_shmem_config_without_fds(void **state)
{
	struct fx *f = *state;
	const struct vu_msg *r;

	negotiate(f, PF_SHMEM_ALL);
	msg_build(&f->m, VU_REQ_GET_SHMEM_CONFIG, 0);
	assert_int_equal(vu_backend_handle(&f->b, &f->m), 0);
	assert_int_equal(f->fp.nsent, 1);
	r = &f->fp.sent[0];
	assert_int_equal(r->hdr.request, VU_REQ_GET_SHMEM_CONFIG);
	assert_int_equal(r->nfds, 0);
	assert_int_equal(r->p.shmem_config.nregions, 2);
	assert_int_equal(r->p.shmem_config.sizes[0], 16 * MIB);
	assert_int_equal(r->p.shmem_config.sizes[1], 0x10000);
}

static void test_map_carries_no_fd(void **state)
{
	struct fx *f = *state;
	const struct vu_msg *m;

	negotiate(f, PF_SHMEM_ALL);
	assert_int_equal(map_disk(f), 0);
	assert_int_equal(f->fp.nbackend_sent, 1);
	m = &f->fp.backend_sent[0];
	assert_int_equal(m->hdr.request, VU_BREQ_SHMEM_MAP);
	assert_int_equal(m->hdr.flags, VU_VERSION | VU_FLAG_NEED_REPLY);
	assert_int_equal(m->hdr.size, sizeof(struct vu_shmem_map_msg));
	assert_int_equal(m->nfds, 0);
	assert_int_equal(m->p.shmem_map.shmid, 0);
	assert_int_equal(m->p.shmem_map.fd_offset, RAM_OFF);
	assert_int_equal(m->p.shmem_map.shm_offset, 0);
	assert_int_equal(m->p.shmem_map.len, 16 * MIB);
	assert_int_equal(m->p.shmem_map.flags, 0); /* read-only */
	assert_int_equal(vu_backend_shmem_state(&f->b, 0, 0), VU_SHMEM_MAP_PENDING);
	/* Nothing was mapped locally: the memory is the VM's own. */
	assert_int_equal(f->fp.map_calls, 0);
}

static void test_map_unmap_round_trip(void **state)
{
	struct fx *f = *state;
	const struct vu_msg *m;

	negotiate(f, PF_SHMEM_ALL);
	assert_int_equal(map_disk(f), 0);
	assert_non_null(fake_backend_reply(&f->fp, VU_BREQ_SHMEM_MAP, 0));
	assert_int_equal(vu_backend_handle_backend_reply(&f->b), 1);
	assert_int_equal(vu_backend_shmem_state(&f->b, 0, 0), VU_SHMEM_MAPPED);
	/* Mapped twice: refused locally, nothing sent. */
	assert_int_equal(map_disk(f), -EEXIST);
	assert_int_equal(f->fp.nbackend_sent, 1);
	assert_int_equal(vu_backend_shmem_unmap(&f->b, 0, 0, 16 * MIB), 0);
	m = &f->fp.backend_sent[1];
	assert_int_equal(m->hdr.request, VU_BREQ_SHMEM_UNMAP);
	assert_int_equal(m->nfds, 0);
	assert_int_equal(m->p.shmem_map.len, 16 * MIB);
	assert_non_null(fake_backend_reply(&f->fp, VU_BREQ_SHMEM_UNMAP, 0));
	assert_int_equal(vu_backend_handle_backend_reply(&f->b), 1);
	assert_int_equal(vu_backend_shmem_state(&f->b, 0, 0), VU_SHMEM_NONE);
	assert_int_equal(f->b.shmem.n_ok, 2);
}

static void test_map_refused_by_front_end(void **state)
{
	struct fx *f = *state;

	negotiate(f, PF_SHMEM_ALL);
	assert_int_equal(map_disk(f), 0);
	/* A front-end that cannot reach the RAM file says so: never mapped. */
	assert_non_null(fake_backend_reply(&f->fp, VU_BREQ_SHMEM_MAP, 2));
	assert_int_equal(vu_backend_handle_backend_reply(&f->b), 1);
	assert_int_equal(vu_backend_shmem_state(&f->b, 0, 0), VU_SHMEM_NONE);
	assert_int_equal(f->b.shmem.n_failed, 1);
	/* and a new attempt may follow */
	assert_int_equal(map_disk(f), 0);
}

static void test_map_without_backend_channel(void **state)
{
	struct fx *f = *state;

	negotiate(f, PF_SHMEM_ALL & ~VU_BIT(VU_PF_BACKEND_REQ));
	assert_int_equal(map_disk(f), -EOPNOTSUPP);
	f->b.pfeatures |= VU_BIT(VU_PF_BACKEND_REQ); /* negotiated, never set up */
	assert_int_equal(map_disk(f), -ENOTCONN);
	assert_int_equal(f->fp.nbackend_sent, 0);
}

static void test_map_after_failed_connect(void **state)
{
	struct fx *f = *state;

	negotiate(f, PF_SHMEM_ALL & ~VU_BIT(VU_PF_BACKEND_REQ));
	f->b.pfeatures |= VU_BIT(VU_PF_BACKEND_REQ);
	f->fp.fail_connect = ECONNREFUSED;
	assert_true(send_u64(f, VU_REQ_SET_BACKEND_REQ_FD, PORT) < 0);
	assert_int_equal(f->b.backend_chan, -1);
	assert_int_equal(map_disk(f), -ENOTCONN);
	assert_int_equal(f->fp.nbackend_sent, 0);
}

static void test_map_not_negotiated(void **state)
{
	struct fx *f = *state;

	negotiate(f, PF_BASE | VU_BIT(VU_PF_BACKEND_REQ));
	assert_int_equal(map_disk(f), -EOPNOTSUPP);
	assert_int_equal(f->fp.nbackend_sent, 0);
}

static void test_map_fd_offset_wraps(void **state)
{
	struct fx *f = *state;

	negotiate(f, PF_SHMEM_ALL);
	assert_int_equal(vu_backend_shmem_map(&f->b, 0, -1, UINT64_MAX - 0xfff, 0, 0x2000, false),
			 -ERANGE);
	assert_int_equal(vu_backend_shmem_map(&f->b, 0, -1, 0, 0, 16 * MIB + 0x1000, false),
			 -ERANGE);
	assert_int_equal(vu_backend_shmem_map(&f->b, 2, -1, 0, 0, 0x1000, false), -EINVAL);
	assert_int_equal(f->fp.nbackend_sent, 0);
}

static void test_reply_with_fd_closes_channel(void **state)
{
	struct fx *f = *state;
	struct vu_msg *r;

	negotiate(f, PF_SHMEM_ALL);
	assert_int_equal(map_disk(f), 0);
	/* The fd-less transport never delivers fds; a layer that does is
	 * broken, and the answer cannot be trusted. */
	r = fake_backend_reply(&f->fp, VU_BREQ_SHMEM_MAP, 0);
	r->fds[0] = fake_file_new(&f->fp, 8);
	r->nfds = 1;
	assert_int_equal(vu_backend_handle_backend_reply(&f->b), 0);
	assert_int_equal(f->b.backend_chan, -1);
	assert_int_equal(vu_backend_shmem_state(&f->b, 0, 0), VU_SHMEM_NONE);
	assert_int_equal(f->b.shmem.n_bad_replies, 1);
}

static void test_channel_lost_fails_pending(void **state)
{
	struct fx *f = *state;

	negotiate(f, PF_SHMEM_ALL);
	assert_int_equal(map_disk(f), 0);
	f->fp.backend_rx_err = -ECONNRESET;
	assert_int_equal(vu_backend_handle_backend_reply(&f->b), 0);
	assert_int_equal(f->b.backend_chan, -1);
	assert_int_equal(vu_backend_shmem_pending(&f->b), 0);
	assert_int_equal(vu_backend_shmem_state(&f->b, 0, 0), VU_SHMEM_NONE);
	assert_int_equal(map_disk(f), -ENOTCONN);
}

static void test_new_port_fails_pending(void **state)
{
	struct fx *f = *state;

	negotiate(f, PF_SHMEM_ALL);
	assert_int_equal(map_disk(f), 0);
	assert_int_equal(send_u64(f, VU_REQ_SET_BACKEND_REQ_FD, PORT + 1), 0);
	assert_int_equal(f->b.backend_chan, f->fp.connect_chan[1]);
	assert_int_equal(vu_backend_shmem_pending(&f->b), 0);
	assert_int_equal(vu_backend_shmem_state(&f->b, 0, 0), VU_SHMEM_NONE);
	assert_int_equal(map_disk(f), 0);
}

#define T(fn) cmocka_unit_test_setup_teardown(fn, setup, teardown)

int main(void)
{
	const struct CMUnitTest tests[] = {
		T(test_offered_without_fds),	    T(test_get_shmem_config_without_fds),
		T(test_map_carries_no_fd),	    T(test_map_unmap_round_trip),
		T(test_map_refused_by_front_end),   T(test_map_without_backend_channel),
		T(test_map_after_failed_connect),   T(test_map_not_negotiated),
		T(test_map_fd_offset_wraps),	    T(test_reply_with_fd_closes_channel),
		T(test_channel_lost_fails_pending), T(test_new_port_fails_pending),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
