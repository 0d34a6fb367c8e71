/* virtio-vsock driver glue: device bring-up and the poller moving packets
 * between the virtqueues and the protocol core. */
#include <errno.h>
#include <stddef.h>
#include <string.h>

#include "kern/virtio_vsock.h"

#define VSOCK_DEVICE_ID 0x1053u

static uint64_t addr_of(const void *p)
{
	return (uint64_t)(uintptr_t)p; /* identity-mapped */
}

static uint16_t pow2_floor(uint16_t n)
{
	uint16_t p = 1;
	while ((uint16_t)(p << 1) && (uint16_t)(p << 1) <= n)
		p = (uint16_t)(p << 1);
	return p;
}

static int queue_setup(struct k_virtio_vsock *v, struct k_vvs_queue *vq, uint16_t index,
		       uint16_t want)
{
	uint16_t max = virtio_pci_queue_max(v->pci, index);
	uint16_t size;
	bool event_idx = (v->pci->features >> VIRTIO_F_RING_EVENT_IDX) & 1;
	int r;

	if (max == 0)
		return -ENODEV;
	size = pow2_floor(max < want ? max : want);
	if (virtq_drv_mem_bytes(size) > sizeof(vq->ring))
		return -EINVAL;
	r = virtq_drv_init(&vq->q, size, vq->ring, addr_of(vq->ring), vq->cookie, vq->chain_len,
			   vq->max_write, event_idx);
	if (r < 0)
		return r;
	/* Keep the free list out of memory the device can write. */
	r = virtq_drv_set_links(&vq->q, vq->links);
	if (r < 0)
		return r;
	return virtio_pci_queue_enable(v->pci, index, size, vq->q.desc_addr, vq->q.avail_addr,
				       vq->q.used_addr);
}

static int post_writable(struct k_vvs_queue *vq, void *buf, uint32_t len)
{
	struct virtq_buf b = {addr_of(buf), len, true};
	return virtq_drv_add(&vq->q, &b, 1, buf);
}

static void kick(struct k_virtio_vsock *v, struct k_vvs_queue *vq, uint16_t index)
{
	if (virtq_drv_kick_needed(&vq->q))
		virtio_pci_notify(v->pci, index);
}

static uint64_t read_cid(struct k_virtio_vsock *v)
{
	uint8_t b[8];
	uint64_t cid = 0;
	if (virtio_pci_config_read(v->pci, 0, b, sizeof(b)) < 0)
		return v->guest_cid;
	for (int i = 7; i >= 0; i--)
		cid = (cid << 8) | b[i];
	return cid;
}

int k_virtio_vsock_init(struct k_virtio_vsock *v, struct virtio_pci_dev *pci,
			struct k_vsock_core *core, uint64_t (*now_ns)(void))
{
	int r;
	uint16_t n;

	memset(&v->stats, 0, sizeof(v->stats));
	v->pci = pci;
	v->core = core;
	v->now_ns = now_ns;
	v->broken = false;
	if (pci->device_id != VSOCK_DEVICE_ID)
		return -ENODEV;
	if ((r = virtio_pci_reset(pci)) < 0)
		return r;
	r = virtio_pci_negotiate(pci,
				 (1ull << VIRTIO_F_VERSION_1) | (1ull << VIRTIO_F_RING_EVENT_IDX));
	if (r < 0)
		return r;
	v->guest_cid = read_cid(v);
	k_vsock_init(core, v->guest_cid);
	if ((r = queue_setup(v, &v->rx, K_VSOCK_VQ_RX, K_VVS_QSIZE)) < 0 ||
	    (r = queue_setup(v, &v->tx, K_VSOCK_VQ_TX, K_VVS_QSIZE)) < 0 ||
	    (r = queue_setup(v, &v->ev, K_VSOCK_VQ_EVENT, K_VVS_EV_QSIZE)) < 0)
		return r;
	/* Every rx and event buffer is posted; tx buffers wait in a free list
	 * no longer than the tx ring, so adding one can never fail. */
	for (n = 0; n < v->rx.q.size; n++)
		if ((r = post_writable(&v->rx, v->rx_buf[n], K_VVS_BUF_SIZE)) < 0)
			return r;
	for (n = 0; n < v->ev.q.size; n++)
		if ((r = post_writable(&v->ev, v->ev_buf[n], K_VSOCK_EVENT_SIZE)) < 0)
			return r;
	v->tx_nfree = 0;
	for (n = 0; n < v->tx.q.size; n++)
		v->tx_free[v->tx_nfree++] = n;
	/* The poller looks at every ring each turn: device interrupts are
	 * wanted only while idle (k_virtio_vsock_idle_prepare). */
	virtq_drv_disable_notify(&v->rx.q);
	virtq_drv_disable_notify(&v->tx.q);
	virtq_drv_disable_notify(&v->ev.q);
	v->armed = false;
	virtio_pci_driver_ok(pci);
	kick(v, &v->rx, K_VSOCK_VQ_RX);
	kick(v, &v->ev, K_VSOCK_VQ_EVENT);
	return 0;
}

/* Reap one used element; a corrupt ring stops the driver. */
static int reap(struct k_virtio_vsock *v, struct k_vvs_queue *vq, void **cookie, uint32_t *len)
{
	int r = virtq_drv_get_used(&vq->q, cookie, len);
	if (r < 0) {
		v->stats.ring_errors++;
		v->broken = true;
	}
	return r;
}

static int poll_events(struct k_virtio_vsock *v)
{
	int work = 0;
	void *cookie;
	uint32_t len;
	while (work < (int)K_VVS_BUDGET && reap(v, &v->ev, &cookie, &len) == 1) {
		const uint8_t *e = cookie;
		work++;
		v->stats.events++;
		if (len >= K_VSOCK_EVENT_SIZE &&
		    (e[0] | e[1] << 8 | e[2] << 16 | (uint32_t)e[3] << 24) ==
			    VIRTIO_VSOCK_EVENT_TRANSPORT_RESET) {
			v->stats.transport_resets++;
			v->guest_cid = read_cid(v);
			k_vsock_transport_reset(v->core, v->guest_cid);
		}
		post_writable(&v->ev, cookie, K_VSOCK_EVENT_SIZE);
	}
	if (work)
		kick(v, &v->ev, K_VSOCK_VQ_EVENT);
	return work;
}

static int poll_rx(struct k_virtio_vsock *v)
{
	int work = 0;
	void *cookie;
	uint32_t len;
	while (work < (int)K_VVS_BUDGET && reap(v, &v->rx, &cookie, &len) == 1) {
		uint8_t *buf = cookie;
		work++;
		if (len < K_VSOCK_HDR_SIZE) {
			v->stats.rx_short++;
		} else {
			struct k_vsock_hdr h;
			k_vsock_hdr_decode(&h, buf);
			v->stats.rx_packets++;
			/* The core counts and answers whatever it refuses. */
			(void)k_vsock_rx_packet(v->core, &h, buf + K_VSOCK_HDR_SIZE,
						len - K_VSOCK_HDR_SIZE);
		}
		post_writable(&v->rx, buf, K_VVS_BUF_SIZE);
	}
	if (work)
		kick(v, &v->rx, K_VSOCK_VQ_RX);
	return work;
}

static int poll_tx(struct k_virtio_vsock *v)
{
	int work = 0, sent = 0;
	void *cookie;
	uint32_t len;
	while (reap(v, &v->tx, &cookie, &len) == 1) {
		size_t i = (size_t)((uint8_t *)cookie - &v->tx_buf[0][0]) / K_VVS_BUF_SIZE;
		v->tx_free[v->tx_nfree++] = (uint16_t)i;
		work++;
	}
	while (!v->broken && sent < (int)K_VVS_BUDGET && v->tx_nfree) {
		uint16_t i = v->tx_free[v->tx_nfree - 1];
		uint8_t *buf = v->tx_buf[i];
		struct k_vsock_hdr h;
		struct virtq_buf b;
		int n = k_vsock_tx_next(v->core, &h, buf + K_VSOCK_HDR_SIZE,
					K_VVS_BUF_SIZE - K_VSOCK_HDR_SIZE);
		if (n < 0)
			break;
		k_vsock_hdr_encode(buf, &h);
		b.addr = addr_of(buf);
		b.len = K_VSOCK_HDR_SIZE + (uint32_t)n;
		b.device_writable = false;
		if (virtq_drv_add(&v->tx.q, &b, 1, buf) < 0) {
			v->stats.tx_lost++;
			break;
		}
		v->tx_nfree--;
		v->stats.tx_packets++;
		sent++;
	}
	if (sent)
		kick(v, &v->tx, K_VSOCK_VQ_TX);
	return work + sent;
}

int k_virtio_vsock_idle_prepare(struct k_virtio_vsock *v)
{
	bool more, tx = v->tx_nfree == 0;

	if (v->broken)
		return -EIO;
	v->armed = true;
	/* Drop the line first, then ask for notifications and look once more:
	 * a buffer used before the request is seen here, one used after it
	 * raises the line again and WFI returns at once. Tx completions
	 * matter only when the core waits for a free tx buffer. */
	(void)virtio_pci_isr(v->pci);
	more = virtq_drv_enable_notify(&v->rx.q);
	more |= virtq_drv_enable_notify(&v->ev.q);
	if (tx)
		more |= virtq_drv_enable_notify(&v->tx.q);
	return more ? 1 : 0;
}

int k_virtio_vsock_poll(void *ctx)
{
	struct k_virtio_vsock *v = ctx;
	int work;
	if (v->broken)
		return 0;
	if (v->armed) {
		/* Awake: polling sees everything, interrupts would only cost the
		 * host a signal per packet. */
		virtq_drv_disable_notify(&v->rx.q);
		virtq_drv_disable_notify(&v->tx.q);
		virtq_drv_disable_notify(&v->ev.q);
		v->armed = false;
	}
	if (v->now_ns)
		k_vsock_clock(v->core, v->now_ns());
	work = poll_events(v);
	work += poll_rx(v);
	work += poll_tx(v);
	return work;
}

int k_virtio_vsock_timer_poll(void *ctx)
{
	struct k_virtio_vsock *v = ctx;

	if (v->broken || !v->now_ns)
		return 0;
	return k_vsock_tick(v->core, v->now_ns());
}
