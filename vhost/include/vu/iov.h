/* vu/iov.h - byte-level access to a chain's iovecs.
 *
 * Owns: copying into and out of an iovec array at a byte offset, and cutting
 * a sub-range out of one. Devices use these so that a header or status byte
 * split across descriptors is handled the same as a contiguous one.
 * Never: reads or writes outside the iovecs; every call is bounded by the
 * total length and returns how many bytes it really moved.
 */
#ifndef VU_IOV_H
#define VU_IOV_H

#include <stddef.h>
#include <stdint.h>

#include "vu/memtable.h"

/* Copy up to `len` bytes starting `off` bytes into iov to buf. Returns bytes copied. */
size_t vu_iov_to_buf(const struct vu_iov *iov, uint32_t n, uint64_t off, void *buf, size_t len);

/* Copy `len` bytes of buf into iov starting at `off`. Returns bytes copied. */
size_t vu_iov_from_buf(const struct vu_iov *iov, uint32_t n, uint64_t off, const void *buf,
		       size_t len);

/* Describe [off, off+len) of iov as new iovecs in out[] (at most max).
 * Returns the number written, or -1 if the range is not fully covered or
 * needs more than max entries. */
int vu_iov_slice(const struct vu_iov *iov, uint32_t n, uint64_t off, uint64_t len,
		 struct vu_iov *out, uint32_t max);

/* Fill `len` bytes from `off` with zeroes. Returns bytes written. */
size_t vu_iov_memset(const struct vu_iov *iov, uint32_t n, uint64_t off, int c, size_t len);

#endif
