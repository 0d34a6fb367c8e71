/* AF_UNIX stream transport for vhost-user, with fds as SCM_RIGHTS. */
#define _GNU_SOURCE
#include <errno.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "uvh/host.h"

static int fill_addr(struct sockaddr_un *sa, const char *path)
{
	memset(sa, 0, sizeof(*sa));
	sa->sun_family = AF_UNIX;
	if (strlen(path) >= sizeof(sa->sun_path))
		return -ENAMETOOLONG;
	strcpy(sa->sun_path, path);
	return 0;
}

int uvh_listen(const char *path)
{
	struct sockaddr_un sa;
	int fd, rc = fill_addr(&sa, path);

	if (rc)
		return rc;
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	unlink(path); /* a stale socket from a previous run */
	if (bind(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0 || listen(fd, 1) < 0) {
		rc = -errno;
		close(fd);
		return rc;
	}
	return fd;
}

int uvh_connect(const char *path)
{
	struct sockaddr_un sa;
	int fd, rc = fill_addr(&sa, path);

	if (rc)
		return rc;
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
		rc = -errno;
		close(fd);
		return rc;
	}
	return fd;
}

static void close_all(int *fds, uint32_t n)
{
	for (uint32_t i = 0; i < n; i++) {
		if (fds[i] >= 0)
			close(fds[i]);
		fds[i] = -1;
	}
}

/* Collect SCM_RIGHTS fds; any truncation or foreign cmsg is an error, and
 * every fd we did receive is closed on that path. */
static int take_fds(struct msghdr *mh, struct vu_msg *msg)
{
	int rc = 0;

	for (struct cmsghdr *c = CMSG_FIRSTHDR(mh); c; c = CMSG_NXTHDR(mh, c)) {
		size_t n;
		int *in = (int *)CMSG_DATA(c);
		if (c->cmsg_level != SOL_SOCKET || c->cmsg_type != SCM_RIGHTS)
			continue;
		n = (c->cmsg_len - CMSG_LEN(0)) / sizeof(int);
		for (size_t i = 0; i < n; i++) {
			if (msg->nfds < VU_MAX_FDS)
				msg->fds[msg->nfds++] = in[i];
			else {
				close(in[i]);
				rc = -E2BIG;
			}
		}
	}
	if (mh->msg_flags & MSG_CTRUNC)
		rc = -E2BIG;
	return rc;
}

static int read_full(int sock, void *buf, size_t len)
{
	size_t got = 0;

	while (got < len) {
		ssize_t r = recv(sock, (uint8_t *)buf + got, len - got, 0);
		if (r == 0)
			return -ECONNRESET;
		if (r < 0) {
			if (errno == EINTR)
				continue;
			return -errno;
		}
		got += (size_t)r;
	}
	return 0;
}

int uvh_recv_msg(int sock, struct vu_msg *msg)
{
	union {
		char buf[CMSG_SPACE(sizeof(int) * VU_MAX_FDS)];
		struct cmsghdr align;
	} ctl;
	struct iovec iov = {.iov_base = &msg->hdr, .iov_len = VU_HDR_SIZE};
	struct msghdr mh = {.msg_iov = &iov,
			    .msg_iovlen = 1,
			    .msg_control = ctl.buf,
			    .msg_controllen = sizeof(ctl.buf)};
	ssize_t r;
	int rc;

	msg->nfds = 0;
	for (uint32_t i = 0; i < VU_MAX_FDS; i++)
		msg->fds[i] = -1;
	do
		r = recvmsg(sock, &mh, MSG_CMSG_CLOEXEC);
	while (r < 0 && errno == EINTR);
	if (r == 0)
		return -ECONNRESET;
	if (r < 0)
		return -errno;
	rc = take_fds(&mh, msg);
	if (rc == 0 && (size_t)r < VU_HDR_SIZE)
		rc = read_full(sock, (uint8_t *)&msg->hdr + r, VU_HDR_SIZE - (size_t)r);
	if (rc == 0 && msg->hdr.size > VU_MAX_PAYLOAD)
		rc = -EMSGSIZE;
	if (rc == 0 && msg->hdr.size)
		rc = read_full(sock, msg->p.raw, msg->hdr.size);
	if (rc) {
		close_all(msg->fds, msg->nfds);
		msg->nfds = 0;
	}
	return rc;
}

int uvh_send_msg(int sock, const struct vu_msg *msg)
{
	union {
		char buf[CMSG_SPACE(sizeof(int) * VU_MAX_FDS)];
		struct cmsghdr align;
	} ctl;
	struct iovec iov[2] = {
		{.iov_base = (void *)&msg->hdr, .iov_len = VU_HDR_SIZE},
		{.iov_base = (void *)msg->p.raw, .iov_len = msg->hdr.size},
	};
	struct msghdr mh = {.msg_iov = iov, .msg_iovlen = 2};
	size_t total = VU_HDR_SIZE + msg->hdr.size, sent = 0;

	if (msg->hdr.size > VU_MAX_PAYLOAD || msg->nfds > VU_MAX_FDS)
		return -EINVAL;
	if (msg->nfds) {
		struct cmsghdr *c;
		memset(&ctl, 0, sizeof(ctl));
		mh.msg_control = ctl.buf;
		mh.msg_controllen = CMSG_SPACE(sizeof(int) * msg->nfds);
		c = CMSG_FIRSTHDR(&mh);
		c->cmsg_level = SOL_SOCKET;
		c->cmsg_type = SCM_RIGHTS;
		c->cmsg_len = CMSG_LEN(sizeof(int) * msg->nfds);
		memcpy(CMSG_DATA(c), msg->fds, sizeof(int) * msg->nfds);
	}
	while (sent < total) {
		ssize_t w = sendmsg(sock, &mh, MSG_NOSIGNAL);
		if (w < 0) {
			if (errno == EINTR)
				continue;
			return -errno;
		}
		sent += (size_t)w;
		/* fds went with the first byte; continue with the plain remainder. */
		mh.msg_control = NULL;
		mh.msg_controllen = 0;
		while (mh.msg_iovlen && (size_t)w >= mh.msg_iov->iov_len) {
			w -= (ssize_t)mh.msg_iov->iov_len;
			mh.msg_iov++;
			mh.msg_iovlen--;
		}
		if (mh.msg_iovlen) {
			mh.msg_iov->iov_base = (uint8_t *)mh.msg_iov->iov_base + w;
			mh.msg_iov->iov_len -= (size_t)w;
		}
	}
	return 0;
}
