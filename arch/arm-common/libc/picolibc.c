/* picolibc glue: stdin/stdout/stderr as one write-only stream on the
 * console. picolibc needs nothing else from the port (no heap: the
 * unikernel never calls malloc; its pools come from kern/arena.h).
 * Built instead of newlib.c when UV_LIBC is picolibc (arch/arm-common). */
#include <picolibc.h>
#include <picotls.h>
#include <stdio.h>

#include "arch/board.h"

static int stdio_put(char c, FILE *f)
{
	(void)f;
	k_console_write(&c, 1);
	return (unsigned char)c;
}

static FILE k_stdio = FDEV_SETUP_STREAM(stdio_put, NULL, NULL, _FDEV_SETUP_WRITE);
FILE *const stdin = &k_stdio;
FILE *const stdout = &k_stdio;
FILE *const stderr = &k_stdio;

void k_libc_init(void);

/* picolibc keeps errno in thread-local storage: copy .tdata, zero .tbss
 * and point the thread pointer at the block (start.S on arm32; aarch64's
 * start.S sets TPIDR_EL0 itself). */
extern char __tls_base[];
void k_libc_init(void)
{
	_init_tls(__tls_base);
	_set_tls(__tls_base);
}
