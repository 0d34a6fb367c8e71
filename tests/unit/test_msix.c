/* test_msix.c - the MSI-X and GICv2m arithmetic of kern/msix.h: where an
 * MSI-X table lies (a device's capability against its BARs: every way it can
 * lie is refused), what a GICv2m MSI_TYPER grants (QEMU virt's own value and
 * the ranges a hypervisor could get wrong), one entry's words, and which
 * vectors a window of GICD_ISPENDR words says are pending.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "kern/msix.h"

static void bars_with_bar1(struct k_pci_bar bars[K_PCI_BARS], uint64_t size)
{
	memset(bars, 0, sizeof(struct k_pci_bar) * K_PCI_BARS);
	bars[1] = (struct k_pci_bar){.pci_addr = 0x10002000,
				     .cpu_addr = 0x10002000,
				     .size = size,
				     .flags = K_PCI_BAR_MEM | K_PCI_BAR_ASSIGNED};
	bars[4] = (struct k_pci_bar){.size = 0x100, .flags = K_PCI_BAR_IO | K_PCI_BAR_ASSIGNED};
	bars[5] = (struct k_pci_bar){.size = 0x1000, .flags = K_PCI_BAR_MEM}; /* not assigned */
}

/* QEMU's ivshmem-doorbell, vectors=16: table at BAR1 offset 0, PBA after. */
static void locate_qemu_ivshmem(void **state)
{
	struct k_pci_bar bars[K_PCI_BARS];
	struct k_msix_table t;

	(void)state;
	bars_with_bar1(bars, 0x1000);
	assert_int_equal(k_msix_locate(15, 0x00000001, bars, &t), 0);
	assert_int_equal(t.addr, 0x10002000);
	assert_int_equal(t.bar, 1);
	assert_int_equal(t.entries, 16);
	/* Offset inside the BAR; the BIR bits are not part of it. */
	assert_int_equal(k_msix_locate(0, 0x00000801, bars, &t), 0);
	assert_int_equal(t.addr, 0x10002800);
	/* The whole BAR exactly. */
	assert_int_equal(k_msix_locate(255, 0x00000001, bars, &t), 0);
	assert_int_equal(t.entries, 256);
}

static void locate_refusals(void **state)
{
	struct k_pci_bar bars[K_PCI_BARS];
	struct k_msix_table t = {0};

	(void)state;
	bars_with_bar1(bars, 0x1000);
	assert_int_equal(k_msix_locate(0, 6, bars, &t), -EINVAL);      /* BIR 6 */
	assert_int_equal(k_msix_locate(0, 7, bars, &t), -EINVAL);      /* BIR 7 */
	assert_int_equal(k_msix_locate(0, 0, bars, &t), -EINVAL);      /* BAR0 absent */
	assert_int_equal(k_msix_locate(0, 4, bars, &t), -EINVAL);      /* an I/O BAR */
	assert_int_equal(k_msix_locate(0, 5, bars, &t), -EINVAL);      /* not assigned */
	assert_int_equal(k_msix_locate(256, 1, bars, &t), -EINVAL);    /* 257 entries */
	assert_int_equal(k_msix_locate(0, 0xff9, bars, &t), -EINVAL);  /* ends past */
	assert_int_equal(k_msix_locate(0, 0x1001, bars, &t), -EINVAL); /* starts past */
	assert_int_equal(k_msix_locate(0x7ff, 0xfffffff9u, bars, &t), -EINVAL);
	assert_int_equal(t.entries, 0); /* never filled on a refusal */
}

static void gicv2m_range(void **state)
{
	uint32_t first = 0, n = 0;

	(void)state;
	/* QEMU virt: SPIs 48..111, i.e. ids 80..143. */
	assert_int_equal(k_gicv2m_range(80u << 16 | 64u, &first, &n), 0);
	assert_int_equal(first, 80);
	assert_int_equal(n, 64);
	assert_int_equal(k_gicv2m_range(1019u << 16 | 1u, &first, &n), 0);
	assert_int_equal(k_gicv2m_range(80u << 16, &first, &n), -EINVAL);	 /* none */
	assert_int_equal(k_gicv2m_range(31u << 16 | 4u, &first, &n), -EINVAL);	 /* a PPI */
	assert_int_equal(k_gicv2m_range(1019u << 16 | 2u, &first, &n), -EINVAL); /* past 1019 */
	assert_int_equal(k_gicv2m_range(1000u << 16 | 0x3ffu, &first, &n), -EINVAL);
}

static void entry_words(void **state)
{
	uint32_t e[4] = {1, 2, 3, 4};

	(void)state;
	k_msix_entry(0x08020040ull, 85, e);
	assert_int_equal(e[0], 0x08020040u);
	assert_int_equal(e[1], 0);
	assert_int_equal(e[2], 85);
	assert_int_equal(e[3], 0); /* unmasked */
	k_msix_entry(0x1234567808020040ull, 80, e);
	assert_int_equal(e[1], 0x12345678u);
}

static void pending_vectors(void **state)
{
	/* ids 80..143 span ISPENDR words 2, 3 and 4 */
	uint32_t pend[3] = {0, 0, 0};

	(void)state;
	assert_int_equal(k_msix_pending_words(80, 64), 3);
	assert_int_equal(k_msix_pending_words(80, 16), 1);
	assert_int_equal(k_msix_pending_words(64, 32), 1);
	assert_int_equal(k_msix_pending_words(80, 0), 0);
	pend[0] = 1u << (80 % 32) | 1u << 15; /* id 80 (vector 0); id 79 is not ours */
	pend[1] = 1u << 0;		      /* id 96: vector 16 */
	pend[2] = 1u << (143 % 32);	      /* id 143: vector 63 */
	assert_int_equal(k_msix_pending(pend, 3, 80, 64), 1ull | 1ull << 16 | 1ull << 63);
	/* Fewer vectors: ids past them do not count. */
	assert_int_equal(k_msix_pending(pend, 3, 80, 16), 1ull);
	/* Words missing from the window count as not pending. */
	assert_int_equal(k_msix_pending(pend, 1, 80, 64), 1ull);
	/* More than 64 vectors are cut at 64. */
	assert_int_equal(k_msix_pending(pend, 3, 80, 200), 1ull | 1ull << 16 | 1ull << 63);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(locate_qemu_ivshmem), cmocka_unit_test(locate_refusals),
		cmocka_unit_test(gicv2m_range),	       cmocka_unit_test(entry_words),
		cmocka_unit_test(pending_vectors),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
