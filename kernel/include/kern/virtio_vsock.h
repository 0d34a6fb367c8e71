/* kern/virtio_vsock.h - the virtio-vsock driver: virtio-pci queues to the core.
 *
 * Owns: the device bring-up (reset, VERSION_1 and EVENT_IDX, guest_cid,
 * three queues, DRIVER_OK), static rx/tx/event buffers of K_VVS_BUF_SIZE
 * bytes and the rings they sit on, the poller that moves packets between
 * the queues and the protocol core, with bounded work per call, and when
 * the device may interrupt (only across an idle sleep).
 * Never: interprets packets (the core does), allocates, or blocks. A device
 * that publishes a corrupt used ring stops the driver (`broken`), it is
 * never trusted further.
 * Used by: the unikernel main, after PCI enumeration found device 0x1053.
 * aarch64 only (identity-mapped: a buffer's pointer is its device address).
 */
#ifndef KERN_VIRTIO_VSOCK_H
#define KERN_VIRTIO_VSOCK_H

#include <stdbool.h>
#include <stdint.h>

#include "kern/virtio_pci.h"
#include "kern/vsock.h"
#include "virtio/split_driver.h"

/* Entries per queue, at most (a power of two): one K_VVS_BUF_SIZE packet
 * buffer each for rx and tx. The build sets it (UV_VM_VSOCK_QUEUE). */
#ifndef K_VVS_QSIZE
#define K_VVS_QSIZE 64u
#endif
#define K_VVS_EV_QSIZE 8u    /* event queue entries, at most */
#define K_VVS_BUF_SIZE 4096u /* one packet: header + payload */
#define K_VVS_BUDGET 32u     /* per queue per poll */
/* Bytes virtq_drv_mem_bytes(n) needs, with slack for its alignment. */
#define K_VVS_RING_BYTES(n) (16u * (n) + 6u + 2u * (n) + 4u + 6u + 8u * (n) + 16u)

struct k_vvs_queue {
	struct virtq_drv q;
	void *cookie[K_VVS_QSIZE];
	uint16_t chain_len[K_VVS_QSIZE];
	uint32_t max_write[K_VVS_QSIZE];
	uint16_t links[K_VVS_QSIZE];
	_Alignas(16) uint8_t ring[K_VVS_RING_BYTES(K_VVS_QSIZE)];
};

struct k_vvs_stats {
	uint64_t rx_packets, tx_packets, events, transport_resets;
	uint64_t rx_short;    /* used length below a header: dropped */
	uint64_t ring_errors; /* the device published garbage */
	uint64_t tx_lost;     /* a packet the tx ring refused (must stay 0) */
};

struct k_virtio_vsock {
	struct virtio_pci_dev *pci;
	struct k_vsock_core *core;
	uint64_t (*now_ns)(void);
	uint64_t guest_cid;
	bool broken;
	bool armed; /* device notifications requested for an idle sleep */
	struct k_vvs_stats stats;
	struct k_vvs_queue rx, tx, ev;
	uint16_t tx_free[K_VVS_QSIZE];
	uint16_t tx_nfree;
	_Alignas(16) uint8_t rx_buf[K_VVS_QSIZE][K_VVS_BUF_SIZE];
	_Alignas(16) uint8_t tx_buf[K_VVS_QSIZE][K_VVS_BUF_SIZE];
	_Alignas(16) uint8_t ev_buf[K_VVS_EV_QSIZE][8];
};

/* Bring the device up and initialise `core` with its guest_cid. `now_ns`
 * (may be NULL) drives the core's timeouts. Returns 0, -ENODEV (not a vsock
 * device or a queue missing), -ENOTSUP (no VERSION_1) or -EIO. */
int k_virtio_vsock_init(struct k_virtio_vsock *v, struct virtio_pci_dev *pci,
			struct k_vsock_core *core, uint64_t (*now_ns)(void));

/* The poller (ctx: struct k_virtio_vsock): events, received packets into
 * the core (buffers re-posted), tx completions, then new packets from the
 * core, each bounded by K_VVS_BUDGET; it also tells the core the time
 * (k_vsock_clock). Returns work done. Device
 * notifications stay suppressed while it runs (it sees every ring anyway);
 * a call after k_virtio_vsock_idle_prepare() suppresses them again. */
int k_virtio_vsock_poll(void *ctx);

/* The core's timeouts as a timed poller (ctx: struct k_virtio_vsock), to
 * register with a period of K_VSOCK_TIMER_PERIOD_US: k_vsock_tick() at the
 * driver's clock. Returns the connections it timed out. */
int k_virtio_vsock_timer_poll(void *ctx);

/* Before the CPU sleeps: read the ISR (deasserting INTx), ask the device
 * to notify on the rx and event rings (and tx when no tx buffer is free),
 * then re-check those rings. Returns 1 if something is already there (do
 * not sleep: poll), 0 if anything arriving from now on raises the INTx
 * line, or -EIO when the driver is broken (stop waiting for it). Bounded:
 * one MMIO read and a few ring accesses. */
int k_virtio_vsock_idle_prepare(struct k_virtio_vsock *v);

#endif
