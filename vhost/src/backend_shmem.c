/* SHMEM on the back-end: GET_SHMEM_CONFIG, SHMEM_MAP/UNMAP requests with
 * their local checks, and the replies read back through the loop. */
#include <errno.h>
#include <string.h>

#include "backend_internal.h"

#define SHMEM_REPLY_BATCH 16u
/* Largest errno we accept back from a front-end as such. */
#define SHMEM_MAX_ERRNO 4095

static bool declared(const struct vu_device *dev, uint8_t shmid)
{
	return dev->shmem_sizes && shmid < dev->num_shmem && dev->shmem_sizes[shmid] != 0;
}

bool vu_shmem_offered(const struct vu_device *dev)
{
	if (!dev->shmem_sizes || dev->num_shmem == 0 || dev->num_shmem > VU_SHMEM_MAX_REGIONS)
		return false;
	for (uint32_t i = 0; i < dev->num_shmem; i++)
		if (dev->shmem_sizes[i])
			return true;
	return false;
}

int vu_h_get_shmem_config(struct vu_backend *b, struct vu_msg *msg)
{
	/* Built in place: 2 KiB is too much for a service VM's small stacks. */
	struct vu_shmem_config_msg *c = &b->scratch_reply.p.shmem_config;

	memset(c, 0, sizeof(*c));
	for (uint32_t i = 0; i < b->dev->num_shmem && i < VU_SHMEM_MAX_REGIONS; i++) {
		c->sizes[i] = b->dev->shmem_sizes[i];
		/* Front-ends read sizes[0..nregions), so count up to the last used shmid. */
		if (c->sizes[i])
			c->nregions = i + 1;
	}
	return vu_reply(b, msg, c, sizeof(*c), NULL, 0);
}

static int usable(struct vu_backend *b, const char *what)
{
	const uint64_t need =
		VU_BIT(VU_PF_SHMEM) | VU_BIT(VU_PF_REPLY_ACK) | VU_BIT(VU_PF_BACKEND_REQ);

	if ((b->pfeatures & need) != need) {
		vu_logf(b, VU_LOG_ERR, "%s: needs SHMEM, REPLY_ACK and BACKEND_REQ negotiated",
			what);
		return -EOPNOTSUPP;
	}
	if (b->backend_chan < 0 || !b->plat->backend_recv) {
		vu_logf(b, VU_LOG_ERR, "%s: no backend channel", what);
		return -ENOTCONN;
	}
	if (b->shmem.pcount >= VU_SHMEM_MAX_MAPS) {
		vu_logf(b, VU_LOG_ERR, "%s: %u requests already wait for a reply", what,
			b->shmem.pcount);
		return -EBUSY;
	}
	return 0;
}

static int check_range(struct vu_backend *b, const char *what, uint8_t shmid, uint64_t off,
		       uint64_t len)
{
	if (!declared(b->dev, shmid)) {
		vu_logf(b, VU_LOG_ERR, "%s: shmid %u is not a region of %s", what, shmid,
			b->dev->name);
		return -EINVAL;
	}
	if (len == 0) {
		vu_logf(b, VU_LOG_ERR, "%s: zero length", what);
		return -EINVAL;
	}
	if (off > UINT64_MAX - len || off + len > b->dev->shmem_sizes[shmid]) {
		vu_logf(b, VU_LOG_ERR, "%s: shmid %u offset 0x%llx + 0x%llx beyond 0x%llx", what,
			shmid, (unsigned long long)off, (unsigned long long)len,
			(unsigned long long)b->dev->shmem_sizes[shmid]);
		return -ERANGE;
	}
	return 0;
}

static bool overlaps(const struct vu_shmem_entry *e, uint8_t shmid, uint64_t off, uint64_t len)
{
	return e->state != VU_SHMEM_NONE && e->shmid == shmid && off < e->shm_offset + e->len &&
	       e->shm_offset < off + len;
}

static int send_req(struct vu_backend *b, uint32_t request, const struct vu_shmem_map_msg *m,
		    int fd, int16_t entry)
{
	struct vu_backend_shmem *s = &b->shmem;
	struct vu_msg *tx = &s->tx;
	struct vu_shmem_pending *p;
	int rc;

	memset(&tx->hdr, 0, sizeof(tx->hdr));
	tx->hdr.request = request;
	/* Always NEED_REPLY: the mapping is usable only once the front-end says so. */
	tx->hdr.flags = VU_VERSION | VU_FLAG_NEED_REPLY;
	tx->hdr.size = sizeof(*m);
	tx->p.shmem_map = *m;
	tx->nfds = fd >= 0 ? 1 : 0;
	tx->fds[0] = fd;
	rc = b->plat->backend_send(b->plat->ctx, b->backend_chan, tx, NULL);
	if (rc < 0) {
		vu_logf(b, VU_LOG_ERR, "%s: send on backend channel failed (%d)",
			vu_backend_request_name(request), rc);
		return rc;
	}
	p = &s->pending[(s->phead + s->pcount) % VU_SHMEM_MAX_MAPS];
	p->request = request;
	p->entry = entry;
	p->shmid = m->shmid;
	p->shm_offset = m->shm_offset;
	p->len = m->len;
	s->pcount++;
	s->n_sent++;
	return 0;
}

int vu_backend_shmem_map(struct vu_backend *b, uint8_t shmid, int fd, uint64_t fd_offset,
			 uint64_t shm_offset, uint64_t len, bool rw)
{
	struct vu_backend_shmem *s = &b->shmem;
	struct vu_shmem_map_msg m;
	int free_slot = -1, rc;

	rc = usable(b, "SHMEM_MAP");
	if (rc == 0)
		rc = check_range(b, "SHMEM_MAP", shmid, shm_offset, len);
	if (rc)
		return rc;
	if (fd_offset > UINT64_MAX - len) {
		vu_logf(b, VU_LOG_ERR, "SHMEM_MAP: fd offset 0x%llx + 0x%llx wraps",
			(unsigned long long)fd_offset, (unsigned long long)len);
		return -ERANGE;
	}
	if (fd < 0 && b->plat->has_fds) {
		vu_logf(b, VU_LOG_ERR, "SHMEM_MAP: no fd to map");
		return -EBADF;
	}
	for (int i = 0; i < VU_SHMEM_MAX_MAPS; i++) {
		if (overlaps(&s->maps[i], shmid, shm_offset, len)) {
			vu_logf(b, VU_LOG_ERR,
				"SHMEM_MAP: shmid %u 0x%llx+0x%llx overlaps 0x%llx+0x%llx", shmid,
				(unsigned long long)shm_offset, (unsigned long long)len,
				(unsigned long long)s->maps[i].shm_offset,
				(unsigned long long)s->maps[i].len);
			return -EEXIST;
		}
		if (free_slot < 0 && s->maps[i].state == VU_SHMEM_NONE)
			free_slot = i;
	}
	if (free_slot < 0) {
		vu_logf(b, VU_LOG_ERR, "SHMEM_MAP: all %u mapping slots in use", VU_SHMEM_MAX_MAPS);
		return -ENOSPC;
	}
	memset(&m, 0, sizeof(m));
	m.shmid = shmid;
	m.fd_offset = fd_offset;
	m.shm_offset = shm_offset;
	m.len = len;
	m.flags = rw ? VU_SHMEM_MAP_RW : 0;
	rc = send_req(b, VU_BREQ_SHMEM_MAP, &m, fd, (int16_t)free_slot);
	if (rc)
		return rc;
	s->maps[free_slot] = (struct vu_shmem_entry){.shm_offset = shm_offset,
						     .len = len,
						     .shmid = shmid,
						     .state = VU_SHMEM_MAP_PENDING,
						     .rw = rw};
	return 0;
}

int vu_backend_shmem_unmap(struct vu_backend *b, uint8_t shmid, uint64_t shm_offset, uint64_t len)
{
	struct vu_backend_shmem *s = &b->shmem;
	struct vu_shmem_map_msg m;
	int found = -1, rc;

	rc = usable(b, "SHMEM_UNMAP");
	if (rc == 0)
		rc = check_range(b, "SHMEM_UNMAP", shmid, shm_offset, len);
	if (rc)
		return rc;
	for (int i = 0; i < VU_SHMEM_MAX_MAPS; i++) {
		const struct vu_shmem_entry *e = &s->maps[i];
		if (!overlaps(e, shmid, shm_offset, len))
			continue;
		if (e->shm_offset != shm_offset || e->len != len) {
			vu_logf(b, VU_LOG_ERR,
				"SHMEM_UNMAP: shmid %u 0x%llx+0x%llx is not the whole mapping "
				"0x%llx+0x%llx",
				shmid, (unsigned long long)shm_offset, (unsigned long long)len,
				(unsigned long long)e->shm_offset, (unsigned long long)e->len);
			return -EINVAL;
		}
		found = i;
	}
	if (found < 0) {
		vu_logf(b, VU_LOG_ERR, "SHMEM_UNMAP: shmid %u 0x%llx+0x%llx is not mapped", shmid,
			(unsigned long long)shm_offset, (unsigned long long)len);
		return -ENOENT;
	}
	if (s->maps[found].state != VU_SHMEM_MAPPED) {
		vu_logf(b, VU_LOG_ERR, "SHMEM_UNMAP: shmid %u 0x%llx still waits for a reply",
			shmid, (unsigned long long)shm_offset);
		return -EBUSY;
	}
	memset(&m, 0, sizeof(m));
	m.shmid = shmid;
	m.shm_offset = shm_offset;
	m.len = len;
	rc = send_req(b, VU_BREQ_SHMEM_UNMAP, &m, -1, (int16_t)found);
	if (rc == 0)
		s->maps[found].state = VU_SHMEM_UNMAP_PENDING;
	return rc;
}

int vu_backend_shmem_probe(struct vu_backend *b, uint32_t request, const struct vu_shmem_map_msg *m,
			   int fd)
{
	int rc;

	if (request != VU_BREQ_SHMEM_MAP && request != VU_BREQ_SHMEM_UNMAP)
		return -EINVAL;
	rc = usable(b, "SHMEM probe");
	return rc ? rc : send_req(b, request, m, fd, -1);
}

static int status_errno(uint64_t v)
{
	int64_t sv = (int64_t)v;

	/* Front-ends answer errno either way round; anything else is just "failed". */
	if (sv < 0 && sv >= -SHMEM_MAX_ERRNO)
		return (int)sv;
	if (v <= SHMEM_MAX_ERRNO)
		return -(int)v;
	return -EIO;
}

static void complete(struct vu_backend *b, const struct vu_shmem_pending *p, int status)
{
	struct vu_backend_shmem *s = &b->shmem;
	struct vu_shmem_done d = {.shm_offset = p->shm_offset,
				  .len = p->len,
				  .request = p->request,
				  .status = status,
				  .shmid = p->shmid,
				  .orphaned = p->entry < 0};

	if (status)
		s->n_failed++;
	else
		s->n_ok++;
	if (p->entry >= 0) {
		struct vu_shmem_entry *e = &s->maps[p->entry];
		/* A failed map never happened; a failed unmap leaves the mapping. */
		bool mapped = (p->request == VU_BREQ_SHMEM_MAP) == (status == 0);
		e->state = mapped ? VU_SHMEM_MAPPED : VU_SHMEM_NONE;
	}
	if (status)
		vu_logf(b, VU_LOG_WARN, "%s shmid %u 0x%llx+0x%llx: front-end answered %d%s",
			vu_backend_request_name(p->request), p->shmid,
			(unsigned long long)p->shm_offset, (unsigned long long)p->len, status,
			p->entry < 0 ? " (orphaned)" : "");
	if (b->dev->ops->shmem_done)
		b->dev->ops->shmem_done(b->dev_ctx, &d);
}

static struct vu_shmem_pending pop_pending(struct vu_backend_shmem *s)
{
	struct vu_shmem_pending p = s->pending[s->phead];

	s->phead = (s->phead + 1) % VU_SHMEM_MAX_MAPS;
	s->pcount--;
	return p;
}

void vu_shmem_channel_lost(struct vu_backend *b, int why)
{
	struct vu_backend_shmem *s = &b->shmem;

	while (s->pcount) {
		struct vu_shmem_pending p = pop_pending(s);
		complete(b, &p, why);
	}
	s->phead = 0;
}

void vu_shmem_forget(struct vu_backend *b)
{
	struct vu_backend_shmem *s = &b->shmem;

	for (uint32_t i = 0; i < s->pcount; i++)
		s->pending[(s->phead + i) % VU_SHMEM_MAX_MAPS].entry = -1;
	memset(s->maps, 0, sizeof(s->maps));
}

static void drop_channel(struct vu_backend *b, int why)
{
	vu_close_fd(b, b->backend_chan);
	b->backend_chan = -1;
	vu_shmem_channel_lost(b, why);
}

static void close_reply_fds(struct vu_backend *b, struct vu_msg *m)
{
	for (uint32_t i = 0; i < m->nfds && i < VU_MAX_FDS; i++)
		vu_close_fd(b, m->fds[i]);
	m->nfds = 0;
}

/* Returns 1 when a reply was settled, 0 when none waited, -1 when the
 * channel was dropped. */
static int one_reply(struct vu_backend *b)
{
	struct vu_backend_shmem *s = &b->shmem;
	struct vu_msg *r = &s->rx;
	const struct vu_shmem_pending *p = &s->pending[s->phead];
	const char *bad = NULL;
	int rc;

	r->nfds = 0;
	rc = b->plat->backend_recv(b->plat->ctx, b->backend_chan, r);
	if (rc == -EAGAIN)
		return 0;
	if (rc < 0) {
		vu_logf(b, VU_LOG_WARN, "backend channel lost (%d); %u requests failed", rc,
			s->pcount);
		drop_channel(b, -ECONNRESET);
		return -1;
	}
	if (r->nfds)
		bad = "a reply carries fds";
	else if (s->pcount == 0)
		bad = "a reply nobody waits for";
	else if (r->hdr.request != p->request)
		bad = "a reply to another request";
	else if (r->hdr.flags != VU_REPLY_FLAGS)
		bad = "reply flags are not 0x5";
	else if (r->hdr.size != sizeof(uint64_t))
		bad = "reply payload is not a u64";
	close_reply_fds(b, r);
	if (bad) {
		s->n_bad_replies++;
		vu_logf(b, VU_LOG_ERR,
			"backend channel: %s (code %u flags 0x%x size %u); closing it", bad,
			r->hdr.request, r->hdr.flags, r->hdr.size);
		drop_channel(b, -EPROTO);
		return -1;
	}
	{
		struct vu_shmem_pending done = pop_pending(s);
		complete(b, &done, r->p.u64 ? status_errno(r->p.u64) : 0);
	}
	return 1;
}

int vu_backend_handle_backend_reply(struct vu_backend *b)
{
	int handled = 0;

	if (b->backend_chan < 0 || !b->plat->backend_recv)
		return 0;
	for (uint32_t i = 0; i < SHMEM_REPLY_BATCH; i++) {
		int rc = one_reply(b);
		if (rc <= 0)
			break;
		handled++;
	}
	return handled;
}

enum vu_shmem_state vu_backend_shmem_state(const struct vu_backend *b, uint8_t shmid,
					   uint64_t shm_offset)
{
	for (int i = 0; i < VU_SHMEM_MAX_MAPS; i++) {
		const struct vu_shmem_entry *e = &b->shmem.maps[i];
		if (e->state != VU_SHMEM_NONE && e->shmid == shmid && e->shm_offset == shm_offset)
			return (enum vu_shmem_state)e->state;
	}
	return VU_SHMEM_NONE;
}

uint32_t vu_backend_shmem_count(const struct vu_backend *b)
{
	uint32_t n = 0;

	for (int i = 0; i < VU_SHMEM_MAX_MAPS; i++)
		n += b->shmem.maps[i].state != VU_SHMEM_NONE;
	return n;
}

uint32_t vu_backend_shmem_pending(const struct vu_backend *b)
{
	return b->shmem.pcount;
}
