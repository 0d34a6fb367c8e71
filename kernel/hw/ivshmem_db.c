/* The ivshmem-doorbell driver (see kern/ivshmem_db.h). */
#include "kern/ivshmem_db.h"

#include <errno.h>

#include "kern/ivshmem.h"
#include "kern/hw_arch.h"
#include "kern/log.h"
#include "kern/msix.h"

#define MSIX_CTL 2
#define MSIX_TABLE 4
#define MSIX_ENABLE 0x8000u
#define MSIX_FUNC_MASK 0x4000u

static struct k_ivshmem_db k_dbs[K_IVSHMEM_DB_MAX];
static unsigned k_ndbs;

static int wire(const struct k_fdt *f, const struct k_pci_func *p, struct k_ivshmem_db *d)
{
	uint32_t cap = k_pci_find_cap(p, K_PCI_CAP_MSIX), first;
	struct k_msix_table t;
	uint64_t addr;
	uint16_t ctl;
	unsigned n;
	int r;

	if (!cap)
		return -ENODEV;
	ctl = k_pci_cfg_r16(p, cap + MSIX_CTL);
	r = k_msix_locate(ctl, k_pci_cfg_r32(p, cap + MSIX_TABLE), p->bar, &t);
	if (r)
		return r;
	if (k_pci_map_bar(p, 0, false) || k_pci_map_bar(p, t.bar, false))
		return -EIO;
	n = t.entries < K_MSIX_MAX_VECTORS ? t.entries : K_MSIX_MAX_VECTORS;
	r = k_board_msi_alloc(f, n, &addr, &first);
	if (r)
		return r;
	/* Masked while its entries are written, then enabled. */
	k_pci_cfg_w16(p, cap + MSIX_CTL, (uint16_t)(ctl | MSIX_ENABLE | MSIX_FUNC_MASK));
	for (unsigned v = 0; v < n; v++) {
		uint32_t e[4];
		uintptr_t at = (uintptr_t)(t.addr + (uint64_t)v * K_MSIX_ENTRY_BYTES);

		k_msix_entry(addr, first + v, e);
		for (unsigned w = 0; w < 4; w++)
			k_mmio_w32(at + 4 * w, e[w]);
	}
	k_pci_intx_set(p, false);
	k_pci_cfg_w16(p, cap + MSIX_CTL, (uint16_t)((ctl | MSIX_ENABLE) & ~MSIX_FUNC_MASK));
	d->pci = p;
	d->regs = (uintptr_t)p->bar[0].cpu_addr;
	d->peer_id = k_mmio_r32(d->regs + K_IVSHMEM_DB_REG_IVPOSITION);
	d->first_intid = first;
	d->nvec = n;
	d->irqs = d->rings = 0;
	return 0;
}

int k_ivshmem_db_init(const struct k_fdt *f)
{
	k_ndbs = 0;
	for (unsigned i = 0; i < k_pci_count(); i++) {
		const struct k_pci_func *p = k_pci_get(i);
		struct k_ivshmem_db *d;
		int r;

		if (p->vendor != K_IVSHMEM_VENDOR || p->device != K_IVSHMEM_DEVICE ||
		    !k_pci_find_cap(p, K_PCI_CAP_MSIX))
			continue;
		if (k_ndbs == K_IVSHMEM_DB_MAX) {
			k_warn("ivshmem-doorbell %02x:%02x.%x ignored: %u at most", p->bus, p->dev,
			       p->fn, K_IVSHMEM_DB_MAX);
			continue;
		}
		if (!(p->bar[0].flags & K_PCI_BAR_ASSIGNED)) {
			k_err("ivshmem-doorbell %02x:%02x.%x: BAR0 not assigned", p->bus, p->dev,
			      p->fn);
			continue;
		}
		d = &k_dbs[k_ndbs];
		r = wire(f, p, d);
		if (r) {
			k_err("ivshmem-doorbell %02x:%02x.%x: cannot wire MSI-X (%d)", p->bus,
			      p->dev, p->fn, r);
			continue;
		}
		k_info("doorbell %u: ivshmem-doorbell %02x:%02x.%x, peer id %u, %u vectors on "
		       "intids %u-%u",
		       k_ndbs, p->bus, p->dev, p->fn, (unsigned)d->peer_id, d->nvec,
		       (unsigned)d->first_intid, (unsigned)(d->first_intid + d->nvec - 1));
		k_ndbs++;
	}
	return (int)k_ndbs;
}

unsigned k_ivshmem_db_count(void)
{
	return k_ndbs;
}

struct k_ivshmem_db *k_ivshmem_db_get(unsigned i)
{
	return i < k_ndbs ? &k_dbs[i] : NULL;
}

uint64_t k_ivshmem_db_take(struct k_ivshmem_db *d)
{
	uint64_t m = k_board_msi_take(d->first_intid, d->nvec);

	d->irqs += (uint64_t)__builtin_popcountll(m);
	return m;
}

int k_ivshmem_db_ring(struct k_ivshmem_db *d, uint32_t peer, uint32_t vector)
{
	if (peer > 0xffffu || vector > K_IVSHMEM_DB_MAX_VECTOR)
		return -EINVAL;
	k_mmio_w32(d->regs + K_IVSHMEM_DB_REG_DOORBELL, peer << 16 | vector);
	d->rings++;
	return 0;
}
