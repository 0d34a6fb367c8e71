/* test_gw_ivserver.c - uvhost-gw as the ivshmem server, against a fake
 * client that reads the protocol as QEMU's ivshmem-doorbell does (QEMU
 * docs/specs/ivshmem-spec.rst): little-endian int64 messages, at most one
 * fd each by SCM_RIGHTS.
 *
 * Covers the set-up (version 0, the client's ID, -1 with the shared memory),
 * kick eventfds appended as the client's own vectors until own_max, call
 * eventfds as new peers (never an ID twice: QEMU 7.2 frees a disconnected
 * peer's table), the disconnect of the old peer on commit and on drop, a
 * new client replacing the old one with every vector forgotten, and the
 * refusals (no client, ring out of range, no vector left).
 */
#define _GNU_SOURCE
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "gw_ivserver.h"

struct fx {
	struct gw_ivs s;
	int peer; /* the fake QEMU's end */
};

/* One message as the client sees it: the value, and the fd (-1: none). */
static int client_recv(int sock, int64_t *v, int *fd)
{
	union {
		char buf[CMSG_SPACE(sizeof(int))];
		struct cmsghdr align;
	} u;
	uint8_t le[8];
	struct iovec iov = {.iov_base = le, .iov_len = sizeof(le)};
	struct msghdr mh = {.msg_iov = &iov,
			    .msg_iovlen = 1,
			    .msg_control = u.buf,
			    .msg_controllen = sizeof(u.buf)};
	struct cmsghdr *c;
	uint64_t x = 0;
	ssize_t n = recvmsg(sock, &mh, MSG_DONTWAIT);

	if (n != (ssize_t)sizeof(le))
		return -1;
	for (unsigned i = 0; i < 8; i++)
		x |= (uint64_t)le[i] << (8 * i);
	*v = (int64_t)x;
	*fd = -1;
	c = CMSG_FIRSTHDR(&mh);
	if (c && c->cmsg_level == SOL_SOCKET && c->cmsg_type == SCM_RIGHTS)
		memcpy(fd, CMSG_DATA(c), sizeof(int));
	return 0;
}

static void expect(struct fx *f, int64_t want, bool with_fd, int *fd_out)
{
	int64_t v;
	int fd;

	assert_int_equal(client_recv(f->peer, &v, &fd), 0);
	assert_int_equal(v, want);
	if (with_fd)
		assert_true(fd >= 0);
	else
		assert_int_equal(fd, -1);
	if (fd_out)
		*fd_out = fd;
	else if (fd >= 0)
		close(fd);
}

static void expect_nothing(struct fx *f)
{
	int64_t v;
	int fd;

	assert_int_equal(client_recv(f->peer, &v, &fd), -1);
}

/* The set-up a client gets on connect. */
static void connect_client(struct fx *f)
{
	int sv[2], shm;
	struct stat st;

	assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv), 0);
	f->peer = sv[1];
	assert_int_equal(gw_ivs_client(&f->s, sv[0]), 0);
	expect(f, 0, false, NULL);	      /* protocol version */
	expect(f, GW_IVS_VM_ID, false, NULL); /* its ID */
	expect(f, -1, true, &shm);	      /* the shared memory */
	assert_int_equal(fstat(shm, &st), 0);
	assert_int_equal(st.st_size, GW_IVS_SHM_BYTES);
	close(shm);
	expect_nothing(f);
}

static int setup(void **state)
{
	struct fx *f = calloc(1, sizeof(*f));

	assert_non_null(f);
	assert_int_equal(gw_ivs_init(&f->s, 3), 0);
	f->peer = -1;
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fx *f = *state;

	gw_ivs_close(&f->s);
	if (f->peer >= 0)
		close(f->peer);
	free(f);
	return 0;
}

/* The fd the client gets is the same eventfd: a write there is seen here. */
static void same_eventfd(int mine, int theirs)
{
	uint64_t one = 1, got = 0;

	assert_int_equal(write(theirs, &one, sizeof(one)), sizeof(one));
	assert_int_equal(read(mine, &got, sizeof(got)), sizeof(got));
	assert_int_equal(got, 1);
}

static void setup_messages_in_order(void **state)
{
	connect_client(*state);
}

static void kicks_are_own_vectors_until_full(void **state)
{
	struct fx *f = *state;
	int ev[4], got;
	uint32_t vec;

	for (int i = 0; i < 4; i++)
		ev[i] = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	connect_client(f);
	for (uint32_t i = 0; i < 3; i++) {
		assert_int_equal(gw_ivs_kick(&f->s, ev[i], &vec), 0);
		assert_int_equal(vec, i);
		expect(f, GW_IVS_VM_ID, true, &got);
		same_eventfd(ev[i], got);
		close(got);
	}
	/* own_max (3) reached: refused, nothing sent. */
	assert_int_equal(gw_ivs_kick(&f->s, ev[3], &vec), -ENOSPC);
	expect_nothing(f);
	assert_int_equal(f->s.st.own, 3);
	assert_int_equal(f->s.st.own_full, 1);
	for (int i = 0; i < 4; i++)
		close(ev[i]);
}

static void calls_take_new_peer_ids_and_drop_old_ones(void **state)
{
	struct fx *f = *state;
	int a = eventfd(0, EFD_CLOEXEC), b = eventfd(0, EFD_CLOEXEC), c = eventfd(0, EFD_CLOEXEC);
	uint32_t p1, p2, p3, q;
	int got;

	connect_client(f);
	assert_int_equal(gw_ivs_call(&f->s, 2, a, &p1), 0);
	assert_int_not_equal(p1, GW_IVS_VM_ID);
	expect(f, p1, true, &got);
	same_eventfd(a, got);
	close(got);
	gw_ivs_call_commit(&f->s, 2); /* nothing before it */
	expect_nothing(f);
	/* A new call eventfd: a new ID, the old one goes at commit. */
	assert_int_equal(gw_ivs_call(&f->s, 2, b, &p2), 0);
	assert_true(p2 != p1 && p2 != GW_IVS_VM_ID);
	expect(f, p2, true, NULL);
	expect_nothing(f);
	gw_ivs_call_commit(&f->s, 2);
	expect(f, p1, false, NULL); /* disconnect */
	/* Uncommitted switch, then another: the middle peer goes first. */
	assert_int_equal(gw_ivs_call(&f->s, 2, a, &p3), 0);
	expect(f, p3, true, NULL);
	assert_int_equal(gw_ivs_call(&f->s, 2, c, &q), 0);
	expect(f, p2, false, NULL);
	expect(f, q, true, NULL);
	assert_true(q != p1 && q != p2 && q != p3);
	/* Dropped (the VMM went): both the current and the pending one. */
	gw_ivs_call_drop(&f->s, 2);
	expect(f, p3, false, NULL);
	expect(f, q, false, NULL);
	expect_nothing(f);
	/* Another ring never shares an ID either. */
	assert_int_equal(gw_ivs_call(&f->s, 0, a, &p1), 0);
	assert_true(p1 > q);
	expect(f, p1, true, NULL);
	close(a);
	close(b);
	close(c);
}

static void refusals(void **state)
{
	struct fx *f = *state;
	int ev = eventfd(0, EFD_CLOEXEC);
	uint32_t v;

	/* No client yet. */
	assert_int_equal(gw_ivs_kick(&f->s, ev, &v), -ENOTCONN);
	assert_int_equal(gw_ivs_call(&f->s, 0, ev, &v), -ENOTCONN);
	connect_client(f);
	assert_int_equal(gw_ivs_call(&f->s, VU_MAX_QUEUES, ev, &v), -ERANGE);
	/* Every peer ID used. */
	f->s.next_peer = GW_IVS_PEER_MAX;
	assert_int_equal(gw_ivs_call(&f->s, 0, ev, &v), 0);
	assert_int_equal(v, GW_IVS_PEER_MAX);
	expect(f, GW_IVS_PEER_MAX, true, NULL);
	assert_int_equal(gw_ivs_call(&f->s, 1, ev, &v), -ENOSPC);
	expect_nothing(f);
	/* A client that went away: the send fails, the client is dropped. */
	close(f->peer);
	f->peer = -1;
	assert_true(gw_ivs_kick(&f->s, ev, &v) < 0);
	assert_int_equal(f->s.cfd, -1);
	assert_int_equal(f->s.st.send_errs, 1);
	assert_int_equal(gw_ivs_kick(&f->s, ev, &v), -ENOTCONN);
	close(ev);
}

/* A rebooted service VM is a new client: its vectors start again at 0 and
 * the old client's socket is closed. */
static void new_client_starts_over(void **state)
{
	struct fx *f = *state;
	int ev = eventfd(0, EFD_CLOEXEC), old;
	uint32_t v;
	char c;

	connect_client(f);
	assert_int_equal(gw_ivs_kick(&f->s, ev, &v), 0);
	assert_int_equal(gw_ivs_kick(&f->s, ev, &v), 0);
	assert_int_equal(v, 1);
	old = f->peer;
	connect_client(f);
	assert_int_equal(read(old, &c, 1) >= 0, true); /* drained or EOF, never blocks */
	while (read(old, &c, 1) > 0)
		;
	assert_int_equal(read(old, &c, 1), 0); /* the server closed it */
	close(old);
	assert_int_equal(gw_ivs_kick(&f->s, ev, &v), 0);
	assert_int_equal(v, 0);
	expect(f, GW_IVS_VM_ID, true, NULL);
	assert_int_equal(f->s.st.clients, 2);
	close(ev);
}

#define T(fn) cmocka_unit_test_setup_teardown(fn, setup, teardown)

int main(void)
{
	const struct CMUnitTest tests[] = {
		T(setup_messages_in_order),
		T(kicks_are_own_vectors_until_full),
		T(calls_take_new_peer_ids_and_drop_old_ones),
		T(refusals),
		T(new_client_starts_over),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
