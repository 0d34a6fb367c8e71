/* vdisk_service.h - the service VM's own virtio-blk disks.
 *
 * Owns: bringing up every virtio-blk function found on PCI (vd0 first, in
 * PCI order, at most UVM_DISK_MAX; each driver instance with its rings and
 * request pool from the boot arena, charged to "virtio-blk" in the budget),
 * one poller collecting every disk's answers and one timed poller failing
 * requests past their deadline, each disk's INTx as an idle wake-up while
 * it has requests in flight, and the disks' `stats` entries
 * (vd<N>_requests, _read_bytes, _write_bytes, _inflight, _errors,
 * _timeouts, _lat_avg_us, _lat_max_us, _capacity_bytes, _ok, _recoveries,
 * _resubmitted, then vdisk_bounced_bytes); with disk_bounce_kib=, each disk's bounce
 * pool (vdisk_bounce.h) from the boot arena.
 * Never: serves a front-end (vhost_service.c does, through
 * vdisk_storage.h), allocates after boot, or waits for a disk: a disk with
 * no route for its interrupt is polled while it has work.
 * Used by: main.c (init at probe time, start once the scheduler exists, the
 * idle step) and vhost_service.c (uvm_vdisk_get, its stats).
 */
#ifndef UVM_VDISK_SERVICE_H
#define UVM_VDISK_SERVICE_H

#include <stdbool.h>
#include <stdint.h>

#include "kern/fdt.h"
#include "kern/virtio_blk.h"
#include "uvm.h"
#include "vdisk_bounce.h"

#define UVM_VDISK_TIMER_US (100u * 1000)

struct uvm_vdisks {
	unsigned n; /* virtio-blk functions found (also those that failed) */
	struct k_virtio_blk *disk[UVM_DISK_MAX]; /* NULL: did not come up */
	struct virtio_pci_dev *pci[UVM_DISK_MAX];
	bool wired[UVM_DISK_MAX];		/* INTx wakes the idle loop */
	struct uvm_bounce bounce[UVM_DISK_MAX]; /* nslots 0: not bounced */
	char keys[UVM_DISK_MAX][K_VBLK_NSTATS][K_VBLK_KEY];
};

/* At probe time: bring up every disk, each failing (and resetting) itself
 * when a request stays unanswered for timeout_ms, each with a bounce pool
 * of bounce_kib KiB (0: none; a disk whose pool does not fit in RAM is not
 * served). Returns how many came up. */
int uvm_vdisks_init(struct uvm_vdisks *d, struct uvm *vm, uint32_t timeout_ms, uint32_t bounce_kib);

/* Once the scheduler exists, before the vhost listeners: the pollers (a
 * disk nobody would poll is dropped here, so no listener gets it). */
void uvm_vdisks_start(struct uvm_vdisks *d, struct uvm *vm);
/* After the vsock wake-up is wired (it silences every other function on
 * its line): each disk's INTx. */
void uvm_vdisks_wire(struct uvm_vdisks *d, const struct k_fdt *f);

/* Disk N (vd<N>), or NULL with *why saying what is wrong with it. */
struct k_virtio_blk *uvm_vdisk_get(const struct uvm_vdisks *d, int n, const char **why);
/* Disk N's bounce pool, NULL when its data is not bounced. */
struct uvm_bounce *uvm_vdisk_bounce(struct uvm_vdisks *d, int n);

/* Before the CPU sleeps: nonzero means poll instead (answers waiting, or a
 * disk with work and no interrupt). */
int uvm_vdisks_idle_prepare(struct uvm_vdisks *d);

/* k_control_extra_fn style entries of every disk that came up. */
int uvm_vdisks_stat(struct uvm_vdisks *d, unsigned i, const char **key, uint64_t *val);

#endif
