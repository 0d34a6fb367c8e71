/* vhost_commands.h - the `vhost` commands of the control service.
 *
 * Owns: what an operator or a host front-end can ask of the vhost-user
 * sessions through the control port (syntax in vhost_cmd_parse.h; the
 * wire-level description is docs/cli.md, "Service VM"):
 *   vhost <port> config        CONFIG_CHANGE_MSG on the backend channel of
 *                              every session of that listener which
 *                              negotiated CONFIG and has a channel: "OK <n>"
 *   vhost <port> shmem map     SHMEM_MAP of the listener's RAM disk, read-only,
 *                              as shmid 0 at offset 0: "OK <n>" sessions sent
 *   vhost <port> shmem unmap   the matching SHMEM_UNMAP: "OK <n>"
 *   vhost <port> shmem status  "OK sessions <s> mapped <m> pending <p> failed <f>"
 * Every refusal is one "ERR <reason>" line and changes nothing. A map or
 * unmap is "OK" once sent; the front-end's answer arrives later through the
 * session's poller, and `shmem status` shows it.
 * SHMEM over windows (docs/vsock-transport.md section 6): fd_offset is the
 * RAM disk's offset in the VM's RAM (physical address minus vm->ram_base),
 * which the hypervisor must export as a shared file for the front-end to map.
 * Never: blocks, allocates, or sends on a session that did not negotiate
 * what the request needs (checked here, before the library would log it).
 * Used by: main.c, which registers it with the control service
 * (k_control_set_commands) once the vhost service started.
 */
#ifndef UVM_VHOST_COMMANDS_H
#define UVM_VHOST_COMMANDS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* The k_control_cmd_fn of the `vhost` word (kern/control.h); ctx: struct
 * uvm_vhost. */
bool uvm_vhost_command(void *ctx, const char *line, size_t len, char *reply, size_t cap);

#endif
