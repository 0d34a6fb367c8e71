/* uvhostd_opts.h - uvhostd's command line.
 *
 * Owns: the options every device shares (socket, --fd, --client, protocol
 * knobs), uvhostd's own storage options (--aio, --direct, --fault), and the
 * device's options, which the device table (dev/table.h) names and parses:
 * an option of another device is refused naming the device it is for.
 * Never: opens anything; every refusal is one line on stderr.
 * Used by: main.c.
 */
#ifndef UVHOSTD_OPTS_H
#define UVHOSTD_OPTS_H

#include <stdbool.h>
#include <stdio.h>

#include "dev/storage_fault.h"
#include "dev/table.h"

struct options {
	const char *socket_path;
	int fd;
	bool client;
	bool print_caps;
	const struct dev_kind *kind; /* --device (default blk) */
	struct dev_params dev;	     /* its options */
	bool no_mem_slots;
	bool no_inflight;
	unsigned max_mem_slots;
	unsigned busy_poll_us;
	bool verbose;
	enum dev_fault fault; /* blk, tests only: 0 or the lie to tell */
	unsigned fault_every; /* ... on every this-many-th request of its kind */
	bool aio_sync;	      /* --aio sync (io_uring is the default for --disk) */
	bool aio_given;	      /* --aio was on the command line */
	bool direct;	      /* --direct: O_DIRECT, io_uring only */
};

/* Parse and check argv. Returns 0, or -1 after saying why on stderr. */
int uvhostd_parse_args(int argc, char **argv, struct options *o);

void uvhostd_usage(FILE *out);

#endif
