/*
 * uvdio - guest-side O_DIRECT write/read-back checker for the uvhost interop
 * tests.  Built statically by scripts/setup.sh and placed in the initramfs.
 *
 * usage: uvdio [-b FIRST-LAST] [-s SEED] DEVICE OFFSET LENGTH
 *
 * Writes LENGTH bytes of position-dependent pseudo-random data (derived from
 * SEED) to DEVICE at byte OFFSET with O_DIRECT, reads them back with
 * O_DIRECT into a second buffer and compares.  OFFSET and LENGTH must be
 * multiples of 4096.
 *
 * With -b FIRST-LAST both the write and the read buffer are assembled only
 * from pages whose physical address lies inside the memory blocks
 * FIRST..LAST (see /sys/devices/system/memory/memoryN).  The physical
 * placement is checked through /proc/self/pagemap before and after the I/O.
 * This forces the virtio-blk descriptors to point into, e.g., a hot-plugged
 * DIMM, so a vhost-user back-end that did not map that region must fail.
 *
 * Exit status: 0 data verified, 1 mismatch or I/O error, 2 usage/setup error.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/uio.h>
#include <unistd.h>

#define PAGE 4096u
#define CHUNK (32u << 20)     /* bytes mapped per allocation round */
#define MAX_WASTE (96u << 20) /* give up after this many off-range bytes */
#define IOV_BATCH 256

static uint64_t splitmix64(uint64_t *s)
{
	uint64_t z = (*s += 0x9e3779b97f4a7c15ull);
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
	return z ^ (z >> 31);
}

static void fill_page(void *p, uint64_t seed, uint64_t disk_page)
{
	uint64_t s = seed ^ (disk_page * 0xd1b54a32d192ed03ull);
	uint64_t *w = p;
	for (unsigned i = 0; i < PAGE / 8; i++)
		w[i] = splitmix64(&s);
}

static int pagemap_fd = -1;

/* physical address of the page mapped at v, or 0 if not present */
static uint64_t phys_of(const void *v)
{
	uint64_t e;
	off_t off = (off_t)((uintptr_t)v / PAGE) * 8;
	if (pread(pagemap_fd, &e, sizeof(e), off) != (ssize_t)sizeof(e))
		return 0;
	if (!(e & (1ull << 63)))
		return 0;
	return (e & ((1ull << 55) - 1)) * PAGE;
}

static uint64_t read_hex_file(const char *path)
{
	char buf[64] = {0};
	FILE *f = fopen(path, "r");
	if (!f || !fgets(buf, sizeof(buf), f)) {
		fprintf(stderr, "uvdio: cannot read %s\n", path);
		exit(2);
	}
	fclose(f);
	return strtoull(buf, NULL, 16);
}

static void usage(void)
{
	fprintf(stderr, "usage: uvdio [-b FIRST-LAST] [-s SEED] DEVICE OFFSET LENGTH\n");
	exit(2);
}

/* Collect n pages, restricted to [lo, hi) when hi != 0. */
static char **get_pages(size_t n, uint64_t lo, uint64_t hi)
{
	char **pages = calloc(n, sizeof(*pages));
	size_t got = 0, waste = 0;
	if (!pages) {
		perror("uvdio: calloc");
		exit(2);
	}
	while (got < n) {
		char *c = mmap(NULL, CHUNK, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1,
			       0);
		if (c == MAP_FAILED) {
			perror("uvdio: mmap");
			exit(2);
		}
		for (size_t o = 0; o < CHUNK; o += PAGE)
			c[o] = 1; /* fault in */
		if (mlock(c, CHUNK) != 0 && errno != ENOMEM && errno != EPERM)
			perror("uvdio: mlock");
		size_t used = 0;
		for (size_t o = 0; o < CHUNK && got < n; o += PAGE) {
			uint64_t pa = phys_of(c + o);
			if (!hi || (pa >= lo && pa < hi)) {
				pages[got++] = c + o;
				used++;
			} else {
				waste += PAGE;
			}
		}
		if (hi && waste > MAX_WASTE) {
			fprintf(stderr,
				"uvdio: only %zu of %zu pages found in phys [0x%" PRIx64
				", 0x%" PRIx64 ") after %zu MiB of other pages\n",
				got, n, lo, hi, waste >> 20);
			exit(2);
		}
	}
	return pages;
}

static size_t count_in_range(char **pages, size_t n, uint64_t lo, uint64_t hi)
{
	size_t k = 0;
	for (size_t i = 0; i < n; i++) {
		uint64_t pa = phys_of(pages[i]);
		if (pa >= lo && pa < hi)
			k++;
	}
	return k;
}

static int do_io(int fd, char **pages, size_t n, uint64_t offset, int write)
{
	struct iovec iov[IOV_BATCH];
	for (size_t i = 0; i < n; i += IOV_BATCH) {
		size_t m = n - i < IOV_BATCH ? n - i : IOV_BATCH;
		for (size_t j = 0; j < m; j++) {
			iov[j].iov_base = pages[i + j];
			iov[j].iov_len = PAGE;
		}
		off_t off = (off_t)(offset + i * PAGE);
		ssize_t r = write ? pwritev(fd, iov, (int)m, off) : preadv(fd, iov, (int)m, off);
		if (r != (ssize_t)(m * PAGE)) {
			fprintf(stderr, "uvdio: %s at %lld returned %zd: %s\n",
				write ? "pwritev" : "preadv", (long long)off, r,
				r < 0 ? strerror(errno) : "short transfer");
			return -1;
		}
	}
	return 0;
}

int main(int argc, char **argv)
{
	uint64_t seed = 1, lo = 0, hi = 0;
	long first = -1, last = -1;
	int opt;

	while ((opt = getopt(argc, argv, "b:s:")) != -1) {
		switch (opt) {
		case 'b':
			if (sscanf(optarg, "%ld-%ld", &first, &last) != 2 || first < 0 ||
			    last < first)
				usage();
			break;
		case 's': seed = strtoull(optarg, NULL, 0); break;
		default: usage();
		}
	}
	if (argc - optind != 3)
		usage();
	const char *dev = argv[optind];
	uint64_t offset = strtoull(argv[optind + 1], NULL, 0);
	uint64_t length = strtoull(argv[optind + 2], NULL, 0);
	if (!length || offset % PAGE || length % PAGE)
		usage();

	pagemap_fd = open("/proc/self/pagemap", O_RDONLY);
	if (pagemap_fd < 0) {
		perror("uvdio: /proc/self/pagemap");
		return 2;
	}
	if (first >= 0) {
		uint64_t bs = read_hex_file("/sys/devices/system/memory/block_size_bytes");
		lo = (uint64_t)first * bs;
		hi = (uint64_t)(last + 1) * bs;
	}

	size_t n = length / PAGE;
	char **wp = get_pages(n, lo, hi);
	char **rp = get_pages(n, lo, hi);

	int fd = open(dev, O_RDWR | O_DIRECT);
	if (fd < 0) {
		fprintf(stderr, "uvdio: open %s: %s\n", dev, strerror(errno));
		return 2;
	}
	for (size_t i = 0; i < n; i++) {
		fill_page(wp[i], seed, offset / PAGE + i);
		memset(rp[i], 0xa5, PAGE);
	}
	size_t in_w = hi ? count_in_range(wp, n, lo, hi) : 0;
	size_t in_r = hi ? count_in_range(rp, n, lo, hi) : 0;

	if (do_io(fd, wp, n, offset, 1) || fdatasync(fd) || do_io(fd, rp, n, offset, 0))
		return 1;

	/* compare against freshly generated data, not against the write buffer */
	size_t bad = 0, first_bad = 0;
	char *ref = aligned_alloc(PAGE, PAGE);
	if (!ref)
		return 2;
	for (size_t i = 0; i < n; i++) {
		fill_page(ref, seed, offset / PAGE + i);
		if (memcmp(ref, rp[i], PAGE)) {
			if (!bad)
				first_bad = i;
			bad++;
		}
	}

	if (hi) {
		size_t in_w2 = count_in_range(wp, n, lo, hi);
		size_t in_r2 = count_in_range(rp, n, lo, hi);
		printf("uvdio: buffer pages in phys [0x%" PRIx64 ",0x%" PRIx64
		       "): write %zu/%zu read %zu/%zu before I/O, write %zu/%zu read "
		       "%zu/%zu after\n",
		       lo, hi, in_w, n, in_r, n, in_w2, n, in_r2, n);
		if (in_w != n || in_r != n || in_w2 != n || in_r2 != n) {
			printf("uvdio: FAIL buffers not entirely inside the requested range\n");
			return 1;
		}
	}
	if (bad) {
		printf("uvdio: FAIL %zu mismatching pages, first at disk offset %" PRIu64 "\n", bad,
		       offset + first_bad * PAGE);
		return 1;
	}
	printf("uvdio: OK wrote+read back %" PRIu64 " KiB at offset %" PRIu64 " (seed %" PRIu64
	       ")\n",
	       length >> 10, offset, seed);
	return 0;
}
