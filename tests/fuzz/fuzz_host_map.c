/* fuzz_host_map.c - libFuzzer target: the real Linux map path (arch/host)
 * against memfds of any size and ranges of any value.
 *
 * Every range a peer hands us goes through uvh_fd_check_range() before
 * mmap(). The invariant: whatever the map op or the SHMEM mapper accepts can
 * be touched at its first and last byte without SIGBUS (a fault kills the
 * fuzzer, which libFuzzer reports as a crash), and whatever is mapped is
 * unmapped again (live_mappings returns to 0).
 *
 * Input: records of 18 bytes until the input runs out:
 *   u16 file pages (% 33: 0..32 pages), u16 extra bytes (% 4096, added to
 *   the file size so files need not end on a page), u64 offset, u32 len
 *   (bit 31 set: len becomes UINT64_MAX - low bits, to reach the wrap
 *   checks), u8 op (bit 0: through the SHMEM mapper instead of the
 *   platform's map op; bit 1: writable), u8 pad.
 * tests/fuzz/corpus/fuzz_host_map holds seeds in this format.
 */
#define _GNU_SOURCE
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "uvh/host.h"
#include "uvh/shmem_window.h"

#define REC 18u
#define PAGE 4096u
#define SHM_SIZE (64u * PAGE)

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static uint64_t le(const uint8_t *p, unsigned n)
{
	uint64_t v = 0;

	for (unsigned i = 0; i < n; i++)
		v |= (uint64_t)p[i] << (8 * i);
	return v;
}

static void touch(volatile uint8_t *p, uint64_t len, bool writable)
{
	uint8_t a = p[0], b = p[len - 1];

	if (writable) {
		p[0] = (uint8_t)(a + 1);
		p[len - 1] = (uint8_t)(b + 1);
	}
}

static void via_platform(struct uvh_platform *hp, int fd, uint64_t off, uint64_t len, bool rw)
{
	void *host = NULL, *cookie = NULL;

	if (hp->plat.map(hp->plat.ctx, fd, off, len, rw, &host, &cookie) != 0)
		return;
	touch(host, len, rw);
	hp->plat.unmap(hp->plat.ctx, cookie);
}

static void via_shmem(struct uvh_shmem_window *w, int fd, uint64_t off, uint64_t len, bool rw)
{
	/* The window is 64 pages; the fd range is what the fuzzer chose. */
	uint64_t at_len = len > SHM_SIZE ? SHM_SIZE : len;

	if (len != at_len || len == 0 || len % PAGE || off % PAGE)
		return; /* fe_shmem refuses these before the mapper runs */
	if (w->mapper.map(w->mapper.ctx, 0, 0, len, fd, off, rw) != 0)
		return;
	touch(uvh_shmem_window_base(w, 0), len, rw);
	w->mapper.unmap(w->mapper.ctx, 0, 0, len);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct uvh_platform hp;
	static struct uvh_shmem_window w;
	static bool ready;
	const uint64_t sizes[1] = {SHM_SIZE};

	if (!ready) {
		uvh_platform_init(&hp, false);
		if (uvh_shmem_window_init(&w, sizes, 1) != 0)
			abort();
		ready = true;
	}
	for (size_t at = 0; at + REC <= size; at += REC) {
		const uint8_t *r = data + at;
		uint64_t file = (le(r, 2) % 33) * PAGE + le(r + 2, 2) % PAGE;
		uint64_t off = le(r + 4, 8);
		uint64_t len = le(r + 12, 4);
		bool shm = r[16] & 1, rw = (r[16] & 2) != 0;
		int fd;

		if (len & 0x80000000u)
			len = UINT64_MAX - (len & 0x7fffffffu);
		fd = memfd_create("fuzz-host-map", MFD_CLOEXEC);
		if (fd < 0)
			abort();
		if (ftruncate(fd, (off_t)file) != 0)
			abort();
		if (shm)
			via_shmem(&w, fd, off, len, rw);
		else
			via_platform(&hp, fd, off, len, rw);
		close(fd);
		if (hp.live_mappings != 0)
			abort();
	}
	return 0;
}
