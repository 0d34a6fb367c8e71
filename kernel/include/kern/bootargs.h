/* kern/bootargs.h - the service VM's kernel command line.
 *
 * Owns: parsing /chosen/bootargs into struct k_bootargs:
 *   log=err|warn|info|debug     console log level (default info)
 *   ctl=<port>                  control service vsock port (default 1024)
 *   crashtest=1                 fault on purpose after boot (tests the crash dump)
 *   idle_us=<n>                 longest idle sleep, 1..1000 µs (default 500)
 *   poll_us=<n>                 keep polling this long after a turn that did
 *                               work before sleeping, 0..100000 µs (default 200)
 *   vsock_conns=<n>             vsock connections the core can hold, 1..
 *                               K_VSOCK_MAX_CONNS (default: build configuration)
 *   vsock_buf=<size>            each connection's receive and transmit buffer,
 *                               a power of two, 4K..1M (default: build
 *                               configuration)
 *   ctl_clients=<n>             control service clients at once, 1..64
 *                               (default: build configuration)
 *   disk_timeout_ms=<n>         a virtio-blk request unanswered this long
 *                               fails, and its disk is reset and restarted,
 *                               100..600000 ms (default 30000)
 *   disk_bounce_kib=<n>         0 (default): virtio-blk disks move the
 *                               front-ends' buffers themselves; else a pool
 *                               of n KiB per disk, 128..8192 in steps of
 *                               128, that their data is copied through
 * Keys the kernel does not know go to the application's hook
 * (k_bootargs_parse_app), which owns their syntax: the service VM's
 * vhost-user listeners, for instance (apps/uvhost-vm/uvm_args.h).
 * Never: trusts the line. Words are separated by spaces; an unknown key, a
 * bad value or a duplicate port is reported through the warn callback and
 * leaves that setting at its default; parsing always goes on.
 * Used by: the unikernel main (through apps/uvhost-vm/uvm_args.c); host unit
 * tests and fuzz_bootargs.
 */
#ifndef KERN_BOOTARGS_H
#define KERN_BOOTARGS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define K_BOOTARGS_DEFAULT_CTL 1024u
#define K_BOOTARGS_DEFAULT_IDLE_US 500u
#define K_BOOTARGS_DEFAULT_POLL_US 200u
#define K_BOOTARGS_POLL_US_MAX 100000u
#define K_BOOTARGS_DEFAULT_DISK_TIMEOUT_MS 30000u
#define K_BOOTARGS_DISK_TIMEOUT_MS_MIN 100u
#define K_BOOTARGS_DISK_TIMEOUT_MS_MAX 600000u
#define K_BOOTARGS_DISK_BOUNCE_KIB_STEP 128u
#define K_BOOTARGS_DISK_BOUNCE_KIB_MAX 8192u
/* Pool sizes: the build's defaults (CMake cache UV_VM_*, see
 * apps/uvhost-vm/CMakeLists.txt) unless the line says otherwise. */
#ifndef K_BOOTARGS_DEFAULT_VSOCK_CONNS
#define K_BOOTARGS_DEFAULT_VSOCK_CONNS 32u
#endif
#ifndef K_BOOTARGS_DEFAULT_VSOCK_BUF
#define K_BOOTARGS_DEFAULT_VSOCK_BUF 65536u
#endif
#ifndef K_BOOTARGS_DEFAULT_CTL_CLIENTS
#define K_BOOTARGS_DEFAULT_CTL_CLIENTS 20u
#endif
#define K_BOOTARGS_VSOCK_BUF_MIN 4096u
#define K_BOOTARGS_VSOCK_BUF_MAX (1u << 20)
#define K_BOOTARGS_CTL_CLIENTS_MAX 64
/* vsock reserves 0xffffffff (VMADDR_PORT_ANY). */
#define K_BOOTARGS_PORT_MAX 0xfffffffeu

struct k_bootargs {
	int log_level; /* enum k_log_level */
	uint32_t ctl_port;
	uint32_t idle_us;
	uint32_t poll_us;
	bool crashtest;
	uint32_t vsock_conns;
	uint32_t vsock_buf;
	uint32_t ctl_clients;
	uint32_t disk_timeout_ms;
	uint32_t disk_bounce_kib; /* 0: none */
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

/* A key the kernel does not know (`key`, `klen` bytes; its value `val`,
 * `vlen` bytes; neither NUL-terminated): NULL when the application took it,
 * why it refused it, or k_bootargs_unknown when it is not its key either. */
typedef const char *(*k_bootargs_key_fn)(void *ctx, const char *key, size_t klen, const char *val,
					 size_t vlen);
extern const char k_bootargs_unknown[];

/* k_bootargs_parse() with the application's keys: `app` (may be NULL) sees
 * every key=value word the kernel does not know, in line order. */
int k_bootargs_parse_app(struct k_bootargs *b, const char *line, size_t len, k_bootargs_key_fn app,
			 void *app_ctx, k_bootargs_warn_fn warn, void *ctx);

/* Parse a size such as "4096", "64K", "64M", "2G" (whole string of `len`
 * bytes). Returns 0 or -EINVAL (empty, junk, zero) / -ERANGE (overflow). */
int k_bootargs_size(const char *s, size_t len, uint64_t *out);

/* Parse a decimal u32 in [min, max] (whole string). 0, -EINVAL or -ERANGE. */
int k_bootargs_u32(const char *s, size_t len, uint32_t min, uint32_t max, uint32_t *out);

#endif
