/* A FIFO of entropy bytes with room reserved for requests in flight (see
 * kern/entropy_pool.h). */
#include "kern/entropy_pool.h"

#include <errno.h>
#include <string.h>

int k_entropy_pool_init(struct k_entropy_pool *p, uint8_t *buf, uint32_t size)
{
	if (!p || !buf || size == 0 || size > (1u << 31) || (size & (size - 1)))
		return -EINVAL;
	memset(p, 0, sizeof(*p));
	p->buf = buf;
	p->size = size;
	return 0;
}

uint32_t k_entropy_pool_level(const struct k_entropy_pool *p)
{
	return p->level;
}

uint32_t k_entropy_pool_room(const struct k_entropy_pool *p)
{
	return p->size - p->level - p->reserved;
}

int k_entropy_pool_reserve(struct k_entropy_pool *p, uint32_t len)
{
	if (len > k_entropy_pool_room(p))
		return -ENOSPC;
	p->reserved += len;
	return 0;
}

uint32_t k_entropy_pool_fill(struct k_entropy_pool *p, const void *src, uint32_t len,
			     uint32_t reserved)
{
	const uint8_t *s = src;
	uint32_t n, tail, first;

	if (reserved > p->reserved)
		reserved = p->reserved;
	p->reserved -= reserved;
	n = len < reserved ? len : reserved;
	p->overfill += len - n;
	if (n == 0)
		return 0; /* abandoned: src may be NULL */
	/* The reservation kept this much room free since it was made. */
	tail = (p->head + p->level) & (p->size - 1);
	first = p->size - tail < n ? p->size - tail : n;
	memcpy(p->buf + tail, s, first);
	memcpy(p->buf, s + first, n - first);
	p->level += n;
	p->bytes_in += n;
	return n;
}

size_t k_entropy_pool_take(struct k_entropy_pool *p, void *dst, size_t len)
{
	uint8_t *d = dst;
	uint32_t n = len < p->level ? (uint32_t)len : p->level;
	uint32_t first = p->size - p->head < n ? p->size - p->head : n;

	if (n == 0)
		return 0;
	memcpy(d, p->buf + p->head, first);
	memset(p->buf + p->head, 0, first);
	memcpy(d + first, p->buf, n - first);
	memset(p->buf, 0, n - first);
	p->head = (p->head + n) & (p->size - 1);
	p->level -= n;
	p->bytes_out += n;
	return n;
}
