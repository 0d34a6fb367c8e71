/* The service VM's vsock: virtio-vsock driver, protocol core and the
 * control service, wired to the main loop (see vsock_service.h). */
#include "vsock_service.h"

#include <errno.h>
#include <inttypes.h>
#include <stdbool.h>
#include <stddef.h>

#include "kern/log.h"
#include "kern/time.h"
#include "kern/virtio_vsock.h"

#include "uvm_version.h" /* generated: UVHOST_VERSION */

static const struct k_sched *prov_sched(void *ctx)
{
	const struct uvm_vsock *s = ctx;
	return s->vm->sched;
}

static unsigned prov_window_count(void *ctx)
{
	(void)ctx;
	return k_window_count();
}

static int prov_window_get(void *ctx, unsigned i, struct k_control_window *w)
{
	struct uvm_vsock *s = ctx;
	uint32_t crc;
	int r;

	if (i >= K_MAX_WINDOWS)
		return -ENOENT;
	r = k_window_get(i, &w->base, &w->size);
	if (r < 0)
		return r;
	r = k_window_crc32(i, 0, w->size, &crc);
	if (r < 0)
		return r;
	s->window_crc[i] = crc;
	w->checksum = crc;
	return 0;
}

/* The connection pool and the driver, sized by the command line. */
static int pools(struct uvm_vsock *s)
{
	const struct k_bootargs *a = &s->vm->args->k;
	struct k_vsock_mem m = {
		.conns = a->vsock_conns, .rx_size = a->vsock_buf, .tx_size = a->vsock_buf};
	struct k_control_client *clients;

	m.rx = uvm_alloc(s->vm, "vsock-buffers", (uint64_t)m.conns * m.rx_size, 64);
	m.tx = m.rx ? uvm_alloc(s->vm, "vsock-buffers", (uint64_t)m.conns * m.tx_size, 64) : NULL;
	s->drv = uvm_alloc(s->vm, "vsock-driver", sizeof(*s->drv), 4096);
	clients = uvm_alloc(s->vm, "control", (uint64_t)a->ctl_clients * sizeof(*clients), 64);
	if (!m.tx || !s->drv || !clients || k_vsock_set_mem(&s->core, &m))
		return -ENOMEM;
	k_control_set_pool(&s->ctl, clients, a->ctl_clients);
	return 0;
}

int uvm_vsock_start(struct uvm_vsock *s, struct uvm *vm)
{
	const struct k_control_provider prov = {
		.ctx = s,
		.version = UVHOST_VERSION,
		.sched = prov_sched,
		.window_count = prov_window_count,
		.window_get = prov_window_get,
	};
	struct virtio_pci_dev *d = uvm_virtio(vm, VIRTIO_VSOCK_PCI_ID, 0);
	uint32_t port = vm->args->k.ctl_port;
	int r;

	s->vm = vm;
	if (!d) {
		k_info("vsock: no virtio-vsock device, no control service");
		return -ENODEV;
	}
	if ((r = pools(s)) < 0)
		return r;
	r = k_virtio_vsock_init(s->drv, d, &s->core, k_now_ns);
	if (r < 0) {
		k_err("vsock: device bring-up failed (%d)", r);
		return r;
	}
	k_info("vsock: guest cid %" PRIu64 ", queues rx %u tx %u event %u, features %#" PRIx64
	       ", %u connections x %u KiB each way, %u control clients",
	       s->drv->guest_cid, (unsigned)s->drv->rx.q.size, (unsigned)s->drv->tx.q.size,
	       (unsigned)s->drv->ev.q.size, d->features, s->core.mem.conns,
	       (unsigned)(s->core.mem.rx_size / 1024), s->ctl.nclients);
	r = k_control_init(&s->ctl, &s->core, port, &prov);
	if (r < 0) {
		k_err("vsock: control service cannot listen on port %" PRIu32 " (%d)", port, r);
		return r;
	}
	/* Driver first: packets that arrived this turn reach the control
	 * service in the same turn, and its replies leave on the next. */
	if ((r = uvm_add_poller(vm, "vsock", k_virtio_vsock_poll, s->drv)) < 0 ||
	    (r = uvm_add_timed_poller(vm, "vsock-timeouts", k_virtio_vsock_timer_poll, s->drv,
				      K_VSOCK_TIMER_PERIOD_US)) < 0 ||
	    (r = uvm_add_poller(vm, "control", k_control_poll, &s->ctl)) < 0) {
		k_err("vsock: no room for pollers (%d)", r);
		k_control_stop(&s->ctl);
		return r;
	}
	vm->vs = &s->core;
	vm->vvs = s->drv;
	vm->ctl = &s->ctl;
	k_info("vsock: listening on port %" PRIu32, port);
	return 0;
}
