/* The control service's parser: line assembly out of a client's input
 * buffer, the commands, and reply formatting. No sockets here, so the host
 * tests and fuzz_control drive it directly. */
#include <string.h>

#include "kern/control.h"

struct out {
	struct k_control_client *cl;
	bool truncated;
};

static uint32_t out_room(const struct k_control_client *cl)
{
	return K_CONTROL_OUT_BUF - cl->out_end + cl->out_start;
}

static void put(struct out *o, const char *s, size_t n)
{
	struct k_control_client *cl = o->cl;
	if (n > K_CONTROL_OUT_BUF - cl->out_end && cl->out_start) {
		memmove(cl->out, cl->out + cl->out_start, cl->out_end - cl->out_start);
		cl->out_end -= cl->out_start;
		cl->out_start = 0;
	}
	if (n > K_CONTROL_OUT_BUF - cl->out_end) {
		n = K_CONTROL_OUT_BUF - cl->out_end;
		o->truncated = true;
	}
	memcpy(cl->out + cl->out_end, s, n);
	cl->out_end += (uint32_t)n;
}

static void puts_(struct out *o, const char *s)
{
	put(o, s, strlen(s));
}

static void put_u64(struct out *o, uint64_t v)
{
	char b[20];
	unsigned n = 0;
	do {
		b[sizeof(b) - 1 - n++] = (char)('0' + v % 10);
		v /= 10;
	} while (v);
	put(o, b + sizeof(b) - n, n);
}

static void put_hex(struct out *o, uint64_t v)
{
	char b[18];
	unsigned n = 0;
	do {
		b[sizeof(b) - 1 - n++] = "0123456789abcdef"[v & 15];
		v >>= 4;
	} while (v);
	b[sizeof(b) - 1 - n++] = 'x';
	b[sizeof(b) - 1 - n++] = '0';
	put(o, b + sizeof(b) - n, n);
}

static void kv(struct out *o, const char *key, uint64_t v)
{
	puts_(o, key);
	put(o, " ", 1);
	put_u64(o, v);
	put(o, "\n", 1);
}

static unsigned window_count(const struct k_control *ctl)
{
	unsigned n = ctl->prov.window_count ? ctl->prov.window_count(ctl->prov.ctx) : 0;
	return n > K_CONTROL_MAX_WINDOWS ? K_CONTROL_MAX_WINDOWS : n;
}

/* Every extra line is at most key, space, 20 digits, newline; the fixed part
 * of the block (30 lines of at most 27-byte keys and 20 digits, and the
 * final dot) is under 1,536 bytes. */
_Static_assert(K_CONTROL_MAX_EXTRA *(K_CONTROL_EXTRA_KEY_MAX + 22u) + 1536u <= K_CONTROL_MAX_REPLY,
	       "the stats block with every extra entry must fit one reply");

_Static_assert(K_CONTROL_OUT_BUF >= 2u * K_CONTROL_MAX_REPLY,
	       "a reply drains while the next one is written");

static bool extra_key_ok(const char *key)
{
	size_t n = 0;
	if (!key)
		return false;
	for (; key[n]; n++) {
		char c = key[n];
		if (n >= K_CONTROL_EXTRA_KEY_MAX ||
		    !((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_'))
			return false;
	}
	return n > 0;
}

static void put_extra(struct k_control *ctl, struct out *o)
{
	if (!ctl->extra)
		return;
	for (unsigned i = 0; i < K_CONTROL_MAX_EXTRA; i++) {
		const char *key = NULL;
		uint64_t v = 0;
		if (ctl->extra(ctl->extra_ctx, i, &key, &v))
			return;
		if (!extra_key_ok(key)) {
			ctl->stats.extra_skipped++;
			continue;
		}
		kv(o, key, v);
	}
}

static void cmd_stats(struct k_control *ctl, struct out *o)
{
	const struct k_sched *s = ctl->prov.sched ? ctl->prov.sched(ctl->prov.ctx) : NULL;
	if (s) {
		kv(o, "sched_turns", s->turns);
		kv(o, "sched_busy_turns", s->busy_turns);
		kv(o, "sched_turn_ns_max", s->turn_ns_max);
		kv(o, "sched_turn_ns_mean", s->turns ? s->turn_ns_total / s->turns : 0);
		/* Two samples give the mean over an interval, not since boot. */
		kv(o, "sched_turn_ns_total", s->turn_ns_total);
	}
	if (ctl->vs) {
		const struct k_vsock_stats *v = &ctl->vs->stats;
		kv(o, "vsock_rx_packets", v->rx_packets);
		kv(o, "vsock_rx_bytes", v->rx_bytes);
		kv(o, "vsock_tx_packets", v->tx_packets);
		kv(o, "vsock_tx_bytes", v->tx_bytes);
		kv(o, "vsock_rst_sent", v->rst_sent);
		kv(o, "vsock_rst_received", v->rst_received);
		kv(o, "vsock_credit_stalls", v->credit_stalls);
		kv(o, "vsock_credit_updates_sent", v->credit_updates_sent);
		kv(o, "vsock_conns_total", v->conns_total);
		kv(o, "vsock_transport_resets", v->transport_resets);
		kv(o, "vsock_errors",
		   v->err_bad_cid + v->err_bad_type + v->err_bad_op + v->err_truncated +
			   v->err_oversize + v->err_credit_overflow + v->err_unknown_conn +
			   v->err_no_listener + v->err_backlog_full + v->err_table_full +
			   v->err_dup_request + v->err_bad_fwd_cnt + v->err_rstq_full);
		kv(o, "pool_vsock_conns_used", v->conns_open);
		kv(o, "pool_vsock_conns_max", v->conns_max);
		kv(o, "pool_vsock_listeners_used", v->listeners_open);
		kv(o, "pool_vsock_listeners_max", v->listeners_max);
	}
	kv(o, "pool_control_clients_used", ctl->stats.clients_open);
	kv(o, "pool_control_clients_max", ctl->stats.clients_max);
	kv(o, "control_lines", ctl->stats.lines);
	kv(o, "control_stalls", ctl->stats.stalls);
	kv(o, "windows", window_count(ctl));
	if (ctl->mem_static_bytes)
		kv(o, "mem_static_bytes", ctl->mem_static_bytes);
	put_extra(ctl, o);
	puts_(o, ".\n");
}

/* Where the loop's time goes (SPDK's per-poller busy/idle accounting):
 * every active poller, then ".". */
static void cmd_pollers(struct k_control *ctl, struct out *o)
{
	const struct k_sched *s = ctl->prov.sched ? ctl->prov.sched(ctl->prov.ctx) : NULL;

	for (unsigned i = 0; s && i < K_MAX_POLLERS; i++) {
		const struct k_poller *p = &s->pollers[i];
		const char *name = p->name ? p->name : "?";
		size_t n = strlen(name);

		if (!p->active)
			continue;
		put(o, name, n > K_CONTROL_POLLER_NAME_MAX ? K_CONTROL_POLLER_NAME_MAX : n);
		put(o, " ", 1);
		put_u64(o, p->period_ns / 1000);
		put(o, " ", 1);
		put_u64(o, p->runs);
		put(o, " ", 1);
		put_u64(o, p->busy_runs);
		put(o, " ", 1);
		put_u64(o, p->busy_ns);
		put(o, " ", 1);
		put_u64(o, p->idle_ns);
		put(o, "\n", 1);
	}
	puts_(o, ".\n");
}

static void cmd_windows(struct k_control *ctl, struct out *o)
{
	unsigned n = window_count(ctl);
	for (unsigned i = 0; i < n; i++) {
		struct k_control_window w;
		if (!ctl->prov.window_get || ctl->prov.window_get(ctl->prov.ctx, i, &w) < 0)
			continue;
		put_u64(o, i);
		put(o, " ", 1);
		put_hex(o, w.base);
		put(o, " ", 1);
		put_u64(o, w.size);
		put(o, " ", 1);
		put_hex(o, w.checksum);
		put(o, "\n", 1);
	}
	puts_(o, ".\n");
}

static bool is(const char *line, size_t len, const char *word)
{
	size_t n = strlen(word);
	return len == n && memcmp(line, word, n) == 0;
}

/* A registered command: false when nobody knows it. The answer is checked
 * here because the function that wrote it is not ours (kern/control.h). */
static bool cmd_registered(struct k_control *ctl, struct out *o, const char *line, size_t len)
{
	char *r = ctl->cmd_reply;
	bool fixed = false;
	size_t n;

	if (!ctl->cmds)
		return false;
	r[0] = 0;
	if (!ctl->cmds(ctl->cmds_ctx, line, len, r, sizeof(ctl->cmd_reply)))
		return false;
	r[sizeof(ctl->cmd_reply) - 1] = 0;
	for (n = 0; r[n]; n++) {
		if (r[n] < 0x20 || r[n] > 0x7e) {
			r[n] = '?';
			fixed = true;
		}
	}
	if (!n) {
		puts_(o, "ERR empty reply");
		fixed = true;
	}
	put(o, r, n);
	put(o, "\n", 1);
	ctl->stats.cmd_bad_replies += fixed;
	return true;
}

static void run_line(struct k_control *ctl, struct k_control_client *cl, const char *line,
		     size_t len)
{
	struct out o = {cl, false};
	if (len && line[len - 1] == '\r')
		len--;
	if (len == 0)
		return;
	ctl->stats.lines++;
	if (is(line, len, "version")) {
		puts_(&o, "uvhost ");
		puts_(&o, ctl->prov.version ? ctl->prov.version : UVHOST_VERSION);
		put(&o, "\n", 1);
	} else if (is(line, len, "stats")) {
		cmd_stats(ctl, &o);
	} else if (is(line, len, "pollers")) {
		cmd_pollers(ctl, &o);
	} else if (is(line, len, "windows")) {
		cmd_windows(ctl, &o);
	} else if (is(line, len, "echo") || (len > 5 && memcmp(line, "echo ", 5) == 0)) {
		put(&o, line + (len > 5 ? 5 : len), len > 5 ? len - 5 : 0);
		put(&o, "\n", 1);
	} else if (!cmd_registered(ctl, &o, line, len)) {
		ctl->stats.unknown++;
		puts_(&o, "ERR unknown command\n");
	}
	if (o.truncated)
		ctl->stats.reply_truncated++;
}

unsigned k_control_process(struct k_control *ctl, struct k_control_client *cl)
{
	unsigned lines = 0;
	for (;;) {
		char *s = cl->in + cl->in_start;
		uint32_t avail = cl->in_end - cl->in_start;
		char *nl = memchr(s, '\n', avail);
		if (cl->discarding) {
			if (!nl) {
				cl->in_start = cl->in_end = 0;
				return lines;
			}
			cl->discarding = false;
			cl->in_start += (uint32_t)(nl - s) + 1;
			continue;
		}
		if (!nl && avail < sizeof(cl->in)) {
			/* A partial line: slide it to the front so it can grow. */
			if (cl->in_start) {
				memmove(cl->in, s, avail);
				cl->in_start = 0;
				cl->in_end = avail;
			}
			return lines;
		}
		if (out_room(cl) < K_CONTROL_MAX_REPLY)
			return lines; /* backpressure: wait for the reader */
		if (!nl) {
			struct out o = {cl, false};
			ctl->stats.too_long++;
			puts_(&o, "ERR line too long\n");
			cl->discarding = true;
			cl->in_start = cl->in_end = 0;
			continue;
		}
		run_line(ctl, cl, s, (size_t)(nl - s));
		cl->in_start += (uint32_t)(nl - s) + 1;
		lines++;
	}
}

size_t k_control_feed(struct k_control *ctl, struct k_control_client *cl, const void *data,
		      size_t len)
{
	size_t room = sizeof(cl->in) - cl->in_end;
	if (len > room)
		len = room;
	memcpy(cl->in + cl->in_end, data, len);
	cl->in_end += (uint32_t)len;
	k_control_process(ctl, cl);
	return len;
}

size_t k_control_drain(struct k_control_client *cl, void *buf, size_t cap)
{
	size_t n = cl->out_end - cl->out_start;
	if (n > cap)
		n = cap;
	memcpy(buf, cl->out + cl->out_start, n);
	cl->out_start += (uint32_t)n;
	if (cl->out_start == cl->out_end)
		cl->out_start = cl->out_end = 0;
	return n;
}

void k_control_client_reset(struct k_control_client *cl)
{
	cl->active = false;
	cl->discarding = false;
	cl->eof = false;
	cl->fd = -1;
	cl->in_start = cl->in_end = 0;
	cl->out_start = cl->out_end = 0;
}
