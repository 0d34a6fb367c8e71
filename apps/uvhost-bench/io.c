/* io.c - the single-threaded I/O loop: submit up to qd per queue, kick,
 * reap, sleep on the call eventfds (or spin in --poll mode). */
#include <errno.h>
#include <poll.h>
#include <string.h>

#include "bench.h"
#include "uvh/host.h"

#define BLK_T_IN 0u
#define BLK_T_OUT 1u
#define BLK_T_FLUSH 4u
#define BACKEND_POLL_EVERY 1024u
#define MAX_SLEEP_MS 50

static uint64_t rnd(struct bench *b)
{
	/* xorshift64*: cheap and good enough to pick blocks */
	b->rng ^= b->rng >> 12;
	b->rng ^= b->rng << 25;
	b->rng ^= b->rng >> 27;
	return b->rng * 0x2545F4914F6CDD1Dull;
}

static bool is_write_workload(const struct bench *b)
{
	return b->o.rw == RW_WRITE || b->o.rw == RW_RANDWRITE;
}

/* The next block to touch, or false when this phase submits nothing now. */
/* Requests a phase other than PHASE_RUN sends: one per block, or the one
 * FLUSH. */
static uint64_t phase_requests(const struct bench *b)
{
	return b->phase == PHASE_FLUSH ? 1 : b->blocks;
}

static bool pick(struct bench *b, uint64_t *block, bool *write)
{
	if (b->phase != PHASE_RUN) {
		if (b->seq_next >= phase_requests(b))
			return false;
		*block = b->seq_next++;
		*write = b->phase == PHASE_FILL || b->phase == PHASE_FLUSH;
		return true;
	}
	if (b->phase_stop)
		return false;
	*write = is_write_workload(b);
	if (b->o.rw == RW_RANDREAD || b->o.rw == RW_RANDWRITE) {
		for (int tries = 0; tries < 8; tries++) {
			*block = rnd(b) % b->blocks;
			if (!b->block_busy || !b->block_busy[*block])
				return true;
		}
		return false;
	}
	*block = b->seq_next++ % b->blocks;
	return !b->block_busy || !b->block_busy[*block];
}

static int submit(struct bench *b, struct bench_queue *q)
{
	int n = 0;

	while (q->nfree) {
		uint16_t k = q->free_idx[q->nfree - 1];
		struct bench_req *r = &q->reqs[k];
		uint64_t block, sector;
		uint32_t type;
		bool write;
		int head;
		if (r->region >= b->live_regions) {
			/* --half-churn: its memory is going away */
			q->parked_idx[q->nparked++] = k;
			q->nfree--;
			continue;
		}
		if (!pick(b, &block, &write))
			break;
		r->block = block;
		r->write = write;
		r->version = 0;
		if (b->phase == PHASE_FLUSH) {
			/* No data: header and status byte (used length 1). */
			struct virtq_buf fb[2] = {{r->hdr_gpa, 16, false},
						  {r->hdr_gpa + 16, 1, true}};

			type = BLK_T_FLUSH;
			memset(r->hdr, 0, 16);
			memcpy(r->hdr, &type, sizeof(type));
			r->hdr[16] = 0xff;
			head = virtq_drv_add(&q->vq, fb, 2, r);
			goto added;
		}
		if (b->block_version) {
			if (write) {
				r->version = ++b->block_version[block];
				bench_pattern_fill((uint64_t *)(void *)r->data, b->o.bs / 8, block,
						   r->version);
			} else {
				r->version = b->block_version[block];
				bench_poison(b, r);
			}
			b->block_busy[block] = 1;
		}
		type = write ? BLK_T_OUT : BLK_T_IN;
		sector = block * (b->o.bs / 512);
		memset(r->hdr, 0, 16);
		memcpy(r->hdr, &type, sizeof(type));
		memcpy(r->hdr + 8, &sector, sizeof(sector));
		r->hdr[16] = 0xff;
		{
			struct virtq_buf bufs[3] = {
				{r->hdr_gpa, 16, false},
				{r->data_gpa, b->o.bs, !write},
				{r->hdr_gpa + 16, 1, true},
			};
			head = virtq_drv_add(&q->vq, bufs, 3, r);
		}
	added:
		if (head < 0) {
			bench_err("queue %u: add failed: %s", q->index, strerror(-head));
			return head;
		}
		q->nfree--;
		q->inflight++;
		if (r->region >= b->nregions / 2)
			b->inflight_high++;
		r->busy = true;
		r->t0 = uvh_now_ns();
		n++;
	}
	if (n && (q->kick_fd >= 0 || b->o.inband_kick)) {
		int rc = 0;
		if (virtq_drv_kick_needed(&q->vq)) {
			b->kicks++;
			rc = q->kick_fd >= 0 ? uvh_eventfd_signal(q->kick_fd)
					     : vu_fe_vring_kick(b->fe, q->index);
		} else {
			b->kicks_saved++;
		}
		if (rc)
			return rc;
	}
	return n;
}

static int reap(struct bench *b, struct bench_queue *q)
{
	int n = 0;

	for (;;) {
		struct bench_req *r;
		void *cookie;
		uint32_t len;
		int rc = virtq_drv_get_used(&q->vq, &cookie, &len);
		if (rc < 0) {
			bench_err("queue %u: the back-end published garbage in the used ring",
				  q->index);
			return rc;
		}
		if (rc == 0)
			break;
		r = cookie;
		bench_check_done(b, r, len);
		if (b->block_busy)
			b->block_busy[r->block] = 0;
		b->region_ios[r->region]++;
		if (b->phase == PHASE_RUN && !b->phase_stop) {
			b->ios++;
			b->bytes += b->o.bs;
			if (bench_lat_add(&b->lat, uvh_now_ns() - r->t0))
				return -ENOMEM;
		}
		r->busy = false;
		if (r->region >= b->nregions / 2)
			b->inflight_high--;
		q->free_idx[q->nfree++] = (uint16_t)(r - q->reqs);
		q->inflight--;
		n++;
	}
	return n;
}

static bool used_waiting(struct bench *b)
{
	for (uint32_t i = 0; i < b->o.num_queues; i++) {
		const struct virtq_drv *vq = &b->q[i].vq;
		if (__atomic_load_n(&vq->used->idx, __ATOMIC_RELAXED) != vq->last_used)
			return true;
	}
	return false;
}

/* Sleep until a call eventfd or the backend channel fires. Notifications
 * stay off while we are busy and are turned on only here; if used entries
 * arrived meanwhile we do not sleep at all. */
static int sleep_on_calls(struct bench *b, int timeout_ms)
{
	struct pollfd pfd[BENCH_MAX_QUEUES + 1];
	int n = 0, rc;

	for (uint32_t i = 0; i < b->o.num_queues; i++) {
		if (virtq_drv_enable_notify(&b->q[i].vq))
			goto wake;
	}
	for (uint32_t i = 0; i < b->o.num_queues; i++)
		pfd[n++] = (struct pollfd){.fd = b->q[i].call_fd, .events = POLLIN};
	if (bench_backend_pollfd(b) >= 0)
		pfd[n++] = (struct pollfd){.fd = bench_backend_pollfd(b), .events = POLLIN};
	b->sleeps++;
	rc = poll(pfd, (nfds_t)n, timeout_ms);
	if (rc < 0 && errno != EINTR)
		return -errno;
	if (rc == 0)
		b->sleep_timeouts++;
	if (rc > 0 && !used_waiting(b))
		b->empty_wakeups++;
	for (uint32_t i = 0; i < b->o.num_queues; i++) {
		if (pfd[i].fd >= 0 && (pfd[i].revents & POLLIN))
			uvh_eventfd_drain(b->q[i].call_fd);
	}
wake:
	for (uint32_t i = 0; i < b->o.num_queues; i++)
		virtq_drv_disable_notify(&b->q[i].vq);
	return 0;
}

static int poll_backend(struct bench *b)
{
	int rc = vu_fe_poll_backend(b->fe);

	if (rc < 0) {
		bench_err("backend channel: %s (%s)", strerror(-rc), b->fe->why);
		return rc;
	}
	return 0;
}

int bench_run(struct bench *b, enum bench_phase phase)
{
	double hz = b->o.churn_hz > 0 ? b->o.churn_hz : b->o.half_churn_hz;
	uint64_t period = hz > 0 ? (uint64_t)(1e9 / hz) : 0;
	uint64_t start = uvh_now_ns();
	uint32_t turn = 0;
	int rc;

	b->phase = phase;
	b->phase_stop = false;
	b->seq_next = 0;
	b->phase_end_ns = start + (uint64_t)(b->o.time_s * 1e9);
	b->next_churn_ns = start + period;
	for (;;) {
		uint64_t now = uvh_now_ns();
		uint32_t inflight = 0;
		int progress = 0;
		if (phase == PHASE_RUN && !b->phase_stop && now >= b->phase_end_ns)
			b->phase_stop = true;
		if (phase == PHASE_RUN && period && !b->phase_stop) {
			bool tick = now >= b->next_churn_ns;
			if (b->o.half_churn_hz > 0)
				rc = bench_half_churn(b, tick);
			else
				rc = tick ? bench_churn(b) : 0;
			if (rc)
				return rc;
			if (tick) {
				b->next_churn_ns += period;
				if (b->next_churn_ns < now)
					b->next_churn_ns = now + period;
			}
		}
		for (uint32_t i = 0; i < b->o.num_queues; i++) {
			struct bench_queue *q = &b->q[i];
			rc = reap(b, q);
			if (rc < 0)
				return rc;
			progress += rc;
			rc = submit(b, q);
			if (rc < 0)
				return rc;
			progress += rc;
			inflight += q->inflight;
		}
		if (inflight == 0 &&
		    (b->phase_stop || (phase != PHASE_RUN && b->seq_next >= phase_requests(b))))
			break;
		if (++turn % BACKEND_POLL_EVERY == 0 && (rc = poll_backend(b)))
			return rc;
		if (progress || b->o.poll)
			continue;
		{
			int64_t left = (int64_t)(b->phase_end_ns - now) / 1000000;
			int timeout = MAX_SLEEP_MS;
			if (phase == PHASE_RUN && left < timeout)
				timeout = left > 0 ? (int)left + 1 : 1;
			if (period && phase == PHASE_RUN) {
				int64_t c = (int64_t)(b->next_churn_ns - now) / 1000000;
				if (c < timeout)
					timeout = c > 0 ? (int)c + 1 : 1;
			}
			rc = sleep_on_calls(b, timeout);
			if (rc)
				return rc;
			rc = poll_backend(b);
			if (rc)
				return rc;
		}
	}
	return 0;
}

uint64_t bench_check_shmem(struct bench *b)
{
	const struct bench_wiring *w = &b->wire;
	const uint8_t *base;

	if (!w->shmem_on || !b->block_version || !(base = uvh_shmem_window_base(&w->win, 0)))
		return 0;
	for (uint32_t m = 0; m < VU_FE_SHMEM_MAX_MAPS; m++) {
		const struct vu_fe_shmem_map *map = &w->shm.maps[m];
		if (!map->used || map->shmid != 0)
			continue;
		/* Region 0 is the disk from byte 0: block k at k * bs. */
		for (uint64_t k = (map->shm_offset + b->o.bs - 1) / b->o.bs;
		     k < b->blocks && (k + 1) * b->o.bs <= map->shm_offset + map->len; k++) {
			if (!b->block_version[k])
				continue;
			b->shmem_checked++;
			if (!bench_pattern_ok((const uint64_t *)(const void *)(base + k * b->o.bs),
					      b->o.bs / 8, k, b->block_version[k])) {
				if (b->shmem_mismatches++ < 10)
					bench_err("SHMEM: block %llu differs from what was written",
						  (unsigned long long)k);
			}
		}
	}
	return b->shmem_mismatches;
}
