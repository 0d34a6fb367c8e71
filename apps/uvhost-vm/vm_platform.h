/* vm_platform.h - the vhost-user library's platform in the service VM.
 *
 * Owns: one vhost-user connection's transport: the vsock stream to the
 * front-end (a message assembler and a bounded transmit buffer), up to two
 * backend channels the back-end opened itself, and the struct vu_platform
 * (has_fds false) that maps window-addressed regions onto ivshmem BAR2.
 * Never: blocks, allocates or drops a byte: a message that does not fit the
 * transmit buffer is refused with -EAGAIN before any of it is queued, and
 * the caller reads the next request only once a whole reply fits.
 * A header announcing more than VU_MAX_PAYLOAD is hostile: -EMSGSIZE.
 * Used by: vhost_service.c, one struct uvm_vu_conn per session.
 */
#ifndef UVM_VM_PLATFORM_H
#define UVM_VM_PLATFORM_H

#include <stdbool.h>
#include <stdint.h>

#include "kern/vsock.h"
#include "vu/platform.h"
#include "vu/stream.h"
#include "vu/wire.h"

#define UVM_MSG_MAX VU_STREAM_MSG_MAX
/* Two whole replies: one draining while the next is queued. */
#define UVM_CHAN_TX (2u * UVM_MSG_MAX)
#define UVM_BACKEND_CHANS 2

/* One framed vhost-user stream on a vsock fd. */
struct uvm_chan {
	int fd; /* -1: unused */
	struct vu_stream_rx rx;
	struct vu_stream_tx tx;
	uint8_t rx_buf[UVM_MSG_MAX];
	uint8_t tx_buf[UVM_CHAN_TX];
};

struct uvm_vu_conn {
	struct k_vsock_core *vs;
	uint64_t peer_cid;
	struct uvm_chan front;
	struct uvm_chan back[UVM_BACKEND_CHANS];
	struct vu_platform plat;
	const char *tag; /* log prefix, e.g. "vhost 5000#1" */
};

/* Set up `c` for an accepted front-end connection `fd` and fill c->plat. */
void uvm_vu_conn_init(struct uvm_vu_conn *c, struct k_vsock_core *vs, int fd, const char *tag);
/* Close the front-end fd and every backend channel left open. */
void uvm_vu_conn_close(struct uvm_vu_conn *c);

/* Queue one message (header plus hdr.size payload bytes) and push what the
 * socket takes. 0, -EAGAIN (no room for all of it: nothing queued),
 * -EINVAL (size over VU_MAX_PAYLOAD), or the socket's error. */
int uvm_chan_send(struct uvm_vu_conn *c, struct uvm_chan *ch, const struct vu_msg *msg);
/* Push queued bytes. 0 (maybe some left), or the socket's error. */
int uvm_chan_flush(struct uvm_vu_conn *c, struct uvm_chan *ch);
/* True when a whole message of the maximum size fits the transmit buffer. */
bool uvm_chan_tx_room(const struct uvm_chan *ch);
/* Assemble one message without waiting: 0 with *msg filled (no fds),
 * -EAGAIN (incomplete), -ECONNRESET (EOF), -EMSGSIZE (hostile size), or
 * the socket's error. */
int uvm_chan_recv(struct uvm_vu_conn *c, struct uvm_chan *ch, struct vu_msg *msg);

#endif
