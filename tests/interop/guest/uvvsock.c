/*
 * uvvsock - guest-side AF_VSOCK stream helper for the uvhost interop tests.
 * Built statically by scripts/setup.sh and placed in the initramfs.
 *
 * usage:
 *   uvvsock sink PORT NCONN [SLOW_US]
 *       Listen on PORT and serve NCONN connections at once (one process
 *       each): read until EOF, then answer "<bytes> <crc32>\n" and close.
 *       With SLOW_US the first connection sleeps SLOW_US after every 4 KiB
 *       read: a slow guest reader, so the host side must hold back.
 *   uvvsock send CID PORT NBYTES SEED [SLOW_US]
 *       Connect to CID:PORT, send NBYTES of a pseudo-random stream derived
 *       from SEED, shut down the write side, read the peer's
 *       "<bytes> <crc32>" answer and compare it with what was sent.
 *   uvvsock echo PORT NCONN
 *       Line echo server: "echo <text>\n" is answered with "<text>\n" (the
 *       uvhost unikernel's control service speaks the same on port 1024).
 *       Serves NCONN connections, one process each, then exits.
 *
 * Every mode prints one "UVTEST-LOG:" line per connection with the byte
 * count, the CRC-32 (zlib's) and the rate. Exit status: 0 all verified,
 * 1 a check failed or I/O broke, 2 usage or setup error.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include <linux/vm_sockets.h>

#define CHUNK 65536
#define LINE_MAX_BYTES (256 * 1024)

static uint32_t crc_table[256];

static void crc_init(void)
{
	for (uint32_t i = 0; i < 256; i++) {
		uint32_t c = i;
		for (int k = 0; k < 8; k++)
			c = c & 1 ? 0xedb88320u ^ (c >> 1) : c >> 1;
		crc_table[i] = c;
	}
}

static uint32_t crc_update(uint32_t crc, const uint8_t *p, size_t n)
{
	crc = ~crc;
	while (n--)
		crc = crc_table[(crc ^ *p++) & 0xff] ^ (crc >> 8);
	return ~crc;
}

static double now_s(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static double mibps(uint64_t bytes, double secs)
{
	return secs > 0 ? (double)bytes / 1048576.0 / secs : 0.0;
}

static int write_all(int fd, const void *buf, size_t n)
{
	const uint8_t *p = buf;
	while (n) {
		ssize_t w = write(fd, p, n);
		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0)
			return -1;
		p += w;
		n -= (size_t)w;
	}
	return 0;
}

static int listen_on(unsigned port)
{
	struct sockaddr_vm a;
	int fd = socket(AF_VSOCK, SOCK_STREAM, 0);

	if (fd < 0) {
		perror("uvvsock: socket(AF_VSOCK)");
		return -1;
	}
	memset(&a, 0, sizeof(a));
	a.svm_family = AF_VSOCK;
	a.svm_cid = VMADDR_CID_ANY;
	a.svm_port = port;
	if (bind(fd, (struct sockaddr *)&a, sizeof(a)) < 0 || listen(fd, 16) < 0) {
		perror("uvvsock: bind/listen");
		close(fd);
		return -1;
	}
	return fd;
}

static int sink_one(int fd, int idx, unsigned slow_us)
{
	static uint8_t buf[CHUNK];
	uint64_t total = 0;
	uint32_t crc = 0;
	double t0 = now_s(), dt;
	char ans[64];

	for (;;) {
		ssize_t r = read(fd, buf, slow_us ? 4096 : sizeof(buf));
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0) {
			printf("UVTEST-LOG: sink conn %d: read failed after %llu bytes: %s\n", idx,
			       (unsigned long long)total, strerror(errno));
			return 1;
		}
		if (r == 0)
			break;
		crc = crc_update(crc, buf, (size_t)r);
		total += (uint64_t)r;
		if (slow_us)
			usleep(slow_us);
	}
	dt = now_s() - t0;
	snprintf(ans, sizeof(ans), "%llu %08x\n", (unsigned long long)total, crc);
	if (write_all(fd, ans, strlen(ans)) < 0) {
		printf("UVTEST-LOG: sink conn %d: cannot answer\n", idx);
		return 1;
	}
	printf("UVTEST-LOG: h2g conn %d: received %llu bytes crc32 %08x in %.2fs (%.1f MiB/s)%s\n",
	       idx, (unsigned long long)total, crc, dt, mibps(total, dt),
	       slow_us ? " [slow reader]" : "");
	return 0;
}

/* Accept nconn connections, one child each; the exit status is the worst. */
static int serve(int lfd, int nconn, int (*fn)(int, int, unsigned), unsigned arg)
{
	int rc = 0;

	for (int i = 0; i < nconn; i++) {
		int fd = accept(lfd, NULL, NULL);
		pid_t pid;
		if (fd < 0) {
			perror("uvvsock: accept");
			return 1;
		}
		fflush(stdout);
		pid = fork();
		if (pid == 0) {
			close(lfd);
			int r = fn(fd, i, i == 0 ? arg : 0);
			close(fd);
			fflush(stdout);
			_exit(r);
		}
		close(fd);
		if (pid < 0)
			return 1;
	}
	for (int i = 0; i < nconn; i++) {
		int st;
		if (wait(&st) < 0)
			return 1;
		if (!WIFEXITED(st) || WEXITSTATUS(st) != 0)
			rc = 1;
	}
	return rc;
}

static uint64_t xs_next(uint64_t *s)
{
	uint64_t x = *s;
	x ^= x << 13;
	x ^= x >> 7;
	x ^= x << 17;
	*s = x;
	return x;
}

static int do_send(unsigned cid, unsigned port, uint64_t nbytes, uint64_t seed, unsigned slow_us)
{
	static uint8_t buf[CHUNK];
	struct sockaddr_vm a;
	uint64_t s = seed * 0x9e3779b97f4a7c15ull + 1, left = nbytes, got_n;
	uint32_t crc = 0, got_crc;
	char ans[128];
	size_t alen = 0;
	double t0, dt;
	int fd = socket(AF_VSOCK, SOCK_STREAM, 0);

	if (fd < 0) {
		perror("uvvsock: socket(AF_VSOCK)");
		return 2;
	}
	memset(&a, 0, sizeof(a));
	a.svm_family = AF_VSOCK;
	a.svm_cid = cid;
	a.svm_port = port;
	if (connect(fd, (struct sockaddr *)&a, sizeof(a)) < 0) {
		printf("UVTEST-LOG: send: connect to %u:%u failed: %s\n", cid, port,
		       strerror(errno));
		return 1;
	}
	t0 = now_s();
	while (left) {
		size_t n = left < sizeof(buf) ? (size_t)left : sizeof(buf);
		for (size_t i = 0; i < n; i += 8) {
			uint64_t x = xs_next(&s);
			memcpy(buf + i, &x, n - i < 8 ? n - i : 8);
		}
		crc = crc_update(crc, buf, n);
		if (write_all(fd, buf, n) < 0) {
			printf("UVTEST-LOG: send seed %llu: write failed after %llu bytes: %s\n",
			       (unsigned long long)seed, (unsigned long long)(nbytes - left),
			       strerror(errno));
			return 1;
		}
		left -= n;
		if (slow_us)
			usleep(slow_us);
	}
	shutdown(fd, SHUT_WR);
	for (;;) {
		ssize_t r = read(fd, ans + alen, sizeof(ans) - 1 - alen);
		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0)
			break;
		alen += (size_t)r;
		if (alen == sizeof(ans) - 1)
			break;
	}
	dt = now_s() - t0;
	ans[alen] = '\0';
	close(fd);
	if (sscanf(ans, "%llu %x", (unsigned long long *)&got_n, &got_crc) != 2) {
		printf("UVTEST-LOG: send seed %llu: no answer from the host (got '%s')\n",
		       (unsigned long long)seed, ans);
		return 1;
	}
	printf("UVTEST-LOG: g2h seed %llu: sent %llu bytes crc32 %08x in %.2fs (%.1f MiB/s); host "
	       "got %llu bytes crc32 %08x: %s\n",
	       (unsigned long long)seed, (unsigned long long)nbytes, crc, dt, mibps(nbytes, dt),
	       (unsigned long long)got_n, got_crc,
	       got_n == nbytes && got_crc == crc ? "match" : "MISMATCH");
	return got_n == nbytes && got_crc == crc ? 0 : 1;
}

static int echo_one(int fd, int idx, unsigned unused)
{
	static char buf[LINE_MAX_BYTES];
	size_t have = 0;
	uint64_t lines = 0, bytes = 0;
	double t0 = now_s(), dt;

	(void)unused;
	for (;;) {
		ssize_t r = read(fd, buf + have, sizeof(buf) - have);
		char *start = buf, *nl;
		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0)
			break;
		have += (size_t)r;
		while ((nl = memchr(start, '\n', have - (size_t)(start - buf))) != NULL) {
			size_t len = (size_t)(nl - start);
			if (len >= 5 && memcmp(start, "echo ", 5) == 0) {
				if (write_all(fd, start + 5, len - 5 + 1) < 0)
					return 1;
				bytes += len - 5 + 1;
			} else if (write_all(fd, "ERR unknown command\n", 20) < 0) {
				return 1;
			}
			lines++;
			start = nl + 1;
		}
		have -= (size_t)(start - buf);
		memmove(buf, start, have);
		if (have == sizeof(buf)) {
			printf("UVTEST-LOG: echo conn %d: line longer than %d bytes\n", idx,
			       LINE_MAX_BYTES);
			return 1;
		}
	}
	dt = now_s() - t0;
	printf("UVTEST-LOG: echo conn %d: %llu lines, %llu bytes echoed in %.2fs\n", idx,
	       (unsigned long long)lines, (unsigned long long)bytes, dt);
	return 0;
}

static int sink_adapter(int fd, int idx, unsigned slow_us)
{
	return sink_one(fd, idx, slow_us);
}

static unsigned long long num(const char *s)
{
	char *end;
	unsigned long long v = strtoull(s, &end, 0);
	if (*s == '\0' || *end != '\0') {
		fprintf(stderr, "uvvsock: '%s' is not a number\n", s);
		exit(2);
	}
	return v;
}

int main(int argc, char **argv)
{
	int lfd;

	setvbuf(stdout, NULL, _IOLBF, 0);
	crc_init();
	if (argc >= 4 && !strcmp(argv[1], "sink")) {
		lfd = listen_on((unsigned)num(argv[2]));
		if (lfd < 0)
			return 2;
		return serve(lfd, (int)num(argv[3]), sink_adapter,
			     argc > 4 ? (unsigned)num(argv[4]) : 0);
	}
	if (argc >= 6 && !strcmp(argv[1], "send"))
		return do_send((unsigned)num(argv[2]), (unsigned)num(argv[3]), num(argv[4]),
			       num(argv[5]), argc > 6 ? (unsigned)num(argv[6]) : 0);
	if (argc >= 4 && !strcmp(argv[1], "echo")) {
		lfd = listen_on((unsigned)num(argv[2]));
		if (lfd < 0)
			return 2;
		return serve(lfd, (int)num(argv[3]), echo_one, 0);
	}
	fprintf(stderr, "usage: uvvsock sink PORT NCONN [SLOW_US] | send CID PORT NBYTES SEED "
			"[SLOW_US] | echo PORT NCONN\n");
	return 2;
}
