/* doorbell.h - the service VM's doorbells: kicks and calls of vhost-user
 * rings through ivshmem-doorbell devices (docs/vsock-transport.md §4.1).
 *
 * Owns: the poller that consumes the doorbell interrupts once per scheduler
 * turn (the mask of vectors that fired, per device, valid until the next
 * turn), the handles the library gets for a doorbell kick or call
 * (vu_platform.doorbell: small integers tagged UVM_DB_TAG, never a vsock
 * fd), ringing a call, and routing a fired vector to the rings whose kick
 * names it (vu_backend_kick).
 * Never: takes an interrupt (kern/ivshmem_db.h), or does unbounded work: a
 * turn reads at most 3 pending words per device, and a kick only marks a
 * ring, whose budget per turn is the session's (a guest that kicks a
 * million times costs one bit per turn, never a turn of its own).
 * Used by: main.c (start), vm_platform.c (handles, calls),
 * vhost_service.c (kicks, counters).
 */
#ifndef UVM_DOORBELL_H
#define UVM_DOORBELL_H

#include <stdbool.h>
#include <stdint.h>

#include "kern/fdt.h"

struct uvm;
struct vu_backend;

#define UVM_DB_TAG 0x40000000

/* Wire every ivshmem-doorbell and register the poller (before the vhost
 * sessions' pollers). Returns the number of devices. */
int uvm_doorbell_start(struct uvm *vm, const struct k_fdt *f);

/* vu_platform.doorbell: a handle, or -ENODEV (no such device) / -EINVAL
 * (a kick vector the device does not have, a call vector over 255). */
int uvm_doorbell_handle(bool call, uint32_t device, uint32_t peer, uint32_t vector, int *fd);

bool uvm_doorbell_is_handle(int fd);

/* Ring the call `fd` names: 0, or -EBADF when fd is not a call handle. */
int uvm_doorbell_signal(int fd);

/* Mark every ring of `b` whose kick vector fired this turn. Returns how
 * many were marked. */
int uvm_doorbell_kick_rings(struct vu_backend *b);

/* Interrupts taken and doorbells written, over every device. */
uint64_t uvm_doorbell_irqs(void);
uint64_t uvm_doorbell_rings(void);

#endif
