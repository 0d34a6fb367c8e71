/* The crash report: every exception is fatal in this unikernel (it takes no
 * interrupts), so each vector lands here, prints what a human needs to find
 * the fault, and stops (output: arch/crash.h). */
#include <stdint.h>

#include "arch/board.h"
#include "arch/crash.h"

struct k_exc_frame {
	uint64_t x[31];
	uint64_t sp, elr, spsr, esr, far;
};
_Static_assert(sizeof(struct k_exc_frame) == 36 * 8, "frame layout matches start.S");

void k_exc_report(const struct k_exc_frame *f, uint64_t kind);

static const char *ec_name(unsigned ec)
{
	switch (ec) {
	case 0x00: return "unknown reason";
	case 0x01: return "WFI/WFE trapped";
	case 0x07: return "FP/SIMD access trapped";
	case 0x0e: return "illegal execution state";
	case 0x15: return "SVC";
	case 0x16: return "HVC";
	case 0x18: return "MSR/MRS trapped";
	case 0x20: return "instruction abort from lower EL";
	case 0x21: return "instruction abort";
	case 0x22: return "PC alignment fault";
	case 0x24: return "data abort from lower EL";
	case 0x25: return "data abort";
	case 0x26: return "SP alignment fault";
	case 0x2f: return "SError";
	case 0x30: return "breakpoint from lower EL";
	case 0x31: return "breakpoint";
	case 0x32: return "software step from lower EL";
	case 0x33: return "software step";
	case 0x34: return "watchpoint from lower EL";
	case 0x35: return "watchpoint";
	case 0x3c: return "BRK instruction";
	default: return "other";
	}
}

void k_exc_report(const struct k_exc_frame *f, uint64_t kind)
{
	static const char *const from[] = {"EL1 SP0", "EL1 SPx", "EL0 A64", "EL0 A32"};
	static const char *const type[] = {"synchronous", "IRQ", "FIQ", "SError"};
	unsigned ec = (unsigned)(f->esr >> 26) & 0x3f;
	unsigned iss = (unsigned)f->esr & 0x1ffffff;

	k_crash_out("\n*** CRASH: %s exception from %s ***\n", type[kind & 3],
		    from[(kind >> 2) & 3]);
	k_crash_out("ESR  %016lx  EC 0x%02x: %s\n", (unsigned long)f->esr, ec, ec_name(ec));
	if (ec == 0x24 || ec == 0x25 || ec == 0x20 || ec == 0x21)
		k_crash_out("     ISS %#x: %s (level %u)%s\n", iss, k_crash_fsc_name(iss & 0x3f),
			    iss & 3, (ec & ~1u) == 0x24 && (iss & (1u << 6)) ? ", on write" : "");
	k_crash_out("FAR  %016lx\n", (unsigned long)f->far);
	k_crash_out("ELR  %016lx\n", (unsigned long)f->elr);
	k_crash_out("SPSR %016lx\n", (unsigned long)f->spsr);
	k_crash_out("SP   %016lx\n", (unsigned long)f->sp);
	for (int i = 0; i < 31; i += 2) {
		if (i == 30)
			k_crash_out("x30 %016lx\n", (unsigned long)f->x[30]);
		else
			k_crash_out("x%-2d %016lx  x%-2d %016lx\n", i, (unsigned long)f->x[i],
				    i + 1, (unsigned long)f->x[i + 1]);
	}
	k_crash_out("*** halted ***\n");
	k_halt();
}
