/* Stopping: panic, halt, and picolibc's _exit. */
#include <stdarg.h>
#include <stdio.h>
#include <unistd.h>

#include "arch/board.h"
#include "kern/panic.h"

void k_halt(void)
{
	__asm__ volatile("msr daifset, #0xf");
	for (;;)
		__asm__ volatile("wfi");
}

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
