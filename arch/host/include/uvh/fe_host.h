/* uvh/fe_host.h - the Linux side of the vhost-user front-end role.
 *
 * Owns: the AF_UNIX connection to a back-end as a struct vu_fe_transport
 * (fds as SCM_RIGHTS), the backend-channel socketpair, guest RAM in one
 * memfd that regions are carved from, and eventfds for kick and call.
 * Never: speaks the protocol itself (vhost/src/frontend*.c does) or decides
 * what the regions are; it only creates and moves OS objects.
 * Used by: uvhost-bench and tests/frontend.
 */
#ifndef UVH_FE_HOST_H
#define UVH_FE_HOST_H

#include <stdint.h>

#include "vu/frontend.h"

struct uvh_fe_conn {
	int sock;	/* main channel, -1 when closed */
	int backend_fd; /* our end of the backend channel, -1 when none */
	struct vu_fe_transport t;
};

/* Connect to the back-end's socket at path. Returns 0 or a negative errno. */
int uvh_fe_connect(struct uvh_fe_conn *c, const char *path);

/* Create the backend channel: keeps one end, stores the other in *peer for
 * SET_BACKEND_REQ_FD (close it after sending). Returns 0 or -errno. */
int uvh_fe_backend_pair(struct uvh_fe_conn *c, int *peer);

/* Close everything the connection holds. */
void uvh_fe_close(struct uvh_fe_conn *c);

/* Guest RAM: `size` bytes of a memfd, mapped shared at `base`. */
struct uvh_guest_ram {
	int fd;
	uint8_t *base;
	uint64_t size;
};

int uvh_guest_ram_create(struct uvh_guest_ram *r, uint64_t size);
/* The same, from an existing file (a window the service VM also maps, for
 * uvhost-gw): the first `size` bytes, which the file must hold. */
int uvh_guest_ram_open(struct uvh_guest_ram *r, const char *path, uint64_t size);
void uvh_guest_ram_destroy(struct uvh_guest_ram *r);

/* The region for bytes [off, off+len) of guest RAM, at guest-physical
 * address gpa_base + off; the back-end maps it from the memfd at off. */
struct vu_fe_region uvh_guest_ram_region(const struct uvh_guest_ram *r, uint64_t gpa_base,
					 uint64_t off, uint64_t len);

/* Non-blocking eventfds. create returns an fd or a negative errno;
 * drain returns the count read (0 if none). */
int uvh_eventfd_create(void);
int uvh_eventfd_signal(int fd);
uint64_t uvh_eventfd_drain(int fd);

#endif
