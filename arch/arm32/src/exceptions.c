/* The arm32 crash report: every exception is fatal in this unikernel (it
 * takes no interrupts), so each vector lands here, prints what a human
 * needs to find the fault, and stops (output: arch/crash.h). With LPAE the
 * DFSR/IFSR use the long-descriptor format, whose status code names the
 * fault and its table level as aarch64's ISS does. */
#include <stdbool.h>
#include <stdbool.h>
#include <stdint.h>

#include "arch/board.h"
#include "arch/crash.h"

struct k_exc_frame {
	uint32_t r[13];
	uint32_t sp, lr, pc, spsr, fsr, far, pad;
};
_Static_assert(sizeof(struct k_exc_frame) == 20 * 4, "frame layout matches start.S");

void k_exc_report(const struct k_exc_frame *f, uint32_t kind);

/* The LR of each vector is the faulting instruction plus this much. */
static uint32_t fault_pc(uint32_t kind, uint32_t lr, uint32_t spsr)
{
	bool thumb = (spsr & (1u << 5)) != 0;

	switch (kind) {
	case 1: return lr - (thumb ? 2u : 4u); /* undefined */
	case 2: return lr - (thumb ? 2u : 4u); /* SVC */
	case 4: return lr - 8u;		       /* data abort */
	default: return lr - 4u;	       /* prefetch abort, IRQ, FIQ */
	}
}

static const char *mode_name(uint32_t m)
{
	switch (m & 0x1f) {
	case 0x10: return "USR";
	case 0x11: return "FIQ";
	case 0x12: return "IRQ";
	case 0x13: return "SVC";
	case 0x17: return "ABT";
	case 0x1a: return "HYP";
	case 0x1b: return "UND";
	case 0x1f: return "SYS";
	default: return "unknown";
	}
}

void k_exc_report(const struct k_exc_frame *f, uint32_t kind)
{
	static const char *const type[] = {
		"reset",      "undefined instruction", "SVC", "prefetch abort",
		"data abort", "hypervisor trap",       "IRQ", "FIQ"};
	uint32_t fsc = f->fsr & 0x3f;

	k_crash_out("\n*** CRASH: %s exception from %s mode ***\n", type[kind & 7],
		    mode_name(f->spsr));
	if (kind == 3 || kind == 4) {
		k_crash_out("%s %08lx  FS 0x%02lx: %s (level %lu)%s\n", kind == 4 ? "DFSR" : "IFSR",
			    (unsigned long)f->fsr, (unsigned long)fsc, k_crash_fsc_name(fsc),
			    (unsigned long)(fsc & 3),
			    kind == 4 && (f->fsr & (1u << 11)) ? ", on write" : "");
		k_crash_out("%s %08lx\n", kind == 4 ? "DFAR" : "IFAR", (unsigned long)f->far);
	}
	k_crash_out("PC   %08lx\n", (unsigned long)fault_pc(kind, f->pc, f->spsr));
	k_crash_out("CPSR %08lx\n", (unsigned long)f->spsr);
	k_crash_out("SP   %08lx  LR   %08lx\n", (unsigned long)f->sp, (unsigned long)f->lr);
	for (int i = 0; i < 13; i += 2) {
		if (i == 12)
			k_crash_out("r12 %08lx\n", (unsigned long)f->r[12]);
		else
			k_crash_out("r%-2d %08lx  r%-2d %08lx\n", i, (unsigned long)f->r[i], i + 1,
				    (unsigned long)f->r[i + 1]);
	}
	k_crash_out("*** halted ***\n");
	k_halt();
}
