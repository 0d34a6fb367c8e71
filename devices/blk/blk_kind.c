/* The blk row of the device table (dev/table.h): --device blk, vhost=...:blk. */
#include <errno.h>
#include <string.h>

#include "dev/blk.h"
#include "dev/storage.h"
#include "dev/table.h"

static const char *const blk_features[] = {
	"read-only",	"blk-file",
#ifdef UV_HAVE_URING
	"aio-io_uring",
#endif
	"aio-sync",
#ifdef UV_HAVE_URING
	"direct",
#endif
	NULL,
};

/* "blk-file" is the older name of "disk". */
static const struct dev_option blk_options[] = {
	{"disk", true},	      {"blk-file", true},   {"ram-size", true}, {"null-size", true},
	{"read-only", false}, {"num-queues", true}, {"serial", true},	{NULL, false},
};

static const char *blk_set(struct dev_params *p, const char *opt, const char *val)
{
	uint32_t v;
	const char *why;

	if (!strcmp(opt, "disk") || !strcmp(opt, "blk-file")) {
		p->disk = val;
	} else if (!strcmp(opt, "ram-size")) {
		return dev_parse_size(val, &p->ram_size);
	} else if (!strcmp(opt, "null-size")) {
		return dev_parse_size(val, &p->null_size);
	} else if (!strcmp(opt, "read-only")) {
		p->read_only = true;
	} else if (!strcmp(opt, "num-queues")) {
		why = dev_parse_u32(val, 1, VU_MAX_QUEUES, &v);
		if (why)
			return why;
		p->num_queues = (uint16_t)v;
	} else if (!strcmp(opt, "serial")) {
		if (strlen(val) > DEV_BLK_ID_BYTES)
			return "must be at most 20 bytes (the virtio-blk GET_ID string)";
		p->serial = val;
	} else {
		return "is not a blk option";
	}
	return NULL;
}

static const char *blk_check(const struct dev_params *p)
{
	if (!!p->disk + !!p->ram_size + !!p->null_size != 1)
		return "needs exactly one of --disk FILE, --ram-size BYTES and --null-size BYTES";
	return NULL;
}

static int blk_make(void *mem, const struct dev_params *p, const struct dev_env *env,
		    const struct vu_device **dev)
{
	struct dev_blk *blk = mem;
	uint16_t nq = p->num_queues ? p->num_queues : 1;
	int rc;

	(void)env;
	if (!p->store)
		return -EINVAL;
	if (p->store->async)
		rc = p->async ? dev_blk_init_async(blk, p->store, nq, p->serial, p->async)
			      : -EINVAL;
	else
		rc = dev_blk_init(blk, p->store, nq, p->serial);
	if (rc)
		return rc;
	dev_blk_declare_shmem(blk, p->shmem_num, p->shmem_sizes);
	*dev = &blk->dev;
	return 0;
}

const struct dev_kind dev_kind_blk = {
	.name = "blk",
	.flags = DEV_NEEDS_STORAGE | DEV_HAS_CONFIG,
	.caps_type = "block",
	.features = blk_features,
	.options = blk_options,
	.instance_size = sizeof(struct dev_blk),
	.set = blk_set,
	.check = blk_check,
	.make = blk_make,
};
