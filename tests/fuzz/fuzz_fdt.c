/* fuzz_fdt.c - libFuzzer target: a hostile DTB against the FDT reader.
 *
 * Input: the blob itself. If k_fdt_init() accepts it, every accessor the
 * unikernel uses runs over every node (names, parents, properties, reg,
 * compatible, cells) plus the memory, bootargs and PCI host lookups, so
 * ASan proves that no validated blob leads a reader outside the input.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "kern/fdt.h"
#include "kern/pci_irq.h"
#include "kern/pci.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	/* An exact-size copy: any read past the end trips ASan. */
	uint8_t *blob = malloc(size ? size : 1);
	struct k_fdt f;
	struct k_pci_host h;
	uint64_t a, s;
	const char *args;
	size_t alen;
	int depth = 0, n, visited = 0;

	if (!blob)
		return 0;
	memcpy(blob, data, size);
	if (k_fdt_init(&f, blob, size) == 0) {
		for (n = k_fdt_next_node(&f, -1, &depth); n >= 0 && visited < 256;
		     n = k_fdt_next_node(&f, n, &depth), visited++) {
			uint32_t len, v;
			const char *name = k_fdt_name(&f, n);
			if (!name)
				abort(); /* a node the walk returned must have a name */
			(void)k_fdt_parent(&f, n);
			(void)k_fdt_prop(&f, n, "reg", &len);
			(void)k_fdt_compatible(&f, n, "pci-host-ecam-generic");
			(void)k_fdt_u32(&f, n, "#address-cells", &v);
			(void)k_fdt_cells(&f, n, &v, &v);
			for (unsigned i = 0; i < 3; i++)
				(void)k_fdt_reg(&f, n, i, &a, &s);
			(void)k_fdt_subnode(&f, n, "memory", 6);
		}
		(void)k_fdt_path(&f, "/chosen");
		(void)k_fdt_path(&f, "/a/b/c");
		(void)k_fdt_memory(&f, &a, &s);
		if (k_fdt_bootargs(&f, &args, &alen) == 0 && strlen(args) != alen)
			abort();
		(void)k_fdt_find_compatible(&f, -1, "arm,pl011");
		(void)k_pci_host_from_fdt(&f, &h);
		/* The interrupt-map walk: every slot and pin, and what it returns
		 * must be a GIC SPI on a node of this blob. */
		for (uint32_t dev = 0; dev < 32; dev += 5) {
			for (uint32_t pin = 0; pin <= 5; pin++) {
				struct k_pci_intx x;
				if (k_pci_intx_from_fdt(&f, k_pci_devfn_hi(0, dev, 0), pin, &x) ==
					    0 &&
				    (x.intid < K_GIC_SPI_BASE || x.intid > K_GIC_INTID_MAX ||
				     x.parent_node < 0))
					abort();
			}
		}
	}
	free(blob);
	return 0;
}
