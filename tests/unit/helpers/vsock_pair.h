/* vsock_pair.h - test helpers for the vsock core: crafted packets, and two
 * cores ("guest" CID 3, "host" CID 2) wired back to back by moving packets
 * from one's k_vsock_tx_next() to the other's k_vsock_rx_packet().
 * A filter may rewrite or drop packets in flight, to play odd peers. */
#ifndef TEST_VSOCK_PAIR_H
#define TEST_VSOCK_PAIR_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "kern/vsock.h"

#define VP_GUEST_CID 3u
#define VP_HOST_CID 2u
/* Payload per packet, as the virtio glue uses (4 KiB buffers). */
#define VP_MAX_PAYLOAD (4096u - K_VSOCK_HDR_SIZE)

struct vsock_pair;
/* Return false to drop the packet. */
typedef bool (*vp_filter_fn)(struct vsock_pair *p, bool to_host, struct k_vsock_hdr *h,
			     uint8_t *payload, void *arg);

struct vsock_pair {
	struct k_vsock_core *guest, *host;
	vp_filter_fn filter;
	void *filter_arg;
	uint64_t moved; /* packets moved so far */
	uint8_t buf[VP_MAX_PAYLOAD];
};

/* Two fresh cores (heap: each is ~8 MiB). Never returns NULL. */
struct vsock_pair *vp_new(void);
void vp_free(struct vsock_pair *p);

/* Move at most `max` packets, alternating directions, until both are quiet.
 * Returns the number moved. */
unsigned vp_pump(struct vsock_pair *p, unsigned max);

/* A fresh core of its own (heap). */
struct k_vsock_core *vp_core_new(uint64_t cid);

/* A header from (src_cid, src_port) to (dst_cid, dst_port) with op, type
 * STREAM, the given buf_alloc and fwd_cnt. */
struct k_vsock_hdr vp_hdr(uint64_t src_cid, uint32_t src_port, uint64_t dst_cid, uint32_t dst_port,
			  uint16_t op, uint32_t buf_alloc, uint32_t fwd_cnt);

/* Take the next packet from `c`: returns its payload length, or -EAGAIN.
 * `payload` may be NULL when the caller does not care (cap is then 0). */
int vp_take(struct k_vsock_core *c, struct k_vsock_hdr *h, uint8_t *payload, size_t cap);

#endif
