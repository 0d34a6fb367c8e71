/* start.S - reset entry and exception vectors of the unikernel.
 *
 * QEMU's -kernel starts an ELF at its entry at EL1 (EL2 with
 * virtualization=on) with the MMU off. With the MMU off every data access is
 * Device memory, where unaligned accesses and DC ZVA fault, so before any C
 * library code runs we: drop to EL1, set up two stacks, enable FP/SIMD, copy
 * .data and zero .bss with plain aligned loops, and let k_mmu_early() turn on
 * the MMU and caches. Only then TLS, constructors and main().
 *
 * Stacks: normal code runs on SP_EL0 (__stack); exceptions switch to SP_EL1
 * (__exc_stack_top), so a crash report still prints after a stack overflow.
 */
	.section .text.init.enter, "ax"
	.global _start
_start:
	msr	daifset, #0xf
	mrs	x0, CurrentEL
	lsr	x0, x0, #2
	cmp	x0, #2
	b.ne	1f
	/* EL2: let EL1 use the counters, run EL1 in AArch64, go there. */
	mov	x0, #3
	msr	cnthctl_el2, x0
	msr	cntvoff_el2, xzr
	mov	x0, #(1 << 31)
	msr	hcr_el2, x0
	mov	x0, #0x3c5		/* EL1h, DAIF masked */
	msr	spsr_el2, x0
	adr	x0, 1f
	msr	elr_el2, x0
	eret
1:
	adrp	x0, __exc_stack_top
	add	x0, x0, :lo12:__exc_stack_top
	mov	sp, x0
	msr	spsel, #0
	adrp	x0, __stack
	add	x0, x0, :lo12:__stack
	mov	sp, x0

	mov	x0, #(3 << 20)		/* CPACR_EL1.FPEN: no FP/SIMD traps */
	msr	cpacr_el1, x0
	adrp	x0, k_vectors
	add	x0, x0, :lo12:k_vectors
	msr	vbar_el1, x0
	isb

	/* .data (and .tdata) from their load address, byte by byte. */
	ldr	x0, =__data_start
	ldr	x1, =__data_source
	ldr	x2, =__data_size
2:	cbz	x2, 3f
	ldrb	w3, [x1], #1
	strb	w3, [x0], #1
	sub	x2, x2, #1
	b	2b
3:
	/* .tbss and .bss: bytes up to 8-byte alignment, then doublewords. */
	ldr	x0, =__bss_start
	ldr	x2, =__bss_size
4:	cbz	x2, 6f
	tst	x0, #7
	b.eq	5f
	strb	wzr, [x0], #1
	sub	x2, x2, #1
	b	4b
5:	cmp	x2, #8
	b.lo	7f
	str	xzr, [x0], #8
	sub	x2, x2, #8
	b	5b
7:	cbz	x2, 6f
	strb	wzr, [x0], #1
	sub	x2, x2, #1
	b	7b
6:
	bl	k_mmu_early

	/* picolibc's TLS (errno lives there): TP points one TCB below. */
	ldr	x0, =__tls_base
	ldr	x1, =__arm64_tls_tcb_offset
	sub	x0, x0, x1
	msr	tpidr_el0, x0

	bl	__libc_init_array
	mov	x0, #0
	mov	x1, #0
	bl	main
	bl	exit
8:	wfi
	b	8b

/* One vector: save x0-x30, the interrupted SP, ELR, SPSR, ESR, FAR into a
 * struct k_exc_frame on the exception stack and report. Never returns. */
	.macro	vec kind
	.balign	0x80
	sub	sp, sp, #(36 * 8)
	stp	x0, x1, [sp, #(0 * 8)]
	mov	x0, #\kind
	b	k_exc_common
	.endm

	.section .text.vectors, "ax"
	.balign	0x800
	.global	k_vectors
k_vectors:
	vec 0
	vec 1
	vec 2
	vec 3
	vec 4
	vec 5
	vec 6
	vec 7
	vec 8
	vec 9
	vec 10
	vec 11
	vec 12
	vec 13
	vec 14
	vec 15

k_exc_common:
	stp	x2, x3, [sp, #(2 * 8)]
	stp	x4, x5, [sp, #(4 * 8)]
	stp	x6, x7, [sp, #(6 * 8)]
	stp	x8, x9, [sp, #(8 * 8)]
	stp	x10, x11, [sp, #(10 * 8)]
	stp	x12, x13, [sp, #(12 * 8)]
	stp	x14, x15, [sp, #(14 * 8)]
	stp	x16, x17, [sp, #(16 * 8)]
	stp	x18, x19, [sp, #(18 * 8)]
	stp	x20, x21, [sp, #(20 * 8)]
	stp	x22, x23, [sp, #(22 * 8)]
	stp	x24, x25, [sp, #(24 * 8)]
	stp	x26, x27, [sp, #(26 * 8)]
	stp	x28, x29, [sp, #(28 * 8)]
	/* x30, then the interrupted SP: SP_EL0 for kinds 0-3, else ours. */
	cmp	x0, #4
	b.hs	1f
	mrs	x1, sp_el0
	b	2f
1:	add	x1, sp, #(36 * 8)
2:	stp	x30, x1, [sp, #(30 * 8)]
	mrs	x1, elr_el1
	mrs	x2, spsr_el1
	stp	x1, x2, [sp, #(32 * 8)]
	mrs	x1, esr_el1
	mrs	x2, far_el1
	stp	x1, x2, [sp, #(34 * 8)]
	/* x0 was clobbered with the kind before we saved it: the vector
	 * stored the original x0/x1 pair first, so nothing is lost. */
	mov	x1, x0
	mov	x0, sp
	bl	k_exc_report
3:	wfi
	b	3b

/* The exception stack (SP_EL1), apart from the normal one. */
	.section .bss.k_exc_stack, "aw", %nobits
	.balign	16
k_exc_stack:
	.space	16384
__exc_stack_top:
