/* test_gw_windows.c - uvhost-gw's fd -> window translation and its
 * refusals, with real files, memfds, hard links and pipes. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "gw_opts.h"
#include "gw_windows.h"

#define MiB (1024ull * 1024ull)

struct fx {
	char dir[64];
	char a[96], b[96], link[96];
	struct gw_windows t;
	char why[320];
};

static void make_file(const char *path, uint64_t size)
{
	int fd = open(path, O_CREAT | O_RDWR | O_TRUNC, 0600);

	assert_true(fd >= 0);
	assert_int_equal(ftruncate(fd, (off_t)size), 0);
	close(fd);
}

static int setup(void **state)
{
	struct fx *f = calloc(1, sizeof(*f));

	assert_non_null(f);
	snprintf(f->dir, sizeof(f->dir), "/tmp/uvtest-gwwin-XXXXXX");
	assert_non_null(mkdtemp(f->dir));
	snprintf(f->a, sizeof(f->a), "%s/guest-ram", f->dir);
	snprintf(f->b, sizeof(f->b), "%s/dimm", f->dir);
	snprintf(f->link, sizeof(f->link), "%s/same-inode", f->dir);
	make_file(f->a, 4 * MiB);
	make_file(f->b, 2 * MiB);
	assert_int_equal(link(f->a, f->link), 0);
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fx *f = *state;

	unlink(f->a);
	unlink(f->b);
	unlink(f->link);
	rmdir(f->dir);
	free(f);
	return 0;
}

static struct vu_mem_region region(uint64_t gpa, uint64_t size, uint64_t off)
{
	return (struct vu_mem_region){
		.gpa = gpa, .size = size, .uaddr = 0x7f00000000ull + gpa, .mmap_offset = off};
}

static void declared_windows_translate_by_identity(void **state)
{
	struct fx *f = *state;
	struct vu_mem_region r = region(0x100000, MiB, 0x200000);
	int fd;

	assert_int_equal(gw_windows_add(&f->t, 0, f->a, f->why, sizeof(f->why)), 0);
	assert_int_equal(gw_windows_add(&f->t, 3, f->b, f->why, sizeof(f->why)), 0);
	/* Opened under another name: the same file, so the same window. */
	fd = open(f->link, O_RDWR);
	assert_true(fd >= 0);
	assert_int_equal(gw_windows_translate(&f->t, fd, &r, f->why, sizeof(f->why)), 0);
	assert_int_equal(r.mmap_offset, 0x200000);
	close(fd);
	fd = open(f->b, O_RDWR);
	r = region(0x40000000, MiB, MiB);
	assert_int_equal(gw_windows_translate(&f->t, fd, &r, f->why, sizeof(f->why)), 0);
	assert_int_equal(r.mmap_offset, (3ull << VU_WINDOW_SHIFT) | MiB);
	/* The whole window, exactly. */
	r = region(0, 2 * MiB, 0);
	assert_int_equal(gw_windows_translate(&f->t, fd, &r, f->why, sizeof(f->why)), 0);
	close(fd);
}

static void a_file_that_is_no_window_is_refused_by_name(void **state)
{
	struct fx *f = *state;
	struct vu_mem_region r = region(0x100000, MiB, 0), before;
	int fd = memfd_create("not-a-window", 0);

	assert_int_equal(gw_windows_add(&f->t, 0, f->a, f->why, sizeof(f->why)), 0);
	assert_int_equal(ftruncate(fd, (off_t)(4 * MiB)), 0);
	before = r;
	assert_int_equal(gw_windows_translate(&f->t, fd, &r, f->why, sizeof(f->why)), -ENOENT);
	assert_non_null(strstr(f->why, "not-a-window"));
	assert_non_null(strstr(f->why, "not a declared --window"));
	assert_memory_equal(&r, &before, sizeof(r));
	close(fd);
}

static void ranges_outside_the_file_or_window_are_refused(void **state)
{
	struct fx *f = *state;
	struct vu_mem_region r;
	int fd;

	assert_int_equal(gw_windows_add(&f->t, 0, f->b, f->why, sizeof(f->why)), 0);
	fd = open(f->b, O_RDWR);
	r = region(0, MiB, 2 * MiB); /* starts at the end */
	assert_int_equal(gw_windows_translate(&f->t, fd, &r, f->why, sizeof(f->why)), -ERANGE);
	r = region(0, 2 * MiB, 1); /* one byte past */
	assert_int_equal(gw_windows_translate(&f->t, fd, &r, f->why, sizeof(f->why)), -ERANGE);
	r = region(0, 0, 0);
	assert_int_equal(gw_windows_translate(&f->t, fd, &r, f->why, sizeof(f->why)), -EINVAL);
	r = region(0, 2, UINT64_MAX);
	assert_int_equal(gw_windows_translate(&f->t, fd, &r, f->why, sizeof(f->why)), -EINVAL);
	/* The file grew after it was declared: the service VM's window did
	 * not, so the part beyond is refused. */
	assert_int_equal(ftruncate(fd, (off_t)(4 * MiB)), 0);
	r = region(0, MiB, 2 * MiB);
	assert_int_equal(gw_windows_translate(&f->t, fd, &r, f->why, sizeof(f->why)), -ERANGE);
	assert_non_null(strstr(f->why, "ends past window 0"));
	close(fd);
}

static void fds_without_a_file_are_refused(void **state)
{
	struct fx *f = *state;
	struct vu_mem_region r = region(0, 4096, 0);
	int p[2];

	assert_int_equal(gw_windows_add(&f->t, 0, f->a, f->why, sizeof(f->why)), 0);
	assert_int_equal(pipe(p), 0);
	assert_int_equal(gw_windows_translate(&f->t, p[0], &r, f->why, sizeof(f->why)), -ENODEV);
	assert_int_equal(gw_windows_translate(&f->t, -1, &r, f->why, sizeof(f->why)), -EBADF);
	close(p[0]);
	close(p[1]);
}

static void bad_declarations_are_refused(void **state)
{
	struct fx *f = *state;
	char path[128];

	assert_int_equal(gw_windows_add(&f->t, 0, "/nonexistent/ram", f->why, sizeof(f->why)),
			 -ENOENT);
	assert_int_equal(gw_windows_add(&f->t, 0, f->dir, f->why, sizeof(f->why)), -EINVAL);
	assert_int_equal(gw_windows_add(&f->t, 1u << 24, f->a, f->why, sizeof(f->why)), -EINVAL);
	assert_int_equal(gw_windows_add(&f->t, 0, f->a, f->why, sizeof(f->why)), 0);
	assert_int_equal(gw_windows_add(&f->t, 0, f->b, f->why, sizeof(f->why)), -EEXIST);
	assert_int_equal(gw_windows_add(&f->t, 1, f->link, f->why, sizeof(f->why)), -EEXIST);
	assert_non_null(strstr(f->why, "already window 0"));
	for (uint32_t i = 1; i < GW_MAX_WINDOWS; i++) {
		snprintf(path, sizeof(path), "%s/w%u", f->dir, i);
		make_file(path, 4096);
		assert_int_equal(gw_windows_add(&f->t, i, path, f->why, sizeof(f->why)), 0);
	}
	snprintf(path, sizeof(path), "%s/one-too-many", f->dir);
	make_file(path, 4096);
	assert_int_equal(gw_windows_add(&f->t, 99, path, f->why, sizeof(f->why)), -ENOSPC);
	unlink(path);
	for (uint32_t i = 1; i < GW_MAX_WINDOWS; i++) {
		snprintf(path, sizeof(path), "%s/w%u", f->dir, i);
		unlink(path);
	}
}

static void window_arguments_are_parsed_strictly(void **state)
{
	struct fx *f = *state;
	char arg[160];
	static const char *const bad[] = {"",
					  "=x",
					  "0=",
					  "x=/tmp",
					  "-1=/tmp",
					  "+1=/tmp",
					  "16777216=/tmp",
					  "1 =/tmp",
					  "99999999999999999999=/a"};

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		assert_int_equal(gw_windows_add_arg(&f->t, bad[i], f->why, sizeof(f->why)),
				 -EINVAL);
	snprintf(arg, sizeof(arg), "7=%s", f->a);
	assert_int_equal(gw_windows_add_arg(&f->t, arg, f->why, sizeof(f->why)), 0);
	assert_int_equal(f->t.n, 1);
	assert_int_equal(f->t.w[0].index, 7);
	assert_int_equal(f->t.w[0].size, 4 * MiB);
}

/* The command line: each bad one is exit status 2 with a reason. */
static int parse(const char *const *args, int n)
{
	struct gw_opts o;
	char *argv[16];
	FILE *null = fopen("/dev/null", "w");
	int rc;

	argv[0] = "uvhost-gw";
	for (int i = 0; i < n; i++)
		argv[i + 1] = (char *)args[i];
	rc = gw_opts_parse(&o, n + 1, argv, null);
	fclose(null);
	return rc;
}

static void command_lines(void **state)
{
	struct fx *f = *state;
	char win[160];
	const char *ok[] = {"--socket-path",	"/tmp/s",   "--vsock",
			    "/tmp/v.sock:5000", "--window", win};
	const char *caps[] = {"--print-capabilities", "--vsock", "/tmp/v.sock:5000"};
	const char *no_window[] = {"--socket-path", "/tmp/s", "--vsock", "/tmp/v:5000"};
	const char *both[] = {"--socket-path", "/tmp/s",   "--fd",     "3",
			      "--vsock",       "/tmp/v:1", "--window", win};
	const char *bad_port[] = {"--socket-path",     "/tmp/s",   "--vsock",
				  "/tmp/v:4294967295", "--window", win};
	const char *no_port[] = {"--socket-path", "/tmp/s", "--vsock", "/tmp/v", "--window", win};
	const char *caps_alone[] = {"--print-capabilities"};
	const char *junk[] = {"--socket-path", "/tmp/s", "--bogus"};
	const char *same_port[] = {"--socket-path", "/tmp/s", "--vsock",	"/tmp/v:9",
				   "--window",	    win,      "--backend-port", "9"};

	snprintf(win, sizeof(win), "0=%s", f->a);
	assert_int_equal(parse(ok, 6), 0);
	assert_int_equal(parse(caps, 3), 0);
	assert_int_equal(parse(no_window, 4), 2);
	assert_int_equal(parse(both, 8), 2);
	assert_int_equal(parse(bad_port, 6), 2);
	assert_int_equal(parse(no_port, 6), 2);
	assert_int_equal(parse(caps_alone, 1), 2);
	assert_int_equal(parse(junk, 3), 2);
	assert_int_equal(parse(same_port, 8), 2);
}

/* --doorbell SOCK and --poll-kicks (issue 13): parsed, kept, and refused
 * together or with an unusable path. */
static void doorbell_command_lines(void **state)
{
	struct fx *f = *state;
	char win[160], longp[200];
	const char *db[] = {"--socket-path", "/tmp/s", "--vsock",    "/tmp/v:5000",
			    "--window",	     win,      "--doorbell", "/tmp/db.sock"};
	const char *both[] = {"--socket-path", "/tmp/s",       "--vsock",
			      "/tmp/v:5000",   "--window",     win,
			      "--doorbell",    "/tmp/db.sock", "--poll-kicks"};
	const char *empty[] = {"--socket-path", "/tmp/s", "--vsock",	"/tmp/v:5000",
			       "--window",	win,	  "--doorbell", ""};
	const char *too_long[] = {"--socket-path", "/tmp/s", "--vsock",	   "/tmp/v:5000",
				  "--window",	   win,	     "--doorbell", longp};
	const char *none[] = {"--socket-path", "/tmp/s", "--vsock",   "/tmp/v:5000",
			      "--window",      win,	 "--doorbell"};
	struct gw_opts o;
	char *argv[16];

	snprintf(win, sizeof(win), "0=%s", f->a);
	memset(longp, 'a', sizeof(longp) - 1);
	longp[0] = '/';
	longp[sizeof(longp) - 1] = '\0';
	assert_int_equal(parse(db, 8), 0);
	assert_int_equal(parse(both, 9), 2);
	assert_int_equal(parse(empty, 8), 2);
	assert_int_equal(parse(too_long, 8), 2);
	assert_int_equal(parse(none, 7), 2);
	argv[0] = "uvhost-gw";
	for (int i = 0; i < 8; i++)
		argv[i + 1] = (char *)db[i];
	assert_int_equal(gw_opts_parse(&o, 9, argv, stderr), 0);
	assert_string_equal(o.doorbell_path, "/tmp/db.sock");
	assert_false(o.poll_kicks);
	argv[7] = "--poll-kicks"; /* in place of --doorbell SOCK */
	assert_int_equal(gw_opts_parse(&o, 8, argv, stderr), 0);
	assert_true(o.poll_kicks);
	assert_null(o.doorbell_path);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(declared_windows_translate_by_identity, setup,
						teardown),
		cmocka_unit_test_setup_teardown(a_file_that_is_no_window_is_refused_by_name, setup,
						teardown),
		cmocka_unit_test_setup_teardown(ranges_outside_the_file_or_window_are_refused,
						setup, teardown),
		cmocka_unit_test_setup_teardown(fds_without_a_file_are_refused, setup, teardown),
		cmocka_unit_test_setup_teardown(bad_declarations_are_refused, setup, teardown),
		cmocka_unit_test_setup_teardown(window_arguments_are_parsed_strictly, setup,
						teardown),
		cmocka_unit_test_setup_teardown(command_lines, setup, teardown),
		cmocka_unit_test_setup_teardown(doorbell_command_lines, setup, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
