/* Portable time helpers; k_now_ns() itself comes from the port. */
#include "kern/time.h"

uint64_t k_ticks_to_ns(uint64_t ticks, uint64_t freq)
{
	if (freq == 0)
		return 0;
	/* Split so that neither product overflows: rem < freq < 2^64 / 1e9
	 * for any counter frequency below 18 GHz. */
	return ticks / freq * 1000000000ull + ticks % freq * 1000000000ull / freq;
}
