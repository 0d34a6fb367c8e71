/* opts.c - uvhost-bench command line. */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bench.h"

static void usage(FILE *f)
{
	fprintf(f,
		"usage: uvhost-bench --socket PATH [options]\n"
		"  --rw read|write|randread|randwrite   workload (default randread)\n"
		"  --bs BYTES        request size, multiple of 512 (default 4096)\n"
		"  --qd N            requests in flight per queue (default 32, max %u)\n"
		"  --num-queues N    request queues (default 1, max %u)\n"
		"  --time SEC        measured run time (default 3)\n"
		"  --size BYTES      bytes of the disk to use, K/M/G suffixes (default: capacity)\n"
		"  --slots N         guest RAM split into N regions (default 1)\n"
		"  --churn HZ        add/remove an extra region HZ times a second\n"
		"  --verify          fill the disk with a pattern, check every read,\n"
		"                    read everything back at the end\n"
		"  --poll            no eventfds: NOFD kick and call, busy polling\n"
		"  --no-event-idx    do not negotiate VIRTIO_RING_F_EVENT_IDX\n"
		"  --json            one JSON object on stdout\n"
		"  --quiet           no progress lines on stderr\n"
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

int bench_parse(struct bench_opts *o, int argc, char **argv)
{
	enum { O_SOCK = 256, O_RW, O_BS, O_QD, O_NQ, O_TIME, O_SIZE, O_SLOTS, O_CHURN, O_NOEI };
	static const struct option longs[] = {
		{"socket", required_argument, 0, O_SOCK},
		{"rw", required_argument, 0, O_RW},
		{"bs", required_argument, 0, O_BS},
		{"qd", required_argument, 0, O_QD},
		{"num-queues", required_argument, 0, O_NQ},
		{"time", required_argument, 0, O_TIME},
		{"size", required_argument, 0, O_SIZE},
		{"slots", required_argument, 0, O_SLOTS},
		{"churn", required_argument, 0, O_CHURN},
		{"verify", no_argument, 0, 'V'},
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
		case 'p': o->poll = true; break;
		case 'j': o->json = true; break;
		case 'q': o->quiet = true; break;
		case 'h': usage(stdout); exit(0);
		default: usage(stderr); return -1;
		}
	}
	if (optind != argc || !o->socket) {
		usage(stderr);
		return -1;
	}
	return 0;
}
