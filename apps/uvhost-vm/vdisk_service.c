/* The service VM's own virtio-blk disks (see vdisk_service.h). */
#include "vdisk_service.h"

#include <errno.h>
#include <inttypes.h>

#include "arch/board.h"
#include "kern/log.h"
#include "kern/pci.h"
#include "kern/pci_irq.h"
#include "kern/time.h"

/* The pool for disk i, from the boot arena: 0, or -ENOMEM (said). */
static int bounce_pool(struct uvm_vdisks *d, struct uvm *vm, unsigned i, uint32_t kib)
{
	uint16_t nslots = (uint16_t)(kib * 1024u / UVM_BOUNCE_SLOT_BYTES);
	void *ram = uvm_alloc(vm, "virtio-blk bounce", uvm_bounce_bytes(nslots), 4096);

	if (!ram || uvm_bounce_init(&d->bounce[i], ram, nslots)) {
		k_err("vd%u: no room for a %" PRIu32 " KiB bounce pool: not served", i, kib);
		return -ENOMEM;
	}
	k_info("vd%u: data copied through a bounce pool of %u x %u KiB in the VM's RAM", i,
	       (unsigned)nslots, UVM_BOUNCE_SLOT_BYTES / 1024u);
	return 0;
}

int uvm_vdisks_init(struct uvm_vdisks *d, struct uvm *vm, uint32_t timeout_ms, uint32_t bounce_kib)
{
	int up = 0;

	d->n = 0;
	for (unsigned i = 0; i < UVM_DISK_MAX; i++) {
		struct virtio_pci_dev *p = uvm_virtio(vm, VIRTIO_BLK_PCI_ID, i);
		struct k_virtio_blk *b;

		d->disk[i] = NULL;
		d->wired[i] = false;
		d->bounce[i].nslots = 0;
		if (!p)
			break;
		d->pci[i] = p;
		d->n++;
		b = uvm_alloc(vm, "virtio-blk", sizeof(*b), 4096);
		if (!b)
			continue;
		if (k_virtio_blk_init(b, p, i, k_now_ns) == 0 &&
		    (!bounce_kib || bounce_pool(d, vm, i, bounce_kib) == 0)) {
			b->timeout_ns = (uint64_t)timeout_ms * 1000000u;
			d->disk[i] = b;
			up++;
		}
	}
	if (uvm_virtio(vm, VIRTIO_BLK_PCI_ID, UVM_DISK_MAX))
		k_warn("virtio-blk: more than %u disks: the rest are not driven", UVM_DISK_MAX);
	if (d->n)
		k_info("virtio-blk: %d of %u disk(s) up", up, d->n);
	return up;
}

static int vdisks_poll(void *ctx)
{
	struct uvm_vdisks *d = ctx;
	int work = 0;

	for (unsigned i = 0; i < d->n; i++)
		if (d->disk[i])
			work += k_vblk_poll(d->disk[i]);
	return work;
}

static int vdisks_timeout_poll(void *ctx)
{
	struct uvm_vdisks *d = ctx;
	int n = 0;

	/* Broken disks too: this poller brings them back. */
	for (unsigned i = 0; i < d->n; i++)
		if (d->disk[i])
			n += k_vblk_timeout_poll(d->disk[i]);
	return n;
}

/* The disk's INTx as a wake-up, as vsock_wake.c does for vsock. */
static bool wire(const struct k_fdt *f, const struct k_virtio_blk *b,
		 const struct virtio_pci_dev *v)
{
	const struct k_pci_func *p = v->pci;
	uint8_t pin = k_pci_intx_pin(p);
	struct k_pci_intx x;
	int r;

	if (!pin) {
		k_info("%s: no INTx pin: polled while busy", b->name);
		return false;
	}
	r = k_pci_intx_from_fdt(f, k_pci_devfn_hi(p->bus, p->dev, p->fn), pin, &x);
	if (r == 0) {
		k_pci_intx_set(p, true);
		r = k_board_wake_spi(x.parent_node, x.intid);
		if (r)
			k_pci_intx_set(p, false);
	}
	if (r) {
		k_info("%s: no usable INTx (%d): polled while busy", b->name, r);
		return false;
	}
	k_info("%s: idle wake-up on INTx pin %c, GIC SPI %u", b->name, 'A' + pin - 1,
	       (unsigned)(x.intid - K_GIC_SPI_BASE));
	return true;
}

void uvm_vdisks_start(struct uvm_vdisks *d, struct uvm *vm)
{
	unsigned up = 0;

	for (unsigned i = 0; i < d->n; i++)
		up += d->disk[i] != NULL;
	if (!up)
		return;
	if (uvm_add_poller(vm, "vdisk", vdisks_poll, d) < 0 ||
	    uvm_add_timed_poller(vm, "vdisk-timeout", vdisks_timeout_poll, d, UVM_VDISK_TIMER_US) <
		    0) {
		/* Nobody would collect the answers: no disk is served. */
		k_err("virtio-blk: no room for the pollers: disks not served");
		for (unsigned i = 0; i < d->n; i++)
			d->disk[i] = NULL;
	}
}

void uvm_vdisks_wire(struct uvm_vdisks *d, const struct k_fdt *f)
{
	for (unsigned i = 0; i < d->n; i++)
		if (d->disk[i])
			d->wired[i] = wire(f, d->disk[i], d->pci[i]);
}

struct k_virtio_blk *uvm_vdisk_get(const struct uvm_vdisks *d, int n, const char **why)
{
	if (n < 0 || (unsigned)n >= d->n) {
		*why = "no such virtio-blk disk";
		return NULL;
	}
	if (!d->disk[n]) {
		*why = "disk did not come up";
		return NULL;
	}
	return d->disk[n];
}

struct uvm_bounce *uvm_vdisk_bounce(struct uvm_vdisks *d, int n)
{
	return n >= 0 && (unsigned)n < d->n && d->bounce[n].nslots ? &d->bounce[n] : NULL;
}

int uvm_vdisks_idle_prepare(struct uvm_vdisks *d)
{
	int more = 0;

	for (unsigned i = 0; i < d->n; i++) {
		struct k_virtio_blk *b = d->disk[i];

		if (!b || b->broken || !k_vblk_in_flight(b, NULL))
			continue;
		if (!d->wired[i])
			return 1; /* nothing would wake us: keep polling */
		more |= k_virtio_blk_idle_prepare(b, d->pci[i]);
	}
	return more;
}

int uvm_vdisks_stat(struct uvm_vdisks *d, unsigned i, const char **key, uint64_t *val)
{
	for (unsigned k = 0; k < d->n; k++) {
		if (!d->disk[k])
			continue;
		if (i < K_VBLK_NSTATS)
			return k_vblk_stat(d->disk[k], i, d->keys[k], key, val);
		i -= K_VBLK_NSTATS;
	}
	if (i == 0 && d->n) {
		*key = "vdisk_bounced_bytes";
		*val = 0;
		for (unsigned k = 0; k < d->n; k++)
			if (d->bounce[k].nslots)
				*val += d->bounce[k].bytes;
		return 0;
	}
	return -ENOENT;
}
