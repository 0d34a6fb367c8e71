/* test_uvm_args.c - the service VM's whole command line: the kernel's keys
 * through kern/bootargs.h plus the application's (vhost=, vhost_sessions=,
 * apps/uvhost-vm/uvm_args.h, compiled into this test as is): defaults,
 * every key, and every rejection (which warns, names the word, and leaves
 * the default in place). Moved here from test_bootargs.c with the parser. */
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

#include "../../apps/uvhost-vm/uvm_args.c"

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

static int parse(struct uvm_args *b, struct warns *w, const char *line)
{
	memset(w, 0, sizeof(*w));
	return uvm_args_parse(b, line, strlen(line), on_warn, w);
}

static void defaults(void **state)
{
	struct uvm_args b;
	struct warns w;
	(void)state;

	assert_int_equal(parse(&b, &w, ""), 0);
	assert_int_equal(b.k.log_level, K_LOG_INFO);
	assert_int_equal(b.k.ctl_port, K_BOOTARGS_DEFAULT_CTL);
	assert_int_equal(b.k.idle_us, K_BOOTARGS_DEFAULT_IDLE_US);
	assert_int_equal(b.k.poll_us, K_BOOTARGS_DEFAULT_POLL_US);
	assert_false(b.k.crashtest);
	assert_int_equal(b.n_vhost, 0);
	assert_int_equal(uvm_args_parse(&b, NULL, 0, NULL, NULL), 0);
	assert_int_equal(uvm_args_parse(&b, NULL, 3, NULL, NULL), -EINVAL);
	assert_int_equal(uvm_args_parse(NULL, "", 0, NULL, NULL), -EINVAL);
}

static void every_key(void **state)
{
	struct uvm_args b;
	struct warns w;
	(void)state;

	assert_int_equal(parse(&b, &w,
			       "  log=debug\tctl=4000 idle_us=1000 poll_us=0 crashtest=1 "
			       "vhost=5000:blk:64M,5001:rng,5002:blk:4096,5003:blk:2g\n"),
			 0);
	assert_int_equal(b.k.log_level, K_LOG_DEBUG);
	assert_int_equal(b.k.ctl_port, 4000);
	assert_int_equal(b.k.idle_us, 1000);
	assert_int_equal(b.k.poll_us, 0);
	assert_true(b.k.crashtest);
	assert_int_equal(b.n_vhost, 4);
	assert_int_equal(b.vhost[0].port, 5000);
	assert_int_equal(b.vhost[0].kind, dev_table_find("blk", 3));
	assert_int_equal(b.vhost[0].size, 64ull << 20);
	assert_int_equal(b.vhost[1].kind, dev_table_find("rng", 3));
	assert_int_equal(b.vhost[1].size, 0);
	assert_int_equal(b.vhost[2].size, 4096);
	assert_int_equal(b.vhost[3].size, 2ull << 30);
	for (unsigned i = 0; i < 4; i++)
		assert_int_equal(b.vhost[i].queues, 1); /* the default */
	/* The last word wins; a NUL ends the line early. */
	assert_int_equal(uvm_args_parse(&b, "log=err log=warn\0log=debug", 26, NULL, NULL), 0);
	assert_int_equal(b.k.log_level, K_LOG_WARN);
}

#define ORDER "vhost fields are [:<size>|:vd<N>][:q<n>][:s<n>], in that order"

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
		{"vhost=", "vhost entry needs port:device"},
		{"vhost=5000", "vhost entry needs port:device"},
		{"vhost=x:blk", "bad vhost port"},
		{"vhost=0:blk", "bad vhost port"},
		{"vhost=5000:net", "unknown vhost device"},
		{"vhost=5000:blkk", "unknown vhost device"},
		{"vhost=5000:vsock", "unknown vhost device"}, /* hosted only */
		{"vhost=5000:blk:", "bad vhost size"},
		{"vhost=5000:blk:0", "bad vhost size"},
		{"vhost=5000:blk:M", "bad vhost size"},
		{"vhost=5000:blk:64X", "bad vhost size"},
		{"vhost=5000:blk:99999999999999999999", "bad vhost size"},
		{"vhost=5000:blk:17179869184G", "bad vhost size"},
		{"vhost=5000:blk,5000:rng", "duplicate vhost port"},
		{"vhost=5000:blk,", "empty vhost entry"},
		{"vhost=1:rng,2:rng,3:rng,4:rng,5:rng,6:rng,7:rng,8:rng,9:rng",
		 "too many vhost listeners"},
		{"vhost=5000:blk:q0", "vhost queues are q1..q16"},
		{"vhost=5000:blk:q17", "vhost queues are q1..q16"},
		{"vhost=5000:blk:16M:q17", "vhost queues are q1..q16"},
		{"vhost=5000:blk:q", "vhost queues are q1..q16"},
		{"vhost=5000:blk:q4x", "vhost queues are q1..q16"},
		{"vhost=5000:blk:q-1", "vhost queues are q1..q16"},
		{"vhost=5000:blk:q99999999999", "vhost queues are q1..q16"},
		{"vhost=5000:blk:Q4", "bad vhost size"},
		{"vhost=5000:blk::q4", "bad vhost size"},
		{"vhost=5000:rng:q1", "rng has one queue: no q<n>"},
		{"vhost=5000:rng:64K:q2", "rng has one queue: no q<n>"},
		{"vhost=5000:blk:q4:16M", ORDER},
		{"vhost=5000:blk:q4:", ORDER},
		{"vhost=5000:blk:16M:q4:q4", ORDER},
		{"vhost=5000:blk:16M:q4:", ORDER},
		{"vhost=5000:blk:16M:32M", ORDER},
		{"vhost=5000:blk:16M:", ORDER},
		{"vhost=5000:blk:16M::q4", ORDER},
		{"vhost=5000:blk:s8:q4", ORDER},
		{"vhost=5000:blk:s8:16M", ORDER},
		{"vhost=5000:blk:s8:s8", ORDER},
		{"vhost=5000:rng:s4:", ORDER},
		{"vhost=5000:blk:s0", "vhost memory slots are s1..s509"},
		{"vhost=5000:blk:s510", "vhost memory slots are s1..s509"},
		{"vhost=5000:blk:16M:q2:s", "vhost memory slots are s1..s509"},
		{"vhost=5000:rng:sx", "vhost memory slots are s1..s509"},
		/* One bad entry drops the good ones with it. */
		{"vhost=5000:blk:q8,5001:blk:q0", "vhost queues are q1..q16"},
	};
	(void)state;

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct uvm_args b;
		struct warns w;
		int r = parse(&b, &w, cases[i].line);
		if (r != 1 || strcmp(w.last_why, cases[i].why) != 0)
			fail_msg("'%s': %d warnings, last '%s'", cases[i].line, r, w.last_why);
		assert_string_equal(w.last_word, cases[i].line);
		assert_int_equal(b.k.log_level, K_LOG_INFO);
		assert_int_equal(b.k.ctl_port, K_BOOTARGS_DEFAULT_CTL);
		assert_int_equal(b.k.idle_us, K_BOOTARGS_DEFAULT_IDLE_US);
		assert_int_equal(b.k.poll_us, K_BOOTARGS_DEFAULT_POLL_US);
		assert_false(b.k.crashtest);
		/* A bad vhost list is dropped whole. */
		assert_int_equal(b.n_vhost, 0);
	}
}

static void vhost_queue_counts(void **state)
{
	static const struct {
		const char *line;
		uint64_t size;
		uint8_t queues;
		uint32_t slots;
	} cases[] = {
		{"vhost=5000:blk", 0, 1, 0},
		{"vhost=5000:blk:q1", 0, 1, 0},
		{"vhost=5000:blk:q16", 0, 16, 0},
		{"vhost=5000:blk:q08", 0, 8, 0},
		{"vhost=5000:blk:16M", 16 << 20, 1, 0},
		{"vhost=5000:blk:16M:q8", 16 << 20, 8, 0},
		{"vhost=5000:blk:4096:q2", 4096, 2, 0},
		{"vhost=5000:rng", 0, 1, 0},
		{"vhost=5000:rng:64K", 64 << 10, 1, 0},
		{"vhost=5000:blk:16M:q4:s64", 16 << 20, 4, 64},
		{"vhost=5000:blk:s1", 0, 1, 1},
		{"vhost=5000:blk:1M:s509", 1 << 20, 1, 509},
		{"vhost=5000:blk:q2:s8", 0, 2, 8},
		{"vhost=5000:rng:s2", 0, 1, 2},
	};
	struct uvm_args b;
	struct warns w;
	(void)state;

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		if (parse(&b, &w, cases[i].line) != 0 || b.n_vhost != 1)
			fail_msg("'%s': %d warnings (%s), %u listeners", cases[i].line, w.n,
				 w.last_why, b.n_vhost);
		assert_int_equal(b.vhost[0].port, 5000);
		assert_int_equal(b.vhost[0].size, cases[i].size);
		assert_int_equal(b.vhost[0].queues, cases[i].queues);
		assert_int_equal(b.vhost[0].slots, cases[i].slots);
	}
	/* Each listener has its own count; 4 x 16 is what the service VM's
	 * session pool can hold at most. */
	assert_int_equal(parse(&b, &w, "vhost=5000:blk:16M:q16,5001:rng,5002:blk:q3,5003:blk:1M"),
			 0);
	assert_int_equal(b.n_vhost, 4);
	assert_int_equal(b.vhost[0].queues, 16);
	assert_int_equal(b.vhost[0].size, 16ull << 20);
	assert_int_equal(b.vhost[1].queues, 1);
	assert_int_equal(b.vhost[1].kind, dev_table_find("rng", 3));
	assert_int_equal(b.vhost[2].queues, 3);
	assert_int_equal(b.vhost[2].size, 0);
	assert_int_equal(b.vhost[3].queues, 1);
	assert_int_equal(b.vhost[3].size, 1ull << 20);
}

/* vd<N>: a virtio-blk disk in place of the RAM disk's size. */
static void vhost_disks(void **state)
{
	static const struct {
		const char *line;
		int disk;
		uint8_t queues;
		uint32_t slots;
	} good[] = {
		{"vhost=5000:blk:vd0", 0, 1, 0},      {"vhost=5000:blk:vd3", 3, 1, 0},
		{"vhost=5000:blk:vd1:q4", 1, 4, 0},   {"vhost=5000:blk:vd0:q2:s8", 0, 2, 8},
		{"vhost=5000:blk:vd2:s16", 2, 1, 16}, {"vhost=5000:blk:16M", -1, 1, 0},
		{"vhost=5000:blk", -1, 1, 0},
	};
	static const struct {
		const char *line, *why;
	} bad[] = {
		{"vhost=5000:blk:vd4", "vhost disks are vd0..vd3"},
		{"vhost=5000:blk:vd", "vhost disks are vd0..vd3"},
		{"vhost=5000:blk:vdx", "vhost disks are vd0..vd3"},
		{"vhost=5000:blk:vd-1", "vhost disks are vd0..vd3"},
		{"vhost=5000:blk:vd99999999999", "vhost disks are vd0..vd3"},
		{"vhost=5000:rng:vd0", "only blk serves a disk (vd<N>)"},
		{"vhost=5000:blk:vd0:vd1", ORDER},
		{"vhost=5000:blk:16M:vd0", ORDER},
		{"vhost=5000:blk:q2:vd0", ORDER},
	};
	struct uvm_args b;
	struct warns w;
	(void)state;

	for (size_t i = 0; i < sizeof(good) / sizeof(good[0]); i++) {
		if (parse(&b, &w, good[i].line) != 0 || b.n_vhost != 1)
			fail_msg("'%s': %d warnings (%s), %u listeners", good[i].line, w.n,
				 w.last_why, b.n_vhost);
		assert_int_equal(b.vhost[0].disk, good[i].disk);
		assert_int_equal(b.vhost[0].queues, good[i].queues);
		assert_int_equal(b.vhost[0].slots, good[i].slots);
		assert_int_equal(b.vhost[0].size,
				 good[i].disk < 0 && strstr(good[i].line, "16M") ? 16u << 20 : 0);
	}
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		if (parse(&b, &w, bad[i].line) != 1)
			fail_msg("'%s' accepted", bad[i].line);
		assert_string_equal(w.last_why, bad[i].why);
		assert_int_equal(b.n_vhost, 0);
	}
	/* A disk and a RAM disk side by side, each on its own listener. */
	assert_int_equal(parse(&b, &w, "vhost=5000:blk:vd1:q2,5001:blk:8M,5002:rng"), 0);
	assert_int_equal(b.n_vhost, 3);
	assert_int_equal(b.vhost[0].disk, 1);
	assert_int_equal(b.vhost[0].queues, 2);
	assert_int_equal(b.vhost[1].disk, -1);
	assert_int_equal(b.vhost[1].size, 8u << 20);
	assert_int_equal(b.vhost[2].disk, -1);
}

static void good_words_survive_bad_neighbours(void **state)
{
	struct uvm_args b;
	struct warns w;
	(void)state;

	assert_int_equal(parse(&b, &w, "x=1 log=err y vhost=5000:rng ctl=nope"), 3);
	assert_int_equal(b.k.log_level, K_LOG_ERR);
	assert_int_equal(b.n_vhost, 1);
	assert_int_equal(b.k.ctl_port, K_BOOTARGS_DEFAULT_CTL);
	/* The control port may not also be a vhost listener. */
	assert_int_equal(parse(&b, &w, "vhost=1024:rng"), 1);
	assert_int_equal(b.n_vhost, 0);
	assert_int_equal(parse(&b, &w, "ctl=7 vhost=7:blk,8:rng"), 1);
	assert_int_equal(b.n_vhost, 0);
	/* Without a callback the count is still right. */
	assert_int_equal(uvm_args_parse(&b, "a b c", 5, NULL, NULL), 3);
}

static void sessions(void **state)
{
	struct uvm_args b;
	struct warns w;
	(void)state;

	assert_int_equal(parse(&b, &w, ""), 0);
	assert_int_equal(b.sessions, UVM_DEFAULT_SESSIONS);
	assert_int_equal(parse(&b, &w, "vhost_sessions=4"), 0);
	assert_int_equal(b.sessions, 4);
	assert_int_equal(parse(&b, &w, "vhost_sessions=16"), 0);
	assert_int_equal(b.sessions, 16);
	assert_int_equal(parse(&b, &w, "vhost_sessions=0"), 1);
	assert_string_equal(w.last_why, "vhost_sessions is 1..16");
	assert_int_equal(b.sessions, UVM_DEFAULT_SESSIONS);
	assert_int_equal(parse(&b, &w, "vhost_sessions=17"), 1);
	assert_int_equal(parse(&b, &w, "vhost_sessions="), 1);
	assert_int_equal(b.sessions, UVM_DEFAULT_SESSIONS);
	/* The kernel's pool keys reach the kernel, not the application. */
	assert_int_equal(parse(&b, &w, "vsock_conns=8 ctl_clients=3 vsock_buf=16K"), 0);
	assert_int_equal(b.k.vsock_conns, 8);
	assert_int_equal(b.k.ctl_clients, 3);
	assert_int_equal(b.k.vsock_buf, 16384);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(defaults),
		cmocka_unit_test(every_key),
		cmocka_unit_test(rejected_words_warn_and_keep_defaults),
		cmocka_unit_test(vhost_queue_counts),
		cmocka_unit_test(vhost_disks),
		cmocka_unit_test(good_words_survive_bad_neighbours),
		cmocka_unit_test(sessions),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
