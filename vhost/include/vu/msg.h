/* vu/msg.h - validation rules for every front-end request, as data.
 *
 * Owns: one row per request code 1-45: its name, payload size bounds, how
 * many fds it may carry, which protocol feature gates it, whether it needs
 * ownership, whether it has a reply of its own, and whether uvhost serves it.
 * Never: acts on a message; vu_msg_check() only says whether the header and
 * the envelope (size, fds, flags) are acceptable, and names what was wrong.
 * Used by: vu_backend_handle() before any handler runs, and the fuzzers.
 */
#ifndef VU_MSG_H
#define VU_MSG_H

#include <stdbool.h>
#include <stdint.h>

#include "vu/wire.h"

#define VU_NO_FEATURE 0xffu

/* What a request becomes on the fd-less transport, where no message can
 * carry an fd (docs/vsock-transport.md). */
enum vu_nofd_form {
	VU_NOFD_PLAIN = 0, /* same payload, no fds; refused if it needs one */
	VU_NOFD_WINDOW,	   /* regions are window-addressed instead of fds */
	VU_NOFD_U64,	   /* the fd is replaced by a u64 payload */
};

struct vu_msg_rule {
	const char *name;
	uint16_t min_size;
	uint16_t max_size;
	uint8_t min_fds;
	uint8_t max_fds;
	uint8_t pfeature; /* protocol feature that must be negotiated, or VU_NO_FEATURE */
	bool needs_owner; /* only after SET_OWNER */
	bool has_reply;	  /* the back-end always answers it */
	bool supported;	  /* uvhost implements it */
	uint8_t nofd;	  /* enum vu_nofd_form */
};

/* The rule for `request`, or NULL for a code outside 1..VU_REQ_MAX-1. */
const struct vu_msg_rule *vu_msg_rule(uint32_t request);

/* Check the header and envelope of a received request against its rule and
 * the negotiated protocol features, for a transport that passes fds.
 * Returns 0, or a negative errno with *why set to a short static reason
 * naming the field. */
int vu_msg_check(const struct vu_msg *msg, uint64_t pfeatures, bool owner, const char **why);

/* Same, for either transport. Without fds every message must come with
 * none, a request that cannot work without one is refused, and the rule's
 * nofd form says what replaces the fd. */
int vu_msg_check_transport(const struct vu_msg *msg, uint64_t pfeatures, bool owner, bool has_fds,
			   const char **why);

#endif
