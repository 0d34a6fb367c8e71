/* The control service end to end: a client on a "host" core talks to the
 * service on a "guest" core, the two wired back to back. Commands, line
 * limits, many clients, and backpressure against a slow reader that grants
 * little credit. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "helpers/vsock_pair.h"
#include "kern/control.h"
#include "kern/vsock_socket.h"

static struct k_sched fake_sched;
static const struct k_control_window fake_windows[2] = {
	{0x10000000ull, 64ull << 20, 0xdeadbeefu},
	{0x8000000000ull, 4096, 0},
};

static const struct k_sched *get_sched(void *ctx)
{
	(void)ctx;
	return &fake_sched;
}

static unsigned get_window_count(void *ctx)
{
	return *(unsigned *)ctx;
}

static int get_window(void *ctx, unsigned i, struct k_control_window *w)
{
	(void)ctx;
	if (i >= 2)
		return -EINVAL;
	*w = fake_windows[i];
	return 0;
}

static unsigned nwindows = 2;
static const struct k_control_provider prov = {&nwindows, "1.2.3-test", get_sched, get_window_count,
					       get_window};

struct rig {
	struct vsock_pair *p;
	struct k_control ctl;
	struct k_control_client clients[K_CONTROL_MAX_CLIENTS];
};

/* The client table of the rig-less tests (one control at a time). */
static struct k_control_client pool[K_CONTROL_MAX_CLIENTS];

static struct rig *rig_new(uint32_t client_buf_alloc)
{
	struct rig *r = calloc(1, sizeof(*r));
	assert_non_null(r);
	r->p = vp_new();
	if (client_buf_alloc)
		assert_int_equal(k_vsock_set_buf_alloc(r->p->host, client_buf_alloc), 0);
	k_control_set_pool(&r->ctl, r->clients, K_CONTROL_MAX_CLIENTS);
	assert_int_equal(k_control_init(&r->ctl, r->p->guest, K_CONTROL_PORT, &prov), 0);
	memset(&fake_sched, 0, sizeof(fake_sched));
	fake_sched.turns = 10;
	fake_sched.busy_turns = 4;
	fake_sched.turn_ns_max = 900;
	fake_sched.turn_ns_total = 2000;
	return r;
}

static void rig_free(struct rig *r)
{
	k_control_stop(&r->ctl);
	vp_free(r->p);
	free(r);
}

static void turn(struct rig *r)
{
	k_control_poll(&r->ctl);
	vp_pump(r->p, 64);
}

static int client(struct rig *r)
{
	int fd = k_vs_connect(r->p->host, VP_GUEST_CID, K_CONTROL_PORT);
	assert_true(fd >= 0);
	for (int i = 0; i < 4; i++)
		turn(r);
	assert_true(k_vs_poll(r->p->host, fd) & K_VS_POLLOUT);
	return fd;
}

static void say(struct rig *r, int fd, const char *s)
{
	size_t len = strlen(s), off = 0;
	while (off < len) {
		int n = k_vs_send(r->p->host, fd, s + off, len - off);
		if (n > 0)
			off += (size_t)n;
		turn(r);
	}
}

/* Read until `want` bytes arrived or the turns run out. */
static size_t hear(struct rig *r, int fd, char *buf, size_t want)
{
	size_t got = 0;
	for (int i = 0; i < 200 && got < want; i++) {
		turn(r);
		int n = k_vs_recv(r->p->host, fd, buf + got, want - got);
		if (n > 0)
			got += (size_t)n;
	}
	buf[got] = 0;
	return got;
}

static void expect_reply(struct rig *r, int fd, const char *cmd, const char *reply)
{
	char buf[8192];
	say(r, fd, cmd);
	assert_int_equal(hear(r, fd, buf, strlen(reply)), strlen(reply));
	assert_string_equal(buf, reply);
	/* and nothing more */
	turn(r);
	assert_int_equal(k_vs_recv(r->p->host, fd, buf, sizeof(buf)), -EAGAIN);
}

static void simple_commands(void **state)
{
	(void)state;
	struct rig *r = rig_new(0);
	int fd = client(r);
	expect_reply(r, fd, "version\n", "uvhost 1.2.3-test\n");
	expect_reply(r, fd, "echo hello world\n", "hello world\n");
	expect_reply(r, fd, "echo  two  spaces \n", " two  spaces \n");
	expect_reply(r, fd, "echo\n", "\n");
	expect_reply(r, fd, "echo crlf\r\n", "crlf\n");
	expect_reply(r, fd, "\n\r\nversionx\n", "ERR unknown command\n");
	expect_reply(r, fd, "echox\n", "ERR unknown command\n");
	expect_reply(r, fd, "windows\n",
		     "0 0x10000000 67108864 0xdeadbeef\n1 0x8000000000 4096 0x0\n.\n");
	/* Split across packets: a line is run only once complete. */
	say(r, fd, "ec");
	say(r, fd, "ho split");
	expect_reply(r, fd, "\n", "split\n");
	assert_int_equal(r->ctl.stats.unknown, 2);
	rig_free(r);
}

static void stats_reports_provider_and_vsock(void **state)
{
	(void)state;
	char buf[4096];
	struct rig *r = rig_new(0);
	int fd = client(r);
	say(r, fd, "stats\n");
	size_t got = 0;
	for (int i = 0; i < 50 && !(got >= 3 && !strcmp(buf + got - 3, "\n.\n")); i++) {
		turn(r);
		int n = k_vs_recv(r->p->host, fd, buf + got, sizeof(buf) - 1 - got);
		if (n > 0)
			got += (size_t)n;
		buf[got] = 0;
	}
	assert_true(got >= 3 && !strcmp(buf + got - 3, "\n.\n"));
	assert_non_null(strstr(buf, "sched_turns 10\n"));
	assert_non_null(strstr(buf, "sched_busy_turns 4\n"));
	assert_non_null(strstr(buf, "sched_turn_ns_max 900\n"));
	assert_non_null(strstr(buf, "sched_turn_ns_mean 200\n"));
	assert_non_null(strstr(buf, "sched_turn_ns_total 2000\n"));
	assert_non_null(strstr(buf, "pool_vsock_conns_used 1\n"));
	assert_non_null(strstr(buf, "pool_vsock_conns_max 64\n"));
	assert_non_null(strstr(buf, "pool_control_clients_used 1\n"));
	assert_non_null(strstr(buf, "windows 2\n"));
	assert_non_null(strstr(buf, "vsock_errors 0\n"));
	/* Every line before the terminator is "key value". */
	for (char *line = buf; *line != '.'; line = strchr(line, '\n') + 1) {
		char *sp = strchr(line, ' ');
		assert_non_null(sp);
		assert_true(sp < strchr(line, '\n'));
	}
	rig_free(r);
}

static void line_limits(void **state)
{
	(void)state;
	static char line[K_CONTROL_LINE_MAX + 16];
	static char want[K_CONTROL_LINE_MAX + 16];
	struct rig *r = rig_new(0);
	int fd = client(r);
	/* Exactly K_CONTROL_LINE_MAX bytes before the newline: accepted. */
	memcpy(line, "echo ", 5);
	memset(line + 5, 'a', K_CONTROL_LINE_MAX - 5);
	strcpy(line + K_CONTROL_LINE_MAX, "\n");
	memset(want, 'a', K_CONTROL_LINE_MAX - 5);
	strcpy(want + K_CONTROL_LINE_MAX - 5, "\n");
	expect_reply(r, fd, line, want);
	/* One more byte: refused, and the rest of the line is discarded. */
	memset(line + 5, 'b', K_CONTROL_LINE_MAX - 4);
	strcpy(line + K_CONTROL_LINE_MAX + 1, "\n");
	expect_reply(r, fd, line, "ERR line too long\n");
	assert_int_equal(r->ctl.stats.too_long, 1);
	/* Much longer (three buffers' worth): one error, then back in sync. */
	for (int i = 0; i < 3; i++) {
		memset(line, 'c', K_CONTROL_LINE_MAX);
		line[K_CONTROL_LINE_MAX] = 0;
		say(r, fd, line);
	}
	expect_reply(r, fd, "tail\necho ok\n", "ERR line too long\nok\n");
	assert_int_equal(r->ctl.stats.too_long, 2);
	rig_free(r);
}

static void sixteen_clients_at_once(void **state)
{
	(void)state;
	struct rig *r = rig_new(0);
	int fds[16];
	char buf[64], want[64];
	for (int i = 0; i < 16; i++)
		fds[i] = k_vs_connect(r->p->host, VP_GUEST_CID, K_CONTROL_PORT);
	for (int t = 0; t < 8; t++)
		turn(r);
	for (int i = 0; i < 16; i++) {
		snprintf(buf, sizeof(buf), "echo client %d\n", i);
		assert_int_equal(k_vs_send(r->p->host, fds[i], buf, strlen(buf)), strlen(buf));
	}
	assert_int_equal(r->ctl.stats.clients_open, 16);
	for (int i = 15; i >= 0; i--) {
		snprintf(want, sizeof(want), "client %d\n", i);
		assert_int_equal(hear(r, fds[i], buf, strlen(want)), strlen(want));
		assert_string_equal(buf, want);
	}
	/* Closing returns every pool to baseline. */
	for (int i = 0; i < 16; i++)
		k_vs_close(r->p->host, fds[i]);
	for (int t = 0; t < 8; t++)
		turn(r);
	assert_int_equal(r->ctl.stats.clients_open, 0);
	assert_int_equal(r->p->host->stats.conns_open, 0);
	assert_int_equal(r->p->guest->stats.conns_open, 0);
	rig_free(r);
}

static void clients_beyond_the_table_are_refused(void **state)
{
	(void)state;
	struct rig *r = rig_new(0);
	int fds[K_CONTROL_MAX_CLIENTS + 1];
	for (int i = 0; i <= K_CONTROL_MAX_CLIENTS; i++)
		fds[i] = k_vs_connect(r->p->host, VP_GUEST_CID, K_CONTROL_PORT);
	for (int t = 0; t < 8; t++)
		turn(r);
	assert_int_equal(r->ctl.stats.clients_open, K_CONTROL_MAX_CLIENTS);
	assert_int_equal(r->ctl.stats.refused, 1);
	/* The last one was accepted, then closed: it sees EOF. */
	char b[4];
	assert_int_equal(k_vs_recv(r->p->host, fds[K_CONTROL_MAX_CLIENTS], b, 4), 0);
	rig_free(r);
}

/* `pollers`: one line per active poller (name cut at 24 bytes), and even a
 * full table of the longest lines fits one reply. */
static void pollers_lists_every_active_poller(void **state)
{
	(void)state;
	static struct k_control ctl;
	static char buf[K_CONTROL_OUT_BUF];
	k_control_set_pool(&ctl, pool, 1);
	assert_int_equal(k_control_init(&ctl, NULL, 0, &prov), 0);
	memset(&fake_sched, 0, sizeof(fake_sched));
	fake_sched.pollers[0] = (struct k_poller){.name = "vsock",
						  .runs = 10,
						  .busy_runs = 4,
						  .busy_ns = 4000,
						  .idle_ns = 600,
						  .active = 1};
	fake_sched.pollers[2] = (struct k_poller){.name = "heartbeat-with-a-very-long-name",
						  .period_ns = 60000000000ull,
						  .runs = 1,
						  .busy_runs = 1,
						  .busy_ns = 77,
						  .active = 1};
	fake_sched.pollers[3] = (struct k_poller){.name = "removed", .active = 0};
	struct k_control_client *cl = &ctl.clients[0];
	assert_int_equal(k_control_feed(&ctl, cl, "pollers\n", 8), 8);
	size_t n = k_control_drain(cl, buf, sizeof(buf) - 1);
	buf[n] = 0;
	assert_string_equal(buf, "vsock 0 10 4 4000 600\n"
				 "heartbeat-with-a-very-lo 60000000 1 1 77 0\n.\n");
	for (unsigned i = 0; i < K_MAX_POLLERS; i++)
		fake_sched.pollers[i] =
			(struct k_poller){.name = "a-name-longer-than-the-cut-at-24",
					  .period_ns = UINT64_MAX,
					  .runs = UINT64_MAX,
					  .busy_runs = UINT64_MAX,
					  .busy_ns = UINT64_MAX,
					  .idle_ns = UINT64_MAX,
					  .active = 1};
	assert_int_equal(k_control_feed(&ctl, cl, "pollers\n", 8), 8);
	n = k_control_drain(cl, buf, sizeof(buf) - 1);
	assert_true(n > K_MAX_POLLERS * 100u);
	assert_int_equal(ctl.stats.reply_truncated, 0);
	memset(&fake_sched, 0, sizeof(fake_sched));
}

/* A pool sized at boot (ctl_clients=): the table is what the owner gave. */
static void the_table_is_the_pool_given(void **state)
{
	(void)state;
	struct rig *r = rig_new(0);
	int fds[3];
	k_control_stop(&r->ctl);
	k_control_set_pool(&r->ctl, r->clients, 2);
	assert_int_equal(k_control_init(&r->ctl, r->p->guest, K_CONTROL_PORT, &prov), 0);
	assert_int_equal(r->ctl.stats.clients_max, 2);
	for (int i = 0; i < 3; i++)
		fds[i] = k_vs_connect(r->p->host, VP_GUEST_CID, K_CONTROL_PORT);
	for (int t = 0; t < 8; t++)
		turn(r);
	assert_int_equal(r->ctl.stats.clients_open, 2);
	assert_int_equal(r->ctl.stats.refused, 1);
	char b[4];
	assert_int_equal(k_vs_recv(r->p->host, fds[2], b, 4), 0);
	/* Without a pool every client is refused. */
	k_control_stop(&r->ctl);
	k_control_set_pool(&r->ctl, NULL, 5);
	assert_int_equal(r->ctl.nclients, 0);
	rig_free(r);
}

static void client_eof_after_replies_closes(void **state)
{
	(void)state;
	char buf[16];
	struct rig *r = rig_new(0);
	int fd = client(r);
	say(r, fd, "echo bye\npartial");
	assert_int_equal(k_vs_shutdown(r->p->host, fd, VIRTIO_VSOCK_SHUTDOWN_SEND), 0);
	assert_int_equal(hear(r, fd, buf, 4), 4);
	assert_string_equal(buf, "bye\n");
	for (int t = 0; t < 4; t++)
		turn(r);
	assert_int_equal(k_vs_recv(r->p->host, fd, buf, sizeof(buf)), 0);
	assert_int_equal(r->ctl.stats.clients_open, 0);
	k_vs_close(r->p->host, fd);
	for (int t = 0; t < 4; t++)
		turn(r);
	assert_int_equal(r->p->guest->stats.conns_open, 0);
	rig_free(r);
}

/* 1 MiB of numbered echo lines to a reader that grants 4 KiB of credit and
 * reads at most 700 bytes per turn: every reply arrives, in order, and the
 * service held its input back instead of dropping or growing. */
static void slow_reader_gets_everything_in_order(void **state)
{
	(void)state;
	struct rig *r = rig_new(4096);
	int fd = client(r);
	const size_t total = 1u << 20;
	char *in = malloc(total + 64), *want = malloc(total + 64), *got = malloc(total + 64);
	size_t in_len = 0, want_len = 0;
	for (unsigned i = 0; in_len < total; i++) {
		int n = snprintf(in + in_len, 64, "echo line %u %08x\n", i, i * 2654435761u);
		memcpy(want + want_len, in + in_len + 5, (size_t)n - 5);
		in_len += (size_t)n;
		want_len += (size_t)n - 5;
	}
	size_t sent = 0, recvd = 0;
	unsigned turns = 0;
	while (recvd < want_len && turns++ < 2000000) {
		if (sent < in_len) {
			int n = k_vs_send(r->p->host, fd, in + sent, in_len - sent);
			if (n > 0)
				sent += (size_t)n;
		}
		turn(r);
		size_t cap = want_len - recvd < 700 ? want_len - recvd : 700;
		int n = k_vs_recv(r->p->host, fd, got + recvd, cap);
		if (n > 0)
			recvd += (size_t)n;
	}
	assert_int_equal(sent, in_len);
	assert_int_equal(recvd, want_len);
	assert_memory_equal(got, want, want_len);
	assert_true(r->ctl.stats.stalls > 0);
	assert_int_equal(r->ctl.stats.reply_truncated, 0);
	assert_true(r->p->guest->stats.credit_stalls > 0);
	assert_int_equal(r->p->guest->stats.err_credit_overflow, 0);
	assert_int_equal(r->p->host->stats.err_credit_overflow, 0);
	free(in);
	free(want);
	free(got);
	rig_free(r);
}

/* The parser alone, with no sockets and no provider. */
static void parser_without_sockets(void **state)
{
	(void)state;
	static struct k_control ctl;
	char buf[256];
	k_control_set_pool(&ctl, pool, K_CONTROL_MAX_CLIENTS);
	assert_int_equal(k_control_init(&ctl, NULL, 0, NULL), 0);
	struct k_control_client *cl = &ctl.clients[0];
	assert_int_equal(k_control_feed(&ctl, cl, "version\nstats\nwindows\n", 22), 22);
	size_t n = k_control_drain(cl, buf, sizeof(buf) - 1);
	buf[n] = 0;
	char want[128];
	snprintf(want, sizeof(want),
		 "uvhost %s\npool_control_clients_used 0\npool_control_clients_max %d\n"
		 "control_lines 2\ncontrol_stalls 0\nwindows 0\n.\n.\n",
		 UVHOST_VERSION, K_CONTROL_MAX_CLIENTS);
	assert_string_equal(buf, want);
	/* Replies that do not drain stop the parser, without loss. */
	static char big[K_CONTROL_LINE_MAX + 1];
	memcpy(big, "echo ", 5);
	memset(big + 5, 'x', K_CONTROL_LINE_MAX - 5);
	big[K_CONTROL_LINE_MAX] = '\n';
	unsigned fed = 0;
	while (k_control_feed(&ctl, cl, big, sizeof(big)) == sizeof(big))
		fed++;
	assert_true(fed >= 3);
	size_t total = 0;
	do {
		n = k_control_drain(cl, buf, sizeof(buf));
		total += n;
		k_control_process(&ctl, cl);
	} while (n);
	assert_int_equal(total, (size_t)fed * (K_CONTROL_LINE_MAX - 4));
}

/* A provider's extra counters: printed after the service's own keys, bad
 * keys skipped and counted, the list cut at K_CONTROL_MAX_EXTRA. */
static const char *extra_keys[] = {
	"pool_vhost_sessions_used",
	"vhost_5000_accepted",
	"",
	"bad key",
	"Upper",
	NULL,
	"k_0123456789_0123456789_0123456789_0123456789",
	"vhost_messages",
};
static unsigned extra_limit;

static int get_extra(void *ctx, unsigned i, const char **key, uint64_t *val)
{
	(void)ctx;
	if (i >= extra_limit)
		return -ENOENT;
	*key = i < sizeof(extra_keys) / sizeof(extra_keys[0]) ? extra_keys[i] : "many";
	*val = i == 7 ? UINT64_MAX : 100 + i;
	return 0;
}

/* The system's static memory, once the boot set it, before the extras. */
static void stats_reports_mem_static_bytes(void **state)
{
	(void)state;
	static struct k_control ctl;
	static char buf[K_CONTROL_OUT_BUF];
	k_control_set_pool(&ctl, pool, 2);
	assert_int_equal(k_control_init(&ctl, NULL, 0, NULL), 0);
	k_control_set_mem_static(&ctl, 1048576);
	struct k_control_client *cl = &ctl.clients[0];
	assert_int_equal(k_control_feed(&ctl, cl, "stats\n", 6), 6);
	size_t n = k_control_drain(cl, buf, sizeof(buf) - 1);
	buf[n] = 0;
	assert_string_equal(buf, "pool_control_clients_used 0\npool_control_clients_max 2\n"
				 "control_lines 1\ncontrol_stalls 0\nwindows 0\n"
				 "mem_static_bytes 1048576\n.\n");
}

static void stats_prints_provider_extras(void **state)
{
	(void)state;
	static struct k_control ctl;
	static char buf[K_CONTROL_OUT_BUF];
	extra_limit = 8;
	k_control_set_pool(&ctl, pool, K_CONTROL_MAX_CLIENTS);
	assert_int_equal(k_control_init(&ctl, NULL, 0, NULL), 0);
	k_control_set_extra(&ctl, get_extra, NULL);
	struct k_control_client *cl = &ctl.clients[0];
	assert_int_equal(k_control_feed(&ctl, cl, "stats\n", 6), 6);
	size_t n = k_control_drain(cl, buf, sizeof(buf) - 1);
	buf[n] = 0;
	char want[512];
	snprintf(want, sizeof(want),
		 "pool_control_clients_used 0\npool_control_clients_max %d\n"
		 "control_lines 1\ncontrol_stalls 0\nwindows 0\n"
		 "pool_vhost_sessions_used 100\nvhost_5000_accepted 101\n"
		 "vhost_messages 18446744073709551615\n.\n",
		 K_CONTROL_MAX_CLIENTS);
	assert_string_equal(buf, want);
	/* "", "bad key", "Upper", NULL and a 45-byte key. */
	assert_int_equal(ctl.stats.extra_skipped, 5);

	/* A provider that never ends is cut at K_CONTROL_MAX_EXTRA entries,
	 * and the block still fits one reply. */
	extra_limit = 1000;
	assert_int_equal(k_control_feed(&ctl, cl, "stats\n", 6), 6);
	n = k_control_drain(cl, buf, sizeof(buf) - 1);
	buf[n] = 0;
	unsigned many = 0;
	for (const char *s = buf; (s = strstr(s, "\nmany ")); s++)
		many++;
	assert_int_equal(many, K_CONTROL_MAX_EXTRA - 8);
	assert_non_null(strstr(buf, "\n.\n"));
	assert_int_equal(ctl.stats.reply_truncated, 0);
	assert_int_equal(ctl.stats.extra_skipped, 10);
}

/* A registered command set: answers what the application knows, with
 * answers that try every way of breaking the line framing. */
struct cmd_log {
	unsigned calls;
	char last[64];
	size_t last_len;
};

static bool app_cmds(void *ctx, const char *line, size_t len, char *reply, size_t cap)
{
	struct cmd_log *log = ctx;
	size_t keep = len < sizeof(log->last) - 1 ? len : sizeof(log->last) - 1;

	log->calls++;
	memcpy(log->last, line, keep);
	log->last[keep] = 0;
	log->last_len = len;
	if (len >= 6 && !memcmp(line, "vhost ", 6)) {
		snprintf(reply, cap, "OK %zu", len);
	} else if (len == 7 && !memcmp(line, "control", 7)) {
		snprintf(reply, cap, "a\nb\rc\x01\x7f\xff");
	} else if (len == 5 && !memcmp(line, "empty", 5)) {
		/* knows it, says nothing */
	} else if (len == 4 && !memcmp(line, "long", 4)) {
		memset(reply, 'x', cap); /* no terminator at all */
	} else if (len == 7 && !memcmp(line, "version", 7)) {
		snprintf(reply, cap, "shadowed");
	} else {
		return false;
	}
	return true;
}

static size_t feed_drain(struct k_control *ctl, const char *in, char *buf, size_t cap)
{
	struct k_control_client *cl = &ctl->clients[0];
	size_t n;

	assert_int_equal(k_control_feed(ctl, cl, in, strlen(in)), strlen(in));
	n = k_control_drain(cl, buf, cap - 1);
	buf[n] = 0;
	return n;
}

static void registered_commands(void **state)
{
	(void)state;
	static struct k_control ctl;
	static struct cmd_log log;
	char buf[1024], want[512];

	k_control_set_pool(&ctl, pool, K_CONTROL_MAX_CLIENTS);
	assert_int_equal(k_control_init(&ctl, NULL, 0, NULL), 0);
	memset(&log, 0, sizeof(log));
	/* Before anything is registered, an application word is unknown. */
	feed_drain(&ctl, "vhost 5000 config\n", buf, sizeof(buf));
	assert_string_equal(buf, "ERR unknown command\n");
	k_control_set_commands(&ctl, app_cmds, &log);
	feed_drain(&ctl, "vhost 5000 config\n", buf, sizeof(buf));
	assert_string_equal(buf, "OK 17\n");
	assert_string_equal(log.last, "vhost 5000 config");
	/* The function sees the line without CR or newline. */
	feed_drain(&ctl, "vhost 1\r\n", buf, sizeof(buf));
	assert_string_equal(buf, "OK 7\n");
	assert_int_equal(log.last_len, 7);
	/* Built-in commands come first: an application cannot shadow them. */
	snprintf(want, sizeof(want), "uvhost %s\n", UVHOST_VERSION);
	feed_drain(&ctl, "version\n", buf, sizeof(buf));
	assert_string_equal(buf, want);
	assert_int_equal(log.calls, 2);
	/* Words the function does not know stay unknown. */
	feed_drain(&ctl, "frobnicate\n", buf, sizeof(buf));
	assert_string_equal(buf, "ERR unknown command\n");
	assert_int_equal(log.calls, 3);
	assert_int_equal(ctl.stats.unknown, 2);
	assert_int_equal(ctl.stats.cmd_bad_replies, 0);

	/* Answers that would break the framing are fixed and counted. */
	feed_drain(&ctl, "control\n", buf, sizeof(buf));
	assert_string_equal(buf, "a?b?c???\n");
	assert_int_equal(ctl.stats.cmd_bad_replies, 1);
	feed_drain(&ctl, "empty\n", buf, sizeof(buf));
	assert_string_equal(buf, "ERR empty reply\n");
	assert_int_equal(ctl.stats.cmd_bad_replies, 2);
	assert_int_equal(feed_drain(&ctl, "long\n", buf, sizeof(buf)), K_CONTROL_CMD_REPLY_MAX);
	for (unsigned i = 0; i < K_CONTROL_CMD_REPLY_MAX - 1; i++)
		assert_int_equal(buf[i], 'x');
	assert_int_equal(buf[K_CONTROL_CMD_REPLY_MAX - 1], '\n');
	/* Cut, but printable and terminated by the service: not "fixed". */
	assert_int_equal(ctl.stats.cmd_bad_replies, 2);
	assert_int_equal(ctl.stats.reply_truncated, 0);

	/* Cleared: unknown again, the function is not called. */
	k_control_set_commands(&ctl, NULL, NULL);
	feed_drain(&ctl, "vhost 5000 config\n", buf, sizeof(buf));
	assert_string_equal(buf, "ERR unknown command\n");
	assert_int_equal(log.calls, 6);
	/* init forgets a registration too. */
	k_control_set_commands(&ctl, app_cmds, &log);
	k_control_set_pool(&ctl, pool, K_CONTROL_MAX_CLIENTS);
	assert_int_equal(k_control_init(&ctl, NULL, 0, NULL), 0);
	feed_drain(&ctl, "vhost 5000 config\n", buf, sizeof(buf));
	assert_string_equal(buf, "ERR unknown command\n");
	assert_int_equal(log.calls, 6);
}

/* The same through a vsock client, pipelined with built-in commands. */
static void registered_commands_over_vsock(void **state)
{
	(void)state;
	static struct cmd_log log;
	struct rig *r = rig_new(0);
	int fd = client(r);

	memset(&log, 0, sizeof(log));
	k_control_set_commands(&r->ctl, app_cmds, &log);
	expect_reply(r, fd, "echo a\nvhost 5000 config\nnope\necho b\n",
		     "a\nOK 17\nERR unknown command\nb\n");
	assert_int_equal(log.calls, 2);
	rig_free(r);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(simple_commands),
		cmocka_unit_test(stats_reports_provider_and_vsock),
		cmocka_unit_test(line_limits),
		cmocka_unit_test(sixteen_clients_at_once),
		cmocka_unit_test(clients_beyond_the_table_are_refused),
		cmocka_unit_test(client_eof_after_replies_closes),
		cmocka_unit_test(slow_reader_gets_everything_in_order),
		cmocka_unit_test(parser_without_sockets),
		cmocka_unit_test(stats_reports_mem_static_bytes),
		cmocka_unit_test(the_table_is_the_pool_given),
		cmocka_unit_test(pollers_lists_every_active_poller),
		cmocka_unit_test(stats_prints_provider_extras),
		cmocka_unit_test(registered_commands),
		cmocka_unit_test(registered_commands_over_vsock),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
