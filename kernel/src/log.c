/* The runtime log: one formatted line per call, handed to a sink. */
#include "kern/log.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

static int k_log_level = K_LOG_INFO;
static k_log_sink_fn k_log_sink;
static uint64_t (*k_log_clock)(void);

static const char k_log_tag[] = {'E', 'W', 'I', 'D'};

void k_log_set_level(int level)
{
	if (level >= K_LOG_ERR && level <= K_LOG_DEBUG)
		k_log_level = level;
}

int k_log_get_level(void)
{
	return k_log_level;
}

void k_log_set_sink(k_log_sink_fn sink)
{
	k_log_sink = sink;
}

void k_log_set_clock(uint64_t (*now_ns)(void))
{
	k_log_clock = now_ns;
}

int k_log_level_parse(const char *s, size_t n)
{
	static const char *const names[] = {"err", "warn", "info", "debug"};

	for (int i = 0; i < 4; i++)
		if (s && n == strlen(names[i]) && memcmp(s, names[i], n) == 0)
			return i;
	return -EINVAL;
}

void k_log(int level, const char *fmt, ...)
{
	char line[K_LOG_LINE_MAX];
	size_t n = 0;
	va_list ap;
	int r;

	if (level < K_LOG_ERR || level > k_log_level)
		return;
	if (k_log_clock) {
		uint64_t us = k_log_clock() / 1000;
		r = snprintf(line, sizeof(line), "[%5lu.%06lu] ", (unsigned long)(us / 1000000),
			     (unsigned long)(us % 1000000));
		n = r > 0 ? (size_t)r : 0;
	}
	n += (size_t)snprintf(line + n, sizeof(line) - n, "%c: ", k_log_tag[level]);
	va_start(ap, fmt);
	r = vsnprintf(line + n, sizeof(line) - n, fmt, ap);
	va_end(ap);
	if (r > 0)
		n += (size_t)r;
	if (n > sizeof(line) - 2)
		n = sizeof(line) - 2;
	line[n++] = '\n';
	line[n] = '\0';
	if (k_log_sink) {
		k_log_sink(line, n);
	} else {
		fwrite(line, 1, n, stdout);
		fflush(stdout);
	}
}
