/* uvh/fd_bounds.h - is [offset, offset+len) really backed by the file behind
 * an fd a peer handed us?
 *
 * Owns: the one check every mapping of a peer's fd goes through before
 * mmap(): memory regions (SET_MEM_TABLE, ADD_MEM_REG), SET_INFLIGHT_FD, SHMEM
 * maps on the front-end side, and window files. mmap() itself happily maps
 * past the end of a file; the first touch of the missing part is SIGBUS, and
 * that kills the whole daemon, not just the hostile session.
 * Never: maps, keeps or closes the fd.
 * Used by: arch/host (host_platform.c, shmem_window.c, window_ram.c).
 *
 * Accepted: regular files (memfd, tmpfs, hugetlbfs, /dev/shm and disk files)
 * and block devices, by their size at the time of the call. Everything else
 * (sockets, pipes, character devices, directories) has no size to check
 * against and is refused. A peer that shrinks the file after the check is
 * handled by uvh/sigbus_guard.h.
 */
#ifndef UVH_FD_BOUNDS_H
#define UVH_FD_BOUNDS_H

#include <stddef.h>
#include <stdint.h>

/* 0 when the range lies inside the file. Otherwise a negative errno and a
 * one-line reason naming the sizes in why[whylen]:
 *   -EBADF  the fd is not open;
 *   -EINVAL len is 0, or offset + len wraps;
 *   -ENODEV the fd is not a regular file or a block device;
 *   -ERANGE the range ends past the end of the file. */
int uvh_fd_check_range(int fd, uint64_t offset, uint64_t len, char *why, size_t whylen);

#endif
