/* Parsing of the `vhost` control command (see vhost_cmd_parse.h). */
#include "vhost_cmd_parse.h"

#include <errno.h>
#include <stdbool.h>
#include <string.h>

#define VCMD_MAX_WORDS 4 /* vhost, port, and at most two more */

struct word {
	const char *s;
	size_t n;
};

static bool word_is(const struct word *w, const char *lit)
{
	size_t n = strlen(lit);

	return w->n == n && memcmp(w->s, lit, n) == 0;
}

/* Up to `max` space-separated words; returns how many there were, or
 * max + 1 when there were more. */
static unsigned split(const char *line, size_t len, struct word *w, unsigned max)
{
	unsigned n = 0;
	size_t i = 0;

	while (i < len) {
		size_t start;

		while (i < len && line[i] == ' ')
			i++;
		if (i == len)
			break;
		if (n == max)
			return max + 1;
		start = i;
		while (i < len && line[i] != ' ')
			i++;
		w[n].s = line + start;
		w[n].n = i - start;
		n++;
	}
	return n;
}

static int port_of(const struct word *w, uint32_t *port)
{
	uint64_t v = 0;

	if (w->n == 0 || w->n > 10)
		return -EINVAL;
	for (size_t i = 0; i < w->n; i++) {
		if (w->s[i] < '0' || w->s[i] > '9')
			return -EINVAL;
		v = v * 10 + (uint64_t)(w->s[i] - '0');
	}
	if (v > UINT32_MAX)
		return -EINVAL;
	*port = (uint32_t)v;
	return 0;
}

int uvm_vcmd_parse(const char *line, size_t len, struct uvm_vcmd *c)
{
	struct word w[VCMD_MAX_WORDS];
	unsigned n = split(line, len, w, VCMD_MAX_WORDS);

	c->why = UVM_VCMD_USAGE;
	if (n == 0 || !word_is(&w[0], "vhost"))
		return -ENOENT;
	if (n < 3 || n > VCMD_MAX_WORDS)
		return -EINVAL;
	if (port_of(&w[1], &c->port)) {
		c->why = "bad port: want 1 to 10 decimal digits up to 4294967295";
		return -EINVAL;
	}
	if (n == 3 && word_is(&w[2], "config")) {
		c->op = UVM_VCMD_CONFIG;
		return 0;
	}
	if (n == 4 && word_is(&w[2], "shmem")) {
		if (word_is(&w[3], "map"))
			c->op = UVM_VCMD_SHMEM_MAP;
		else if (word_is(&w[3], "unmap"))
			c->op = UVM_VCMD_SHMEM_UNMAP;
		else if (word_is(&w[3], "status"))
			c->op = UVM_VCMD_SHMEM_STATUS;
		else
			return -EINVAL;
		return 0;
	}
	return -EINVAL;
}
