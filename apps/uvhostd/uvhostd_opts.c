/* uvhostd's command line (see uvhostd_opts.h). */
#define _GNU_SOURCE
#include "uvhostd_opts.h"

#include <errno.h>
#include <getopt.h>
#include <stdlib.h>
#include <string.h>

#include "uvh/host.h"
#include "vu/backend.h"

void uvhostd_usage(FILE *out)
{
	fprintf(out,
		"usage: uvhostd (--socket-path PATH [--client] | --fd N) --device blk|rng|vsock "
		"[options]\n"
		"       uvhostd --print-capabilities [--device blk|rng|vsock]\n"
		"\n"
		"  --socket-path PATH   listen on PATH (or connect to it with --client)\n"
		"  --fd N               serve the already connected vhost-user socket N\n"
		"  --client             connect to --socket-path instead of listening; reconnects\n"
		"  --print-capabilities print the back-end's JSON capabilities and exit\n"
		"  --device blk|rng|vsock  the virtio device to serve (default blk)\n"
		"  --disk FILE          blk: backing file (alias --blk-file)\n"
		"  --ram-size BYTES     blk: RAM disk instead of a file (suffix K, M or G)\n"
		"  --null-size BYTES    blk: null disk that stores nothing (benchmarks only)\n"
		"  --busy-poll-us N     after work, poll without sleeping for N us (default 50, 0: "
		"off)\n"
		"  --aio io_uring|sync  blk --disk: asynchronous I/O through io_uring, one ring "
		"per\n"
		"                       queue (default where the kernel has it; otherwise a\n"
		"                       one-line notice and sync), or synchronous preadv/pwritev\n"
		"  --direct             blk --disk: open the file O_DIRECT, bypassing the host "
		"page\n"
		"                       cache (like cache.direct=on); needs --aio io_uring.\n"
		"                       Requests not aligned for O_DIRECT go through the page "
		"cache\n"
		"  --read-only          blk: refuse writes, offer VIRTIO_BLK_F_RO\n"
		"  --num-queues N       blk: request queues, 1..%d (default 1)\n"
		"  --serial ID          blk: the GET_ID string (default uvhost)\n"
		"  --guest-cid N        vsock: the guest's context id, 3..4294967294 (required)\n"
		"  --uds-path PATH      vsock: hybrid vsock socket; host programs connect to PATH\n"
		"                       and write 'CONNECT <port>\\n'; guest connections to host\n"
		"                       port P go to PATH_P (required)\n"
		"  --no-mem-slots       do not offer CONFIGURE_MEM_SLOTS (front-end uses "
		"SET_MEM_TABLE)\n"
		"  --no-inflight        do not offer INFLIGHT_SHMFD\n"
		"  --max-mem-slots N    answer GET_MAX_MEM_SLOTS with N (1..%d, default %d)\n"
		"  --fault KIND[:N]     FOR TESTING ONLY (corrupts data): blk lies on every N-th\n"
		"                       request of the kind (default 16, 1: all): drop-writes\n"
		"                       (write not stored, OK reported), short-read (only the\n"
		"                       first half of the data read, OK reported), bad-status\n"
		"                       (read or write answered VIRTIO_BLK_S_IOERR)\n"
		"  -v, --verbose        trace every received message, one line each\n"
		"  -h, --help           this text\n"
		"\nSignals: SIGTERM/SIGINT stop cleanly; SIGHUP re-reads the disk size and sends\n"
		"CONFIG_CHANGE_MSG so the guest sees the new capacity.\n",
		VU_MAX_QUEUES, VU_MAX_MEM_SLOTS, VU_MAX_MEM_SLOTS);
}

/* A uvhostd option's number, with the device table's rule (dev_parse_u32). */
static int parse_uint(const char *s, unsigned lo, unsigned hi, unsigned *out, const char *what)
{
	uint32_t v;
	const char *why = dev_parse_u32(s, lo, hi, &v);

	if (why) {
		fprintf(stderr, "uvhostd: %s %s, not '%s'\n", what, why, s);
		return -1;
	}
	*out = v;
	return 0;
}

/* --fault KIND[:N]. Test-only: see dev/storage_fault.h. */
static int parse_fault(const char *arg, struct options *o)
{
	char name[32];
	const char *colon = strchr(arg, ':');
	size_t len = colon ? (size_t)(colon - arg) : strlen(arg);

	if (len >= sizeof(name))
		len = sizeof(name) - 1; /* too long for any name: refused below */
	memcpy(name, arg, len);
	name[len] = '\0';
	o->fault = dev_fault_by_name(name);
	if (!o->fault) {
		fprintf(stderr, "uvhostd: unknown --fault '%s' (%s, optionally :N)\n", arg,
			DEV_FAULT_NAMES);
		return -1;
	}
	o->fault_every = 16;
	if (colon && parse_uint(colon + 1, 1, 1000000, &o->fault_every, "--fault N"))
		return -1;
	return 0;
}

enum {
	O_SOCK = 256,
	O_FD,
	O_CLIENT,
	O_CAPS,
	O_DEV,
	O_NOSLOTS,
	O_NOINFL,
	O_MAXSLOTS,
	O_BUSY,
	O_FAULT,
	O_AIO,
	O_DIRECT,
	O_DEVICE_OPT = 512, /* + index into dev_opts[] */
};

static const struct option shared_longs[] = {
	{"socket-path", required_argument, 0, O_SOCK},
	{"fd", required_argument, 0, O_FD},
	{"client", no_argument, 0, O_CLIENT},
	{"print-capabilities", no_argument, 0, O_CAPS},
	{"device", required_argument, 0, O_DEV},
	{"no-mem-slots", no_argument, 0, O_NOSLOTS},
	{"no-inflight", no_argument, 0, O_NOINFL},
	{"max-mem-slots", required_argument, 0, O_MAXSLOTS},
	{"busy-poll-us", required_argument, 0, O_BUSY},
	{"fault", required_argument, 0, O_FAULT},
	{"aio", required_argument, 0, O_AIO},
	{"direct", no_argument, 0, O_DIRECT},
	{"verbose", no_argument, 0, 'v'},
	{"help", no_argument, 0, 'h'},
};

#define N_SHARED (sizeof(shared_longs) / sizeof(shared_longs[0]))
#define MAX_DEV_OPTS 32
#define MAX_GIVEN 64

/* Every device option of the table, once each, for getopt_long. */
struct longs {
	struct option opt[N_SHARED + MAX_DEV_OPTS + 1];
	const char *dev_opts[MAX_DEV_OPTS];
	unsigned ndev;
};

static void build_longs(struct longs *l)
{
	unsigned n = N_SHARED;

	memcpy(l->opt, shared_longs, sizeof(shared_longs));
	l->ndev = 0;
	for (const struct dev_kind *const *k = dev_table; *k; k++)
		for (const struct dev_option *d = (*k)->options; d->name; d++) {
			unsigned i;

			for (i = 0; i < l->ndev && strcmp(l->dev_opts[i], d->name); i++)
				;
			if (i < l->ndev || l->ndev == MAX_DEV_OPTS)
				continue;
			l->dev_opts[l->ndev] = d->name;
			l->opt[n++] = (struct option){
				d->name, d->has_value ? required_argument : no_argument, 0,
				(int)(O_DEVICE_OPT + l->ndev)};
			l->ndev++;
		}
	l->opt[n] = (struct option){0, 0, 0, 0};
}

/* "--a, --b and --c are for --device x": every option of the row that
 * takes `opt`, so one line says what goes with what. */
static void wrong_device(const char *opt)
{
	for (const struct dev_kind *const *k = dev_table; *k; k++) {
		const struct dev_option *d;
		unsigned n = 0, i = 0;

		if (!dev_kind_option(*k, opt))
			continue;
		for (d = (*k)->options; d->name; d++)
			n++;
		fprintf(stderr, "uvhostd: ");
		for (d = (*k)->options; d->name; d++, i++)
			fprintf(stderr, "%s--%s",
				i == 0	     ? ""
				: i + 1 == n ? " and "
					     : ", ",
				d->name);
		fprintf(stderr, " %s for --device %s\n", n == 1 ? "is" : "are", (*k)->name);
		return;
	}
}

struct given {
	const char *name, *val;
};

/* The device's own options, in command-line order, through its row. */
static int apply_device_opts(struct options *o, const struct given *g, unsigned n)
{
	for (unsigned i = 0; i < n; i++) {
		const char *why;

		if (!dev_kind_option(o->kind, g[i].name)) {
			wrong_device(g[i].name);
			return -1;
		}
		why = o->kind->set(&o->dev, g[i].name, g[i].val ? g[i].val : "");
		if (why) {
			fprintf(stderr, "uvhostd: --%s %s, not '%s'\n", g[i].name, why,
				g[i].val ? g[i].val : "");
			return -1;
		}
	}
	return 0;
}

static int parse_shared(int c, struct options *o, const char **device)
{
	unsigned v;

	switch (c) {
	case O_SOCK: o->socket_path = optarg; break;
	case O_FD:
		if (parse_uint(optarg, 0, 65535, &v, "--fd"))
			return -1;
		o->fd = (int)v;
		break;
	case O_CLIENT: o->client = true; break;
	case O_CAPS: o->print_caps = true; break;
	case O_DEV: *device = optarg; break;
	case O_BUSY:
		if (parse_uint(optarg, 0, 1000000, &o->busy_poll_us, "--busy-poll-us"))
			return -1;
		break;
	case O_NOSLOTS: o->no_mem_slots = true; break;
	case O_NOINFL: o->no_inflight = true; break;
	case O_MAXSLOTS:
		if (parse_uint(optarg, 1, VU_MAX_MEM_SLOTS, &o->max_mem_slots, "--max-mem-slots"))
			return -1;
		break;
	case O_FAULT:
		if (parse_fault(optarg, o))
			return -1;
		break;
	case O_AIO:
		if (strcmp(optarg, "io_uring") && strcmp(optarg, "sync")) {
			fprintf(stderr, "uvhostd: unknown --aio '%s' (io_uring or sync)\n", optarg);
			return -1;
		}
		o->aio_sync = !strcmp(optarg, "sync");
		o->aio_given = true;
		break;
	case O_DIRECT: o->direct = true; break;
	case 'v': o->verbose = true; break;
	case 'h': uvhostd_usage(stdout); exit(0);
	default: uvhostd_usage(stderr); return -1;
	}
	return 0;
}

static int parse_args(int argc, char **argv, struct options *o)
{
	static struct longs l;
	struct given given[MAX_GIVEN];
	const char *device = "blk";
	unsigned ngiven = 0;
	int c;

	memset(o, 0, sizeof(*o));
	o->fd = -1;
	o->busy_poll_us = UVH_BUSY_POLL_NS_DEFAULT / 1000;
	build_longs(&l);
	while ((c = getopt_long(argc, argv, "vh", l.opt, NULL)) != -1) {
		if (c >= O_DEVICE_OPT && c < O_DEVICE_OPT + (int)l.ndev) {
			if (ngiven == MAX_GIVEN) {
				fprintf(stderr, "uvhostd: more than %d device options\n",
					MAX_GIVEN);
				return -1;
			}
			given[ngiven++] = (struct given){l.dev_opts[c - O_DEVICE_OPT], optarg};
		} else if (parse_shared(c, o, &device)) {
			return -1;
		}
	}
	if (optind < argc) {
		fprintf(stderr, "uvhostd: unexpected argument '%s'\n", argv[optind]);
		return -1;
	}
	o->kind = dev_table_find(device, strlen(device));
	if (!o->kind) {
		fprintf(stderr, "uvhostd: unknown --device '%s' (%s)\n", device, dev_table_names());
		return -1;
	}
	return apply_device_opts(o, given, ngiven);
}

/* --aio and --direct: only a --disk file has I/O to make asynchronous. */
static int check_aio(const struct options *o)
{
	if ((o->aio_given || o->direct) && !o->dev.disk) {
		fprintf(stderr, "uvhostd: --aio and --direct are for --device blk --disk FILE\n");
		return -1;
	}
	if (o->direct && o->aio_sync) {
		fprintf(stderr, "uvhostd: --direct needs --aio io_uring\n");
		return -1;
	}
	if (o->fault && o->aio_given && !o->aio_sync) {
		fprintf(stderr, "uvhostd: --fault works on --aio sync only\n");
		return -1;
	}
	if (o->fault && o->direct) {
		fprintf(stderr, "uvhostd: --fault works on --aio sync only, not with --direct\n");
		return -1;
	}
#ifndef UV_HAVE_URING
	if (o->direct || (o->aio_given && !o->aio_sync)) {
		fprintf(stderr, "uvhostd: built without liburing: no --aio io_uring or --direct\n");
		return -1;
	}
#endif
	return 0;
}

static int check_args(const struct options *o)
{
	const char *why;

	if (o->print_caps)
		return 0;
	if (!!o->socket_path == (o->fd >= 0)) {
		fprintf(stderr, "uvhostd: give exactly one of --socket-path and --fd\n");
		return -1;
	}
	if (o->client && !o->socket_path) {
		fprintf(stderr, "uvhostd: --client needs --socket-path\n");
		return -1;
	}
	why = o->kind->check ? o->kind->check(&o->dev) : NULL;
	if (why) {
		fprintf(stderr, "uvhostd: --device %s %s\n", o->kind->name, why);
		return -1;
	}
	return check_aio(o);
}

int uvhostd_parse_args(int argc, char **argv, struct options *o)
{
	if (parse_args(argc, argv, o))
		return -1;
	/* uvhostd's own storage options: blk only. */
	if (o->fault && strcmp(o->kind->name, "blk")) {
		fprintf(stderr, "uvhostd: --fault, --aio and --direct are for --device blk\n");
		return -1;
	}
	return check_args(o);
}
