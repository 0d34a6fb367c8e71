/* The service VM's vsock: virtio-vsock driver, protocol core and the
 * control service, wired to the main loop. */
#include <errno.h>
#include <inttypes.h>
#include <stdbool.h>
#include <stddef.h>

#include "kern/control.h"
#include "kern/ivshmem.h"
#include "kern/log.h"
#include "kern/time.h"
#include "kern/virtio_vsock.h"
#include "kern/vsock.h"
#include "uvm.h"
#include "vhost_commands.h"
#include "vhost_service.h"
#include "vsock_service.h"

#include "uvm_version.h" /* generated: UVHOST_VERSION */

static struct k_vsock_core uvm_vs;
static struct k_virtio_vsock uvm_vvs;
static struct k_control uvm_ctl;
/* Last CRC-32 computed per window: the `windows` command recomputes it on
 * every call (the host may have written the window since), so the cache
 * only says what the VM saw last. */
static uint32_t uvm_window_crc[K_MAX_WINDOWS];
static bool uvm_vs_up;

struct k_vsock_core *uvm_vsock_core(void)
{
	return uvm_vs_up ? &uvm_vs : NULL;
}

struct k_virtio_vsock *uvm_vsock_driver(void)
{
	return uvm_vs_up ? &uvm_vvs : NULL;
}

static const struct k_sched *prov_sched(void *ctx)
{
	(void)ctx;
	return uvm_sched_get();
}

static unsigned prov_window_count(void *ctx)
{
	(void)ctx;
	return k_window_count();
}

static int prov_window_get(void *ctx, unsigned i, struct k_control_window *w)
{
	uint32_t crc;
	int r;

	(void)ctx;
	if (i >= K_MAX_WINDOWS)
		return -ENOENT;
	r = k_window_get(i, &w->base, &w->size);
	if (r < 0)
		return r;
	r = k_window_crc32(i, 0, w->size, &crc);
	if (r < 0)
		return r;
	uvm_window_crc[i] = crc;
	w->checksum = crc;
	return 0;
}

int uvm_vsock_start(void)
{
	static const struct k_control_provider prov = {
		.ctx = NULL,
		.version = UVHOST_VERSION,
		.sched = prov_sched,
		.window_count = prov_window_count,
		.window_get = prov_window_get,
	};
	struct virtio_pci_dev *d = uvm_virtio(VIRTIO_VSOCK_PCI_ID, 0);
	uint32_t port = uvm_args()->ctl_port;
	int r;

	if (!d) {
		k_info("vsock: no virtio-vsock device, no control service");
		return -ENODEV;
	}
	r = k_virtio_vsock_init(&uvm_vvs, d, &uvm_vs, k_now_ns);
	if (r < 0) {
		k_err("vsock: device bring-up failed (%d)", r);
		return r;
	}
	uvm_vs_up = true;
	k_info("vsock: guest cid %" PRIu64 ", queues rx %u tx %u event %u, features %#" PRIx64
	       ", %u connections x %u KiB",
	       uvm_vvs.guest_cid, (unsigned)uvm_vvs.rx.q.size, (unsigned)uvm_vvs.tx.q.size,
	       (unsigned)uvm_vvs.ev.q.size, d->features, (unsigned)K_VSOCK_MAX_CONNS,
	       (unsigned)(K_VSOCK_BUF_ALLOC / 1024));
	r = k_control_init(&uvm_ctl, &uvm_vs, port, &prov);
	if (r < 0) {
		k_err("vsock: control service cannot listen on port %" PRIu32 " (%d)", port, r);
		return r;
	}
	/* The vhost listeners start later; until then these report nothing
	 * and refuse every port. */
	k_control_set_extra(&uvm_ctl, uvm_vhost_stat, NULL);
	k_control_set_commands(&uvm_ctl, uvm_vhost_command, NULL);
	/* Driver first: packets that arrived this turn reach the control
	 * service in the same turn, and its replies leave on the next. */
	if ((r = uvm_add_poller("vsock", k_virtio_vsock_poll, &uvm_vvs)) < 0 ||
	    (r = uvm_add_timed_poller("vsock-timeouts", k_virtio_vsock_timer_poll, &uvm_vvs,
				      K_VSOCK_TIMER_PERIOD_US)) < 0 ||
	    (r = uvm_add_poller("control", k_control_poll, &uvm_ctl)) < 0) {
		k_err("vsock: no room for pollers (%d)", r);
		k_control_stop(&uvm_ctl);
		return r;
	}
	k_info("vsock: listening on port %" PRIu32, port);
	return 0;
}
