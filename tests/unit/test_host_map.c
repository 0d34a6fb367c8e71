/* test_host_map.c - every mapping of a peer's fd, checked against the file
 * behind it, through the real Linux platform (arch/host), not the fake.
 *
 * The bug this pins: a memory region larger than the file behind its fd was
 * mapped without complaint (mmap maps past EOF), and a ring placed in the
 * missing part killed uvhostd with SIGBUS on the first touch. The fake
 * platform refused such a region on its own, so the back-end tests passed
 * while the daemon crashed. Here the back-end runs on uvh_platform with real
 * memfds, pipes and sockets, and its replies travel over a real socketpair.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>

#include "dev/rng.h"
#include "helpers/msg_build.h"
#include "uvh/fd_bounds.h"
#include "uvh/host.h"
#include "uvh/shmem_window.h"
#include "uvh/sigbus_guard.h"
#include "uvh/window_ram.h"
#include "vu/backend.h"
#include "vu/inflight.h"

#define PAGE 4096ull

static int memfd_of(uint64_t size)
{
	int fd = memfd_create("test-host-map", MFD_CLOEXEC);

	assert_true(fd >= 0);
	assert_int_equal(ftruncate(fd, (off_t)size), 0);
	return fd;
}

/* ---- the check itself -------------------------------------------------- */

static void range_inside_a_memfd_is_accepted(void **state)
{
	char why[160];
	int fd = memfd_of(4 * PAGE);

	(void)state;
	assert_int_equal(uvh_fd_check_range(fd, 0, 4 * PAGE, why, sizeof(why)), 0);
	assert_int_equal(uvh_fd_check_range(fd, PAGE, 3 * PAGE, why, sizeof(why)), 0);
	assert_int_equal(uvh_fd_check_range(fd, 4 * PAGE - 1, 1, why, sizeof(why)), 0);
	close(fd);
}

static void range_past_the_end_is_refused_with_sizes(void **state)
{
	char why[160];
	int fd = memfd_of(PAGE);

	(void)state;
	assert_int_equal(uvh_fd_check_range(fd, 0, 2 * PAGE, why, sizeof(why)), -ERANGE);
	assert_non_null(strstr(why, "0x2000"));
	assert_non_null(strstr(why, "0x1000 bytes"));
	assert_int_equal(uvh_fd_check_range(fd, PAGE, 1, why, sizeof(why)), -ERANGE);
	assert_int_equal(uvh_fd_check_range(fd, 1, PAGE, why, sizeof(why)), -ERANGE);
	close(fd);
}

static void empty_or_wrapping_range_is_refused(void **state)
{
	char why[160];
	int fd = memfd_of(PAGE);

	(void)state;
	assert_int_equal(uvh_fd_check_range(fd, 0, 0, why, sizeof(why)), -EINVAL);
	assert_int_equal(uvh_fd_check_range(fd, UINT64_MAX - 1, 2, why, sizeof(why)), -EINVAL);
	assert_int_equal(uvh_fd_check_range(fd, 2, UINT64_MAX - 1, why, sizeof(why)), -EINVAL);
	assert_non_null(strstr(why, "wraps"));
	close(fd);
}

static void files_without_a_size_are_refused(void **state)
{
	char why[160];
	int p[2], s[2], null;

	(void)state;
	assert_int_equal(pipe(p), 0);
	assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM, 0, s), 0);
	null = open("/dev/null", O_RDWR);
	assert_true(null >= 0);
	assert_int_equal(uvh_fd_check_range(p[0], 0, PAGE, why, sizeof(why)), -ENODEV);
	assert_non_null(strstr(why, "not a regular file"));
	assert_int_equal(uvh_fd_check_range(s[0], 0, PAGE, why, sizeof(why)), -ENODEV);
	assert_int_equal(uvh_fd_check_range(null, 0, PAGE, why, sizeof(why)), -ENODEV);
	assert_int_equal(uvh_fd_check_range(-1, 0, PAGE, why, sizeof(why)), -EBADF);
	close(p[0]);
	close(p[1]);
	close(s[0]);
	close(s[1]);
	/* A number that was an fd a moment ago. */
	assert_int_equal(uvh_fd_check_range(null, 0, PAGE, why, sizeof(why)), -ENODEV);
	close(null);
	assert_int_equal(uvh_fd_check_range(null, 0, PAGE, why, sizeof(why)), -EBADF);
}

/* ---- the platform's map op ---------------------------------------------- */

static void platform_map_refuses_past_eof_and_counts_it(void **state)
{
	struct uvh_platform *hp = malloc(sizeof(*hp));
	void *host = NULL, *cookie = NULL;
	int fd = memfd_of(PAGE);

	(void)state;
	assert_non_null(hp);
	uvh_platform_init(hp, false);
	assert_int_equal(hp->plat.map(hp->plat.ctx, fd, 0, 2 * PAGE, true, &host, &cookie),
			 -ERANGE);
	assert_int_equal(hp->n_map_refused, 1);
	assert_int_equal(hp->live_mappings, 0);
	/* An unaligned offset still ends inside: fine. */
	assert_int_equal(hp->plat.map(hp->plat.ctx, fd, 16, PAGE - 16, true, &host, &cookie), 0);
	assert_int_equal(hp->live_mappings, 1);
	((volatile uint8_t *)host)[PAGE - 17] = 1;
	hp->plat.unmap(hp->plat.ctx, cookie);
	assert_int_equal(hp->live_mappings, 0);
	close(fd);
	free(hp);
}

/* A front-end may shrink the file after the check: the lost part reads as
 * zeros and the connection is marked poisoned, where it used to be SIGBUS. */
static void file_shrunk_under_a_mapping_reads_zero_and_poisons(void **state)
{
	struct uvh_platform *hp = malloc(sizeof(*hp));
	void *host = NULL, *cookie = NULL;
	uint64_t hits;
	int fd = memfd_of(2 * PAGE);
	volatile uint8_t *p;

	(void)state;
	assert_non_null(hp);
	uvh_platform_init(hp, false);
	assert_int_equal(hp->plat.map(hp->plat.ctx, fd, 0, 2 * PAGE, true, &host, &cookie), 0);
	p = host;
	p[PAGE + 5] = 7;
	assert_false(uvh_platform_poisoned(hp));
	assert_int_equal(ftruncate(fd, (off_t)PAGE), 0);
	hits = uvh_sigbus_guard_hits();
	assert_int_equal(p[PAGE + 5], 0);
	p[PAGE + 6] = 1; /* writes land in the zero page, not in the file */
	assert_int_equal(uvh_sigbus_guard_hits(), hits + 1);
	assert_true(uvh_platform_poisoned(hp));
	hp->plat.unmap(hp->plat.ctx, cookie);
	assert_false(uvh_platform_poisoned(hp));
	close(fd);
	free(hp);
}

/* The guard covers only what a peer handed us: any other SIGBUS is a bug
 * of ours and must still kill the process. */
static void sigbus_outside_a_guarded_range_still_kills(void **state)
{
	pid_t pid;
	int status;

	(void)state;
	assert_int_equal(uvh_sigbus_guard_install(), 0);
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		int fd = memfd_of(2 * PAGE);
		volatile uint8_t *p =
			mmap(NULL, 2 * PAGE, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);

		if (p == MAP_FAILED || ftruncate(fd, (off_t)PAGE) != 0)
			_exit(2);
		p[PAGE] = 1;
		_exit(0);
	}
	assert_int_equal(waitpid(pid, &status, 0), pid);
	assert_true(WIFSIGNALED(status));
	assert_int_equal(WTERMSIG(status), SIGBUS);
}

/* ---- a back-end session on the real platform ---------------------------- */

struct fx {
	struct uvh_platform hp;
	struct dev_rng rng;
	struct vu_backend b;
	struct vu_msg m, r;
	int peer; /* the front-end's end of the socketpair */
};

static size_t zero_source(void *buf, size_t len)
{
	memset(buf, 0, len);
	return len;
}

static int setup(void **state)
{
	struct fx *f = calloc(1, sizeof(*f));
	int sv[2];

	assert_non_null(f);
	assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv), 0);
	uvh_platform_init(&f->hp, false);
	f->hp.sock = sv[0];
	f->peer = sv[1];
	dev_rng_init(&f->rng, zero_source, NULL);
	vu_backend_init(&f->b, &f->hp.plat, &f->rng.dev, &f->rng, NULL);
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fx *f = *state;

	vu_backend_disconnect(&f->b);
	assert_int_equal(f->hp.live_mappings, 0);
	close(f->hp.sock);
	close(f->peer);
	free(f);
	return 0;
}

static int handle(struct fx *f)
{
	return vu_backend_handle(&f->b, &f->m);
}

/* The REPLY_ACK answer the front-end reads from the socket. */
static uint64_t ack(struct fx *f, uint32_t request)
{
	assert_int_equal(uvh_recv_msg(f->peer, &f->r), 0);
	assert_int_equal(f->r.hdr.request, request);
	assert_int_equal(f->r.hdr.size, sizeof(uint64_t));
	return f->r.p.u64;
}

static void send_u64(struct fx *f, uint32_t request, uint64_t v)
{
	msg_build(&f->m, request, sizeof(uint64_t));
	f->m.p.u64 = v;
	assert_int_equal(handle(f), 0);
}

static void negotiate(struct fx *f)
{
	uint64_t pf = VU_BIT(VU_PF_REPLY_ACK) | VU_BIT(VU_PF_CONFIGURE_MEM_SLOTS) |
		      VU_BIT(VU_PF_INFLIGHT_SHMFD);

	assert_int_equal(vu_backend_offered_protocol_features(&f->b) & pf, pf);
	send_u64(f, VU_REQ_SET_PROTOCOL_FEATURES, pf);
	msg_build(&f->m, VU_REQ_SET_OWNER, 0);
	assert_int_equal(handle(f), 0);
	send_u64(f, VU_REQ_SET_FEATURES, VU_BIT(VU_F_PROTOCOL_FEATURES) | VU_BIT(VU_F_VERSION_1));
}

/* The back-end owns every fd a message brings, as over a real socket: send a
 * copy, so the test keeps its own. */
static void with_fd(struct fx *f, int fd)
{
	f->m.fds[0] = dup(fd);
	assert_true(f->m.fds[0] >= 0);
	f->m.nfds = 1;
	f->m.hdr.flags |= VU_FLAG_NEED_REPLY;
}

static uint64_t add_region(struct fx *f, uint64_t gpa, uint64_t size, uint64_t off, int fd)
{
	struct vu_mem_region *r = &f->m.p.mem_single.region;

	msg_build(&f->m, VU_REQ_ADD_MEM_REG, sizeof(struct vu_mem_single_msg));
	*r = (struct vu_mem_region){
		.gpa = gpa, .size = size, .uaddr = 0x7f0000000000ull + gpa, .mmap_offset = off};
	with_fd(f, fd);
	assert_int_equal(handle(f), 0); /* refusals are answered, not fatal */
	return ack(f, VU_REQ_ADD_MEM_REG);
}

/* The crash: a 1-page file sent as a 2-page region, a ring meant for the
 * page that does not exist. The region must never be mapped. */
static void add_mem_reg_larger_than_its_file_is_refused(void **state)
{
	struct fx *f = *state;
	int fd = memfd_of(PAGE);

	negotiate(f);
	assert_int_equal(add_region(f, 0x100000, 2 * PAGE, 0, fd), ERANGE);
	assert_int_equal(f->b.mem.count, 0);
	assert_int_equal(f->hp.live_mappings, 0);
	assert_int_equal(f->hp.n_map_refused, 1);
	/* The offset counts too: the last page of the file plus one more. */
	assert_int_equal(add_region(f, 0x100000, PAGE, PAGE, fd), ERANGE);
	assert_int_equal(f->b.mem.count, 0);
	/* What the file does back is still accepted. */
	assert_int_equal(add_region(f, 0x100000, PAGE, 0, fd), 0);
	assert_int_equal(f->b.mem.count, 1);
	assert_int_equal(f->hp.live_mappings, 1);
	close(fd);
}

static void add_mem_reg_on_a_pipe_or_socket_is_refused(void **state)
{
	struct fx *f = *state;
	int p[2], s[2];

	negotiate(f);
	assert_int_equal(pipe(p), 0);
	assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM, 0, s), 0);
	assert_int_equal(add_region(f, 0x100000, PAGE, 0, p[0]), ENODEV);
	assert_int_equal(add_region(f, 0x100000, PAGE, 0, s[0]), ENODEV);
	assert_int_equal(f->b.mem.count, 0);
	close(p[0]);
	close(p[1]);
	close(s[0]);
	close(s[1]);
}

static void set_mem_table_larger_than_its_file_is_refused(void **state)
{
	struct fx *f = *state;
	int small = memfd_of(PAGE), big = memfd_of(4 * PAGE);
	struct vu_mem_table_msg *t = &f->m.p.mem_table;

	negotiate(f);
	msg_build(&f->m, VU_REQ_SET_MEM_TABLE,
		  offsetof(struct vu_mem_table_msg, regions) + 2 * sizeof(struct vu_mem_region));
	t->nregions = 2;
	t->regions[0] = (struct vu_mem_region){
		.gpa = 0, .size = 4 * PAGE, .uaddr = 0x7f0000000000ull, .mmap_offset = 0};
	t->regions[1] = (struct vu_mem_region){
		.gpa = 0x100000, .size = 2 * PAGE, .uaddr = 0x7f0000100000ull, .mmap_offset = 0};
	f->m.fds[0] = dup(big);
	f->m.fds[1] = dup(small);
	f->m.nfds = 2;
	f->m.hdr.flags |= VU_FLAG_NEED_REPLY;
	assert_int_equal(handle(f), 0);
	assert_int_equal(ack(f, VU_REQ_SET_MEM_TABLE), ERANGE);
	/* All or nothing: the good region went too. */
	assert_int_equal(f->b.mem.count, 0);
	assert_int_equal(f->hp.live_mappings, 0);
	close(small);
	close(big);
}

static void set_inflight_fd_larger_than_its_file_is_refused(void **state)
{
	struct fx *f = *state;
	uint64_t total = vu_inflight_total_bytes(1, 64);
	int fd = memfd_of(total / 2);

	negotiate(f);
	msg_build(&f->m, VU_REQ_SET_INFLIGHT_FD, sizeof(struct vu_inflight_msg));
	f->m.p.inflight = (struct vu_inflight_msg){
		.mmap_size = total, .mmap_offset = 0, .num_queues = 1, .queue_size = 64};
	with_fd(f, fd);
	assert_int_equal(handle(f), 0);
	assert_int_equal(ack(f, VU_REQ_SET_INFLIGHT_FD), ERANGE);
	assert_null(f->b.vq[0].inflight);
	assert_int_equal(f->hp.live_mappings, 0);
	close(fd);
}

/* ---- the front-end side: SHMEM maps and window files -------------------- */

static void shmem_map_past_the_backends_file_is_refused(void **state)
{
	struct uvh_shmem_window w;
	uint64_t sizes[1] = {4 * PAGE};
	int fd = memfd_of(PAGE);

	(void)state;
	assert_int_equal(uvh_shmem_window_init(&w, sizes, 1), 0);
	assert_int_equal(w.mapper.map(w.mapper.ctx, 0, 0, 2 * PAGE, fd, 0, true), -ERANGE);
	assert_non_null(strstr(w.last_error, "ends past the file"));
	assert_int_equal(w.mapper.map(w.mapper.ctx, 0, 0, PAGE, fd, PAGE, true), -ERANGE);
	assert_int_equal(w.n_maps, 0);
	assert_int_equal(w.n_map_failures, 2);
	assert_int_equal(w.mapper.map(w.mapper.ctx, 0, 0, PAGE, fd, 0, true), 0);
	((volatile uint8_t *)uvh_shmem_window_base(&w, 0))[PAGE - 1] = 1;
	uvh_shmem_window_fini(&w);
	close(fd);
}

static void window_ram_maps_only_what_the_files_hold(void **state)
{
	char path[] = "/tmp/uvtest-window-XXXXXX";
	struct uvh_window_ram *r = calloc(1, sizeof(*r));
	struct uvh_window_file wf;
	int fd = mkstemp(path);

	(void)state;
	assert_non_null(r);
	assert_true(fd >= 0);
	assert_int_equal(ftruncate(fd, (off_t)(2 * PAGE)), 0);
	wf = (struct uvh_window_file){.index = 0, .path = path};
	assert_int_equal(uvh_window_ram_create(r, &wf, 1, PAGE, 3), -ENOSPC);
	assert_int_equal(uvh_window_ram_create(r, &wf, 1, PAGE, 2), 0);
	((volatile uint8_t *)r->base)[2 * PAGE - 1] = 1;
	uvh_window_ram_destroy(r);
	/* A directory is not a window file. */
	wf.path = "/tmp";
	assert_int_equal(uvh_window_ram_create(r, &wf, 1, PAGE, 1), -EINVAL);
	close(fd);
	unlink(path);
	free(r);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(range_inside_a_memfd_is_accepted),
		cmocka_unit_test(range_past_the_end_is_refused_with_sizes),
		cmocka_unit_test(empty_or_wrapping_range_is_refused),
		cmocka_unit_test(files_without_a_size_are_refused),
		cmocka_unit_test(platform_map_refuses_past_eof_and_counts_it),
		cmocka_unit_test(file_shrunk_under_a_mapping_reads_zero_and_poisons),
		cmocka_unit_test(sigbus_outside_a_guarded_range_still_kills),
		cmocka_unit_test_setup_teardown(add_mem_reg_larger_than_its_file_is_refused, setup,
						teardown),
		cmocka_unit_test_setup_teardown(add_mem_reg_on_a_pipe_or_socket_is_refused, setup,
						teardown),
		cmocka_unit_test_setup_teardown(set_mem_table_larger_than_its_file_is_refused,
						setup, teardown),
		cmocka_unit_test_setup_teardown(set_inflight_fd_larger_than_its_file_is_refused,
						setup, teardown),
		cmocka_unit_test(shmem_map_past_the_backends_file_is_refused),
		cmocka_unit_test(window_ram_maps_only_what_the_files_hold),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
