/* vhost-user listeners and sessions of the service VM (see vhost_service.h). */
#include "vhost_service.h"

#include <errno.h>
#include <inttypes.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include "dev/rng.h"
#include "kern/control.h"
#include "kern/log.h"
#include "kern/virtio_rng.h"
#include "kern/vsock_socket.h"
#include "kern/time.h"
#include "vdisk_service.h"
#include "vdisk_storage.h"
#include "vhost_commands.h"
#include "vm_platform.h"
#include "vu/backend.h"

#define UVM_VHOST_BACKLOG 4

struct uvm_session {
	struct uvm_vhost *h;
	bool active;
	struct uvm_listener *l;
	char tag[32];
	struct uvm_vu_conn conn;
	struct vu_msg msg;
	union {
		struct dev_blk blk;
		struct dev_rng rng;
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

static const char *dev_name(uint8_t dev)
{
	return dev == UVM_DEV_BLK ? "blk" : dev == UVM_DEV_RNG ? "rng" : "?";
}

static void session_end(struct uvm_session *s, const char *why, int err)
{
	k_info("%s: disconnected: %s (%d), %" PRIu64 " messages, %" PRIu64 " refused", s->tag, why,
	       err, s->b.n_msgs, s->b.n_rejected);
	/* The library first (it closes its backend channel through the
	 * platform), then the sockets. */
	vu_backend_disconnect(&s->b);
	uvm_vu_conn_close(&s->conn);
	s->h->msgs_done += s->b.n_msgs;
	s->h->rejected_done += s->b.n_rejected;
	s->active = false;
}

static int session_start(struct uvm_session *s, struct uvm_listener *l, int fd, unsigned slot)
{
	const struct vu_device *desc;
	void *dev;

	s->l = l;
	snprintf(s->tag, sizeof(s->tag), "vhost %" PRIu32 "#%u", l->cfg->port, slot);
	uvm_vu_conn_init(&s->conn, s->h->vm->vs, fd, s->tag);
	if (l->cfg->dev == UVM_DEV_BLK) {
		int r;

		if (l->vdisk) {
			uvm_vdisk_store_init(s->vstore, l->vdisk, l->cfg->queues, k_now_ns);
			r = dev_blk_init_async(&s->dev.blk, &s->vstore->s, l->cfg->queues,
					       l->serial, s->async);
		} else {
			r = dev_blk_init(&s->dev.blk, &l->store, l->cfg->queues, l->serial);
		}

		if (r < 0)
			return r;
		/* uvhostd's blk declares none. */
		dev_blk_declare_shmem(&s->dev.blk, l->shmem_size ? 1 : 0, &l->shmem_size);
		desc = &s->dev.blk.dev;
		dev = &s->dev.blk;
	} else {
		dev_rng_init(&s->dev.rng, rng_take, rng_level);
		desc = &s->dev.rng.dev;
		dev = &s->dev.rng;
	}
	{
		/* s<n>: what GET_MAX_MEM_SLOTS announces; the table stays static. */
		const struct vu_backend_config cfg = {.max_mem_slots = l->cfg->slots};

		vu_backend_init(&s->b, &s->conn.plat, desc, dev, &cfg);
	}
	s->active = true;
	k_info("%s: connected from cid %" PRIu64 " (%s)", s->tag, s->conn.peer_cid,
	       dev_name(l->cfg->dev));
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
	int work = 0, r;

	if (!s->active)
		return 0;
	r = uvm_chan_flush(&s->conn, &s->conn.front);
	if (r < 0) {
		session_end(s, "send failed", r);
		return 1;
	}
	for (int n = 0; n < UVM_VHOST_MSGS_PER_POLL && uvm_chan_tx_room(&s->conn.front); n++) {
		r = uvm_chan_recv(&s->conn, &s->conn.front, &s->msg);
		if (r == -EAGAIN)
			break;
		if (r < 0) {
			session_end(s,
				    r == -ECONNRESET ? "end of stream"
				    : r == -EMSGSIZE ? "header size over the limit"
						     : "receive failed",
				    r);
			return work + 1;
		}
		work++;
		r = vu_backend_handle(&s->b, &s->msg);
		if (r < 0) {
			session_end(s, "request refused", r);
			return work;
		}
	}
	for (unsigned i = 0; i < UVM_BACKEND_CHANS; i++)
		if (s->conn.back[i].fd >= 0)
			(void)uvm_chan_flush(&s->conn, &s->conn.back[i]);
	work += vu_backend_handle_backend_reply(&s->b);
	if (s->l->vdisk)
		work += dev_blk_poll(&s->dev.blk, &s->b, UVM_VHOST_RING_BUDGET);
	work += vu_backend_poll(&s->b, UVM_VHOST_RING_BUDGET);
	return work;
}

static int listener_setup(struct uvm_vhost *h, struct uvm_listener *l,
			  const struct uvm_listener_cfg *cfg)
{
	struct uvm *vm = h->vm;

	l->h = h;
	l->cfg = cfg;
	l->lfd = -1;
	/* The slot of a listener that failed is reused by the next one. */
	l->disk = NULL;
	l->vdisk = NULL;
	l->shmem_size = 0;
	snprintf(l->key_accepted, sizeof(l->key_accepted), "vhost_%" PRIu32 "_accepted", cfg->port);
	snprintf(l->key_refused, sizeof(l->key_refused), "vhost_%" PRIu32 "_refused", cfg->port);
	if (cfg->dev == UVM_DEV_BLK && cfg->disk >= 0) {
		const char *why = NULL;

		l->vdisk = uvm_vdisk_get(vm->disks, cfg->disk, &why);
		if (!l->vdisk || !h->sessions[0].vstore) {
			k_err("vhost %" PRIu32 ": disk vd%d refused: %s (%u virtio-blk disk(s) "
			      "found)",
			      cfg->port, cfg->disk, why ? why : "no room for its sessions",
			      vm->disks ? vm->disks->n : 0);
			l->vdisk = NULL;
			return -ENODEV;
		}
		snprintf(l->serial, sizeof(l->serial), "uvhost-vd%d", cfg->disk);
	} else if (cfg->dev == UVM_DEV_BLK) {
		uint64_t size = (cfg->size ? cfg->size : UVM_VHOST_BLK_DEFAULT) & ~511ull;
		/* Data the configuration asked for: not in the static budget. */
		uint8_t *disk = size ? k_arena_take_data(vm->ram, "ram-disks", size, 4096) : NULL;

		if (!disk) {
			k_err("vhost %" PRIu32 ": no RAM for a %" PRIu64 "-byte disk (%" PRIu64
			      " free)",
			      cfg->port, size, k_arena_free(vm->ram));
			return -ENOMEM;
		}
		memset(disk, 0, size);
		dev_storage_ram(&l->store, disk, size, false);
		l->disk = disk;
		l->shmem_size = uvm_vhost_disk_region(disk, l->store.size, vm->ram_base);
		snprintf(l->serial, sizeof(l->serial), "uvhost-vm-%" PRIu32, cfg->port);
	} else if (cfg->dev != UVM_DEV_RNG) {
		return -EINVAL;
	} else if (!k_virtio_rng_ready(vm->rng)) {
		/* Never a made-up stream in place of entropy. */
		k_err("vhost %" PRIu32 ": rng refused: no entropy source (no working virtio-rng "
		      "device)",
		      cfg->port);
		return -ENODEV;
	}
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
		k_info("vhost: blk on port %" PRIu32 ", disk %s (%" PRIu64
		       " KiB%s), %u queue%s, %" PRIu32 " memory slots",
		       cfg->port, l->vdisk->name, (l->vdisk->g.capacity * K_VBLK_SECTOR) >> 10,
		       l->vdisk->read_only ? ", read-only" : "", (unsigned)cfg->queues,
		       cfg->queues == 1 ? "" : "s", cfg->slots ? cfg->slots : VU_MAX_MEM_SLOTS);
	else if (cfg->dev == UVM_DEV_BLK)
		k_info("vhost: blk on port %" PRIu32 ", %" PRIu64
		       " KiB RAM disk, %u queue%s, %" PRIu32 " memory slots",
		       cfg->port, l->store.size >> 10, (unsigned)cfg->queues,
		       cfg->queues == 1 ? "" : "s", cfg->slots ? cfg->slots : VU_MAX_MEM_SLOTS);
	else
		k_info("vhost: %s on port %" PRIu32 ", %" PRIu32 " memory slots",
		       dev_name(cfg->dev), cfg->port, cfg->slots ? cfg->slots : VU_MAX_MEM_SLOTS);
	return 0;
}

/* rng_requests_waiting (chains rng sessions leave in their rings until the
 * pool refills), then the pool's own entries (none without an entropy
 * source), then the virtio-blk disks' (vdisk_service.h). */
static int rng_stat(const struct uvm_vhost *h, unsigned i, const char **key, uint64_t *val)
{
	uint64_t waiting = 0;

	/* After the 4 session-pool entries and 2 per listener, then the
	 * disks': all must fit. */
	_Static_assert(4 + 2 * UVM_LISTENERS_MAX + 1 + K_VRNG_NSTATS +
				       UVM_DISK_MAX * K_VBLK_NSTATS <=
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
		if (h->sessions[k].active && h->sessions[k].l->cfg->dev == UVM_DEV_RNG)
			waiting += vu_ring_waiting(&h->sessions[k].b, 0);
	*key = "rng_requests_waiting";
	*val = waiting;
	return 0;
}

int uvm_vhost_stat(void *ctx, unsigned i, const char **key, uint64_t *val)
{
	enum { SESSIONS_USED, SESSIONS_MAX, MESSAGES, REJECTED, FIXED };
	const struct uvm_vhost *h = ctx;
	uint64_t used = 0, msgs = h->msgs_done, rej = h->rejected_done;

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
	default:
		*key = "vhost_rejected";
		*val = rej;
		break;
	}
	return 0;
}

int uvm_vhost_view(const struct uvm_vhost *h, uint32_t port, struct uvm_vhost_view *v)
{
	const struct uvm_listener *l = NULL;

	for (unsigned i = 0; i < h->nlisteners && !l; i++)
		if (h->listeners[i].cfg->port == port)
			l = &h->listeners[i];
	if (!l)
		return -ENOENT;
	v->dev = l->cfg->dev;
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
		if (a->vhost[i].dev == UVM_DEV_BLK && a->vhost[i].disk >= 0)
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
	k_control_set_commands(vm->ctl, uvm_vhost_command, h);
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
