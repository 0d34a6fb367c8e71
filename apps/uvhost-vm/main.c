/* uvhost service VM: boot to the main loop.
 *
 * Run under QEMU (TCG) as the system test does (tests/system/run_system.py):
 *
 *   qemu-system-aarch64 -M virt -cpu cortex-a57 -m 128M -nographic \
 *     -kernel build/aarch64/uvhost.elf -append "log=info ctl=1024" \
 *     -object memory-backend-file,id=w0,mem-path=/dev/shm/w0,size=1M,share=on \
 *     -device ivshmem-plain,memdev=w0 \
 *     -device virtio-rng-pci,disable-legacy=on \
 *     -object memory-backend-memfd,id=mem,size=128M,share=on \
 *     -machine memory-backend=mem \
 *     -chardev socket,id=vs,path=/tmp/vhost-vsock.sock \
 *     -device vhost-user-vsock-pci,chardev=vs
 *
 * (the vsock device comes from `uvhostd --device vsock --guest-cid 3
 * --socket-path /tmp/vhost-vsock.sock --uds-path /tmp/v.sock`; vhost-user
 * needs the guest RAM shared, hence the memfd backend.)
 *
 * Memory map (QEMU virt; addresses from the DTB except where noted):
 *   0x0800_0000      GICv2 distributor, 0x0801_0000 CPU interface
 *   0x0900_0000      PL011 UART (also the fallback before the DTB is read)
 *   0x1000_0000      PCI 32-bit MMIO window (BARs below 4 GiB)
 *   0x4000_0000      RAM; the DTB at its start (board contract, arch/board.h)
 *   0x4020_0000      this image: text/rodata, then data/bss/stack at 0x4060_0000
 *   0x40_1000_0000   PCIe ECAM (bus 0 mapped)
 *   0x80_0000_0000   PCI 64-bit MMIO window: virtio BARs (Device) and
 *                    ivshmem BAR2 windows (Normal, cacheable)
 * Only what is listed is mapped; any other access is a crash report.
 *
 * Boot: banner, DTB, console from the DTB, command line (uvm_args.h), RAM
 * (the boot arena: everything past the image), GIC (idle wake-up), PCI
 * enumeration and BAR assignment, virtio-pci probing (and the virtio-rng
 * entropy pool's first fill when present, kern/virtio_rng.h), the
 * virtio-blk disks (vdisk_service.c), ivshmem
 * windows with CRC-32, the vsock device and the control service
 * (vsock_service.c), the vhost-user listeners of `vhost=` (vhost_service.c;
 * sessions and blk RAM disks come from the arena), the vsock interrupt as
 * an idle wake-up (vsock_wake.c), the memory budget per subsystem, then
 * "ready in N ms" and the scheduler loop.
 *
 * main owns the one context (struct uvm, uvm.h) and every service's state,
 * starts each service with the context and wires them; no other file of the
 * app calls into this one.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "arch/board.h"
#include "arch/mmu.h"
#include "kern/arena.h"
#include "kern/control.h"
#include "kern/fdt.h"
#include "kern/ivshmem.h"
#include "kern/log.h"
#include "kern/panic.h"
#include "kern/pci.h"
#include "kern/phys.h"
#include "kern/sched.h"
#include "kern/time.h"
#include "kern/virtio_pci.h"
#include "kern/virtio_rng.h"
#include "uvm.h"
#include "uvm_args.h"
#include "vhost_commands.h"
#include "vdisk_service.h"
#include "vhost_service.h"
#include "vsock_service.h"
#include "doorbell.h"
#include "kern/ivshmem_db.h"
#include "vsock_wake.h"
#include "vu/session.h"

#include "uvm_version.h" /* generated: UVHOST_VERSION */

#define HEARTBEAT_US (60ull * 1000 * 1000)
#define IDLE_LONG_NS (100ull * 1000 * 1000)

static void bootarg_warn(void *ctx, const char *word, size_t wlen, const char *why)
{
	(void)ctx;
	k_warn("bootargs: '%.*s' ignored: %s", (int)wlen, word, why);
}

static void console_from_dtb(const struct k_fdt *f)
{
	int n = k_fdt_find_compatible(f, -1, "arm,pl011");
	uint64_t base, size;

	if (n < 0 || k_fdt_reg(f, n, 0, &base, &size) || size < 0x1000)
		return;
	if (k_mmu_map(base, 0x1000, K_MEM_DEVICE))
		return;
	k_console_set_base((uintptr_t)base);
}

/* Map RAM and hand everything past the image to the boot arena. */
static void memory_from_dtb(const struct k_fdt *f, struct uvm *vm)
{
	uint64_t base, size;

	if (k_fdt_memory(f, &base, &size))
		k_panic("no /memory in the DTB");
	k_info("memory: %" PRIu64 " MiB at %#" PRIx64 ", image %#" PRIx64 "-%#" PRIx64, size >> 20,
	       base, k_image_start(), k_image_end());
	if (base > k_image_start() || base + size < k_image_end())
		k_panic("the image does not fit in RAM: run QEMU with more -m");
	if (k_mmu_map(base, size, K_MEM_NORMAL))
		k_panic("cannot map RAM");
	vm->ram_base = base;
	k_arena_init(vm->ram, k_image_end(), base + size);
}

static void pci_from_dtb(const struct k_fdt *f)
{
	struct k_pci_host h;
	int r = k_pci_host_from_fdt(f, &h);

	if (r) {
		k_err("pci: no usable ECAM host bridge in the DTB (%d)", r);
		return;
	}
	k_info("pci: ECAM %#" PRIx64 "+%#" PRIx64 " buses %u-%u, mem32 %#" PRIx64 "+%#" PRIx64
	       ", mem64 %#" PRIx64 "+%#" PRIx64,
	       h.ecam_base, h.ecam_size, (unsigned)h.bus_start, (unsigned)h.bus_end,
	       h.mem32.cpu_base, h.mem32.size, h.mem64.cpu_base, h.mem64.size);
	/* A 32-bit VM cannot reach an ECAM above 4 GiB (QEMU arm virt without
	 * highmem=off): say so rather than fail inside the enumeration. */
	if (!k_phys_ptr(h.ecam_base, h.ecam_size)) {
		k_err("pci: ECAM at %#" PRIx64 " is beyond this VM's %u-bit address space: no PCI "
		      "(QEMU: -M virt,highmem=off)",
		      h.ecam_base, k_phys_ptr_bits());
		return;
	}
	r = k_pci_init(&h);
	if (r < 0)
		k_err("pci: enumeration failed (%d)", r);
	else
		k_info("pci: %d functions", r);
}

static void virtio_probe_all(struct uvm *vm, struct virtio_pci_dev *devs)
{
	vm->vdevs = devs;
	for (unsigned i = 0; i < k_pci_count() && vm->nvdevs < UVM_MAX_VIRTIO; i++) {
		const struct k_pci_func *p = k_pci_get(i);
		struct virtio_pci_dev *d = &devs[vm->nvdevs];
		int r = virtio_pci_probe(d, p);

		if (r == -ENODEV)
			continue;
		if (r) {
			k_err("virtio %02x:%02x.%x %04x: probe failed (%d)", p->bus, p->dev, p->fn,
			      p->device, r);
			continue;
		}
		k_info("virtio %02x:%02x.%x: device %#x, %u queues, notify x%u, device cfg %u "
		       "bytes",
		       p->bus, p->dev, p->fn, d->device_id, d->num_queues, d->notify_mult,
		       d->device_cfg_len);
		vm->nvdevs++;
	}
}

/* Base and size only: reading a window would read the guest memory behind
 * it, which the service VM has no business doing at boot, and would make
 * boot time grow with guest RAM (770 ms per 256 MiB under TCG). The control
 * command `windows` checksums on demand. */
static void windows_log(void)
{
	int n = k_windows_init();

	for (int i = 0; i < n; i++) {
		uint64_t base, size;

		k_window_get((unsigned)i, &base, &size);
		k_info("window %d: base %#" PRIx64 " size %" PRIu64, i, base, size);
	}
	k_info("windows: %d", n);
}

/* One line per subsystem, then the total the control service reports as
 * mem_static_bytes: the image (text, data, bss, stack) plus every pool the
 * arena handed out; RAM disks are listed but not counted. */
static uint64_t budget_log(const struct k_arena *a)
{
	uint64_t total = k_image_static_bytes() + k_arena_counted(a);

	k_info("budget: image %" PRIu64 " bytes (text+rodata %" PRIu64 ", data+bss+stack %" PRIu64
	       ")",
	       k_image_static_bytes(), k_image_text_bytes(),
	       k_image_static_bytes() - k_image_text_bytes());
	for (unsigned i = 0; i < a->nowners; i++)
		k_info("budget: %s %" PRIu64 " bytes%s", a->owners[i].name, a->owners[i].bytes,
		       a->owners[i].data ? " (data, not counted)" : "");
	k_info("budget: mem_static_bytes %" PRIu64 " (%" PRIu64 " KiB)", total, total >> 10);
	return total;
}

static void crash_now(void)
{
	/* Below the GIC, never mapped: a translation fault at level 1-3. */
	volatile uint64_t *bad = (volatile uint64_t *)(uintptr_t)0x0dead000ull;

	k_info("crashtest: reading %p", (void *)bad);
	(void)*bad;
}

/* A timed poller (every HEARTBEAT_US): the console shows the VM alive. */
static int heartbeat_poll(void *ctx)
{
	const struct k_sched *s = ctx;

	k_info("heartbeat: %" PRIu64 " turns, %" PRIu64 " busy, max turn %" PRIu64 " us", s->turns,
	       s->busy_turns, s->turn_ns_max / 1000);
	return 1;
}

/* The entropy source: brought up at probe time (rng_init; its rings and
 * pool come from the arena only when there is a device), refilled by a
 * poller once the scheduler exists (rng_start). */
static struct k_virtio_rng *rng_init(struct uvm *vm)
{
	struct virtio_pci_dev *d = uvm_virtio(vm, VIRTIO_RNG_PCI_ID, 0);
	struct k_virtio_rng *rng = d ? uvm_alloc(vm, "virtio-rng", sizeof(*rng), 4096) : NULL;

	if (!rng) {
		k_info("virtio-rng: no device (1af4:1044): no entropy source");
		return NULL;
	}
	return k_virtio_rng_init(rng, d, k_now_ns) == 0 ? rng : NULL;
}

static void rng_start(struct uvm *vm, struct k_virtio_rng *rng)
{
	if (!rng)
		return;
	if (uvm_add_poller(vm, "virtio-rng", k_virtio_rng_poll, rng) < 0) {
		/* A pool nobody refills is no source: rng listeners are refused. */
		k_err("virtio-rng: no room for the refill poller");
		k_virtio_rng_disable(rng);
		return;
	}
	vm->rng = rng;
}

/* How long one sleep may last. idle_us while a ring is found only by
 * polling; with doorbells (every started ring kicked by an interrupt) and
 * vsock traffic waking the loop too, up to IDLE_LONG_NS: an idle VM then
 * runs a few turns a second instead of one per idle_us. Timed pollers'
 * deadlines still end the sleep on time (k_sched_sleep_ns). */
static uint64_t idle_bound_ns(const struct uvm_wake *w, const struct uvm_vhost *h, uint32_t idle_us)
{
	/* Only a VM with doorbells: without them every ring is polled. */
	if (w->drv && k_ivshmem_db_count() && !uvm_vhost_polls(h))
		return IDLE_LONG_NS;
	return (uint64_t)idle_us * 1000;
}

int main(void)
{
	/* The context and every service's state: here, and only here. */
	static struct k_fdt fdt;
	static struct uvm_args args;
	static struct k_sched sched;
	static struct k_arena arena;
	static struct virtio_pci_dev vdevs[UVM_MAX_VIRTIO];
	static struct uvm_vsock vsock;
	static struct uvm_vhost vhost;
	static struct uvm_wake wake;
	static struct uvm_vdisks disks;
	static struct uvm vm = {.args = &args, .sched = &sched, .ram = &arena, .disks = &disks};
	struct k_virtio_rng *rng;
	const char *line = "";
	size_t alen = 0;
	int r;

	k_log_set_clock(k_now_ns);
	printf("\nuvhost service VM %s (%s, %s)\n", UVHOST_VERSION, UVM_ARCH, UVM_LIBC);

	r = k_fdt_init(&fdt, (const void *)K_VIRT_DTB_ADDR, K_VIRT_DTB_MAX);
	if (r)
		k_panic("no valid DTB at %#lx (%d)", K_VIRT_DTB_ADDR, r);
	console_from_dtb(&fdt);
	k_info("dtb: %u bytes, %u nodes", fdt.size, fdt.nodes);

	if (k_fdt_bootargs(&fdt, &line, &alen))
		alen = 0;
	uvm_args_parse(&args, line, alen, bootarg_warn, NULL);
	k_log_set_level(args.k.log_level);
	k_info("bootargs: \"%.*s\" (ctl port %" PRIu32 ", %u vhost listeners, idle %" PRIu32
	       " us, poll %" PRIu32 " us)",
	       (int)alen, line, args.k.ctl_port, args.n_vhost, args.k.idle_us, args.k.poll_us);

	memory_from_dtb(&fdt, &vm);
	k_board_init_irq(&fdt);
	pci_from_dtb(&fdt);
	virtio_probe_all(&vm, vdevs);
	rng = rng_init(&vm);
	uvm_vdisks_init(&disks, &vm, args.k.disk_timeout_ms, args.k.disk_bounce_kib);
	windows_log();
	k_info("mmu: %u of %u page tables", k_mmu_tables_used(), k_mmu_tables_total());

	if (args.k.crashtest)
		crash_now();

	k_sched_init(&sched, k_now_ns);
	if (uvm_add_timed_poller(&vm, "heartbeat", heartbeat_poll, &sched, HEARTBEAT_US) < 0)
		k_err("no room for the heartbeat poller");
	/* Services register their pollers here (entropy pool, vsock driver,
	 * control service, vhost-user listeners) before the loop starts; the
	 * pool first, so what it collects is there for the rng sessions in
	 * the same turn. */
	rng_start(&vm, rng);
	uvm_vdisks_start(&disks, &vm);
	/* Before the vhost sessions: its poller takes the turn's doorbells. */
	uvm_doorbell_start(&vm, &fdt);
	if (uvm_vsock_start(&vsock, &vm) == 0) {
		uvm_vhost_start(&vhost, &vm);
		/* With no listener (none configured, or none could be set up)
		 * every `vhost` command names the port it does not know. */
		k_control_set_commands(vm.ctl, uvm_vhost_command, &vhost);
	}
	uvm_vsock_wake_init(&wake, vm.vvs, &fdt);
	uvm_vdisks_wire(&disks, &fdt);
	{
		uint64_t bytes = budget_log(&arena);

		if (vm.ctl)
			k_control_set_mem_static(vm.ctl, bytes);
	}

	k_info("ready in %" PRIu64 " ms", k_now_ns() / 1000000);
	{
		/* NOFD kicks raise no interrupt: a ring is seen only by polling.
		 * Keep polling for a while after work (a request often follows
		 * a completion; vu/session.h, as uvhostd) and only then sleep.
		 * A vsock packet ends the sleep early (vsock_wake.c); the
		 * next timed poller's deadline ends it on time, and idle_us
		 * bounds it for the rings nothing signals. Doorbell rings do
		 * signal (doorbell.c): with only those, a sleep lasts longer.
		 * A virtio-blk disk's interrupt ends it too (vdisk_service.c). */
		struct vu_busy_poll bp = {.window_ns = (uint64_t)args.k.poll_us * 1000};

		for (;;)
			if (!vu_busy_poll_turn(&bp, k_sched_turn(&sched), k_now_ns()) &&
			    uvm_vsock_idle_prepare(&wake) == 0 &&
			    uvm_vdisks_idle_prepare(&disks) == 0)
				k_idle(k_sched_sleep_ns(
					&sched, k_now_ns(),
					idle_bound_ns(&wake, &vhost, args.k.idle_us)));
	}
}
