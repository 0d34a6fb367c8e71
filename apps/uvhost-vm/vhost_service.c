/* vhost-user listeners and sessions of the service VM (see vhost_service.h). */
#include "vhost_service.h"

#include <errno.h>
#include <inttypes.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include "dev/rng.h"
#include "dev/table.h"
#include "doorbell.h"
#include "kern/control.h"
#include "kern/log.h"
#include "kern/virtio_rng.h"
#include "kern/vsock_socket.h"
#include "kern/time.h"
#include "vdisk_service.h"
#include "vdisk_storage.h"
#include "vm_platform.h"
#include "vu/backend.h"
#include "vu/session.h"

#define UVM_VHOST_BACKLOG 4

struct uvm_session {
	struct uvm_vhost *h;
	bool active;
	struct uvm_listener *l;
	char tag[32];
	struct uvm_vu_conn conn;
	struct vu_session step; /* vu/session.h: the turn uvhostd runs too */
	struct vu_session_io io;
	struct vu_msg msg;
	/* The device instance its row makes (dev/table.h). */
	union {
		struct dev_blk blk;
		struct dev_rng rng;
		uint64_t align;
	} dev;
	struct vu_backend b;
	/* Sessions of a vd<N> listener (NULL without one): the asynchronous
	 * storage on the disk and what dev_blk needs for it. */
	struct uvm_vdisk_store *vstore;
	struct dev_blk_async *async;
};

/* dev_rng_source and dev_rng_level take no context (dev/rng.h): the one
 * entropy source of the VM, set by uvm_vhost_start(). */
static struct k_virtio_rng *uvm_vh_rng;

static size_t rng_take(void *buf, size_t len)
{
	return k_virtio_rng_take(uvm_vh_rng, buf, len);
}

static size_t rng_level(void)
{
	return k_virtio_rng_level(uvm_vh_rng);
}

static const struct dev_env uvm_dev_env = {.rng_source = rng_take, .rng_level = rng_level};

static void session_end(struct uvm_session *s, const char *why, int err)
{
	k_info("%s: disconnected: %s (%d), %" PRIu64 " messages, %" PRIu64 " refused", s->tag, why,
	       err, s->b.n_msgs, s->b.n_rejected);
	/* The library first (it closes its backend channel through the
	 * platform), then the sockets. */
	vu_backend_disconnect(&s->b);
	if (s->l->cfg->kind->fini)
		s->l->cfg->kind->fini(&s->dev);
	uvm_vu_conn_close(&s->conn);
	s->h->msgs_done += s->b.n_msgs;
	s->h->rejected_done += s->b.n_rejected;
	s->h->inband_calls_done += s->b.n_inband_calls;
	s->h->inband_kicks_done += s->b.n_inband_kicks;
	s->active = false;
}

/* The session's transport for vu_session_step(). */
static int conn_recv(void *ctx, struct vu_msg *msg)
{
	struct uvm_session *s = ctx;

	return uvm_chan_recv(&s->conn, &s->conn.front, msg);
}

static bool conn_can_reply(void *ctx)
{
	const struct uvm_session *s = ctx;

	return uvm_chan_tx_room(&s->conn.front);
}

/* The front channel's failure ends the session; a backend channel's only
 * fails its own requests (the library notices on its next send). */
static int conn_flush(void *ctx)
{
	struct uvm_session *s = ctx;
	int r = uvm_chan_flush(&s->conn, &s->conn.front);

	for (unsigned i = 0; i < UVM_BACKEND_CHANS; i++)
		if (s->conn.back[i].fd >= 0)
			(void)uvm_chan_flush(&s->conn, &s->conn.back[i]);
	return r;
}

static int session_start(struct uvm_session *s, struct uvm_listener *l, int fd, unsigned slot)
{
	const struct vu_device *desc;
	int r;

	s->l = l;
	snprintf(s->tag, sizeof(s->tag), "vhost %" PRIu32 "#%u", l->cfg->port, slot);
	uvm_vu_conn_init(&s->conn, s->h->vm->vs, fd, s->tag);
	if (l->vdisk) {
		/* vd<N>: each session has its own asynchronous storage on the
		 * listener's disk, made here. */
		struct dev_params p = l->params;

		uvm_vdisk_store_init(s->vstore, l->vdisk, l->cfg->queues, k_now_ns,
				     uvm_vdisk_bounce(s->h->vm->disks, l->cfg->disk));
		p.store = &s->vstore->s;
		p.async = s->async;
		r = l->cfg->kind->make(&s->dev, &p, &uvm_dev_env, &desc);
	} else {
		r = l->cfg->kind->make(&s->dev, &l->params, &uvm_dev_env, &desc);
	}
	if (r < 0)
		return r;
	{
		/* s<n>: what GET_MAX_MEM_SLOTS announces; the table stays static. */
		const struct vu_backend_config cfg = {.max_mem_slots = l->cfg->slots};

		vu_backend_init(&s->b, &s->conn.plat, desc, &s->dev, &cfg);
	}
	s->io = (struct vu_session_io){
		.recv = conn_recv, .can_reply = conn_can_reply, .flush = conn_flush, .ctx = s};
	vu_session_init(&s->step, &s->b, &s->io, &s->msg);
	s->active = true;
	k_info("%s: connected from cid %" PRIu64 " (%s)", s->tag, s->conn.peer_cid,
	       l->cfg->kind->name);
	return 0;
}

static int listener_poll(void *ctx)
{
	struct uvm_listener *l = ctx;
	struct uvm_vhost *h = l->h;
	int work = 0;

	for (;;) {
		int fd = k_vs_accept(h->vm->vs, l->lfd);
		unsigned i;
		int r;

		if (fd < 0)
			return work;
		work++;
		for (i = 0; i < h->nsessions && h->sessions[i].active; i++)
			;
		if (i == h->nsessions) {
			l->refused++;
			k_warn("vhost %" PRIu32 ": connection refused: all %u sessions busy",
			       l->cfg->port, h->nsessions);
			k_vs_close(h->vm->vs, fd);
			continue;
		}
		r = session_start(&h->sessions[i], l, fd, i);
		if (r < 0) {
			l->refused++;
			k_err("vhost %" PRIu32 ": device set-up failed (%d)", l->cfg->port, r);
			k_vs_close(h->vm->vs, fd);
			continue;
		}
		l->accepted++;
	}
}

static int session_poll(void *ctx)
{
	struct uvm_session *s = ctx;
	int r;

	if (!s->active)
		return 0;
	/* Rings whose doorbell rang this turn (doorbell.c) are kicked. A
	 * vd<N> session's disk completions are the step's (ops->poll). */
	uvm_doorbell_kick_rings(&s->b);
	r = vu_session_step(&s->step);
	if (r < 0) {
		session_end(s, s->step.why, r);
		return 1;
	}
	return r;
}

/* Size of the VIRTIO shared memory region a RAM disk of `size` bytes at
 * `disk` can back: `size` when it is whole 4 KiB pages at a page-aligned
 * address inside RAM (which starts at ram_base) (a front-end maps whole
 * pages: anything less would expose the VM memory next to it), else 0 and
 * no region is declared. */
static uint64_t disk_region(const void *disk, uint64_t size, uint64_t ram_base)
{
	uint64_t at = (uint64_t)(uintptr_t)disk;

	if (!disk || !size || (at | size) % 4096u || at < ram_base)
		return 0;
	return size;
}

/* A listener's RAM disk: it belongs to the listener and keeps its contents
 * across connections. */
static int ram_disk_setup(struct uvm *vm, struct uvm_listener *l,
			  const struct uvm_listener_cfg *cfg)
{
	uint64_t size = (cfg->size ? cfg->size : UVM_VHOST_BLK_DEFAULT) & ~511ull;
	/* Data the configuration asked for: not in the static budget. */
	uint8_t *disk = size ? k_arena_take_data(vm->ram, "ram-disks", size, 4096) : NULL;

	if (!disk) {
		k_err("vhost %" PRIu32 ": no RAM for a %" PRIu64 "-byte disk (%" PRIu64 " free)",
		      cfg->port, size, k_arena_free(vm->ram));
		return -ENOMEM;
	}
	memset(disk, 0, size);
	dev_storage_ram(&l->store, disk, size, false);
	l->disk = disk;
	l->shmem_size = disk_region(disk, l->store.size, vm->ram_base);
	snprintf(l->serial, sizeof(l->serial), "uvhost-vm-%" PRIu32, cfg->port);
	l->params.store = &l->store;
	l->params.serial = l->serial;
	l->params.shmem_num = l->shmem_size ? 1 : 0;
	l->params.shmem_sizes = &l->shmem_size;
	return 0;
}

/* vd<N>: the listener serves one of the VM's virtio-blk disks; each session
 * makes its own storage on it (session_start). */
static int vdisk_setup(struct uvm *vm, struct uvm_listener *l, const struct uvm_listener_cfg *cfg)
{
	const char *why = NULL;

	l->vdisk = uvm_vdisk_get(vm->disks, cfg->disk, &why);
	if (!l->vdisk || !l->h->sessions[0].vstore) {
		k_err("vhost %" PRIu32 ": disk vd%d refused: %s (%u virtio-blk disk(s) found)",
		      cfg->port, cfg->disk, why ? why : "no room for its sessions",
		      vm->disks ? vm->disks->n : 0);
		l->vdisk = NULL;
		return -ENODEV;
	}
	snprintf(l->serial, sizeof(l->serial), "uvhost-vd%d", cfg->disk);
	l->params.serial = l->serial;
	return 0;
}

/* What the listener's device needs from the VM, as its row says. */
static int device_setup(struct uvm *vm, struct uvm_listener *l, const struct uvm_listener_cfg *cfg)
{
	const struct dev_kind *k = cfg->kind;

	memset(&l->params, 0, sizeof(l->params));
	l->params.num_queues = cfg->queues;
	if (k->instance_size > sizeof(((struct uvm_session *)0)->dev)) {
		k_err("vhost %" PRIu32 ": %s needs %u bytes per session, the session has %u",
		      cfg->port, k->name, (unsigned)k->instance_size,
		      (unsigned)sizeof(((struct uvm_session *)0)->dev));
		return -ENOSPC;
	}
	if ((k->flags & DEV_NEEDS_ENTROPY) && !k_virtio_rng_ready(vm->rng)) {
		/* Never a made-up stream in place of entropy. */
		k_err("vhost %" PRIu32 ": %s refused: no entropy source (no working virtio-rng "
		      "device)",
		      cfg->port, k->name);
		return -ENODEV;
	}
	if ((k->flags & DEV_NEEDS_STORAGE) && cfg->disk >= 0)
		return vdisk_setup(vm, l, cfg);
	if (k->flags & DEV_NEEDS_STORAGE)
		return ram_disk_setup(vm, l, cfg);
	return 0;
}

static int listener_setup(struct uvm_vhost *h, struct uvm_listener *l,
			  const struct uvm_listener_cfg *cfg)
{
	struct uvm *vm = h->vm;
	int r;

	l->h = h;
	l->cfg = cfg;
	l->lfd = -1;
	/* The slot of a listener that failed is reused by the next one. */
	l->disk = NULL;
	l->vdisk = NULL;
	l->shmem_size = 0;
	snprintf(l->key_accepted, sizeof(l->key_accepted), "vhost_%" PRIu32 "_accepted", cfg->port);
	snprintf(l->key_refused, sizeof(l->key_refused), "vhost_%" PRIu32 "_refused", cfg->port);
	r = device_setup(vm, l, cfg);
	if (r < 0)
		return r;
	l->lfd = k_vs_listen(vm->vs, cfg->port, UVM_VHOST_BACKLOG);
	if (l->lfd < 0) {
		k_err("vhost %" PRIu32 ": cannot listen (%d)", cfg->port, l->lfd);
		return l->lfd;
	}
	if (uvm_add_poller(vm, "vhost-listen", listener_poll, l) < 0) {
		k_vs_close(vm->vs, l->lfd);
		return -ENOMEM;
	}
	if (l->vdisk)
		k_info("vhost: %s on port %" PRIu32 ", disk %s (%" PRIu64
		       " KiB%s), %u queue%s, %" PRIu32 " memory slots",
		       cfg->kind->name, cfg->port, l->vdisk->name,
		       (l->vdisk->g.capacity * K_VBLK_SECTOR) >> 10,
		       l->vdisk->read_only ? ", read-only" : "", (unsigned)cfg->queues,
		       cfg->queues == 1 ? "" : "s", cfg->slots ? cfg->slots : VU_MAX_MEM_SLOTS);
	else if (l->disk)
		k_info("vhost: %s on port %" PRIu32 ", %" PRIu64
		       " KiB RAM disk, %u queue%s, %" PRIu32 " memory slots",
		       cfg->kind->name, cfg->port, l->store.size >> 10, (unsigned)cfg->queues,
		       cfg->queues == 1 ? "" : "s", cfg->slots ? cfg->slots : VU_MAX_MEM_SLOTS);
	else
		k_info("vhost: %s on port %" PRIu32 ", %" PRIu32 " memory slots", cfg->kind->name,
		       cfg->port, cfg->slots ? cfg->slots : VU_MAX_MEM_SLOTS);
	return 0;
}

/* rng_requests_waiting (chains rng sessions leave in their rings until the
 * pool refills), then the pool's own entries (none without an entropy
 * source), then the virtio-blk disks' (vdisk_service.h). */
static int rng_stat(const struct uvm_vhost *h, unsigned i, const char **key, uint64_t *val)
{
	uint64_t waiting = 0;

	/* After the 8 fixed entries and 2 per listener, then the disks': all
	 * must fit. */
	_Static_assert(8 + 2 * UVM_LISTENERS_MAX + 1 + K_VRNG_NSTATS +
				       UVM_DISK_MAX * K_VBLK_NSTATS + 1 <=
			       K_CONTROL_MAX_EXTRA,
		       "every stats entry fits the control service's extra block");
	if (!k_virtio_rng_ready(h->vm->rng))
		return h->vm->disks ? uvm_vdisks_stat(h->vm->disks, i, key, val) : -ENOENT;
	if (i > K_VRNG_NSTATS)
		return h->vm->disks ? uvm_vdisks_stat(h->vm->disks, i - 1 - K_VRNG_NSTATS, key, val)
				    : -ENOENT;
	if (i > 0)
		return k_virtio_rng_stat(h->vm->rng, i - 1, key, val);
	for (unsigned k = 0; k < h->nsessions; k++)
		if (h->sessions[k].active &&
		    (h->sessions[k].l->cfg->kind->flags & DEV_NEEDS_ENTROPY))
			waiting += vu_ring_waiting(&h->sessions[k].b, 0);
	*key = "rng_requests_waiting";
	*val = waiting;
	return 0;
}

int uvm_vhost_stat(void *ctx, unsigned i, const char **key, uint64_t *val)
{
	enum {
		SESSIONS_USED,
		SESSIONS_MAX,
		MESSAGES,
		REJECTED,
		DB_IRQS,
		DB_RINGS,
		INBAND_CALLS,
		INBAND_KICKS,
		FIXED
	};
	const struct uvm_vhost *h = ctx;
	uint64_t used = 0, msgs = h->msgs_done, rej = h->rejected_done;
	uint64_t calls = h->inband_calls_done, kicks = h->inband_kicks_done;

	if (!h->nlisteners)
		return h->vm->disks ? uvm_vdisks_stat(h->vm->disks, i, key, val) : -ENOENT;
	if (i >= FIXED) {
		const struct uvm_listener *l;

		i -= FIXED;
		if (i >= 2 * h->nlisteners)
			return rng_stat(h, i - 2 * h->nlisteners, key, val);
		l = &h->listeners[i / 2];
		*key = i % 2 ? l->key_refused : l->key_accepted;
		*val = i % 2 ? l->refused : l->accepted;
		return 0;
	}
	for (unsigned k = 0; k < h->nsessions; k++) {
		if (!h->sessions[k].active)
			continue;
		used++;
		msgs += h->sessions[k].b.n_msgs;
		rej += h->sessions[k].b.n_rejected;
		calls += h->sessions[k].b.n_inband_calls;
		kicks += h->sessions[k].b.n_inband_kicks;
	}
	switch (i) {
	case SESSIONS_USED:
		*key = "pool_vhost_sessions_used";
		*val = used;
		break;
	case SESSIONS_MAX:
		*key = "pool_vhost_sessions_max";
		*val = h->nsessions;
		break;
	case MESSAGES:
		*key = "vhost_messages";
		*val = msgs;
		break;
	case REJECTED:
		*key = "vhost_rejected";
		*val = rej;
		break;
	/* Notifications (docs/vsock-transport.md §4): interrupts taken and
	 * doorbells written, in-band calls sent and kicks received. */
	case DB_IRQS:
		*key = "vhost_doorbell_irqs";
		*val = uvm_doorbell_irqs();
		break;
	case DB_RINGS:
		*key = "vhost_doorbell_rings";
		*val = uvm_doorbell_rings();
		break;
	case INBAND_CALLS:
		*key = "vhost_inband_calls";
		*val = calls;
		break;
	default:
		*key = "vhost_inband_kicks";
		*val = kicks;
		break;
	}
	return 0;
}

bool uvm_vhost_polls(const struct uvm_vhost *h)
{
	for (unsigned k = 0; k < h->nsessions; k++) {
		const struct vu_backend *b = &h->sessions[k].b;

		if (!h->sessions[k].active)
			continue;
		for (uint32_t i = 0; i < vu_backend_num_queues(b); i++)
			if (vu_ring_started(b, i) && vu_ring_kick_fd(b, i) < 0)
				return true;
	}
	return false;
}

int uvm_vhost_view(const struct uvm_vhost *h, uint32_t port, struct uvm_vhost_view *v)
{
	const struct uvm_listener *l = NULL;

	for (unsigned i = 0; i < h->nlisteners && !l; i++)
		if (h->listeners[i].cfg->port == port)
			l = &h->listeners[i];
	if (!l)
		return -ENOENT;
	v->kind = l->cfg->kind;
	v->disk_addr = (uint64_t)(uintptr_t)l->disk;
	v->disk_offset = v->disk_addr - h->vm->ram_base;
	v->shmem_size = l->shmem_size;
	v->nsessions = 0;
	for (unsigned i = 0; i < h->nsessions; i++)
		if (h->sessions[i].active && h->sessions[i].l == l)
			v->sessions[v->nsessions++] = &h->sessions[i].b;
	return 0;
}

static bool sessions_need_disks(const struct uvm_args *a)
{
	for (unsigned i = 0; i < a->n_vhost; i++)
		if (a->vhost[i].disk >= 0) /* only a storage device takes vd<N> */
			return true;
	return false;
}

/* Every session may serve a disk listener: each gets its storage and
 * request slots (counted in the budget as vdisk-sessions). */
static int vdisk_areas(struct uvm *vm, struct uvm_vhost *h)
{
	struct uvm_vdisk_store *st =
		uvm_alloc(vm, "vdisk-sessions", (uint64_t)h->nsessions * sizeof(*st), 64);
	struct dev_blk_async *as =
		st ? uvm_alloc(vm, "vdisk-sessions", (uint64_t)h->nsessions * sizeof(*as), 64)
		   : NULL;

	if (!as)
		return -ENOMEM;
	for (unsigned i = 0; i < h->nsessions; i++) {
		h->sessions[i].vstore = &st[i];
		h->sessions[i].async = &as[i];
	}
	return 0;
}

int uvm_vhost_start(struct uvm_vhost *h, struct uvm *vm)
{
	const struct uvm_args *a = vm->args;

	h->vm = vm;
	h->nlisteners = 0;
	h->nsessions = 0;
	if (!vm->vs)
		return -ENODEV;
	uvm_vh_rng = vm->rng;
	/* Until the listeners exist these report nothing and refuse every
	 * port; the control service runs them from its poller. */
	k_control_set_extra(vm->ctl, uvm_vhost_stat, h);
	if (!a->n_vhost)
		return 0;
	h->sessions =
		uvm_alloc(vm, "vhost-sessions", (uint64_t)a->sessions * sizeof(*h->sessions), 64);
	if (!h->sessions)
		return -ENOMEM;
	h->nsessions = a->sessions;
	if (sessions_need_disks(a) && vdisk_areas(vm, h) < 0)
		k_err("vhost: no RAM for the disk sessions: vd<N> listeners refused");
	for (unsigned i = 0; i < h->nsessions; i++) {
		h->sessions[i].h = h;
		if (uvm_add_poller(vm, "vhost-session", session_poll, &h->sessions[i]) < 0)
			k_err("vhost: no poller for session %u", i);
	}
	for (unsigned i = 0; i < a->n_vhost; i++)
		if (listener_setup(h, &h->listeners[h->nlisteners], &a->vhost[i]) == 0)
			h->nlisteners++;
	k_info("vhost: %u listeners, %u sessions x %u bytes", h->nlisteners, h->nsessions,
	       (unsigned)sizeof(struct uvm_session));
	return (int)h->nlisteners;
}
