/* iovec_advance.h - drop bytes a transfer moved from the front of an iovec
 * array; the one helper the hosted storages share (storage_file.c,
 * storage_uring.c). Hosted only: struct iovec is POSIX.
 * Owns nothing; never allocates: the array is adjusted in place.
 */
#ifndef DEV_IOVEC_ADVANCE_H
#define DEV_IOVEC_ADVANCE_H

#include <stddef.h>
#include <stdint.h>
#include <sys/uio.h>

/* Drop `done` bytes from the front of v[0..*k): returns the first iovec
 * with bytes left (its base and length adjusted) and the count in *k. */
static inline struct iovec *dev_iovec_advance(struct iovec *v, uint32_t *k, size_t done)
{
	while (*k && done >= v->iov_len) {
		done -= v->iov_len;
		v++;
		(*k)--;
	}
	if (*k) {
		v->iov_base = (uint8_t *)v->iov_base + done;
		v->iov_len -= done;
	}
	return v;
}

#endif
