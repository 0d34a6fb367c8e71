/* gw_serve.h - uvhost-gw's serving loop: one VMM connection at a time,
 * joined to one service-VM session, with reconnection on either side.
 *
 * Owns: the sockets (the VMM listener, the VMM connection, the hybrid-vsock
 * connection to the VM and its backend-channel listener; with --doorbell the
 * ivshmem server, gw_ivserver.h, started before anything else because the
 * VM's QEMU waits for it), the poll(2) loop
 * that feeds gw_relay, and the order of things when a side goes away:
 *   - VMM disconnects: its fds are closed, the VM session is closed too
 *     (its state belongs to that VMM), a fresh one is opened, and the next
 *     VMM is accepted;
 *   - VM connection drops (service VM reboots, listener gone): the VMM's
 *     connection is closed and the listener too, so a VMM that reconnects
 *     (QEMU reconnect=1) is refused quickly instead of hanging in a
 *     handshake nobody answers; the VM is retried every 250 ms, and when it
 *     is back the listener reopens.
 * Never: reads or writes guest memory; blocks for more than the transport's
 * limit (uvh/fe_vsock.h) on any one exchange.
 * Used by: gw_main.c.
 */
#ifndef GW_SERVE_H
#define GW_SERVE_H

#include <signal.h>

#include "gw_opts.h"
#include "gw_relay.h"

/* Serve until *stop or, with --fd, until that VMM is gone. 0 on a clean
 * stop, 1 when the VMM socket cannot be used. */
int gw_serve(const struct gw_opts *o, volatile sig_atomic_t *stop);

/* --print-capabilities: ask the VM's listener, print the JSON. Exit status. */
int gw_print_capabilities(const struct gw_opts *o);

#endif
