/* libFuzzer target: the front-end fed hostile back-end traffic.
 *
 * The input is a stream of messages, each a 12-byte header followed by
 * min(size, what is left) payload bytes; bits 8-9 of the header's flags
 * word ask for that many fake fds on the message (and are cleared, so the
 * flags the front-end sees are otherwise as given). The first messages
 * answer a full front-end session (connect, backend channel, config, memory
 * with churn, rings, status, reset); whatever is left arrives as requests on
 * the backend channel. Invariants checked: no crash or sanitizer report,
 * and every fd the back-end sent is closed exactly once.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "vu/frontend.h"

#define FAKE_FD_BASE 1000
#define MAX_FAKE_FDS 4096

static const uint8_t *in;
static size_t in_left;
static int next_fd;
static uint8_t fd_closed[MAX_FAKE_FDS];

static int take_msg(struct vu_msg *m)
{
	uint32_t want_fds;
	size_t n;

	if (in_left < VU_HDR_SIZE)
		return -1;
	memcpy(&m->hdr, in, VU_HDR_SIZE);
	in += VU_HDR_SIZE;
	in_left -= VU_HDR_SIZE;
	want_fds = (m->hdr.flags >> 8) & 3u;
	m->hdr.flags &= ~(3u << 8);
	n = m->hdr.size < VU_MAX_PAYLOAD ? m->hdr.size : VU_MAX_PAYLOAD;
	if (n > in_left)
		n = in_left;
	/* The transport delivers exactly hdr.size bytes or fails. */
	if (m->hdr.size > VU_MAX_PAYLOAD)
		return -2;
	memset(m->p.raw, 0, m->hdr.size);
	memcpy(m->p.raw, in, n);
	in += n;
	in_left -= n;
	m->nfds = 0;
	for (uint32_t i = 0; i < VU_MAX_FDS; i++)
		m->fds[i] = -1;
	for (uint32_t i = 0; i < want_fds && next_fd < MAX_FAKE_FDS; i++)
		m->fds[m->nfds++] = FAKE_FD_BASE + next_fd++;
	return 0;
}

static int t_send(void *ctx, const struct vu_msg *m)
{
	(void)ctx;
	if (m->hdr.size > VU_MAX_PAYLOAD || m->nfds > VU_MAX_FDS)
		abort();
	return 0;
}

static int t_recv(void *ctx, struct vu_msg *m)
{
	(void)ctx;
	return take_msg(m) ? -104 /* ECONNRESET */ : 0;
}

static int t_brecv(void *ctx, struct vu_msg *m)
{
	(void)ctx;
	return take_msg(m) ? -11 /* EAGAIN */ : 0;
}

static int t_bsend(void *ctx, const struct vu_msg *m)
{
	(void)ctx;
	if (m->hdr.flags != VU_REPLY_FLAGS || m->hdr.size != 8 || m->nfds)
		abort();
	return 0;
}

static void t_close(void *ctx, int fd)
{
	(void)ctx;
	if (fd < FAKE_FD_BASE || fd >= FAKE_FD_BASE + next_fd || fd_closed[fd - FAKE_FD_BASE])
		abort(); /* closed something we never gave, or twice */
	fd_closed[fd - FAKE_FD_BASE] = 1;
}

static int on_req(void *ctx, struct vu_msg *req)
{
	(void)ctx;
	return req->hdr.request == VU_BREQ_CONFIG_CHANGE_MSG ? 0 : -95;
}

static void on_reset(void *ctx)
{
	(*(unsigned *)ctx)++;
}

/* A config the front-end accepted must be one it may trust. */
static void shmem_config(struct vu_frontend *fe)
{
	static uint64_t sizes[VU_SHMEM_MAX_REGIONS];
	uint32_t n = 0;

	if (vu_fe_get_shmem_config(fe, &n, sizes))
		return;
	if (n > VU_SHMEM_MAX_REGIONS)
		abort();
	for (uint32_t i = n; i < VU_SHMEM_MAX_REGIONS; i++)
		if (sizes[i])
			abort();
}

static const struct vu_fe_transport tr = {NULL, t_send, t_recv, t_brecv, t_bsend, t_close};

static void session(struct vu_frontend *fe)
{
	struct vu_fe_region r[4] = {
		{0, 1 << 20, 0x10000000, 0, 3},
		{1 << 20, 1 << 20, 0x20000000, 1 << 20, 3},
		{4 << 20, 4096, 0x30000000, 4 << 20, -1},
		{8 << 20, 4096, 0x40000000, 8 << 20, 3},
	};
	uint8_t cfg[64];
	uint32_t base;
	uint8_t st;

	if (vu_fe_connect(fe, ~0ull, 0))
		return;
	vu_fe_set_backend_req(fe, 5, 0);
	vu_fe_get_config(fe, 0, sizeof(cfg), cfg);
	shmem_config(fe);
	vu_fe_set_features(fe, fe->features);
	vu_fe_set_mem(fe, r, 3);
	vu_fe_set_mem(fe, r + 1, 3);
	vu_fe_set_mem(fe, r, 2);
	for (uint32_t q = 0; q < 2; q++) {
		vu_fe_set_vring_num(fe, q, 256);
		vu_fe_set_vring_base(fe, q, 0);
		vu_fe_set_vring_addr(fe, q, 0x10000000, 0x10001000, 0x10002000);
		vu_fe_set_vring_kick(fe, q, q ? -1 : 6);
		vu_fe_set_vring_call(fe, q, -1);
		vu_fe_set_vring_enable(fe, q, true);
		vu_fe_vring_kick(fe, q);
	}
	vu_fe_set_status(fe, 15);
	vu_fe_get_status(fe, &st);
	vu_fe_get_vring_base(fe, 0, &base);
	vu_fe_reset_device(fe);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct vu_frontend fe;
	unsigned resets = 0;

	in = data;
	in_left = size;
	next_fd = 0;
	memset(fd_closed, 0, sizeof(fd_closed));
	vu_fe_init(&fe, &tr);
	fe.on_backend_req = on_req;
	fe.on_reset = on_reset;
	fe.reset_ctx = &resets;
	session(&fe);
	if (resets > 1)
		abort(); /* one RESET_DEVICE, one hook call at most */
	while (in_left >= VU_HDR_SIZE) {
		if (vu_fe_poll_backend(&fe) <= 0)
			break;
	}
	/* A session that ended early may leave a message half read: whatever
	 * fds were handed over must all be closed now. */
	for (int i = 0; i < next_fd; i++) {
		if (!fd_closed[i])
			abort();
	}
	return 0;
}
