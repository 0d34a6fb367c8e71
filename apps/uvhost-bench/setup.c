/* setup.c - connect, negotiate, lay out guest RAM and rings, churn, stop. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "bench.h"
#include "uvh/host.h"

#define VIRTIO_BLK_F_SEG_MAX 2
#define VIRTIO_BLK_F_BLK_SIZE 6
#define VIRTIO_BLK_F_FLUSH 9
#define VIRTIO_BLK_F_MQ 12
#define STATUS_DRIVER_OK 0x0fu /* ACKNOWLEDGE | DRIVER | DRIVER_OK | FEATURES_OK */
#define BLK_CFG_BYTES 36u      /* capacity .. num_queues */
#define BLK_CFG_NUM_QUEUES 34u
#define CELL 32u /* virtio_blk_outhdr (16) + status, per request */

static uint64_t round_up(uint64_t v, uint64_t a)
{
	return (v + a - 1) / a * a;
}

int bench_region(struct bench *b, uint64_t off, struct vu_fe_region *out)
{
	if (!b->vsock) {
		*out = uvh_guest_ram_region(&b->ram, b->gpa_base, off, b->region_size);
		return 0;
	}
	return uvh_window_ram_region(&b->wram, b->gpa_base, off, b->region_size, out);
}

int bench_backend_pollfd(const struct bench *b)
{
	return b->vsock ? uvh_fe_vsock_backend_pollfd(&b->vconn) : b->conn.backend_fd;
}

static int negotiate(struct bench *b)
{
	struct vu_frontend *fe = b->fe;
	uint64_t want_pf = VU_BIT(VU_PF_MQ) | VU_BIT(VU_PF_REPLY_ACK) | VU_BIT(VU_PF_BACKEND_REQ) |
			   VU_BIT(VU_PF_CONFIG) | VU_BIT(VU_PF_RESET_DEVICE) |
			   VU_BIT(VU_PF_CONFIGURE_MEM_SLOTS) | VU_BIT(VU_PF_STATUS) |
			   VU_BIT(VU_PF_SHMEM);
	uint64_t want_f = VU_BIT(VU_F_VERSION_1) | VU_BIT(VU_F_PROTOCOL_FEATURES) |
			  VU_BIT(VIRTIO_BLK_F_SEG_MAX) | VU_BIT(VIRTIO_BLK_F_BLK_SIZE) |
			  VU_BIT(VIRTIO_BLK_F_FLUSH) | VU_BIT(VIRTIO_BLK_F_MQ);
	uint8_t cfg[BLK_CFG_BYTES];
	int rc, peer;

	if (!b->o.no_event_idx)
		want_f |= VU_BIT(VU_F_RING_EVENT_IDX);
	if (b->o.no_mem_slots)
		want_pf &= ~VU_BIT(VU_PF_CONFIGURE_MEM_SLOTS);
	if (b->vsock) {
		/* Window addressing is what makes regions meaningful without
		 * fds; in-band notifications let us sleep instead of spin. */
		want_pf |= VU_BIT(VU_PF_WINDOW_ADDR);
		/* SHMEM_MAP then points into the VM's RAM: only with its file. */
		if (!b->o.vm_ram_file)
			want_pf &= ~VU_BIT(VU_PF_SHMEM);
		if (!b->o.no_inband && (!b->o.poll || b->o.inband_kick))
			want_pf |= VU_BIT(VU_PF_INBAND_NOTIFICATIONS);
	}
	rc = vu_fe_connect(fe, want_pf, 0);
	if (rc)
		return rc;
	if (!(fe->features & VU_BIT(VU_F_VERSION_1))) {
		fe->why = "back-end does not offer VIRTIO_F_VERSION_1";
		return -ENOTSUP;
	}
	if (b->o.inband_kick && !(fe->pfeatures & VU_BIT(VU_PF_INBAND_NOTIFICATIONS))) {
		fe->why = "--inband-kick: the back-end does not offer INBAND_NOTIFICATIONS";
		return -ENOTSUP;
	}
	if (b->vsock && !(fe->pfeatures & VU_BIT(VU_PF_WINDOW_ADDR))) {
		fe->why = "back-end does not offer WINDOW_ADDR (protocol feature 63): "
			  "it cannot take window-addressed memory";
		return -ENOTSUP;
	}
	if (fe->pfeatures & VU_BIT(VU_PF_BACKEND_REQ)) {
		if (b->vsock) {
			rc = uvh_fe_vsock_backend_listen(&b->vconn, b->o.vsock_path,
							 b->o.backend_port);
			if (rc) {
				bench_err("backend channel: cannot listen at %s_%u: %s",
					  b->o.vsock_path, b->o.backend_port, strerror(-rc));
				return rc;
			}
			rc = vu_fe_set_backend_req(fe, -1, b->o.backend_port);
		} else {
			rc = uvh_fe_backend_pair(&b->conn, &peer);
			if (rc)
				return rc;
			rc = vu_fe_set_backend_req(fe, peer, 0);
			close(peer);
		}
		if (rc)
			return rc;
	}
	/* Without in-band calls over a backend channel nothing can wake us:
	 * spin on the used rings. */
	if (b->vsock && !((fe->pfeatures & VU_BIT(VU_PF_INBAND_NOTIFICATIONS)) &&
			  (fe->pfeatures & VU_BIT(VU_PF_BACKEND_REQ))))
		b->o.poll = true;
	/* SHMEM needs the backend channel: without it the back-end sends no
	 * SHMEM_MAP, and any other back-end request has nowhere to go. */
	rc = bench_wiring_attach(&b->wire, fe);
	if (rc)
		return rc;
	if (b->vsock && b->o.vm_ram_file && b->wire.shmem_on) {
		b->wire.shared_fd = open(b->o.vm_ram_file, O_RDWR | O_CLOEXEC);
		if (b->wire.shared_fd < 0)
			b->wire.shared_fd = open(b->o.vm_ram_file, O_RDONLY | O_CLOEXEC);
		if (b->wire.shared_fd < 0) {
			rc = -errno;
			bench_err("--vm-ram-file %s: %s", b->o.vm_ram_file, strerror(errno));
			return rc;
		}
	}
	if (fe->pfeatures & VU_BIT(VU_PF_CONFIG)) {
		memset(cfg, 0, sizeof(cfg));
		rc = vu_fe_get_config(fe, 0, sizeof(cfg), cfg);
		if (rc)
			return rc;
		memcpy(&b->capacity, cfg, sizeof(b->capacity));
		if (b->capacity > UINT64_MAX / 512) {
			fe->why = "capacity overflows";
			return -EPROTO;
		}
		b->capacity *= 512;
		if ((fe->features & VU_BIT(VIRTIO_BLK_F_MQ)) && b->o.num_queues > 1) {
			uint16_t nq;
			memcpy(&nq, cfg + BLK_CFG_NUM_QUEUES, sizeof(nq));
			if (nq < b->o.num_queues) {
				bench_err("the back-end has %u queues, --num-queues %u", nq,
					  b->o.num_queues);
				return -EINVAL;
			}
		}
	}
	if (b->o.num_queues > fe->queue_num) {
		bench_err("GET_QUEUE_NUM says %u, --num-queues %u", fe->queue_num, b->o.num_queues);
		return -EINVAL;
	}
	if (b->o.num_queues > 1 && !(fe->features & VU_BIT(VIRTIO_BLK_F_MQ))) {
		bench_err("the back-end does not offer VIRTIO_BLK_F_MQ");
		return -EINVAL;
	}
	return vu_fe_set_features(fe, fe->features & want_f);
}

/* Every queue's ring lives in region 0; request i's buffers live in region
 * i % slots, so every region carries traffic. */
static int layout(struct bench *b)
{
	uint32_t nreq = b->o.qd * b->o.num_queues, slots = b->o.slots;
	uint64_t ring = round_up(virtq_drv_mem_bytes(b->qsize), BENCH_PAGE);
	uint64_t per_region = nreq / slots + (nreq % slots != 0);
	uint64_t need = ring * b->o.num_queues + per_region * round_up(b->o.bs, BENCH_PAGE) +
			round_up(per_region * CELL, BENCH_PAGE);
	uint64_t extra;
	uint64_t *bump;
	int rc;

	b->region_size = round_up(need, BENCH_PAGE);
	b->main_bytes = b->region_size * slots;
	extra = b->o.churn_hz > 0 ? b->region_size : 0;
	b->gpa_base = 1ull << 30;
	if (b->vsock) {
		rc = uvh_window_ram_create(&b->wram, b->o.windows, b->o.nwindows, b->region_size,
					   slots + (extra != 0));
		if (rc) {
			bench_err("%s: %u regions of %llu bytes over %u window file(s)%s%s",
				  rc == -ENOSPC ? "the windows are too small" : strerror(-rc),
				  slots + (extra != 0), (unsigned long long)b->region_size,
				  b->o.nwindows, b->wram.last_error[0] ? ": " : "",
				  b->wram.last_error);
			return rc;
		}
		b->ram_base = b->wram.base;
	} else {
		rc = b->o.ram_file
			     ? uvh_guest_ram_open(&b->ram, b->o.ram_file, b->main_bytes + extra)
			     : uvh_guest_ram_create(&b->ram, b->main_bytes + extra);
		if (rc) {
			if (b->o.ram_file)
				bench_err("--ram-file %s: %s (it must hold %llu bytes)",
					  b->o.ram_file, strerror(-rc),
					  (unsigned long long)(b->main_bytes + extra));
			return rc;
		}
		b->ram_base = b->ram.base;
	}
	for (uint32_t r = 0; r < slots; r++) {
		rc = bench_region(b, (uint64_t)r * b->region_size, &b->regions[r]);
		if (rc)
			return rc;
	}
	b->nregions = slots;
	b->live_regions = slots;

	bump = calloc(slots, sizeof(*bump));
	b->region_ios = calloc(slots, sizeof(*b->region_ios));
	if (!bump || !b->region_ios) {
		free(bump);
		return -ENOMEM;
	}
	bump[0] = ring * b->o.num_queues;
	for (uint32_t qi = 0; qi < b->o.num_queues; qi++) {
		struct bench_queue *q = &b->q[qi];
		uint64_t off = ring * qi;
		q->index = qi;
		q->cookie = calloc(b->qsize, sizeof(*q->cookie));
		q->chain_len = calloc(b->qsize, sizeof(*q->chain_len));
		q->links = calloc(b->qsize, sizeof(*q->links));
		q->max_write = calloc(b->qsize, sizeof(*q->max_write));
		q->reqs = calloc(b->o.qd, sizeof(*q->reqs));
		if (!q->cookie || !q->chain_len || !q->links || !q->max_write || !q->reqs) {
			free(bump);
			return -ENOMEM;
		}
		rc = virtq_drv_init(&q->vq, b->qsize, b->ram_base + off, b->gpa_base + off,
				    q->cookie, q->chain_len, q->max_write,
				    (b->fe->acked_features & VU_BIT(VU_F_RING_EVENT_IDX)) != 0);
		if (rc == 0)
			rc = virtq_drv_set_links(&q->vq, q->links);
		if (rc) {
			free(bump);
			return rc;
		}
		for (uint32_t k = 0; k < b->o.qd; k++) {
			uint32_t i = qi * b->o.qd + k, r = i % slots;
			uint64_t base = (uint64_t)r * b->region_size;
			struct bench_req *rq = &q->reqs[k];
			uint64_t cell_area =
				b->region_size - round_up(per_region * CELL, BENCH_PAGE);
			uint64_t data_off = base + bump[r];
			uint64_t cell_off = base + cell_area + (i / slots) * CELL;
			bump[r] += round_up(b->o.bs, BENCH_PAGE);
			rq->q = q;
			rq->region = r;
			rq->data = b->ram_base + data_off;
			rq->data_gpa = b->gpa_base + data_off;
			rq->hdr = b->ram_base + cell_off;
			rq->hdr_gpa = b->gpa_base + cell_off;
			q->free_idx[q->nfree++] = (uint16_t)k;
		}
		virtq_drv_disable_notify(&q->vq);
	}
	free(bump);
	return 0;
}

/* SET_VRING_ADDR carries front-end (user) addresses, not GPAs: ours are
 * simply the pointers into the memfd mapping that the regions' uaddr name. */
static int start_rings(struct bench *b)
{
	struct vu_frontend *fe = b->fe;
	int rc;

	for (uint32_t qi = 0; qi < b->o.num_queues; qi++) {
		struct bench_queue *q = &b->q[qi];
		q->kick_fd = q->call_fd = -1;
		/* vsock: NOFD both ways; the service VM polls the avail ring and
		 * calls in-band (or we spin, --poll). */
		if (!b->o.poll && !b->vsock) {
			q->kick_fd = uvh_eventfd_create();
			q->call_fd = uvh_eventfd_create();
			if (q->kick_fd < 0 || q->call_fd < 0)
				return -EMFILE;
		}
		if ((rc = vu_fe_set_vring_call(fe, qi, q->call_fd)) ||
		    (rc = vu_fe_set_vring_num(fe, qi, b->qsize)) ||
		    (rc = vu_fe_set_vring_base(fe, qi, 0)) ||
		    (rc = vu_fe_set_vring_addr(fe, qi, (uint64_t)(uintptr_t)q->vq.desc,
					       (uint64_t)(uintptr_t)q->vq.used,
					       (uint64_t)(uintptr_t)q->vq.avail)) ||
		    (rc = vu_fe_set_vring_kick(fe, qi, q->kick_fd)))
			return rc;
		if (fe->features & VU_BIT(VU_F_PROTOCOL_FEATURES)) {
			rc = vu_fe_set_vring_enable(fe, qi, true);
			if (rc)
				return rc;
		}
	}
	if (fe->pfeatures & VU_BIT(VU_PF_STATUS))
		return vu_fe_set_status(fe, STATUS_DRIVER_OK);
	return 0;
}

static const struct vu_fe_transport *transport(struct bench *b)
{
	return b->vsock ? &b->vconn.t : &b->conn.t;
}

int bench_setup(struct bench *b)
{
	uint32_t want = b->o.qd * 3;
	int rc;

	b->fe = calloc(1, sizeof(*b->fe));
	if (!b->fe)
		return -ENOMEM;
	b->vsock = b->o.vsock_path != NULL;
	b->conn.sock = b->conn.backend_fd = -1;
	if (b->vsock) {
		rc = uvh_fe_vsock_connect(&b->vconn, b->o.vsock_path, b->o.vsock_port);
		if (rc) {
			bench_err("connect %s port %u: %s", b->o.vsock_path, b->o.vsock_port,
				  rc == -ECONNREFUSED ? "refused (does the VM listen on that port?)"
						      : strerror(-rc));
			return rc;
		}
	} else {
		b->vconn.sock = b->vconn.listen_fd = b->vconn.backend_fd = -1;
		rc = uvh_fe_connect(&b->conn, b->o.socket);
		if (rc) {
			bench_err("connect %s: %s", b->o.socket, strerror(-rc));
			return rc;
		}
	}
	vu_fe_init(b->fe, transport(b));
	rc = negotiate(b);
	if (rc)
		goto fail;
	if (!b->o.size)
		b->o.size = b->capacity;
	if (b->capacity && b->o.size > b->capacity) {
		bench_err("--size %llu exceeds the capacity %llu", (unsigned long long)b->o.size,
			  (unsigned long long)b->capacity);
		return -EINVAL;
	}
	b->blocks = b->o.size / b->o.bs;
	if (b->blocks < b->o.qd * b->o.num_queues) {
		bench_err("the disk (%llu bytes) holds fewer blocks than requests in flight",
			  (unsigned long long)b->o.size);
		return -EINVAL;
	}
	for (b->qsize = 16; b->qsize < want;)
		b->qsize = (uint16_t)(b->qsize * 2);
	rc = layout(b);
	if (rc)
		goto fail;
	rc = vu_fe_set_mem(b->fe, b->regions, b->nregions);
	if (rc)
		goto fail;
	rc = start_rings(b);
	if (rc)
		goto fail;
	return 0;
fail:
	bench_err("set-up failed: %s (%s)", strerror(rc < 0 ? -rc : rc), b->fe->why);
	return rc;
}

void bench_teardown(struct bench *b)
{
	for (uint32_t qi = 0; qi < b->o.num_queues; qi++) {
		struct bench_queue *q = &b->q[qi];
		uint32_t base;
		if (b->drained && q->reqs) {
			if (b->fe->features & VU_BIT(VU_F_PROTOCOL_FEATURES))
				vu_fe_set_vring_enable(b->fe, qi, false);
			if (vu_fe_get_vring_base(b->fe, qi, &base) == 0 &&
			    base != q->vq.avail_idx) {
				bench_err("queue %u: GET_VRING_BASE %u, we published %u", qi, base,
					  q->vq.avail_idx);
				b->errors++;
			}
		}
		if (q->kick_fd >= 0)
			close(q->kick_fd);
		if (q->call_fd >= 0)
			close(q->call_fd);
		free(q->cookie);
		free(q->chain_len);
		free(q->links);
		free(q->max_write);
		free(q->reqs);
	}
	if (b->vsock)
		uvh_fe_vsock_close(&b->vconn);
	else
		uvh_fe_close(&b->conn);
	bench_wiring_fini(&b->wire);
	if (b->vsock)
		uvh_window_ram_destroy(&b->wram);
	else
		uvh_guest_ram_destroy(&b->ram);
	free(b->fe);
	free(b->region_ios);
	free(b->block_version);
	free(b->block_busy);
	free(b->lat.v);
	free(b->add_lat.v);
	free(b->rem_lat.v);
}
