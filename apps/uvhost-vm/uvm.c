/* The service VM's context helpers (see uvm.h). */
#include "uvm.h"

#include <errno.h>
#include <inttypes.h>

#include "kern/log.h"

int uvm_add_poller(struct uvm *vm, const char *name, k_poller_fn fn, void *ctx)
{
	return uvm_add_timed_poller(vm, name, fn, ctx, 0);
}

int uvm_add_timed_poller(struct uvm *vm, const char *name, k_poller_fn fn, void *ctx,
			 uint64_t period_us)
{
	int id = k_sched_add_timed(vm->sched, name, fn, ctx, period_us);
	return id < 0 ? -ENOMEM : id;
}

struct virtio_pci_dev *uvm_virtio(const struct uvm *vm, uint16_t device_id, unsigned i)
{
	for (unsigned k = 0; k < vm->nvdevs; k++)
		if (vm->vdevs[k].device_id == device_id && i-- == 0)
			return &vm->vdevs[k];
	return NULL;
}

void *uvm_alloc(struct uvm *vm, const char *owner, uint64_t size, uint64_t align)
{
	void *p = k_arena_take(vm->ram, owner, size, align);

	if (!p)
		k_err("%s: no RAM for %" PRIu64 " bytes (%" PRIu64 " free)", owner, size,
		      k_arena_free(vm->ram));
	return p;
}
