/* vsock_service.h - the service VM's vsock side: driver, core and control.
 *
 * Owns: the one virtio-vsock device (1af4:1053) the VM uses, the protocol
 * core behind it with its connection pool (vsock_conns= connections,
 * vsock_buf= bytes each way, from the boot arena), and the control service
 * listening on the command line's ctl= port (ctl_clients= clients), with
 * the provider that lets it report the scheduler and the ivshmem windows.
 * Never: allocates after boot or blocks; everything runs from pollers on
 * the main loop ("vsock": queues, "vsock-timeouts": a timed poller,
 * "control": the line protocol).
 * Used by: main.c, once after PCI enumeration and the windows, before the
 * loop starts. On success it fills vm->vs, vm->vvs and vm->ctl, which later
 * services use (vhost_service.c registers its stats and commands there).
 */
#ifndef UVM_VSOCK_SERVICE_H
#define UVM_VSOCK_SERVICE_H

#include <stdint.h>

#include "kern/control.h"
#include "kern/ivshmem.h"
#include "kern/vsock.h"
#include "uvm.h"

#define VIRTIO_VSOCK_PCI_ID 0x1053

struct uvm_vsock {
	struct uvm *vm;
	struct k_vsock_core core;
	struct k_virtio_vsock *drv; /* from the arena: its rings and packet buffers */
	struct k_control ctl;
	/* Last CRC-32 computed per window: the `windows` command recomputes
	 * it on every call (the host may have written the window since), so
	 * the cache only says what the VM saw last. */
	uint32_t window_crc[K_MAX_WINDOWS];
};

/* Bring up the device and the control service and register their pollers.
 * Returns 0, -ENODEV when the VM has no vsock device (not an error: the VM
 * then runs without a control channel), or the negative errno of the step
 * that failed (logged). */
int uvm_vsock_start(struct uvm_vsock *s, struct uvm *vm);

#endif
