/* uvhostd - the uvhost vhost-user back-end as a Linux daemon.
 * Follows the vhost-user "back-end program conventions": --socket-path,
 * --fd, --print-capabilities, no daemonizing, a clean exit on SIGTERM. */
#define _GNU_SOURCE
#include <errno.h>
#include <getopt.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/random.h>
#include <unistd.h>

#include "dev/blk.h"
#include "dev/rng.h"
#include "dev/storage.h"
#include "dev/storage_fault.h"
#ifdef UV_HAVE_URING
#include "dev/storage_uring.h"
#endif
#include "dev/vsock.h"
#include "uvh/host.h"
#include "vu/backend.h"

struct options {
	const char *socket_path;
	int fd;
	bool client;
	bool print_caps;
	const char *device;
	const char *disk;
	const char *serial;
	bool read_only;
	unsigned num_queues;
	bool no_mem_slots;
	bool no_inflight;
	unsigned max_mem_slots;
	unsigned guest_cid;
	const char *uds_path;
	uint64_t ram_size;  /* blk: serve a RAM disk of this many bytes instead of --disk */
	uint64_t null_size; /* blk: a null disk (stores nothing), for benchmarks */
	unsigned busy_poll_us;
	bool verbose;
	enum dev_fault fault; /* blk, tests only: 0 or the lie to tell */
	unsigned fault_every; /* ... on every this-many-th request of its kind */
	bool aio_sync;	      /* --aio sync (io_uring is the default for --disk) */
	bool aio_given;	      /* --aio was on the command line */
	bool direct;	      /* --direct: O_DIRECT, io_uring only */
};

/* Static: the session is ~130 KiB and lives for the whole process. */
static struct vu_backend backend;
static struct uvh_server server;
static struct dev_blk blk;
static struct dev_rng rng;
static struct dev_storage storage;
static struct dev_blk_async blk_async; /* --aio io_uring: request slots */
static bool ram_disk;		       /* --ram-size: nothing to re-read on SIGHUP */
/* --fault: what dev_blk sees instead of `storage` (tests only). */
static struct dev_storage faulty;
static struct dev_storage_fault fault;
static struct dev_vsock vsock;
static const struct uvh_fd_source vsock_fds = {dev_vsock_fill, dev_vsock_ready, &vsock};
/* --aio io_uring is serving `storage` (else synchronous file I/O). */
static bool uring_disk;

#ifdef UV_HAVE_URING
/* The io_uring eventfds in the serving loop: completions wake poll(2), and
 * every turn pushes the submissions the rings queued last turn. */
#define URING_REAP_BUDGET 64

static int uring_fill(void *ctx, struct pollfd *pfd, int max)
{
	int n = 0;

	(void)ctx;
	dev_storage_uring_flush(&storage);
	for (uint16_t q = 0; q < blk.dev.num_queues && n < max; q++, n++) {
		pfd[n].fd = dev_storage_uring_event_fd(&storage, q);
		pfd[n].events = POLLIN;
	}
	return n;
}

static int uring_ready(void *ctx, const struct pollfd *pfd, int n)
{
	(void)ctx;
	for (int q = 0; q < n; q++)
		if (pfd[q].revents & POLLIN)
			dev_storage_uring_drain_event(&storage, (uint16_t)q);
	/* Always reaped, readable or not: the previous turn may have left
	 * completions beyond its budget, and the eventfd is drained already. */
	return dev_blk_poll(&blk, &backend, URING_REAP_BUDGET);
}

static const struct uvh_fd_source uring_fds = {uring_fill, uring_ready, NULL};
#endif

static void usage(FILE *out)
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

/* BYTES with an optional K, M or G suffix; a multiple of 512, at most 1 TiB. */
static int parse_size(const char *s, uint64_t *out)
{
	char *end;
	unsigned long long v;
	uint64_t mult = 1;

	errno = 0;
	v = strtoull(s, &end, 10);
	if (*end == 'K' || *end == 'k')
		mult = 1024, end++;
	else if (*end == 'M' || *end == 'm')
		mult = 1024 * 1024, end++;
	else if (*end == 'G' || *end == 'g')
		mult = 1024ull * 1024 * 1024, end++;
	if (errno || end == s || *end || s[0] == '-' || v == 0 || v > (1ull << 40) / mult ||
	    (v * mult) % 512) {
		fprintf(stderr,
			"uvhostd: size '%s': want a multiple of 512 bytes, at most 1 T"
			"iB (suffix K, M or G)\n",
			s);
		return -1;
	}
	*out = v * mult;
	return 0;
}

static int parse_uint(const char *s, unsigned lo, unsigned hi, unsigned *out, const char *what)
{
	char *end;
	unsigned long v;

	errno = 0;
	v = strtoul(s, &end, 10);
	if (errno || *s == '\0' || *end != '\0' || v < lo || v > hi) {
		fprintf(stderr, "uvhostd: %s must be a number in %u..%u, not '%s'\n", what, lo, hi,
			s);
		return -1;
	}
	*out = (unsigned)v;
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

static int parse_args(int argc, char **argv, struct options *o)
{
	enum {
		O_SOCK = 256,
		O_FD,
		O_CLIENT,
		O_CAPS,
		O_DEV,
		O_DISK,
		O_RO,
		O_NQ,
		O_NOSLOTS,
		O_NOINFL,
		O_MAXSLOTS,
		O_SERIAL,
		O_CID,
		O_UDS,
		O_RAM,
		O_NULL,
		O_BUSY,
		O_FAULT,
		O_AIO,
		O_DIRECT
	};
	static const struct option longs[] = {
		{"socket-path", required_argument, 0, O_SOCK},
		{"fd", required_argument, 0, O_FD},
		{"client", no_argument, 0, O_CLIENT},
		{"print-capabilities", no_argument, 0, O_CAPS},
		{"device", required_argument, 0, O_DEV},
		{"disk", required_argument, 0, O_DISK},
		{"blk-file", required_argument, 0, O_DISK},
		{"read-only", no_argument, 0, O_RO},
		{"num-queues", required_argument, 0, O_NQ},
		{"serial", required_argument, 0, O_SERIAL},
		{"no-mem-slots", no_argument, 0, O_NOSLOTS},
		{"no-inflight", no_argument, 0, O_NOINFL},
		{"max-mem-slots", required_argument, 0, O_MAXSLOTS},
		{"guest-cid", required_argument, 0, O_CID},
		{"uds-path", required_argument, 0, O_UDS},
		{"ram-size", required_argument, 0, O_RAM},
		{"null-size", required_argument, 0, O_NULL},
		{"busy-poll-us", required_argument, 0, O_BUSY},
		{"fault", required_argument, 0, O_FAULT},
		{"aio", required_argument, 0, O_AIO},
		{"direct", no_argument, 0, O_DIRECT},
		{"verbose", no_argument, 0, 'v'},
		{"help", no_argument, 0, 'h'},
		{0, 0, 0, 0},
	};
	unsigned v;
	int c;

	memset(o, 0, sizeof(*o));
	o->fd = -1;
	o->device = "blk";
	o->num_queues = 1;
	o->busy_poll_us = UVH_BUSY_POLL_NS_DEFAULT / 1000;
	while ((c = getopt_long(argc, argv, "vh", longs, NULL)) != -1) {
		switch (c) {
		case O_SOCK: o->socket_path = optarg; break;
		case O_FD:
			if (parse_uint(optarg, 0, 65535, &v, "--fd"))
				return -1;
			o->fd = (int)v;
			break;
		case O_CLIENT: o->client = true; break;
		case O_CAPS: o->print_caps = true; break;
		case O_DEV: o->device = optarg; break;
		case O_DISK: o->disk = optarg; break;
		case O_RAM:
			if (parse_size(optarg, &o->ram_size))
				return -1;
			break;
		case O_BUSY:
			if (parse_uint(optarg, 0, 1000000, &o->busy_poll_us, "--busy-poll-us"))
				return -1;
			break;
		case O_NULL:
			if (parse_size(optarg, &o->null_size))
				return -1;
			break;
		case O_RO: o->read_only = true; break;
		case O_NQ:
			if (parse_uint(optarg, 1, VU_MAX_QUEUES, &o->num_queues, "--num-queues"))
				return -1;
			break;
		case O_SERIAL: o->serial = optarg; break;
		case O_NOSLOTS: o->no_mem_slots = true; break;
		case O_NOINFL: o->no_inflight = true; break;
		case O_MAXSLOTS:
			if (parse_uint(optarg, 1, VU_MAX_MEM_SLOTS, &o->max_mem_slots,
				       "--max-mem-slots"))
				return -1;
			break;
		case O_CID:
			if (parse_uint(optarg, 3, 0xfffffffeu, &o->guest_cid, "--guest-cid"))
				return -1;
			break;
		case O_UDS: o->uds_path = optarg; break;
		case O_FAULT:
			if (parse_fault(optarg, o))
				return -1;
			break;
		case O_AIO:
			if (strcmp(optarg, "io_uring") && strcmp(optarg, "sync")) {
				fprintf(stderr, "uvhostd: unknown --aio '%s' (io_uring or sync)\n",
					optarg);
				return -1;
			}
			o->aio_sync = !strcmp(optarg, "sync");
			o->aio_given = true;
			break;
		case O_DIRECT: o->direct = true; break;
		case 'v': o->verbose = true; break;
		case 'h': usage(stdout); exit(0);
		default: usage(stderr); return -1;
		}
	}
	if (optind < argc) {
		fprintf(stderr, "uvhostd: unexpected argument '%s'\n", argv[optind]);
		return -1;
	}
	return 0;
}

/* --aio and --direct: only a --disk file has I/O to make asynchronous. */
static int check_aio(const struct options *o)
{
	if ((o->aio_given || o->direct) && !o->disk) {
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
	bool vs = !strcmp(o->device, "vsock");

	if (strcmp(o->device, "blk") && strcmp(o->device, "rng") && !vs) {
		fprintf(stderr, "uvhostd: unknown --device '%s' (blk, rng or vsock)\n", o->device);
		return -1;
	}
	if (!vs && (o->guest_cid || o->uds_path)) {
		fprintf(stderr, "uvhostd: --guest-cid and --uds-path are for --device vsock\n");
		return -1;
	}
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
	if (vs && (!o->guest_cid || !o->uds_path)) {
		fprintf(stderr,
			"uvhostd: --device vsock needs --guest-cid N and --uds-path PATH\n");
		return -1;
	}
	if (!strcmp(o->device, "blk") && (!!o->disk + !!o->ram_size + !!o->null_size) != 1) {
		fprintf(stderr, "uvhostd: --device blk needs exactly one of --disk FILE, "
				"--ram-size BYTES and --null-size BYTES\n");
		return -1;
	}
	if (strcmp(o->device, "blk") && (o->disk || o->ram_size || o->null_size || o->read_only ||
					 o->num_queues != 1 || o->fault)) {
		fprintf(stderr,
			"uvhostd: --disk, --ram-size, --read-only, --num-queues and --fault "
			"are for --device blk\n");
		return -1;
	}
	return check_aio(o);
}

static void print_capabilities(const struct options *o)
{
	if (!strcmp(o->device, "rng"))
		printf("{\n  \"type\": \"rng\",\n  \"features\": []\n}\n");
	else if (!strcmp(o->device, "vsock"))
		printf("{\n  \"type\": \"vsock\",\n  \"features\": []\n}\n");
	else
		printf("{\n  \"type\": \"block\",\n  \"features\": [\n    \"read-only\",\n"
		       "    \"blk-file\"%s\n  ]\n}\n",
#ifdef UV_HAVE_URING
		       ",\n    \"aio-io_uring\",\n    \"aio-sync\",\n    \"direct\""
#else
		       ",\n    \"aio-sync\""
#endif
		);
}

/* dev_rng_source: what getrandom gave; short only if it failed. */
static size_t entropy(void *buf, size_t len)
{
	size_t done = 0;

	while (done < len) {
		ssize_t r = getrandom((uint8_t *)buf + done, len - done, 0);
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0)
			break;
		done += (size_t)r;
	}
	return done;
}

static volatile sig_atomic_t resized;

static void on_signal(int sig)
{
	(void)sig;
	server.stop = 1;
}

static void on_hup(int sig)
{
	(void)sig;
	resized = 1;
}

static int refresh_size(void)
{
#ifdef UV_HAVE_URING
	if (uring_disk)
		return dev_storage_uring_refresh(&storage);
#endif
	return dev_storage_file_refresh(&storage);
}

/* SIGHUP: the operator resized the disk; tell the front-end, which re-reads
 * the config space (QEMU then notifies the guest of the new capacity). */
static void check_resize(void *ctx)
{
	int rc;

	(void)ctx;
	if (!resized)
		return;
	resized = 0;
	if (ram_disk) {
		fprintf(stderr, "uvhostd: SIGHUP: a RAM disk has no size to re-read\n");
		return;
	}
	rc = refresh_size();
	if (rc <= 0) {
		fprintf(stderr, "uvhostd: SIGHUP: disk size %s\n",
			rc == 0 ? "unchanged" : "unreadable");
		return;
	}
	faulty.size = storage.size; /* --fault: the wrapper reports the same size */
	rc = vu_backend_config_changed(&backend);
	fprintf(stderr, "uvhostd: disk is now %llu sectors; CONFIG_CHANGE_MSG %s\n",
		(unsigned long long)(storage.size / 512),
		rc ? "not sent (no backend channel)" : "sent");
}

static void vsock_log(void *ctx, const char *line)
{
	(void)ctx;
	fprintf(stderr, "uvhostd: %s\n", line);
}

static const struct vu_device *make_vsock(const struct options *o, void **ctx)
{
	struct dev_vsock_config c;
	int rc;

	memset(&c, 0, sizeof(c));
	c.guest_cid = o->guest_cid;
	c.uds_path = o->uds_path;
	c.now_ns = uvh_now_ns;
	c.log = vsock_log;
	c.verbose = o->verbose;
	rc = dev_vsock_init(&vsock, &c);
	if (rc) {
		fprintf(stderr, "uvhostd: vsock: cannot listen on '%s': %s\n", o->uds_path,
			strerror(-rc));
		return NULL;
	}
	fprintf(stderr,
		"uvhostd: vsock: guest cid %u, host programs connect to %s, guest "
		"connections to port P go to %s_P\n",
		o->guest_cid, o->uds_path, o->uds_path);
	*ctx = &vsock;
	return &vsock.dev;
}

/* --disk: io_uring unless --aio sync or --fault (or the kernel has no
 * io_uring, which is said once and not fatal). */
static int open_disk(const struct options *o)
{
#ifdef UV_HAVE_URING
	if (!o->aio_sync && !o->fault) {
		struct dev_uring_config c = {.path = o->disk,
					     .read_only = o->read_only,
					     .direct = o->direct,
					     .num_queues = (uint16_t)o->num_queues};
		const char *failed = "";
		int rc = dev_storage_uring_open(&storage, &c, &failed);
		if (rc == 0) {
			uring_disk = true;
			fprintf(stderr, "uvhostd: blk: --aio io_uring, %u ring(s)%s", o->num_queues,
				o->direct ? ", O_DIRECT" : "");
			if (o->direct)
				fprintf(stderr, " (offset alignment %u, buffer alignment %u)",
					dev_storage_uring_offset_align(&storage),
					dev_storage_uring_mem_align(&storage));
			fprintf(stderr, "\n");
			return 0;
		}
		if (strcmp(failed, "io_uring_queue_init")) {
			fprintf(stderr, "uvhostd: disk '%s': %s failed: %s%s\n", o->disk, failed,
				strerror(-rc),
				!strcmp(failed, "O_DIRECT open")
					? " (the file system has no O_DIRECT, e.g. tmpfs; drop "
					  "--direct)"
					: "");
			return rc;
		}
		fprintf(stderr,
			"uvhostd: io_uring unavailable (io_uring_queue_init: %s); falling back to "
			"--aio sync%s\n",
			strerror(-rc), o->direct ? " without --direct" : "");
	}
#endif
	return dev_storage_file_open(&storage, o->disk, o->read_only);
}

static const struct vu_device *make_device(const struct options *o, void **ctx)
{
	int rc;

	if (!strcmp(o->device, "vsock"))
		return make_vsock(o, ctx);
	if (!strcmp(o->device, "rng")) {
		dev_rng_init(&rng, entropy, NULL);
		*ctx = &rng;
		return &rng.dev;
	}
	if (o->null_size) {
		dev_storage_null(&storage, o->null_size);
		ram_disk = true; /* nothing to close or re-read either */
		rc = 0;
	} else if (o->ram_size) {
		/* Zeroed, and touched only as the front-end writes: the kernel
		 * backs it lazily, like a sparse file. */
		void *ram = mmap(NULL, o->ram_size, PROT_READ | PROT_WRITE,
				 MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
		if (ram == MAP_FAILED) {
			fprintf(stderr, "uvhostd: cannot allocate a %llu-byte RAM disk: %s\n",
				(unsigned long long)o->ram_size, strerror(errno));
			return NULL;
		}
		dev_storage_ram(&storage, ram, o->ram_size, o->read_only);
		ram_disk = true;
		rc = 0;
	} else {
		rc = open_disk(o);
	}
	if (rc) {
		fprintf(stderr, "uvhostd: cannot open disk '%s': %s\n", o->disk, strerror(-rc));
		return NULL;
	}
	if (o->fault) {
		dev_storage_fault(&faulty, &fault, &storage, o->fault, o->fault_every);
		fprintf(stderr,
			"uvhostd: --fault %s:%u: FOR TESTING ONLY, one request in %u of its "
			"kind goes wrong\n",
			dev_fault_name(o->fault), o->fault_every, o->fault_every);
	}
	if (storage.async)
		rc = dev_blk_init_async(&blk, &storage, (uint16_t)o->num_queues, o->serial,
					&blk_async);
	else
		rc = dev_blk_init(&blk, o->fault ? &faulty : &storage, (uint16_t)o->num_queues,
				  o->serial);
	if (rc) {
		fprintf(stderr, "uvhostd: disk '%s' is unusable (%s)\n", ram_disk ? "RAM" : o->disk,
			strerror(-rc));
		return NULL;
	}
	fprintf(stderr, "uvhostd: blk: %s, %llu sectors, %u queue(s)%s\n",
		o->null_size ? "null disk (stores nothing)"
		: ram_disk   ? "RAM disk"
			     : o->disk,
		(unsigned long long)(storage.size / 512), o->num_queues,
		o->read_only ? ", read-only" : "");
	*ctx = &blk;
	return &blk.dev;
}

int main(int argc, char **argv)
{
	struct options o;
	struct vu_backend_config cfg;
	const struct vu_device *dev;
	struct sigaction sa;
	void *dev_ctx = NULL;
	enum uvh_mode mode;
	int rc;

	if (parse_args(argc, argv, &o) || check_args(&o))
		return 2;
	if (o.print_caps) {
		print_capabilities(&o);
		return 0;
	}
	dev = make_device(&o, &dev_ctx);
	if (!dev)
		return 1;

	mode = o.fd >= 0 ? UVH_FD : (o.client ? UVH_CLIENT : UVH_SERVER);
	rc = uvh_server_init(&server, mode, o.socket_path, o.fd, &backend, o.verbose);
	if (rc) {
		fprintf(stderr, "uvhostd: cannot %s '%s': %s\n",
			mode == UVH_SERVER ? "listen on" : "use",
			o.socket_path ? o.socket_path : "fd", strerror(-rc));
		return 1;
	}
	server.busy_poll_ns = (uint64_t)o.busy_poll_us * 1000u;
	memset(&cfg, 0, sizeof(cfg));
	cfg.no_mem_slots = o.no_mem_slots;
	cfg.no_inflight = o.no_inflight;
	cfg.max_mem_slots = o.max_mem_slots;
	cfg.trace = o.verbose;
	vu_backend_init(&backend, &server.hp.plat, dev, dev_ctx, &cfg);

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_signal; /* no SA_RESTART: poll() must return */
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);
	sa.sa_handler = on_hup;
	sigaction(SIGHUP, &sa, NULL);
	signal(SIGPIPE, SIG_IGN);
	if (!strcmp(o.device, "blk")) {
		server.on_turn = check_resize;
		server.on_turn_ctx = NULL;
	}
	if (!strcmp(o.device, "vsock")) {
		dev_vsock_attach(&vsock, &backend);
		server.extra = &vsock_fds;
	}
#ifdef UV_HAVE_URING
	if (uring_disk)
		server.extra = &uring_fds;
#endif

	fprintf(stderr, "uvhostd: serving %s on %s%s\n", dev->name,
		o.socket_path ? o.socket_path : "fd", o.client ? " (client)" : "");
	rc = uvh_server_run(&server);
	if (o.fault)
		fprintf(stderr, "uvhostd: --fault %s hit %llu of %llu reads and %llu writes\n",
			dev_fault_name(o.fault), (unsigned long long)fault.hits,
			(unsigned long long)fault.reads, (unsigned long long)fault.writes);
#ifdef UV_HAVE_URING
	if (uring_disk)
		dev_storage_uring_close(&storage);
#endif
	if (!strcmp(o.device, "blk") && !ram_disk && !uring_disk)
		dev_storage_file_close(&storage);
	if (!strcmp(o.device, "vsock")) {
		char line[400];
		dev_vsock_stats_line(&vsock, line, sizeof(line));
		fprintf(stderr, "uvhostd: %s\n", line);
		dev_vsock_fini(&vsock);
	}
	fprintf(stderr, "uvhostd: exiting\n");
	return rc ? 1 : 0;
}
