/* The control service's socket side: accept clients into a static table,
 * move bytes between the shim and each client's buffers with bounded work
 * per turn, and stop reading a client whose replies are not draining. */
#include <errno.h>
#include <string.h>

#include "kern/control.h"
#include "kern/vsock_socket.h"

int k_control_init(struct k_control *ctl, struct k_vsock_core *vs, uint32_t port,
		   const struct k_control_provider *prov)
{
	memset(&ctl->stats, 0, sizeof(ctl->stats));
	memset(&ctl->prov, 0, sizeof(ctl->prov));
	if (prov)
		ctl->prov = *prov;
	ctl->extra = NULL;
	ctl->extra_ctx = NULL;
	ctl->cmds = NULL;
	ctl->cmds_ctx = NULL;
	ctl->mem_static_bytes = 0;
	ctl->vs = vs;
	ctl->lfd = -1;
	ctl->stats.clients_max = ctl->nclients;
	for (unsigned i = 0; i < ctl->nclients; i++)
		k_control_client_reset(&ctl->clients[i]);
	if (!vs)
		return 0;
	ctl->lfd = k_vs_listen(vs, port, K_VSOCK_BACKLOG_MAX);
	return ctl->lfd < 0 ? ctl->lfd : 0;
}

void k_control_set_pool(struct k_control *ctl, struct k_control_client *clients, unsigned n)
{
	ctl->clients = clients;
	ctl->nclients = clients ? n : 0;
}

void k_control_set_mem_static(struct k_control *ctl, uint64_t bytes)
{
	ctl->mem_static_bytes = bytes;
}

void k_control_set_extra(struct k_control *ctl, k_control_extra_fn fn, void *ctx)
{
	ctl->extra = fn;
	ctl->extra_ctx = ctx;
}

void k_control_set_commands(struct k_control *ctl, k_control_cmd_fn fn, void *ctx)
{
	ctl->cmds = fn;
	ctl->cmds_ctx = ctx;
}

static void drop_client(struct k_control *ctl, struct k_control_client *cl)
{
	k_vs_close(ctl->vs, cl->fd);
	k_control_client_reset(cl);
	ctl->stats.clients_open--;
}

static int accept_clients(struct k_control *ctl)
{
	int work = 0;
	for (unsigned n = 0; n < ctl->nclients; n++) {
		struct k_control_client *cl = NULL;
		int fd = k_vs_accept(ctl->vs, ctl->lfd);
		if (fd < 0)
			break;
		work++;
		for (unsigned i = 0; i < ctl->nclients && !cl; i++)
			if (!ctl->clients[i].active)
				cl = &ctl->clients[i];
		if (!cl) {
			ctl->stats.refused++;
			k_vs_close(ctl->vs, fd);
			continue;
		}
		k_control_client_reset(cl);
		cl->active = true;
		cl->fd = fd;
		ctl->stats.accepted++;
		ctl->stats.clients_open++;
	}
	return work;
}

/* Send what is queued. Returns bytes sent, or -EPIPE once the peer is gone. */
static int flush(struct k_control *ctl, struct k_control_client *cl)
{
	uint32_t n = cl->out_end - cl->out_start;
	int r;
	if (!n)
		return 0;
	r = k_vs_send(ctl->vs, cl->fd, cl->out + cl->out_start, n);
	if (r == -EAGAIN)
		return 0;
	if (r < 0)
		return r;
	cl->out_start += (uint32_t)r;
	if (cl->out_start == cl->out_end)
		cl->out_start = cl->out_end = 0;
	return r;
}

static bool stalled(const struct k_control_client *cl)
{
	return K_CONTROL_OUT_BUF - (cl->out_end - cl->out_start) < K_CONTROL_MAX_REPLY;
}

static int serve(struct k_control *ctl, struct k_control_client *cl)
{
	int work = 0, r;

	if ((r = flush(ctl, cl)) < 0)
		goto gone;
	work += r;
	if (!stalled(cl) && !cl->eof && cl->in_end < sizeof(cl->in)) {
		r = k_vs_recv(ctl->vs, cl->fd, cl->in + cl->in_end, sizeof(cl->in) - cl->in_end);
		if (r > 0) {
			cl->in_end += (uint32_t)r;
			work += r;
		} else if (r == 0) {
			cl->eof = true;
		} else if (r != -EAGAIN) {
			goto gone;
		}
	}
	work += (int)k_control_process(ctl, cl);
	if ((r = flush(ctl, cl)) < 0)
		goto gone;
	work += r;
	if (stalled(cl))
		ctl->stats.stalls++;
	/* Done once the peer sent its last line and got every reply; a partial
	 * last line without a newline is never run. */
	if (cl->eof && cl->out_start == cl->out_end) {
		const char *s = cl->in + cl->in_start;
		if (!memchr(s, '\n', cl->in_end - cl->in_start))
			goto gone;
	}
	return work;
gone:
	drop_client(ctl, cl);
	return work + 1;
}

int k_control_poll(void *arg)
{
	struct k_control *ctl = arg;
	int work;
	if (!ctl->vs || ctl->lfd < 0)
		return 0;
	work = accept_clients(ctl);
	for (unsigned i = 0; i < ctl->nclients; i++)
		if (ctl->clients[i].active)
			work += serve(ctl, &ctl->clients[i]);
	return work;
}

void k_control_stop(struct k_control *ctl)
{
	for (unsigned i = 0; i < ctl->nclients; i++)
		if (ctl->clients[i].active)
			drop_client(ctl, &ctl->clients[i]);
	if (ctl->vs && ctl->lfd >= 0)
		k_vs_close(ctl->vs, ctl->lfd);
	ctl->lfd = -1;
}
