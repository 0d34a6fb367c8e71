/* kern/vsock_limits.h - compile-time ceilings of the vsock core.
 *
 * Owns: K_VSOCK_MAX_CONNS, the size of the core's connection table (the
 * per-connection state, not the buffers: those come from a pool sized at
 * boot, kern/vsock.h). One definition for the core and the command line
 * that may ask for fewer (vsock_conns=, kern/bootargs.h).
 * Never: includes anything, so the portable kernel can use it alone.
 * Used by: kern/vsock.h, kernel/src/bootargs.c.
 */
#ifndef KERN_VSOCK_LIMITS_H
#define KERN_VSOCK_LIMITS_H

#ifndef K_VSOCK_MAX_CONNS
#define K_VSOCK_MAX_CONNS 64
#endif

#endif
