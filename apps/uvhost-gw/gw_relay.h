/* gw_relay.h - the control plane of uvhost-gw: vhost-user from a VMM (fds)
 * relayed to a back-end in the service VM (no fds, docs/vsock-transport.md).
 *
 * Owns: one VMM connection's relay state: the protocol features agreed on
 * each side, the VMM's kick/call/err eventfds per ring and its backend
 * channel, and the rewriting of every message that carries an fd:
 *   - SET_MEM_TABLE, ADD_MEM_REG: each region's fd becomes its window
 *     (gw_windows.h); a region outside every declared window is refused;
 *   - SET_VRING_KICK/CALL/ERR: the eventfd stays here, the VM gets NOFD;
 *   - SET_BACKEND_REQ_FD: the VMM's channel stays here; the VM gets a
 *     backend channel of its own (a port the gateway listens on), set up
 *     by the gateway right after SET_OWNER;
 * and the notifications: a kick eventfd firing becomes an in-band
 * VRING_KICK, a BACKEND_VRING_CALL/ERR from the VM becomes a write to the
 * call/err eventfd, a CONFIG_CHANGE_MSG goes to the VMM's channel, and a
 * ring that is enabled to resume (non-zero base) gets one call (completions the VM made while no
 * gateway could relay their calls must not leave the guest waiting).
 * With doorbells (io->db_*, docs/vsock-transport.md §4.1) the kick and call
 * eventfds are lent to the ivshmem server and the VM is told their vectors;
 * a ring that gets no vector, or that the VM refuses, stays in-band.
 * What the VMM is offered is what the VM offers minus what cannot be
 * carried (fd-only and fd-less-only features, SHMEM).
 * Never: maps guest memory or touches a guest byte; trusts either side:
 * the VMM's messages pass the library's rule table (vu/msg.h) and the VM's
 * replies must match the request they answer; blocks without a limit (the
 * VM transport times out, uvh/fe_vsock.h).
 * Used by: uvhost-gw's serving loop, tests/unit/test_gw_relay.c,
 * tests/fuzz/fuzz_gw_relay.c.
 */
#ifndef GW_RELAY_H
#define GW_RELAY_H

/* The service VM's ivshmem-doorbell the gateway serves: its first. */
#define GW_DB_DEVICE 0u

#include <stdbool.h>
#include <stdint.h>

#include "gw_windows.h"
#include "vu/backend.h"
#include "vu/frontend.h"
#include "vu/wire.h"

/* Protocol features the gateway can relay to a VMM, when the VM offers
 * them. Everything else is masked from GET_PROTOCOL_FEATURES. */
#define GW_PF_RELAYABLE                                                                            \
	(VU_BIT(VU_PF_MQ) | VU_BIT(VU_PF_REPLY_ACK) | VU_BIT(VU_PF_BACKEND_REQ) |                  \
	 VU_BIT(VU_PF_CONFIG) | VU_BIT(VU_PF_RESET_DEVICE) | VU_BIT(VU_PF_CONFIGURE_MEM_SLOTS) |   \
	 VU_BIT(VU_PF_STATUS))

/* What the gateway itself needs from the VM, whatever the VMM chose. */
#define GW_PF_VM_REQUIRED                                                                          \
	(VU_BIT(VU_PF_WINDOW_ADDR) | VU_BIT(VU_PF_INBAND_NOTIFICATIONS) |                          \
	 VU_BIT(VU_PF_BACKEND_REQ) | VU_BIT(VU_PF_REPLY_ACK))

enum gw_log_level { GW_LOG_ERR = 0, GW_LOG_WARN, GW_LOG_INFO, GW_LOG_DEBUG };

/* The gateway's side of the world, as the relay sees it. */
struct gw_relay_io {
	void *ctx;
	/* Send a reply (or a local answer) to the VMM on its main channel. */
	int (*fe_send)(void *ctx, const struct vu_msg *msg);
	/* Send a back-end request on the VMM's backend channel `chan`. */
	int (*fe_backend_send)(void *ctx, int chan, const struct vu_msg *msg);
	/* Write one event to an eventfd. */
	int (*signal)(void *ctx, int fd);
	void (*close_fd)(void *ctx, int fd);
	/* Listen for the VM's backend channel; store the port to announce. */
	int (*vm_backend_listen)(void *ctx, uint32_t *port);
	void (*log)(void *ctx, enum gw_log_level level, const char *line);
	/* Doorbells (--doorbell, gw_ivserver.h): the VMM's kick eventfd as
	 * one of the VM's own vectors, its call eventfd as a peer's vector
	 * the VM rings. All NULL: kicks and calls stay in-band. The relay
	 * keeps its fds; these only lend them. */
	int (*db_kick)(void *ctx, uint32_t ring, int fd, uint32_t *vector);
	int (*db_call)(void *ctx, uint32_t ring, int fd, uint32_t *peer);
	void (*db_call_commit)(void *ctx, uint32_t ring); /* the VM rings the new peer */
	void (*db_call_drop)(void *ctx, uint32_t ring);	  /* the ring's peer is unused */
};

struct gw_ring_fds {
	int kick, call, err; /* the VMM's eventfds, -1 when none */
	uint32_t base;	     /* the last SET_VRING_BASE: non-zero when a ring resumes */
	bool kick_db;	     /* kick is a doorbell vector: the VM's QEMU reads it, not us */
	bool call_db;	     /* call is a doorbell peer the VM rings */
};

struct gw_stats {
	uint64_t fe_msgs;      /* messages from the VMM */
	uint64_t relayed;      /* of those, sent on to the VM */
	uint64_t refused;      /* answered with an error, or fatal */
	uint64_t regions;      /* regions translated to windows */
	uint64_t kicks;	       /* in-band VRING_KICKs sent to the VM */
	uint64_t calls;	       /* BACKEND_VRING_CALLs turned into call eventfd writes */
	uint64_t calls_no_fd;  /* calls for a ring the VMM gave no call fd */
	uint64_t start_calls;  /* calls written when a ring was enabled (see gw_relay.c) */
	uint64_t errs;	       /* BACKEND_VRING_ERRs turned into err eventfd writes */
	uint64_t config;       /* CONFIG_CHANGE_MSGs passed to the VMM */
	uint64_t vm_requests;  /* back-end requests from the VM */
	uint64_t vm_refused;   /* of those, refused */
	uint64_t db_kicks;     /* kick eventfds wired as doorbell vectors */
	uint64_t db_calls;     /* call eventfds wired as doorbell peers */
	uint64_t db_fallbacks; /* rings left in-band: no vector, or the VM said no */
	uint64_t relay_ns_max; /* slowest request/reply round trip through the VM */
	uint64_t relay_ns_sum; /* sum over `replies` round trips */
	uint64_t replies;
};

struct gw_relay {
	const struct vu_fe_transport *vm;
	const struct gw_relay_io *io;
	const struct gw_windows *win;
	uint64_t (*now_ns)(void); /* may be NULL: no timing */

	uint64_t vm_features; /* the VM's GET_FEATURES answer */
	uint64_t vm_pf;	      /* the VM's GET_PROTOCOL_FEATURES answer */
	bool vm_pf_known;
	uint64_t fe_pf; /* what the VMM set (a subset of what it was offered) */
	bool fe_pf_set;
	bool owner;
	bool vm_chan; /* the VM's backend channel is set up */
	bool db;      /* DOORBELL agreed with the VM (and io has the db_ ops) */
	int fe_chan;  /* the VMM's backend channel, -1 when none */
	struct gw_ring_fds ring[VU_MAX_QUEUES];
	/* The VM's side failed (send, receive, or a reply that does not match):
	 * the serving loop drops both connections and reconnects. */
	bool vm_lost;
	struct gw_stats st;
};

void gw_relay_init(struct gw_relay *r, const struct vu_fe_transport *vm,
		   const struct gw_relay_io *io, const struct gw_windows *win);

/* What the VMM is offered: the VM's features as they are, and its protocol
 * features masked to GW_PF_RELAYABLE. */
uint64_t gw_relay_offered_pf(const struct gw_relay *r);

/* One message from the VMM. Consumes msg's fds (kept or closed). Returns 0,
 * or a negative errno when the VMM's connection must be closed (a refusal
 * the VMM cannot be told about, or r->vm_lost). */
int gw_relay_fe_msg(struct gw_relay *r, struct vu_msg *msg);

/* One request from the VM's backend channel. 0, or a negative errno when
 * the VM's connection must be dropped. */
int gw_relay_vm_request(struct gw_relay *r, struct vu_msg *msg);

/* The VMM's kick eventfd of ring `index` fired (the loop read it). */
int gw_relay_kick(struct gw_relay *r, uint32_t index);

/* Close every fd the VMM gave (the connection is gone). */
void gw_relay_reset(struct gw_relay *r);

#endif
