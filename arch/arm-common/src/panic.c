/* Stopping: panic, and the C library's _exit. k_halt() (masking
 * interrupts differs between ports) is each port's cpu.c. */
#include <stdarg.h>
#include <stdio.h>
#include <unistd.h>

#include "arch/board.h"
#include "kern/panic.h"

void k_panic(const char *fmt, ...)
{
	char buf[200];
	va_list ap;
	int n;

	n = snprintf(buf, sizeof(buf), "\nPANIC: ");
	va_start(ap, fmt);
	n += vsnprintf(buf + n, sizeof(buf) - (size_t)n, fmt, ap);
	va_end(ap);
	if (n > (int)sizeof(buf) - 2)
		n = (int)sizeof(buf) - 2;
	buf[n++] = '\n';
	k_console_write(buf, (size_t)n);
	k_halt();
}

void _exit(int status)
{
	k_panic("main returned (status %d)", status);
}
