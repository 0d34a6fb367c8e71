/* CRC-32, reflected polynomial 0xedb88320, pre- and post-inverted. */
#include "kern/crc32.h"

#include <string.h>

#if defined(__ARM_FEATURE_CRC32)
#include <arm_acle.h>

uint32_t k_crc32(uint32_t crc, const void *p, size_t n)
{
	const uint8_t *b = p;

	crc = ~crc;
	while (n && ((uintptr_t)b & 7)) {
		crc = __crc32b(crc, *b++);
		n--;
	}
	for (; n >= 8; n -= 8, b += 8) {
		uint64_t v;
		memcpy(&v, b, 8);
		crc = __crc32d(crc, v);
	}
	while (n--)
		crc = __crc32b(crc, *b++);
	return ~crc;
}
#else
uint32_t k_crc32(uint32_t crc, const void *p, size_t n)
{
	static uint32_t table[256];
	const uint8_t *b = p;

	if (!table[1]) {
		for (uint32_t i = 0; i < 256; i++) {
			uint32_t c = i;
			for (int k = 0; k < 8; k++)
				c = c & 1 ? 0xedb88320u ^ (c >> 1) : c >> 1;
			table[i] = c;
		}
	}
	crc = ~crc;
	while (n--)
		crc = table[(crc ^ *b++) & 0xff] ^ (crc >> 8);
	return ~crc;
}
#endif
