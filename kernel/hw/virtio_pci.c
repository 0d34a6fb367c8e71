/* virtio-pci modern transport (virtio 1.x, section 4.1), driver side. */
#include "kern/virtio_pci.h"

#include <errno.h>
#include <string.h>

#include "kern/hw_arch.h"
#include "kern/log.h"
#include "kern/pci.h"

#define PCI_STATUS 0x06
#define PCI_STATUS_CAP_LIST 0x10u
#define PCI_CAP_PTR 0x34
#define PCI_CAP_ID_VNDR 0x09

#define VIRTIO_PCI_CAP_COMMON 1u
#define VIRTIO_PCI_CAP_NOTIFY 2u
#define VIRTIO_PCI_CAP_ISR 3u
#define VIRTIO_PCI_CAP_DEVICE 4u

/* struct virtio_pci_common_cfg offsets */
#define CC_DFSELECT 0x00
#define CC_DF 0x04
#define CC_GFSELECT 0x08
#define CC_GF 0x0c
#define CC_NUM_QUEUES 0x12
#define CC_STATUS 0x14
#define CC_CFGGEN 0x15
#define CC_Q_SELECT 0x16
#define CC_Q_SIZE 0x18
#define CC_Q_ENABLE 0x1c
#define CC_Q_NOFF 0x1e
#define CC_Q_DESC 0x20
#define CC_Q_AVAIL 0x28
#define CC_Q_USED 0x30
#define CC_LEN 0x38

#define CAP_MAX 48 /* bounds the walk even on a looping list */

static uintptr_t cc(const struct virtio_pci_dev *d, uint32_t off)
{
	return (uintptr_t)d->common + off;
}

static void cc_w64(struct virtio_pci_dev *d, uint32_t off, uint64_t v)
{
	k_mmio_w32(cc(d, off), (uint32_t)v);
	k_mmio_w32(cc(d, off + 4), (uint32_t)(v >> 32));
}

struct cap {
	uint8_t bar;
	uint32_t off, len;
	volatile uint8_t *ptr;
};

/* One vendor capability at `pos` into `c`, checked against its BAR. */
static int read_cap(const struct k_pci_func *p, uint32_t pos, struct cap *c)
{
	const struct k_pci_bar *b;

	c->bar = k_pci_cfg_r8(p, pos + 4);
	c->off = k_pci_cfg_r32(p, pos + 8);
	c->len = k_pci_cfg_r32(p, pos + 12);
	if (c->bar >= K_PCI_BARS)
		return -EINVAL;
	b = &p->bar[c->bar];
	if (!(b->flags & K_PCI_BAR_ASSIGNED) || !(b->flags & K_PCI_BAR_MEM))
		return -EINVAL;
	if ((uint64_t)c->off + c->len > b->size)
		return -EINVAL;
	c->ptr = (volatile uint8_t *)(uintptr_t)(b->cpu_addr + c->off);
	return 0;
}

int virtio_pci_probe(struct virtio_pci_dev *d, const struct k_pci_func *p)
{
	struct cap common = {0}, notify = {0}, isr = {0}, dev = {0};
	uint32_t mult = 0, pos;
	bool maps[K_PCI_BARS] = {false};

	if (!d || !p || p->vendor != 0x1af4 || p->device < 0x1040 || p->device > 0x107f)
		return -ENODEV;
	memset(d, 0, sizeof(*d));
	if (!(k_pci_cfg_r16(p, PCI_STATUS) & PCI_STATUS_CAP_LIST))
		return -EINVAL;
	pos = k_pci_cfg_r8(p, PCI_CAP_PTR) & 0xfcu;
	for (int n = 0; pos >= 0x40 && n < CAP_MAX; n++) {
		uint8_t id = k_pci_cfg_r8(p, pos), type = k_pci_cfg_r8(p, pos + 3);
		uint8_t caplen = k_pci_cfg_r8(p, pos + 2);
		struct cap *slot = NULL;

		if (id == PCI_CAP_ID_VNDR && caplen >= 16 && pos + caplen <= 0x100) {
			if (type == VIRTIO_PCI_CAP_COMMON)
				slot = &common;
			else if (type == VIRTIO_PCI_CAP_NOTIFY && caplen >= 20)
				slot = &notify;
			else if (type == VIRTIO_PCI_CAP_ISR)
				slot = &isr;
			else if (type == VIRTIO_PCI_CAP_DEVICE)
				slot = &dev;
		}
		/* The first usable capability of each kind wins. */
		if (slot && !slot->ptr) {
			struct cap c;
			if (read_cap(p, pos, &c) == 0) {
				*slot = c;
				maps[c.bar] = true;
				if (slot == &notify)
					mult = k_pci_cfg_r32(p, pos + 16);
			} else {
				k_warn("virtio %02x:%02x.%x: capability type %u outside its BAR",
				       p->bus, p->dev, p->fn, type);
			}
		}
		pos = k_pci_cfg_r8(p, pos + 1) & 0xfcu;
	}
	if (!common.ptr || common.len < CC_LEN || !notify.ptr || notify.len < 2 || !isr.ptr ||
	    isr.len < 1)
		return -EINVAL;
	for (unsigned i = 0; i < K_PCI_BARS; i++)
		if (maps[i] && k_pci_map_bar(p, i, false))
			return -EINVAL;
	d->device_id = p->device;
	d->common = common.ptr;
	d->notify_base = notify.ptr;
	d->notify_len = notify.len;
	d->notify_mult = mult;
	d->isr = isr.ptr;
	d->device_cfg = dev.ptr;
	d->device_cfg_len = dev.ptr ? dev.len : 0;
	d->pci = p;
	d->num_queues = k_mmio_r16(cc(d, CC_NUM_QUEUES));
	return 0;
}

int virtio_pci_reset(struct virtio_pci_dev *d)
{
	k_mmio_w8(cc(d, CC_STATUS), 0);
	/* The device may take time to finish resetting (4.1.4.3.2). */
	for (unsigned spin = 0; k_mmio_r8(cc(d, CC_STATUS)) != 0; spin++)
		if (spin > 1000000u)
			return -EIO;
	k_mmio_w8(cc(d, CC_STATUS), VIRTIO_STATUS_ACKNOWLEDGE);
	k_mmio_w8(cc(d, CC_STATUS), VIRTIO_STATUS_ACKNOWLEDGE | VIRTIO_STATUS_DRIVER);
	d->features = 0;
	return 0;
}

uint64_t virtio_pci_device_features(struct virtio_pci_dev *d)
{
	uint64_t f;

	k_mmio_w32(cc(d, CC_DFSELECT), 0);
	f = k_mmio_r32(cc(d, CC_DF));
	k_mmio_w32(cc(d, CC_DFSELECT), 1);
	return f | (uint64_t)k_mmio_r32(cc(d, CC_DF)) << 32;
}

int virtio_pci_negotiate(struct virtio_pci_dev *d, uint64_t wanted)
{
	uint64_t f = virtio_pci_device_features(d) & wanted;
	uint8_t st;

	if (!(f & (1ull << VIRTIO_F_VERSION_1)))
		return -ENOTSUP;
	k_mmio_w32(cc(d, CC_GFSELECT), 0);
	k_mmio_w32(cc(d, CC_GF), (uint32_t)f);
	k_mmio_w32(cc(d, CC_GFSELECT), 1);
	k_mmio_w32(cc(d, CC_GF), (uint32_t)(f >> 32));
	st = k_mmio_r8(cc(d, CC_STATUS));
	k_mmio_w8(cc(d, CC_STATUS), st | VIRTIO_STATUS_FEATURES_OK);
	if (!(k_mmio_r8(cc(d, CC_STATUS)) & VIRTIO_STATUS_FEATURES_OK)) {
		k_mmio_w8(cc(d, CC_STATUS), st | VIRTIO_STATUS_FAILED);
		return -EIO;
	}
	d->features = f;
	return 0;
}

uint16_t virtio_pci_queue_max(struct virtio_pci_dev *d, uint16_t q)
{
	if (q >= d->num_queues)
		return 0;
	k_mmio_w16(cc(d, CC_Q_SELECT), q);
	return k_mmio_r16(cc(d, CC_Q_SIZE));
}

int virtio_pci_queue_enable(struct virtio_pci_dev *d, uint16_t q, uint16_t size, uint64_t desc,
			    uint64_t avail, uint64_t used)
{
	uint16_t max = virtio_pci_queue_max(d, q);
	uint32_t noff;

	if (max == 0 || size == 0 || size > max || (size & (size - 1)))
		return -EINVAL;
	k_mmio_w16(cc(d, CC_Q_SELECT), q);
	noff = k_mmio_r16(cc(d, CC_Q_NOFF));
	/* Where this queue's notifications go must lie in the notify window. */
	if ((uint64_t)noff * d->notify_mult + 2 > d->notify_len)
		return -EINVAL;
	k_mmio_w16(cc(d, CC_Q_SIZE), size);
	cc_w64(d, CC_Q_DESC, desc);
	cc_w64(d, CC_Q_AVAIL, avail);
	cc_w64(d, CC_Q_USED, used);
	k_dsb_sy();
	k_mmio_w16(cc(d, CC_Q_ENABLE), 1);
	return 0;
}

void virtio_pci_notify(struct virtio_pci_dev *d, uint16_t q)
{
	uint32_t noff;

	if (q >= d->num_queues)
		return;
	k_mmio_w16(cc(d, CC_Q_SELECT), q);
	noff = k_mmio_r16(cc(d, CC_Q_NOFF));
	if ((uint64_t)noff * d->notify_mult + 2 > d->notify_len)
		return;
	/* Ring writes must be visible before the device hears about them. */
	k_dsb_sy();
	k_mmio_w16((uintptr_t)d->notify_base + noff * d->notify_mult, q);
}

void virtio_pci_driver_ok(struct virtio_pci_dev *d)
{
	k_mmio_w8(cc(d, CC_STATUS), k_mmio_r8(cc(d, CC_STATUS)) | VIRTIO_STATUS_DRIVER_OK);
}

int virtio_pci_config_read(struct virtio_pci_dev *d, uint32_t off, void *buf, uint32_t len)
{
	uint8_t gen, *out = buf;

	if (!d->device_cfg || off > d->device_cfg_len || len > d->device_cfg_len - off)
		return -EINVAL;
	do {
		gen = k_mmio_r8(cc(d, CC_CFGGEN));
		/* Natural-width accesses where the field allows (4.1.3.1). */
		if ((off | len) % 4 == 0) {
			for (uint32_t i = 0; i < len; i += 4) {
				uint32_t v = k_mmio_r32((uintptr_t)d->device_cfg + off + i);
				memcpy(out + i, &v, 4);
			}
		} else {
			for (uint32_t i = 0; i < len; i++)
				out[i] = k_mmio_r8((uintptr_t)d->device_cfg + off + i);
		}
	} while (gen != k_mmio_r8(cc(d, CC_CFGGEN)));
	return 0;
}

uint8_t virtio_pci_isr(struct virtio_pci_dev *d)
{
	uint8_t v = k_mmio_r8((uintptr_t)d->isr);

	/* The read (which drops the INTx line) completes before the caller
	 * looks at its rings again: what it then misses re-asserts the line. */
	k_dmb_sy();
	return v;
}
