/* newlib glue: the system calls newlib's libc.a expects from a bare-metal
 * port, and its set-up before the constructors run.
 *
 * Owns: stdout/stderr on the console (_write), a bounded heap for the few
 * allocations newlib makes on its own (_sbrk on a static arena that never
 * grows past K_NEWLIB_HEAP: then ENOMEM), and refusals for everything a
 * unikernel has no use for (files, processes, signals).
 * Never: calls malloc itself; the unikernel's pools come from kern/arena.h.
 * stdout and stderr are unbuffered (k_libc_init), so printing allocates no
 * stream buffer: with integer formats newlib's printf needs no heap at all.
 * Used by: newlib's libc.a (the arm32 port with UV_LIBC=newlib); start.S
 * calls k_libc_init before the constructors.
 */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <sys/stat.h>
#include <sys/types.h>

#include "arch/board.h"

#define K_NEWLIB_HEAP 4096

void k_libc_init(void);
void _init(void);
void _fini(void);
int _write(int fd, const void *buf, size_t n);
int _read(int fd, void *buf, size_t n);
int _close(int fd);
int _fstat(int fd, struct stat *st);
int _isatty(int fd);
off_t _lseek(int fd, off_t off, int whence);
void *_sbrk(ptrdiff_t incr);
int _kill(int pid, int sig);
int _getpid(void);

static uint8_t k_heap[K_NEWLIB_HEAP] __attribute__((aligned(8)));
static size_t k_heap_used;

void k_libc_init(void)
{
	setvbuf(stdout, NULL, _IONBF, 0);
	setvbuf(stderr, NULL, _IONBF, 0);
}

/* __libc_init_array calls _init between the preinit and init arrays; the
 * crti/crtn that would define it are not linked (-nostartfiles). */
void _init(void)
{
}

void _fini(void)
{
}

int _write(int fd, const void *buf, size_t n)
{
	if (fd != 1 && fd != 2) {
		errno = EBADF;
		return -1;
	}
	k_console_write(buf, n);
	return (int)n;
}

int _read(int fd, void *buf, size_t n)
{
	(void)fd;
	(void)buf;
	(void)n;
	return 0; /* no console input */
}

int _close(int fd)
{
	(void)fd;
	errno = EBADF;
	return -1;
}

int _fstat(int fd, struct stat *st)
{
	(void)fd;
	st->st_mode = S_IFCHR;
	return 0;
}

int _isatty(int fd)
{
	return fd >= 0 && fd <= 2;
}

off_t _lseek(int fd, off_t off, int whence)
{
	(void)fd;
	(void)off;
	(void)whence;
	errno = ESPIPE;
	return -1;
}

void *_sbrk(ptrdiff_t incr)
{
	size_t old = k_heap_used;

	if (incr < 0 || (size_t)incr > sizeof(k_heap) - k_heap_used) {
		errno = ENOMEM;
		return (void *)-1;
	}
	k_heap_used += (size_t)incr;
	return k_heap + old;
}

int _kill(int pid, int sig)
{
	(void)pid;
	(void)sig;
	errno = EINVAL;
	return -1;
}

int _getpid(void)
{
	return 1;
}
