/* uvhostd - the uvhost vhost-user back-end as a Linux daemon.
 * Follows the vhost-user "back-end program conventions": --socket-path,
 * --fd, --print-capabilities, no daemonizing, a clean exit on SIGTERM. */
#define _GNU_SOURCE
#include <errno.h>
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
#include "uvhostd_opts.h"

/* Static: the session is ~130 KiB and lives for the whole process. */
static struct vu_backend backend;
static struct uvh_server server;
/* The device instance (dev/table.h), and a typed view of it where the
 * loop wires device-specific fds: the io_uring completions of blk, the
 * Unix sockets of vsock. */
static void *dev_mem;
static struct dev_blk *blk;
static struct dev_vsock *vsock;
static struct dev_storage storage;
static struct dev_blk_async blk_async; /* --aio io_uring: request slots */
static bool ram_disk;		       /* --ram-size: nothing to re-read on SIGHUP */
/* --fault: what dev_blk sees instead of `storage` (tests only). */
static struct dev_storage faulty;
static struct dev_storage_fault fault;
static struct uvh_fd_source vsock_fds = {dev_vsock_fill, dev_vsock_ready, NULL, NULL};
/* --aio io_uring is serving `storage` (else synchronous file I/O). */
static bool uring_disk;

#ifdef UV_HAVE_URING
/* The io_uring eventfds in the serving loop: completions wake poll(2), and
 * every turn pushes the submissions the rings queued last turn. The session
 * step reaps the completions (blk's ops->poll), readable or not: a turn may
 * leave some beyond its budget. */
static int uring_fill(void *ctx, struct pollfd *pfd, int max)
{
	int n = 0;

	(void)ctx;
	dev_storage_uring_flush(&storage);
	for (uint16_t q = 0; q < blk->dev.num_queues && n < max; q++, n++) {
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
	return 0;
}

static bool uring_waiting(void *ctx)
{
	(void)ctx;
	return dev_storage_uring_waiting(&storage);
}

static const struct uvh_fd_source uring_fds = {uring_fill, uring_ready, uring_waiting, NULL};
#endif

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

static unsigned num_queues(const struct options *o)
{
	return o->dev.num_queues ? o->dev.num_queues : 1;
}

static void device_log(void *ctx, const char *line)
{
	(void)ctx;
	fprintf(stderr, "uvhostd: %s\n", line);
}

/* --disk: io_uring unless --aio sync or --fault (or the kernel has no
 * io_uring, which is said once and not fatal). */
static int open_disk(const struct options *o)
{
#ifdef UV_HAVE_URING
	if (!o->aio_sync && !o->fault) {
		struct dev_uring_config c = {.path = o->dev.disk,
					     .read_only = o->dev.read_only,
					     .direct = o->direct,
					     .num_queues = num_queues(o)};
		const char *failed = "";
		int rc = dev_storage_uring_open(&storage, &c, &failed);
		if (rc == 0) {
			uring_disk = true;
			fprintf(stderr, "uvhostd: blk: --aio io_uring, %u ring(s)%s", num_queues(o),
				o->direct ? ", O_DIRECT" : "");
			if (o->direct)
				fprintf(stderr, " (offset alignment %u, buffer alignment %u)",
					dev_storage_uring_offset_align(&storage),
					dev_storage_uring_mem_align(&storage));
			fprintf(stderr, "\n");
			return 0;
		}
		if (strcmp(failed, "io_uring_queue_init")) {
			fprintf(stderr, "uvhostd: disk '%s': %s failed: %s%s\n", o->dev.disk,
				failed, strerror(-rc),
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
	return dev_storage_file_open(&storage, o->dev.disk, o->dev.read_only);
}

/* blk: the storage the options name, as the platform opens it. */
static int open_storage(const struct options *o)
{
	if (o->dev.null_size) {
		dev_storage_null(&storage, o->dev.null_size);
		ram_disk = true; /* nothing to close or re-read either */
		return 0;
	}
	if (o->dev.ram_size) {
		/* Zeroed, and touched only as the front-end writes: the kernel
		 * backs it lazily, like a sparse file. */
		void *ram = mmap(NULL, o->dev.ram_size, PROT_READ | PROT_WRITE,
				 MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
		if (ram == MAP_FAILED) {
			fprintf(stderr, "uvhostd: cannot allocate a %llu-byte RAM disk: %s\n",
				(unsigned long long)o->dev.ram_size, strerror(errno));
			return -ENOMEM;
		}
		dev_storage_ram(&storage, ram, o->dev.ram_size, o->dev.read_only);
		ram_disk = true;
		return 0;
	}
	return open_disk(o);
}

static int prepare_blk(struct options *o)
{
	int rc = open_storage(o);

	if (rc) {
		fprintf(stderr, "uvhostd: cannot open disk '%s': %s\n", o->dev.disk, strerror(-rc));
		return rc;
	}
	o->dev.store = &storage;
	o->dev.async = &blk_async;
	if (o->fault) {
		dev_storage_fault(&faulty, &fault, &storage, o->fault, o->fault_every);
		o->dev.store = &faulty;
		fprintf(stderr,
			"uvhostd: --fault %s:%u: FOR TESTING ONLY, one request in %u of its "
			"kind goes wrong\n",
			dev_fault_name(o->fault), o->fault_every, o->fault_every);
	}
	return 0;
}

/* The instance, through the device table's row. */
static const struct vu_device *make_device(struct options *o)
{
	const struct dev_env env = {.rng_source = entropy,
				    .now_ns = uvh_now_ns,
				    .log = device_log,
				    .verbose = o->verbose};
	const struct vu_device *dev = NULL;
	bool is_blk = (o->kind->flags & DEV_NEEDS_STORAGE) != 0;
	int rc;

	if (is_blk && prepare_blk(o)) /* the only storage uvhostd opens is blk's */
		return NULL;
	dev_mem = calloc(1, o->kind->instance_size);
	if (!dev_mem) {
		fprintf(stderr, "uvhostd: no memory for the %s device\n", o->kind->name);
		return NULL;
	}
	rc = o->kind->make(dev_mem, &o->dev, &env, &dev);
	if (rc) {
		if (is_blk)
			fprintf(stderr, "uvhostd: disk '%s' is unusable (%s)\n",
				ram_disk ? "RAM" : o->dev.disk, strerror(-rc));
		else if (o->dev.uds_path)
			fprintf(stderr, "uvhostd: vsock: cannot listen on '%s': %s\n",
				o->dev.uds_path, strerror(-rc));
		else
			fprintf(stderr, "uvhostd: %s: %s\n", o->kind->name, strerror(-rc));
		return NULL;
	}
	if (is_blk) {
		blk = dev_mem;
		fprintf(stderr, "uvhostd: blk: %s, %llu sectors, %u queue(s)%s\n",
			o->dev.null_size ? "null disk (stores nothing)"
			: ram_disk	 ? "RAM disk"
					 : o->dev.disk,
			(unsigned long long)(storage.size / 512), num_queues(o),
			o->dev.read_only ? ", read-only" : "");
	} else if (!strcmp(o->kind->name, "vsock")) {
		vsock = dev_mem;
		vsock_fds.ctx = vsock;
		fprintf(stderr,
			"uvhostd: vsock: guest cid %u, host programs connect to %s, guest "
			"connections to port P go to %s_P\n",
			o->dev.guest_cid, o->dev.uds_path, o->dev.uds_path);
	}
	return dev;
}

/* --print-capabilities: the device table's JSON for --device. */
static int print_capabilities(const struct options *o)
{
	char json[512];

	if (dev_caps_json(o->kind, json, sizeof(json)) < 0)
		return 1;
	fputs(json, stdout);
	return 0;
}

static void close_storage(void)
{
#ifdef UV_HAVE_URING
	if (uring_disk)
		dev_storage_uring_close(&storage);
#endif
	if (!ram_disk && !uring_disk)
		dev_storage_file_close(&storage);
}

int main(int argc, char **argv)
{
	struct options o;
	struct vu_backend_config cfg;
	const struct vu_device *dev;
	struct sigaction sa;
	enum uvh_mode mode;
	int rc;

	if (uvhostd_parse_args(argc, argv, &o))
		return 2;
	if (o.print_caps)
		return print_capabilities(&o);
	dev = make_device(&o);
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
	vu_backend_init(&backend, &server.hp.plat, dev, dev_mem, &cfg);

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_signal; /* no SA_RESTART: poll() must return */
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);
	sa.sa_handler = on_hup;
	sigaction(SIGHUP, &sa, NULL);
	signal(SIGPIPE, SIG_IGN);
	if (blk) {
		server.on_turn = check_resize;
		server.on_turn_ctx = NULL;
	}
	if (vsock) {
		dev_vsock_attach(vsock, &backend);
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
	if (blk)
		close_storage();
	if (vsock) {
		char line[400];
		dev_vsock_stats_line(vsock, line, sizeof(line));
		fprintf(stderr, "uvhostd: %s\n", line);
	}
	if (o.kind->fini)
		o.kind->fini(dev_mem);
	free(dev_mem);
	fprintf(stderr, "uvhostd: exiting\n");
	return rc ? 1 : 0;
}
