/* gw_opts.h - uvhost-gw's command line.
 *
 * Owns: parsing argv into struct gw_opts, with one line on stderr naming
 * each bad argument. The windows are declared (stat'ed) while parsing, so a
 * missing or wrong window file is a command-line error, not a later one.
 * Never: connects anywhere or opens a socket.
 * Used by: gw_main.c and tests/unit/test_gw_windows.c.
 */
#ifndef GW_OPTS_H
#define GW_OPTS_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include "gw_windows.h"

struct gw_opts {
	const char *socket_path;
	int fd;		      /* --fd N, or -1 */
	const char *uds_path; /* points into uds_buf */
	char uds_buf[108];    /* sizeof(sun_path): longer paths cannot be connected to */
	uint32_t port;
	uint32_t backend_port;	   /* 0: port + GW_BACKEND_PORT_OFFSET */
	const char *doorbell_path; /* --doorbell SOCK: the ivshmem server, or NULL */
	bool poll_kicks;	   /* --poll-kicks: no kick relayed, the VM polls */
	bool print_caps;
	bool verbose;
	bool help;
	struct gw_windows windows;
};

#define GW_BACKEND_PORT_OFFSET 100000u

void gw_usage(FILE *out);

/* 0 on success; 2 (the exit status for a bad command line) after printing
 * the reason to `err`. */
int gw_opts_parse(struct gw_opts *o, int argc, char **argv, FILE *err);

#endif
