/* The service VM's doorbells (see doorbell.h). */
#include "doorbell.h"

#include <errno.h>

#include "kern/ivshmem_db.h"
#include "kern/log.h"
#include "uvm.h"
#include "vu/backend.h"

/* handle = TAG | call << 26 | device << 24 | peer << 8 | vector */
#define H_CALL (1 << 26)
#define H_DEV_SHIFT 24
#define H_PEER_SHIFT 8
#define H_VEC_MASK 0xff
_Static_assert(K_IVSHMEM_DB_MAX <= 4, "the device fits 2 bits of a handle");

static uint64_t fired[K_IVSHMEM_DB_MAX]; /* this turn's vectors, per device */

static int db_poll(void *ctx)
{
	int work = 0;

	(void)ctx;
	for (unsigned i = 0; i < k_ivshmem_db_count(); i++) {
		fired[i] = k_ivshmem_db_take(k_ivshmem_db_get(i));
		work += __builtin_popcountll(fired[i]);
	}
	return work;
}

int uvm_doorbell_start(struct uvm *vm, const struct k_fdt *f)
{
	int n = k_ivshmem_db_init(f);

	if (n <= 0)
		return n;
	if (uvm_add_poller(vm, "doorbell", db_poll, NULL) < 0) {
		k_err("doorbell: no room for the poller: doorbells refused");
		return -ENOMEM;
	}
	return n;
}

bool uvm_doorbell_is_handle(int fd)
{
	return fd >= 0 && (fd & UVM_DB_TAG) != 0;
}

int uvm_doorbell_handle(bool call, uint32_t device, uint32_t peer, uint32_t vector, int *fd)
{
	const struct k_ivshmem_db *d = k_ivshmem_db_get(device);

	if (!d)
		return -ENODEV;
	if (call ? (peer > 0xffffu || vector > K_IVSHMEM_DB_MAX_VECTOR)
		 : (peer != 0 || vector >= d->nvec))
		return -EINVAL;
	*fd = UVM_DB_TAG | (call ? H_CALL : 0) | (int)(device << H_DEV_SHIFT) |
	      (int)(peer << H_PEER_SHIFT) | (int)vector;
	return 0;
}

int uvm_doorbell_signal(int fd)
{
	struct k_ivshmem_db *d;

	if (!uvm_doorbell_is_handle(fd) || !(fd & H_CALL))
		return -EBADF;
	d = k_ivshmem_db_get((unsigned)(fd >> H_DEV_SHIFT) & 3u);
	if (!d)
		return -EBADF;
	return k_ivshmem_db_ring(d, (uint32_t)(fd >> H_PEER_SHIFT) & 0xffffu,
				 (uint32_t)fd & H_VEC_MASK);
}

int uvm_doorbell_kick_rings(struct vu_backend *b)
{
	uint32_t nq = vu_backend_num_queues(b);
	int n = 0;

	for (uint32_t i = 0; i < nq; i++) {
		int fd = vu_ring_kick_fd(b, i);
		unsigned dev;

		if (!uvm_doorbell_is_handle(fd) || (fd & H_CALL))
			continue;
		dev = (unsigned)(fd >> H_DEV_SHIFT) & 3u;
		if (dev < K_IVSHMEM_DB_MAX && (fired[dev] >> (fd & 63) & 1u)) {
			vu_backend_kick(b, i);
			n++;
		}
	}
	return n;
}

uint64_t uvm_doorbell_irqs(void)
{
	uint64_t n = 0;

	for (unsigned i = 0; i < k_ivshmem_db_count(); i++)
		n += k_ivshmem_db_get(i)->irqs;
	return n;
}

uint64_t uvm_doorbell_rings(void)
{
	uint64_t n = 0;

	for (unsigned i = 0; i < k_ivshmem_db_count(); i++)
		n += k_ivshmem_db_get(i)->rings;
	return n;
}
