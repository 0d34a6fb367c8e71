/* gw_serve.c - uvhost-gw's sockets and poll loop (see gw_serve.h). */
#define _GNU_SOURCE
#include "gw_serve.h"

#include <errno.h>
#include <inttypes.h>
#include <poll.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "gw_ivserver.h"
#include "uvh/fe_vsock.h"
#include "uvh/host.h"

#define VM_RETRY_MS 250
#define IDLE_MS 500
#define VM_REQUESTS_PER_TURN 64

struct gw {
	const struct gw_opts *o;
	volatile sig_atomic_t *stop;
	int listen_fd, fe;
	struct uvh_fe_vsock vm;
	struct gw_relay relay;
	struct gw_relay_io io;
	struct vu_msg msg;
	bool waiting_said;
	uint64_t vmm_sessions, vm_drops;
	struct gw_ivs ivs; /* --doorbell: the ivshmem server */
};

/* How a wait ended. In serve_turn, END_STOP means "nothing ended: go on". */
enum end { END_STOP, END_VMM_HERE, END_VMM_GONE, END_VM_GONE };

static void say(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static void say(const char *fmt, ...)
{
	va_list ap;

	fputs("uvhost-gw: ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
}

/* ---- the relay's view of the sockets ---------------------------------------- */

static int io_fe_send(void *ctx, const struct vu_msg *msg)
{
	struct gw *g = ctx;
	return g->fe < 0 ? -ENOTCONN : uvh_send_msg(g->fe, msg);
}

static int io_fe_backend_send(void *ctx, int chan, const struct vu_msg *msg)
{
	(void)ctx;
	return uvh_send_msg(chan, msg);
}

static int io_signal(void *ctx, int fd)
{
	uint64_t one = 1;

	(void)ctx;
	/* A full eventfd (EAGAIN) already has a wake-up pending. */
	if (write(fd, &one, sizeof(one)) < 0 && errno != EAGAIN)
		return -errno;
	return 0;
}

static void io_close(void *ctx, int fd)
{
	(void)ctx;
	close(fd);
}

static int io_vm_backend_listen(void *ctx, uint32_t *port)
{
	struct gw *g = ctx;

	*port = g->o->backend_port;
	return uvh_fe_vsock_backend_listen(&g->vm, g->o->uds_path, *port);
}

static int io_db_kick(void *ctx, uint32_t ring, int fd, uint32_t *vector)
{
	struct gw *g = ctx;

	(void)ring;
	return gw_ivs_kick(&g->ivs, fd, vector);
}

static int io_db_call(void *ctx, uint32_t ring, int fd, uint32_t *peer)
{
	struct gw *g = ctx;
	return gw_ivs_call(&g->ivs, ring, fd, peer);
}

static void io_db_call_commit(void *ctx, uint32_t ring)
{
	struct gw *g = ctx;
	gw_ivs_call_commit(&g->ivs, ring);
}

static void io_db_call_drop(void *ctx, uint32_t ring)
{
	struct gw *g = ctx;
	gw_ivs_call_drop(&g->ivs, ring);
}

static void io_log(void *ctx, enum gw_log_level level, const char *line)
{
	struct gw *g = ctx;
	static const char *const tag[] = {"error", "warn", "info", "debug"};

	if (level >= GW_LOG_INFO && !g->o->verbose)
		return;
	say("%s: %s", tag[level], line);
}

/* ---- the service VM ---------------------------------------------------------- */

static void msleep(unsigned ms)
{
	struct timespec ts = {.tv_sec = ms / 1000, .tv_nsec = (long)(ms % 1000) * 1000000L};
	nanosleep(&ts, NULL);
}

/* Connect to the VM's listener, retrying until it answers or we stop. */
static bool vm_connect(struct gw *g)
{
	while (!*g->stop) {
		int rc = uvh_fe_vsock_connect(&g->vm, g->o->uds_path, g->o->port);

		if (rc == 0) {
			say("service VM listener %s:%" PRIu32 " connected", g->o->uds_path,
			    g->o->port);
			g->waiting_said = false;
			gw_relay_init(&g->relay, &g->vm.t, &g->io, &g->o->windows);
			g->relay.now_ns = uvh_now_ns;
			return true;
		}
		if (!g->waiting_said)
			say("waiting for the service VM listener %s:%" PRIu32 " (%s)",
			    g->o->uds_path, g->o->port, strerror(-rc));
		g->waiting_said = true;
		msleep(VM_RETRY_MS);
	}
	return false;
}

static void vm_close(struct gw *g)
{
	uvh_fe_vsock_close(&g->vm);
}

/* Anything on the VM's main channel outside a request/reply is wrong, and
 * end of file means the VM went away. */
static bool vm_main_readable_is_loss(struct gw *g, short revents)
{
	char c;

	if (!(revents & (POLLIN | POLLHUP | POLLERR)))
		return false;
	if (recv(g->vm.sock, &c, 1, MSG_PEEK | MSG_DONTWAIT) == 0 || (revents & POLLERR))
		say("service VM closed the connection");
	else
		say("service VM sent a message nobody asked for: dropping it");
	return true;
}

/* ---- the VMM ----------------------------------------------------------------- */

static int listen_vmm(struct gw *g)
{
	if (g->listen_fd >= 0 || !g->o->socket_path)
		return 0;
	g->listen_fd = uvh_listen(g->o->socket_path);
	if (g->listen_fd < 0) {
		say("error: cannot listen on %s: %s", g->o->socket_path, strerror(-g->listen_fd));
		return -1;
	}
	say("listening on %s", g->o->socket_path);
	return 0;
}

static void unlisten_vmm(struct gw *g)
{
	if (g->listen_fd < 0)
		return;
	close(g->listen_fd);
	unlink(g->o->socket_path);
	g->listen_fd = -1;
}

/* Wait for a VMM while watching the VM. */
static enum end accept_vmm(struct gw *g)
{
	while (!*g->stop) {
		struct pollfd p[2] = {{.fd = g->listen_fd, .events = POLLIN},
				      {.fd = g->vm.sock, .events = POLLIN}};
		int fd;

		if (poll(p, 2, IDLE_MS) <= 0)
			continue;
		if (vm_main_readable_is_loss(g, p[1].revents))
			return END_VM_GONE;
		if (!(p[0].revents & POLLIN))
			continue;
		fd = accept4(g->listen_fd, NULL, NULL, SOCK_CLOEXEC);
		if (fd >= 0) {
			g->fe = fd;
			return END_VMM_HERE;
		}
	}
	return END_STOP;
}

static void drain(int fd)
{
	uint64_t v;

	while (read(fd, &v, sizeof(v)) == (ssize_t)sizeof(v))
		;
}

static enum end vm_requests(struct gw *g)
{
	for (int i = 0; i < VM_REQUESTS_PER_TURN; i++) {
		int rc = g->vm.t.backend_recv(g->vm.t.ctx, &g->msg);

		if (rc == -EAGAIN)
			return END_STOP;
		if (rc < 0) {
			say("service VM backend channel: %s", strerror(-rc));
			return END_VM_GONE;
		}
		if (gw_relay_vm_request(&g->relay, &g->msg) < 0)
			return END_VM_GONE;
	}
	return END_STOP;
}

/* One VMM, until it or the VM goes. END_STOP here means "keep going". */
static enum end serve_turn(struct gw *g)
{
	struct pollfd p[4 + VU_MAX_QUEUES];
	uint32_t ring_of[4 + VU_MAX_QUEUES];
	int n = 0, at_vm, at_chan, at_fe_chan = -1, rc;

	p[n++] = (struct pollfd){.fd = g->fe, .events = POLLIN};
	at_vm = n;
	p[n++] = (struct pollfd){.fd = g->vm.sock, .events = POLLIN};
	at_chan = n;
	p[n++] = (struct pollfd){.fd = uvh_fe_vsock_backend_pollfd(&g->vm), .events = POLLIN};
	if (g->relay.fe_chan >= 0) {
		at_fe_chan = n;
		p[n++] = (struct pollfd){.fd = g->relay.fe_chan, .events = POLLIN};
	}
	for (uint32_t i = 0; i < VU_MAX_QUEUES; i++) {
		/* A doorbell kick is read by the VM's QEMU, never here. */
		if (g->relay.ring[i].kick < 0 || g->relay.ring[i].kick_db || g->o->poll_kicks)
			continue;
		ring_of[n] = i;
		p[n++] = (struct pollfd){.fd = g->relay.ring[i].kick, .events = POLLIN};
	}
	rc = poll(p, (nfds_t)n, IDLE_MS);
	if (rc <= 0)
		return END_STOP;
	for (int i = at_fe_chan < 0 ? at_chan + 1 : at_fe_chan + 1; i < n; i++) {
		if (!(p[i].revents & POLLIN))
			continue;
		drain(p[i].fd);
		if (gw_relay_kick(&g->relay, ring_of[i]) < 0)
			return END_VM_GONE;
	}
	if ((p[at_chan].revents & (POLLIN | POLLHUP | POLLERR)) && vm_requests(g) == END_VM_GONE)
		return END_VM_GONE;
	if (vm_main_readable_is_loss(g, p[at_vm].revents))
		return END_VM_GONE;
	/* The VMM answers nothing we send there (no NEED_REPLY); a hang-up or
	 * junk closes only that channel. */
	if (at_fe_chan >= 0 && (p[at_fe_chan].revents & (POLLIN | POLLHUP | POLLERR))) {
		if (uvh_recv_msg(g->relay.fe_chan, &g->msg) < 0) {
			close(g->relay.fe_chan);
			g->relay.fe_chan = -1;
		} else {
			for (uint32_t i = 0; i < g->msg.nfds && i < VU_MAX_FDS; i++)
				close(g->msg.fds[i]);
		}
	}
	if (p[0].revents & (POLLIN | POLLHUP | POLLERR)) {
		rc = uvh_recv_msg(g->fe, &g->msg);
		if (rc == 0)
			rc = gw_relay_fe_msg(&g->relay, &g->msg);
		if (rc < 0) {
			if (g->relay.vm_lost)
				return END_VM_GONE;
			say("VMM %s",
			    rc == -ECONNRESET ? "disconnected" : "dropped: protocol error");
			return END_VMM_GONE;
		}
	}
	return END_STOP;
}

static void summary(struct gw *g, enum end why)
{
	const struct gw_stats *s = &g->relay.st;

	say("session %" PRIu64 " ended (%s): %" PRIu64 " messages from the VMM, %" PRIu64
	    " relayed, %" PRIu64 " refused, %" PRIu64 " regions as windows, %" PRIu64
	    " kicks, %" PRIu64 " calls, %" PRIu64 " errs, %" PRIu64 " config changes, %" PRIu64
	    " doorbell kicks, %" PRIu64 " doorbell calls, %" PRIu64
	    " in-band fallbacks; relay round trip mean %" PRIu64 " us max %" PRIu64 " us",
	    g->vmm_sessions,
	    why == END_VM_GONE	  ? "service VM gone"
	    : why == END_VMM_GONE ? "VMM gone"
				  : "stopped",
	    s->fe_msgs, s->relayed, s->refused, s->regions, s->kicks, s->calls, s->errs, s->config,
	    s->db_kicks, s->db_calls, s->db_fallbacks,
	    s->replies ? s->relay_ns_sum / s->replies / 1000 : 0, s->relay_ns_max / 1000);
}

static enum end serve_vmm(struct gw *g)
{
	enum end why = END_STOP;

	g->vmm_sessions++;
	say("VMM connected (session %" PRIu64 ")", g->vmm_sessions);
	while (!*g->stop && why == END_STOP)
		why = serve_turn(g);
	summary(g, why);
	gw_relay_reset(&g->relay);
	close(g->fe);
	g->fe = -1;
	return why;
}

int gw_serve(const struct gw_opts *o, volatile sig_atomic_t *stop)
{
	static struct gw g; /* ~10 KiB of messages: not on the stack */
	int status = 0;

	memset(&g, 0, sizeof(g));
	g.o = o;
	g.stop = stop;
	g.listen_fd = g.fe = -1;
	g.vm.sock = g.vm.listen_fd = g.vm.backend_fd = -1;
	g.io = (struct gw_relay_io){.ctx = &g,
				    .fe_send = io_fe_send,
				    .fe_backend_send = io_fe_backend_send,
				    .signal = io_signal,
				    .close_fd = io_close,
				    .vm_backend_listen = io_vm_backend_listen,
				    .log = io_log};
	/* First: the service VM's QEMU waits for this server at start-up. */
	if (o->doorbell_path) {
		int rc = gw_ivs_open(&g.ivs, o->doorbell_path);

		if (rc < 0) {
			say("error: doorbell server on %s: %s", o->doorbell_path, strerror(-rc));
			return 1;
		}
		say("doorbell: ivshmem server on %s", o->doorbell_path);
		g.io.db_kick = io_db_kick;
		g.io.db_call = io_db_call;
		g.io.db_call_commit = io_db_call_commit;
		g.io.db_call_drop = io_db_call_drop;
	}
	while (!*stop) {
		enum end why;

		if (!vm_connect(&g))
			break;
		if (o->fd >= 0) {
			g.fe = o->fd;
			why = serve_vmm(&g);
			vm_close(&g);
			break;
		}
		if (listen_vmm(&g) < 0) {
			status = 1;
			vm_close(&g);
			break;
		}
		why = accept_vmm(&g);
		if (why == END_VMM_HERE)
			why = serve_vmm(&g);
		vm_close(&g);
		if (why == END_VM_GONE) {
			g.vm_drops++;
			say("service VM connection lost (%" PRIu64 " so far): VMM socket closed "
			    "until it is back",
			    g.vm_drops);
			unlisten_vmm(&g);
		}
	}
	if (g.fe >= 0 && o->fd < 0)
		close(g.fe);
	unlisten_vmm(&g);
	if (o->doorbell_path)
		gw_ivs_close(&g.ivs);
	return status;
}

/* ---- --print-capabilities ------------------------------------------------------ */

static int ask_u64(struct uvh_fe_vsock *vm, uint32_t request, uint64_t *out)
{
	struct vu_msg m;
	int rc;

	memset(&m.hdr, 0, sizeof(m.hdr));
	m.hdr.request = request;
	m.hdr.flags = VU_VERSION;
	m.nfds = 0;
	rc = vm->t.send(vm->t.ctx, &m);
	if (rc == 0)
		rc = vm->t.recv(vm->t.ctx, &m);
	if (rc == 0 && (m.hdr.request != request || m.hdr.flags != VU_REPLY_FLAGS ||
			m.hdr.size != sizeof(uint64_t) || m.nfds))
		rc = -EPROTO;
	if (rc == 0)
		*out = m.p.u64;
	return rc;
}

/* The device type is the listener's: virtio-blk offers config space and its
 * feature bits; virtio-rng offers neither. */
static const char *device_type(uint64_t features, uint64_t pf)
{
	const uint64_t blk_bits = VU_BIT(2) | VU_BIT(6) | VU_BIT(9); /* SEG_MAX BLK_SIZE FLUSH */
	const uint64_t device_bits = VU_BIT(24) - 1;

	if ((pf & VU_BIT(VU_PF_CONFIG)) && (features & blk_bits))
		return "block";
	if (!(pf & VU_BIT(VU_PF_CONFIG)) && !(features & device_bits))
		return "rng";
	return NULL;
}

int gw_print_capabilities(const struct gw_opts *o)
{
	struct uvh_fe_vsock vm;
	uint64_t features = 0, pf = 0;
	const char *type;
	int rc = uvh_fe_vsock_connect(&vm, o->uds_path, o->port);

	if (rc == 0) {
		rc = ask_u64(&vm, VU_REQ_GET_FEATURES, &features);
		if (rc == 0)
			rc = ask_u64(&vm, VU_REQ_GET_PROTOCOL_FEATURES, &pf);
		uvh_fe_vsock_close(&vm);
	}
	if (rc) {
		say("error: service VM listener %s:%" PRIu32 ": %s", o->uds_path, o->port,
		    strerror(-rc));
		return 1;
	}
	type = device_type(features, pf);
	if (!type) {
		say("error: the listener on port %" PRIu32 " is neither virtio-blk nor virtio-rng "
		    "(features 0x%" PRIx64 ", protocol features 0x%" PRIx64 ")",
		    o->port, features, pf);
		return 1;
	}
	printf("{\n  \"type\": \"%s\",\n  \"features\": []\n}\n", type);
	return 0;
}
