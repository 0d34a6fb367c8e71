/* vm_entropy.h - the bytes the service VM's virtio-rng device hands out.
 *
 * Owns: a counter-mode mixer (splitmix64 finaliser) over a 64-bit state
 * that every call perturbs with the generic timer (k_now_ns), so two
 * sessions, or two boots, do not see the same stream.
 * Never: claims to be a CSPRNG. The output is statistically well spread but
 * predictable to anyone who can guess the timer: it proves the data path of
 * the rng device, it is not key material. Feeding it from a real source
 * (the hypervisor's virtio-rng, which this VM only self-tests today) is
 * left for later.
 * Used by: vhost_service.c as the dev_rng_source of rng sessions.
 */
#ifndef UVM_VM_ENTROPY_H
#define UVM_VM_ENTROPY_H

#include <stddef.h>

/* Fill buf with len bytes. Returns 0 (it cannot fail). */
int uvm_entropy(void *buf, size_t len);

#endif
