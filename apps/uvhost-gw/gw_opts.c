/* gw_opts.c - uvhost-gw's command line (see gw_opts.h). */
#define _GNU_SOURCE
#include "gw_opts.h"

#include <errno.h>
#include <getopt.h>
#include <stdlib.h>
#include <string.h>

void gw_usage(FILE *out)
{
	fprintf(out,
		"usage: uvhost-gw (--socket-path SOCK | --fd N) --vsock UDS:PORT --window N=FILE "
		"[--window N=FILE ...] [--doorbell SOCK] [-v]\n"
		"       uvhost-gw --print-capabilities --vsock UDS:PORT\n"
		"\n"
		"Serves one vhost-user front-end (an unmodified VMM such as QEMU) with the device\n"
		"that listens on vsock PORT in the service VM, reached through uvhostd's hybrid\n"
		"vsock socket UDS. Guest RAM must be files the service VM maps as windows.\n"
		"\n"
		"  --socket-path SOCK     listen for the VMM on SOCK (one at a time)\n"
		"  --fd N                 serve the already connected vhost-user socket N\n"
		"  --vsock UDS:PORT       the service VM's listener (uvhostd --uds-path UDS)\n"
		"  --window N=FILE        FILE is the service VM's window N (ivshmem order)\n"
		"  --backend-port P       host vsock port for the VM's backend channel\n"
		"                         (default PORT + %u; uvhostd routes it to UDS_P)\n"
		"  --doorbell SOCK        be the ivshmem server of the service VM's\n"
		"                         ivshmem-doorbell (-chardev socket,path=SOCK):\n"
		"                         kicks and calls become doorbell interrupts\n"
		"  --poll-kicks           relay no kick: the service VM finds requests by\n"
		"                         polling its rings (the polling baseline of\n"
		"                         bench/notify.sh; calls stay in-band)\n"
		"  --print-capabilities   print the device's JSON capabilities and exit\n"
		"  -v, --verbose          log every relayed message\n"
		"  -h, --help             this text\n",
		GW_BACKEND_PORT_OFFSET);
}

static int bad(FILE *err, const char *fmt, const char *arg)
{
	fputs("uvhost-gw: ", err);
	fprintf(err, fmt, arg);
	fputc('\n', err);
	return 2;
}

static bool parse_u32(const char *s, uint32_t max, uint32_t *out)
{
	unsigned long long v;
	char *end;

	if (!*s || *s == '-' || *s == '+')
		return false;
	errno = 0;
	v = strtoull(s, &end, 10);
	if (errno || *end || v > max)
		return false;
	*out = (uint32_t)v;
	return true;
}

static int parse_vsock(struct gw_opts *o, const char *arg, FILE *err)
{
	const char *colon = strrchr(arg, ':');

	if (!colon || colon == arg)
		return bad(err, "--vsock %s: expected UDS:PORT", arg);
	/* Port 0xffffffff is VMADDR_PORT_ANY: nothing listens there. */
	if (!parse_u32(colon + 1, 0xfffffffeu, &o->port))
		return bad(err, "--vsock %s: PORT must be 0..4294967294", arg);
	if ((size_t)(colon - arg) >= sizeof(o->uds_buf))
		return bad(err, "--vsock %s: the socket path is longer than a Unix socket allows",
			   arg);
	memcpy(o->uds_buf, arg, (size_t)(colon - arg));
	o->uds_buf[colon - arg] = '\0';
	o->uds_path = o->uds_buf;
	return 0;
}

enum { O_SOCK = 256, O_FD, O_VSOCK, O_WINDOW, O_BPORT, O_CAPS, O_DOORBELL, O_POLL_KICKS };

static int check(struct gw_opts *o, FILE *err)
{
	if (o->poll_kicks && o->doorbell_path)
		return bad(err, "%s", "--poll-kicks and --doorbell exclude each other");
	if (o->help || o->print_caps) {
		if (o->print_caps && !o->uds_path)
			return bad(err, "%s",
				   "--print-capabilities needs --vsock UDS:PORT: the "
				   "device type is the service VM's listener's");
		return 0;
	}
	if (!o->socket_path == (o->fd < 0))
		return bad(err, "%s", "give exactly one of --socket-path and --fd");
	if (!o->uds_path)
		return bad(err, "%s", "--vsock UDS:PORT is required");
	if (o->windows.n == 0)
		return bad(err, "%s",
			   "at least one --window N=FILE is required: guest RAM must be a "
			   "window");
	if (!o->backend_port) {
		if (o->port > 0xfffffffeu - GW_BACKEND_PORT_OFFSET)
			return bad(err, "%s",
				   "--vsock PORT too large for the default "
				   "--backend-port: give one");
		o->backend_port = o->port + GW_BACKEND_PORT_OFFSET;
	}
	if (o->backend_port == o->port)
		return bad(err, "%s", "--backend-port must differ from the listener's port");
	return 0;
}

int gw_opts_parse(struct gw_opts *o, int argc, char **argv, FILE *err)
{
	static const struct option longs[] = {
		{"socket-path", required_argument, 0, O_SOCK},
		{"fd", required_argument, 0, O_FD},
		{"vsock", required_argument, 0, O_VSOCK},
		{"window", required_argument, 0, O_WINDOW},
		{"backend-port", required_argument, 0, O_BPORT},
		{"doorbell", required_argument, 0, O_DOORBELL},
		{"poll-kicks", no_argument, 0, O_POLL_KICKS},
		{"print-capabilities", no_argument, 0, O_CAPS},
		{"verbose", no_argument, 0, 'v'},
		{"help", no_argument, 0, 'h'},
		{0, 0, 0, 0},
	};
	char why[320];
	uint32_t v;
	int c, rc;

	memset(o, 0, sizeof(*o));
	o->fd = -1;
	optind = 1;
	opterr = 0;
	while ((c = getopt_long(argc, argv, ":vh", longs, NULL)) != -1) {
		switch (c) {
		case O_SOCK: o->socket_path = optarg; break;
		case O_FD:
			if (!parse_u32(optarg, 0x7fffffff, &v))
				return bad(err, "--fd %s: not a file descriptor number", optarg);
			o->fd = (int)v;
			break;
		case O_VSOCK:
			rc = parse_vsock(o, optarg, err);
			if (rc)
				return rc;
			break;
		case O_WINDOW:
			if (gw_windows_add_arg(&o->windows, optarg, why, sizeof(why)) < 0)
				return bad(err, "%s", why);
			break;
		case O_BPORT:
			if (!parse_u32(optarg, 0xfffffffeu, &o->backend_port) || !o->backend_port)
				return bad(err, "--backend-port %s: must be 1..4294967294", optarg);
			break;
		case O_DOORBELL:
			if (!optarg[0] || strlen(optarg) >= 108)
				return bad(err, "--doorbell %s: not a usable Unix socket path",
					   optarg);
			o->doorbell_path = optarg;
			break;
		case O_POLL_KICKS: o->poll_kicks = true; break;
		case O_CAPS: o->print_caps = true; break;
		case 'v': o->verbose = true; break;
		case 'h': o->help = true; break;
		case ':': return bad(err, "%s needs a value", argv[optind - 1]);
		default: return bad(err, "unknown option %s", argv[optind - 1]);
		}
	}
	if (optind < argc)
		return bad(err, "unexpected argument %s", argv[optind]);
	return check(o, err);
}
