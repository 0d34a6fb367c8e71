/* fuzz_bootargs.c - libFuzzer target: a hostile kernel command line.
 *
 * Input: the command line bytes (not NUL-terminated: the parser must stay
 * within `size`), parsed as the service VM does: the kernel's keys
 * (kern/bootargs.h) and the application's (apps/uvhost-vm/uvm_args.c,
 * compiled in as is). Checks the invariants main relies on: counts within
 * the table, ports valid and distinct and never the control port, levels,
 * idle times and pool sizes in range, queue counts in 1..VU_MAX_QUEUES and
 * 1 for rng, slots within VU_MAX_MEM_SLOTS.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "kern/bootargs.h"
#include "kern/log.h"
#include "kern/vsock_limits.h"

#include "../../apps/uvhost-vm/uvm_args.c"

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
	struct uvm_args a;
	const struct k_bootargs *k = &a.k;
	unsigned warned = 0;
	int r;

	if (!line)
		return 0;
	memcpy(line, data, size);
	r = uvm_args_parse(&a, line, size, count, &warned);
	if (r < 0 || (unsigned)r != warned || a.n_vhost > UVM_LISTENERS_MAX || a.sessions < 1 ||
	    a.sessions > UVM_SESSIONS_MAX)
		abort();
	if (k->log_level < K_LOG_ERR || k->log_level > K_LOG_DEBUG || k->idle_us < 1 ||
	    k->idle_us > 1000 || k->poll_us > K_BOOTARGS_POLL_US_MAX || k->ctl_port == 0 ||
	    k->ctl_port > K_BOOTARGS_PORT_MAX)
		abort();
	if (k->vsock_conns < 1 || k->vsock_conns > K_VSOCK_MAX_CONNS ||
	    k->vsock_buf < K_BOOTARGS_VSOCK_BUF_MIN || k->vsock_buf > K_BOOTARGS_VSOCK_BUF_MAX ||
	    (k->vsock_buf & (k->vsock_buf - 1)) || k->ctl_clients < 1 ||
	    k->ctl_clients > K_BOOTARGS_CTL_CLIENTS_MAX)
		abort();
	for (unsigned i = 0; i < a.n_vhost; i++) {
		if (a.vhost[i].port == 0 || a.vhost[i].port == k->ctl_port ||
		    (a.vhost[i].kind != dev_table_find("blk", 3) &&
		     a.vhost[i].kind != dev_table_find("rng", 3)))
			abort();
		if (a.vhost[i].slots > VU_MAX_MEM_SLOTS)
			abort();
		if (a.vhost[i].queues < 1 || a.vhost[i].queues > VU_MAX_QUEUES ||
		    (a.vhost[i].kind == dev_table_find("rng", 3) && a.vhost[i].queues != 1))
			abort();
		for (unsigned j = 0; j < i; j++)
			if (a.vhost[j].port == a.vhost[i].port)
				abort();
	}
	free(line);
	return 0;
}
