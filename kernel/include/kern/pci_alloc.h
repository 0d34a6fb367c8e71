/* kern/pci_alloc.h - the BAR address allocator of one PCI memory window.
 *
 * Owns: a bump allocator over one window [pci_base, pci_base + size) of the
 * host bridge, handing out naturally aligned ranges (a BAR of size S at a
 * multiple of S), each at least K_PCI_MIN_ALIGN so that no two BARs share a
 * page and each can get its own memory attributes.
 * Never: touches hardware, frees (firmware-style: assign once at boot), or
 * returns a range that wraps or crosses the window's end or a caller limit.
 * Used by: kernel/hw/pci.c; host unit tests (test_pci_alloc).
 */
#ifndef KERN_PCI_ALLOC_H
#define KERN_PCI_ALLOC_H

#include <stdint.h>

#define K_PCI_MIN_ALIGN 4096u

struct k_pci_window {
	uint64_t pci_base; /* bus address of the window */
	uint64_t cpu_base; /* where the CPU sees it */
	uint64_t size;
	uint64_t used; /* offset of the first free byte */
};

/* Returns 0, or -EINVAL for an empty window or one whose end wraps (on the
 * bus or CPU side). */
int k_pci_window_init(struct k_pci_window *w, uint64_t pci_base, uint64_t cpu_base, uint64_t size);

/* Allocate `size` bytes (a power of two; rounded up to K_PCI_MIN_ALIGN),
 * aligned to its size, ending at or below `limit` (bus address of the last
 * byte + 1; 0 = no limit, e.g. 1ull << 32 for a 32-bit BAR). Returns 0 with
 * the bus address in *pci_addr, -EINVAL (size 0 or not a power of two),
 * -ENOSPC (the window or the limit is exhausted) or -EOVERFLOW (the
 * aligned address would wrap). */
int k_pci_window_alloc(struct k_pci_window *w, uint64_t size, uint64_t limit, uint64_t *pci_addr);

/* The CPU address of bus address `pci_addr` inside the window. */
uint64_t k_pci_window_cpu(const struct k_pci_window *w, uint64_t pci_addr);

#endif
