/* test_gw_relay.c - uvhost-gw's relay between a VMM (fds) and the service
 * VM (no fds), driven message by message.
 *
 * The VM side is a scripted transport: it records what the gateway sends
 * and answers every request that wants an answer as a uvhost back-end
 * would (features, REPLY_ACK 0, ring state, config bytes), unless a test
 * tells it to fail or to answer wrongly. The VMM side records the replies
 * the gateway sends back, and the eventfds it signals are real eventfds.
 * Guest memory is a real file declared as window 2.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/mman.h>
#include <unistd.h>

#include <cmocka.h>

#include "gw_relay.h"
#include "helpers/msg_build.h"
#include "vu/msg.h"

#define MAXLOG 64
#define WIN 2u
#define RAM (4u * 1024u * 1024u)

#define VM_FEATURES (VU_BIT(VU_F_VERSION_1) | VU_BIT(VU_F_PROTOCOL_FEATURES) | VU_BIT(9))
#define VM_PF                                                                                      \
	(GW_PF_RELAYABLE | VU_BIT(VU_PF_WINDOW_ADDR) | VU_BIT(VU_PF_INBAND_NOTIFICATIONS) |        \
	 VU_BIT(VU_PF_SHMEM))

struct fx {
	struct gw_relay r;
	struct vu_fe_transport vm;
	struct gw_relay_io io;
	struct gw_windows win;
	char path[64];
	/* VM side */
	struct vu_msg to_vm[MAXLOG];
	int n_to_vm;
	struct vu_msg vm_reply;
	bool have_reply;
	int vm_send_fail, vm_recv_fail;
	bool vm_wrong_reply;
	struct vu_msg vm_backend_out[MAXLOG];
	int n_vm_backend_out;
	/* VMM side */
	struct vu_msg to_fe[MAXLOG];
	int n_to_fe;
	struct vu_msg to_fe_chan[MAXLOG];
	int n_to_fe_chan;
	int signalled[MAXLOG];
	int n_signalled;
	int closes;
	struct vu_msg m;
	/* doorbells (io->db_*) */
	uint64_t vm_pf_extra;  /* added to the VM's protocol features */
	uint64_t vm_refuse_db; /* REPLY_ACK value for a doorbell KICK/CALL */
	int db_kick_err;       /* db_kick fails with this (negative) */
	uint32_t db_next_vec, db_next_peer;
	int db_kick_fd[MAXLOG], n_db_kick;
	int db_call_fd[MAXLOG], n_db_call;
	int db_commits, db_drops;
};

/* ---- the scripted service VM ---------------------------------------------- */

static int vm_send(void *ctx, const struct vu_msg *msg)
{
	struct fx *f = ctx;
	const struct vu_msg_rule *rule = vu_msg_rule(msg->hdr.request);
	struct vu_msg *rep = &f->vm_reply;

	if (f->vm_send_fail)
		return -f->vm_send_fail;
	assert_int_equal(msg->nfds, 0); /* nothing on this transport carries an fd */
	assert_true(f->n_to_vm < MAXLOG);
	f->to_vm[f->n_to_vm++] = *msg;
	f->have_reply = false;
	if (!((rule && rule->has_reply) || (msg->hdr.flags & VU_FLAG_NEED_REPLY)))
		return 0;
	memset(rep, 0, sizeof(*rep));
	rep->hdr.request = msg->hdr.request;
	rep->hdr.flags = VU_REPLY_FLAGS;
	rep->hdr.size = 8;
	switch (msg->hdr.request) {
	case VU_REQ_GET_FEATURES: rep->p.u64 = VM_FEATURES; break;
	case VU_REQ_GET_PROTOCOL_FEATURES: rep->p.u64 = VM_PF | f->vm_pf_extra; break;
	case VU_REQ_GET_QUEUE_NUM: rep->p.u64 = 4; break;
	case VU_REQ_GET_VRING_BASE:
		rep->p.state.index = msg->p.state.index;
		rep->p.state.num = 77;
		break;
	case VU_REQ_GET_CONFIG:
		rep->hdr.size = msg->hdr.size;
		memcpy(rep->p.raw, msg->p.raw, msg->hdr.size);
		rep->p.config.data[0] = 0xab;
		break;
	case VU_REQ_SET_VRING_KICK:
	case VU_REQ_SET_VRING_CALL:
		rep->p.u64 = (msg->p.u64 & VU_VRING_DOORBELL) ? f->vm_refuse_db : 0;
		break;
	default: rep->p.u64 = 0; break;
	}
	if (f->vm_wrong_reply)
		rep->hdr.request = VU_REQ_GET_STATUS;
	f->have_reply = true;
	return 0;
}

static int vm_recv(void *ctx, struct vu_msg *msg)
{
	struct fx *f = ctx;

	if (f->vm_recv_fail)
		return -f->vm_recv_fail;
	assert_true(f->have_reply);
	*msg = f->vm_reply;
	msg->nfds = 0;
	f->have_reply = false;
	return 0;
}

static int vm_backend_send(void *ctx, const struct vu_msg *msg)
{
	struct fx *f = ctx;

	f->vm_backend_out[f->n_vm_backend_out++] = *msg;
	return 0;
}

static void vm_close(void *ctx, int fd)
{
	(void)ctx;
	close(fd);
}

/* ---- the VMM side ------------------------------------------------------- */

static int fe_send(void *ctx, const struct vu_msg *msg)
{
	struct fx *f = ctx;

	f->to_fe[f->n_to_fe++] = *msg;
	return 0;
}

static int fe_backend_send(void *ctx, int chan, const struct vu_msg *msg)
{
	struct fx *f = ctx;

	assert_true(chan >= 0);
	f->to_fe_chan[f->n_to_fe_chan++] = *msg;
	return 0;
}

static int do_signal(void *ctx, int fd)
{
	struct fx *f = ctx;
	uint64_t one = 1;

	f->signalled[f->n_signalled++] = fd;
	assert_int_equal(write(fd, &one, sizeof(one)), sizeof(one));
	return 0;
}

static void do_close(void *ctx, int fd)
{
	struct fx *f = ctx;

	f->closes++;
	assert_int_equal(close(fd), 0); /* an fd closed twice would fail here */
}

static int backend_listen(void *ctx, uint32_t *port)
{
	(void)ctx;
	*port = 105000;
	return 0;
}

static int db_kick(void *ctx, uint32_t ring, int fd, uint32_t *vector)
{
	struct fx *f = ctx;

	(void)ring;
	if (f->db_kick_err)
		return f->db_kick_err;
	f->db_kick_fd[f->n_db_kick++] = fd;
	*vector = f->db_next_vec++;
	return 0;
}

static int db_call(void *ctx, uint32_t ring, int fd, uint32_t *peer)
{
	struct fx *f = ctx;

	(void)ring;
	f->db_call_fd[f->n_db_call++] = fd;
	*peer = ++f->db_next_peer;
	return 0;
}

static void db_commit(void *ctx, uint32_t ring)
{
	struct fx *f = ctx;
	(void)ring;
	f->db_commits++;
}

static void db_drop(void *ctx, uint32_t ring)
{
	struct fx *f = ctx;
	(void)ring;
	f->db_drops++;
}

static int setup(void **state)
{
	struct fx *f = calloc(1, sizeof(*f));
	char why[320];
	int fd;

	assert_non_null(f);
	snprintf(f->path, sizeof(f->path), "/tmp/uvtest-gwrelay-XXXXXX");
	fd = mkstemp(f->path);
	assert_true(fd >= 0);
	assert_int_equal(ftruncate(fd, RAM), 0);
	close(fd);
	assert_int_equal(gw_windows_add(&f->win, WIN, f->path, why, sizeof(why)), 0);
	f->vm = (struct vu_fe_transport){.ctx = f,
					 .send = vm_send,
					 .recv = vm_recv,
					 .backend_send = vm_backend_send,
					 .close_fd = vm_close};
	f->io = (struct gw_relay_io){.ctx = f,
				     .fe_send = fe_send,
				     .fe_backend_send = fe_backend_send,
				     .signal = do_signal,
				     .close_fd = do_close,
				     .vm_backend_listen = backend_listen};
	gw_relay_init(&f->r, &f->vm, &f->io, &f->win);
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fx *f = *state;

	gw_relay_reset(&f->r);
	unlink(f->path);
	free(f);
	return 0;
}

/* ---- helpers -------------------------------------------------------------- */

static struct vu_msg *mk(struct fx *f, uint32_t request, uint32_t size)
{
	msg_build(&f->m, request, size);
	return &f->m;
}

static int send_u64(struct fx *f, uint32_t request, uint64_t v, bool need_reply)
{
	mk(f, request, 8)->p.u64 = v;
	if (need_reply)
		f->m.hdr.flags |= VU_FLAG_NEED_REPLY;
	return gw_relay_fe_msg(&f->r, &f->m);
}

static int send_empty(struct fx *f, uint32_t request)
{
	mk(f, request, 0);
	return gw_relay_fe_msg(&f->r, &f->m);
}

static const struct vu_msg *last_to_vm(struct fx *f)
{
	assert_true(f->n_to_vm > 0);
	return &f->to_vm[f->n_to_vm - 1];
}

static const struct vu_msg *last_to_fe(struct fx *f)
{
	assert_true(f->n_to_fe > 0);
	return &f->to_fe[f->n_to_fe - 1];
}

static const uint64_t FE_PF = VU_BIT(VU_PF_REPLY_ACK) | VU_BIT(VU_PF_MQ) |
			      VU_BIT(VU_PF_CONFIGURE_MEM_SLOTS) | VU_BIT(VU_PF_BACKEND_REQ) |
			      VU_BIT(VU_PF_CONFIG);

/* What QEMU 7.2 sends first. */
static void handshake(struct fx *f, uint64_t pf)
{
	assert_int_equal(send_empty(f, VU_REQ_GET_FEATURES), 0);
	assert_int_equal(send_empty(f, VU_REQ_GET_PROTOCOL_FEATURES), 0);
	assert_int_equal(send_u64(f, VU_REQ_SET_PROTOCOL_FEATURES, pf, false), 0);
	assert_int_equal(send_empty(f, VU_REQ_SET_OWNER), 0);
}

static int window_fd(struct fx *f)
{
	int fd = open(f->path, O_RDWR);

	assert_true(fd >= 0);
	return fd;
}

static int add_region(struct fx *f, int fd, uint64_t gpa, uint64_t size, uint64_t off)
{
	struct vu_msg *m = mk(f, VU_REQ_ADD_MEM_REG, sizeof(struct vu_mem_single_msg));

	m->p.mem_single.region = (struct vu_mem_region){
		.gpa = gpa, .size = size, .uaddr = 0x7f0000000000ull + gpa, .mmap_offset = off};
	m->fds[0] = fd;
	m->nfds = 1;
	m->hdr.flags |= VU_FLAG_NEED_REPLY;
	return gw_relay_fe_msg(&f->r, m);
}

static int ring_fd_msg(struct fx *f, uint32_t request, uint32_t index, int fd)
{
	struct vu_msg *m = mk(f, request, 8);

	m->p.u64 = index | (fd < 0 ? VU_VRING_NOFD : 0);
	if (fd >= 0) {
		m->fds[0] = fd;
		m->nfds = 1;
	}
	return gw_relay_fe_msg(&f->r, m);
}

/* ---- negotiation ------------------------------------------------------------ */

static void vmm_is_offered_only_what_can_be_carried(void **state)
{
	struct fx *f = *state;

	assert_int_equal(send_empty(f, VU_REQ_GET_PROTOCOL_FEATURES), 0);
	assert_int_equal(last_to_fe(f)->p.u64, GW_PF_RELAYABLE);
	assert_false(last_to_fe(f)->p.u64 & VU_BIT(VU_PF_WINDOW_ADDR));
	assert_false(last_to_fe(f)->p.u64 & VU_BIT(VU_PF_INBAND_NOTIFICATIONS));
	assert_false(last_to_fe(f)->p.u64 & VU_BIT(VU_PF_SHMEM));
	assert_int_equal(send_empty(f, VU_REQ_GET_FEATURES), 0);
	assert_int_equal(last_to_fe(f)->p.u64, VM_FEATURES);
	assert_int_equal(last_to_fe(f)->hdr.flags, VU_REPLY_FLAGS);
}

static void vm_gets_window_addr_inband_and_its_own_channel(void **state)
{
	struct fx *f = *state;
	const struct vu_msg *m;

	handshake(f, FE_PF);
	/* SET_PROTOCOL_FEATURES, SET_OWNER, then the gateway's own request. */
	assert_int_equal(f->n_to_vm, 5);
	m = &f->to_vm[2];
	assert_int_equal(m->hdr.request, VU_REQ_SET_PROTOCOL_FEATURES);
	assert_int_equal(m->p.u64, FE_PF | GW_PF_VM_REQUIRED);
	m = &f->to_vm[4];
	assert_int_equal(m->hdr.request, VU_REQ_SET_BACKEND_REQ_FD);
	assert_int_equal(m->p.u64, 105000);
	assert_true(m->hdr.flags & VU_FLAG_NEED_REPLY);
	assert_true(f->r.vm_chan);
	/* The gateway's own request was not answered to the VMM. */
	assert_int_equal(f->n_to_fe, 2);
}

static void unoffered_protocol_bits_are_refused(void **state)
{
	struct fx *f = *state;

	assert_int_equal(send_empty(f, VU_REQ_GET_PROTOCOL_FEATURES), 0);
	assert_true(send_u64(f, VU_REQ_SET_PROTOCOL_FEATURES,
			     VU_BIT(VU_PF_INBAND_NOTIFICATIONS) | VU_BIT(VU_PF_REPLY_ACK),
			     false) < 0);
	assert_true(send_u64(f, VU_REQ_SET_PROTOCOL_FEATURES, VU_BIT(VU_PF_WINDOW_ADDR), false) <
		    0);
	assert_int_equal(f->n_to_vm, 1); /* only the GET went through */
}

static void set_protocol_features_before_get_is_refused(void **state)
{
	struct fx *f = *state;

	assert_true(send_u64(f, VU_REQ_SET_PROTOCOL_FEATURES, 0, false) < 0);
	assert_int_equal(f->n_to_vm, 0);
}

static void vmm_without_protocol_features_is_refused_at_set_owner(void **state)
{
	struct fx *f = *state;

	assert_int_equal(send_empty(f, VU_REQ_GET_FEATURES), 0);
	assert_true(send_empty(f, VU_REQ_SET_OWNER) < 0);
	assert_int_equal(f->n_to_vm, 1);
}

static void need_reply_without_reply_ack_is_stripped(void **state)
{
	struct fx *f = *state;

	handshake(f, FE_PF & ~VU_BIT(VU_PF_REPLY_ACK));
	f->n_to_fe = 0;
	mk(f, VU_REQ_SET_VRING_NUM, 8);
	f->m.p.state.index = 0;
	f->m.p.state.num = 256;
	f->m.hdr.flags |= VU_FLAG_NEED_REPLY;
	assert_int_equal(gw_relay_fe_msg(&f->r, &f->m), 0);
	assert_false(last_to_vm(f)->hdr.flags & VU_FLAG_NEED_REPLY);
	assert_int_equal(f->n_to_fe, 0);
}

/* ---- memory ----------------------------------------------------------------- */

static void regions_become_windows_and_fds_stay_here(void **state)
{
	struct fx *f = *state;
	int fd, closes;

	handshake(f, FE_PF);
	fd = window_fd(f);
	closes = f->closes;
	assert_int_equal(add_region(f, fd, 0x100000000ull, 0x100000, 0x300000), 0);
	assert_int_equal(last_to_vm(f)->hdr.request, VU_REQ_ADD_MEM_REG);
	assert_int_equal(last_to_vm(f)->nfds, 0);
	assert_int_equal(last_to_vm(f)->p.mem_single.region.mmap_offset,
			 ((uint64_t)WIN << VU_WINDOW_SHIFT) | 0x300000);
	assert_int_equal(last_to_vm(f)->p.mem_single.region.gpa, 0x100000000ull);
	assert_int_equal(last_to_fe(f)->p.u64, 0); /* the VM's ack, passed on */
	assert_int_equal(f->closes, closes + 1);   /* the gateway keeps no region fd */
	assert_int_equal(f->r.st.regions, 1);
}

static void a_region_outside_every_window_never_reaches_the_vm(void **state)
{
	struct fx *f = *state;
	int fd = memfd_create("guest-ram-elsewhere", 0), sent, closes;

	handshake(f, FE_PF);
	assert_int_equal(ftruncate(fd, RAM), 0);
	sent = f->n_to_vm;
	closes = f->closes;
	assert_int_equal(add_region(f, fd, 0, 0x100000, 0), 0); /* answered, not fatal */
	assert_int_equal(last_to_fe(f)->p.u64, ENOENT);
	assert_int_equal(f->n_to_vm, sent);
	assert_int_equal(f->closes, closes + 1);
	/* Inside the window file, but past its end. */
	assert_int_equal(add_region(f, window_fd(f), 0, 0x100000, RAM), 0);
	assert_int_equal(last_to_fe(f)->p.u64, ERANGE);
	assert_int_equal(f->n_to_vm, sent);
}

static void mem_table_is_all_or_nothing(void **state)
{
	struct fx *f = *state;
	struct vu_mem_table_msg *t;
	int other = memfd_create("other", 0), sent;

	handshake(f, FE_PF);
	assert_int_equal(ftruncate(other, RAM), 0);
	sent = f->n_to_vm;
	t = &mk(f, VU_REQ_SET_MEM_TABLE, 8 + 2 * sizeof(struct vu_mem_region))->p.mem_table;
	t->nregions = 2;
	t->regions[0] = (struct vu_mem_region){.gpa = 0, .size = 0x10000, .uaddr = 0x1000000};
	t->regions[1] =
		(struct vu_mem_region){.gpa = 0x100000, .size = 0x10000, .uaddr = 0x2000000};
	f->m.fds[0] = window_fd(f);
	f->m.fds[1] = other;
	f->m.nfds = 2;
	f->m.hdr.flags |= VU_FLAG_NEED_REPLY;
	assert_int_equal(gw_relay_fe_msg(&f->r, &f->m), 0);
	assert_int_equal(last_to_fe(f)->p.u64, ENOENT);
	assert_int_equal(f->n_to_vm, sent);
	/* Both from the window: relayed, each rewritten. */
	t = &mk(f, VU_REQ_SET_MEM_TABLE, 8 + 2 * sizeof(struct vu_mem_region))->p.mem_table;
	t->nregions = 2;
	t->regions[0] = (struct vu_mem_region){.gpa = 0, .size = 0x10000, .uaddr = 0x1000000};
	t->regions[1] = (struct vu_mem_region){
		.gpa = 0x100000, .size = 0x10000, .uaddr = 0x2000000, .mmap_offset = 0x20000};
	f->m.fds[0] = window_fd(f);
	f->m.fds[1] = window_fd(f);
	f->m.nfds = 2;
	assert_int_equal(gw_relay_fe_msg(&f->r, &f->m), 0);
	assert_int_equal(last_to_vm(f)->p.mem_table.regions[1].mmap_offset,
			 ((uint64_t)WIN << VU_WINDOW_SHIFT) | 0x20000);
	/* nregions that do not match the fds. */
	mk(f, VU_REQ_SET_MEM_TABLE, 8 + sizeof(struct vu_mem_region))->p.mem_table.nregions = 1;
	f->m.hdr.flags |= VU_FLAG_NEED_REPLY;
	assert_int_equal(gw_relay_fe_msg(&f->r, &f->m), 0);
	assert_int_equal(last_to_fe(f)->p.u64, EINVAL);
}

static void rem_mem_reg_goes_without_fd_or_offset(void **state)
{
	struct fx *f = *state;
	struct vu_msg *m;

	handshake(f, FE_PF);
	m = mk(f, VU_REQ_REM_MEM_REG, sizeof(struct vu_mem_single_msg));
	m->p.mem_single.region =
		(struct vu_mem_region){.gpa = 0, .size = 0x1000, .uaddr = 1, .mmap_offset = 5};
	m->fds[0] = window_fd(f); /* older QEMU sends one */
	m->nfds = 1;
	assert_int_equal(gw_relay_fe_msg(&f->r, m), 0);
	assert_int_equal(last_to_vm(f)->hdr.request, VU_REQ_REM_MEM_REG);
	assert_int_equal(last_to_vm(f)->p.mem_single.region.mmap_offset, 0);
}

/* ---- notifications ------------------------------------------------------------ */

static void ring_fds_stay_here_and_the_vm_gets_nofd(void **state)
{
	struct fx *f = *state;
	int kick = eventfd(0, EFD_NONBLOCK), kick2 = eventfd(0, EFD_NONBLOCK), closes;

	handshake(f, FE_PF);
	assert_int_equal(ring_fd_msg(f, VU_REQ_SET_VRING_KICK, 3, kick), 0);
	assert_int_equal(last_to_vm(f)->p.u64, 3 | VU_VRING_NOFD);
	assert_int_equal(f->r.ring[3].kick, kick);
	closes = f->closes;
	assert_int_equal(ring_fd_msg(f, VU_REQ_SET_VRING_KICK, 3, kick2), 0);
	assert_int_equal(f->closes, closes + 1); /* the old one */
	assert_int_equal(f->r.ring[3].kick, kick2);
	/* NOFD from the VMM: no fd kept, the old one closed. */
	assert_int_equal(ring_fd_msg(f, VU_REQ_SET_VRING_KICK, 3, -1), 0);
	assert_int_equal(f->r.ring[3].kick, -1);
	assert_int_equal(f->closes, closes + 2);
}

static void bad_ring_payloads_are_refused(void **state)
{
	struct fx *f = *state;
	int sent;

	handshake(f, FE_PF);
	sent = f->n_to_vm;
	mk(f, VU_REQ_SET_VRING_CALL, 8)->p.u64 = VU_MAX_QUEUES | VU_VRING_NOFD;
	f->m.hdr.flags |= VU_FLAG_NEED_REPLY;
	assert_int_equal(gw_relay_fe_msg(&f->r, &f->m), 0);
	assert_int_equal(last_to_fe(f)->p.u64, ERANGE);
	mk(f, VU_REQ_SET_VRING_CALL, 8)->p.u64 = 1 | (1ull << 40);
	f->m.hdr.flags |= VU_FLAG_NEED_REPLY;
	f->m.fds[0] = eventfd(0, 0);
	f->m.nfds = 1;
	assert_int_equal(gw_relay_fe_msg(&f->r, &f->m), 0);
	assert_int_equal(last_to_fe(f)->p.u64, EINVAL);
	/* An fd with the NOFD bit. */
	mk(f, VU_REQ_SET_VRING_CALL, 8)->p.u64 = 1 | VU_VRING_NOFD;
	f->m.hdr.flags |= VU_FLAG_NEED_REPLY;
	f->m.fds[0] = eventfd(0, 0);
	f->m.nfds = 1;
	assert_int_equal(gw_relay_fe_msg(&f->r, &f->m), 0);
	assert_int_equal(last_to_fe(f)->p.u64, EINVAL);
	assert_int_equal(f->n_to_vm, sent);
}

static void calls_and_errors_from_the_vm_write_the_eventfds(void **state)
{
	struct fx *f = *state;
	int call = eventfd(0, EFD_NONBLOCK), err = eventfd(0, EFD_NONBLOCK);
	struct vu_msg req;
	uint64_t v;

	handshake(f, FE_PF);
	assert_int_equal(ring_fd_msg(f, VU_REQ_SET_VRING_CALL, 1, call), 0);
	assert_int_equal(ring_fd_msg(f, VU_REQ_SET_VRING_ERR, 1, err), 0);
	msg_build(&req, VU_BREQ_VRING_CALL, sizeof(struct vu_vring_state));
	req.p.state.index = 1;
	assert_int_equal(gw_relay_vm_request(&f->r, &req), 0);
	assert_int_equal(read(call, &v, 8), 8);
	assert_int_equal(v, 1);
	req.hdr.request = VU_BREQ_VRING_ERR;
	assert_int_equal(gw_relay_vm_request(&f->r, &req), 0);
	assert_int_equal(read(err, &v, 8), 8);
	assert_int_equal(f->r.st.calls, 1);
	assert_int_equal(f->r.st.errs, 1);
	/* A call for a ring without a call fd, and one out of range. */
	req.hdr.request = VU_BREQ_VRING_CALL;
	req.p.state.index = 2;
	assert_int_equal(gw_relay_vm_request(&f->r, &req), 0);
	assert_int_equal(f->r.st.calls_no_fd, 1);
	req.p.state.index = 999;
	req.hdr.flags |= VU_FLAG_NEED_REPLY;
	assert_int_equal(gw_relay_vm_request(&f->r, &req), 0);
	assert_int_equal(f->vm_backend_out[f->n_vm_backend_out - 1].p.u64, EINVAL);
	assert_int_equal(f->n_signalled, 2);
}

/* The VM may have completed requests while no gateway relayed its calls
 * (this one was restarted): enabling a ring that resumes writes its call fd
 * once. */
static void enable_ring(struct fx *f, uint32_t index, uint32_t on)
{
	mk(f, VU_REQ_SET_VRING_ENABLE, 8)->p.state.index = index;
	f->m.p.state.num = on;
	assert_int_equal(gw_relay_fe_msg(&f->r, &f->m), 0);
}

static void enabling_a_ring_calls_once(void **state)
{
	struct fx *f = *state;
	int call = eventfd(0, EFD_NONBLOCK);
	uint64_t v;

	handshake(f, FE_PF);
	assert_int_equal(ring_fd_msg(f, VU_REQ_SET_VRING_CALL, 0, call), 0);
	/* A fresh start (base 0): no call; firmware may have no handler. */
	enable_ring(f, 0, 1);
	assert_int_equal(read(call, &v, 8), -1);
	/* A ring that resumes at 89 (QEMU after a reconnect): one call. */
	mk(f, VU_REQ_SET_VRING_BASE, 8)->p.state.num = 89;
	assert_int_equal(gw_relay_fe_msg(&f->r, &f->m), 0);
	enable_ring(f, 0, 1);
	assert_int_equal(read(call, &v, 8), 8);
	assert_int_equal(v, 1);
	assert_int_equal(f->r.st.start_calls, 1);
	/* Disabling does not call; a ring without a call fd is left alone. */
	enable_ring(f, 0, 0);
	mk(f, VU_REQ_SET_VRING_BASE, 8)->p.state.index = 1;
	f->m.p.state.num = 5;
	assert_int_equal(gw_relay_fe_msg(&f->r, &f->m), 0);
	enable_ring(f, 1, 1);
	assert_int_equal(read(call, &v, 8), -1);
	assert_int_equal(f->r.st.start_calls, 1);
}

static void kicks_go_in_band_without_need_reply(void **state)
{
	struct fx *f = *state;

	handshake(f, FE_PF);
	assert_int_equal(gw_relay_kick(&f->r, 2), 0);
	assert_int_equal(last_to_vm(f)->hdr.request, VU_REQ_VRING_KICK);
	assert_int_equal(last_to_vm(f)->hdr.flags, VU_VERSION);
	assert_int_equal(last_to_vm(f)->p.state.index, 2);
	assert_int_equal(gw_relay_kick(&f->r, VU_MAX_QUEUES), -ERANGE);
	assert_int_equal(f->r.st.kicks, 1);
}

static void config_change_reaches_the_vmm_channel(void **state)
{
	struct fx *f = *state;
	int sv[2];
	struct vu_msg req;

	handshake(f, FE_PF);
	msg_build(&req, VU_BREQ_CONFIG_CHANGE_MSG, 0);
	req.hdr.flags |= VU_FLAG_NEED_REPLY;
	/* No VMM channel yet: refused, and the VM is told. */
	assert_int_equal(gw_relay_vm_request(&f->r, &req), 0);
	assert_int_equal(f->vm_backend_out[0].p.u64, ENOTCONN);
	assert_int_equal(pipe(sv), 0);
	close(sv[1]);
	mk(f, VU_REQ_SET_BACKEND_REQ_FD, 0);
	f->m.fds[0] = sv[0];
	f->m.nfds = 1;
	f->m.hdr.flags |= VU_FLAG_NEED_REPLY;
	assert_int_equal(gw_relay_fe_msg(&f->r, &f->m), 0);
	assert_int_equal(last_to_fe(f)->p.u64, 0);
	assert_int_equal(f->r.fe_chan, sv[0]);
	msg_build(&req, VU_BREQ_CONFIG_CHANGE_MSG, 0);
	assert_int_equal(gw_relay_vm_request(&f->r, &req), 0);
	assert_int_equal(f->n_to_fe_chan, 1);
	assert_int_equal(f->to_fe_chan[0].hdr.request, VU_BREQ_CONFIG_CHANGE_MSG);
	assert_false(f->to_fe_chan[0].hdr.flags & VU_FLAG_NEED_REPLY);
}

static void unknown_vm_requests_are_refused(void **state)
{
	struct fx *f = *state;
	struct vu_msg req;

	msg_build(&req, VU_BREQ_SHMEM_MAP, 40);
	req.hdr.flags |= VU_FLAG_NEED_REPLY;
	assert_int_equal(gw_relay_vm_request(&f->r, &req), 0);
	assert_int_equal(f->vm_backend_out[0].p.u64, EOPNOTSUPP);
	msg_build(&req, VU_BREQ_VRING_CALL, 8);
	req.hdr.flags = 0x5; /* a reply's flags on a request */
	assert_true(gw_relay_vm_request(&f->r, &req) < 0);
	assert_true(f->r.vm_lost);
}

/* ---- the VM failing or lying ---------------------------------------------------- */

static void a_reply_that_does_not_match_drops_the_vm(void **state)
{
	struct fx *f = *state;

	f->vm_wrong_reply = true;
	assert_true(send_empty(f, VU_REQ_GET_FEATURES) < 0);
	assert_true(f->r.vm_lost);
	assert_int_equal(f->n_to_fe, 0); /* nothing relayed to the VMM */
}

static void a_vm_that_is_gone_drops_both(void **state)
{
	struct fx *f = *state;

	f->vm_recv_fail = ECONNRESET;
	assert_true(send_empty(f, VU_REQ_GET_FEATURES) < 0);
	assert_true(f->r.vm_lost);
	f->r.vm_lost = false;
	f->vm_recv_fail = 0;
	f->vm_send_fail = EPIPE;
	assert_true(gw_relay_kick(&f->r, 0) < 0);
	assert_true(f->r.vm_lost);
}

static void fds_on_requests_that_take_none_are_refused(void **state)
{
	struct fx *f = *state;
	int closes;

	handshake(f, FE_PF);
	closes = f->closes;
	mk(f, VU_REQ_SET_VRING_NUM, 8);
	f->m.fds[0] = eventfd(0, 0);
	f->m.nfds = 1;
	f->m.hdr.flags |= VU_FLAG_NEED_REPLY;
	assert_int_equal(gw_relay_fe_msg(&f->r, &f->m), 0);
	assert_int_equal(last_to_fe(f)->p.u64, EINVAL);
	assert_int_equal(f->closes, closes + 1);
	/* Requests the gateway cannot carry: inflight is never offered. */
	mk(f, VU_REQ_GET_INFLIGHT_FD, sizeof(struct vu_inflight_msg));
	assert_true(gw_relay_fe_msg(&f->r, &f->m) < 0);
}

static void get_vring_base_answers_and_forgets_the_kick(void **state)
{
	struct fx *f = *state;

	handshake(f, FE_PF);
	assert_int_equal(ring_fd_msg(f, VU_REQ_SET_VRING_KICK, 0, eventfd(0, 0)), 0);
	mk(f, VU_REQ_GET_VRING_BASE, 8)->p.state.index = 0;
	assert_int_equal(gw_relay_fe_msg(&f->r, &f->m), 0);
	assert_int_equal(last_to_fe(f)->p.state.num, 77);
	assert_int_equal(f->r.ring[0].kick, -1);
	/* GET_CONFIG: the reply has the request's size. */
	mk(f, VU_REQ_GET_CONFIG, VU_CONFIG_HDR_SIZE + 8)->p.config.size = 8;
	assert_int_equal(gw_relay_fe_msg(&f->r, &f->m), 0);
	assert_int_equal(last_to_fe(f)->hdr.size, VU_CONFIG_HDR_SIZE + 8);
	assert_int_equal(last_to_fe(f)->p.config.data[0], 0xab);
}

/* ---- doorbells (docs/vsock-transport.md §4.1) ------------------------------- */

static void with_doorbells(struct fx *f)
{
	f->io.db_kick = db_kick;
	f->io.db_call = db_call;
	f->io.db_call_commit = db_commit;
	f->io.db_call_drop = db_drop;
	f->vm_pf_extra = VU_BIT(VU_PF_DOORBELL);
}

/* The VM is asked for DOORBELL only when the gateway has an ivshmem server
 * and the VM offers it; the VMM is never offered it. */
static void doorbell_negotiated_only_when_both_can(void **state)
{
	struct fx *f = *state;

	f->vm_pf_extra = VU_BIT(VU_PF_DOORBELL); /* VM offers, no server */
	handshake(f, FE_PF);
	assert_false(f->r.db);
	assert_false(f->to_vm[2].p.u64 & VU_BIT(VU_PF_DOORBELL));
	assert_false(f->to_fe[1].p.u64 & VU_BIT(VU_PF_DOORBELL));
}

static void kick_and_call_become_doorbells(void **state)
{
	struct fx *f = *state;
	int kick = eventfd(0, EFD_CLOEXEC), call = eventfd(0, EFD_CLOEXEC);
	const struct vu_msg *m;

	with_doorbells(f);
	f->db_next_vec = 3;
	handshake(f, FE_PF);
	assert_true(f->r.db);
	assert_true(f->to_vm[2].p.u64 & VU_BIT(VU_PF_DOORBELL));
	assert_int_equal(ring_fd_msg(f, VU_REQ_SET_VRING_CALL, 1, call), 0);
	m = last_to_vm(f);
	assert_int_equal(m->p.u64, 1 | VU_VRING_NOFD | VU_VRING_DOORBELL | 1ull << 32);
	assert_true(m->hdr.flags & VU_FLAG_NEED_REPLY);
	assert_int_equal(f->db_call_fd[0], call);
	assert_int_equal(f->db_commits, 1);
	assert_true(f->r.ring[1].call_db);
	assert_int_equal(ring_fd_msg(f, VU_REQ_SET_VRING_KICK, 1, kick), 0);
	m = last_to_vm(f);
	assert_int_equal(m->p.u64, 1 | VU_VRING_NOFD | VU_VRING_DOORBELL | 3ull << 16);
	assert_int_equal(f->db_kick_fd[0], kick);
	/* The fds stay the relay's; its loop no longer reads the kick. */
	assert_int_equal(f->r.ring[1].kick, kick);
	assert_true(f->r.ring[1].kick_db);
	assert_int_equal(f->r.st.db_kicks, 1);
	assert_int_equal(f->r.st.db_calls, 1);
	/* The ring stops: the kick fd is stale, and no longer a doorbell. */
	mk(f, VU_REQ_GET_VRING_BASE, 8)->p.state.index = 1;
	assert_int_equal(gw_relay_fe_msg(&f->r, &f->m), 0);
	assert_int_equal(f->r.ring[1].kick, -1);
	assert_false(f->r.ring[1].kick_db);
	/* The VMM goes: its call peer is released. */
	gw_relay_reset(&f->r);
	assert_int_equal(f->db_drops, 1);
	assert_false(f->r.ring[1].call_db);
}

/* No own vector left (QEMU appends, never replaces): the ring stays in-band. */
static void kick_without_vector_stays_inband(void **state)
{
	struct fx *f = *state;
	int kick = eventfd(0, EFD_CLOEXEC);

	with_doorbells(f);
	f->db_kick_err = -ENOSPC;
	handshake(f, FE_PF);
	assert_int_equal(ring_fd_msg(f, VU_REQ_SET_VRING_KICK, 0, kick), 0);
	assert_int_equal(last_to_vm(f)->p.u64, 0 | VU_VRING_NOFD);
	assert_false(f->r.ring[0].kick_db);
	assert_int_equal(f->r.st.db_fallbacks, 1);
	assert_int_equal(gw_relay_kick(&f->r, 0), 0);
	assert_int_equal(last_to_vm(f)->hdr.request, VU_REQ_VRING_KICK);
}

/* A VM that refuses the doorbell form gets the NOFD form next, and the
 * call's new peer is dropped again. */
static void vm_refusing_doorbell_gets_nofd(void **state)
{
	struct fx *f = *state;
	int call = eventfd(0, EFD_CLOEXEC);

	with_doorbells(f);
	f->vm_refuse_db = EINVAL;
	handshake(f, FE_PF);
	assert_int_equal(ring_fd_msg(f, VU_REQ_SET_VRING_CALL, 0, call), 0);
	assert_int_equal(f->to_vm[f->n_to_vm - 2].p.u64 & VU_VRING_DOORBELL, VU_VRING_DOORBELL);
	assert_int_equal(last_to_vm(f)->p.u64, 0 | VU_VRING_NOFD);
	assert_int_equal(f->db_drops, 1);
	assert_int_equal(f->db_commits, 0);
	assert_false(f->r.ring[0].call_db);
	assert_int_equal(f->r.st.db_fallbacks, 1);
	/* In-band calls still reach the eventfd. */
	assert_int_equal(f->r.ring[0].call, call);
}

/* Errors are never doorbells: they stay in-band. */
static void err_fd_is_never_a_doorbell(void **state)
{
	struct fx *f = *state;
	int err = eventfd(0, EFD_CLOEXEC);

	with_doorbells(f);
	handshake(f, FE_PF);
	assert_int_equal(ring_fd_msg(f, VU_REQ_SET_VRING_ERR, 0, err), 0);
	assert_int_equal(last_to_vm(f)->p.u64, 0 | VU_VRING_NOFD);
	assert_int_equal(f->n_db_kick + f->n_db_call, 0);
}

#define T(fn) cmocka_unit_test_setup_teardown(fn, setup, teardown)

int main(void)
{

	const struct CMUnitTest tests[] = {
		T(vmm_is_offered_only_what_can_be_carried),
		T(vm_gets_window_addr_inband_and_its_own_channel),
		T(unoffered_protocol_bits_are_refused),
		T(set_protocol_features_before_get_is_refused),
		T(vmm_without_protocol_features_is_refused_at_set_owner),
		T(need_reply_without_reply_ack_is_stripped),
		T(regions_become_windows_and_fds_stay_here),
		T(a_region_outside_every_window_never_reaches_the_vm),
		T(mem_table_is_all_or_nothing),
		T(rem_mem_reg_goes_without_fd_or_offset),
		T(ring_fds_stay_here_and_the_vm_gets_nofd),
		T(bad_ring_payloads_are_refused),
		T(calls_and_errors_from_the_vm_write_the_eventfds),
		T(enabling_a_ring_calls_once),
		T(kicks_go_in_band_without_need_reply),
		T(config_change_reaches_the_vmm_channel),
		T(unknown_vm_requests_are_refused),
		T(a_reply_that_does_not_match_drops_the_vm),
		T(a_vm_that_is_gone_drops_both),
		T(fds_on_requests_that_take_none_are_refused),
		T(get_vring_base_answers_and_forgets_the_kick),
		T(doorbell_negotiated_only_when_both_can),
		T(kick_and_call_become_doorbells),
		T(kick_without_vector_stays_inband),
		T(vm_refusing_doorbell_gets_nofd),
		T(err_fd_is_never_a_doorbell),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
