/* fe_wiring.c - backend-channel requests and the reset hook of uvhost-bench. */
#include "fe_wiring.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

int bench_wiring_backend_req(void *ctx, struct vu_msg *req)
{
	struct bench_wiring *w = ctx;

	switch (req->hdr.request) {
	case VU_BREQ_CONFIG_CHANGE_MSG: w->config_changes++; return 0;
	/* The wake-up itself is the backend channel becoming readable; the
	 * caller reaps every ring after it, so only counting is left. */
	case VU_BREQ_VRING_CALL: w->vring_calls++; return 0;
	case VU_BREQ_VRING_ERR:
		w->vring_errs++;
		w->last_err_index = req->p.state.index;
		return 0;
	case VU_BREQ_SHMEM_MAP: {
		int rc, lent = w->shmem_on && req->nfds == 0 && w->shared_fd >= 0;

		if (!w->shmem_on)
			return -EOPNOTSUPP;
		/* Lend the file for the call: the mapper keeps no fd, and the
		 * library must not close ours afterwards. */
		if (lent) {
			req->fds[0] = w->shared_fd;
			req->nfds = 1;
		}
		w->win.last_error[0] = '\0';
		rc = vu_fe_shmem_handle(&w->shm, req);
		if (lent) {
			req->fds[0] = -1;
			req->nfds = 0;
		}
		if (rc < 0 && w->win.last_error[0])
			fprintf(stderr, "uvhost-bench: SHMEM_MAP refused: %s\n", w->win.last_error);
		return rc;
	}
	case VU_BREQ_SHMEM_UNMAP:
		/* Only reachable with SHMEM negotiated (the library checks), but
		 * the windows may have failed to come up. */
		return w->shmem_on ? vu_fe_shmem_handle(&w->shm, req) : -EOPNOTSUPP;
	default: return -EOPNOTSUPP;
	}
}

static void wiring_reset(void *ctx)
{
	struct bench_wiring *w = ctx;

	w->resets++;
	if (w->shmem_on)
		vu_fe_shmem_reset(&w->shm);
}

int bench_wiring_attach(struct bench_wiring *w, struct vu_frontend *fe)
{
	int rc;

	memset(w, 0, sizeof(*w));
	w->shared_fd = -1;
	fe->on_backend_req = bench_wiring_backend_req;
	fe->backend_ctx = w;
	fe->on_reset = wiring_reset;
	fe->reset_ctx = w;
	if (!(fe->pfeatures & VU_BIT(VU_PF_SHMEM)))
		return 0;
	rc = vu_fe_get_shmem_config(fe, &w->shmem_nregions, w->shmem_sizes);
	if (rc)
		return rc;
	rc = uvh_shmem_window_init(&w->win, w->shmem_sizes, w->shmem_nregions);
	if (rc) {
		fe->why = "cannot reserve the shared memory windows";
		return rc;
	}
	rc = vu_fe_shmem_init(&w->shm, &w->win.mapper, w->shmem_sizes, w->shmem_nregions,
			      uvh_page_size());
	if (rc) {
		uvh_shmem_window_fini(&w->win);
		fe->why = "bad shared memory configuration";
		return rc;
	}
	w->shmem_on = true;
	return 0;
}

void bench_wiring_fini(struct bench_wiring *w)
{
	if (w->shmem_on)
		uvh_shmem_window_fini(&w->win);
	w->shmem_on = false;
	if (w->shared_fd >= 0)
		close(w->shared_fd);
	w->shared_fd = -1;
}
