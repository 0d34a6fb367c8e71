/* The option parsers rows share (dev/table.h). A file of their own: the
 * rows depend on it and the table depends on the rows, never back. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>

#include "dev/table.h"

const char *dev_parse_u32(const char *s, uint32_t lo, uint32_t hi, uint32_t *out)
{
	static char why[48];
	char *end;
	unsigned long long v;

	errno = 0;
	v = strtoull(s, &end, 10);
	if (errno || *s < '0' || *s > '9' || *end != '\0' || v < lo || v > hi) {
		snprintf(why, sizeof(why), "must be a number in %u..%u", (unsigned)lo,
			 (unsigned)hi);
		return why;
	}
	*out = (uint32_t)v;
	return NULL;
}

const char *dev_parse_size(const char *s, uint64_t *out)
{
	char *end;
	unsigned long long v;
	uint64_t mult = 1;

	errno = 0;
	v = strtoull(s, &end, 10);
	if (*end == 'K' || *end == 'k')
		mult = 1024, end++;
	else if (*end == 'M' || *end == 'm')
		mult = 1024 * 1024, end++;
	else if (*end == 'G' || *end == 'g')
		mult = 1024ull * 1024 * 1024, end++;
	if (errno || *s < '0' || *s > '9' || *end || v == 0 || v > (1ull << 40) / mult ||
	    (v * mult) % 512)
		return "must be a multiple of 512 bytes, at most 1 TiB (suffix K, M or G)";
	*out = v * mult;
	return NULL;
}
