/* The kernel command line: defaults, every key, and every rejection (which
 * warns, names the word, and leaves the default in place). */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "kern/bootargs.h"
#include "kern/log.h"

struct warns {
	int n;
	char last_word[64];
	char last_why[96];
};

static void on_warn(void *ctx, const char *word, size_t wlen, const char *why)
{
	struct warns *w = ctx;
	w->n++;
	snprintf(w->last_word, sizeof(w->last_word), "%.*s", (int)wlen, word);
	snprintf(w->last_why, sizeof(w->last_why), "%s", why);
}

static int parse(struct k_bootargs *b, struct warns *w, const char *line)
{
	memset(w, 0, sizeof(*w));
	return k_bootargs_parse(b, line, strlen(line), on_warn, w);
}

static void defaults(void **state)
{
	struct k_bootargs b;
	struct warns w;
	(void)state;

	assert_int_equal(parse(&b, &w, ""), 0);
	assert_int_equal(b.log_level, K_LOG_INFO);
	assert_int_equal(b.ctl_port, K_BOOTARGS_DEFAULT_CTL);
	assert_int_equal(b.idle_us, K_BOOTARGS_DEFAULT_IDLE_US);
	assert_int_equal(b.poll_us, K_BOOTARGS_DEFAULT_POLL_US);
	assert_false(b.crashtest);
	assert_int_equal(b.vsock_conns, K_BOOTARGS_DEFAULT_VSOCK_CONNS);
	assert_int_equal(b.vsock_buf, K_BOOTARGS_DEFAULT_VSOCK_BUF);
	assert_int_equal(b.ctl_clients, K_BOOTARGS_DEFAULT_CTL_CLIENTS);
	assert_int_equal(b.disk_timeout_ms, 30000);
	assert_int_equal(b.disk_bounce_kib, 0);
	assert_int_equal(k_bootargs_parse(&b, NULL, 0, NULL, NULL), 0);
	assert_int_equal(k_bootargs_parse(&b, NULL, 3, NULL, NULL), -EINVAL);
	assert_int_equal(k_bootargs_parse(NULL, "", 0, NULL, NULL), -EINVAL);
}

static void every_key(void **state)
{
	struct k_bootargs b;
	struct warns w;
	(void)state;

	assert_int_equal(parse(&b, &w,
			       "  log=debug\tctl=4000 idle_us=1000 poll_us=0 crashtest=1 "
			       "vsock_conns=5 vsock_buf=8K ctl_clients=64 disk_timeout_ms=100 "
			       "disk_bounce_kib=256\n"),
			 0);
	assert_int_equal(b.log_level, K_LOG_DEBUG);
	assert_int_equal(b.ctl_port, 4000);
	assert_int_equal(b.idle_us, 1000);
	assert_int_equal(b.poll_us, 0);
	assert_true(b.crashtest);
	assert_int_equal(b.vsock_conns, 5);
	assert_int_equal(b.vsock_buf, 8192);
	assert_int_equal(b.ctl_clients, 64);
	assert_int_equal(b.disk_timeout_ms, 100);
	assert_int_equal(b.disk_bounce_kib, 256);
	/* The last word wins; a NUL ends the line early. */
	assert_int_equal(k_bootargs_parse(&b, "log=err log=warn\0log=debug", 26, NULL, NULL), 0);
	assert_int_equal(b.log_level, K_LOG_WARN);
}

static void rejected_words_warn_and_keep_defaults(void **state)
{
	static const struct {
		const char *line, *why;
	} cases[] = {
		{"bogus=1", "unknown key"},
		{"justaword", "not key=value"},
		{"log=verbose", "log level is err, warn, info or debug"},
		{"log=", "log level is err, warn, info or debug"},
		{"ctl=0", "bad ctl port"},
		{"ctl=4294967295", "bad ctl port"}, /* VMADDR_PORT_ANY */
		{"ctl=99999999999", "bad ctl port"},
		{"ctl=12a", "bad ctl port"},
		{"ctl=-1", "bad ctl port"},
		{"idle_us=0", "idle_us is 1..1000"},
		{"idle_us=1001", "idle_us is 1..1000"},
		{"poll_us=100001", "poll_us is 0..100000"},
		{"poll_us=-1", "poll_us is 0..100000"},
		{"poll_us=", "poll_us is 0..100000"},
		{"crashtest=2", "crashtest is 0 or 1"},
		{"vsock_conns=0", "vsock_conns is 1..64"},
		{"vsock_conns=65", "vsock_conns is 1..64"},
		{"vsock_buf=3K", "vsock_buf is a power of two, 4K..1M"},
		{"vsock_buf=2K", "vsock_buf is a power of two, 4K..1M"},
		{"vsock_buf=2M", "vsock_buf is a power of two, 4K..1M"},
		{"vsock_buf=", "vsock_buf is a power of two, 4K..1M"},
		{"ctl_clients=0", "ctl_clients is 1..64"},
		{"ctl_clients=65", "ctl_clients is 1..64"},
		{"disk_timeout_ms=99", "disk_timeout_ms is 100..600000"},
		{"disk_timeout_ms=600001", "disk_timeout_ms is 100..600000"},
		{"disk_timeout_ms=1s", "disk_timeout_ms is 100..600000"},
		{"disk_bounce_kib=100", "disk_bounce_kib is 0 or 128..8192 in steps of 128"},
		{"disk_bounce_kib=8320", "disk_bounce_kib is 0 or 128..8192 in steps of 128"},
		{"disk_bounce_kib=1M", "disk_bounce_kib is 0 or 128..8192 in steps of 128"},
		{"vhost=5000:blk", "unknown key"}, /* the application's: not without its hook */
	};
	(void)state;

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct k_bootargs b;
		struct warns w;
		int r = parse(&b, &w, cases[i].line);
		if (r != 1 || strcmp(w.last_why, cases[i].why) != 0)
			fail_msg("'%s': %d warnings, last '%s'", cases[i].line, r, w.last_why);
		assert_string_equal(w.last_word, cases[i].line);
		assert_int_equal(b.log_level, K_LOG_INFO);
		assert_int_equal(b.ctl_port, K_BOOTARGS_DEFAULT_CTL);
		assert_int_equal(b.idle_us, K_BOOTARGS_DEFAULT_IDLE_US);
		assert_int_equal(b.poll_us, K_BOOTARGS_DEFAULT_POLL_US);
		assert_false(b.crashtest);
		assert_int_equal(b.vsock_conns, K_BOOTARGS_DEFAULT_VSOCK_CONNS);
		assert_int_equal(b.vsock_buf, K_BOOTARGS_DEFAULT_VSOCK_BUF);
		assert_int_equal(b.ctl_clients, K_BOOTARGS_DEFAULT_CTL_CLIENTS);
	}
}

static void good_words_survive_bad_neighbours(void **state)
{
	struct k_bootargs b;
	struct warns w;
	(void)state;

	assert_int_equal(parse(&b, &w, "x=1 log=err y idle_us=7 ctl=nope"), 3);
	assert_int_equal(b.log_level, K_LOG_ERR);
	assert_int_equal(b.idle_us, 7);
	assert_int_equal(b.ctl_port, K_BOOTARGS_DEFAULT_CTL);
	/* Without a callback the count is still right. */
	assert_int_equal(k_bootargs_parse(&b, "a b c", 5, NULL, NULL), 3);
}

struct app_seen {
	int n;
	char kv[64];
};

static const char *app_hook(void *ctx, const char *key, size_t klen, const char *val, size_t vlen)
{
	struct app_seen *s = ctx;
	s->n++;
	snprintf(s->kv, sizeof(s->kv), "%.*s=%.*s", (int)klen, key, (int)vlen, val);
	if (klen == 3 && memcmp(key, "app", 3) == 0)
		return vlen == 2 && memcmp(val, "ok", 2) == 0 ? NULL : "app is ok";
	return k_bootargs_unknown;
}

/* Keys the kernel does not know go to the application's hook, which says
 * whether it took them, why not, or that they are nobody's. */
static void application_keys(void **state)
{
	struct k_bootargs b;
	struct warns w;
	struct app_seen s = {0};
	(void)state;

	memset(&w, 0, sizeof(w));
	assert_int_equal(k_bootargs_parse_app(&b, "log=err app=ok", 14, app_hook, &s, on_warn, &w),
			 0);
	assert_int_equal(s.n, 1);
	assert_string_equal(s.kv, "app=ok");
	assert_int_equal(b.log_level, K_LOG_ERR);
	assert_int_equal(k_bootargs_parse_app(&b, "app=no", 6, app_hook, &s, on_warn, &w), 1);
	assert_string_equal(w.last_why, "app is ok");
	assert_int_equal(k_bootargs_parse_app(&b, "zz=1", 4, app_hook, &s, on_warn, &w), 1);
	assert_string_equal(w.last_why, "unknown key");
	/* The kernel's own keys never reach the hook. */
	s.n = 0;
	assert_int_equal(k_bootargs_parse_app(&b, "ctl=5 idle_us=9", 15, app_hook, &s, NULL, NULL),
			 0);
	assert_int_equal(s.n, 0);
}

static void numbers(void **state)
{
	uint64_t v;
	uint32_t u;
	(void)state;

	assert_int_equal(k_bootargs_size("1", 1, &v), 0);
	assert_int_equal(v, 1);
	assert_int_equal(k_bootargs_size("3k", 2, &v), 0);
	assert_int_equal(v, 3072);
	assert_int_equal(k_bootargs_size("16G", 3, &v), 0);
	assert_int_equal(v, 16ull << 30);
	assert_int_equal(k_bootargs_size("18446744073709551615", 20, &v), 0);
	assert_int_equal(v, UINT64_MAX);
	assert_int_equal(k_bootargs_size("18446744073709551616", 20, &v), -ERANGE);
	assert_int_equal(k_bootargs_size("17179869184G", 12, &v), -ERANGE);
	assert_int_equal(k_bootargs_size("", 0, &v), -EINVAL);
	assert_int_equal(k_bootargs_size("K", 1, &v), -EINVAL);
	assert_int_equal(k_bootargs_size("1 ", 2, &v), -EINVAL);
	assert_int_equal(k_bootargs_u32("4294967295", 10, 0, UINT32_MAX, &u), 0);
	assert_int_equal(u, UINT32_MAX);
	assert_int_equal(k_bootargs_u32("4294967296", 10, 0, UINT32_MAX, &u), -ERANGE);
	assert_int_equal(k_bootargs_u32("00000000001", 11, 0, 5, &u), -ERANGE);
	assert_int_equal(k_bootargs_u32("5", 1, 6, 9, &u), -ERANGE);
	assert_int_equal(k_bootargs_u32("", 0, 0, 9, &u), -EINVAL);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(defaults),
		cmocka_unit_test(every_key),
		cmocka_unit_test(rejected_words_warn_and_keep_defaults),
		cmocka_unit_test(application_keys),
		cmocka_unit_test(good_words_survive_bad_neighbours),
		cmocka_unit_test(numbers),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
