/* ivshmem-plain windows: BAR2 of each device, mapped as Normal memory so
 * that both sides see it with ordinary (cacheable, unaligned-safe) accesses. */
#include "kern/ivshmem.h"

#include <errno.h>
#include <inttypes.h>

#include "kern/crc32.h"
#include "kern/log.h"
#include "kern/pci.h"
#include "kern/phys.h"

struct k_window {
	uint64_t base, size;
};

static struct k_window k_windows[K_MAX_WINDOWS];
static unsigned k_nwindows;

int k_windows_init(void)
{
	k_nwindows = 0;
	for (unsigned i = 0; i < k_pci_count(); i++) {
		const struct k_pci_func *p = k_pci_get(i);
		const struct k_pci_bar *b = &p->bar[K_IVSHMEM_BAR];
		int r;

		if (p->vendor != K_IVSHMEM_VENDOR || p->device != K_IVSHMEM_DEVICE)
			continue;
		/* ivshmem-doorbell (MSI-X): a notifier, not a window
		 * (kern/ivshmem_db.h); the windows keep their numbers. */
		if (k_pci_find_cap(p, K_PCI_CAP_MSIX))
			continue;
		if (k_nwindows == K_MAX_WINDOWS) {
			k_warn("ivshmem %02x:%02x.%x ignored: %d windows at most", p->bus, p->dev,
			       p->fn, K_MAX_WINDOWS);
			continue;
		}
		if (!(b->flags & K_PCI_BAR_ASSIGNED)) {
			k_err("ivshmem %02x:%02x.%x: BAR2 not assigned", p->bus, p->dev, p->fn);
			continue;
		}
		/* A 32-bit VM cannot point at a BAR above 4 GiB: refuse the
		 * window whole rather than truncate its address. */
		if (!k_phys_ptr(b->cpu_addr, b->size)) {
			k_err("ivshmem %02x:%02x.%x: window at %#" PRIx64 " size %#" PRIx64
			      " is beyond this VM's %u-bit address space: refused",
			      p->bus, p->dev, p->fn, b->cpu_addr, b->size, k_phys_ptr_bits());
			continue;
		}
		r = k_pci_map_bar(p, K_IVSHMEM_BAR, true);
		if (r) {
			k_err("ivshmem %02x:%02x.%x: cannot map BAR2 (%d)", p->bus, p->dev, p->fn,
			      r);
			continue;
		}
		k_windows[k_nwindows].base = b->cpu_addr;
		k_windows[k_nwindows].size = b->size;
		k_nwindows++;
	}
	return (int)k_nwindows;
}

unsigned k_window_count(void)
{
	return k_nwindows;
}

int k_window_get(unsigned i, uint64_t *base, uint64_t *size)
{
	if (i >= k_nwindows)
		return -ENOENT;
	*base = k_windows[i].base;
	*size = k_windows[i].size;
	return 0;
}

void *k_window_ptr(unsigned i, uint64_t off, uint64_t len)
{
	if (i >= k_nwindows || off > k_windows[i].size || len > k_windows[i].size - off)
		return NULL;
	return k_phys_ptr(k_windows[i].base + off, len ? len : 1);
}

int k_window_crc32(unsigned i, uint64_t off, uint64_t len, uint32_t *crc)
{
	const void *p = k_window_ptr(i, off, len);

	if (!p)
		return -EINVAL;
	*crc = k_crc32(0, p, (size_t)len);
	return 0;
}
