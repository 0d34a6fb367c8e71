/* Physical ranges to pointers, refusing what a pointer cannot hold
 * (kern/phys.h). */
#include "kern/phys.h"

bool k_phys_range_fits(uint64_t pa, uint64_t len, uint64_t limit)
{
	if (len == 0 || pa > UINT64_MAX - (len - 1))
		return false;
	return pa + (len - 1) <= limit;
}

void *k_phys_ptr(uint64_t pa, uint64_t len)
{
	if (!k_phys_range_fits(pa, len, (uint64_t)UINTPTR_MAX))
		return 0;
	return (void *)(uintptr_t)pa;
}

unsigned k_phys_ptr_bits(void)
{
	return (unsigned)(sizeof(void *) * 8);
}
