/* One turn of a vhost-user session (see vu/session.h). */
#include "vu/session.h"

#include <errno.h>
#include <stddef.h>

void vu_session_init(struct vu_session *s, struct vu_backend *b, const struct vu_session_io *io,
		     struct vu_msg *msg)
{
	s->b = b;
	s->io = io;
	s->msg = msg;
	s->why = NULL;
}

static const char *recv_failure(int err)
{
	switch (err) {
	case -ECONNRESET: return "end of stream";
	case -EMSGSIZE: return "header size over the limit";
	default: return "receive failed";
	}
}

static int messages(struct vu_session *s)
{
	const struct vu_session_io *io = s->io;
	int work = 0;

	for (int n = 0; n < VU_SESSION_MSGS_PER_STEP; n++) {
		int r;

		if (io->can_reply && !io->can_reply(io->ctx))
			break;
		r = io->recv(io->ctx, s->msg);
		if (r == -EAGAIN)
			break;
		if (r < 0) {
			s->why = recv_failure(r);
			return r;
		}
		work++;
		r = vu_backend_handle(s->b, s->msg);
		if (r < 0) {
			s->why = "request refused";
			return r;
		}
	}
	return work;
}

static int flush(struct vu_session *s)
{
	int r = s->io->flush ? s->io->flush(s->io->ctx) : 0;

	if (r < 0)
		s->why = "send failed";
	return r;
}

int vu_session_step(struct vu_session *s)
{
	int work, r;

	s->why = NULL;
	const struct vu_device *dev = s->b->dev;
	int done = 0;

	r = flush(s);
	if (r < 0)
		return r;
	if (dev->ops->poll)
		done = dev->ops->poll(s->b->dev_ctx, s->b, VU_SESSION_RING_BUDGET);
	work = messages(s);
	if (work < 0)
		return work;
	work += done;
	/* The replies and backend requests those messages queued leave in the
	 * same turn, not one turn later. */
	if (work > 0 && (r = flush(s)) < 0)
		return r;
	if (!s->io->backend_ready || s->io->backend_ready(s->io->ctx))
		work += vu_backend_handle_backend_reply(s->b);
	work += vu_backend_poll(s->b, VU_SESSION_RING_BUDGET);
	return work;
}

bool vu_busy_poll_turn(struct vu_busy_poll *bp, int work, uint64_t now_ns)
{
	if (work > 0)
		bp->last_work_ns = now_ns;
	return work > 0 || (bp->window_ns && now_ns - bp->last_work_ns < bp->window_ns);
}
