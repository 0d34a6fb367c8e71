/* shmem_e2e.c - SHMEM end to end: real memfds, real mmap, two processes.
 *
 * The back-end (forked child) is the library on the host platform, served
 * by uvh_server over one end of a socketpair, with a test device that
 * declares two shared memory regions: shmid 0 = 1 MiB, shmid 1 = 4 MiB. It
 * owns an 8 MiB memfd. A control socket (the test's own, not vhost-user)
 * lets the front-end ask it to map, unmap, fill or checksum its file; it is
 * watched through the server's extra-fds hook, so the back-end's loop keeps
 * running while it waits for the front-end's replies.
 *
 * The front-end (this process) speaks the few vhost-user messages it needs
 * by hand, answers SHMEM_MAP/UNMAP with vu_fe_shmem over a host shmem
 * window, and checks what the mappings really do: same bytes on both sides,
 * writes reaching the file, read-only really read-only (a forked child
 * faults), PROT_NONE again after unmap and reset, and refusals reaching the
 * back-end's API both from its own checks and from the front-end's.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
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

#include "uvh/host.h"
#include "uvh/shmem_window.h"
#include "vu/fe_shmem.h"
#include "vu/shmem.h"

#define MIB 0x100000ull
#define FILE_SIZE (8 * MIB)
#define PF_ALL                                                                                     \
	(VU_BIT(VU_PF_SHMEM) | VU_BIT(VU_PF_REPLY_ACK) | VU_BIT(VU_PF_BACKEND_REQ) |               \
	 VU_BIT(VU_PF_RESET_DEVICE))

static const uint64_t region_sizes[2] = {MIB, 4 * MIB};
static int failures;
static pid_t be_pid = -1;

#define CHECK(cond)                                                                                \
	do {                                                                                       \
		if (!(cond)) {                                                                     \
			fprintf(stderr, "shmem_e2e: %s:%d: CHECK failed: %s\n", __FILE__,          \
				__LINE__, #cond);                                                  \
			failures++;                                                                \
			if (be_pid > 0)                                                            \
				kill(be_pid, SIGKILL);                                             \
			exit(1);                                                                   \
		}                                                                                  \
	} while (0)

static uint8_t pattern(uint64_t i, unsigned seed)
{
	return (uint8_t)(i * 131u + seed * 17u + (i >> 9));
}

static uint64_t fnv(const volatile uint8_t *p, uint64_t len)
{
	uint64_t h = 0xcbf29ce484222325ull;

	for (uint64_t i = 0; i < len; i++)
		h = (h ^ p[i]) * 0x100000001b3ull;
	return h;
}

static uint64_t fnv_pattern(uint64_t len, unsigned seed)
{
	uint64_t h = 0xcbf29ce484222325ull;

	for (uint64_t i = 0; i < len; i++)
		h = (h ^ pattern(i, seed)) * 0x100000001b3ull;
	return h;
}

static void write_line(int fd, const char *fmt, ...)
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
	int ctl;
	int memfd;
	uint8_t *file;
	bool awaiting; /* a request is out; its completion answers the command */
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
	if (!be.awaiting)
		return;
	be.awaiting = false;
	write_line(be.ctl, "%d\n", d->status);
}

static const struct vu_device_ops be_ops = {
	.serve = be_serve,
	.shmem_done = be_done,
};

/* Answer now (refused or synchronous), or later from be_done. */
static void be_answer_request(int rc)
{
	if (rc)
		write_line(be.ctl, "%d\n", rc);
	else
		be.awaiting = true;
}

static int bad_fd(const char *kind, bool *rw)
{
	char path[64];
	int p[2];

	*rw = true;
	if (strcmp(kind, "rdonly") == 0) {
		snprintf(path, sizeof(path), "/proc/self/fd/%d", be.memfd);
		return open(path, O_RDONLY | O_CLOEXEC);
	}
	/* Read-only, so that the failure is the pipe's, not the access mode's. */
	*rw = false;
	if (pipe2(p, O_CLOEXEC) < 0)
		return -1;
	close(p[1]);
	return p[0];
}

static void be_command(char *line)
{
	unsigned s, rw, code;
	unsigned long long a, b, c;
	char kind[16];
	bool brw;

	if (sscanf(line, "MAP %u %llx %llx %llx %u", &s, &a, &b, &c, &rw) == 5) {
		be_answer_request(vu_backend_shmem_map(&be.b, (uint8_t)s, be.memfd, a, b, c, rw));
	} else if (sscanf(line, "MAPFD %15s %u %llx %llx", kind, &s, &b, &c) == 4) {
		int fd = bad_fd(kind, &brw);
		be_answer_request(vu_backend_shmem_map(&be.b, (uint8_t)s, fd, 0, b, c, brw));
		close(fd); /* borrowed: it is on the wire already */
	} else if (sscanf(line, "UNMAP %u %llx %llx", &s, &b, &c) == 3) {
		be_answer_request(vu_backend_shmem_unmap(&be.b, (uint8_t)s, b, c));
	} else if (sscanf(line, "PROBE %u %u %llx %llx", &code, &s, &b, &c) == 4) {
		struct vu_shmem_map_msg m = {.shmid = (uint8_t)s, .shm_offset = b, .len = c};
		be_answer_request(vu_backend_shmem_probe(
			&be.b, code, &m, code == VU_BREQ_SHMEM_MAP ? be.memfd : -1));
	} else if (sscanf(line, "FILL %llx %llx %u", &a, &b, &s) == 3) {
		for (uint64_t i = 0; i < b; i++)
			be.file[a + i] = pattern(i, s);
		write_line(be.ctl, "0\n");
	} else if (sscanf(line, "SUM %llx %llx", &a, &b) == 2) {
		write_line(be.ctl, "%" PRIu64 "\n", fnv(be.file + a, b));
	} else if (strncmp(line, "COUNT", 5) == 0) {
		write_line(be.ctl, "%u\n", vu_backend_shmem_count(&be.b));
	} else if (sscanf(line, "STATE %u %llx", &s, &b) == 2) {
		write_line(be.ctl, "%d\n", (int)vu_backend_shmem_state(&be.b, (uint8_t)s, b));
	} else {
		write_line(be.ctl, "-9999\n");
	}
}

static int be_fill(void *ctx, struct pollfd *pfd, int max)
{
	pfd[0].fd = be.ctl;
	pfd[0].events = POLLIN;
	return 1;
}

static int be_ready(void *ctx, const struct pollfd *pfd, int n)
{
	char *nl;
	ssize_t r;

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

static void be_main(int sock, int ctl)
{
	signal(SIGPIPE, SIG_IGN);
	be.ctl = ctl;
	be.memfd = memfd_create("shmem-e2e", MFD_CLOEXEC);
	if (be.memfd < 0 || ftruncate(be.memfd, FILE_SIZE) < 0)
		_exit(2);
	be.file = mmap(NULL, FILE_SIZE, PROT_READ | PROT_WRITE, MAP_SHARED, be.memfd, 0);
	if (be.file == MAP_FAILED)
		_exit(2);
	be.desc.name = "shmem-test";
	be.desc.virtio_id = 0x7e59;
	be.desc.num_queues = 1;
	be.desc.max_queue_size = 64;
	be.desc.ops = &be_ops;
	be.desc.num_shmem = 2;
	be.desc.shmem_sizes = region_sizes;
	be.src = (struct uvh_fd_source){.fill = be_fill, .ready = be_ready};
	if (uvh_server_init(&be.srv, UVH_FD, NULL, sock, &be.b, false))
		_exit(2);
	/* uvh_server_init set up the platform the session must use. */
	vu_backend_init(&be.b, &be.srv.hp.plat, &be.desc, NULL, NULL);
	be.srv.extra = &be.src;
	uvh_server_run(&be.srv);
	_exit(0);
}

/* ---- the front-end (this process) --------------------------------------- */

struct fe {
	int sock, bchan, ctl;
	struct uvh_shmem_window win;
	struct vu_fe_shmem shm;
	bool shm_ready;
	uint64_t pf;
	uint32_t nregions;
	uint64_t sizes[VU_SHMEM_MAX_REGIONS];
	int breqs; /* backend requests seen */
	struct vu_msg tx, rx, brx;
};

static struct fe fe;

static void fe_send(uint32_t code, const void *payload, uint32_t size, bool need_reply)
{
	memset(&fe.tx.hdr, 0, sizeof(fe.tx.hdr));
	fe.tx.hdr.request = code;
	fe.tx.hdr.flags = VU_VERSION | (need_reply ? VU_FLAG_NEED_REPLY : 0);
	fe.tx.hdr.size = size;
	if (size)
		memcpy(fe.tx.p.raw, payload, size);
	fe.tx.nfds = 0;
	CHECK(uvh_send_msg(fe.sock, &fe.tx) == 0);
}

static const struct vu_msg *fe_reply(uint32_t code, uint32_t size)
{
	CHECK(uvh_recv_msg(fe.sock, &fe.rx) == 0);
	CHECK(fe.rx.hdr.request == code);
	CHECK(fe.rx.hdr.flags == VU_REPLY_FLAGS);
	CHECK(fe.rx.hdr.size == size);
	CHECK(fe.rx.nfds == 0);
	return &fe.rx;
}

static uint64_t fe_get_u64(uint32_t code)
{
	fe_send(code, NULL, 0, false);
	return fe_reply(code, 8)->p.u64;
}

/* One request from the back-end: checked by the handler, answered if asked. */
static void fe_serve_backend(void)
{
	struct vu_msg *m = &fe.brx;
	uint32_t code;
	uint64_t status;
	int rc;

	CHECK(uvh_recv_msg(fe.bchan, m) == 0);
	code = m->hdr.request;
	fe.breqs++;
	CHECK(m->hdr.flags == (VU_VERSION | VU_FLAG_NEED_REPLY));
	rc = fe.shm_ready ? vu_fe_shmem_handle(&fe.shm, m) : -EOPNOTSUPP;
	for (uint32_t i = 0; i < m->nfds; i++)
		close(m->fds[i]);
	status = (uint64_t)(int64_t)rc;
	memset(&m->hdr, 0, sizeof(m->hdr));
	m->hdr.request = code;
	m->hdr.flags = VU_REPLY_FLAGS;
	m->hdr.size = 8;
	m->p.u64 = status;
	m->nfds = 0;
	CHECK(uvh_send_msg(fe.bchan, m) == 0);
}

/* Send a control command; serve the backend channel until its answer. */
static long long be_cmd(const char *fmt, ...)
{
	char line[256], ans[64];
	size_t got = 0;
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(line, sizeof(line), fmt, ap);
	va_end(ap);
	CHECK(n > 0 && write(fe.ctl, line, (size_t)n) == n);
	for (;;) {
		struct pollfd pfd[2] = {{.fd = fe.ctl, .events = POLLIN},
					{.fd = fe.bchan, .events = POLLIN}};
		CHECK(poll(pfd, 2, 10000) > 0);
		if (pfd[1].revents & POLLIN)
			fe_serve_backend();
		if (!(pfd[0].revents & POLLIN))
			continue;
		while (got < sizeof(ans) - 1) {
			CHECK(read(fe.ctl, ans + got, 1) == 1);
			if (ans[got++] == '\n')
				break;
		}
		ans[got] = 0;
		return strtoll(ans, NULL, 10);
	}
}

/* Connect: features, protocol features (want & offered), owner, backend
 * channel, GET_SHMEM_CONFIG when SHMEM was negotiated. */
static void fe_connect(uint64_t want)
{
	int sv[2];
	uint64_t offered;

	CHECK(fe_get_u64(VU_REQ_GET_FEATURES) & VU_BIT(VU_F_PROTOCOL_FEATURES));
	offered = fe_get_u64(VU_REQ_GET_PROTOCOL_FEATURES);
	CHECK(offered & VU_BIT(VU_PF_SHMEM));
	fe.pf = offered & want;
	fe_send(VU_REQ_SET_PROTOCOL_FEATURES, &fe.pf, 8, false);
	fe_send(VU_REQ_SET_OWNER, NULL, 0, false);
	CHECK(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) == 0);
	fe.tx.hdr = (struct vu_hdr){.request = VU_REQ_SET_BACKEND_REQ_FD, .flags = VU_VERSION};
	fe.tx.nfds = 1;
	fe.tx.fds[0] = sv[1];
	CHECK(uvh_send_msg(fe.sock, &fe.tx) == 0);
	close(sv[1]);
	fe.bchan = sv[0];
	fe.breqs = 0;
	if (!(fe.pf & VU_BIT(VU_PF_SHMEM)))
		return;
	fe_send(VU_REQ_GET_SHMEM_CONFIG, NULL, 0, false);
	fe_reply(VU_REQ_GET_SHMEM_CONFIG, sizeof(struct vu_shmem_config_msg));
	fe.nregions = fe.rx.p.shmem_config.nregions;
	CHECK(fe.nregions == 2);
	for (uint32_t i = 0; i < VU_SHMEM_MAX_REGIONS; i++)
		fe.sizes[i] = fe.rx.p.shmem_config.sizes[i];
	CHECK(fe.sizes[0] == MIB && fe.sizes[1] == 4 * MIB && fe.sizes[2] == 0);
}

static void start_backend(uint64_t want)
{
	int sv[2], cv[2];

	CHECK(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) == 0);
	CHECK(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, cv) == 0);
	be_pid = fork();
	CHECK(be_pid >= 0);
	if (be_pid == 0) {
		close(sv[0]);
		close(cv[0]);
		be_main(sv[1], cv[1]);
	}
	close(sv[1]);
	close(cv[1]);
	fe.sock = sv[0];
	fe.ctl = cv[0];
	fe_connect(want);
}

static void stop_backend(void)
{
	int st;

	close(fe.sock);
	close(fe.ctl);
	close(fe.bchan);
	CHECK(waitpid(be_pid, &st, 0) == be_pid);
	CHECK(WIFEXITED(st) && WEXITSTATUS(st) == 0);
	be_pid = -1;
}

/* Run fn(p) in a forked child; returns the signal that killed it, or 0. */
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
		_exit(7); /* any use of the value keeps the load */
}

static void touch_write(volatile uint8_t *p)
{
	p[0] = (uint8_t)(p[0] + 1);
}

/* Permissions of the mapping holding [addr, addr+len), from /proc/self/maps. */
static bool maps_perms(const void *addr, uint64_t len, char perms[5])
{
	uintptr_t a = (uintptr_t)addr;
	char line[512];
	bool found = false;
	FILE *f = fopen("/proc/self/maps", "r");

	CHECK(f);
	while (fgets(line, sizeof(line), f)) {
		unsigned long lo, hi;
		char p[5];
		if (sscanf(line, "%lx-%lx %4s", &lo, &hi, p) != 3)
			continue;
		if (a >= lo && a + len <= hi) {
			memcpy(perms, p, 5);
			found = true;
			break;
		}
	}
	fclose(f);
	return found;
}

static bool is_prot_none(const void *addr, uint64_t len)
{
	char perms[5];
	return maps_perms(addr, len, perms) && strcmp(perms, "---p") == 0;
}

static void fe_setup_regions(void)
{
	CHECK(uvh_shmem_window_init(&fe.win, fe.sizes, fe.nregions) == 0);
	CHECK(vu_fe_shmem_init(&fe.shm, &fe.win.mapper, fe.sizes, fe.nregions, uvh_page_size()) ==
	      0);
	fe.shm_ready = true;
	CHECK(is_prot_none(uvh_shmem_window_base(&fe.win, 0), MIB));
	CHECK(is_prot_none(uvh_shmem_window_base(&fe.win, 1), 4 * MIB));
}

/* ---- scenarios ---------------------------------------------------------- */

static void shared_bytes_and_writes(void)
{
	volatile uint8_t *w0 = uvh_shmem_window_base(&fe.win, 0);

	CHECK(be_cmd("FILL 0 10000 1\n") == 0);
	CHECK(be_cmd("MAP 0 0 10000 10000 1\n") == 0);
	CHECK(fe.breqs == 1);
	CHECK(be_cmd("STATE 0 10000\n") == VU_SHMEM_MAPPED);
	CHECK(fe.shm.nmaps == 1);
	{
		char perms[5];
		CHECK(maps_perms((const void *)(w0 + 0x10000), 0x10000, perms));
		CHECK(strcmp(perms, "rw-s") == 0);
	}
	/* Same bytes on both sides: the pattern, and the back-end's checksum. */
	for (uint64_t i = 0; i < 0x10000; i++)
		CHECK(w0[0x10000 + i] == pattern(i, 1));
	CHECK((uint64_t)be_cmd("SUM 0 10000\n") == fnv(w0 + 0x10000, 0x10000));
	/* A write through the RW mapping lands in the back-end's file. */
	for (uint64_t i = 0; i < 0x1000; i++)
		w0[0x10000 + i] = pattern(i, 2);
	CHECK((uint64_t)be_cmd("SUM 0 1000\n") == fnv_pattern(0x1000, 2));
	/* Its neighbours outside the mapping are still reserved. */
	CHECK(is_prot_none((const void *)w0, 0x10000));
	CHECK(is_prot_none((const void *)(w0 + 0x20000), MIB - 0x20000));
	CHECK(in_child(touch_read, w0 + 0x10000 - 0x1000) == SIGSEGV);
}

static void read_only_mapping(void)
{
	volatile uint8_t *w1 = uvh_shmem_window_base(&fe.win, 1);

	CHECK(be_cmd("MAP 1 100000 0 20000 0\n") == 0);
	/* Written by the back-end after mapping: the front-end sees it live. */
	CHECK(be_cmd("FILL 100000 20000 3\n") == 0);
	for (uint64_t i = 0; i < 0x20000; i++)
		CHECK(w1[i] == pattern(i, 3));
	CHECK((uint64_t)be_cmd("SUM 100000 20000\n") == fnv(w1, 0x20000));
	{
		char perms[5];
		CHECK(maps_perms((const void *)w1, 0x20000, perms));
		CHECK(strcmp(perms, "r--s") == 0);
	}
	/* Reading is fine; writing faults, and the file is unchanged. */
	CHECK(in_child(touch_read, w1 + 0x1000) == 0);
	CHECK(in_child(touch_write, w1 + 0x1000) == SIGSEGV);
	CHECK((uint64_t)be_cmd("SUM 100000 20000\n") == fnv_pattern(0x20000, 3));
}

static void refused_by_backend(void)
{
	int before = fe.breqs;

	/* The library's own checks: nothing reaches the front-end. */
	CHECK(be_cmd("MAP 0 0 18000 10000 1\n") == -EEXIST);
	CHECK(be_cmd("UNMAP 0 10000 1000\n") == -EINVAL);
	CHECK(be_cmd("MAP 0 0 f0000 20000 1\n") == -ERANGE);
	CHECK(be_cmd("MAP 5 0 0 1000 1\n") == -EINVAL);
	CHECK(be_cmd("MAP 0 0 fffffffffffff000 2000 1\n") == -ERANGE);
	CHECK(fe.breqs == before);
	CHECK(be_cmd("COUNT\n") == 2);
}

static void refused_by_frontend(void)
{
	uint64_t refused = fe.shm.n_refused;
	int before = fe.breqs;

	/* Sent as given: the front-end's answer reaches the back-end's API. */
	CHECK(be_cmd("PROBE 9 0 18000 10000\n") == -EEXIST);
	CHECK(be_cmd("PROBE 10 0 10000 1000\n") == -EINVAL);
	CHECK(be_cmd("PROBE 9 0 f0000 20000\n") == -ERANGE);
	CHECK(be_cmd("PROBE 9 7 0 1000\n") == -EINVAL);
	CHECK(be_cmd("PROBE 9 0 fffffffffffff000 2000\n") == -ERANGE);
	CHECK(be_cmd("PROBE 10 1 40000 1000\n") == -ENOENT);
	CHECK(fe.breqs == before + 6);
	CHECK(fe.shm.n_refused == refused + 6);
	/* An fd mmap refuses: the mapper fails, the reply says so, the
	 * back-end forgets the mapping, the window keeps its reservation. */
	CHECK(be_cmd("MAPFD pipe 0 40000 1000\n") == -ENODEV);
	CHECK(be_cmd("STATE 0 40000\n") == VU_SHMEM_NONE);
	CHECK(be_cmd("MAPFD rdonly 0 40000 1000\n") == -EACCES);
	CHECK(is_prot_none((const uint8_t *)uvh_shmem_window_base(&fe.win, 0) + 0x40000, 0x1000));
	CHECK(fe.shm.nmaps == 2);
	CHECK(be_cmd("COUNT\n") == 2);
}

static void unmap_restores_reservation(void)
{
	volatile uint8_t *w0 = uvh_shmem_window_base(&fe.win, 0);

	CHECK(be_cmd("UNMAP 0 10000 10000\n") == 0);
	CHECK(be_cmd("STATE 0 10000\n") == VU_SHMEM_NONE);
	CHECK(fe.shm.nmaps == 1);
	CHECK(is_prot_none((const void *)w0, MIB));
	CHECK(in_child(touch_read, w0 + 0x10000) == SIGSEGV);
	/* The range is free on both sides again. */
	CHECK(be_cmd("MAP 0 0 10000 10000 1\n") == 0);
	CHECK(w0[0x10000] == pattern(0, 2));
}

static void reset_drops_all(void)
{
	volatile uint8_t *w0 = uvh_shmem_window_base(&fe.win, 0);
	volatile uint8_t *w1 = uvh_shmem_window_base(&fe.win, 1);

	CHECK(be_cmd("COUNT\n") == 2);
	fe_send(VU_REQ_RESET_DEVICE, NULL, 0, true);
	CHECK(fe_reply(VU_REQ_RESET_DEVICE, 8)->p.u64 == 0);
	vu_fe_shmem_reset(&fe.shm);
	CHECK(be_cmd("COUNT\n") == 0);
	CHECK(fe.shm.nmaps == 0);
	CHECK(is_prot_none((const void *)w0, MIB));
	CHECK(is_prot_none((const void *)w1, 4 * MIB));
	CHECK(in_child(touch_read, w0 + 0x10000) == SIGSEGV);
	CHECK(in_child(touch_read, w1) == SIGSEGV);
	/* Mapping starts afresh. */
	CHECK(be_cmd("MAP 1 0 0 400000 1\n") == 0);
	/* File offset 0: written through shmid 0 earlier, filled before that. */
	CHECK(w1[0] == pattern(0, 2));
	CHECK(w1[0x1000] == pattern(0x1000, 1));
}

static void without_reply_ack(void)
{
	struct pollfd pfd;

	start_backend(VU_BIT(VU_PF_SHMEM) | VU_BIT(VU_PF_BACKEND_REQ));
	CHECK(!(fe.pf & VU_BIT(VU_PF_REPLY_ACK)));
	CHECK(be_cmd("MAP 0 0 0 1000 1\n") == -EOPNOTSUPP);
	CHECK(be_cmd("COUNT\n") == 0);
	pfd = (struct pollfd){.fd = fe.bchan, .events = POLLIN};
	CHECK(poll(&pfd, 1, 100) == 0);
	CHECK(fe.breqs == 0);
	stop_backend();
}

int main(void)
{
	signal(SIGPIPE, SIG_IGN);
	start_backend(PF_ALL);
	fe_setup_regions();
	shared_bytes_and_writes();
	read_only_mapping();
	refused_by_backend();
	refused_by_frontend();
	unmap_restores_reservation();
	reset_drops_all();
	stop_backend();
	uvh_shmem_window_fini(&fe.win);
	without_reply_ack();
	printf("shmem_e2e: all checks passed (%d backend requests in the last session)\n",
	       fe.breqs);
	return failures ? 1 : 0;
}
