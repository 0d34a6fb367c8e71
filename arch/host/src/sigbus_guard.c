/* sigbus_guard.c - zero pages instead of a crash when a peer truncates a
 * mapped file (see sigbus_guard.h). */
#define _GNU_SOURCE
#include "uvh/sigbus_guard.h"

#include <errno.h>
#include <signal.h>
#include <stdatomic.h>
#include <stddef.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

struct guard {
	_Atomic(uintptr_t) base; /* 0: free slot */
	_Atomic(uintptr_t) len;
	atomic_bool poisoned;
};

static struct guard guards[UVH_SIGBUS_GUARD_MAX];
static atomic_uint_fast64_t hits;
static uintptr_t page_size; /* sysconf() is not async-signal-safe: read once */

/* Async-signal context: only atomics and raw system calls from here on. */
static bool absorb(uintptr_t addr)
{
	uintptr_t page = page_size;

	for (uint32_t i = 0; i < UVH_SIGBUS_GUARD_MAX; i++) {
		uintptr_t base = atomic_load(&guards[i].base), len = atomic_load(&guards[i].len);
		void *at;

		if (!base || addr < base || addr - base >= len)
			continue;
		at = (void *)(addr & ~(page - 1));
		if (mmap(at, page, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED,
			 -1, 0) == MAP_FAILED)
			return false;
		atomic_store(&guards[i].poisoned, true);
		atomic_fetch_add(&hits, 1);
		return true;
	}
	return false;
}

static void on_sigbus(int sig, siginfo_t *si, void *uctx)
{
	(void)uctx;
	if (si && absorb((uintptr_t)si->si_addr))
		return; /* the faulting access is retried and reads zeros */
	/* Not ours: die as if no handler were installed. */
	signal(sig, SIG_DFL);
	raise(sig);
}

int uvh_sigbus_guard_install(void)
{
	struct sigaction sa;

	/* Installed again on every call, not once: a test harness (cmocka)
	 * or a library may have put its own handler in place since. */
	page_size = (uintptr_t)sysconf(_SC_PAGESIZE);
	memset(&sa, 0, sizeof(sa));
	sa.sa_sigaction = on_sigbus;
	sa.sa_flags = SA_SIGINFO | SA_NODEFER;
	sigemptyset(&sa.sa_mask);
	if (sigaction(SIGBUS, &sa, NULL) < 0)
		return -errno;
	return 0;
}

int uvh_sigbus_guard_add(void *base, uint64_t len)
{
	for (int i = 0; i < UVH_SIGBUS_GUARD_MAX; i++) {
		uintptr_t expect = 0;

		if (atomic_load(&guards[i].base))
			continue;
		atomic_store(&guards[i].len, (uintptr_t)len);
		atomic_store(&guards[i].poisoned, false);
		if (atomic_compare_exchange_strong(&guards[i].base, &expect, (uintptr_t)base))
			return i;
	}
	return -ENOSPC;
}

void uvh_sigbus_guard_remove(int slot)
{
	if (slot < 0 || slot >= UVH_SIGBUS_GUARD_MAX)
		return;
	atomic_store(&guards[slot].base, 0);
	atomic_store(&guards[slot].poisoned, false);
}

bool uvh_sigbus_guard_poisoned(int slot)
{
	return slot >= 0 && slot < UVH_SIGBUS_GUARD_MAX && atomic_load(&guards[slot].poisoned);
}

uint64_t uvh_sigbus_guard_hits(void)
{
	return atomic_load(&hits);
}
