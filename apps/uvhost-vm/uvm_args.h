/* uvm_args.h - the service VM's command line: the kernel's keys plus the
 * application's own.
 *
 * Owns: the syntax of the keys only this application knows, and the check
 * that ties them to the kernel's:
 *   vhost=<port>:<dev>[:<size>|:vd<N>][:q<n>][:s<n>][,...]
 *                    vhost-user listeners, e.g. 5000:blk:64M:q4,5001:rng,
 *                    5002:blk:vd0:q2
 *                    (dev: blk or rng; size: bytes with K/M/G suffix of a
 *                    RAM disk; vd<N>: blk on the N-th virtio-blk disk in PCI
 *                    order instead, vd0..vd<UVM_DISK_MAX-1>;
 *                    q<n>: blk queues, 1..VU_MAX_QUEUES, default 1; rng has
 *                    exactly one, so no q<n>; s<n>: memory slots a session
 *                    offers in GET_MAX_MEM_SLOTS, 1..VU_MAX_MEM_SLOTS,
 *                    default all; fields in this order)
 *   vhost_sessions=<n>
 *                    vhost-user sessions served at once, 1..UVM_SESSIONS_MAX
 *                    (default: the build's UV_VM_VHOST_SESSIONS)
 * A list is accepted or refused whole. A vhost port equal to the control
 * port drops every listener (one warning on the word "ctl").
 * Never: trusts the line (as kern/bootargs.h): each refusal warns once with
 * a reason and keeps the default.
 * Used by: main.c; tests/unit/test_uvm_args.c and tests/fuzz/fuzz_bootargs.c
 * compile it as is.
 */
#ifndef UVM_ARGS_H
#define UVM_ARGS_H

#include <stddef.h>
#include <stdint.h>

#include "kern/bootargs.h"

#define UVM_LISTENERS_MAX 8
#define UVM_SESSIONS_MAX 16
/* virtio-blk disks a listener may name (vd0..vd3) and the VM drives. */
#define UVM_DISK_MAX 4
#define UVM_DISK_MAX_1 3 /* UVM_DISK_MAX - 1, spelled out for messages */
#ifndef UVM_DEFAULT_SESSIONS
#define UVM_DEFAULT_SESSIONS 2u
#endif

struct dev_kind;

struct uvm_listener_cfg {
	uint32_t port;
	const struct dev_kind *kind; /* its row in the device table (dev/table.h) */
	uint8_t queues;		     /* 1..VU_MAX_QUEUES (rng: 1) */
	uint32_t slots;		     /* memory slots offered, 1..VU_MAX_MEM_SLOTS; 0 = all */
	uint64_t size;		     /* bytes; 0 = the device's default */
	int8_t disk;		     /* blk: the vd<N> disk served, -1 = a RAM disk */
};

struct uvm_args {
	struct k_bootargs k; /* the kernel's keys */
	unsigned sessions;
	unsigned n_vhost;
	struct uvm_listener_cfg vhost[UVM_LISTENERS_MAX];
};

/* Defaults, then every word of `len` bytes of `line` (as k_bootargs_parse).
 * Returns the number of warnings (>= 0), or -EINVAL as k_bootargs_parse. */
int uvm_args_parse(struct uvm_args *a, const char *line, size_t len, k_bootargs_warn_fn warn,
		   void *ctx);

#endif
