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
 * Boot: banner, DTB, console from the DTB, bootargs, RAM, GIC (idle
 * wake-up), PCI enumeration and BAR assignment, virtio-pci probing (and the
 * virtio-rng entropy pool's first fill when present, virtio_rng.c), ivshmem
 * windows with CRC-32, the vsock device and the control service
 * (vsock_service.c), the vhost-user listeners of `vhost=` (vhost_service.c;
 * blk RAM disks come from the RAM past the image, uvm_ram_alloc), the vsock
 * interrupt as an idle wake-up (vsock_wake.c), then "ready in N ms" and the
 * scheduler loop.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "arch/mmu.h"
#include "arch/board.h"
#include "kern/bootargs.h"
#include "kern/fdt.h"
#include "kern/ivshmem.h"
#include "kern/log.h"
#include "kern/panic.h"
#include "kern/pci.h"
#include "kern/sched.h"
#include "kern/time.h"
#include "kern/virtio_pci.h"
#include "uvm.h"
#include "vhost_service.h"
#include "virtio_rng.h"
#include "vsock_service.h"
#include "vsock_wake.h"

#include "uvm_version.h" /* generated: UVHOST_VERSION */

#define HEARTBEAT_US (60ull * 1000 * 1000)

static struct k_sched uvm_sched;
static struct k_bootargs uvm_bootargs;
static struct virtio_pci_dev uvm_vdevs[UVM_MAX_VIRTIO];
static unsigned uvm_nvdevs;
/* RAM past the image, handed out once at init (uvm_ram_alloc). */
static uint64_t uvm_ram_next, uvm_ram_end;
static uint64_t uvm_ram_start; /* the DTB's /memory base */

int uvm_add_poller(const char *name, k_poller_fn fn, void *ctx)
{
	int id = k_sched_add(&uvm_sched, name, fn, ctx);
	return id < 0 ? -ENOMEM : id;
}

int uvm_add_timed_poller(const char *name, k_poller_fn fn, void *ctx, uint64_t period_us)
{
	int id = k_sched_add_timed(&uvm_sched, name, fn, ctx, period_us);
	return id < 0 ? -ENOMEM : id;
}

struct virtio_pci_dev *uvm_virtio(uint16_t device_id, unsigned i)
{
	for (unsigned k = 0; k < uvm_nvdevs; k++)
		if (uvm_vdevs[k].device_id == device_id && i-- == 0)
			return &uvm_vdevs[k];
	return NULL;
}

const struct k_sched *uvm_sched_get(void)
{
	return &uvm_sched;
}

const struct k_bootargs *uvm_args(void)
{
	return &uvm_bootargs;
}

void *uvm_ram_alloc(uint64_t size, uint64_t align)
{
	uint64_t at;

	if (!align || (align & (align - 1)) || uvm_ram_next > UINT64_MAX - align)
		return NULL;
	at = (uvm_ram_next + align - 1) & ~(align - 1);
	if (at > uvm_ram_end || size > uvm_ram_end - at)
		return NULL;
	uvm_ram_next = at + size;
	return (void *)(uintptr_t)at;
}

uint64_t uvm_ram_base(void)
{
	return uvm_ram_start;
}

uint64_t uvm_ram_free(void)
{
	return uvm_ram_end > uvm_ram_next ? uvm_ram_end - uvm_ram_next : 0;
}

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

static void memory_from_dtb(const struct k_fdt *f)
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
	uvm_ram_start = base;
	uvm_ram_next = k_image_end();
	uvm_ram_end = base + size;
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
	r = k_pci_init(&h);
	if (r < 0)
		k_err("pci: enumeration failed (%d)", r);
	else
		k_info("pci: %d functions", r);
}

static void virtio_probe_all(void)
{
	for (unsigned i = 0; i < k_pci_count() && uvm_nvdevs < UVM_MAX_VIRTIO; i++) {
		const struct k_pci_func *p = k_pci_get(i);
		struct virtio_pci_dev *d = &uvm_vdevs[uvm_nvdevs];
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
		uvm_nvdevs++;
	}
}

static void windows_log(void)
{
	int n = k_windows_init();

	for (int i = 0; i < n; i++) {
		uint64_t base, size;
		uint32_t crc = 0;
		uint64_t t0 = k_now_ns();
		k_window_get((unsigned)i, &base, &size);
		k_window_crc32((unsigned)i, 0, size, &crc);
		k_info("window %d: base %#" PRIx64 " size %" PRIu64 " crc32 %08" PRIx32 " (%" PRIu64
		       " us)",
		       i, base, size, crc, (k_now_ns() - t0) / 1000);
	}
	k_info("windows: %d", n);
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

int main(void)
{
	static struct k_fdt fdt;
	const char *args = "";
	size_t alen = 0;
	int r;

	k_log_set_clock(k_now_ns);
	printf("\nuvhost service VM %s (aarch64, picolibc)\n", UVHOST_VERSION);

	r = k_fdt_init(&fdt, (const void *)K_VIRT_DTB_ADDR, K_VIRT_DTB_MAX);
	if (r)
		k_panic("no valid DTB at %#lx (%d)", K_VIRT_DTB_ADDR, r);
	console_from_dtb(&fdt);
	k_info("dtb: %u bytes, %u nodes", fdt.size, fdt.nodes);

	if (k_fdt_bootargs(&fdt, &args, &alen))
		alen = 0;
	k_bootargs_parse(&uvm_bootargs, args, alen, bootarg_warn, NULL);
	k_log_set_level(uvm_bootargs.log_level);
	k_info("bootargs: \"%.*s\" (ctl port %" PRIu32 ", %u vhost listeners, idle %" PRIu32
	       " us, poll %" PRIu32 " us)",
	       (int)alen, args, uvm_bootargs.ctl_port, uvm_bootargs.n_vhost, uvm_bootargs.idle_us,
	       uvm_bootargs.poll_us);

	memory_from_dtb(&fdt);
	k_board_init_irq(&fdt);
	pci_from_dtb(&fdt);
	virtio_probe_all();
	uvm_rng_init(uvm_virtio(VIRTIO_RNG_PCI_ID, 0));
	windows_log();
	k_info("mmu: %u of %u page tables", k_mmu_tables_used(), k_mmu_tables_total());

	if (uvm_bootargs.crashtest)
		crash_now();

	k_sched_init(&uvm_sched, k_now_ns);
	if (k_sched_add_timed(&uvm_sched, "heartbeat", heartbeat_poll, &uvm_sched, HEARTBEAT_US) <
	    0)
		k_err("no room for the heartbeat poller");
	/* Services register their pollers here (entropy pool, vsock driver,
	 * control service, vhost-user listeners) before the loop starts; the
	 * pool first, so what it collects is there for the rng sessions in
	 * the same turn. */
	uvm_rng_start();
	if (uvm_vsock_start() == 0)
		uvm_vhost_start();
	uvm_vsock_wake_init(&fdt);

	k_info("ready in %" PRIu64 " ms", k_now_ns() / 1000000);
	for (uint64_t last_work = 0;;) {
		/* NOFD kicks raise no interrupt: a ring is seen only by polling.
		 * Keep polling for a while after work (a request often follows
		 * a completion) and only then sleep, as uvhostd's busy-poll.
		 * A vsock packet ends the sleep early (vsock_wake.c); the
		 * next timed poller's deadline ends it on time, and idle_us
		 * bounds it for the rings nothing signals. */
		if (k_sched_turn(&uvm_sched) != 0)
			last_work = k_now_ns();
		else if (k_now_ns() - last_work >= (uint64_t)uvm_bootargs.poll_us * 1000 &&
			 uvm_vsock_idle_prepare() == 0)
			k_idle(k_sched_sleep_ns(&uvm_sched, k_now_ns(),
						(uint64_t)uvm_bootargs.idle_us * 1000));
	}
}
