/* The vsock row of the device table (dev/table.h): --device vsock. Hosted
 * builds only: the device bridges the guest to Unix sockets. */
#include <errno.h>
#include <string.h>

#include "dev/table.h"
#include "dev/vsock.h"

static const char *const vsock_features[] = {NULL};
static const struct dev_option vsock_options[] = {
	{"guest-cid", true},
	{"uds-path", true},
	{NULL, false},
};

static const char *vsock_set(struct dev_params *p, const char *opt, const char *val)
{
	if (!strcmp(opt, "guest-cid"))
		return dev_parse_u32(val, 3, 0xfffffffeu, &p->guest_cid);
	if (!strcmp(opt, "uds-path")) {
		/* Room for the "_<port>" of the guest's connections. */
		if (!*val || strlen(val) + 12 > sizeof(((struct dev_vsock *)0)->uds_path))
			return "must be a Unix socket path of 1..96 bytes";
		p->uds_path = val;
		return NULL;
	}
	return "is not a vsock option";
}

static const char *vsock_check(const struct dev_params *p)
{
	if (!p->guest_cid || !p->uds_path)
		return "needs --guest-cid N and --uds-path PATH";
	return NULL;
}

static int vsock_make(void *mem, const struct dev_params *p, const struct dev_env *env,
		      const struct vu_device **dev)
{
	struct dev_vsock *v = mem;
	struct dev_vsock_config c;
	int rc;

	memset(&c, 0, sizeof(c));
	c.guest_cid = p->guest_cid;
	c.uds_path = p->uds_path;
	c.now_ns = env->now_ns;
	c.log = env->log;
	c.log_ctx = env->log_ctx;
	c.verbose = env->verbose;
	rc = dev_vsock_init(v, &c);
	if (rc)
		return rc;
	*dev = &v->dev;
	return 0;
}

static void vsock_fini(void *mem)
{
	dev_vsock_fini(mem);
}

const struct dev_kind dev_kind_vsock = {
	.name = "vsock",
	.flags = DEV_HAS_CONFIG | DEV_HOSTED_ONLY,
	.caps_type = "vsock",
	.features = vsock_features,
	.options = vsock_options,
	.instance_size = sizeof(struct dev_vsock),
	.set = vsock_set,
	.check = vsock_check,
	.make = vsock_make,
	.fini = vsock_fini,
};
