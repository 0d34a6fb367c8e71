/* test_host_map_size.c - a region's 64-bit size meets the Linux platform's
 * size_t (arch/host/src/host_platform.c), through the real map op and a real
 * sparse memfd. Its own program so that the -m32 tree runs it even where
 * test_host_map cannot run (its SIGBUS tests need a native kernel, not
 * qemu-user: tests/unit/CMakeLists.txt). */
#define _GNU_SOURCE
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <unistd.h>

#include <cmocka.h>

#include "uvh/host.h"

#define PAGE 4096ull

static int memfd_of(uint64_t size)
{
	int fd = memfd_create("test-host-map-size", MFD_CLOEXEC);

	assert_true(fd >= 0);
	assert_int_equal(ftruncate(fd, (off_t)size), 0);
	return fd;
}

/* A region of 4 GiB + 1 page inside its (sparse) file: a 64-bit daemon maps
 * it; a 32-bit one must refuse it, where a size_t cast once mapped 1 page
 * and let the rings run past it. The -m32 unit tests take the first branch. */
static void platform_map_refuses_what_size_t_cannot_hold(void **state)
{
	struct uvh_platform *hp = malloc(sizeof(*hp));
	void *host = NULL, *cookie = NULL;
	uint64_t len = (4ull << 30) + PAGE;
	int fd = memfd_of(len + PAGE);
	int rc;

	(void)state;
	assert_non_null(hp);
	uvh_platform_init(hp, false);
	rc = hp->plat.map(hp->plat.ctx, fd, PAGE, len, true, &host, &cookie);
	if (sizeof(size_t) == 4) {
		assert_int_equal(rc, -EFBIG);
		assert_int_equal(hp->n_map_refused, 1);
		assert_int_equal(hp->live_mappings, 0);
	} else {
		assert_int_equal(rc, 0);
		assert_int_equal(hp->n_map_refused, 0);
		assert_int_equal(hp->live_mappings, 1);
		hp->plat.unmap(hp->plat.ctx, cookie);
	}
	close(fd);
	free(hp);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(platform_map_refuses_what_size_t_cannot_hold),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
