/* Boot-time allocations with a ledger (see kern/arena.h). */
#include "kern/arena.h"

#include <stddef.h>
#include <string.h>

void k_arena_init(struct k_arena *a, uint64_t start, uint64_t end)
{
	memset(a, 0, sizeof(*a));
	a->start = a->next = start;
	a->end = end > start ? end : start;
}

static struct k_arena_owner *owner_of(struct k_arena *a, const char *name, bool data)
{
	for (unsigned i = 0; i < a->nowners; i++)
		if (a->owners[i].data == data && strcmp(a->owners[i].name, name) == 0)
			return &a->owners[i];
	if (a->nowners == K_ARENA_OWNERS)
		return NULL;
	a->owners[a->nowners] = (struct k_arena_owner){.name = name, .data = data};
	return &a->owners[a->nowners++];
}

static void *take(struct k_arena *a, const char *name, uint64_t size, uint64_t align, bool data)
{
	struct k_arena_owner *o;
	uint64_t at;

	if (!name || !align || (align & (align - 1)) || a->next > UINT64_MAX - (align - 1))
		return NULL;
	at = (a->next + align - 1) & ~(align - 1);
	if (at > a->end || size > a->end - at)
		return NULL;
	o = owner_of(a, name, data);
	if (!o)
		return NULL;
	/* The padding is charged too: the budget is what the RAM lost. */
	o->bytes += at + size - a->next;
	a->next = at + size;
	return (void *)(uintptr_t)at;
}

void *k_arena_take(struct k_arena *a, const char *owner, uint64_t size, uint64_t align)
{
	void *p = take(a, owner, size, align, false);

	if (p)
		memset(p, 0, (size_t)size);
	return p;
}

void *k_arena_take_data(struct k_arena *a, const char *owner, uint64_t size, uint64_t align)
{
	return take(a, owner, size, align, true);
}

uint64_t k_arena_free(const struct k_arena *a)
{
	return a->end - a->next;
}

uint64_t k_arena_counted(const struct k_arena *a)
{
	uint64_t n = 0;

	for (unsigned i = 0; i < a->nowners; i++)
		if (!a->owners[i].data)
			n += a->owners[i].bytes;
	return n;
}
