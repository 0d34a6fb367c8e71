/* kern/hw_arch.h - what kernel/hw drivers need from the port they run on.
 *
 * Owns: the contract, not the code. Each bare-metal port ships an
 * `arch/hw.h` (arch/arm-common for aarch64 and arm32) that provides:
 *   - k_mmio_r8/r16/r32, k_mmio_w8/w16/w32 (uintptr_t address): single,
 *     naturally aligned, volatile Device-memory accesses;
 *   - k_isb, k_dsb_sy, k_dmb_sy barriers;
 *   - enum k_mem_attr { K_MEM_DEVICE, K_MEM_NORMAL } and
 *     int k_mmu_map(uint64_t pa, uint64_t size, enum k_mem_attr attr):
 *     identity-map a physical range, -EINVAL when the port cannot address
 *     it (a 32-bit port refuses anything at or above 4 GiB, never truncates);
 *   - k_board_msi_alloc/k_board_msi_take: interrupt ids and the doorbell
 *     address an MSI-X table is programmed with (-ENODEV without an MSI
 *     controller).
 * Never: system registers, interrupts or boot: drivers stay portable, and
 * whatever differs between ports lives in arch/.
 * Used by: kernel/hw (PCI ECAM, virtio-pci, ivshmem, ivshmem-doorbell).
 */
#ifndef KERN_HW_ARCH_H
#define KERN_HW_ARCH_H

#include "arch/hw.h"

#endif
