/* Natural-alignment bump allocation of BAR addresses. */
#include "kern/pci_alloc.h"

#include <errno.h>
#include <stddef.h>

int k_pci_window_init(struct k_pci_window *w, uint64_t pci_base, uint64_t cpu_base, uint64_t size)
{
	if (!w || size == 0 || pci_base + (size - 1) < pci_base || cpu_base + (size - 1) < cpu_base)
		return -EINVAL;
	w->pci_base = pci_base;
	w->cpu_base = cpu_base;
	w->size = size;
	w->used = 0;
	return 0;
}

int k_pci_window_alloc(struct k_pci_window *w, uint64_t size, uint64_t limit, uint64_t *pci_addr)
{
	uint64_t start, addr, last;

	if (!w || !pci_addr || size == 0 || (size & (size - 1)))
		return -EINVAL;
	if (size < K_PCI_MIN_ALIGN)
		size = K_PCI_MIN_ALIGN;
	if (w->used >= w->size)
		return -ENOSPC;
	start = w->pci_base + w->used; /* cannot wrap: checked at init */
	if (start + (size - 1) < start)
		return -EOVERFLOW;
	addr = (start + (size - 1)) & ~(size - 1);
	if (addr + (size - 1) < addr)
		return -EOVERFLOW;
	last = addr + (size - 1);
	if (last > w->pci_base + (w->size - 1))
		return -ENOSPC;
	if (limit && last > limit - 1)
		return -ENOSPC;
	w->used = last - w->pci_base + 1;
	*pci_addr = addr;
	return 0;
}

uint64_t k_pci_window_cpu(const struct k_pci_window *w, uint64_t pci_addr)
{
	return pci_addr - w->pci_base + w->cpu_base;
}
