/* Crash-report helpers shared by the Arm ports (arch/crash.h). */
#include "arch/crash.h"

#include <stdarg.h>
#include <stdio.h>

#include "arch/board.h"

void k_crash_out(const char *fmt, ...)
{
	char buf[160];
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	if (n > (int)sizeof(buf) - 1)
		n = (int)sizeof(buf) - 1;
	if (n > 0)
		k_console_write(buf, (size_t)n);
}

const char *k_crash_fsc_name(unsigned fsc)
{
	switch (fsc & 0x3c) {
	case 0x04: return "translation fault";
	case 0x08: return "access flag fault";
	case 0x0c: return "permission fault";
	case 0x10: return "external abort";
	case 0x20: return "alignment fault";
	default: return fsc == 0x21 ? "alignment fault" : "other fault";
	}
}
