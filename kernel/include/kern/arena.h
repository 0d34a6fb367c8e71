/* kern/arena.h - boot-time allocations from one range of RAM, with a ledger.
 *
 * Owns: a bump allocator over [start, end) (in the service VM: the RAM past
 * the image) and a ledger of what each owner took, so the boot can print
 * the memory budget per subsystem and the control service can report it.
 * Two kinds of allocation: pools and buffers the software needs (counted
 * in the static budget) and data the configuration asks for, such as RAM
 * disks (k_arena_take_data: listed, never counted).
 * Never: frees, moves or grows anything: what is taken at boot stays for
 * the VM's lifetime (static allocation, sized by configuration). Never
 * hands out memory past `end`, with any alignment or size (overflow
 * checked).
 * Used by: the unikernel main and its services at boot; host unit tests.
 */
#ifndef KERN_ARENA_H
#define KERN_ARENA_H

#include <stdbool.h>
#include <stdint.h>

#define K_ARENA_OWNERS 16

struct k_arena_owner {
	const char *name; /* a static string: the key of the ledger */
	uint64_t bytes;	  /* taken, alignment padding included */
	bool data;	  /* configuration data (RAM disks): not in the budget */
};

struct k_arena {
	uint64_t start, next, end;
	unsigned nowners;
	struct k_arena_owner owners[K_ARENA_OWNERS];
};

void k_arena_init(struct k_arena *a, uint64_t start, uint64_t end);

/* `size` bytes aligned to `align` (a power of two), zeroed, charged to
 * `owner`. NULL when the range is short, align is not a power of two, or
 * the ledger has no room for a new owner. */
void *k_arena_take(struct k_arena *a, const char *owner, uint64_t size, uint64_t align);
/* The same for configuration data, which the budget leaves out; not
 * zeroed (a RAM disk clears what it needs). */
void *k_arena_take_data(struct k_arena *a, const char *owner, uint64_t size, uint64_t align);

/* Bytes still free (ignoring alignment). */
uint64_t k_arena_free(const struct k_arena *a);
/* Bytes taken by pools and buffers (data excluded). */
uint64_t k_arena_counted(const struct k_arena *a);

#endif
