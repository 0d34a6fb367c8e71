/* uvh/sigbus_guard.h - survive a peer that shrinks a file under our mapping.
 *
 * Owns: the process's SIGBUS handler and a fixed table of guarded ranges
 * (mappings of files a peer handed us). uvh_fd_check_range() proves a range
 * is backed when it is mapped; nothing stops the peer from ftruncate()ing the
 * file a moment later, and the next touch of the lost part raises SIGBUS. The
 * handler puts anonymous zero pages over the faulting page of a guarded range
 * (the access is retried and sees zeros) and marks the range poisoned; the
 * serving loop then drops that front-end with an error. A fault outside every
 * guarded range is a real bug: the default action runs (core dump).
 * Never: allocates, locks or logs in the handler; decides what to do with a
 * poisoned session (the caller does).
 * Used by: host_platform.c (add/remove around every mapping of a peer's fd),
 * host_server.c (drops a poisoned session), the tests.
 */
#ifndef UVH_SIGBUS_GUARD_H
#define UVH_SIGBUS_GUARD_H

#include <stdbool.h>
#include <stdint.h>

#define UVH_SIGBUS_GUARD_MAX 2048

/* Install the handler (again, if something replaced it). 0 or a negative
 * errno. */
int uvh_sigbus_guard_install(void);

/* Guard [base, base+len). Returns a slot >= 0 for remove/poisoned, or
 * -ENOSPC when the table is full (the mapping is then unguarded). */
int uvh_sigbus_guard_add(void *base, uint64_t len);
void uvh_sigbus_guard_remove(int slot);

/* The range in `slot` faulted since it was added. */
bool uvh_sigbus_guard_poisoned(int slot);

/* Faults absorbed since the process started. */
uint64_t uvh_sigbus_guard_hits(void);

#endif
