/* kern/log.h - leveled console log of the runtime.
 *
 * Owns: the current level, the line format ("[   1.234567] W: ..."), and
 * where lines go (a sink; stdout by default).
 * Never: allocates, or blocks beyond the sink; a line is cut at
 * K_LOG_LINE_MAX bytes.
 * Used by: the unikernel (main, kernel/hw drivers, arch) and anything in
 * kernel/ that reports; host programs may set their own sink.
 */
#ifndef KERN_LOG_H
#define KERN_LOG_H

#include <stddef.h>
#include <stdint.h>

enum k_log_level {
	K_LOG_ERR = 0,
	K_LOG_WARN = 1,
	K_LOG_INFO = 2,
	K_LOG_DEBUG = 3,
};

#define K_LOG_LINE_MAX 256

typedef void (*k_log_sink_fn)(const char *line, size_t len);

void k_log_set_level(int level);
int k_log_get_level(void);
/* NULL restores stdout. */
void k_log_set_sink(k_log_sink_fn sink);
/* Timestamps come from `now_ns` (NULL: none). */
void k_log_set_clock(uint64_t (*now_ns)(void));

/* Parse "err", "warn", "info" or "debug" (n bytes). Returns the level or -EINVAL. */
int k_log_level_parse(const char *s, size_t n);

void k_log(int level, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

#define k_err(...) k_log(K_LOG_ERR, __VA_ARGS__)
#define k_warn(...) k_log(K_LOG_WARN, __VA_ARGS__)
#define k_info(...) k_log(K_LOG_INFO, __VA_ARGS__)
#define k_debug(...) k_log(K_LOG_DEBUG, __VA_ARGS__)

#endif
