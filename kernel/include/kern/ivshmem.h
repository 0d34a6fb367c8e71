/* kern/ivshmem.h - inter-VM shared memory windows (ivshmem-plain BAR2).
 *
 * Owns: the table of windows: every ivshmem-plain function (1af4:1110; an
 * ivshmem-doorbell, which has MSI-X, is kern/ivshmem_db.h's), in
 * PCI order, becomes window i = its BAR2 (mapped Normal, cacheable), with
 * bounds-checked access to it.
 * Never: interprets the contents, or hands out a pointer to a range that is
 * not wholly inside one window.
 * Used by: the unikernel main (boot log), the control service ("windows"),
 * and the service VM's vhost-user memory mapper (window_index << 40 |
 * offset, see ARCHITECTURE.md).
 */
#ifndef KERN_IVSHMEM_H
#define KERN_IVSHMEM_H

#include <stddef.h>
#include <stdint.h>

#define K_MAX_WINDOWS 8
#define K_IVSHMEM_VENDOR 0x1af4
#define K_IVSHMEM_DEVICE 0x1110
#define K_IVSHMEM_BAR 2

/* Find and map every ivshmem-plain function among the enumerated PCI
 * functions. Returns the number of windows (>= 0). */
int k_windows_init(void);

unsigned k_window_count(void);

/* Window `i`'s base address and size. Returns 0 or -ENOENT. */
int k_window_get(unsigned i, uint64_t *base, uint64_t *size);

/* A pointer to [off, off + len) of window `i`, or NULL if `i` does not
 * exist or the range is not wholly inside it (overflow included). */
void *k_window_ptr(unsigned i, uint64_t off, uint64_t len);

/* CRC-32 (zlib's) of [off, off + len) of window `i`. Returns 0 or -EINVAL. */
int k_window_crc32(unsigned i, uint64_t off, uint64_t len, uint32_t *crc);

#endif
