/* The kernel command line: space-separated key=value words. */
#include "kern/bootargs.h"

#include <errno.h>
#include <string.h>

#include "kern/log.h"

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

static bool port_taken(const struct k_bootargs *b, uint32_t port, unsigned n)
{
	for (unsigned i = 0; i < n; i++)
		if (b->vhost[i].port == port)
			return true;
	return false;
}

/* "q<n>": a blk listener's queue count. */
static const char *parse_queues(const char *s, size_t len, struct k_vhost_listener *l)
{
	uint32_t q;

	if (l->dev != K_VHOST_DEV_BLK)
		return "rng has one queue: no q<n>";
	if (k_bootargs_u32(s + 1, len - 1, 1, K_BOOTARGS_MAX_QUEUES, &q))
		return "vhost queues are q1..q16";
	l->queues = (uint8_t)q;
	return NULL;
}

/* "s<n>": the memory slots a session offers (GET_MAX_MEM_SLOTS). */
static const char *parse_slots(const char *s, size_t len, struct k_vhost_listener *l)
{
	if (k_bootargs_u32(s + 1, len - 1, 1, K_BOOTARGS_MAX_SLOTS, &l->slots))
		return "vhost memory slots are s1..s509";
	return NULL;
}

/* One "port:dev[:size][:q<n>][:s<n>]" entry into `l`. Returns NULL or why
 * it is bad. Each optional field at most once and in that order, so every
 * configuration has one spelling; a size never starts with a letter. */
static const char *parse_listener(const char *s, size_t len, struct k_vhost_listener *l)
{
	static const char order[] = "vhost fields are [:<size>][:q<n>][:s<n>], in that order";
	const char *rest, *field;
	size_t plen, rlen, dlen, flen;
	int stage = 0; /* 0: size allowed, 1: q<n>, 2: s<n>, 3: nothing more */

	split(s, len, ':', &plen, &rest, &rlen);
	if (!rest)
		return "vhost entry needs port:device";
	if (k_bootargs_u32(s, plen, 1, K_BOOTARGS_PORT_MAX, &l->port))
		return "bad vhost port";
	field = rest;
	split(field, rlen, ':', &dlen, &rest, &rlen);
	if (dlen == 3 && memcmp(field, "blk", 3) == 0)
		l->dev = K_VHOST_DEV_BLK;
	else if (dlen == 3 && memcmp(field, "rng", 3) == 0)
		l->dev = K_VHOST_DEV_RNG;
	else
		return "unknown vhost device";
	l->size = 0;
	l->queues = 1;
	l->slots = 0;
	while (rest) {
		const char *why;

		field = rest;
		split(field, rlen, ':', &flen, &rest, &rlen);
		if (flen > 0 && field[0] == 'q' && stage <= 1) {
			why = parse_queues(field, flen, l);
			stage = 2;
		} else if (flen > 0 && field[0] == 's' && stage <= 2) {
			why = parse_slots(field, flen, l);
			stage = 3;
		} else if (stage == 0 && (flen == 0 || (field[0] != 'q' && field[0] != 's'))) {
			why = k_bootargs_size(field, flen, &l->size) ? "bad vhost size" : NULL;
			stage = 1;
		} else {
			why = order;
		}
		if (why)
			return why;
	}
	return NULL;
}

/* The whole list is accepted or rejected: half a configuration would serve
 * something nobody asked for. */
static void parse_vhost(struct parser *p, const char *v, size_t len)
{
	struct k_bootargs tmp = *p->b;
	unsigned n = 0;

	while (len > 0 || n == 0) {
		const char *rest, *why;
		size_t elen, rlen;

		split(v, len, ',', &elen, &rest, &rlen);
		if (n == K_BOOTARGS_MAX_VHOST) {
			warn(p, "too many vhost listeners");
			return;
		}
		why = parse_listener(v, elen, &tmp.vhost[n]);
		if (!why && port_taken(&tmp, tmp.vhost[n].port, n))
			why = "duplicate vhost port";
		if (why) {
			warn(p, why);
			return;
		}
		n++;
		if (!rest)
			break;
		v = rest;
		len = rlen;
		if (len == 0) {
			warn(p, "empty vhost entry");
			return;
		}
	}
	memcpy(p->b->vhost, tmp.vhost, sizeof(tmp.vhost));
	p->b->n_vhost = n;
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
	} else if (key_is(w, klen, "crashtest")) {
		if (k_bootargs_u32(v, vlen, 0, 1, &u))
			warn(p, "crashtest is 0 or 1");
		else
			p->b->crashtest = u == 1;
	} else if (key_is(w, klen, "vhost")) {
		parse_vhost(p, v, vlen);
	} else {
		warn(p, "unknown key");
	}
}

int k_bootargs_parse(struct k_bootargs *b, const char *line, size_t len, k_bootargs_warn_fn warn_fn,
		     void *ctx)
{
	struct parser p = {.b = b, .warn = warn_fn, .ctx = ctx};
	size_t i = 0;

	if (!b || (!line && len))
		return -EINVAL;
	memset(b, 0, sizeof(*b));
	b->log_level = K_LOG_INFO;
	b->ctl_port = K_BOOTARGS_DEFAULT_CTL;
	b->idle_us = K_BOOTARGS_DEFAULT_IDLE_US;
	b->poll_us = K_BOOTARGS_DEFAULT_POLL_US;
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
	for (unsigned k = 0; k < b->n_vhost; k++) {
		if (b->vhost[k].port == b->ctl_port) {
			p.word = "ctl";
			p.wlen = 3;
			warn(&p, "ctl port also used by a vhost listener: listeners dropped");
			b->n_vhost = 0;
			break;
		}
	}
	return (int)b->warnings;
}
