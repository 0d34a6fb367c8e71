/* The kernel command line: space-separated key=value words. */
#include "kern/bootargs.h"

#include <errno.h>
#include <string.h>

#include "kern/log.h"
#include "kern/vsock_limits.h"

#define K_STR_(x) #x
#define K_STR(x) K_STR_(x)

int k_bootargs_u32(const char *s, size_t len, uint32_t min, uint32_t max, uint32_t *out)
{
	uint64_t v = 0;

	if (!s || len == 0 || len > 10)
		return len > 10 ? -ERANGE : -EINVAL;
	for (size_t i = 0; i < len; i++) {
		if (s[i] < '0' || s[i] > '9')
			return -EINVAL;
		v = v * 10 + (uint64_t)(s[i] - '0');
	}
	if (v < min || v > max)
		return -ERANGE;
	*out = (uint32_t)v;
	return 0;
}

int k_bootargs_size(const char *s, size_t len, uint64_t *out)
{
	uint64_t v = 0;
	unsigned shift = 0;

	if (!s || len == 0)
		return -EINVAL;
	switch (s[len - 1]) {
	case 'k':
	case 'K': shift = 10; break;
	case 'm':
	case 'M': shift = 20; break;
	case 'g':
	case 'G': shift = 30; break;
	default: break;
	}
	if (shift)
		len--;
	if (len == 0)
		return -EINVAL;
	for (size_t i = 0; i < len; i++) {
		unsigned d;
		if (s[i] < '0' || s[i] > '9')
			return -EINVAL;
		d = (unsigned)(s[i] - '0');
		if (v > (UINT64_MAX - d) / 10)
			return -ERANGE;
		v = v * 10 + d;
	}
	if (v == 0)
		return -EINVAL;
	if (v > (UINT64_MAX >> shift))
		return -ERANGE;
	*out = v << shift;
	return 0;
}

struct parser {
	struct k_bootargs *b;
	k_bootargs_warn_fn warn;
	void *ctx;
	k_bootargs_key_fn app;
	void *app_ctx;
	const char *word; /* the whole key=value word, for warnings */
	size_t wlen;
};

static void warn(struct parser *p, const char *why)
{
	p->b->warnings++;
	if (p->warn)
		p->warn(p->ctx, p->word, p->wlen, why);
}

/* Split [s, s+len) at the first `sep`: the head is [s, *hlen), the rest
 * starts at *rest (NULL when there is no separator). */
static void split(const char *s, size_t len, char sep, size_t *hlen, const char **rest,
		  size_t *rlen)
{
	const char *c = memchr(s, sep, len);

	if (!c) {
		*hlen = len;
		*rest = NULL;
		*rlen = 0;
		return;
	}
	*hlen = (size_t)(c - s);
	*rest = c + 1;
	*rlen = len - *hlen - 1;
}

static bool key_is(const char *k, size_t klen, const char *name)
{
	return klen == strlen(name) && memcmp(k, name, klen) == 0;
}

static void parse_word(struct parser *p, const char *w, size_t wlen)
{
	const char *v;
	size_t klen, vlen;
	uint32_t u;
	int lvl;

	p->word = w;
	p->wlen = wlen;
	split(w, wlen, '=', &klen, &v, &vlen);
	if (!v) {
		warn(p, "not key=value");
		return;
	}
	if (key_is(w, klen, "log")) {
		lvl = k_log_level_parse(v, vlen);
		if (lvl < 0)
			warn(p, "log level is err, warn, info or debug");
		else
			p->b->log_level = lvl;
	} else if (key_is(w, klen, "ctl")) {
		if (k_bootargs_u32(v, vlen, 1, K_BOOTARGS_PORT_MAX, &u))
			warn(p, "bad ctl port");
		else
			p->b->ctl_port = u;
	} else if (key_is(w, klen, "idle_us")) {
		if (k_bootargs_u32(v, vlen, 1, 1000, &u))
			warn(p, "idle_us is 1..1000");
		else
			p->b->idle_us = u;
	} else if (key_is(w, klen, "poll_us")) {
		if (k_bootargs_u32(v, vlen, 0, K_BOOTARGS_POLL_US_MAX, &u))
			warn(p, "poll_us is 0..100000");
		else
			p->b->poll_us = u;
	} else if (key_is(w, klen, "disk_timeout_ms")) {
		if (k_bootargs_u32(v, vlen, K_BOOTARGS_DISK_TIMEOUT_MS_MIN,
				   K_BOOTARGS_DISK_TIMEOUT_MS_MAX, &u))
			warn(p, "disk_timeout_ms is 100..600000");
		else
			p->b->disk_timeout_ms = u;
	} else if (key_is(w, klen, "disk_bounce_kib")) {
		if (k_bootargs_u32(v, vlen, 0, K_BOOTARGS_DISK_BOUNCE_KIB_MAX, &u) ||
		    u % K_BOOTARGS_DISK_BOUNCE_KIB_STEP)
			warn(p, "disk_bounce_kib is 0 or 128..8192 in steps of 128");
		else
			p->b->disk_bounce_kib = u;
	} else if (key_is(w, klen, "crashtest")) {
		if (k_bootargs_u32(v, vlen, 0, 1, &u))
			warn(p, "crashtest is 0 or 1");
		else
			p->b->crashtest = u == 1;
	} else if (key_is(w, klen, "vsock_conns")) {
		if (k_bootargs_u32(v, vlen, 1, K_VSOCK_MAX_CONNS, &u))
			warn(p, "vsock_conns is 1.." K_STR(K_VSOCK_MAX_CONNS));
		else
			p->b->vsock_conns = u;
	} else if (key_is(w, klen, "vsock_buf")) {
		uint64_t sz;
		if (k_bootargs_size(v, vlen, &sz) || sz < K_BOOTARGS_VSOCK_BUF_MIN ||
		    sz > K_BOOTARGS_VSOCK_BUF_MAX || (sz & (sz - 1)))
			warn(p, "vsock_buf is a power of two, 4K..1M");
		else
			p->b->vsock_buf = (uint32_t)sz;
	} else if (key_is(w, klen, "ctl_clients")) {
		if (k_bootargs_u32(v, vlen, 1, K_BOOTARGS_CTL_CLIENTS_MAX, &u))
			warn(p, "ctl_clients is 1.." K_STR(K_BOOTARGS_CTL_CLIENTS_MAX));
		else
			p->b->ctl_clients = u;
	} else {
		const char *why =
			p->app ? p->app(p->app_ctx, w, klen, v, vlen) : k_bootargs_unknown;
		if (why)
			warn(p, why == k_bootargs_unknown ? "unknown key" : why);
	}
}

const char k_bootargs_unknown[] = "unknown key";

int k_bootargs_parse(struct k_bootargs *b, const char *line, size_t len, k_bootargs_warn_fn warn_fn,
		     void *ctx)
{
	return k_bootargs_parse_app(b, line, len, NULL, NULL, warn_fn, ctx);
}

int k_bootargs_parse_app(struct k_bootargs *b, const char *line, size_t len, k_bootargs_key_fn app,
			 void *app_ctx, k_bootargs_warn_fn warn_fn, void *ctx)
{
	struct parser p = {.b = b, .warn = warn_fn, .ctx = ctx, .app = app, .app_ctx = app_ctx};
	size_t i = 0;

	if (!b || (!line && len))
		return -EINVAL;
	memset(b, 0, sizeof(*b));
	b->log_level = K_LOG_INFO;
	b->ctl_port = K_BOOTARGS_DEFAULT_CTL;
	b->idle_us = K_BOOTARGS_DEFAULT_IDLE_US;
	b->poll_us = K_BOOTARGS_DEFAULT_POLL_US;
	b->vsock_conns = K_BOOTARGS_DEFAULT_VSOCK_CONNS;
	b->vsock_buf = K_BOOTARGS_DEFAULT_VSOCK_BUF;
	b->ctl_clients = K_BOOTARGS_DEFAULT_CTL_CLIENTS;
	b->disk_timeout_ms = K_BOOTARGS_DEFAULT_DISK_TIMEOUT_MS;
	if (line) {
		const char *nul = memchr(line, 0, len);
		if (nul)
			len = (size_t)(nul - line);
	}
	while (i < len) {
		size_t start;
		while (i < len && (line[i] == ' ' || line[i] == '\t' || line[i] == '\n'))
			i++;
		start = i;
		while (i < len && line[i] != ' ' && line[i] != '\t' && line[i] != '\n')
			i++;
		if (i > start)
			parse_word(&p, line + start, i - start);
	}
	return (int)b->warnings;
}
