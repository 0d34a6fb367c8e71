/* fe_wiring.h - what uvhost-bench answers on the backend channel, and what
 * it drops on RESET_DEVICE.
 *
 * Owns: the front-end's handlers for back-end requests (CONFIG_CHANGE_MSG,
 * in-band BACKEND_VRING_CALL and BACKEND_VRING_ERR counted; SHMEM_MAP/UNMAP checked by vu_fe_shmem
 * and mapped into VA windows reserved per VIRTIO Shared Memory Region by uvh_shmem_window) and the
 * reset hook that drops every SHMEM mapping. Never: sends requests of its own beyond
 * GET_SHMEM_CONFIG, or keeps an fd a request carried (the front-end library closes them after the
 * handler). Used by: uvhost-bench (setup.c) and tests/frontend/fe_shmem_e2e.c, which drives this
 * exact wiring against a SHMEM-capable back-end.
 */
#ifndef UVHOST_BENCH_FE_WIRING_H
#define UVHOST_BENCH_FE_WIRING_H

#include <stdbool.h>
#include <stdint.h>

#include "uvh/shmem_window.h"
#include "vu/fe_shmem.h"
#include "vu/frontend.h"

struct bench_wiring {
	bool shmem_on; /* SHMEM negotiated and the windows reserved */
	uint32_t shmem_nregions;
	uint64_t shmem_sizes[VU_SHMEM_MAX_REGIONS];
	struct uvh_shmem_window win;
	struct vu_fe_shmem shm;
	uint64_t config_changes, resets;
	uint64_t vring_calls, vring_errs; /* in-band: INBAND_NOTIFICATIONS */
	/* Fd-less SHMEM_MAP names an offset into this file (the service VM's
	 * RAM, docs/vsock-transport.md §6); -1: such a request is refused. */
	int shared_fd;
	uint32_t last_err_index;
};

/* Plug the handlers into fe (after SET_BACKEND_REQ_FD). With SHMEM
 * negotiated: GET_SHMEM_CONFIG, reserve one window per region and accept
 * mappings aligned to the page size (shared_fd starts at -1: set it for an
 * fd-less transport). Returns 0 or a negative errno (then
 * fe->why, or the errno, says why; nothing stays reserved). */
int bench_wiring_attach(struct bench_wiring *w, struct vu_frontend *fe);

/* Release the windows (and any mapping in them). */
void bench_wiring_fini(struct bench_wiring *w);

/* The on_backend_req callback (ctx: struct bench_wiring). */
int bench_wiring_backend_req(void *ctx, struct vu_msg *req);

#endif
