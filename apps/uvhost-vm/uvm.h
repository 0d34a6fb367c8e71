/* uvm.h - the service VM's context: what main wires and every service gets.
 *
 * Owns: struct uvm, the one context of the unikernel: the parsed command
 * line, the scheduler, the boot arena (RAM past the image: pools and RAM
 * disks, kern/arena.h), the probed virtio-pci devices, and the services'
 * shared handles (entropy source, vsock core and driver, control service,
 * virtio-blk disks)
 * as main fills them in. main.c creates it, starts each service with it,
 * and nothing ever calls back into main.c.
 * Never: blocks or allocates after boot: a poller does bounded work and
 * returns how much it did; arena allocations happen at boot only.
 * Used by: every source file of apps/uvhost-vm (the helpers are in uvm.c).
 */
#ifndef UVM_H
#define UVM_H

#include <stdint.h>

#include "kern/arena.h"
#include "kern/sched.h"
#include "kern/virtio_pci.h"
#include "uvm_args.h"

#define UVM_MAX_VIRTIO 8

struct k_virtio_rng;
struct k_vsock_core;
struct k_virtio_vsock;
struct k_control;
struct uvm_vdisks;

struct uvm {
	const struct uvm_args *args;
	struct k_sched *sched;
	struct k_arena *ram; /* boot allocations (uvm_alloc) */
	uint64_t ram_base;   /* physical start of RAM (identity-mapped) */
	struct virtio_pci_dev *vdevs;
	unsigned nvdevs;
	/* Filled in as services come up; NULL when absent. */
	struct k_virtio_rng *rng;   /* an entropy source that proved itself */
	struct k_vsock_core *vs;    /* vsock sockets (vsock_service.c) */
	struct k_virtio_vsock *vvs; /* its driver (the idle wake-up) */
	struct k_control *ctl;	    /* the control service (stats, commands) */
	struct uvm_vdisks *disks;   /* the VM's own virtio-blk disks */
};

/* Register a poller on the main loop: every turn, or every period_us
 * (timed, kern/sched.h). Returns its id (>= 0) or -ENOMEM. */
int uvm_add_poller(struct uvm *vm, const char *name, k_poller_fn fn, void *ctx);
int uvm_add_timed_poller(struct uvm *vm, const char *name, k_poller_fn fn, void *ctx,
			 uint64_t period_us);

/* The i-th probed virtio-pci device with PCI device id `device_id`
 * (0x1053 vsock, 0x1044 rng), or NULL. */
struct virtio_pci_dev *uvm_virtio(const struct uvm *vm, uint16_t device_id, unsigned i);

/* Boot only: `size` zeroed bytes from the arena, charged to `owner` in the
 * memory budget (NULL when RAM is short, logged). */
void *uvm_alloc(struct uvm *vm, const char *owner, uint64_t size, uint64_t align);

#endif
