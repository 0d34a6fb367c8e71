/* dev/table.h - the device table: one row per device a back-end can serve.
 *
 * Owns: for each device (struct dev_kind), its name (uvhostd's --device,
 * the service VM's vhost= entries), the options it takes and their parsing
 * into struct dev_params, its vhost-user capabilities JSON (uvhostd
 * --print-capabilities), and how to make and finish an instance in memory
 * the caller provides (instance_size bytes).
 * Never: opens a file, a socket or a disk, or allocates. What a device
 * needs from its platform is handed over: a blk storage the platform opened
 * (a file, io_uring, a RAM disk, the service VM's virtio disk) in
 * dev_params.store, an entropy source and a clock in struct dev_env.
 * Used by: uvhostd (options, capabilities, its one instance) and the service
 * VM (vhost= entries, one instance per session).
 *
 * Adding a device is one file with its row (devices/<dev>/<dev>_kind.c)
 * and one line in devices/table.c.
 */
#ifndef DEV_TABLE_H
#define DEV_TABLE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "dev/rng.h"
#include "vu/device.h"

struct dev_storage;
struct dev_blk_async;

/* What one instance is made from. Zeroed, then set by options. */
struct dev_params {
	/* blk */
	const char *disk;   /* a file (uvhostd) or a disk name ("vd0", the service VM) */
	uint64_t ram_size;  /* a RAM disk of this size instead */
	uint64_t null_size; /* a disk that stores nothing (benchmarks) */
	bool read_only;
	uint16_t num_queues; /* 0: the default, 1 */
	const char *serial;  /* NULL: the device's default */
	/* Set by the platform before make: what blk serves, and with an
	 * asynchronous storage its request slots. */
	struct dev_storage *store;
	struct dev_blk_async *async;
	/* VIRTIO shared memory regions to declare (the service VM's RAM disk
	 * as shmid 0); `shmem_sizes` must outlive the instance. */
	uint32_t shmem_num;
	const uint64_t *shmem_sizes;
	/* vsock */
	uint32_t guest_cid;
	const char *uds_path;
};

/* What the platform lends every instance. Unused parts may be NULL. */
struct dev_env {
	dev_rng_source rng_source;
	dev_rng_level rng_level;
	uint64_t (*now_ns)(void);
	void (*log)(void *ctx, const char *line);
	void *log_ctx;
	bool verbose;
};

struct dev_option {
	const char *name; /* as on uvhostd's command line, without "--" */
	bool has_value;
};

/* What a row needs from its platform, and what it has (dev_kind.flags). */
#define DEV_NEEDS_STORAGE 0x1u /* dev_params.store: a disk the platform opened */
#define DEV_NEEDS_ENTROPY 0x2u /* dev_env.rng_source */
#define DEV_HAS_CONFIG 0x4u    /* a virtio config space (CONFIG_CHANGE makes sense) */
#define DEV_HOSTED_ONLY 0x8u   /* needs an OS under it (Unix sockets): not in the VM */

struct dev_kind {
	const char *name;
	uint32_t flags;			  /* DEV_NEEDS_*, DEV_HAS_* */
	const char *caps_type;		  /* the JSON "type" */
	const char *const *features;	  /* the JSON "features", NULL-terminated */
	const struct dev_option *options; /* {NULL} ends the list */
	size_t instance_size;
	/* One option: NULL, or why its value is bad ("must be ..."). */
	const char *(*set)(struct dev_params *p, const char *opt, const char *val);
	/* After every option: NULL, or what is missing or contradictory
	 * (NULL function: nothing is required). */
	const char *(*check)(const struct dev_params *p);
	/* Build an instance in `mem` (instance_size bytes, aligned for any
	 * type). Returns 0 with *dev set (its dev_ctx is `mem`), or a
	 * negative errno. */
	int (*make)(void *mem, const struct dev_params *p, const struct dev_env *env,
		    const struct vu_device **dev);
	void (*fini)(void *mem); /* may be NULL */
};

/* Every row of this build, NULL-terminated (vsock only where it is built:
 * it bridges to Unix sockets). */
extern const struct dev_kind *const dev_table[];

/* The row named `name` ([name, name+len)), or NULL. */
const struct dev_kind *dev_table_find(const char *name, size_t len);

/* Whether `k` takes option `opt`; NULL if not. */
const struct dev_option *dev_kind_option(const struct dev_kind *k, const char *opt);

/* Every name in the table, "a, b or c": for error messages. */
const char *dev_table_names(void);

/* The capabilities JSON of `k`, as the vhost-user back-end conventions
 * print it. Returns the length written (< len), or -1 if it does not fit. */
int dev_caps_json(const struct dev_kind *k, char *buf, size_t len);

/* Shared option parsers. Both return NULL or why the value is bad. */
/* A decimal number in lo..hi. */
const char *dev_parse_u32(const char *s, uint32_t lo, uint32_t hi, uint32_t *out);
/* BYTES with an optional K, M or G suffix: a multiple of 512, at most 1 TiB. */
const char *dev_parse_size(const char *s, uint64_t *out);

#endif
