/* The virtio-blk driver's PCI bring-up (see kern/virtio_blk.h): reset,
 * features, config space, queues, DRIVER_OK; and the same again when a
 * broken disk is brought back. The requests themselves are
 * kernel/src/virtio_blk_core.c. */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "kern/log.h"
#include "kern/virtio_blk.h"
#include "kern/virtio_pci.h"

static void notify(void *t, uint16_t q)
{
	virtio_pci_notify(t, q);
}

static void stop(void *t)
{
	if (virtio_pci_reset(t))
		k_err("virtio-blk: the device did not finish its reset");
}

static uint16_t pow2_floor(uint16_t n)
{
	uint16_t p = 1;

	while ((uint16_t)(p << 1) && (uint16_t)(p << 1) <= n)
		p = (uint16_t)(p << 1);
	return p;
}

static int queues_up(struct k_virtio_blk *b, struct virtio_pci_dev *d)
{
	for (uint16_t qi = 0; qi < b->g.num_queues; qi++) {
		uint16_t max = virtio_pci_queue_max(d, qi);
		uint16_t size = pow2_floor(max < K_VBLK_QSIZE ? max : K_VBLK_QSIZE);
		const struct virtq_drv *q = &b->q[qi].q;
		int e;

		if (max < 4) {
			k_err("%s: queue %u holds %u entries", b->name, qi, max);
			return -EINVAL;
		}
		e = k_vblk_queue_init(b, qi, size);
		if (e == 0)
			e = virtio_pci_queue_enable(d, qi, size, q->desc_addr, q->avail_addr,
						    q->used_addr);
		if (e) {
			k_err("%s: queue %u set-up failed (%d)", b->name, qi, e);
			return e;
		}
	}
	return 0;
}

/* Reset, negotiate and read the config space into `g` (checked). */
static int negotiate(struct virtio_pci_dev *d, struct k_vblk_geometry *g, const char *name)
{
	uint8_t cfg[60];
	uint32_t len = d->device_cfg_len < sizeof(cfg) ? d->device_cfg_len : sizeof(cfg);
	int e;

	memset(cfg, 0, sizeof(cfg));
	e = virtio_pci_reset(d);
	if (e == 0)
		e = virtio_pci_negotiate(d,
					 (1ull << VIRTIO_F_VERSION_1) | k_vblk_wanted_features());
	if (e == 0)
		e = virtio_pci_config_read(d, 0, cfg, len);
	if (e) {
		k_err("%s: reset/negotiate/config failed (%d)", name, e);
		return e;
	}
	return k_vblk_geometry(g, cfg, len, d->features, d->num_queues);
}

/* After a break: the same disk or nothing. Its front-ends were offered
 * this capacity, block size, queue count and feature set. */
static int restart(struct k_virtio_blk *b)
{
	struct virtio_pci_dev *d = b->t;
	struct k_vblk_geometry g;
	int e = negotiate(d, &g, b->name);

	if (e)
		return e;
	e = k_vblk_same_disk(b, d->features, &g);
	if (e == 0)
		e = queues_up(b, d);
	if (e) {
		(void)virtio_pci_reset(d);
		return e;
	}
	virtio_pci_driver_ok(d);
	return 0;
}

int k_virtio_blk_init(struct k_virtio_blk *b, struct virtio_pci_dev *d, unsigned index,
		      uint64_t (*now_ns)(void))
{
	struct k_vblk_geometry g;
	char name[8];
	int e;

	b->notify = notify;
	b->stop = stop;
	b->restart = NULL; /* until it is up once */
	b->t = d;
	b->broken = true; /* until it is up */
	snprintf(name, sizeof(name), "vd%u", index);
	e = negotiate(d, &g, name);
	if (e)
		return e;
	k_vblk_init(b, index, d->features, &g, now_ns);
	e = queues_up(b, d);
	if (e) {
		/* Leave no half-set-up queue pointing into our pools. */
		(void)virtio_pci_reset(d);
		b->broken = true;
		return e;
	}
	virtio_pci_driver_ok(d);
	b->restart = restart;
	k_info("%s: %" PRIu64 " sectors (%" PRIu64 " MiB), block %" PRIu32 ", %u queue%s x %u, "
	       "seg_max %" PRIu32 "%s%s%s%s",
	       b->name, g.capacity, g.capacity >> 11, g.blk_size, b->nq, b->nq == 1 ? "" : "s",
	       b->q[0].q.size, b->g.seg_max, b->read_only ? ", read-only" : "",
	       (d->features >> VIRTIO_BLK_F_FLUSH) & 1 ? ", flush" : "",
	       (d->features >> VIRTIO_BLK_F_DISCARD) & 1 ? ", discard" : "",
	       (d->features >> VIRTIO_BLK_F_WRITE_ZEROES) & 1 ? ", write-zeroes" : "");
	return 0;
}

int k_virtio_blk_idle_prepare(struct k_virtio_blk *b, struct virtio_pci_dev *d)
{
	/* Drop the line first, then ask and look once more: an answer before
	 * the request is seen here, one after it raises the line again. */
	(void)virtio_pci_isr(d);
	return k_vblk_idle_prepare(b);
}
