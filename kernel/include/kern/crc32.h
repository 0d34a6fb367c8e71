/* kern/crc32.h - CRC-32 (IEEE 802.3, the polynomial of zlib and Ethernet).
 *
 * Owns: one checksum function, so that a window's contents can be compared
 * with what the host computed (Python: zlib.crc32).
 * Never: allocates or keeps state; feed the previous result to continue.
 * Used by: kernel/hw/ivshmem.c (boot log, the control service's "windows"
 * command). Uses the ARMv8 CRC32 instructions when the compiler targets
 * them, a table otherwise (host builds).
 */
#ifndef KERN_CRC32_H
#define KERN_CRC32_H

#include <stddef.h>
#include <stdint.h>

/* crc = k_crc32(0, p, n) for a fresh checksum; k_crc32(crc, more, m) to go on. */
uint32_t k_crc32(uint32_t crc, const void *p, size_t n);

#endif
