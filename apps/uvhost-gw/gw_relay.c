/* gw_relay.c - VMM (fds) to service VM (no fds) relay (see gw_relay.h). */
#include "gw_relay.h"

#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "vu/msg.h"

static void logf_(struct gw_relay *r, enum gw_log_level lvl, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static void logf_(struct gw_relay *r, enum gw_log_level lvl, const char *fmt, ...)
{
	char line[384];
	va_list ap;

	if (!r->io->log)
		return;
	va_start(ap, fmt);
	vsnprintf(line, sizeof(line), fmt, ap);
	va_end(ap);
	r->io->log(r->io->ctx, lvl, line);
}

static void close_fd(struct gw_relay *r, int *fd)
{
	if (*fd >= 0)
		r->io->close_fd(r->io->ctx, *fd);
	*fd = -1;
}

void gw_relay_init(struct gw_relay *r, const struct vu_fe_transport *vm,
		   const struct gw_relay_io *io, const struct gw_windows *win)
{
	memset(r, 0, sizeof(*r));
	r->vm = vm;
	r->io = io;
	r->win = win;
	r->fe_chan = -1;
	for (uint32_t i = 0; i < VU_MAX_QUEUES; i++)
		r->ring[i] = (struct gw_ring_fds){.kick = -1, .call = -1, .err = -1, .base = 0};
}

void gw_relay_reset(struct gw_relay *r)
{
	for (uint32_t i = 0; i < VU_MAX_QUEUES; i++) {
		if (r->ring[i].call_db && r->io->db_call_drop)
			r->io->db_call_drop(r->io->ctx, i);
		r->ring[i].kick_db = r->ring[i].call_db = false;
		close_fd(r, &r->ring[i].kick);
		close_fd(r, &r->ring[i].call);
		close_fd(r, &r->ring[i].err);
	}
	close_fd(r, &r->fe_chan);
}

uint64_t gw_relay_offered_pf(const struct gw_relay *r)
{
	return r->vm_pf & GW_PF_RELAYABLE;
}

static bool fe_acks(const struct gw_relay *r)
{
	return (r->fe_pf & VU_BIT(VU_PF_REPLY_ACK)) != 0;
}

/* ---- talking to the VM ----------------------------------------------------- */

static int vm_lost(struct gw_relay *r, int rc, const char *what)
{
	r->vm_lost = true;
	logf_(r, GW_LOG_ERR, "service VM: %s (%d); dropping both connections", what, rc);
	return rc < 0 ? rc : -EPROTO;
}

static uint64_t now(const struct gw_relay *r)
{
	return r->now_ns ? r->now_ns() : 0;
}

/* The size a reply to `req` must have. */
static bool reply_size_ok(const struct vu_msg *req, const struct vu_msg *rep)
{
	switch (req->hdr.request) {
	case VU_REQ_GET_CONFIG: return rep->hdr.size == req->hdr.size;
	case VU_REQ_GET_VRING_BASE: return rep->hdr.size == sizeof(struct vu_vring_state);
	default: return rep->hdr.size == sizeof(uint64_t);
	}
}

/* Send `m` to the VM and, when `want_reply`, take its answer into `rep`. */
static int vm_call(struct gw_relay *r, const struct vu_msg *m, bool want_reply, struct vu_msg *rep)
{
	uint64_t t0 = now(r);
	int rc = r->vm->send(r->vm->ctx, m);

	if (rc < 0)
		return vm_lost(r, rc, "send failed");
	r->st.relayed++;
	if (!want_reply)
		return 0;
	rc = r->vm->recv(r->vm->ctx, rep);
	if (rc < 0)
		return vm_lost(r, rc, "no reply");
	for (uint32_t i = 0; i < rep->nfds && i < VU_MAX_FDS; i++)
		r->vm->close_fd(r->vm->ctx, rep->fds[i]);
	if (rep->hdr.request != m->hdr.request || rep->hdr.flags != VU_REPLY_FLAGS ||
	    rep->nfds != 0 || !reply_size_ok(m, rep)) {
		logf_(r, GW_LOG_ERR,
		      "service VM answered %s with request %" PRIu32 " flags 0x%" PRIx32
		      " size %" PRIu32,
		      vu_request_name(m->hdr.request), rep->hdr.request, rep->hdr.flags,
		      rep->hdr.size);
		return vm_lost(r, -EPROTO, "reply does not match its request");
	}
	if (r->now_ns) {
		uint64_t dt = now(r) - t0;
		r->st.relay_ns_sum += dt;
		if (dt > r->st.relay_ns_max)
			r->st.relay_ns_max = dt;
		r->st.replies++;
	}
	return 0;
}

static void msg_init(struct vu_msg *m, uint32_t request, uint32_t flags, uint32_t size)
{
	memset(&m->hdr, 0, sizeof(m->hdr));
	m->hdr.request = request;
	m->hdr.flags = flags;
	m->hdr.size = size;
	m->nfds = 0;
	for (uint32_t i = 0; i < VU_MAX_FDS; i++)
		m->fds[i] = -1;
}

/* After SET_OWNER: the VM's own backend channel, for in-band calls and
 * errors. Without it the guest would never see an interrupt. */
static int setup_vm_channel(struct gw_relay *r)
{
	struct vu_msg m, rep;
	uint32_t port;
	int rc;

	rc = r->io->vm_backend_listen(r->io->ctx, &port);
	if (rc < 0) {
		logf_(r, GW_LOG_ERR, "cannot listen for the service VM's backend channel (%d)", rc);
		return rc;
	}
	msg_init(&m, VU_REQ_SET_BACKEND_REQ_FD, VU_VERSION | VU_FLAG_NEED_REPLY, sizeof(uint64_t));
	m.p.u64 = port;
	rc = vm_call(r, &m, true, &rep);
	if (rc < 0)
		return rc;
	if (rep.p.u64 != 0) {
		logf_(r, GW_LOG_ERR,
		      "service VM refused its backend channel on port %" PRIu32 " (%" PRIu64 ")",
		      port, rep.p.u64);
		return -ECONNREFUSED;
	}
	r->vm_chan = true;
	logf_(r, GW_LOG_INFO, "service VM backend channel on port %" PRIu32, port);
	return 0;
}

/* ---- answers to the VMM ------------------------------------------------------ */

static int fe_reply(struct gw_relay *r, const struct vu_msg *rep)
{
	int rc = r->io->fe_send(r->io->ctx, rep);

	if (rc < 0)
		logf_(r, GW_LOG_WARN, "reply to the VMM not sent (%d)", rc);
	return rc;
}

static int fe_ack(struct gw_relay *r, const struct vu_msg *req, int result)
{
	struct vu_msg rep;

	msg_init(&rep, req->hdr.request, VU_REPLY_FLAGS, sizeof(uint64_t));
	rep.p.u64 = result < 0 ? (uint64_t)-result : 0;
	return fe_reply(r, &rep);
}

/* A request the gateway refuses itself: told with REPLY_ACK when asked,
 * else the connection goes (as a back-end does, vhost/src/backend.c). */
static int refuse(struct gw_relay *r, const struct vu_msg *msg, int err, const char *why)
{
	const struct vu_msg_rule *rule = vu_msg_rule(msg->hdr.request);

	r->st.refused++;
	logf_(r, GW_LOG_ERR, "refused %s (%" PRIu32 "): %s", vu_request_name(msg->hdr.request),
	      msg->hdr.request, why);
	if (rule && rule->has_reply)
		return err;
	if ((msg->hdr.flags & VU_FLAG_NEED_REPLY) && fe_acks(r)) {
		int rc = fe_ack(r, msg, err);
		return rc < 0 ? rc : 0;
	}
	return err;
}

/* ---- messages from the VMM ---------------------------------------------------- */

static void trace_region(struct gw_relay *r, const char *what, const struct vu_mem_region *in,
			 const struct vu_mem_region *out)
{
	logf_(r, GW_LOG_INFO,
	      "<- %s gpa=0x%" PRIx64 " size=0x%" PRIx64 " fd offset 0x%" PRIx64
	      " -> window %" PRIu64 " offset 0x%" PRIx64,
	      what, in->gpa, in->size, in->mmap_offset,
	      (uint64_t)(out->mmap_offset >> VU_WINDOW_SHIFT),
	      (uint64_t)(out->mmap_offset & ((1ull << VU_WINDOW_SHIFT) - 1)));
}

/* One line per VMM message with -v, in uvhostd's "<- NAME" form. */
static void trace(struct gw_relay *r, const struct vu_msg *msg)
{
	uint32_t req = msg->hdr.request;

	if (req == VU_REQ_ADD_MEM_REG || req == VU_REQ_SET_MEM_TABLE)
		return; /* traced with their windows */
	if (req == VU_REQ_SET_VRING_KICK || req == VU_REQ_SET_VRING_CALL ||
	    req == VU_REQ_SET_VRING_ERR)
		logf_(r, GW_LOG_INFO, "<- %s ring=%" PRIu64 " fd=%s -> nofd", vu_request_name(req),
		      (uint64_t)(msg->p.u64 & VU_VRING_IDX_MASK), msg->nfds ? "yes" : "no");
	else if (req == VU_REQ_SET_VRING_NUM || req == VU_REQ_SET_VRING_BASE ||
		 req == VU_REQ_GET_VRING_BASE || req == VU_REQ_SET_VRING_ENABLE)
		logf_(r, GW_LOG_INFO, "<- %s ring=%" PRIu32 " num=%" PRIu32, vu_request_name(req),
		      msg->p.state.index, msg->p.state.num);
	else
		logf_(r, GW_LOG_INFO, "<- %s size=%" PRIu32 " fds=%" PRIu32, vu_request_name(req),
		      msg->hdr.size, msg->nfds);
}

/* Relay `out` (the VMM's request, rewritten) and pass the answer back. */
static int forward(struct gw_relay *r, const struct vu_msg *req, struct vu_msg *out)
{
	const struct vu_msg_rule *rule = vu_msg_rule(req->hdr.request);
	bool ack = (req->hdr.flags & VU_FLAG_NEED_REPLY) && fe_acks(r);
	bool want = (rule && rule->has_reply) || ack;
	struct vu_msg rep;
	int rc;

	/* NEED_REPLY only when the VMM may get an ack: the VM negotiated
	 * REPLY_ACK with us, and would answer what the VMM does not expect. */
	if (!ack)
		out->hdr.flags &= ~VU_FLAG_NEED_REPLY;
	out->nfds = 0;
	rc = vm_call(r, out, want, &rep);
	if (rc < 0 || !want)
		return rc;
	if (req->hdr.request == VU_REQ_GET_PROTOCOL_FEATURES) {
		r->vm_pf = rep.p.u64;
		r->vm_pf_known = true;
		rep.p.u64 = gw_relay_offered_pf(r);
	} else if (req->hdr.request == VU_REQ_GET_FEATURES) {
		r->vm_features = rep.p.u64;
	}
	return fe_reply(r, &rep);
}

static int set_protocol_features(struct gw_relay *r, const struct vu_msg *msg)
{
	uint64_t want = msg->p.u64, to_vm;
	struct vu_msg out = *msg;

	if (!r->vm_pf_known)
		return refuse(r, msg, -EPROTO, "GET_PROTOCOL_FEATURES was not asked first");
	if (want & ~gw_relay_offered_pf(r))
		return refuse(r, msg, -EINVAL, "bits that were not offered");
	if ((r->vm_pf & GW_PF_VM_REQUIRED) != GW_PF_VM_REQUIRED)
		return refuse(r, msg, -EPROTONOSUPPORT,
			      "the service VM lacks WINDOW_ADDR, INBAND_NOTIFICATIONS, "
			      "BACKEND_REQ or REPLY_ACK");
	to_vm = want | GW_PF_VM_REQUIRED;
	r->db = r->io->db_kick && r->io->db_call && (r->vm_pf & VU_BIT(VU_PF_DOORBELL));
	if (r->db)
		to_vm |= VU_BIT(VU_PF_DOORBELL);
	r->fe_pf = want;
	r->fe_pf_set = true;
	out.p.u64 = to_vm;
	return forward(r, msg, &out);
}

static int set_owner(struct gw_relay *r, const struct vu_msg *msg)
{
	struct vu_msg out = *msg;
	int rc;

	if (!r->fe_pf_set)
		return refuse(r, msg, -EPROTONOSUPPORT,
			      "the gateway needs VHOST_USER_F_PROTOCOL_FEATURES negotiated "
			      "before SET_OWNER");
	rc = forward(r, msg, &out);
	if (rc < 0)
		return rc;
	r->owner = true;
	if (!r->vm_chan) {
		rc = setup_vm_channel(r);
		if (rc < 0)
			return r->vm_lost ? rc : vm_lost(r, rc, "no backend channel");
	}
	return 0;
}

static int mem_table(struct gw_relay *r, struct vu_msg *msg)
{
	struct vu_msg out = *msg;
	struct vu_mem_table_msg *t = &out.p.mem_table;
	char why[320];

	if (t->nregions == 0 || t->nregions > VU_MEM_TABLE_MAX_REGIONS ||
	    msg->hdr.size < offsetof(struct vu_mem_table_msg, regions) +
				    t->nregions * sizeof(struct vu_mem_region) ||
	    msg->nfds != t->nregions)
		return refuse(r, msg, -EINVAL, "nregions, size and fds do not agree");
	for (uint32_t i = 0; i < t->nregions; i++) {
		int rc =
			gw_windows_translate(r->win, msg->fds[i], &t->regions[i], why, sizeof(why));
		if (rc < 0)
			return refuse(r, msg, rc, why);
	}
	for (uint32_t i = 0; i < t->nregions; i++)
		trace_region(r, "SET_MEM_TABLE", &msg->p.mem_table.regions[i], &t->regions[i]);
	r->st.regions += t->nregions;
	return forward(r, msg, &out);
}

static int add_region(struct gw_relay *r, struct vu_msg *msg)
{
	struct vu_msg out = *msg;
	char why[320];
	int rc = gw_windows_translate(r->win, msg->fds[0], &out.p.mem_single.region, why,
				      sizeof(why));

	if (rc < 0)
		return refuse(r, msg, rc, why);
	trace_region(r, "ADD_MEM_REG", &msg->p.mem_single.region, &out.p.mem_single.region);
	r->st.regions++;
	return forward(r, msg, &out);
}

/* REM names the region by gpa, uaddr and size; the VM ignores mmap_offset
 * and an fd (sent by older VMMs) stays here, to be closed. */
static int rem_region(struct gw_relay *r, struct vu_msg *msg)
{
	struct vu_msg out = *msg;

	out.p.mem_single.region.mmap_offset = 0;
	return forward(r, msg, &out);
}

/* A kick or call eventfd as a doorbell: lent to the ivshmem server, the VM
 * told its vector (with NEED_REPLY: a VM that refuses it gets the NOFD form,
 * and the ring stays in-band). */
static int ring_doorbell(struct gw_relay *r, const struct vu_msg *msg, struct vu_msg *out,
			 uint32_t index, int fd)
{
	bool call = msg->hdr.request == VU_REQ_SET_VRING_CALL;
	uint32_t vec = 0, peer = 0;
	struct vu_msg rep;
	int rc = call ? r->io->db_call(r->io->ctx, index, fd, &peer)
		      : r->io->db_kick(r->io->ctx, index, fd, &vec);

	if (rc < 0) {
		r->st.db_fallbacks++;
		logf_(r, GW_LOG_INFO, "ring %" PRIu32 ": no doorbell for its %s (%d): in-band",
		      index, call ? "call" : "kick", rc);
		return forward(r, msg, out);
	}
	out->p.u64 = index | VU_VRING_NOFD | VU_VRING_DOORBELL |
		     (uint64_t)vec << VU_VRING_DB_VECTOR_SHIFT |
		     (uint64_t)peer << VU_VRING_DB_PEER_SHIFT |
		     (uint64_t)GW_DB_DEVICE << VU_VRING_DB_DEVICE_SHIFT;
	out->hdr.flags |= VU_FLAG_NEED_REPLY;
	out->nfds = 0;
	rc = vm_call(r, out, true, &rep);
	if (rc < 0)
		return rc;
	if (rep.p.u64 != 0) {
		r->st.db_fallbacks++;
		logf_(r, GW_LOG_WARN,
		      "ring %" PRIu32 ": the service VM refused %s doorbell (%" PRIu64 "): in-band",
		      index, call ? "a call" : "a kick", rep.p.u64);
		if (call)
			r->io->db_call_drop(r->io->ctx, index);
		out->p.u64 = index | VU_VRING_NOFD;
		out->hdr.flags = msg->hdr.flags;
		return forward(r, msg, out);
	}
	if (call) {
		r->io->db_call_commit(r->io->ctx, index);
		r->ring[index].call_db = true;
		r->st.db_calls++;
	} else {
		r->ring[index].kick_db = true;
		r->st.db_kicks++;
	}
	logf_(r, GW_LOG_INFO, "ring %" PRIu32 ": %s -> doorbell %s %" PRIu32, index,
	      call ? "call" : "kick", call ? "peer" : "vector", call ? peer : vec);
	if ((msg->hdr.flags & VU_FLAG_NEED_REPLY) && fe_acks(r))
		return fe_ack(r, msg, 0) < 0 ? -EPIPE : 0;
	return 0;
}

/* KICK/CALL/ERR: the eventfd stays with the gateway, the VM gets NOFD, or
 * with doorbells the vector the eventfd became. */
static int ring_fd(struct gw_relay *r, struct vu_msg *msg)
{
	uint64_t v = msg->p.u64;
	uint32_t index = (uint32_t)(v & VU_VRING_IDX_MASK);
	struct vu_msg out = *msg;
	int *slot;

	if (v & ~(uint64_t)(VU_VRING_IDX_MASK | VU_VRING_NOFD))
		return refuse(r, msg, -EINVAL, "reserved bits in the ring payload");
	if (index >= VU_MAX_QUEUES)
		return refuse(r, msg, -ERANGE, "ring index beyond the gateway's table");
	if ((v & VU_VRING_NOFD) ? msg->nfds != 0 : msg->nfds != 1)
		return refuse(r, msg, -EINVAL, "NOFD bit and fds do not agree");
	slot = msg->hdr.request == VU_REQ_SET_VRING_KICK   ? &r->ring[index].kick
	       : msg->hdr.request == VU_REQ_SET_VRING_CALL ? &r->ring[index].call
							   : &r->ring[index].err;
	close_fd(r, slot);
	if (msg->hdr.request == VU_REQ_SET_VRING_KICK)
		r->ring[index].kick_db = false;
	else if (msg->hdr.request == VU_REQ_SET_VRING_CALL)
		r->ring[index].call_db = false;
	if (msg->nfds == 1) {
		*slot = msg->fds[0];
		msg->fds[0] = -1; /* kept */
	}
	out.p.u64 = index | VU_VRING_NOFD;
	if (r->db && *slot >= 0 && msg->hdr.request != VU_REQ_SET_VRING_ERR)
		return ring_doorbell(r, msg, &out, index, *slot);
	return forward(r, msg, &out);
}

/* The VMM's backend channel stays here; the VM has its own. */
static int backend_req_fd(struct gw_relay *r, struct vu_msg *msg)
{
	close_fd(r, &r->fe_chan);
	r->fe_chan = msg->fds[0];
	msg->fds[0] = -1;
	if ((msg->hdr.flags & VU_FLAG_NEED_REPLY) && fe_acks(r))
		return fe_ack(r, msg, 0) < 0 ? -EPIPE : 0;
	return 0;
}

static int dispatch(struct gw_relay *r, struct vu_msg *msg)
{
	struct vu_msg out;

	switch (msg->hdr.request) {
	case VU_REQ_SET_PROTOCOL_FEATURES: return set_protocol_features(r, msg);
	case VU_REQ_SET_OWNER: return set_owner(r, msg);
	case VU_REQ_SET_MEM_TABLE: return mem_table(r, msg);
	case VU_REQ_ADD_MEM_REG: return add_region(r, msg);
	case VU_REQ_REM_MEM_REG: return rem_region(r, msg);
	case VU_REQ_SET_VRING_KICK:
	case VU_REQ_SET_VRING_CALL:
	case VU_REQ_SET_VRING_ERR: return ring_fd(r, msg);
	case VU_REQ_SET_BACKEND_REQ_FD: return backend_req_fd(r, msg);
	case VU_REQ_GET_VRING_BASE:
	case VU_REQ_RESET_DEVICE:
	case VU_REQ_RESET_OWNER:
	default: break;
	}
	if (msg->nfds != 0)
		return refuse(r, msg, -EINVAL, "fds on a request the gateway does not rewrite");
	out = *msg;
	return forward(r, msg, &out);
}

/* After the VM answered: what the VMM's request means for the fds kept here. */
static void after(struct gw_relay *r, const struct vu_msg *msg)
{
	uint32_t index = msg->p.state.index;

	switch (msg->hdr.request) {
	case VU_REQ_SET_VRING_BASE:
		if (index < VU_MAX_QUEUES)
			r->ring[index].base = msg->p.state.num;
		break;
	case VU_REQ_SET_VRING_ENABLE:
		/* A ring (re)starts. The VM runs on its own: while this gateway
		 * was away (killed, restarted, reconnecting) it may have completed
		 * requests whose calls nobody could deliver, and the guest would
		 * wait for them forever. One call per restart costs a spurious
		 * interrupt at worst. Only a ring that resumes (a non-zero base):
		 * a fresh start has nothing to lose, and an interrupt there can
		 * reach firmware (SeaBIOS) or a guest that has no handler yet. */
		if (msg->p.state.num == 1 && index < VU_MAX_QUEUES && r->ring[index].call >= 0 &&
		    r->ring[index].base != 0) {
			r->io->signal(r->io->ctx, r->ring[index].call);
			r->st.start_calls++;
		}
		break;
	case VU_REQ_GET_VRING_BASE:
		/* The ring stopped: its kick fd is stale (QEMU sends a new one). */
		if (index < VU_MAX_QUEUES) {
			close_fd(r, &r->ring[index].kick);
			r->ring[index].kick_db = false;
		}
		break;
	case VU_REQ_RESET_DEVICE:
	case VU_REQ_RESET_OWNER:
		for (uint32_t i = 0; i < VU_MAX_QUEUES; i++) {
			close_fd(r, &r->ring[i].kick);
			r->ring[i].kick_db = false;
		}
		break;
	default: break;
	}
}

int gw_relay_fe_msg(struct gw_relay *r, struct vu_msg *msg)
{
	const char *why;
	int rc;

	r->st.fe_msgs++;
	trace(r, msg);
	/* The same rules a back-end applies, against what the VMM negotiated
	 * with us: sizes, fd counts, gating features, ownership. */
	rc = vu_msg_check(msg, r->fe_pf, r->owner, &why);
	if (rc < 0)
		rc = refuse(r, msg, rc, why);
	else
		rc = dispatch(r, msg);
	if (rc == 0 && !r->vm_lost)
		after(r, msg);
	for (uint32_t i = 0; i < msg->nfds && i < VU_MAX_FDS; i++)
		close_fd(r, &msg->fds[i]);
	msg->nfds = 0;
	return r->vm_lost ? (rc < 0 ? rc : -ECONNRESET) : rc;
}

/* ---- the VM's backend channel and the kicks ---------------------------------- */

static int vm_answer(struct gw_relay *r, const struct vu_msg *req, int result)
{
	struct vu_msg rep;
	int rc;

	if (!(req->hdr.flags & VU_FLAG_NEED_REPLY))
		return 0;
	msg_init(&rep, req->hdr.request, VU_REPLY_FLAGS, sizeof(uint64_t));
	rep.p.u64 = result < 0 ? (uint64_t)-result : 0;
	rc = r->vm->backend_send(r->vm->ctx, &rep);
	return rc < 0 ? vm_lost(r, rc, "backend channel reply not sent") : 0;
}

static int signal_ring(struct gw_relay *r, const struct vu_msg *msg, bool call)
{
	uint32_t index = msg->p.state.index;
	int fd;

	if (msg->hdr.size != sizeof(struct vu_vring_state) || index >= VU_MAX_QUEUES) {
		r->st.vm_refused++;
		logf_(r, GW_LOG_WARN, "service VM sent %s for ring %" PRIu32 " (size %" PRIu32 ")",
		      call ? "VRING_CALL" : "VRING_ERR", index, msg->hdr.size);
		return vm_answer(r, msg, -EINVAL);
	}
	fd = call ? r->ring[index].call : r->ring[index].err;
	if (fd < 0) {
		if (call)
			r->st.calls_no_fd++;
		return vm_answer(r, msg, 0);
	}
	if (call)
		r->st.calls++;
	else
		r->st.errs++;
	r->io->signal(r->io->ctx, fd);
	return vm_answer(r, msg, 0);
}

/* QEMU answers a config change with GET_CONFIG on its main channel, so
 * nobody may wait for its reply here: it goes without NEED_REPLY. */
static int config_change(struct gw_relay *r, const struct vu_msg *msg)
{
	struct vu_msg out;

	if (r->fe_chan < 0 || !(r->fe_pf & VU_BIT(VU_PF_BACKEND_REQ))) {
		r->st.vm_refused++;
		return vm_answer(r, msg, -ENOTCONN);
	}
	msg_init(&out, VU_BREQ_CONFIG_CHANGE_MSG, VU_VERSION, 0);
	if (r->io->fe_backend_send(r->io->ctx, r->fe_chan, &out) < 0) {
		logf_(r, GW_LOG_WARN, "CONFIG_CHANGE_MSG not passed to the VMM");
		return vm_answer(r, msg, -EPIPE);
	}
	r->st.config++;
	return vm_answer(r, msg, 0);
}

int gw_relay_vm_request(struct gw_relay *r, struct vu_msg *msg)
{
	int rc;

	r->st.vm_requests++;
	for (uint32_t i = 0; i < msg->nfds && i < VU_MAX_FDS; i++)
		r->vm->close_fd(r->vm->ctx, msg->fds[i]);
	msg->nfds = 0;
	if ((msg->hdr.flags & ~VU_FLAG_NEED_REPLY) != VU_VERSION)
		return vm_lost(r, -EPROTO, "backend request with bad flags");
	switch (msg->hdr.request) {
	case VU_BREQ_VRING_CALL: rc = signal_ring(r, msg, true); break;
	case VU_BREQ_VRING_ERR: rc = signal_ring(r, msg, false); break;
	case VU_BREQ_CONFIG_CHANGE_MSG: rc = config_change(r, msg); break;
	default:
		/* SHMEM and the rest were never negotiated with the VM. */
		r->st.vm_refused++;
		logf_(r, GW_LOG_WARN, "service VM sent back-end request %s (%" PRIu32 "): refused",
		      vu_backend_request_name(msg->hdr.request), msg->hdr.request);
		rc = vm_answer(r, msg, -EOPNOTSUPP);
		break;
	}
	return rc;
}

int gw_relay_kick(struct gw_relay *r, uint32_t index)
{
	struct vu_msg m;

	if (index >= VU_MAX_QUEUES)
		return -ERANGE;
	/* No NEED_REPLY: a kick is a notification (docs/vsock-transport.md §4). */
	msg_init(&m, VU_REQ_VRING_KICK, VU_VERSION, sizeof(struct vu_vring_state));
	m.p.state.index = index;
	m.p.state.num = 0;
	if (vm_call(r, &m, false, NULL) < 0)
		return -ECONNRESET;
	r->st.kicks++;
	return 0;
}
