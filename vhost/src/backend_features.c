/* Negotiation, ownership and config space (reset and status: backend_reset.c). */
#include <errno.h>
#include <string.h>

#include "backend_internal.h"

int vu_h_get_features(struct vu_backend *b, struct vu_msg *msg)
{
	return vu_reply_u64(b, msg, b->features_offered);
}

int vu_h_set_features(struct vu_backend *b, struct vu_msg *msg)
{
	uint64_t f = msg->p.u64;

	if (f & ~b->features_offered) {
		vu_logf(b, VU_LOG_ERR, "SET_FEATURES: 0x%llx acks bits never offered (0x%llx)",
			(unsigned long long)f, (unsigned long long)(f & ~b->features_offered));
		return -EINVAL;
	}
	b->features = f;
	for (uint32_t i = 0; i < VU_MAX_QUEUES; i++) {
		b->vq[i].event_idx = (f & VU_BIT(VU_F_RING_EVENT_IDX)) != 0;
		b->vq[i].no_indirect = !(f & VU_BIT(VU_F_RING_INDIRECT_DESC));
	}
	/* Without protocol features rings start enabled (spec: "Ring states"). */
	if (!(f & VU_BIT(VU_F_PROTOCOL_FEATURES)))
		for (uint32_t i = 0; i < VU_MAX_QUEUES; i++)
			b->vq[i].enabled = true;
	return 0;
}

int vu_h_get_protocol_features(struct vu_backend *b, struct vu_msg *msg)
{
	return vu_reply_u64(b, msg, b->pfeatures_offered);
}

int vu_h_set_protocol_features(struct vu_backend *b, struct vu_msg *msg)
{
	uint64_t pf = msg->p.u64;

	if (pf & ~b->pfeatures_offered) {
		vu_logf(b, VU_LOG_ERR, "SET_PROTOCOL_FEATURES: 0x%llx acks bits never offered",
			(unsigned long long)pf);
		return -EINVAL;
	}
	if ((pf & VU_BIT(VU_PF_INBAND_NOTIFICATIONS)) &&
	    (!(pf & VU_BIT(VU_PF_BACKEND_REQ)) || !(pf & VU_BIT(VU_PF_REPLY_ACK)))) {
		vu_logf(b, VU_LOG_ERR,
			"SET_PROTOCOL_FEATURES: INBAND_NOTIFICATIONS needs BACKEND_REQ and "
			"REPLY_ACK");
		return -EINVAL;
	}
	b->pfeatures = pf;
	b->pfeatures_set = true;
	return 0;
}

int vu_h_set_owner(struct vu_backend *b, struct vu_msg *msg)
{
	b->owner = true;
	return 0;
}

int vu_h_get_queue_num(struct vu_backend *b, struct vu_msg *msg)
{
	return vu_reply_u64(b, msg, b->dev->num_queues);
}

/* fd-less form: the payload names a vsock port and the back-end connects
 * back to it. Checked whole before the old channel is dropped. */
static int connect_backend_chan(struct vu_backend *b, uint64_t v, int *chan)
{
	uint32_t port = (uint32_t)(v & VU_BACKEND_PORT_MASK);
	int rc;

	if (v & ~VU_BACKEND_PORT_MASK) {
		vu_logf(b, VU_LOG_ERR, "SET_BACKEND_REQ_FD: 0x%llx has bits above the port",
			(unsigned long long)v);
		return -EINVAL;
	}
	if (port == VU_VSOCK_PORT_ANY) {
		vu_logf(b, VU_LOG_ERR, "SET_BACKEND_REQ_FD: port 0x%x is VMADDR_PORT_ANY", port);
		return -EINVAL;
	}
	if (!b->plat->backend_connect) {
		vu_logf(b, VU_LOG_ERR, "SET_BACKEND_REQ_FD: platform cannot connect back");
		return -EOPNOTSUPP;
	}
	*chan = -1;
	rc = b->plat->backend_connect(b->plat->ctx, port, chan);
	if (rc == 0 && *chan < 0)
		rc = -EIO; /* a platform bug must not read as "no channel, fine" */
	if (rc < 0) {
		vu_logf(b, VU_LOG_ERR, "SET_BACKEND_REQ_FD: connect to port %u failed (%d)", port,
			rc);
		return rc;
	}
	return 0;
}

int vu_h_set_backend_req_fd(struct vu_backend *b, struct vu_msg *msg)
{
	int chan;

	if (b->plat->has_fds) {
		chan = vu_take_fd(msg, 0);
	} else {
		int rc = connect_backend_chan(b, msg->p.u64, &chan);

		if (rc)
			return rc;
	}
	vu_close_fd(b, b->backend_chan);
	/* Replies due on the old channel can no longer arrive. */
	vu_shmem_channel_lost(b, -ECONNRESET);
	b->backend_chan = chan;
	return 0;
}

static int config_range(struct vu_backend *b, const struct vu_msg *msg, const char *what)
{
	const struct vu_config_msg *c = &msg->p.config;

	if (c->size != msg->hdr.size - VU_CONFIG_HDR_SIZE) {
		vu_logf(b, VU_LOG_ERR, "%s: size field %u disagrees with payload %u", what, c->size,
			msg->hdr.size - VU_CONFIG_HDR_SIZE);
		return -EINVAL;
	}
	if (c->offset > VU_CONFIG_MAX || c->size > VU_CONFIG_MAX - c->offset) {
		vu_logf(b, VU_LOG_ERR, "%s: offset %u + size %u beyond %u bytes", what, c->offset,
			c->size, VU_CONFIG_MAX);
		return -EINVAL;
	}
	return 0;
}

int vu_h_get_config(struct vu_backend *b, struct vu_msg *msg)
{
	struct vu_config_msg c;
	int rc = config_range(b, msg, "GET_CONFIG");

	if (rc)
		return rc;
	if (!b->dev->ops->get_config)
		return -EOPNOTSUPP;
	memset(&c, 0, sizeof(c));
	c.offset = msg->p.config.offset;
	c.size = msg->p.config.size;
	c.flags = msg->p.config.flags;
	rc = b->dev->ops->get_config(b->dev_ctx, c.data, c.offset, c.size);
	if (rc)
		return rc;
	return vu_reply(b, msg, &c, VU_CONFIG_HDR_SIZE + c.size, NULL, 0);
}

int vu_h_set_config(struct vu_backend *b, struct vu_msg *msg)
{
	const struct vu_config_msg *c = &msg->p.config;
	int rc = config_range(b, msg, "SET_CONFIG");

	if (rc)
		return rc;
	if (!b->dev->ops->set_config) {
		vu_logf(b, VU_LOG_ERR, "SET_CONFIG: %s config space is read-only", b->dev->name);
		return -EPERM;
	}
	return b->dev->ops->set_config(b->dev_ctx, c->data, c->offset, c->size, c->flags);
}

int vu_h_get_status(struct vu_backend *b, struct vu_msg *msg)
{
	return vu_reply_u64(b, msg, b->status);
}
