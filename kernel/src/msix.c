/* MSI-X and GICv2m arithmetic (see kern/msix.h). */
#include "kern/msix.h"

#include <errno.h>

#define MSIX_TABLE_SIZE_MASK 0x7ffu
#define MSIX_BIR_MASK 0x7u
#define GICV2M_BASE_SHIFT 16
#define GICV2M_FIELD 0x3ffu
#define GIC_FIRST_SPI 32u
#define GIC_LAST_ID 1019u

int k_msix_locate(uint16_t ctl, uint32_t table, const struct k_pci_bar bars[K_PCI_BARS],
		  struct k_msix_table *t)
{
	unsigned bir = table & MSIX_BIR_MASK;
	uint64_t off = table & ~(uint64_t)MSIX_BIR_MASK;
	uint32_t n = (ctl & MSIX_TABLE_SIZE_MASK) + 1u;
	const struct k_pci_bar *b;

	if (bir >= K_PCI_BARS)
		return -EINVAL;
	b = &bars[bir];
	if (!(b->flags & K_PCI_BAR_MEM) || !(b->flags & K_PCI_BAR_ASSIGNED))
		return -EINVAL;
	/* n <= 2048 and off < 4 GiB: no overflow in 64 bits. */
	if (off > b->size || (uint64_t)n * K_MSIX_ENTRY_BYTES > b->size - off)
		return -EINVAL;
	t->addr = b->cpu_addr + off;
	t->bar = bir;
	t->entries = n;
	return 0;
}

int k_gicv2m_range(uint32_t typer, uint32_t *first_intid, uint32_t *count)
{
	uint32_t base = (typer >> GICV2M_BASE_SHIFT) & GICV2M_FIELD, n = typer & GICV2M_FIELD;

	if (n == 0 || base < GIC_FIRST_SPI || base + n - 1u > GIC_LAST_ID)
		return -EINVAL;
	*first_intid = base;
	*count = n;
	return 0;
}

void k_msix_entry(uint64_t addr, uint32_t data, uint32_t out[4])
{
	out[0] = (uint32_t)addr;
	out[1] = (uint32_t)(addr >> 32);
	out[2] = data;
	out[3] = 0; /* unmasked */
}

unsigned k_msix_pending_words(uint32_t first_intid, unsigned nvec)
{
	if (nvec == 0)
		return 0;
	return (first_intid + nvec - 1u) / 32u - first_intid / 32u + 1u;
}

uint64_t k_msix_pending(const uint32_t *pend, unsigned nwords, uint32_t first_intid, unsigned nvec)
{
	uint64_t m = 0;

	if (nvec > K_MSIX_MAX_VECTORS)
		nvec = K_MSIX_MAX_VECTORS;
	for (unsigned v = 0; v < nvec; v++) {
		uint32_t id = first_intid + v;
		unsigned w = id / 32u - first_intid / 32u;

		if (w < nwords && (pend[w] >> (id % 32u) & 1u))
			m |= 1ull << v;
	}
	return m;
}
