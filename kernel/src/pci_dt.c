/* The ECAM host bridge as the DTB describes it (IEEE 1275 PCI binding). */
#include "kern/pci.h"

#include <errno.h>
#include <string.h>

#define PCI_SPACE_IO 1u
#define PCI_SPACE_MEM32 2u
#define PCI_SPACE_MEM64 3u
#define PCI_HI_PREFETCH (1u << 30)
#define ECAM_BUS_BYTES (1ull << 20)

static int parse_ranges(const struct k_fdt *f, int node, int parent, struct k_pci_host *h)
{
	uint32_t ac, sc, pac, psc, len, entry;
	const uint8_t *p = k_fdt_prop(f, node, "ranges", &len);

	if (!p)
		return -EINVAL;
	if (k_fdt_cells(f, node, &ac, &sc) || k_fdt_cells(f, parent, &pac, &psc))
		return -EINVAL;
	if (ac != 3 || sc < 1 || sc > 2 || pac < 1 || pac > 2)
		return -EINVAL;
	entry = (ac + pac + sc) * 4;
	if (len == 0 || len % entry)
		return -EINVAL;
	for (; len; len -= entry, p += entry) {
		uint32_t hi = k_fdt_be32(p);
		struct k_pci_range r = {
			.pci_base = k_fdt_read_cells(p + 4, 2),
			.cpu_base = k_fdt_read_cells(p + 12, pac),
			.size = k_fdt_read_cells(p + 12 + 4 * pac, sc),
			.present = true,
			.prefetch = (hi & PCI_HI_PREFETCH) != 0,
		};
		struct k_pci_range *slot;

		if (r.size == 0 || r.pci_base + (r.size - 1) < r.pci_base ||
		    r.cpu_base + (r.size - 1) < r.cpu_base)
			return -EINVAL;
		switch ((hi >> 24) & 3u) {
		case PCI_SPACE_IO: slot = &h->io; break;
		case PCI_SPACE_MEM32:
			if (r.pci_base + (r.size - 1) > 0xffffffffull)
				return -EINVAL;
			slot = &h->mem32;
			break;
		case PCI_SPACE_MEM64: slot = &h->mem64; break;
		default: continue; /* config space: not a window */
		}
		/* Several windows of one kind: keep the largest. */
		if (!slot->present || r.size > slot->size)
			*slot = r;
	}
	return 0;
}

int k_pci_host_from_fdt(const struct k_fdt *f, struct k_pci_host *h)
{
	int node = k_fdt_find_compatible(f, -1, "pci-host-ecam-generic");
	int parent;
	uint32_t len;
	const uint8_t *br;
	uint64_t buses;

	if (node < 0)
		return node == -ENOENT ? -ENOENT : -EINVAL;
	memset(h, 0, sizeof(*h));
	if (k_fdt_reg(f, node, 0, &h->ecam_base, &h->ecam_size))
		return -EINVAL;
	if (h->ecam_size < ECAM_BUS_BYTES || h->ecam_base + (h->ecam_size - 1) < h->ecam_base ||
	    h->ecam_base % ECAM_BUS_BYTES)
		return -EINVAL;
	h->bus_start = 0;
	h->bus_end = 255;
	br = k_fdt_prop(f, node, "bus-range", &len);
	if (br) {
		if (len != 8)
			return -EINVAL;
		h->bus_start = k_fdt_be32(br);
		h->bus_end = k_fdt_be32(br + 4);
		if (h->bus_start > h->bus_end || h->bus_end > 255)
			return -EINVAL;
	}
	/* Never address config space beyond what "reg" maps. */
	buses = h->ecam_size / ECAM_BUS_BYTES;
	if (buses < (uint64_t)(h->bus_end - h->bus_start) + 1)
		h->bus_end = h->bus_start + (uint32_t)buses - 1;
	parent = k_fdt_parent(f, node);
	if (parent < 0)
		return -EINVAL;
	return parse_ranges(f, node, parent, h);
}
