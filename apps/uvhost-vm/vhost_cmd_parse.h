/* vhost_cmd_parse.h - the words of the control service's `vhost` command.
 *
 * Owns: the syntax, and nothing else (no sessions, no sockets), so the host
 * unit test compiles it as is:
 *   vhost <port> config          CONFIG_CHANGE_MSG to the port's sessions
 *   vhost <port> shmem map       SHMEM_MAP of the RAM disk (shmid 0)
 *   vhost <port> shmem unmap     SHMEM_UNMAP of it
 *   vhost <port> shmem status    mapping state of the port's sessions
 * Words are separated by one or more spaces. <port> is 1 to 10 decimal
 * digits up to 4294967295. Any other `vhost ...` line is refused with a
 * reason; a line whose first word is not `vhost` is not ours.
 * Never: reads past `len`, needs a NUL, or keeps a pointer into the line.
 * Used by: vhost_commands.c, tests/unit/test_vhost_cmd_parse.c.
 */
#ifndef UVM_VHOST_CMD_PARSE_H
#define UVM_VHOST_CMD_PARSE_H

#include <stddef.h>
#include <stdint.h>

enum uvm_vcmd_op {
	UVM_VCMD_CONFIG = 1,
	UVM_VCMD_SHMEM_MAP,
	UVM_VCMD_SHMEM_UNMAP,
	UVM_VCMD_SHMEM_STATUS,
};

struct uvm_vcmd {
	uint32_t port;
	enum uvm_vcmd_op op;
	const char *why; /* -EINVAL: what is wrong, a static string */
};

#define UVM_VCMD_USAGE "usage: vhost <port> config|shmem map|shmem unmap|shmem status"

/* 0 with `c` filled; -EINVAL for a malformed `vhost` line (c->why);
 * -ENOENT when the first word is not `vhost`. */
int uvm_vcmd_parse(const char *line, size_t len, struct uvm_vcmd *c);

#endif
