#include "vu/iov.h"

#include <string.h>

/* Skip whole iovecs before `off`; returns the index, with *off now inside it. */
static uint32_t seek(const struct vu_iov *iov, uint32_t n, uint64_t *off)
{
	uint32_t i = 0;

	while (i < n && *off >= iov[i].len) {
		*off -= iov[i].len;
		i++;
	}
	return i;
}

size_t vu_iov_to_buf(const struct vu_iov *iov, uint32_t n, uint64_t off, void *buf, size_t len)
{
	size_t done = 0;

	for (uint32_t i = seek(iov, n, &off); i < n && done < len; i++, off = 0) {
		size_t chunk = iov[i].len - off;
		if (chunk > len - done)
			chunk = len - done;
		memcpy((uint8_t *)buf + done, (uint8_t *)iov[i].base + off, chunk);
		done += chunk;
	}
	return done;
}

size_t vu_iov_from_buf(const struct vu_iov *iov, uint32_t n, uint64_t off, const void *buf,
		       size_t len)
{
	size_t done = 0;

	for (uint32_t i = seek(iov, n, &off); i < n && done < len; i++, off = 0) {
		size_t chunk = iov[i].len - off;
		if (chunk > len - done)
			chunk = len - done;
		memcpy((uint8_t *)iov[i].base + off, (const uint8_t *)buf + done, chunk);
		done += chunk;
	}
	return done;
}

size_t vu_iov_memset(const struct vu_iov *iov, uint32_t n, uint64_t off, int c, size_t len)
{
	size_t done = 0;

	for (uint32_t i = seek(iov, n, &off); i < n && done < len; i++, off = 0) {
		size_t chunk = iov[i].len - off;
		if (chunk > len - done)
			chunk = len - done;
		memset((uint8_t *)iov[i].base + off, c, chunk);
		done += chunk;
	}
	return done;
}

int vu_iov_slice(const struct vu_iov *iov, uint32_t n, uint64_t off, uint64_t len,
		 struct vu_iov *out, uint32_t max)
{
	uint32_t k = 0;

	for (uint32_t i = seek(iov, n, &off); i < n && len; i++, off = 0) {
		uint64_t chunk = iov[i].len - off;
		if (chunk == 0)
			continue;
		if (k == max)
			return -1;
		if (chunk > len)
			chunk = len;
		out[k].base = (uint8_t *)iov[i].base + off;
		out[k].len = (size_t)chunk;
		k++;
		len -= chunk;
	}
	return len ? -1 : (int)k;
}
