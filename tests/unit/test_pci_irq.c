/* INTx routing through the host bridge's interrupt-map: QEMU virt's map
 * (the standard swizzle over four SPIs) is resolved for every slot and pin,
 * and every malformed or unsupported map is refused without reading past a
 * property. Each case changes one thing in a virt-like tree. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "helpers/fdt_build.h"
#include "kern/fdt.h"
#include "kern/pci_irq.h"

#define GIC_PH 0x8002u
#define ABSENT 0xdeadu /* leave the property out */
#define MAP_MAX 3000u

struct tree {
	uint32_t gic_ac, gic_ic, gic_phandle, pci_ac, pci_ic;
	bool gic_is_controller, linux_phandle;
	uint32_t mask[8];
	unsigned mask_n; /* ABSENT: no interrupt-map-mask */
	uint32_t map[MAP_MAX];
	unsigned map_n; /* ABSENT: no interrupt-map */
};

static struct fdtb W;
static struct k_fdt F;
static struct tree T;

/* QEMU virt (hw/arm/virt.c create_pcie_irq_map): slot s, pin p -> SPI
 * 3 + (s + p - 1) % 4, level high; the mask keeps slot bits 0-1 and pin. */
static void qemu_tree(struct tree *t)
{
	static const uint32_t mask[] = {0x1800, 0, 0, 7};

	memset(t, 0, sizeof(*t));
	t->gic_ac = 2;
	t->gic_ic = 3;
	t->gic_phandle = GIC_PH;
	t->gic_is_controller = true;
	t->pci_ac = 3;
	t->pci_ic = 1;
	memcpy(t->mask, mask, sizeof(mask));
	t->mask_n = 4;
	for (uint32_t s = 0; s < 4; s++)
		for (uint32_t p = 1; p <= 4; p++) {
			uint32_t e[] = {s << 11, 0, 0, p, GIC_PH, 0, 0, 0, 3 + (s + p - 1) % 4, 4};
			memcpy(t->map + t->map_n, e, sizeof(e));
			t->map_n += 10;
		}
}

static int build(const struct tree *t)
{
	fdtb_init(&W);
	fdtb_begin(&W, "");
	fdtb_prop_u32(&W, "#address-cells", 2);
	fdtb_prop_u32(&W, "#size-cells", 2);
	fdtb_begin(&W, "intc@8000000");
	fdtb_prop_str(&W, "compatible", "arm,cortex-a15-gic");
	if (t->gic_ic != ABSENT)
		fdtb_prop_u32(&W, "#interrupt-cells", t->gic_ic);
	if (t->gic_ac != ABSENT)
		fdtb_prop_u32(&W, "#address-cells", t->gic_ac);
	if (t->gic_is_controller)
		fdtb_prop(&W, "interrupt-controller", NULL, 0);
	fdtb_prop_u32(&W, t->linux_phandle ? "linux,phandle" : "phandle", t->gic_phandle);
	fdtb_end(&W);
	fdtb_begin(&W, "pcie@10000000");
	fdtb_prop_str(&W, "compatible", "pci-host-ecam-generic");
	if (t->pci_ac != ABSENT)
		fdtb_prop_u32(&W, "#address-cells", t->pci_ac);
	fdtb_prop_u32(&W, "#size-cells", 2);
	if (t->pci_ic != ABSENT)
		fdtb_prop_u32(&W, "#interrupt-cells", t->pci_ic);
	if (t->mask_n != ABSENT)
		fdtb_prop_cells(&W, "interrupt-map-mask", t->mask, t->mask_n);
	if (t->map_n != ABSENT)
		fdtb_prop_cells(&W, "interrupt-map", t->map, t->map_n);
	fdtb_end(&W);
	fdtb_end(&W);
	fdtb_finish(&W);
	assert_int_equal(k_fdt_init(&F, W.blob, W.size), 0);
	return 0;
}

static int resolve(const struct tree *t, uint32_t dev, uint32_t pin, uint32_t *intid)
{
	struct k_pci_intx x = {0, -1};
	int r;

	build(t);
	r = k_pci_intx_from_fdt(&F, k_pci_devfn_hi(0, dev, 0), pin, &x);
	if (r == 0) {
		assert_true(x.parent_node >= 0);
		assert_string_equal(k_fdt_name(&F, x.parent_node), "intc@8000000");
		*intid = x.intid;
	}
	return r;
}

static void resolves_qemu_virt_swizzle(void **state)
{
	uint32_t id;

	(void)state;
	qemu_tree(&T);
	for (uint32_t dev = 0; dev < 32; dev++)
		for (uint32_t pin = 1; pin <= 4; pin++) {
			assert_int_equal(resolve(&T, dev, pin, &id), 0);
			assert_int_equal(id, 32 + 3 + (dev + pin - 1) % 4);
		}
	/* The function number is masked off too. */
	build(&T);
	{
		struct k_pci_intx x;
		assert_int_equal(k_pci_intx_from_fdt(&F, k_pci_devfn_hi(0, 2, 5), 1, &x), 0);
		assert_int_equal(x.intid, 32 + 5);
	}
	T.linux_phandle = true;
	assert_int_equal(resolve(&T, 1, 1, &id), 0);
	assert_int_equal(id, 36);
}

static void no_mask_means_exact_match(void **state)
{
	uint32_t id;

	(void)state;
	qemu_tree(&T);
	T.mask_n = ABSENT;
	/* Entries say slot 0..3 function 0: slot 2 matches, slot 6 does not. */
	assert_int_equal(resolve(&T, 2, 1, &id), 0);
	assert_int_equal(id, 37);
	assert_int_equal(resolve(&T, 6, 1, &id), -ENOENT);
}

static void missing_pieces_are_not_found(void **state)
{
	uint32_t id;
	struct k_pci_intx x;

	(void)state;
	qemu_tree(&T);
	T.map_n = ABSENT;
	assert_int_equal(resolve(&T, 1, 1, &id), -ENOENT);
	/* A map without the pin asked for. */
	qemu_tree(&T);
	T.map_n = 10;
	assert_int_equal(resolve(&T, 0, 2, &id), -ENOENT);
	/* No bridge at all. */
	fdtb_init(&W);
	fdtb_begin(&W, "");
	fdtb_end(&W);
	fdtb_finish(&W);
	assert_int_equal(k_fdt_init(&F, W.blob, W.size), 0);
	assert_int_equal(k_pci_intx_from_fdt(&F, 0, 1, &x), -ENOENT);
}

static void rejects_bad_pins_and_bridge_cells(void **state)
{
	uint32_t id;

	(void)state;
	qemu_tree(&T);
	assert_int_equal(resolve(&T, 1, 0, &id), -EINVAL);
	assert_int_equal(resolve(&T, 1, 5, &id), -EINVAL);
	T.pci_ac = 2;
	assert_int_equal(resolve(&T, 1, 1, &id), -EINVAL);
	T.pci_ac = ABSENT; /* defaults to 2 */
	assert_int_equal(resolve(&T, 1, 1, &id), -EINVAL);
	qemu_tree(&T);
	T.pci_ic = 2;
	assert_int_equal(resolve(&T, 1, 1, &id), -EINVAL);
	T.pci_ic = ABSENT;
	assert_int_equal(resolve(&T, 1, 1, &id), -EINVAL);
	qemu_tree(&T);
	T.mask_n = 3;
	assert_int_equal(resolve(&T, 1, 1, &id), -EINVAL);
	T.mask_n = 5;
	assert_int_equal(resolve(&T, 1, 1, &id), -EINVAL);
}

static void rejects_malformed_maps(void **state)
{
	uint32_t id;

	(void)state;
	qemu_tree(&T);
	T.map_n = 0; /* empty */
	assert_int_equal(resolve(&T, 0, 1, &id), -EINVAL);
	qemu_tree(&T);
	T.map_n -= 1; /* the last entry cut short */
	assert_int_equal(resolve(&T, 0, 1, &id), -EINVAL);
	qemu_tree(&T);
	T.map_n = 4; /* not even a phandle */
	assert_int_equal(resolve(&T, 0, 1, &id), -EINVAL);
	/* A broken entry after the match still condemns the map. */
	qemu_tree(&T);
	T.map[T.map_n - 6] = 0x1234;
	assert_int_equal(resolve(&T, 0, 1, &id), -EINVAL);
	qemu_tree(&T);
	T.map[4] = 0; /* phandle 0 */
	assert_int_equal(resolve(&T, 0, 1, &id), -EINVAL);
	T.map[4] = 0xffffffffu;
	assert_int_equal(resolve(&T, 0, 1, &id), -EINVAL);
	/* Parent cell counts that make entries nonsense or unbounded. */
	qemu_tree(&T);
	T.gic_ic = ABSENT;
	assert_int_equal(resolve(&T, 0, 1, &id), -EINVAL);
	T.gic_ic = 0;
	assert_int_equal(resolve(&T, 0, 1, &id), -EINVAL);
	T.gic_ic = 5;
	assert_int_equal(resolve(&T, 0, 1, &id), -EINVAL);
	qemu_tree(&T);
	T.gic_ac = 4;
	assert_int_equal(resolve(&T, 0, 1, &id), -EINVAL);
	T.gic_ac = 0xffffffffu; /* would wrap `need` without the bound */
	assert_int_equal(resolve(&T, 0, 1, &id), -EINVAL);
	/* An SPI beyond what a GIC can number. */
	qemu_tree(&T);
	T.map[8] = 988;
	assert_int_equal(resolve(&T, 0, 1, &id), -EINVAL);
	T.map[8] = 987;
	assert_int_equal(resolve(&T, 0, 1, &id), 0);
	assert_int_equal(id, 1019);
}

static void parent_cells_change_the_entry_size(void **state)
{
	uint32_t id;

	(void)state;
	/* A GIC without #address-cells: entries are 8 cells, not 10. */
	qemu_tree(&T);
	T.gic_ac = ABSENT;
	T.map_n = 0;
	for (uint32_t p = 1; p <= 4; p++) {
		uint32_t e[] = {0x800, 0, 0, p, GIC_PH, 0, 10 + p, 4};
		memcpy(T.map + T.map_n, e, sizeof(e));
		T.map_n += 8;
	}
	assert_int_equal(resolve(&T, 1, 3, &id), 0);
	assert_int_equal(id, 32 + 13);
	/* The same 8-cell entries read as 10-cell ones no longer fit. */
	T.gic_ac = 2;
	assert_int_equal(resolve(&T, 1, 3, &id), -EINVAL);
}

static void refuses_what_it_cannot_wire(void **state)
{
	uint32_t id;

	(void)state;
	qemu_tree(&T);
	T.map[7] = 1; /* a PPI */
	assert_int_equal(resolve(&T, 0, 1, &id), -ENOTSUP);
	qemu_tree(&T);
	T.map[9] = 1; /* edge rising */
	assert_int_equal(resolve(&T, 0, 1, &id), -ENOTSUP);
	T.map[9] = 8; /* level low: a GICv2 has none */
	assert_int_equal(resolve(&T, 0, 1, &id), -ENOTSUP);
	qemu_tree(&T);
	T.gic_is_controller = false; /* another nexus */
	assert_int_equal(resolve(&T, 0, 1, &id), -ENOTSUP);
	/* A controller with two interrupt cells: the entries shrink too. */
	qemu_tree(&T);
	T.gic_ic = 2;
	T.map_n = 9;
	assert_int_equal(resolve(&T, 0, 1, &id), -ENOTSUP);
}

static void bounds_the_number_of_entries(void **state)
{
	uint32_t id;

	(void)state;
	qemu_tree(&T);
	T.gic_ac = ABSENT;
	T.gic_ic = 1;
	T.gic_is_controller = false;
	/* 6-cell entries: 256 are walked, 257 are too many. */
	T.map_n = 0;
	for (unsigned i = 0; i < K_PCI_IRQ_MAX_ENTRIES + 1; i++) {
		uint32_t e[] = {0x1800, 0, 0, 4, GIC_PH, 0};
		memcpy(T.map + T.map_n, e, sizeof(e));
		T.map_n += 6;
	}
	assert_int_equal(resolve(&T, 0, 1, &id), -EINVAL);
	T.map_n -= 6;
	assert_int_equal(resolve(&T, 0, 1, &id), -ENOENT);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(resolves_qemu_virt_swizzle),
		cmocka_unit_test(no_mask_means_exact_match),
		cmocka_unit_test(missing_pieces_are_not_found),
		cmocka_unit_test(rejects_bad_pins_and_bridge_cells),
		cmocka_unit_test(rejects_malformed_maps),
		cmocka_unit_test(parent_cells_change_the_entry_size),
		cmocka_unit_test(refuses_what_it_cannot_wire),
		cmocka_unit_test(bounds_the_number_of_entries),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
