/* The rng row of the device table (dev/table.h): --device rng, vhost=...:rng. */
#include <errno.h>

#include "dev/rng.h"
#include "dev/table.h"

static const char *const rng_features[] = {NULL};
static const struct dev_option rng_options[] = {{NULL, false}};

static const char *rng_set(struct dev_params *p, const char *opt, const char *val)
{
	(void)p;
	(void)opt;
	(void)val;
	return "is not an rng option";
}

/* Never a made-up stream in place of entropy: no source, no device. */
static int rng_make(void *mem, const struct dev_params *p, const struct dev_env *env,
		    const struct vu_device **dev)
{
	struct dev_rng *rng = mem;

	(void)p;
	if (!env || !env->rng_source)
		return -ENODEV;
	dev_rng_init(rng, env->rng_source, env->rng_level);
	*dev = &rng->dev;
	return 0;
}

const struct dev_kind dev_kind_rng = {
	.name = "rng",
	.flags = DEV_NEEDS_ENTROPY,
	.caps_type = "rng",
	.features = rng_features,
	.options = rng_options,
	.instance_size = sizeof(struct dev_rng),
	.set = rng_set,
	.make = rng_make,
};
