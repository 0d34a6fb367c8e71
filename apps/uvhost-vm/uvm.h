/* uvm.h - the service VM's main: what later services plug into.
 *
 * Owns: the boot sequence (apps/uvhost-vm/main.c) and the one scheduler the
 * unikernel runs. After boot, services (the vsock driver, the control
 * service, vhost-user listeners) register pollers and find their devices
 * here.
 * Never: blocks: a poller does bounded work and returns how much it did;
 * when a whole turn did nothing the main loop sleeps at most idle_us.
 * Used by: every source file of apps/uvhost-vm.
 */
#ifndef UVM_H
#define UVM_H

#include <stdint.h>

#include "kern/bootargs.h"
#include "kern/sched.h"
#include "kern/virtio_pci.h"

#define UVM_MAX_VIRTIO 8

/* Register a poller on the main loop. Returns its id (>= 0) or -ENOMEM. */
int uvm_add_poller(const char *name, k_poller_fn fn, void *ctx);
/* A timed poller: every period_us. Returns its id (>= 0) or -ENOMEM. */
int uvm_add_timed_poller(const char *name, k_poller_fn fn, void *ctx, uint64_t period_us);

/* The i-th probed virtio-pci device with PCI device id `device_id`
 * (0x1053 vsock, 0x1044 rng), or NULL. */
struct virtio_pci_dev *uvm_virtio(uint16_t device_id, unsigned i);

/* The main loop's scheduler, for reports (the control service's stats). */
const struct k_sched *uvm_sched_get(void);

/* The parsed kernel command line. */
const struct k_bootargs *uvm_args(void);

/* Take `size` bytes of RAM past the image (align: a power of two), for
 * buffers sized by the bootargs (RAM disks). Init only: never freed.
 * Returns NULL when RAM is short. */
void *uvm_ram_alloc(uint64_t size, uint64_t align);
/* Bytes uvm_ram_alloc could still hand out (ignoring alignment). */
uint64_t uvm_ram_free(void);
/* Physical address where RAM starts (0x4000_0000 on QEMU virt). RAM is
 * identity-mapped, so an address from uvm_ram_alloc minus this is its
 * offset in the file a hypervisor backs RAM with (SHMEM over windows). */
uint64_t uvm_ram_base(void);

#endif
