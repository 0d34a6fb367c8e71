/* gw_ivserver.c - the ivshmem server of the doorbell (see gw_ivserver.h). */
#define _GNU_SOURCE
#include "gw_ivserver.h"

#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <sys/un.h>
#include <unistd.h>

#define IVS_VERSION 0
#define IVS_SEND_TIMEOUT_S 5
#define IVS_POLL_MS 200

/* One message: a little-endian int64, with at most one fd. */
static int send_msg(int sock, int64_t v, int fd)
{
	union {
		char buf[CMSG_SPACE(sizeof(int))];
		struct cmsghdr align;
	} u;
	uint8_t le[8];
	struct iovec iov = {.iov_base = le, .iov_len = sizeof(le)};
	struct msghdr mh = {.msg_iov = &iov, .msg_iovlen = 1};
	ssize_t n;

	for (unsigned i = 0; i < 8; i++)
		le[i] = (uint8_t)((uint64_t)v >> (8 * i));
	if (fd >= 0) {
		struct cmsghdr *c;

		memset(&u, 0, sizeof(u));
		mh.msg_control = u.buf;
		mh.msg_controllen = sizeof(u.buf);
		c = CMSG_FIRSTHDR(&mh);
		c->cmsg_level = SOL_SOCKET;
		c->cmsg_type = SCM_RIGHTS;
		c->cmsg_len = CMSG_LEN(sizeof(int));
		memcpy(CMSG_DATA(c), &fd, sizeof(int));
	}
	do
		n = sendmsg(sock, &mh, MSG_NOSIGNAL);
	while (n < 0 && errno == EINTR);
	if (n < 0)
		return -errno;
	return n == (ssize_t)sizeof(le) ? 0 : -EIO;
}

static void forget(struct gw_ivs *s)
{
	s->own_used = 0;
	s->next_peer = GW_IVS_VM_ID + 1;
	memset(s->call_peer, 0, sizeof(s->call_peer));
	memset(s->call_prev, 0, sizeof(s->call_prev));
}

static void drop_client(struct gw_ivs *s)
{
	if (s->cfd >= 0)
		close(s->cfd);
	s->cfd = -1;
	forget(s);
}

/* Under the lock. A failed send drops the client: QEMU cannot resync. */
static int send_locked(struct gw_ivs *s, int64_t v, int fd)
{
	int rc;

	if (s->cfd < 0)
		return -ENOTCONN;
	rc = send_msg(s->cfd, v, fd);
	if (rc < 0) {
		s->st.send_errs++;
		drop_client(s);
	}
	return rc;
}

int gw_ivs_init(struct gw_ivs *s, uint32_t own_max)
{
	memset(s, 0, sizeof(*s));
	s->lfd = s->cfd = -1;
	s->own_max = own_max > GW_IVS_OWN_MAX ? GW_IVS_OWN_MAX : own_max;
	forget(s);
	s->shm_fd = memfd_create("uvhost-gw-ivshmem", MFD_CLOEXEC);
	if (s->shm_fd < 0)
		return -errno;
	if (ftruncate(s->shm_fd, GW_IVS_SHM_BYTES) < 0) {
		int e = -errno;
		close(s->shm_fd);
		s->shm_fd = -1;
		return e;
	}
	pthread_mutex_init(&s->lock, NULL);
	return 0;
}

int gw_ivs_client(struct gw_ivs *s, int fd)
{
	struct timeval tv = {.tv_sec = IVS_SEND_TIMEOUT_S};
	int rc;

	(void)setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
	pthread_mutex_lock(&s->lock);
	drop_client(s);
	s->cfd = fd;
	s->st.clients++;
	rc = send_locked(s, IVS_VERSION, -1);
	if (rc == 0)
		rc = send_locked(s, GW_IVS_VM_ID, -1);
	if (rc == 0)
		rc = send_locked(s, -1, s->shm_fd);
	pthread_mutex_unlock(&s->lock);
	return rc;
}

int gw_ivs_kick(struct gw_ivs *s, int fd, uint32_t *vector)
{
	int rc = -ENOSPC;

	pthread_mutex_lock(&s->lock);
	if (s->cfd < 0)
		rc = -ENOTCONN;
	else if (s->own_used < s->own_max)
		rc = send_locked(s, GW_IVS_VM_ID, fd);
	if (rc == 0) {
		*vector = s->own_used++;
		s->st.own++;
	} else if (rc == -ENOSPC) {
		s->st.own_full++;
	}
	pthread_mutex_unlock(&s->lock);
	return rc;
}

int gw_ivs_call(struct gw_ivs *s, uint32_t ring, int fd, uint32_t *peer)
{
	uint16_t p;
	int rc = 0;

	if (ring >= VU_MAX_QUEUES)
		return -ERANGE;
	pthread_mutex_lock(&s->lock);
	if (s->cfd < 0) {
		pthread_mutex_unlock(&s->lock);
		return -ENOTCONN;
	}
	if (s->next_peer > GW_IVS_PEER_MAX) {
		s->st.peers_full++;
		pthread_mutex_unlock(&s->lock);
		return -ENOSPC;
	}
	/* A switch that was never committed: its old peer goes now. */
	if (s->call_prev[ring] && send_locked(s, s->call_prev[ring], -1) == 0)
		s->st.discons++;
	s->call_prev[ring] = 0;
	p = (uint16_t)s->next_peer;
	if (s->cfd >= 0)
		rc = send_locked(s, p, fd);
	else
		rc = -ENOTCONN;
	if (rc == 0) {
		s->next_peer++;
		s->st.connects++;
		s->call_prev[ring] = s->call_peer[ring];
		s->call_peer[ring] = p;
		*peer = p;
	}
	pthread_mutex_unlock(&s->lock);
	return rc;
}

static void disconnect_locked(struct gw_ivs *s, uint16_t *slot)
{
	if (*slot && s->cfd >= 0 && send_locked(s, *slot, -1) == 0)
		s->st.discons++;
	*slot = 0;
}

void gw_ivs_call_commit(struct gw_ivs *s, uint32_t ring)
{
	if (ring >= VU_MAX_QUEUES)
		return;
	pthread_mutex_lock(&s->lock);
	disconnect_locked(s, &s->call_prev[ring]);
	pthread_mutex_unlock(&s->lock);
}

void gw_ivs_call_drop(struct gw_ivs *s, uint32_t ring)
{
	if (ring >= VU_MAX_QUEUES)
		return;
	pthread_mutex_lock(&s->lock);
	disconnect_locked(s, &s->call_prev[ring]);
	disconnect_locked(s, &s->call_peer[ring]);
	pthread_mutex_unlock(&s->lock);
}

/* Accept clients; notice a client that hung up (QEMU never writes). */
static void *ivs_thread(void *arg)
{
	struct gw_ivs *s = arg;

	while (!s->stop) {
		struct pollfd p[2] = {{.fd = s->lfd, .events = POLLIN}, {.fd = -1}};
		int fd;

		pthread_mutex_lock(&s->lock);
		p[1] = (struct pollfd){.fd = s->cfd, .events = POLLIN};
		pthread_mutex_unlock(&s->lock);
		if (poll(p, 2, IVS_POLL_MS) <= 0)
			continue;
		if (p[1].revents & (POLLIN | POLLHUP | POLLERR)) {
			ssize_t n = 1;
			char c;

			pthread_mutex_lock(&s->lock);
			if (s->cfd == p[1].fd)
				n = recv(s->cfd, &c, 1, MSG_DONTWAIT);

			/* QEMU never writes: readable means end of file or an
			 * error; a stray byte is read and ignored. */
			if (n == 0 || (n < 0 && errno != EAGAIN && errno != EINTR)) {
				fprintf(stderr, "uvhost-gw: doorbell: ivshmem client gone\n");
				drop_client(s);
			}
			pthread_mutex_unlock(&s->lock);
		}
		if (!(p[0].revents & POLLIN))
			continue;
		fd = accept4(s->lfd, NULL, NULL, SOCK_CLOEXEC);
		if (fd < 0)
			continue;
		if (gw_ivs_client(s, fd) == 0)
			fprintf(stderr,
				"uvhost-gw: doorbell: ivshmem client %llu connected (id %u)\n",
				(unsigned long long)s->st.clients, GW_IVS_VM_ID);
		else
			fprintf(stderr, "uvhost-gw: doorbell: ivshmem client set-up failed\n");
	}
	return NULL;
}

int gw_ivs_open(struct gw_ivs *s, const char *path)
{
	struct sockaddr_un a = {.sun_family = AF_UNIX};
	int rc = gw_ivs_init(s, GW_IVS_OWN_MAX);

	if (rc)
		return rc;
	if (strlen(path) >= sizeof(a.sun_path) || strlen(path) >= sizeof(s->path)) {
		gw_ivs_close(s);
		return -ENAMETOOLONG;
	}
	strcpy(a.sun_path, path);
	strcpy(s->path, path);
	s->lfd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (s->lfd < 0)
		rc = -errno;
	else {
		(void)unlink(path);
		if (bind(s->lfd, (struct sockaddr *)&a, sizeof(a)) < 0 || listen(s->lfd, 4) < 0)
			rc = -errno;
	}
	if (rc == 0 && pthread_create(&s->thr, NULL, ivs_thread, s) != 0)
		rc = -EAGAIN;
	if (rc) {
		gw_ivs_close(s);
		return rc;
	}
	s->thr_on = true;
	return 0;
}

void gw_ivs_close(struct gw_ivs *s)
{
	if (s->thr_on) {
		s->stop = true;
		pthread_join(s->thr, NULL);
		s->thr_on = false;
	}
	if (s->lfd >= 0) {
		close(s->lfd);
		if (s->path[0])
			unlink(s->path);
	}
	s->lfd = -1;
	drop_client(s);
	if (s->shm_fd >= 0)
		close(s->shm_fd);
	s->shm_fd = -1;
}
