/* frontend.c - front-end requests and reply checking (see vu/frontend.h).
 *
 * One request in flight at a time: send, then read exactly one reply when
 * the request has one, or an ack when REPLY_ACK is negotiated. Anything else
 * on the main channel is a protocol error, and the caller should drop the
 * connection: after a bad reply we no longer know where the stream is.
 */
#include "vu/frontend.h"

#include <errno.h>
#include <stddef.h>
#include <string.h>

/* A split ring's base is a 16-bit index; queue indexes fit the 8 bits
 * that KICK/CALL/ERR carry. */
#define FE_MAX_QUEUES 256u
#define FE_U64 8u

void vu_fe_init(struct vu_frontend *fe, const struct vu_fe_transport *t)
{
	memset(fe, 0, sizeof(*fe));
	fe->t = t;
	fe->queue_num = 1;
	fe->max_slots = VU_MEM_TABLE_MAX_REGIONS;
	fe->why = "";
}

int vu_fe_check_reply(const struct vu_msg *reply, uint32_t request, uint32_t size, const char **why)
{
	if (reply->hdr.request != request)
		*why = "reply names another request";
	else if (reply->hdr.flags != VU_REPLY_FLAGS)
		*why = "reply flags are not exactly 0x5";
	else if (reply->hdr.size != size)
		*why = "reply has the wrong payload size";
	else if (reply->nfds)
		*why = "reply carries fds";
	else
		return 0;
	return -EPROTO;
}

static void fe_close_fds(struct vu_frontend *fe, struct vu_msg *m)
{
	for (uint32_t i = 0; i < m->nfds && i < VU_MAX_FDS; i++) {
		if (m->fds[i] >= 0 && fe->t->close_fd)
			fe->t->close_fd(fe->t->ctx, m->fds[i]);
		m->fds[i] = -1;
	}
	m->nfds = 0;
}

static void fe_start(struct vu_frontend *fe, uint32_t request, uint32_t size)
{
	struct vu_msg *m = &fe->tx;

	m->hdr.request = request;
	m->hdr.flags = VU_VERSION;
	m->hdr.size = size;
	memset(m->p.raw, 0, size);
	m->nfds = 0;
	for (uint32_t i = 0; i < VU_MAX_FDS; i++)
		m->fds[i] = -1;
}

static void fe_attach(struct vu_frontend *fe, int fd)
{
	if (fd >= 0)
		fe->tx.fds[fe->tx.nfds++] = fd;
}

static int fe_reply(struct vu_frontend *fe, uint32_t request, uint32_t size)
{
	int rc = fe->t->recv(fe->t->ctx, &fe->rx);

	if (rc) {
		fe->why = "no reply (connection lost)";
		return rc;
	}
	rc = vu_fe_check_reply(&fe->rx, request, size, &fe->why);
	fe_close_fds(fe, &fe->rx);
	return rc;
}

/* Send fe->tx. With reply_size, read the request's own reply of exactly that
 * size; otherwise, with REPLY_ACK, ask for and check the u64 ack. */
/* Send fe->tx as it is, expecting nothing back. */
static int fe_send(struct vu_frontend *fe)
{
	int rc = fe->t->send(fe->t->ctx, &fe->tx);

	if (rc)
		fe->why = "send failed";
	return rc;
}

static int fe_xfer(struct vu_frontend *fe, uint32_t reply_size)
{
	uint32_t request = fe->tx.hdr.request;
	bool ack = reply_size == 0 && fe->reply_ack;
	int rc;

	if (ack)
		fe->tx.hdr.flags |= VU_FLAG_NEED_REPLY;
	rc = fe_send(fe);
	if (rc)
		return rc;
	if (reply_size)
		return fe_reply(fe, request, reply_size);
	if (!ack)
		return 0;
	rc = fe_reply(fe, request, FE_U64);
	if (rc)
		return rc;
	if (fe->rx.p.u64) {
		fe->why = "back-end refused the request";
		return -EIO;
	}
	return 0;
}

static int fe_get_u64(struct vu_frontend *fe, uint32_t request, uint64_t *v)
{
	int rc;

	fe_start(fe, request, 0);
	rc = fe_xfer(fe, FE_U64);
	if (rc == 0)
		*v = fe->rx.p.u64;
	return rc;
}

static int fe_set_u64(struct vu_frontend *fe, uint32_t request, uint64_t v)
{
	fe_start(fe, request, FE_U64);
	fe->tx.p.u64 = v;
	return fe_xfer(fe, 0);
}

static bool fe_has(const struct vu_frontend *fe, unsigned pf)
{
	return (fe->pfeatures & VU_BIT(pf)) != 0;
}

static int fe_need(struct vu_frontend *fe, unsigned pf)
{
	if (fe_has(fe, pf))
		return 0;
	fe->why = "protocol feature not negotiated";
	return -EOPNOTSUPP;
}

static int fe_protocol_features(struct vu_frontend *fe, uint64_t want)
{
	uint64_t v = 0;
	int rc = fe_get_u64(fe, VU_REQ_GET_PROTOCOL_FEATURES, &v);

	if (rc)
		return rc;
	fe->offered_pfeatures = v;
	rc = fe_set_u64(fe, VU_REQ_SET_PROTOCOL_FEATURES, v & want);
	if (rc)
		return rc;
	fe->pfeatures = v & want;
	fe->reply_ack = fe_has(fe, VU_PF_REPLY_ACK);
	return 0;
}

int vu_fe_connect(struct vu_frontend *fe, uint64_t want_pfeatures, uint32_t our_max_slots)
{
	uint64_t v = 0;
	int rc;

	fe->pfeatures = 0;
	fe->reply_ack = false;
	fe->queue_num = 1;
	fe->max_slots = VU_MEM_TABLE_MAX_REGIONS;
	if (our_max_slots == 0 || our_max_slots > VU_FE_MAX_REGIONS)
		our_max_slots = VU_FE_MAX_REGIONS;

	rc = fe_get_u64(fe, VU_REQ_GET_FEATURES, &fe->features);
	if (rc)
		return rc;
	if (fe->features & VU_BIT(VU_F_PROTOCOL_FEATURES)) {
		rc = fe_protocol_features(fe, want_pfeatures);
		if (rc)
			return rc;
	}
	if (fe_has(fe, VU_PF_MQ)) {
		rc = fe_get_u64(fe, VU_REQ_GET_QUEUE_NUM, &v);
		if (rc)
			return rc;
		if (v == 0 || v > FE_MAX_QUEUES) {
			fe->why = "GET_QUEUE_NUM out of range";
			return -EPROTO;
		}
		fe->queue_num = (uint32_t)v;
	}
	if (fe_has(fe, VU_PF_CONFIGURE_MEM_SLOTS)) {
		rc = fe_get_u64(fe, VU_REQ_GET_MAX_MEM_SLOTS, &v);
		if (rc)
			return rc;
		if (v == 0) {
			fe->why = "GET_MAX_MEM_SLOTS is 0";
			return -EPROTO;
		}
		fe->max_slots = v < our_max_slots ? (uint32_t)v : our_max_slots;
	} else if (our_max_slots < fe->max_slots) {
		fe->max_slots = our_max_slots;
	}
	fe_start(fe, VU_REQ_SET_OWNER, 0);
	return fe_xfer(fe, 0);
}

int vu_fe_set_backend_req(struct vu_frontend *fe, int fd, uint32_t vsock_port)
{
	int rc = fe_need(fe, VU_PF_BACKEND_REQ);

	if (rc)
		return rc;
	if (fd >= 0) {
		fe_start(fe, VU_REQ_SET_BACKEND_REQ_FD, 0);
		fe_attach(fe, fd);
	} else {
		fe_start(fe, VU_REQ_SET_BACKEND_REQ_FD, FE_U64);
		fe->tx.p.u64 = vsock_port;
	}
	return fe_xfer(fe, 0);
}

int vu_fe_set_features(struct vu_frontend *fe, uint64_t features)
{
	int rc = fe_set_u64(fe, VU_REQ_SET_FEATURES, features);

	if (rc == 0)
		fe->acked_features = features;
	return rc;
}

int vu_fe_get_config(struct vu_frontend *fe, uint32_t offset, uint32_t size, void *out)
{
	int rc = fe_need(fe, VU_PF_CONFIG);

	if (rc)
		return rc;
	if (size == 0 || size > VU_CONFIG_MAX) {
		fe->why = "config size out of range";
		return -EINVAL;
	}
	fe_start(fe, VU_REQ_GET_CONFIG, VU_CONFIG_HDR_SIZE + size);
	fe->tx.p.config.offset = offset;
	fe->tx.p.config.size = size;
	rc = fe_xfer(fe, VU_CONFIG_HDR_SIZE + size);
	if (rc)
		return rc;
	if (fe->rx.p.config.offset != offset || fe->rx.p.config.size != size) {
		fe->why = "GET_CONFIG reply for another range";
		return -EPROTO;
	}
	memcpy(out, fe->rx.p.config.data, size);
	return 0;
}

static int fe_check_index(struct vu_frontend *fe, uint32_t index)
{
	if (index > VU_VRING_IDX_MASK || (fe_has(fe, VU_PF_MQ) && index >= fe->queue_num)) {
		fe->why = "ring index out of range";
		return -EINVAL;
	}
	return 0;
}

/* Build a {index, num} request in fe->tx, for a ring that exists. */
static int fe_state_msg(struct vu_frontend *fe, uint32_t request, uint32_t index, uint32_t num)
{
	int rc = fe_check_index(fe, index);

	if (rc)
		return rc;
	fe_start(fe, request, sizeof(struct vu_vring_state));
	fe->tx.p.state.index = index;
	fe->tx.p.state.num = num;
	return 0;
}

static int fe_set_state(struct vu_frontend *fe, uint32_t request, uint32_t index, uint32_t num)
{
	int rc = fe_state_msg(fe, request, index, num);

	return rc ? rc : fe_xfer(fe, 0);
}

int vu_fe_set_vring_num(struct vu_frontend *fe, uint32_t index, uint32_t num)
{
	return fe_set_state(fe, VU_REQ_SET_VRING_NUM, index, num);
}

int vu_fe_set_vring_base(struct vu_frontend *fe, uint32_t index, uint32_t base)
{
	return fe_set_state(fe, VU_REQ_SET_VRING_BASE, index, base);
}

int vu_fe_set_vring_enable(struct vu_frontend *fe, uint32_t index, bool enable)
{
	return fe_set_state(fe, VU_REQ_SET_VRING_ENABLE, index, enable ? 1u : 0u);
}

int vu_fe_vring_kick(struct vu_frontend *fe, uint32_t index)
{
	int rc = fe_need(fe, VU_PF_INBAND_NOTIFICATIONS);

	if (rc == 0)
		rc = fe_state_msg(fe, VU_REQ_VRING_KICK, index, 0);
	/* A notification, like an eventfd write: never NEED_REPLY, or every
	 * kick would wait a round trip and I/O would run at that pace. */
	return rc ? rc : fe_send(fe);
}

int vu_fe_set_vring_addr(struct vu_frontend *fe, uint32_t index, uint64_t desc, uint64_t used,
			 uint64_t avail)
{
	int rc = fe_check_index(fe, index);

	if (rc)
		return rc;
	fe_start(fe, VU_REQ_SET_VRING_ADDR, sizeof(struct vu_vring_addr));
	fe->tx.p.addr.index = index;
	fe->tx.p.addr.desc = desc;
	fe->tx.p.addr.used = used;
	fe->tx.p.addr.avail = avail;
	return fe_xfer(fe, 0);
}

static int fe_set_vring_fd(struct vu_frontend *fe, uint32_t request, uint32_t index, int fd)
{
	int rc = fe_check_index(fe, index);

	if (rc)
		return rc;
	fe_start(fe, request, FE_U64);
	fe->tx.p.u64 = index | (fd < 0 ? VU_VRING_NOFD : 0u);
	fe_attach(fe, fd);
	return fe_xfer(fe, 0);
}

int vu_fe_set_vring_kick(struct vu_frontend *fe, uint32_t index, int fd)
{
	return fe_set_vring_fd(fe, VU_REQ_SET_VRING_KICK, index, fd);
}

int vu_fe_set_vring_call(struct vu_frontend *fe, uint32_t index, int fd)
{
	return fe_set_vring_fd(fe, VU_REQ_SET_VRING_CALL, index, fd);
}

int vu_fe_set_vring_err(struct vu_frontend *fe, uint32_t index, int fd)
{
	return fe_set_vring_fd(fe, VU_REQ_SET_VRING_ERR, index, fd);
}

int vu_fe_get_vring_base(struct vu_frontend *fe, uint32_t index, uint32_t *base)
{
	int rc = fe_check_index(fe, index);

	if (rc)
		return rc;
	fe_start(fe, VU_REQ_GET_VRING_BASE, sizeof(struct vu_vring_state));
	fe->tx.p.state.index = index;
	rc = fe_xfer(fe, sizeof(struct vu_vring_state));
	if (rc)
		return rc;
	if (fe->rx.p.state.index != index || fe->rx.p.state.num > 0xffffu) {
		fe->why = "GET_VRING_BASE reply for another ring or out of range";
		return -EPROTO;
	}
	*base = fe->rx.p.state.num;
	return 0;
}

int vu_fe_set_status(struct vu_frontend *fe, uint8_t status)
{
	int rc = fe_need(fe, VU_PF_STATUS);

	return rc ? rc : fe_set_u64(fe, VU_REQ_SET_STATUS, status);
}

int vu_fe_get_status(struct vu_frontend *fe, uint8_t *status)
{
	uint64_t v = 0;
	int rc = fe_need(fe, VU_PF_STATUS);

	if (rc == 0)
		rc = fe_get_u64(fe, VU_REQ_GET_STATUS, &v);
	if (rc)
		return rc;
	if (v > 0xffu) {
		fe->why = "GET_STATUS beyond 8 bits";
		return -EPROTO;
	}
	*status = (uint8_t)v;
	return 0;
}

/* The back-end keeps its memory table across a reset, and so does QEMU's
 * shadow: nothing to resend afterwards. */
int vu_fe_reset_device(struct vu_frontend *fe)
{
	int rc = fe_need(fe, VU_PF_RESET_DEVICE);

	if (rc)
		return rc;
	fe_start(fe, VU_REQ_RESET_DEVICE, 0);
	fe->tx.hdr.flags |= fe->reply_ack ? VU_FLAG_NEED_REPLY : 0u;
	rc = fe_send(fe);
	if (rc)
		return rc;
	if (fe->on_reset)
		fe->on_reset(fe->reset_ctx);
	if (!fe->reply_ack)
		return 0;
	rc = fe_reply(fe, VU_REQ_RESET_DEVICE, FE_U64);
	if (rc == 0 && fe->rx.p.u64) {
		fe->why = "back-end refused the request";
		rc = -EIO;
	}
	return rc;
}

int vu_fe_get_shmem_config(struct vu_frontend *fe, uint32_t *nregions,
			   uint64_t sizes[VU_SHMEM_MAX_REGIONS])
{
	const struct vu_shmem_config_msg *c = &fe->rx.p.shmem_config;
	int rc = fe_need(fe, VU_PF_SHMEM);

	if (rc)
		return rc;
	fe_start(fe, VU_REQ_GET_SHMEM_CONFIG, 0);
	rc = fe_xfer(fe, sizeof(struct vu_shmem_config_msg));
	if (rc)
		return rc;
	if (c->nregions > VU_SHMEM_MAX_REGIONS) {
		fe->why = "GET_SHMEM_CONFIG: more than 256 regions";
		return -EPROTO;
	}
	for (uint32_t i = c->nregions; i < VU_SHMEM_MAX_REGIONS; i++) {
		if (c->sizes[i]) {
			fe->why = "GET_SHMEM_CONFIG: a size beyond nregions";
			return -EPROTO;
		}
	}
	*nregions = c->nregions;
	memcpy(sizes, c->sizes, sizeof(c->sizes));
	return 0;
}

static void fe_put_region(struct vu_mem_region *r, const struct vu_fe_region *from)
{
	r->gpa = from->gpa;
	r->size = from->size;
	r->uaddr = from->uaddr;
	r->mmap_offset = from->mmap_offset;
}

/* Without CONFIGURE_MEM_SLOTS the whole table goes in one message. */
static int fe_set_mem_table(struct vu_frontend *fe, const struct vu_fe_region *want, uint32_t nwant,
			    uint32_t nops)
{
	int rc;

	if (nops == 0)
		return 0;
	/* Exactly the regions sent: peers check size against nregions. */
	fe_start(fe, VU_REQ_SET_MEM_TABLE,
		 (uint32_t)(offsetof(struct vu_mem_table_msg, regions) +
			    nwant * sizeof(struct vu_mem_region)));
	fe->tx.p.mem_table.nregions = nwant;
	for (uint32_t i = 0; i < nwant; i++) {
		fe_put_region(&fe->tx.p.mem_table.regions[i], &want[i]);
		fe_attach(fe, want[i].fd);
	}
	rc = fe_xfer(fe, 0);
	if (rc)
		return rc;
	fe->stats.set_mem_table++;
	memcpy(fe->shadow, want, sizeof(*want) * nwant);
	fe->nshadow = nwant;
	return 0;
}

int vu_fe_set_mem(struct vu_frontend *fe, const struct vu_fe_region *want, uint32_t nwant)
{
	bool slots = fe_has(fe, VU_PF_CONFIGURE_MEM_SLOTS);
	uint32_t max = slots ? fe->max_slots : VU_MEM_TABLE_MAX_REGIONS, nops = 0;
	int rc;

	if (!slots && fe->max_slots < max)
		max = fe->max_slots;
	rc = vu_fe_mem_diff(fe->shadow, fe->nshadow, want, nwant, max, fe->ops,
			    (uint32_t)(sizeof(fe->ops) / sizeof(fe->ops[0])), &nops);
	if (rc) {
		fe->why = rc == -ENOSPC ? "more regions than the back-end has slots"
					: "invalid region list";
		return rc;
	}
	if (!slots)
		return fe_set_mem_table(fe, want, nwant, nops);
	/* Removals come first in ops, in ascending shadow order: undo them from
	 * the highest index so swap-with-last never moves a pending one. */
	for (uint32_t k = nops; k-- > 0;) {
		uint32_t i = fe->ops[k].index;
		if (fe->ops[k].kind != VU_FE_MEM_REM)
			continue;
		fe_start(fe, VU_REQ_REM_MEM_REG, sizeof(struct vu_mem_single_msg));
		fe_put_region(&fe->tx.p.mem_single.region, &fe->shadow[i]);
		rc = fe_xfer(fe, 0);
		if (rc)
			return rc;
		fe->stats.rem_mem_reg++;
		fe->shadow[i] = fe->shadow[--fe->nshadow];
	}
	for (uint32_t k = 0; k < nops; k++) {
		const struct vu_fe_region *w = &want[fe->ops[k].index];
		if (fe->ops[k].kind != VU_FE_MEM_ADD)
			continue;
		fe_start(fe, VU_REQ_ADD_MEM_REG, sizeof(struct vu_mem_single_msg));
		fe_put_region(&fe->tx.p.mem_single.region, w);
		fe_attach(fe, w->fd);
		rc = fe_xfer(fe, 0);
		if (rc)
			return rc;
		fe->stats.add_mem_reg++;
		fe->shadow[fe->nshadow++] = *w;
	}
	return 0;
}
