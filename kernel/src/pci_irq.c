/* INTx routing through the host bridge's interrupt-map (devicetree
 * specification 2.4.3, "Interrupt Nexus Properties"). */
#include "kern/pci_irq.h"

#include <errno.h>
#include <stdbool.h>

#define CHILD_CELLS 4u /* phys.hi, phys.mid, phys.lo, pin */
#define PARENT_ADDR_MAX 3u
#define PARENT_INT_MAX 4u
#define GIC_SPI 0u
#define GIC_LEVEL_HIGH 4u
#define GIC_SPI_MAX (K_GIC_INTID_MAX - K_GIC_SPI_BASE)

static int node_by_phandle(const struct k_fdt *f, uint32_t ph)
{
	int depth = 0;

	if (ph == 0 || ph == 0xffffffffu)
		return -EINVAL;
	for (int n = k_fdt_next_node(f, -1, &depth); n >= 0; n = k_fdt_next_node(f, n, &depth)) {
		uint32_t v;
		if ((k_fdt_u32(f, n, "phandle", &v) == 0 ||
		     k_fdt_u32(f, n, "linux,phandle", &v) == 0) &&
		    v == ph)
			return n;
	}
	return -EINVAL; /* a dangling phandle is a broken map, not a missing one */
}

struct parent {
	uint32_t phandle;
	int node;
	uint32_t addr_cells, int_cells;
};

/* The parent's cell counts, cached: QEMU's map names one parent 16 times. */
static int parent_of(const struct k_fdt *f, uint32_t ph, struct parent *p)
{
	int r;

	if (p->node >= 0 && p->phandle == ph)
		return 0;
	p->node = node_by_phandle(f, ph);
	if (p->node < 0)
		return p->node;
	p->phandle = ph;
	/* Absent #address-cells means 0 here, unlike for "reg". */
	r = k_fdt_u32(f, p->node, "#address-cells", &p->addr_cells);
	if (r == -ENOENT)
		p->addr_cells = 0;
	else if (r)
		return -EINVAL;
	if (k_fdt_u32(f, p->node, "#interrupt-cells", &p->int_cells) || p->int_cells == 0 ||
	    p->int_cells > PARENT_INT_MAX || p->addr_cells > PARENT_ADDR_MAX) {
		p->node = -1;
		return -EINVAL;
	}
	return 0;
}

/* What the matching entry's specifier means for us. */
static int decode(const struct k_fdt *f, const struct parent *p, const uint8_t *spec,
		  struct k_pci_intx *out)
{
	uint32_t len;

	/* Only a direct controller: another nexus would need its own walk. */
	if (!k_fdt_prop(f, p->node, "interrupt-controller", &len) || p->int_cells != 3)
		return -ENOTSUP;
	if (k_fdt_be32(spec) != GIC_SPI || (k_fdt_be32(spec + 8) & 0xfu) != GIC_LEVEL_HIGH)
		return -ENOTSUP;
	if (k_fdt_be32(spec + 4) > GIC_SPI_MAX)
		return -EINVAL;
	out->intid = K_GIC_SPI_BASE + k_fdt_be32(spec + 4);
	out->parent_node = p->node;
	return 0;
}

int k_pci_intx_from_fdt(const struct k_fdt *f, uint32_t devfn_hi, uint32_t pin,
			struct k_pci_intx *out)
{
	int node = k_fdt_find_compatible(f, -1, "pci-host-ecam-generic");
	struct parent par = {.node = -1};
	uint32_t ac, sc, ic, len, mlen, ncells, key[CHILD_CELLS], mask[CHILD_CELLS];
	const uint8_t *map, *m;
	int result = -ENOENT;
	unsigned entries = 0;

	if (node < 0)
		return node == -ENOENT ? -ENOENT : -EINVAL;
	if (pin < 1 || pin > 4)
		return -EINVAL;
	map = k_fdt_prop(f, node, "interrupt-map", &len);
	if (!map)
		return -ENOENT;
	if (k_fdt_cells(f, node, &ac, &sc) || ac != 3)
		return -EINVAL;
	if (k_fdt_u32(f, node, "#interrupt-cells", &ic) || ic != 1)
		return -EINVAL;
	m = k_fdt_prop(f, node, "interrupt-map-mask", &mlen);
	if (m && mlen != 4 * CHILD_CELLS)
		return -EINVAL;
	key[0] = devfn_hi;
	key[1] = key[2] = 0;
	key[3] = pin;
	for (unsigned i = 0; i < CHILD_CELLS; i++) {
		/* Without a mask every bit is significant. */
		mask[i] = m ? k_fdt_be32(m + 4 * i) : 0xffffffffu;
		key[i] &= mask[i];
	}
	if (len == 0 || len % 4)
		return -EINVAL;
	ncells = len / 4;
	/* Validate every entry, use the first match. */
	for (uint32_t pos = 0; pos < ncells;) {
		const uint8_t *e = map + 4 * pos;
		uint32_t need;
		bool match = true;
		int r;

		if (++entries > K_PCI_IRQ_MAX_ENTRIES || ncells - pos < CHILD_CELLS + 1)
			return -EINVAL;
		r = parent_of(f, k_fdt_be32(e + 4 * CHILD_CELLS), &par);
		if (r)
			return r;
		need = CHILD_CELLS + 1 + par.addr_cells + par.int_cells;
		if (ncells - pos < need)
			return -EINVAL;
		for (unsigned i = 0; i < CHILD_CELLS; i++)
			match &= (k_fdt_be32(e + 4 * i) & mask[i]) == key[i];
		if (match && result == -ENOENT) {
			result = decode(f, &par, e + 4 * (CHILD_CELLS + 1 + par.addr_cells), out);
			/* Keep "refused" distinct from "not found" after the walk. */
			if (result == -ENOENT)
				result = -EINVAL;
		}
		pos += need;
	}
	return result;
}
