/* The control service's `vhost` commands (see vhost_commands.h). */
#include "vhost_commands.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>

#include "dev/table.h"
#include "kern/log.h"
#include "vhost_cmd_parse.h"
#include "vhost_service.h"
#include "vu/backend.h"
#include "vu/shmem.h"

#define PAGE 4096u
#define SHMID 0u

static bool has(const struct vu_backend *b, unsigned pf)
{
	return (b->pfeatures & VU_BIT(pf)) != 0;
}

static void cmd_config(const struct uvm_vhost_view *v, uint32_t port, char *reply, size_t cap)
{
	unsigned sent = 0;

	if (!(v->kind->flags & DEV_HAS_CONFIG)) {
		snprintf(reply, cap, "ERR port %" PRIu32 " (%s) has no config space", port,
			 v->kind->name);
		return;
	}
	/* A front-end that did not negotiate CONFIG treats the message as a
	 * protocol error (the spec sends it only with CONFIG). */
	for (unsigned i = 0; i < v->nsessions; i++)
		if (has(v->sessions[i], VU_PF_CONFIG) &&
		    vu_backend_config_changed(v->sessions[i]) == 0)
			sent++;
	k_info("vhost %" PRIu32 ": CONFIG_CHANGE_MSG to %u of %u sessions", port, sent,
	       v->nsessions);
	snprintf(reply, cap, "OK %u", sent);
}

/* Why session `b` cannot take a SHMEM request now, or NULL. */
static const char *shmem_refusal(const struct vu_backend *b, enum uvm_vcmd_op op)
{
	enum vu_shmem_state st = vu_backend_shmem_state(b, SHMID, 0);

	if (!has(b, VU_PF_SHMEM))
		return "SHMEM not negotiated";
	if (!has(b, VU_PF_REPLY_ACK) || !has(b, VU_PF_BACKEND_REQ))
		return "SHMEM needs REPLY_ACK and BACKEND_REQ negotiated";
	if (b->backend_chan < 0)
		return "no backend channel";
	if (st == VU_SHMEM_MAP_PENDING || st == VU_SHMEM_UNMAP_PENDING)
		return "a request waits for the front-end's answer";
	if (op == UVM_VCMD_SHMEM_MAP && st == VU_SHMEM_MAPPED)
		return "already mapped";
	if (op == UVM_VCMD_SHMEM_UNMAP && st != VU_SHMEM_MAPPED)
		return "not mapped";
	return NULL;
}

static void cmd_shmem(const struct uvm_vhost_view *v, uint32_t port, enum uvm_vcmd_op op,
		      char *reply, size_t cap)
{
	const char *why = NULL;
	uint64_t off = v->disk_offset;
	unsigned sent = 0;
	int err = 0;

	if (!v->shmem_size) {
		snprintf(reply, cap, "ERR port %" PRIu32 " (%s) has no shared memory region", port,
			 v->kind->name);
		return;
	}
	if (!v->nsessions) {
		snprintf(reply, cap, "ERR no session on port %" PRIu32, port);
		return;
	}
	for (unsigned i = 0; i < v->nsessions; i++) {
		struct vu_backend *b = v->sessions[i];
		const char *no = shmem_refusal(b, op);
		int r;

		if (no) {
			why = why ? why : no;
			continue;
		}
		r = op == UVM_VCMD_SHMEM_MAP
			    ? vu_backend_shmem_map(b, SHMID, -1, off, 0, v->shmem_size, false)
			    : vu_backend_shmem_unmap(b, SHMID, 0, v->shmem_size);
		if (r < 0) {
			err = err ? err : r;
			continue;
		}
		sent++;
	}
	if (!sent) {
		if (why)
			snprintf(reply, cap, "ERR %s", why);
		else
			snprintf(reply, cap, "ERR send failed (%d)", err);
		return;
	}
	k_info("vhost %" PRIu32 ": %s of the RAM disk (%" PRIu64 " KiB at RAM offset %#" PRIx64
	       ") to %u of %u sessions",
	       port, op == UVM_VCMD_SHMEM_MAP ? "SHMEM_MAP" : "SHMEM_UNMAP", v->shmem_size >> 10,
	       off, sent, v->nsessions);
	snprintf(reply, cap, "OK %u", sent);
}

static void cmd_shmem_status(const struct uvm_vhost_view *v, char *reply, size_t cap)
{
	unsigned mapped = 0;
	uint64_t pending = 0, failed = 0;

	for (unsigned i = 0; i < v->nsessions; i++) {
		const struct vu_backend *b = v->sessions[i];

		mapped += vu_backend_shmem_state(b, SHMID, 0) == VU_SHMEM_MAPPED;
		pending += vu_backend_shmem_pending(b);
		failed += b->shmem.n_failed;
	}
	snprintf(reply, cap, "OK sessions %u mapped %u pending %" PRIu64 " failed %" PRIu64,
		 v->nsessions, mapped, pending, failed);
}

bool uvm_vhost_command(void *ctx, const char *line, size_t len, char *reply, size_t cap)
{
	struct uvm_vcmd c;
	struct uvm_vhost_view v;
	int r = uvm_vcmd_parse(line, len, &c);

	if (r == -ENOENT)
		return false;
	if (r < 0) {
		snprintf(reply, cap, "ERR %s", c.why);
		return true;
	}
	if (uvm_vhost_view(ctx, c.port, &v)) {
		snprintf(reply, cap, "ERR no vhost listener on port %" PRIu32, c.port);
		return true;
	}
	if (c.op == UVM_VCMD_CONFIG)
		cmd_config(&v, c.port, reply, cap);
	else if (c.op == UVM_VCMD_SHMEM_STATUS)
		cmd_shmem_status(&v, reply, cap);
	else
		cmd_shmem(&v, c.port, c.op, reply, cap);
	return true;
}
