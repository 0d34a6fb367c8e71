/* fuzz_bootargs.c - libFuzzer target: a hostile kernel command line.
 *
 * Input: the command line bytes (not NUL-terminated: the parser must stay
 * within `size`). Checks the invariants main relies on: counts within the
 * table, ports valid and distinct and never the control port, levels and
 * idle times in range, queue counts in 1..K_BOOTARGS_MAX_QUEUES and 1 for
 * rng.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "kern/bootargs.h"
#include "kern/log.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void count(void *ctx, const char *word, size_t wlen, const char *why)
{
	(void)word;
	(void)why;
	if (wlen == 0)
		abort();
	++*(unsigned *)ctx;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *line = malloc(size ? size : 1);
	struct k_bootargs b;
	unsigned warned = 0;
	int r;

	if (!line)
		return 0;
	memcpy(line, data, size);
	r = k_bootargs_parse(&b, line, size, count, &warned);
	if (r < 0 || (unsigned)r != warned || b.n_vhost > K_BOOTARGS_MAX_VHOST)
		abort();
	if (b.log_level < K_LOG_ERR || b.log_level > K_LOG_DEBUG || b.idle_us < 1 ||
	    b.idle_us > 1000 || b.poll_us > K_BOOTARGS_POLL_US_MAX || b.ctl_port == 0 ||
	    b.ctl_port > K_BOOTARGS_PORT_MAX)
		abort();
	for (unsigned i = 0; i < b.n_vhost; i++) {
		if (b.vhost[i].port == 0 || b.vhost[i].port == b.ctl_port ||
		    (b.vhost[i].dev != K_VHOST_DEV_BLK && b.vhost[i].dev != K_VHOST_DEV_RNG))
			abort();
		if (b.vhost[i].slots > K_BOOTARGS_MAX_SLOTS)
			abort();
		if (b.vhost[i].queues < 1 || b.vhost[i].queues > K_BOOTARGS_MAX_QUEUES ||
		    (b.vhost[i].dev == K_VHOST_DEV_RNG && b.vhost[i].queues != 1))
			abort();
		for (unsigned j = 0; j < i; j++)
			if (b.vhost[j].port == b.vhost[i].port)
				abort();
	}
	free(line);
	return 0;
}
