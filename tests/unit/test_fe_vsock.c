/* uvh/fe_vsock.h and uvh/window_ram.h: the front-end's fd-less transport
 * frames messages over any split of the stream, refuses fds and hostile
 * sizes, does the hybrid handshake, accepts the backend channel without
 * blocking; window RAM spreads regions over windows without straddling and
 * addresses them as window << 40 | offset. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>

#include "uvh/fe_vsock.h"
#include "uvh/host.h"
#include "uvh/window_ram.h"

static struct uvh_fe_vsock c;
static struct vu_msg msg;
static char dir[64];

static int setup(void **state)
{
	(void)state;
	signal(SIGPIPE, SIG_IGN);
	snprintf(dir, sizeof(dir), "/tmp/uvh-fevs-XXXXXX");
	assert_non_null(mkdtemp(dir));
	memset(&msg, 0, sizeof(msg));
	return 0;
}

static int teardown(void **state)
{
	char cmd[128];

	(void)state;
	snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
	assert_int_equal(system(cmd), 0);
	return 0;
}

/* c attached to one end of a socketpair; returns the other end. */
static int pair(void)
{
	int sv[2];

	assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv), 0);
	assert_int_equal(uvh_fe_vsock_attach(&c, sv[0]), 0);
	return sv[1];
}

static size_t encode(uint8_t *p, uint32_t request, uint32_t flags, uint32_t size)
{
	struct vu_hdr h = {request, flags, size};

	memcpy(p, &h, VU_HDR_SIZE);
	for (uint32_t i = 0; i < size; i++)
		p[VU_HDR_SIZE + i] = (uint8_t)(request + i);
	return VU_HDR_SIZE + size;
}

static void send_frames_header_and_payload(void **state)
{
	int peer = pair();
	uint8_t buf[64];

	(void)state;
	msg.hdr = (struct vu_hdr){VU_REQ_SET_FEATURES, VU_VERSION, 8};
	msg.p.u64 = 0x1122334455667788ull;
	assert_int_equal(c.t.send(c.t.ctx, &msg), 0);
	assert_int_equal(read(peer, buf, sizeof(buf)), VU_HDR_SIZE + 8);
	assert_memory_equal(buf, &msg.hdr, VU_HDR_SIZE);
	assert_memory_equal(buf + VU_HDR_SIZE, &msg.p.u64, 8);
	close(peer);
	uvh_fe_vsock_close(&c);
}

static void send_refuses_fds(void **state)
{
	int peer = pair();
	uint8_t b;

	(void)state;
	msg.hdr = (struct vu_hdr){VU_REQ_SET_VRING_KICK, VU_VERSION, 8};
	msg.nfds = 1;
	msg.fds[0] = 0;
	assert_int_equal(c.t.send(c.t.ctx, &msg), -EINVAL);
	assert_int_equal(recv(peer, &b, 1, MSG_DONTWAIT), -1); /* nothing went out */
	close(peer);
	uvh_fe_vsock_close(&c);
}

static void recv_assembles_split_message(void **state)
{
	int peer = pair();
	uint8_t wire[64];
	size_t n = encode(wire, VU_REQ_GET_FEATURES, VU_REPLY_FLAGS, 8);

	(void)state;
	/* Three writes, split inside the header and inside the payload. */
	assert_int_equal(write(peer, wire, 5), 5);
	assert_int_equal(write(peer, wire + 5, 10), 10);
	assert_int_equal(write(peer, wire + 15, n - 15), (ssize_t)(n - 15));
	assert_int_equal(c.t.recv(c.t.ctx, &msg), 0);
	assert_int_equal(msg.hdr.request, VU_REQ_GET_FEATURES);
	assert_int_equal(msg.hdr.size, 8);
	assert_int_equal(msg.nfds, 0);
	assert_memory_equal(msg.p.raw, wire + VU_HDR_SIZE, 8);
	close(peer);
	uvh_fe_vsock_close(&c);
}

static void recv_hostile_size_refused(void **state)
{
	int peer = pair();
	struct vu_hdr h = {VU_REQ_GET_FEATURES, VU_REPLY_FLAGS, VU_MAX_PAYLOAD + 1};

	(void)state;
	assert_int_equal(write(peer, &h, sizeof(h)), (ssize_t)sizeof(h));
	assert_int_equal(c.t.recv(c.t.ctx, &msg), -EMSGSIZE);
	close(peer);
	uvh_fe_vsock_close(&c);
}

static void recv_eof_mid_message_is_reset(void **state)
{
	int peer = pair();
	uint8_t wire[64];

	(void)state;
	encode(wire, VU_REQ_GET_FEATURES, VU_REPLY_FLAGS, 8);
	assert_int_equal(write(peer, wire, 14), 14);
	close(peer);
	assert_int_equal(c.t.recv(c.t.ctx, &msg), -ECONNRESET);
	uvh_fe_vsock_close(&c);
}

/* A fake hybrid-vsock socket: a child accepts one connection, reads the
 * CONNECT line and answers `reply` (NULL: closes). */
static pid_t fake_hybrid(const char *path, const char *reply, uint32_t want_port)
{
	int lfd = uvh_listen(path);
	pid_t pid;

	assert_true(lfd >= 0);
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		char line[64] = {0}, want[64];
		int fd = accept(lfd, NULL, NULL);
		size_t n = 0;
		while (n < sizeof(line) - 1 && read(fd, line + n, 1) == 1 && line[n] != '\n')
			n++;
		snprintf(want, sizeof(want), "CONNECT %u", want_port);
		if (strncmp(line, want, strlen(want)) != 0)
			_exit(3);
		if (reply && write(fd, reply, strlen(reply)) < 0)
			_exit(4);
		if (reply && strncmp(reply, "OK", 2) == 0) {
			/* a reply right behind the handshake must not be eaten */
			uint8_t wire[64];
			size_t m = encode(wire, VU_REQ_GET_QUEUE_NUM, VU_REPLY_FLAGS, 8);
			if (write(fd, wire, m) != (ssize_t)m)
				_exit(5);
		}
		close(fd);
		_exit(0);
	}
	close(lfd);
	return pid;
}

static int child_status(pid_t pid)
{
	int st = 0;

	assert_int_equal(waitpid(pid, &st, 0), pid);
	return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

static void handshake_ok_keeps_following_bytes(void **state)
{
	char path[96];
	pid_t pid;

	(void)state;
	snprintf(path, sizeof(path), "%s/v.sock", dir);
	pid = fake_hybrid(path, "OK 1073741824\n", 5000);
	assert_int_equal(uvh_fe_vsock_connect(&c, path, 5000), 0);
	assert_int_equal(c.t.recv(c.t.ctx, &msg), 0);
	assert_int_equal(msg.hdr.request, VU_REQ_GET_QUEUE_NUM);
	uvh_fe_vsock_close(&c);
	assert_int_equal(child_status(pid), 0);
}

static void handshake_refused_and_garbage(void **state)
{
	char path[96];
	pid_t pid;

	(void)state;
	snprintf(path, sizeof(path), "%s/v.sock", dir);
	pid = fake_hybrid(path, NULL, 7);
	assert_int_equal(uvh_fe_vsock_connect(&c, path, 7), -ECONNREFUSED);
	assert_int_equal(c.sock, -1);
	assert_int_equal(child_status(pid), 0);
	pid = fake_hybrid(path, "NO\n", 8);
	assert_int_equal(uvh_fe_vsock_connect(&c, path, 8), -EPROTO);
	assert_int_equal(child_status(pid), 0);
	snprintf(path, sizeof(path), "%s/nobody", dir);
	assert_int_equal(uvh_fe_vsock_connect(&c, path, 8), -ENOENT);
}

static void backend_channel_accepted_without_blocking(void **state)
{
	int peer = pair(), b;
	char path[96], lpath[112];
	uint8_t wire[64];
	size_t n;

	(void)state;
	snprintf(path, sizeof(path), "%s/v.sock", dir);
	assert_int_equal(c.t.backend_recv(c.t.ctx, &msg), -EAGAIN); /* no listener yet */
	assert_int_equal(uvh_fe_vsock_backend_listen(&c, path, 41000), 0);
	assert_int_equal(uvh_fe_vsock_backend_pollfd(&c), c.listen_fd);
	assert_int_equal(c.t.backend_recv(c.t.ctx, &msg), -EAGAIN); /* nobody connected */
	snprintf(lpath, sizeof(lpath), "%s_41000", path);
	b = uvh_connect(lpath);
	assert_true(b >= 0);
	n = encode(wire, VU_BREQ_VRING_CALL, VU_VERSION, 8);
	assert_int_equal(write(b, wire, 7), 7);
	assert_int_equal(c.t.backend_recv(c.t.ctx, &msg), -EAGAIN); /* half a message */
	assert_int_equal(c.backend_accepts, 1);
	assert_int_equal(uvh_fe_vsock_backend_pollfd(&c), c.backend_fd);
	assert_int_equal(write(b, wire + 7, n - 7), (ssize_t)(n - 7));
	assert_int_equal(c.t.backend_recv(c.t.ctx, &msg), 0);
	assert_int_equal(msg.hdr.request, VU_BREQ_VRING_CALL);
	msg.hdr.flags = VU_REPLY_FLAGS;
	assert_int_equal(c.t.backend_send(c.t.ctx, &msg), 0);
	assert_int_equal(read(b, wire, sizeof(wire)), (ssize_t)n);
	close(b);
	assert_int_equal(c.t.backend_recv(c.t.ctx, &msg), -ECONNRESET);
	close(peer);
	uvh_fe_vsock_close(&c);
	assert_int_equal(access(lpath, F_OK), -1); /* the socket file is gone */
}

static void backend_listen_path_too_long(void **state)
{
	char path[200];
	int peer = pair();

	(void)state;
	memset(path, 'a', sizeof(path) - 1);
	path[sizeof(path) - 1] = 0;
	assert_int_equal(uvh_fe_vsock_backend_listen(&c, path, 1), -ENAMETOOLONG);
	close(peer);
	uvh_fe_vsock_close(&c);
}

static void spread_even_and_overflowing(void **state)
{
	uint64_t sizes[3] = {1 << 20, 1 << 20, 1 << 16}, per[3];

	(void)state;
	assert_int_equal(uvh_window_ram_spread(sizes, 2, 16384, 64, per), 0);
	assert_int_equal(per[0], 32);
	assert_int_equal(per[1], 32);
	/* the small third window takes its 4, the others the rest */
	assert_int_equal(uvh_window_ram_spread(sizes, 3, 16384, 64, per), 0);
	assert_int_equal(per[0] + per[1] + per[2], 64);
	assert_int_equal(per[2], 4);
	assert_int_equal(uvh_window_ram_spread(sizes, 2, 16384, 128, per), 0);
	assert_int_equal(uvh_window_ram_spread(sizes, 2, 16384, 129, per), -ENOSPC);
	assert_int_equal(uvh_window_ram_spread(sizes, 2, 0, 1, per), -EINVAL);
	assert_int_equal(uvh_window_ram_spread(sizes, 0, 4096, 1, per), -EINVAL);
}

static void make_file(const char *path, off_t size)
{
	int fd = open(path, O_RDWR | O_CREAT | O_TRUNC, 0600);

	assert_true(fd >= 0);
	assert_int_equal(ftruncate(fd, size), 0);
	close(fd);
}

static void window_ram_regions_and_bytes(void **state)
{
	char p0[96], p1[96];
	struct uvh_window_file f[2] = {{p0, 3}, {p1, 7}};
	struct uvh_window_ram r;
	struct vu_fe_region g;
	uint8_t b;
	int fd;

	(void)state;
	snprintf(p0, sizeof(p0), "%s/w0", dir);
	snprintf(p1, sizeof(p1), "%s/w1", dir);
	make_file(p0, 64 << 10);
	make_file(p1, 64 << 10);
	assert_int_equal(uvh_window_ram_create(&r, f, 2, 16384, 6), 0);
	assert_int_equal(r.nseg, 2);
	/* region 4 (third piece overall in window 7's half) */
	assert_int_equal(uvh_window_ram_region(&r, 1ull << 30, 4 * 16384, 16384, &g), 0);
	assert_int_equal(g.fd, -1);
	assert_int_equal(g.gpa, (1ull << 30) + 4 * 16384);
	assert_int_equal(g.uaddr, (uint64_t)(uintptr_t)(r.base + 4 * 16384));
	assert_int_equal(g.mmap_offset, (7ull << VU_WINDOW_SHIFT) | 16384);
	/* the byte written through the RAM is in that file at that offset */
	r.base[4 * 16384 + 5] = 0xa5;
	fd = open(p1, O_RDONLY);
	assert_int_equal(pread(fd, &b, 1, 16384 + 5), 1);
	close(fd);
	assert_int_equal(b, 0xa5);
	assert_int_equal(uvh_window_ram_region(&r, 0, 0, 16384, &g), 0);
	assert_int_equal(g.mmap_offset, 3ull << VU_WINDOW_SHIFT);
	/* straddling windows 3 and 7, past the end, empty */
	assert_int_equal(uvh_window_ram_region(&r, 0, 2 * 16384, 2 * 16384, &g), -ERANGE);
	assert_int_equal(uvh_window_ram_region(&r, 0, 6 * 16384, 4096, &g), -ERANGE);
	assert_int_equal(uvh_window_ram_region(&r, 0, 0, 0, &g), -ERANGE);
	uvh_window_ram_destroy(&r);
	assert_null(r.base);
}

static void window_ram_refusals(void **state)
{
	char p0[96], p1[96];
	struct uvh_window_file f[2] = {{p0, 0}, {p1, 0}};
	struct uvh_window_ram r;

	(void)state;
	snprintf(p0, sizeof(p0), "%s/w0", dir);
	snprintf(p1, sizeof(p1), "%s/w1", dir);
	make_file(p0, 64 << 10);
	make_file(p1, 64 << 10);
	assert_int_equal(uvh_window_ram_create(&r, f, 2, 16384, 2), -EINVAL); /* same index */
	f[1].index = 1;
	assert_int_equal(uvh_window_ram_create(&r, f, 2, 16384, 9), -ENOSPC);
	assert_int_equal(uvh_window_ram_create(&r, f, 2, 1000, 1), -EINVAL); /* not pages */
	f[1].index = 1u << 24;						     /* > 63:40 */
	assert_int_equal(uvh_window_ram_create(&r, f, 2, 16384, 1), -EINVAL);
	f[1].index = 1;
	f[1].path = dir; /* a directory, not a file */
	assert_int_equal(uvh_window_ram_create(&r, f, 2, 16384, 1), -EINVAL);
	f[1].path = "/nonexistent/uvh-window";
	assert_int_equal(uvh_window_ram_create(&r, f, 2, 16384, 1), -ENOENT);
	assert_null(r.base);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(send_frames_header_and_payload, setup, teardown),
		cmocka_unit_test_setup_teardown(send_refuses_fds, setup, teardown),
		cmocka_unit_test_setup_teardown(recv_assembles_split_message, setup, teardown),
		cmocka_unit_test_setup_teardown(recv_hostile_size_refused, setup, teardown),
		cmocka_unit_test_setup_teardown(recv_eof_mid_message_is_reset, setup, teardown),
		cmocka_unit_test_setup_teardown(handshake_ok_keeps_following_bytes, setup,
						teardown),
		cmocka_unit_test_setup_teardown(handshake_refused_and_garbage, setup, teardown),
		cmocka_unit_test_setup_teardown(backend_channel_accepted_without_blocking, setup,
						teardown),
		cmocka_unit_test_setup_teardown(backend_listen_path_too_long, setup, teardown),
		cmocka_unit_test_setup_teardown(spread_even_and_overflowing, setup, teardown),
		cmocka_unit_test_setup_teardown(window_ram_regions_and_bytes, setup, teardown),
		cmocka_unit_test_setup_teardown(window_ram_refusals, setup, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
