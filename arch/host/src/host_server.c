/* The serving loop: poll(2) readiness feeds the cooperative scheduler, which
 * runs the session step (vu/session.h: messages, backend channel, rings,
 * with the budgets the service VM uses too). */
#define _GNU_SOURCE
#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "uvh/host.h"

#define IDLE_WAIT_MS 500

/* vu_session_io.recv: the first message of a turn once poll(2) reported the
 * socket readable; more in the same turn only if they are already there (a
 * blocking read of a message that is not coming would stall the rings, and
 * an idle turn costs no extra syscall). */
static int front_recv(void *ctx, struct vu_msg *msg)
{
	struct uvh_server *s = ctx;

	if (!s->readable) {
		struct pollfd pfd = {.fd = s->conn_fd, .events = POLLIN};

		if (!s->read_more || poll(&pfd, 1, 0) <= 0 ||
		    !(pfd.revents & (POLLIN | POLLHUP | POLLERR)))
			return -EAGAIN;
	}
	s->readable = false;
	s->read_more = true;
	return uvh_recv_msg(s->conn_fd, msg);
}

static bool chan_ready(void *ctx)
{
	const struct uvh_server *s = ctx;

	return s->chan_readable;
}

static int session_poller(void *ctx)
{
	struct uvh_server *s = ctx;
	int rc = vu_session_step(&s->session);

	if (rc < 0) {
		s->step_err = rc;
		return 0;
	}
	return rc;
}

int uvh_server_init(struct uvh_server *s, enum uvh_mode mode, const char *path, int fd,
		    struct vu_backend *backend, bool verbose)
{
	s->mode = mode;
	s->path = path;
	s->listen_fd = -1;
	s->conn_fd = -1;
	s->backend = backend;
	s->connections = 0;
	s->stop = 0;
	s->on_turn = NULL;
	s->on_turn_ctx = NULL;
	s->extra = NULL;
	s->busy_poll_ns = UVH_BUSY_POLL_NS_DEFAULT;
	s->io = (struct vu_session_io){.recv = front_recv, .backend_ready = chan_ready, .ctx = s};
	vu_session_init(&s->session, backend, &s->io, &s->rx);
	uvh_platform_init(&s->hp, verbose);
	k_sched_init(&s->sched, uvh_now_ns);
	if (mode == UVH_SERVER) {
		s->listen_fd = uvh_listen(path);
		if (s->listen_fd < 0)
			return s->listen_fd;
	} else if (mode == UVH_FD) {
		s->conn_fd = fd;
	}
	return 0;
}

static void say(struct uvh_server *s, const char *what)
{
	fprintf(stderr, "uvhostd: %s\n", what);
	(void)s;
}

static void attach(struct uvh_server *s, int fd)
{
	char line[128];

	s->conn_fd = fd;
	s->hp.sock = fd;
	s->connections++;
	s->readable = false;
	s->step_err = 0;
	k_sched_add(&s->sched, "session", session_poller, s);
	snprintf(line, sizeof(line), "front-end connected (connection %llu)",
		 (unsigned long long)s->connections);
	say(s, line);
}

static void detach(struct uvh_server *s, int why)
{
	char line[160];

	vu_backend_disconnect(s->backend);
	close(s->conn_fd);
	s->conn_fd = -1;
	s->hp.sock = -1;
	for (int i = 0; i < K_MAX_POLLERS; i++)
		k_sched_remove(&s->sched, i);
	snprintf(line, sizeof(line),
		 "front-end disconnected (%s); state reset, %u mappings left, %llu messages",
		 why == -ECONNRESET ? "closed" : strerror(-why), s->hp.live_mappings,
		 (unsigned long long)s->backend->n_msgs);
	s->backend->n_msgs = 0;
	say(s, line);
}

/* Wait for the next front-end. Returns 0 with conn_fd set, 1 to stop. */
static int wait_frontend(struct uvh_server *s)
{
	while (!s->stop) {
		int fd;
		if (s->mode == UVH_FD)
			return 1;
		if (s->mode == UVH_SERVER) {
			struct pollfd pfd = {.fd = s->listen_fd, .events = POLLIN};
			if (poll(&pfd, 1, IDLE_WAIT_MS) <= 0)
				continue;
			fd = accept4(s->listen_fd, NULL, NULL, SOCK_CLOEXEC);
		} else {
			fd = uvh_connect(s->path);
			if (fd < 0) {
				usleep(100 * 1000);
				continue;
			}
		}
		if (fd >= 0) {
			attach(s, fd);
			return 0;
		}
	}
	return 1;
}

static int drain_kick(int fd)
{
	uint64_t v;
	return read(fd, &v, sizeof(v)) == (ssize_t)sizeof(v);
}

static bool any_polled_ring(const struct vu_backend *b)
{
	for (uint32_t i = 0; i < vu_backend_num_queues(b); i++)
		if (vu_ring_started(b, i) && vu_ring_kick_fd(b, i) < 0)
			return true;
	return false;
}

/* One turn: kicks first (a message may close their fds), then the session
 * step. timeout: how long poll(2) may sleep, in ms (0: busy-polling). */
static int serve_turn(struct uvh_server *s, int timeout)
{
	struct pollfd pfd[2 + VU_MAX_QUEUES + UVH_MAX_EXTRA_FDS];
	uint32_t ring_of[2 + VU_MAX_QUEUES];
	struct vu_backend *b = s->backend;
	int n = 1, n_extra = 0, work = 0, chan_at = -1;

	memset(pfd, 0, sizeof(pfd)); /* revents stay 0 if poll() is interrupted */
	pfd[0].fd = s->conn_fd;
	pfd[0].events = POLLIN;
	for (uint32_t i = 0; i < vu_backend_num_queues(b); i++) {
		if (!vu_ring_started(b, i) || vu_ring_kick_fd(b, i) < 0)
			continue;
		pfd[n].fd = vu_ring_kick_fd(b, i);
		pfd[n].events = POLLIN;
		ring_of[n++] = i;
	}
	/* Always watched, not only while a reply is due: a hang-up must close
	 * it, or poll(2) would report it readable forever. */
	if (b->backend_chan >= 0) {
		chan_at = n;
		pfd[n].fd = b->backend_chan;
		pfd[n++].events = POLLIN;
	}
	if (s->extra)
		n_extra = s->extra->fill(s->extra->ctx, pfd + n, UVH_MAX_EXTRA_FDS);
	if (poll(pfd, (nfds_t)(n + n_extra), timeout) < 0) {
		if (errno != EINTR)
			return -errno;
		memset(pfd, 0, sizeof(pfd));
	}
	for (int i = 1; i < n; i++)
		if (i != chan_at && (pfd[i].revents & POLLIN) && drain_kick(pfd[i].fd))
			vu_backend_kick(b, ring_of[i]);
	s->readable = (pfd[0].revents & (POLLIN | POLLHUP | POLLERR)) != 0;
	s->read_more = false;
	/* A hang-up too: the library then closes the channel. */
	s->chan_readable =
		chan_at > 0 && (pfd[chan_at].revents & (POLLIN | POLLHUP | POLLERR)) != 0;
	if (n_extra > 0)
		work += s->extra->ready(s->extra->ctx, pfd + n, n_extra);
	if (s->on_turn)
		s->on_turn(s->on_turn_ctx);
	work += k_sched_turn(&s->sched);
	if (s->step_err < 0)
		return s->step_err;
	if (uvh_platform_poisoned(&s->hp)) {
		say(s, "error: a memory region's file shrank under its mapping (SIGBUS absorbed); "
		       "dropping the front-end");
		return -EFAULT;
	}
	return work;
}

/* How long the next turn's poll(2) may sleep (ms), after a turn that did
 * `work`. Work left over by the step's budgets shows as work, so a turn
 * that did some is followed by one that does not sleep. After that,
 * busy-polling is for the front-end: its next request comes sooner than a
 * wake-up. While a device waits for operations in flight it sleeps
 * instead: their completion wakes the loop through the device's fd, and
 * spinning meanwhile buys nothing, while where CPUs are shared (a virtual
 * machine's disk) it slows the device down. Rings without kick fds are only
 * seen by looking, once per millisecond or per completion. */
static int next_timeout_ms(struct uvh_server *s, int work, bool busy)
{
	const struct uvh_fd_source *x = s->extra;

	if (work > 0)
		return 0;
	if (busy && !(x && x->waiting && x->waiting(x->ctx)))
		return 0;
	return any_polled_ring(s->backend) ? 1 : IDLE_WAIT_MS;
}

int uvh_server_run(struct uvh_server *s)
{
	struct vu_busy_poll bp = {.window_ns = s->busy_poll_ns, .last_work_ns = 0};
	int timeout = IDLE_WAIT_MS;

	if (s->mode == UVH_FD && s->conn_fd >= 0)
		attach(s, s->conn_fd);
	while (!s->stop) {
		int rc;
		if (s->conn_fd < 0 && wait_frontend(s))
			break;
		rc = serve_turn(s, timeout);
		if (rc < 0) {
			detach(s, rc);
			timeout = IDLE_WAIT_MS;
			continue;
		}
		/* Adaptive busy-poll (vu/session.h): sleeping in poll(2) and
		 * being woken costs more than spinning briefly. */
		timeout = next_timeout_ms(s, rc, vu_busy_poll_turn(&bp, rc, uvh_now_ns()));
	}
	if (s->conn_fd >= 0)
		detach(s, -ECONNRESET);
	if (s->listen_fd >= 0) {
		close(s->listen_fd);
		unlink(s->path);
	}
	return 0;
}
