/* vhost_service.h - vhost-user back-ends served over vsock by the service VM.
 *
 * Owns: one listener per `vhost=` entry of the command line (uvm_args.h)
 * and a pool of vhost_sessions= sessions carved from the boot arena. An
 * accepted connection takes a free session: a device instance (blk on the
 * listener's RAM disk, or rng fed by the virtio-rng pool, kern/virtio_rng.h)
 * behind its own struct vu_backend and vm_platform.h transport. Every
 * session is a poller running one vu_session_step() (vu/session.h, the same
 * turn and budgets as uvhostd's): a few requests, each only while a whole
 * reply fits its transmit buffer, then the started rings; it ends on EOF, a socket error, a hostile
 * header size or a request the library refuses with an error; the slot is then free for the next
 * connection. Other sessions never notice. Never: allocates after init (sessions and RAM disks come
 * from the boot arena), blocks, or trusts a byte from the front-end. Used by: main.c, once after
 * uvm_vsock_start() succeeded; it registers its stats and the `vhost` commands with the control
 * service (vm->ctl).
 *
 * A blk listener on vd<N> serves that virtio-blk disk instead: each session
 * has its own asynchronous storage on it (vdisk_storage.h), requests pass
 * through to the disk in place, and the disk's capacity, block size,
 * read-only bit and FLUSH/DISCARD/WRITE_ZEROES are what the front-end sees.
 * A vd<N> that does not exist or did not come up is a boot error naming it.
 *
 * A blk listener's RAM disk belongs to the listener: it keeps its contents
 * across connections, like a disk across front-end restarts. Two connections
 * on the same blk port at once both see it (as two front-ends on one file).
 * Its q<n> (default 1) is each session's queue count: the config space's
 * num_queues and GET_QUEUE_NUM.
 *
 * An rng listener exists only with an entropy source (a virtio-rng device
 * that answered at boot); otherwise it is refused with an error line, never
 * served from something weaker. The rng device answers "not now" while the
 * pool is empty, so a request waits in the ring until it refills.
 */
#ifndef UVM_VHOST_SERVICE_H
#define UVM_VHOST_SERVICE_H

#define UVM_VHOST_BLK_DEFAULT (16u << 20)

#include <stdbool.h>
#include <stdint.h>

#include "dev/blk.h"
#include "dev/storage.h"
#include "dev/table.h"
#include "uvm.h"

struct k_virtio_blk;
struct uvm_session;
struct uvm_vhost;

struct uvm_listener {
	struct uvm_vhost *h;
	const struct uvm_listener_cfg *cfg;
	int lfd;
	struct dev_params params; /* what each session's device is made from */
	struct dev_storage store; /* blk: the RAM disk, kept across connections */
	uint8_t *disk;
	struct k_virtio_blk *vdisk; /* vd<N>: the disk served instead (NULL: RAM) */
	uint64_t shmem_size;	    /* blk: shmid 0 = the RAM disk (vhost_commands.h); 0: none */
	char serial[DEV_BLK_ID_BYTES + 1];
	uint64_t accepted, refused;
	char key_accepted[32], key_refused[32]; /* stats keys, made at set-up */
};

struct uvm_vhost {
	struct uvm *vm;
	struct uvm_listener listeners[UVM_LISTENERS_MAX];
	unsigned nlisteners;
	struct uvm_session *sessions; /* from the arena: vm->args->sessions */
	unsigned nsessions;
	/* Messages and refusals of sessions that ended; live ones add their own. */
	uint64_t msgs_done, rejected_done;
	uint64_t inband_calls_done, inband_kicks_done; /* of sessions that ended */
};

/* Open the listeners and register the pollers. Returns the number of
 * listeners opened (>= 0; a listener that cannot be set up is logged and
 * skipped), or -ENODEV without a vsock core (vm->vs). */
int uvm_vhost_start(struct uvm_vhost *h, struct uvm *vm);

/* Some started ring is found only by polling (a NOFD kick): the idle loop
 * must wake every idle_us. False when every started ring has a doorbell
 * kick (or none is started): an interrupt ends the sleep. */
bool uvm_vhost_polls(const struct uvm_vhost *h);

/* The control service's extra `stats` entries (k_control_extra_fn): the
 * session pool (pool_vhost_sessions_used/max), messages handled and
 * refused by every session so far (vhost_messages, vhost_rejected), then
 * per listener vhost_<port>_accepted and vhost_<port>_refused, then with a
 * virtio-rng entropy source rng_requests_waiting and the pool's rng_*
 * entries (kern/virtio_rng.h), then each virtio-blk disk's vd<N>_*
 * (vdisk_service.h). -ENOENT past the last entry. ctx: struct
 * uvm_vhost. */
int uvm_vhost_stat(void *ctx, unsigned i, const char **key, uint64_t *val);

struct vu_backend;

/* A listener as the control commands see it (vhost_commands.c). A blk
 * listener whose RAM disk is whole pages declares it to its sessions as
 * VIRTIO shared memory region 0 (so they offer SHMEM); rng declares none. */
struct uvm_vhost_view {
	const struct dev_kind *kind; /* the listener's row (dev/table.h) */
	uint64_t disk_addr;	     /* blk: the RAM disk (RAM is identity-mapped) */
	uint64_t disk_offset;	     /* ... and its offset in RAM (the SHMEM fd_offset) */
	uint64_t shmem_size;	     /* size of shmid 0; 0: no region declared */
	unsigned nsessions;	     /* the listener's active sessions */
	struct vu_backend *sessions[UVM_SESSIONS_MAX];
};

/* Fill `v` for the listener on `port`: 0, or -ENOENT. The session pointers
 * are valid until the scheduler's next turn (a session may then end). */
int uvm_vhost_view(const struct uvm_vhost *h, uint32_t port, struct uvm_vhost_view *v);

#endif
