/* opts.c - uvhost-bench command line. */
#include <ctype.h>
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "bench.h"

static void usage(FILE *f)
{
	fprintf(f,
		"usage: uvhost-bench --socket PATH [options]\n"
		"       uvhost-bench --vsock PATH:PORT --window-file [N=]FILE... [options]\n"
		"  --socket PATH     vhost-user over a Unix socket, RAM in a memfd\n"
		"  --ram-file FILE   --socket: guest RAM from this file instead (it must hold\n"
		"                    it), e.g. a window of the service VM behind uvhost-gw\n"
		"  --vsock PATH:PORT vhost-user over hybrid vsock (uvhostd --device vsock\n"
		"                    --uds-path PATH) to a service VM listening on PORT\n"
		"  --window-file [N=]FILE  guest RAM from this shared file, which the VM\n"
		"                    sees as window N (default: the order given); repeat\n"
		"  --backend-port N  vsock: host port of our backend-channel listener\n"
		"                    (PATH_N; default 50000 + pid %% 10000)\n"
		"  --no-inband       vsock: no in-band calls; spin on the used rings\n"
		"  --inband-kick     vsock: kick with VRING_KICK messages (when EVENT_IDX or\n"
		"                    the ring's flags ask for a kick) besides NOFD polling\n"
		"  --vm-ram-file FILE  vsock: the service VM's RAM as a shared file; with it\n"
		"                    SHMEM is negotiated and SHMEM_MAP maps from it\n"
		"  --no-mem-slots    do not negotiate CONFIGURE_MEM_SLOTS: SET_MEM_TABLE\n"
		"  --half-churn HZ   remove the upper half of the regions HZ times a second\n"
		"                    while I/O continues on the lower half, then re-add\n"
		"  --rw read|write|randread|randwrite   workload (default randread)\n"
		"  --bs BYTES        request size, multiple of 512 (default 4096)\n"
		"  --qd N            requests in flight per queue (default 32, max %u)\n"
		"  --num-queues N    request queues (default 1, max %u)\n"
		"  --time SEC        measured run time (default 3)\n"
		"  --size BYTES      bytes of the disk to use, K/M/G suffixes (default: capacity)\n"
		"  --slots N         guest RAM split into N regions (default 1)\n"
		"  --churn HZ        add/remove an extra region HZ times a second\n"
		"  --verify          fill the disk with a pattern, poison every read buffer,\n"
		"                    check every read, read everything back at the end\n"
		"  --check-only      no fill, no timed run: read every block back and check it\n"
		"                    holds the --verify fill pattern (a disk filled earlier)\n"
		"  --flush           end with a FLUSH request, which must answer OK\n"
		"  --poll            no eventfds: NOFD kick and call, busy polling\n"
		"  --no-event-idx    do not negotiate VIRTIO_RING_F_EVENT_IDX\n"
		"  --json            one JSON object on stdout\n"
		"  --quiet           no progress lines on stderr\n"
		"every completion must be status OK with used len bs+1 (read) or 1 (write)\n"
		"exit status: 0 ok, 1 any I/O error, verify mismatch or protocol error, 2 usage\n",
		BENCH_MAX_QD, BENCH_MAX_QUEUES);
}

static int num(const char *arg, const char *name, uint64_t min, uint64_t max, uint64_t *out)
{
	char *end;
	unsigned long long v;

	errno = 0;
	v = strtoull(arg, &end, 0);
	/* K, M, G suffixes: powers of 1024 */
	for (const char *u = "KMG"; *end && *u; u++) {
		if (*end == *u || *end == *u + 32) {
			unsigned shift = 10u * (unsigned)(u - "KMG" + 1);
			if (v > (UINT64_MAX >> shift))
				errno = ERANGE;
			v <<= shift;
			end++;
			break;
		}
	}
	if (errno || end == arg || *end || v < min || v > max) {
		fprintf(stderr, "uvhost-bench: %s must be %llu..%llu, not '%s'\n", name,
			(unsigned long long)min, (unsigned long long)max, arg);
		return -1;
	}
	*out = v;
	return 0;
}

static int real(const char *arg, const char *name, double min, double max, double *out)
{
	char *end;
	double v = strtod(arg, &end);

	if (end == arg || *end || !(v >= min && v <= max)) {
		fprintf(stderr, "uvhost-bench: %s must be %g..%g, not '%s'\n", name, min, max, arg);
		return -1;
	}
	*out = v;
	return 0;
}

/* PATH:PORT, split at the last colon (a path may hold colons). */
static int vsock_addr(struct bench_opts *o, char *arg)
{
	char *colon = strrchr(arg, ':');
	uint64_t port;

	if (!colon || colon == arg) {
		fprintf(stderr, "uvhost-bench: --vsock wants PATH:PORT, not '%s'\n", arg);
		return -1;
	}
	*colon = 0;
	if (num(colon + 1, "--vsock PORT", 0, 0xfffffffeu, &port))
		return -1;
	o->vsock_path = arg;
	o->vsock_port = (uint32_t)port;
	return 0;
}

/* [N=]FILE: N is the window's index in the service VM. */
static int window_file(struct bench_opts *o, char *arg)
{
	struct uvh_window_file *w;
	char *eq = strchr(arg, '=');
	uint64_t idx = o->nwindows;

	if (o->nwindows == UVH_WINDOW_RAM_MAX) {
		fprintf(stderr, "uvhost-bench: at most %u --window-file\n", UVH_WINDOW_RAM_MAX);
		return -1;
	}
	if (eq && eq > arg && isdigit((unsigned char)arg[0])) {
		*eq = 0;
		if (num(arg, "--window-file N", 0, (1u << (64 - VU_WINDOW_SHIFT)) - 1, &idx))
			return -1;
		arg = eq + 1;
	}
	for (uint32_t i = 0; i < o->nwindows; i++) {
		if (o->windows[i].index == idx) {
			fprintf(stderr, "uvhost-bench: window %llu given twice\n",
				(unsigned long long)idx);
			return -1;
		}
	}
	if (!*arg) {
		fprintf(stderr, "uvhost-bench: --window-file needs a file\n");
		return -1;
	}
	w = &o->windows[o->nwindows++];
	w->path = arg;
	w->index = (uint32_t)idx;
	return 0;
}

static int check_combination(struct bench_opts *o)
{
	const char *bad = NULL;

	if (!o->socket == !o->vsock_path)
		bad = "give exactly one of --socket and --vsock";
	else if (o->vsock_path && !o->nwindows)
		bad = "--vsock needs at least one --window-file (the guest RAM)";
	else if (o->socket && (o->nwindows || o->backend_port || o->no_inband || o->vm_ram_file ||
			       o->inband_kick))
		bad = "--window-file, --backend-port, --no-inband, --inband-kick and --vm-ram-file "
		      "go "
		      "with --vsock";
	else if (o->ram_file && !o->socket)
		bad = "--ram-file goes with --socket (over --vsock the RAM is --window-file)";
	else if (o->no_inband && o->inband_kick)
		bad = "--no-inband and --inband-kick exclude each other";
	else if (o->churn_hz > 0 && o->half_churn_hz > 0)
		bad = "--churn and --half-churn exclude each other";
	else if (o->half_churn_hz > 0 && o->slots < 2)
		bad = "--half-churn needs --slots 2 or more";
	else if (o->no_mem_slots && o->slots + (o->churn_hz > 0) > VU_MEM_TABLE_MAX_REGIONS)
		bad = "--no-mem-slots: SET_MEM_TABLE carries at most 8 regions";
	if (bad) {
		fprintf(stderr, "uvhost-bench: %s\n", bad);
		return -1;
	}
	if (o->vsock_path && !o->backend_port)
		o->backend_port = 50000u + (uint32_t)getpid() % 10000u;
	return 0;
}

int bench_parse(struct bench_opts *o, int argc, char **argv)
{
	enum {
		O_SOCK = 256,
		O_RW,
		O_BS,
		O_QD,
		O_NQ,
		O_TIME,
		O_SIZE,
		O_SLOTS,
		O_CHURN,
		O_NOEI,
		O_VSOCK,
		O_WIN,
		O_BPORT,
		O_NOINB,
		O_NOSLOTS,
		O_HALF,
		O_VMRAM,
		O_RAMFILE,
		O_IKICK,
		O_CHECKONLY,
		O_FLUSH,
	};
	static const struct option longs[] = {
		{"socket", required_argument, 0, O_SOCK},
		{"vsock", required_argument, 0, O_VSOCK},
		{"window-file", required_argument, 0, O_WIN},
		{"backend-port", required_argument, 0, O_BPORT},
		{"no-inband", no_argument, 0, O_NOINB},
		{"no-mem-slots", no_argument, 0, O_NOSLOTS},
		{"half-churn", required_argument, 0, O_HALF},
		{"vm-ram-file", required_argument, 0, O_VMRAM},
		{"ram-file", required_argument, 0, O_RAMFILE},
		{"inband-kick", no_argument, 0, O_IKICK},
		{"rw", required_argument, 0, O_RW},
		{"bs", required_argument, 0, O_BS},
		{"qd", required_argument, 0, O_QD},
		{"num-queues", required_argument, 0, O_NQ},
		{"time", required_argument, 0, O_TIME},
		{"size", required_argument, 0, O_SIZE},
		{"slots", required_argument, 0, O_SLOTS},
		{"churn", required_argument, 0, O_CHURN},
		{"verify", no_argument, 0, 'V'},
		{"check-only", no_argument, 0, O_CHECKONLY},
		{"flush", no_argument, 0, O_FLUSH},
		{"poll", no_argument, 0, 'p'},
		{"no-event-idx", no_argument, 0, O_NOEI},
		{"json", no_argument, 0, 'j'},
		{"quiet", no_argument, 0, 'q'},
		{"help", no_argument, 0, 'h'},
		{0, 0, 0, 0},
	};
	uint64_t v;
	int c;

	memset(o, 0, sizeof(*o));
	o->rw = RW_RANDREAD;
	o->bs = 4096;
	o->qd = 32;
	o->num_queues = 1;
	o->slots = 1;
	o->time_s = 3;
	while ((c = getopt_long(argc, argv, "h", longs, NULL)) != -1) {
		switch (c) {
		case O_SOCK: o->socket = optarg; break;
		case O_VSOCK:
			if (vsock_addr(o, optarg))
				return -1;
			break;
		case O_WIN:
			if (window_file(o, optarg))
				return -1;
			break;
		case O_BPORT:
			if (num(optarg, "--backend-port", 1, 0xfffffffeu, &v))
				return -1;
			o->backend_port = (uint32_t)v;
			break;
		case O_NOINB: o->no_inband = true; break;
		case O_VMRAM: o->vm_ram_file = optarg; break;
		case O_RAMFILE: o->ram_file = optarg; break;
		case O_IKICK: o->inband_kick = true; break;
		case O_NOSLOTS: o->no_mem_slots = true; break;
		case O_HALF:
			if (real(optarg, "--half-churn", 0.001, 100000, &o->half_churn_hz))
				return -1;
			break;
		case O_RW:
			if (!strcmp(optarg, "read"))
				o->rw = RW_READ;
			else if (!strcmp(optarg, "write"))
				o->rw = RW_WRITE;
			else if (!strcmp(optarg, "randread"))
				o->rw = RW_RANDREAD;
			else if (!strcmp(optarg, "randwrite"))
				o->rw = RW_RANDWRITE;
			else {
				fprintf(stderr, "uvhost-bench: --rw must be read, write, randread "
						"or randwrite\n");
				return -1;
			}
			break;
		case O_BS:
			if (num(optarg, "--bs", 512, 1u << 20, &v))
				return -1;
			if (v % 512) {
				fprintf(stderr, "uvhost-bench: --bs must be a multiple of 512\n");
				return -1;
			}
			o->bs = (uint32_t)v;
			break;
		case O_QD:
			if (num(optarg, "--qd", 1, BENCH_MAX_QD, &v))
				return -1;
			o->qd = (uint32_t)v;
			break;
		case O_NQ:
			if (num(optarg, "--num-queues", 1, BENCH_MAX_QUEUES, &v))
				return -1;
			o->num_queues = (uint32_t)v;
			break;
		case O_TIME:
			if (real(optarg, "--time", 0.01, 86400, &o->time_s))
				return -1;
			break;
		case O_SIZE:
			if (num(optarg, "--size", 512, UINT64_MAX / 2, &o->size))
				return -1;
			break;
		case O_SLOTS:
			if (num(optarg, "--slots", 1, VU_FE_MAX_REGIONS - 1, &v))
				return -1;
			o->slots = (uint32_t)v;
			break;
		case O_CHURN:
			if (real(optarg, "--churn", 0, 100000, &o->churn_hz))
				return -1;
			break;
		case O_NOEI: o->no_event_idx = true; break;
		case 'V': o->verify = true; break;
		case O_CHECKONLY: o->verify = o->check_only = true; break;
		case O_FLUSH: o->flush = true; break;
		case 'p': o->poll = true; break;
		case 'j': o->json = true; break;
		case 'q': o->quiet = true; break;
		case 'h': usage(stdout); exit(0);
		default: usage(stderr); return -1;
		}
	}
	if (optind != argc || (!o->socket && !o->vsock_path)) {
		usage(stderr);
		return -1;
	}
	return check_combination(o);
}
