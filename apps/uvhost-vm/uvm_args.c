/* The service VM's own command-line keys (see uvm_args.h). */
#include "uvm_args.h"

#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include "dev/table.h"
#include "vu/backend.h"
#include "vu/memtable.h"

#define STR_(x) #x
#define STR(x) STR_(x)

_Static_assert(UVM_DISK_MAX_1 == UVM_DISK_MAX - 1, "the message names the last disk");
_Static_assert(UVM_DISK_MAX <= 127, "a disk index fits int8_t");

/* Split [s, s+len) at the first `sep`: the head is [s, *hlen), the rest
 * starts at *rest (NULL when there is no separator). */
static void split(const char *s, size_t len, char sep, size_t *hlen, const char **rest,
		  size_t *rlen)
{
	const char *c = memchr(s, sep, len);

	if (!c) {
		*hlen = len;
		*rest = NULL;
		*rlen = 0;
		return;
	}
	*hlen = (size_t)(c - s);
	*rest = c + 1;
	*rlen = len - *hlen - 1;
}

static bool port_taken(const struct uvm_listener_cfg *l, uint32_t port, unsigned n)
{
	for (unsigned i = 0; i < n; i++)
		if (l[i].port == port)
			return true;
	return false;
}

/* "q<n>": the queue count of a device that takes num-queues. */
static const char *parse_queues(const char *s, size_t len, struct uvm_listener_cfg *l)
{
	static char one_queue[48];
	uint32_t q;

	if (!dev_kind_option(l->kind, "num-queues")) {
		snprintf(one_queue, sizeof(one_queue), "%s has one queue: no q<n>", l->kind->name);
		return one_queue;
	}
	if (k_bootargs_u32(s + 1, len - 1, 1, VU_MAX_QUEUES, &q))
		return "vhost queues are q1..q" STR(VU_MAX_QUEUES);
	l->queues = (uint8_t)q;
	return NULL;
}

/* "s<n>": the memory slots a session offers (GET_MAX_MEM_SLOTS); the
 * library's table (VU_MAX_MEM_SLOTS) is the one limit. */
static const char *parse_slots(const char *s, size_t len, struct uvm_listener_cfg *l)
{
	if (k_bootargs_u32(s + 1, len - 1, 1, VU_MAX_MEM_SLOTS, &l->slots))
		return "vhost memory slots are s1..s" STR(VU_MAX_MEM_SLOTS);
	return NULL;
}

/* "vd<N>": the N-th virtio-blk disk in PCI order in place of a RAM disk
 * (blk only). Whether that disk exists is known only after PCI enumeration:
 * the boot checks it and names the disk when it does not. */
static const char *parse_disk(const char *s, size_t len, struct uvm_listener_cfg *l)
{
	uint32_t n;

	/* A device that serves a storage: blk. */
	if (!(l->kind->flags & DEV_NEEDS_STORAGE))
		return "only blk serves a disk (vd<N>)";
	if (k_bootargs_u32(s + 2, len - 2, 0, UVM_DISK_MAX - 1, &n))
		return "vhost disks are vd0..vd" STR(UVM_DISK_MAX_1);
	l->disk = (int8_t)n;
	return NULL;
}

/* One "port:dev[:size|:vd<N>][:q<n>][:s<n>]" entry into `l`. Returns NULL or why
 * it is bad. Each optional field at most once and in that order, so every
 * configuration has one spelling; a size never starts with a letter. */
static const char *parse_listener(const char *s, size_t len, struct uvm_listener_cfg *l)
{
	static const char order[] =
		"vhost fields are [:<size>|:vd<N>][:q<n>][:s<n>], in that order";
	const char *rest, *field;
	size_t plen, rlen, dlen, flen;
	int stage = 0; /* 0: size allowed, 1: q<n>, 2: s<n>, 3: nothing more */

	split(s, len, ':', &plen, &rest, &rlen);
	if (!rest)
		return "vhost entry needs port:device";
	if (k_bootargs_u32(s, plen, 1, K_BOOTARGS_PORT_MAX, &l->port))
		return "bad vhost port";
	field = rest;
	split(field, rlen, ':', &dlen, &rest, &rlen);
	/* A device that needs an OS under it (vsock's Unix sockets) is unknown
	 * here like any other name. */
	l->kind = dev_table_find(field, dlen);
	if (!l->kind || (l->kind->flags & DEV_HOSTED_ONLY))
		return "unknown vhost device";
	l->size = 0;
	l->disk = -1;
	l->queues = 1;
	l->slots = 0;
	while (rest) {
		const char *why;

		field = rest;
		split(field, rlen, ':', &flen, &rest, &rlen);
		if (flen > 0 && field[0] == 'q' && stage <= 1) {
			why = parse_queues(field, flen, l);
			stage = 2;
		} else if (flen > 0 && field[0] == 's' && stage <= 2) {
			why = parse_slots(field, flen, l);
			stage = 3;
		} else if (stage == 0 && flen >= 2 && field[0] == 'v' && field[1] == 'd') {
			why = parse_disk(field, flen, l);
			stage = 1;
		} else if (stage == 0 && (flen == 0 || (field[0] != 'q' && field[0] != 's'))) {
			why = k_bootargs_size(field, flen, &l->size) ? "bad vhost size" : NULL;
			stage = 1;
		} else {
			why = order;
		}
		if (why)
			return why;
	}
	return NULL;
}

/* The whole list is accepted or refused: half a configuration would serve
 * something nobody asked for. */
static const char *parse_vhost(struct uvm_args *a, const char *v, size_t len)
{
	struct uvm_listener_cfg tmp[UVM_LISTENERS_MAX];
	unsigned n = 0;

	while (len > 0 || n == 0) {
		const char *rest, *why;
		size_t elen, rlen;

		split(v, len, ',', &elen, &rest, &rlen);
		if (n == UVM_LISTENERS_MAX)
			return "too many vhost listeners";
		why = parse_listener(v, elen, &tmp[n]);
		if (!why && port_taken(tmp, tmp[n].port, n))
			why = "duplicate vhost port";
		if (why)
			return why;
		n++;
		if (!rest)
			break;
		v = rest;
		len = rlen;
		if (len == 0)
			return "empty vhost entry";
	}
	memcpy(a->vhost, tmp, n * sizeof(tmp[0]));
	a->n_vhost = n;
	return NULL;
}

static bool key_is(const char *k, size_t klen, const char *name)
{
	return klen == strlen(name) && memcmp(k, name, klen) == 0;
}

/* k_bootargs_key_fn: the keys the kernel passes on. */
static const char *app_key(void *ctx, const char *key, size_t klen, const char *val, size_t vlen)
{
	struct uvm_args *a = ctx;
	uint32_t u;

	if (key_is(key, klen, "vhost"))
		return parse_vhost(a, val, vlen);
	if (key_is(key, klen, "vhost_sessions")) {
		if (k_bootargs_u32(val, vlen, 1, UVM_SESSIONS_MAX, &u))
			return "vhost_sessions is 1.." STR(UVM_SESSIONS_MAX);
		a->sessions = u;
		return NULL;
	}
	return k_bootargs_unknown;
}

int uvm_args_parse(struct uvm_args *a, const char *line, size_t len, k_bootargs_warn_fn warn,
		   void *ctx)
{
	int r;

	if (!a)
		return -EINVAL;
	a->sessions = UVM_DEFAULT_SESSIONS;
	a->n_vhost = 0;
	r = k_bootargs_parse_app(&a->k, line, len, app_key, a, warn, ctx);
	if (r < 0)
		return r;
	if (port_taken(a->vhost, a->k.ctl_port, a->n_vhost)) {
		a->n_vhost = 0;
		a->k.warnings++;
		if (warn)
			warn(ctx, "ctl", 3,
			     "ctl port also used by a vhost listener: listeners dropped");
	}
	return (int)a->k.warnings;
}
