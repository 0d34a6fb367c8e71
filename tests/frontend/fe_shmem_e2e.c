/* fe_shmem_e2e.c - SHMEM end to end through the library front-end and the
 * exact wiring uvhost-bench uses (apps/uvhost-bench/fe_wiring.c).
 *
 * The back-end (forked child) is vu_backend on the host platform, served by
 * uvh_server in FD mode on a socket it accepted, with a test device that
 * declares two shared memory regions (shmid 0 = 1 MiB, shmid 1 = 2 MiB) and
 * owns a 4 MiB memfd. A control socketpair (not vhost-user) asks it to map,
 * unmap, probe, fill or checksum; the loop watches it through the server's
 * extra-fds hook so it keeps serving while a SHMEM request is out.
 *
 * The front-end (this process) is vu_frontend over uvh_fe_conn: connect,
 * SET_BACKEND_REQ_FD, bench_wiring_attach (GET_SHMEM_CONFIG, windows), and
 * vu_fe_poll_backend to answer requests. Checked: the config arrives intact;
 * the bytes through a mapping are the back-end's file, both ways; a
 * read-only mapping faults on write (in a forked child); an overlapping
 * SHMEM_MAP that the back-end sends anyway is refused by the front-end and
 * the refusal reaches the back-end's API; UNMAP puts the reservation back;
 * RESET_DEVICE drops every mapping on both sides; and a back-end without
 * SHMEM regions (uvhostd's blk) leaves the path idle.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <inttypes.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include "fe_wiring.h"
#include "uvh/fe_host.h"
#include "uvh/host.h"
#include "vu/shmem.h"

#define MIB 0x100000ull
#define FILE_SIZE (4 * MIB)
#define WANT_PF                                                                                    \
	(VU_BIT(VU_PF_SHMEM) | VU_BIT(VU_PF_REPLY_ACK) | VU_BIT(VU_PF_BACKEND_REQ) |               \
	 VU_BIT(VU_PF_RESET_DEVICE))

static const uint64_t region_sizes[2] = {MIB, 2 * MIB};
static pid_t be_pid = -1;

#define CHECK(cond)                                                                                \
	do {                                                                                       \
		if (!(cond)) {                                                                     \
			fprintf(stderr, "fe_shmem_e2e: %s:%d: CHECK failed: %s\n", __FILE__,       \
				__LINE__, #cond);                                                  \
			if (be_pid > 0)                                                            \
				kill(be_pid, SIGKILL);                                             \
			exit(1);                                                                   \
		}                                                                                  \
	} while (0)

static uint8_t pattern(uint64_t i, unsigned seed)
{
	return (uint8_t)(i * 37u + seed * 101u + (i >> 11));
}

static uint64_t fnv(const volatile uint8_t *p, uint64_t len)
{
	uint64_t h = 0xcbf29ce484222325ull;

	for (uint64_t i = 0; i < len; i++)
		h = (h ^ p[i]) * 0x100000001b3ull;
	return h;
}

static void say(int fd, const char *fmt, ...)
{
	char line[256];
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(line, sizeof(line), fmt, ap);
	va_end(ap);
	if (n <= 0 || write(fd, line, (size_t)n) != n)
		_exit(3);
}

/* ---- the back-end process ----------------------------------------------- */

struct be {
	struct vu_device desc;
	struct vu_backend b;
	struct uvh_server srv;
	struct uvh_fd_source src;
	int ctl, memfd;
	uint8_t *file;
	bool awaiting; /* a SHMEM request is out: its completion answers */
	char buf[512];
	size_t blen;
};

static struct be be;

static int be_serve(void *dev, struct vu_backend *b, struct vu_req *req)
{
	(void)dev, (void)b, (void)req;
	return VU_DONE;
}

static void be_done(void *dev, const struct vu_shmem_done *d)
{
	(void)dev;
	if (be.awaiting) {
		be.awaiting = false;
		say(be.ctl, "%d\n", d->status);
	}
}

static const struct vu_device_ops be_ops = {
	.serve = be_serve,
	.shmem_done = be_done,
};

static void be_answer(int rc)
{
	if (rc)
		say(be.ctl, "%d\n", rc);
	else
		be.awaiting = true;
}

static void be_command(const char *line)
{
	unsigned s, rw, code;
	unsigned long long a, b, c;

	if (sscanf(line, "MAP %u %llx %llx %llx %u", &s, &a, &b, &c, &rw) == 5) {
		be_answer(vu_backend_shmem_map(&be.b, (uint8_t)s, be.memfd, a, b, c, rw));
	} else if (sscanf(line, "UNMAP %u %llx %llx", &s, &b, &c) == 3) {
		be_answer(vu_backend_shmem_unmap(&be.b, (uint8_t)s, b, c));
	} else if (sscanf(line, "PROBE %u %u %llx %llx", &code, &s, &b, &c) == 4) {
		struct vu_shmem_map_msg m = {
			.shmid = (uint8_t)s, .shm_offset = b, .len = c, .flags = VU_SHMEM_MAP_RW};
		be_answer(vu_backend_shmem_probe(&be.b, code, &m,
						 code == VU_BREQ_SHMEM_MAP ? be.memfd : -1));
	} else if (sscanf(line, "FILL %llx %llx %u", &a, &b, &s) == 3) {
		for (uint64_t i = 0; i < b; i++)
			be.file[a + i] = pattern(i, s);
		say(be.ctl, "0\n");
	} else if (sscanf(line, "SUM %llx %llx", &a, &b) == 2) {
		say(be.ctl, "%" PRIu64 "\n", fnv(be.file + a, b));
	} else if (strncmp(line, "COUNT", 5) == 0) {
		say(be.ctl, "%u\n", vu_backend_shmem_count(&be.b));
	} else if (sscanf(line, "STATE %u %llx", &s, &b) == 2) {
		say(be.ctl, "%d\n", (int)vu_backend_shmem_state(&be.b, (uint8_t)s, b));
	} else {
		say(be.ctl, "-9999\n");
	}
}

static int be_fill(void *ctx, struct pollfd *pfd, int max)
{
	(void)ctx, (void)max;
	pfd[0].fd = be.ctl;
	pfd[0].events = POLLIN;
	return 1;
}

static int be_ready(void *ctx, const struct pollfd *pfd, int n)
{
	char *nl;
	ssize_t r;

	(void)ctx, (void)n;
	if (!(pfd[0].revents & (POLLIN | POLLHUP)))
		return 0;
	r = read(be.ctl, be.buf + be.blen, sizeof(be.buf) - 1 - be.blen);
	if (r <= 0) {
		be.srv.stop = 1;
		return 0;
	}
	be.blen += (size_t)r;
	be.buf[be.blen] = 0;
	while ((nl = strchr(be.buf, '\n'))) {
		*nl = 0;
		be_command(be.buf);
		be.blen -= (size_t)(nl + 1 - be.buf);
		memmove(be.buf, nl + 1, be.blen + 1);
	}
	return 1;
}

static void be_main(int listen_fd, int ctl, uint32_t num_shmem)
{
	int sock = accept4(listen_fd, NULL, NULL, SOCK_CLOEXEC);

	signal(SIGPIPE, SIG_IGN);
	close(listen_fd);
	be.ctl = ctl;
	be.memfd = memfd_create("fe-shmem-e2e", MFD_CLOEXEC);
	if (sock < 0 || be.memfd < 0 || ftruncate(be.memfd, FILE_SIZE) < 0)
		_exit(2);
	be.file = mmap(NULL, FILE_SIZE, PROT_READ | PROT_WRITE, MAP_SHARED, be.memfd, 0);
	if (be.file == MAP_FAILED)
		_exit(2);
	be.desc.name = "fe-shmem-test";
	be.desc.virtio_id = 0x7e59;
	be.desc.num_queues = 1;
	be.desc.max_queue_size = 64;
	be.desc.ops = &be_ops;
	be.desc.num_shmem = num_shmem;
	be.desc.shmem_sizes = num_shmem ? region_sizes : NULL;
	be.src = (struct uvh_fd_source){.fill = be_fill, .ready = be_ready};
	if (uvh_server_init(&be.srv, UVH_FD, NULL, sock, &be.b, false))
		_exit(2);
	vu_backend_init(&be.b, &be.srv.hp.plat, &be.desc, NULL, NULL);
	be.srv.extra = &be.src;
	uvh_server_run(&be.srv);
	_exit(0);
}

/* ---- the front-end: the library, wired as uvhost-bench wires it --------- */

static struct uvh_fe_conn conn;
static struct vu_frontend fe;
static struct bench_wiring wire;
static int ctl = -1;
static char sock_path[108];

static void start(uint32_t num_shmem)
{
	int cv[2], lfd, peer;

	snprintf(sock_path, sizeof(sock_path), "/tmp/fe-shmem-e2e.%d.sock", (int)getpid());
	unlink(sock_path);
	lfd = uvh_listen(sock_path);
	CHECK(lfd >= 0);
	CHECK(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, cv) == 0);
	be_pid = fork();
	CHECK(be_pid >= 0);
	if (be_pid == 0) {
		close(cv[0]);
		be_main(lfd, cv[1], num_shmem);
	}
	close(lfd);
	close(cv[1]);
	ctl = cv[0];
	CHECK(uvh_fe_connect(&conn, sock_path) == 0);
	unlink(sock_path);
	vu_fe_init(&fe, &conn.t);
	CHECK(vu_fe_connect(&fe, WANT_PF, 0) == 0);
	CHECK(fe.pfeatures & VU_BIT(VU_PF_BACKEND_REQ));
	CHECK(uvh_fe_backend_pair(&conn, &peer) == 0);
	CHECK(vu_fe_set_backend_req(&fe, peer, 0) == 0);
	close(peer);
	CHECK(bench_wiring_attach(&wire, &fe) == 0);
}

static void stop(void)
{
	int st;

	bench_wiring_fini(&wire);
	uvh_fe_close(&conn);
	close(ctl);
	CHECK(waitpid(be_pid, &st, 0) == be_pid);
	CHECK(WIFEXITED(st) && WEXITSTATUS(st) == 0);
	be_pid = -1;
}

/* Send a control command; answer the backend channel until its answer. */
static long long be_cmd(const char *fmt, ...)
{
	char line[256], ans[64];
	size_t got = 0;
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(line, sizeof(line), fmt, ap);
	va_end(ap);
	CHECK(n > 0 && write(ctl, line, (size_t)n) == n);
	for (;;) {
		struct pollfd pfd[2] = {{.fd = ctl, .events = POLLIN},
					{.fd = conn.backend_fd, .events = POLLIN}};
		CHECK(poll(pfd, 2, 10000) > 0);
		if (pfd[1].revents & (POLLIN | POLLHUP))
			CHECK(vu_fe_poll_backend(&fe) >= 0);
		if (!(pfd[0].revents & POLLIN))
			continue;
		while (got < sizeof(ans) - 1) {
			CHECK(read(ctl, ans + got, 1) == 1);
			if (ans[got++] == '\n')
				break;
		}
		ans[got] = 0;
		/* Checksums are u64: strtoll would saturate them. */
		if (ans[0] == '-')
			return strtoll(ans, NULL, 10);
		return (long long)strtoull(ans, NULL, 10);
	}
}

static int in_child(void (*fn)(volatile uint8_t *), volatile uint8_t *p)
{
	struct rlimit no_core = {0, 0};
	pid_t pid = fork();
	int st;

	CHECK(pid >= 0);
	if (pid == 0) {
		setrlimit(RLIMIT_CORE, &no_core);
		signal(SIGSEGV, SIG_DFL);
		fn(p);
		_exit(0);
	}
	CHECK(waitpid(pid, &st, 0) == pid);
	if (WIFSIGNALED(st))
		return WTERMSIG(st);
	CHECK(WIFEXITED(st) && WEXITSTATUS(st) == 0);
	return 0;
}

static void touch_read(volatile uint8_t *p)
{
	if (p[0] == 0x5a && p[1] == 0xa5)
		_exit(7); /* keeps the load */
}

static void touch_write(volatile uint8_t *p)
{
	p[0] = (uint8_t)(p[0] + 1);
}

/* ---- scenarios ---------------------------------------------------------- */

static void config_arrives(void)
{
	CHECK(wire.shmem_on);
	CHECK(wire.shmem_nregions == 2);
	CHECK(wire.shmem_sizes[0] == MIB && wire.shmem_sizes[1] == 2 * MIB);
	CHECK(wire.shmem_sizes[2] == 0);
	CHECK(uvh_shmem_window_base(&wire.win, 0) && uvh_shmem_window_base(&wire.win, 1));
	CHECK(in_child(touch_read, uvh_shmem_window_base(&wire.win, 0)) == SIGSEGV);
}

static void bytes_match_both_ways(void)
{
	volatile uint8_t *w0 = uvh_shmem_window_base(&wire.win, 0);

	CHECK(be_cmd("FILL 10000 20000 1\n") == 0);
	CHECK(be_cmd("MAP 0 10000 40000 20000 1\n") == 0);
	CHECK(wire.shm.n_mapped == 1 && wire.shm.nmaps == 1);
	CHECK(be_cmd("STATE 0 40000\n") == VU_SHMEM_MAPPED);
	for (uint64_t i = 0; i < 0x20000; i++)
		CHECK(w0[0x40000 + i] == pattern(i, 1));
	CHECK((uint64_t)be_cmd("SUM 10000 20000\n") == fnv(w0 + 0x40000, 0x20000));
	/* Written here, read back there. */
	for (uint64_t i = 0; i < 0x1000; i++)
		w0[0x40000 + i] = pattern(i, 9);
	CHECK((uint64_t)be_cmd("SUM 10000 1000\n") == fnv(w0 + 0x40000, 0x1000));
	CHECK(in_child(touch_read, w0 + 0x40000) == 0);
	CHECK(in_child(touch_read, w0 + 0x3f000) == SIGSEGV);
	CHECK(in_child(touch_read, w0 + 0x60000) == SIGSEGV);
}

static void read_only_faults(void)
{
	volatile uint8_t *w1 = uvh_shmem_window_base(&wire.win, 1);

	CHECK(be_cmd("MAP 1 200000 100000 10000 0\n") == 0);
	CHECK(be_cmd("FILL 200000 10000 4\n") == 0);
	for (uint64_t i = 0; i < 0x10000; i++)
		CHECK(w1[0x100000 + i] == pattern(i, 4));
	CHECK(in_child(touch_read, w1 + 0x100000) == 0);
	CHECK(in_child(touch_write, w1 + 0x100000) == SIGSEGV);
	CHECK((uint64_t)be_cmd("SUM 200000 10000\n") == fnv(w1 + 0x100000, 0x10000));
}

static void overlap_refused_end_to_end(void)
{
	volatile uint8_t *w0 = uvh_shmem_window_base(&wire.win, 0);
	uint64_t refused = wire.shm.n_refused, breqs = fe.stats.backend_reqs;

	/* The back-end's own check stops it before the wire. */
	CHECK(be_cmd("MAP 0 0 50000 20000 1\n") == -EEXIST);
	CHECK(fe.stats.backend_reqs == breqs);
	/* Sent anyway: the front-end refuses, the back-end's API sees it. */
	CHECK(be_cmd("PROBE 9 0 50000 20000\n") == -EEXIST);
	CHECK(be_cmd("PROBE 9 0 f0000 20000\n") == -ERANGE);
	CHECK(be_cmd("PROBE 9 1 1000 800\n") == -EINVAL); /* not page aligned */
	CHECK(be_cmd("PROBE 10 0 40000 1000\n") == -EINVAL);
	CHECK(fe.stats.backend_reqs == breqs + 4);
	CHECK(wire.shm.n_refused == refused + 4);
	/* The existing mapping is intact, the neighbours still reserved. */
	CHECK(wire.shm.nmaps == 2);
	CHECK((uint64_t)be_cmd("SUM 10000 1000\n") == fnv(w0 + 0x40000, 0x1000));
	CHECK(in_child(touch_read, w0 + 0x60000) == SIGSEGV);
}

static void unmap_exactly(void)
{
	volatile uint8_t *w0 = uvh_shmem_window_base(&wire.win, 0);

	CHECK(be_cmd("UNMAP 0 40000 20000\n") == 0);
	CHECK(wire.shm.nmaps == 1 && wire.shm.n_unmapped == 1);
	CHECK(in_child(touch_read, w0 + 0x40000) == SIGSEGV);
	CHECK(be_cmd("MAP 0 10000 40000 20000 1\n") == 0);
	CHECK(w0[0x40000] == pattern(0, 9));
}

static void reset_drops_everything(void)
{
	volatile uint8_t *w0 = uvh_shmem_window_base(&wire.win, 0);
	volatile uint8_t *w1 = uvh_shmem_window_base(&wire.win, 1);

	CHECK(be_cmd("COUNT\n") == 2);
	CHECK(wire.shm.nmaps == 2);
	CHECK(vu_fe_reset_device(&fe) == 0);
	CHECK(wire.resets == 1);
	CHECK(wire.shm.nmaps == 0);
	CHECK(be_cmd("COUNT\n") == 0);
	CHECK(in_child(touch_read, w0 + 0x40000) == SIGSEGV);
	CHECK(in_child(touch_read, w1 + 0x100000) == SIGSEGV);
	/* Both sides start afresh: the same range maps again. */
	CHECK(be_cmd("MAP 1 200000 100000 10000 1\n") == 0);
	CHECK(w1[0x100000] == pattern(0, 4));
}

static void no_regions_stays_idle(void)
{
	start(0);
	CHECK(!(fe.pfeatures & VU_BIT(VU_PF_SHMEM)));
	CHECK(!wire.shmem_on);
	CHECK(be_cmd("MAP 0 0 0 1000 1\n") != 0);
	CHECK(fe.stats.backend_reqs == 0);
	CHECK(vu_fe_reset_device(&fe) == 0);
	CHECK(wire.resets == 1);
	stop();
}

int main(void)
{
	signal(SIGPIPE, SIG_IGN);
	start(2);
	config_arrives();
	bytes_match_both_ways();
	read_only_faults();
	overlap_refused_end_to_end();
	unmap_exactly();
	reset_drops_everything();
	stop();
	no_regions_stays_idle();
	printf("fe_shmem_e2e: all checks passed\n");
	return 0;
}
