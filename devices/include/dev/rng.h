/* dev/rng.h - virtio-rng (entropy device) served through vhost/.
 *
 * Owns: filling the device-writable buffers of a request, in order, with
 * bytes from an entropy source supplied by the platform (getrandom in the
 * daemon, the hypervisor's virtio-rng through a pool in the service VM).
 * Never: hands out bytes the source did not produce, or writes a
 * device-readable buffer. The used length is what the source produced: a
 * short read (fewer bytes than the buffers offer) is normal virtio-rng, the
 * driver asks again; a source that produced nothing completes the request
 * with 0 bytes, which the driver retries.
 * Used by: apps/uvhostd (getrandom, never short) and the service VM's rng
 * sessions (apps/uvhost-vm/vhost_service.c), whose pool can run dry: with a
 * level function a chain that finds it empty is answered VU_NOT_NOW and
 * waits in the avail ring, still the driver's, until a later turn.
 */
#ifndef DEV_RNG_H
#define DEV_RNG_H

#include <stddef.h>
#include <stdint.h>

#include "vu/device.h"

/* Write up to `len` bytes of entropy to `buf`. Returns how many (0..len):
 * fewer means "no more now" (or a failure). A larger value is a bug the
 * device does not believe: it counts only len. */
typedef size_t (*dev_rng_source)(void *buf, size_t len);
/* Bytes the source can produce right now without waiting. */
typedef size_t (*dev_rng_level)(void);

struct dev_rng {
	struct vu_device dev;
	dev_rng_source source;
	dev_rng_level level;  /* NULL: the source never runs dry */
	uint64_t bytes;	      /* handed to the driver */
	uint64_t requests;    /* chains completed */
	uint64_t short_reads; /* ... with fewer bytes than their buffers offer */
	/* Chains put back (VU_NOT_NOW) for lack of entropy: at most one per
	 * ring turn, since the core skips the ring for the rest of that turn. */
	uint64_t not_now;
};

/* `level` may be NULL (see struct dev_rng). With a level function, a chain
 * is served only while the source has at least one byte: it then gets what
 * there is (a short read) and never 0 bytes for want of entropy. Nothing is
 * held by the device, so stopping or resetting the ring loses nothing. */
void dev_rng_init(struct dev_rng *rng, dev_rng_source source, dev_rng_level level);

#endif
