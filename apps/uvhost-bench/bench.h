/* bench.h - uvhost-bench: a vhost-user-blk load generator.
 *
 * Owns: one front-end connection (vhost/ frontend role) plus a virtio-blk
 * driver (virtio/ split_driver) in one single-threaded process, guest RAM in
 * a memfd carved into --slots regions with the request buffers spread over
 * all of them, optional region churn, data verification, and the report.
 * Never: trusts the back-end: ring garbage, bad status bytes, used lengths
 * other than exactly the writable bytes, and protocol errors are all
 * counted as errors (exit 1); under --verify every read buffer is poisoned
 * first (verify.c), so data the back-end did not write never passes.
 * Transports: a Unix socket with fds (--socket), or the fd-less vsock
 * transport of docs/vsock-transport.md (--vsock, RAM in --window-file
 * windows, NOFD kicks, in-band calls on the backend channel).
 * Used by: bench/compare.sh and tests/frontend against any vhost-user-blk
 * back-end (uvhostd, qemu-storage-daemon), and tests/system against the
 * service VM.
 */
#ifndef UVHOST_BENCH_H
#define UVHOST_BENCH_H

#include <stdbool.h>
#include <stdint.h>

#include "fe_wiring.h"
#include "uvh/fe_host.h"
#include "uvh/fe_vsock.h"
#include "uvh/window_ram.h"
#include "virtio/split_driver.h"
#include "vu/frontend.h"

#define BENCH_MAX_QUEUES 16u
#define BENCH_MAX_QD 256u
#define BENCH_PAGE 4096u

enum bench_rw { RW_READ, RW_WRITE, RW_RANDREAD, RW_RANDWRITE };
enum bench_phase { PHASE_FILL, PHASE_RUN, PHASE_CHECK, PHASE_FLUSH };

struct bench_opts {
	const char *socket;
	const char *vsock_path; /* --vsock PATH:PORT */
	uint32_t vsock_port;
	struct uvh_window_file windows[UVH_WINDOW_RAM_MAX];
	uint32_t nwindows;
	uint32_t backend_port;	 /* vsock: where we listen for the backend channel */
	const char *vm_ram_file; /* vsock: the service VM's RAM, for SHMEM */
	const char *ram_file;	 /* --socket: guest RAM from this file, not a memfd */
	enum bench_rw rw;
	uint32_t bs, qd, num_queues, slots;
	double time_s, churn_hz, half_churn_hz;
	uint64_t size;		/* 0: capacity */
	bool check_only, flush; /* --check-only, --flush */
	bool verify, json, poll, no_event_idx, quiet, no_mem_slots, no_inband, inband_kick;
};

struct bench_req {
	struct bench_queue *q;
	uint8_t *hdr; /* 16-byte virtio_blk_outhdr, then the status byte at +16 */
	uint8_t *data;
	uint64_t hdr_gpa, data_gpa;
	uint64_t block;	  /* block index (bs units) */
	uint64_t t0;	  /* submit time, ns */
	uint32_t version; /* verify: pattern version written or expected */
	uint64_t poison;  /* verify, reads: the mask of the poison in data */
	uint32_t region;  /* where its buffers live */
	bool write, busy;
};

struct bench_queue {
	uint32_t index;
	struct virtq_drv vq;
	void **cookie;
	uint16_t *chain_len, *links;
	uint32_t *max_write;
	int kick_fd, call_fd; /* -1 in --poll mode */
	uint32_t inflight;
	struct bench_req *reqs; /* qd of them */
	uint16_t free_idx[BENCH_MAX_QD];
	uint32_t nfree;
	/* Free requests whose region is (about to be) removed: --half-churn. */
	uint16_t parked_idx[BENCH_MAX_QD];
	uint32_t nparked;
};

/* --half-churn: FULL -(period)-> DRAINING -(the upper half's requests all
 * completed)-> REMOVING (one REM_MEM_REG per loop turn, I/O on the lower
 * half in between) -> REMOVED -(period)-> ADDING (one ADD_MEM_REG per turn)
 * -> FULL. */
enum bench_half { HALF_FULL, HALF_DRAINING, HALF_REMOVING, HALF_REMOVED, HALF_ADDING };

struct bench_lat {
	uint32_t *v; /* ns, capped at UINT32_MAX */
	uint64_t n, cap;
};

struct bench {
	struct bench_opts o;
	bool vsock;
	struct uvh_fe_conn conn;   /* --socket */
	struct uvh_fe_vsock vconn; /* --vsock */
	struct vu_frontend *fe;
	struct bench_wiring wire;   /* backend requests, SHMEM windows, reset */
	struct uvh_guest_ram ram;   /* --socket: a memfd */
	struct uvh_window_ram wram; /* --vsock: window files */
	uint8_t *ram_base;
	uint64_t gpa_base, region_size, main_bytes;
	struct vu_fe_region regions[VU_FE_MAX_REGIONS];
	uint32_t nregions;
	bool churn_present;
	/* --half-churn: requests in regions >= live_regions are not submitted;
	 * inflight_high counts those still in flight. */
	enum bench_half half;
	uint32_t live_regions, inflight_high;
	uint32_t half_count; /* regions in the back-end's table */
	uint64_t half_rems, half_adds;
	bool drained; /* every request completed: rings may be stopped cleanly */

	uint64_t capacity; /* bytes */
	uint64_t blocks;   /* o.size / bs */
	uint16_t qsize;
	struct bench_queue q[BENCH_MAX_QUEUES];

	/* verify */
	uint32_t *block_version; /* per block, 0: never written */
	uint8_t *block_busy;

	enum bench_phase phase;
	uint64_t phase_end_ns, next_churn_ns;
	bool phase_stop; /* no new requests */
	uint64_t seq_next, rng;
	uint64_t ios, bytes, errors, mismatches;
	uint64_t used_len_errors; /* completions whose used length was wrong (in errors) */
	uint64_t poison_seq;	  /* verify: reads poisoned so far */
	uint64_t shmem_checked, shmem_mismatches;
	uint64_t *region_ios; /* completions per region, every phase */
	/* Notification traffic of the timed run: eventfd kicks sent, submit
	 * batches that needed none, sleeps, sleeps that ended by timeout, and
	 * wake-ups that found nothing to reap (spurious calls). */
	uint64_t kicks, kicks_saved, sleeps, sleep_timeouts, empty_wakeups;
	struct bench_lat lat, add_lat, rem_lat;
};

int bench_parse(struct bench_opts *o, int argc, char **argv);

/* setup.c */
int bench_setup(struct bench *b);
void bench_teardown(struct bench *b);
/* The region for RAM bytes [off, off + region_size). 0 or -ERANGE. */
int bench_region(struct bench *b, uint64_t off, struct vu_fe_region *out);

/* churn.c. --churn: add or remove the one extra region. */
int bench_churn(struct bench *b);
/* --half-churn: one step, each loop turn; `tick` when the period elapsed.
 * bench_half_restore() brings every region back (end of the timed run). */
int bench_half_churn(struct bench *b, bool tick);
int bench_half_restore(struct bench *b);
/* The fd to poll for backend-channel traffic, or -1. */
int bench_backend_pollfd(const struct bench *b);

/* io.c. PHASE_FILL writes every block once (verify), PHASE_RUN is the
 * timed workload (measured, with churn), PHASE_CHECK reads every block back
 * and compares it with the last version written, PHASE_FLUSH sends one
 * FLUSH (--flush). Each returns 0 or -errno
 * (fatal: protocol or ring failure); I/O errors are counted in b->errors. */
int bench_run(struct bench *b, enum bench_phase phase);
/* After PHASE_CHECK: every written block that a SHMEM mapping of region 0
 * covers (the back-end's disk, exported read-only) must hold the same bytes
 * there. Counts blocks checked and mismatches; returns the mismatches. */
uint64_t bench_check_shmem(struct bench *b);

/* verify.c. The pattern block `block` holds after its version-th write. */
void bench_pattern_fill(uint64_t *p, uint32_t words, uint64_t block, uint32_t version);
bool bench_pattern_ok(const uint64_t *p, uint32_t words, uint64_t block, uint32_t version);
/* Before a read is submitted (--verify): fill r->data with a per-request
 * poison that differs from the expected data in every word. */
void bench_poison(struct bench *b, struct bench_req *r);
/* One completion: status OK, used length exactly the writable bytes
 * (bs + 1 read, 1 write), and (--verify) the read data. Counts a failure in
 * b->errors or b->mismatches, prints the first few naming the request's
 * sector and length; returns 0 or -1. */
int bench_check_done(struct bench *b, const struct bench_req *r, uint32_t used_len);

/* stats.c */
int bench_lat_add(struct bench_lat *l, uint64_t ns);
double bench_lat_pct(struct bench_lat *l, double pct); /* microseconds */
void bench_report(struct bench *b, double secs);

void bench_err(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

#endif
