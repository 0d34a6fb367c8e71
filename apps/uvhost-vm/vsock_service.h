/* vsock_service.h - the service VM's vsock side: driver, core and control.
 *
 * Owns: the one virtio-vsock device (1af4:1053) the VM uses, the protocol
 * core behind it (static, sized by apps/uvhost-vm/CMakeLists.txt), and the
 * control service listening on the bootargs' ctl= port, with the provider
 * that lets it report the scheduler and the ivshmem windows.
 * Never: allocates or blocks; everything runs from two pollers on the main
 * loop ("vsock": queues and timeouts, "control": the line protocol).
 * Used by: main.c, once after PCI enumeration and the windows, before the
 * loop starts.
 */
#ifndef UVM_VSOCK_SERVICE_H
#define UVM_VSOCK_SERVICE_H

#define VIRTIO_VSOCK_PCI_ID 0x1053

/* Bring up the device and the control service and register their pollers.
 * Returns 0, -ENODEV when the VM has no vsock device (not an error: the VM
 * then runs without a control channel), or the negative errno of the step
 * that failed (logged). */
int uvm_vsock_start(void);

struct k_vsock_core;
/* The core other services open sockets on (vhost_service.c), or NULL when
 * uvm_vsock_start() did not bring the device up. */
struct k_vsock_core *uvm_vsock_core(void);

struct k_virtio_vsock;
/* The driver itself (vsock_wake.c arms its interrupt), or NULL as above. */
struct k_virtio_vsock *uvm_vsock_driver(void);

#endif
