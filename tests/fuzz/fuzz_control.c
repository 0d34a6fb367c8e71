/* fuzz_control.c - libFuzzer target: arbitrary bytes into the control
 * service's line parser, with no sockets.
 *
 * Input: [0] chunk size for feeding (1..256), [1] bytes drained per round
 * (0 means none until the parser stalls), then the byte stream. Replies are
 * drained as a slow reader would; every invariant of the reply and input
 * buffers is checked, and a reply may never be truncated.
 *
 * A registered command set and extra `stats` entries are wired in, both
 * misbehaving on purpose: lines starting with 'x' are answered with their
 * own bytes (newlines, control bytes, no terminator when long), "y..." with
 * nothing; the extra entries include unusable keys. Lines starting with
 * "vhost" go to the service VM's real `vhost` command parser
 * (apps/uvhost-vm/vhost_cmd_parse.c), whose result is checked.
 */
#include <errno.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "kern/control.h"
/* The parser is portable and has no library of its own (as in its unit
 * test): compiled into this target. */
#include "../../apps/uvhost-vm/vhost_cmd_parse.c"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static struct k_control ctl;
static struct k_sched sched;

static const struct k_sched *get_sched(void *ctx)
{
	(void)ctx;
	return &sched;
}

static unsigned get_count(void *ctx)
{
	(void)ctx;
	return 40; /* more than K_CONTROL_MAX_WINDOWS: must be capped */
}

static int get_window(void *ctx, unsigned i, struct k_control_window *w)
{
	(void)ctx;
	if (i & 1)
		return -1;
	w->base = ~0ull - i;
	w->size = ~0ull;
	w->checksum = ~0u;
	return 0;
}

static bool fz_cmds(void *ctx, const char *line, size_t len, char *reply, size_t cap)
{
	struct uvm_vcmd c;
	int r;

	(void)ctx;
	r = uvm_vcmd_parse(line, len, &c);
	if (r == 0) {
		if (c.op < UVM_VCMD_CONFIG || c.op > UVM_VCMD_SHMEM_STATUS)
			abort();
		snprintf(reply, cap, "OK %u %d", (unsigned)c.port, (int)c.op);
		return true;
	}
	if (r == -EINVAL) {
		if (!c.why || !c.why[0])
			abort();
		snprintf(reply, cap, "ERR %s", c.why);
		return true;
	}
	if (r != -ENOENT)
		abort();
	if (line[0] == 'x') {
		memcpy(reply, line, len < cap ? len : cap);
		if (len < cap)
			reply[len] = 0;
		return true;
	}
	return line[0] == 'y';
}

static const char *const fz_keys[] = {"good_key", "", "bad key", NULL, "Upper", "k\n"};

static int fz_extra(void *ctx, unsigned i, const char **key, uint64_t *val)
{
	(void)ctx;
	if (i >= 40)
		return -1;
	*key = fz_keys[i % (sizeof(fz_keys) / sizeof(fz_keys[0]))];
	*val = ~0ull - i;
	return 0;
}

static void check(const struct k_control_client *cl)
{
	if (cl->out_start > cl->out_end || cl->out_end > K_CONTROL_OUT_BUF)
		abort();
	if (cl->in_start > cl->in_end || cl->in_end > sizeof(cl->in))
		abort();
	if (ctl.stats.reply_truncated)
		abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const struct k_control_provider prov = {NULL, NULL, get_sched, get_count, get_window};
	static struct k_control_client pool[K_CONTROL_MAX_CLIENTS];
	struct k_control_client *cl = &pool[0];
	uint8_t out[4096];
	size_t chunk, drain;

	if (size < 2)
		return 0;
	chunk = (size_t)data[0] + 1;
	drain = data[1];
	data += 2;
	size -= 2;
	memset(&sched, 0xff, sizeof(sched));
	/* Extreme counters, but names are the code's own strings (`pollers`). */
	for (unsigned i = 0; i < K_MAX_POLLERS; i++)
		sched.pollers[i].name = i % 2 ? "a-poller-name-longer-than-the-cut" : NULL;
	k_control_set_pool(&ctl, pool, K_CONTROL_MAX_CLIENTS);
	k_control_init(&ctl, NULL, 0, &prov);
	k_control_set_commands(&ctl, fz_cmds, NULL);
	k_control_set_extra(&ctl, fz_extra, NULL);
	for (unsigned rounds = 0; size && rounds < 100000; rounds++) {
		size_t n = k_control_feed(&ctl, cl, data, size < chunk ? size : chunk);
		check(cl);
		data += n;
		size -= n;
		if (n == 0 || drain)
			k_control_drain(cl, out, n == 0 && !drain ? sizeof(out) : drain);
		k_control_process(&ctl, cl);
		check(cl);
	}
	while (k_control_drain(cl, out, sizeof(out)))
		k_control_process(&ctl, cl);
	check(cl);
	return 0;
}
