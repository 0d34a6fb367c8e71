/* dev/rng.h - virtio-rng (entropy device) served through vhost/.
 *
 * Owns: filling every device-writable buffer of a request with bytes from
 * an entropy source supplied by the platform (getrandom in the daemon).
 * Never: hands out bytes the source did not produce; a failing source
 * completes the request with 0 bytes, which the driver retries.
 */
#ifndef DEV_RNG_H
#define DEV_RNG_H

#include <stddef.h>
#include <stdint.h>

#include "vu/device.h"

typedef int (*dev_rng_source)(void *buf, size_t len);

struct dev_rng {
	struct vu_device_ops ops;
	dev_rng_source source;
	uint64_t bytes;
};

void dev_rng_init(struct dev_rng *rng, dev_rng_source source);

#endif
