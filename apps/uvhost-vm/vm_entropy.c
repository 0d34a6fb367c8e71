/* Counter-mode mixer over the timer: NOT a CSPRNG (see vm_entropy.h). */
#include "vm_entropy.h"

#include <stdint.h>
#include <string.h>

#include "kern/time.h"

static uint64_t uvm_entropy_state;

static uint64_t mix64(uint64_t z)
{
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
	return z ^ (z >> 31);
}

int uvm_entropy(void *buf, size_t len)
{
	uint8_t *p = buf;

	uvm_entropy_state ^= mix64(k_now_ns());
	while (len) {
		uint64_t v;
		size_t n = len < sizeof(v) ? len : sizeof(v);

		uvm_entropy_state += 0x9e3779b97f4a7c15ull;
		v = mix64(uvm_entropy_state);
		memcpy(p, &v, n);
		p += n;
		len -= n;
	}
	return 0;
}
