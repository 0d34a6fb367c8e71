/* kern/bootargs.h - the service VM's kernel command line.
 *
 * Owns: parsing /chosen/bootargs into struct k_bootargs:
 *   log=err|warn|info|debug     console log level (default info)
 *   ctl=<port>                  control service vsock port (default 1024)
 *   vhost=<port>:<dev>[:<size>][:q<n>][:s<n>][,...]
 *                               vhost-user listeners, e.g. 5000:blk:64M:q4,5001:rng
 *                               (dev: blk or rng; size: bytes with K/M/G suffix;
 *                               q<n>: blk queues, 1..K_BOOTARGS_MAX_QUEUES,
 *                               default 1; rng has exactly one, so no q<n>;
 *                               s<n>: memory slots a session offers in
 *                               GET_MAX_MEM_SLOTS, 1..K_BOOTARGS_MAX_SLOTS,
 *                               default all; fields in this order)
 *   crashtest=1                 fault on purpose after boot (tests the crash dump)
 *   idle_us=<n>                 longest idle sleep, 1..1000 µs (default 500)
 *   poll_us=<n>                 keep polling this long after a turn that did
 *                               work before sleeping, 0..100000 µs (default 200)
 * Never: trusts the line. Words are separated by spaces; an unknown key, a
 * bad value or a duplicate port is reported through the warn callback and
 * leaves that setting at its default; parsing always goes on.
 * Used by: the unikernel main; host unit tests and fuzz_bootargs.
 */
#ifndef KERN_BOOTARGS_H
#define KERN_BOOTARGS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define K_BOOTARGS_MAX_VHOST 8
/* VU_MAX_QUEUES; vhost_service.c asserts they agree. */
#define K_BOOTARGS_MAX_QUEUES 16u
/* The library's static slot table (VU_MAX_MEM_SLOTS): s<n> can lower what a
 * listener's sessions offer, never raise it. */
#define K_BOOTARGS_MAX_SLOTS 509u
#define K_BOOTARGS_DEFAULT_CTL 1024u
#define K_BOOTARGS_DEFAULT_IDLE_US 500u
#define K_BOOTARGS_DEFAULT_POLL_US 200u
#define K_BOOTARGS_POLL_US_MAX 100000u
/* vsock reserves 0xffffffff (VMADDR_PORT_ANY). */
#define K_BOOTARGS_PORT_MAX 0xfffffffeu

enum k_vhost_dev {
	K_VHOST_DEV_BLK = 1,
	K_VHOST_DEV_RNG = 2,
};

struct k_vhost_listener {
	uint32_t port;
	uint8_t dev;	/* enum k_vhost_dev */
	uint8_t queues; /* 1..K_BOOTARGS_MAX_QUEUES (rng: 1) */
	uint32_t slots; /* memory slots offered, 1..K_BOOTARGS_MAX_SLOTS; 0 = all */
	uint64_t size;	/* bytes; 0 = the device's default */
};

struct k_bootargs {
	int log_level; /* enum k_log_level */
	uint32_t ctl_port;
	uint32_t idle_us;
	uint32_t poll_us;
	bool crashtest;
	unsigned n_vhost;
	struct k_vhost_listener vhost[K_BOOTARGS_MAX_VHOST];
	unsigned warnings;
};

/* Called once per rejected word: `word` (wlen bytes, not NUL-terminated)
 * and why it was rejected. */
typedef void (*k_bootargs_warn_fn)(void *ctx, const char *word, size_t wlen, const char *why);

/* Fill `b` with defaults, then apply `len` bytes of `line` (NUL stops it
 * early). `warn` may be NULL. Returns the number of warnings (>= 0), or
 * -EINVAL if b is NULL or line is NULL with len > 0. */
int k_bootargs_parse(struct k_bootargs *b, const char *line, size_t len, k_bootargs_warn_fn warn,
		     void *ctx);

/* Parse a size such as "4096", "64K", "64M", "2G" (whole string of `len`
 * bytes). Returns 0 or -EINVAL (empty, junk, zero) / -ERANGE (overflow). */
int k_bootargs_size(const char *s, size_t len, uint64_t *out);

/* Parse a decimal u32 in [min, max] (whole string). 0, -EINVAL or -ERANGE. */
int k_bootargs_u32(const char *s, size_t len, uint32_t min, uint32_t max, uint32_t *out);

#endif
