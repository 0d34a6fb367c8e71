/* start.S - reset entry and exception vectors of the arm32 unikernel.
 *
 * QEMU's -kernel starts an ELF at its entry in SVC mode (HYP with
 * virtualization=on) with the MMU off. With the MMU off every data access is
 * Device memory, where unaligned accesses fault, so before any C library
 * code runs we: leave HYP if we are there, give the exception modes their
 * own stack, point VBAR at our vectors, copy .data and zero .bss with plain
 * word/byte loops, and let k_mmu_early() turn on the MMU and caches. Only
 * then the C library's set-up (k_libc_init), constructors and main().
 *
 * Stacks: normal code runs in SVC mode on __stack; aborts, undefined
 * instructions, IRQ and FIQ switch to their banked SP, all set to
 * __exc_stack_top, so a crash report still prints after a stack overflow.
 * The vectors are A32 code (SCTLR.TE = 0); everything else is Thumb-2.
 */
	.syntax	unified
	.arch	armv7-a
	.arch_extension virt
	.arm

#define MODE_FIQ 0x11
#define MODE_IRQ 0x12
#define MODE_SVC 0x13
#define MODE_ABT 0x17
#define MODE_HYP 0x1a
#define MODE_UND 0x1b
#define PSR_AIF 0x1c0

	.section .text.init.enter, "ax"
	.global	_start
	.type	_start, %function
_start:
	cpsid	aif
	mrs	r0, cpsr
	and	r1, r0, #0x1f
	cmp	r1, #MODE_HYP
	bne	1f
	/* HYP: run the rest in SVC, everything masked. */
	bic	r0, r0, #0x1f
	orr	r0, r0, #MODE_SVC
	orr	r0, r0, #PSR_AIF
	msr	spsr_hyp, r0
	adr	r1, 1f
	msr	elr_hyp, r1
	eret
1:
	ldr	r0, =__exc_stack_top
	cps	#MODE_ABT
	mov	sp, r0
	cps	#MODE_UND
	mov	sp, r0
	cps	#MODE_IRQ
	mov	sp, r0
	cps	#MODE_FIQ
	mov	sp, r0
	cps	#MODE_SVC
	ldr	sp, =__stack

	ldr	r0, =k_vectors
	mcr	p15, 0, r0, c12, c0, 0		/* VBAR */
	mrc	p15, 0, r0, c1, c0, 0		/* SCTLR: V = 0 (VBAR), TE = 0 (A32 vectors) */
	bic	r0, r0, #(1 << 13)
	bic	r0, r0, #(1 << 30)
	mcr	p15, 0, r0, c1, c0, 0
	isb

	/* .data (and .tdata) from their load address, byte by byte. */
	ldr	r0, =__data_start
	ldr	r1, =__data_source
	ldr	r2, =__data_size
2:	cmp	r2, #0
	beq	3f
	ldrb	r3, [r1], #1
	strb	r3, [r0], #1
	sub	r2, r2, #1
	b	2b
3:
	/* .tbss and .bss: bytes up to word alignment, then words, then bytes. */
	ldr	r0, =__bss_start
	ldr	r2, =__bss_size
	mov	r3, #0
4:	cmp	r2, #0
	beq	6f
	tst	r0, #3
	beq	5f
	strb	r3, [r0], #1
	sub	r2, r2, #1
	b	4b
5:	cmp	r2, #4
	blo	7f
	str	r3, [r0], #4
	sub	r2, r2, #4
	b	5b
7:	cmp	r2, #0
	beq	6f
	strb	r3, [r0], #1
	sub	r2, r2, #1
	b	7b
6:
	bl	k_mmu_early
	bl	k_libc_init
	bl	__libc_init_array
	mov	r0, #0
	mov	r1, #0
	bl	main
	bl	exit
8:	wfi
	b	8b
	.ltorg

/* The vectors: each saves r0-r12 into a struct k_exc_frame (exceptions.c)
 * on its mode's stack and reports. Never returns. */
	.macro	vec kind
	sub	sp, sp, #(20 * 4)
	stmia	sp, {r0-r12}
	mov	r0, #\kind
	b	k_exc_common
	.endm

	.section .text.vectors, "ax"
	.balign	32
	.global	k_vectors
k_vectors:
	b	k_vec_reset
	b	k_vec_und
	b	k_vec_svc
	b	k_vec_pabt
	b	k_vec_dabt
	b	k_vec_hyp
	b	k_vec_irq
	b	k_vec_fiq

k_vec_reset:	vec 0
k_vec_und:	vec 1
k_vec_svc:	vec 2
k_vec_pabt:	vec 3
k_vec_dabt:	vec 4
k_vec_hyp:	vec 5
k_vec_irq:	vec 6
k_vec_fiq:	vec 7

/* Frame: r0-r12, then SP and LR of the interrupted SVC code, the exception
 * LR (the faulting PC plus the mode's offset), SPSR, the fault status and
 * the fault address (data or instruction, by kind). */
k_exc_common:
	str	lr, [sp, #(15 * 4)]
	mrs	r1, spsr
	str	r1, [sp, #(16 * 4)]
	cmp	r0, #2
	bne	1f
	/* SVC taken in SVC mode: its SP is ours plus the frame, its LR lost. */
	add	r1, sp, #(20 * 4)
	mov	r2, #0
	b	2f
1:	mrs	r3, cpsr			/* read SVC's banked SP and LR */
	cps	#MODE_SVC
	mov	r1, sp
	mov	r2, lr
	msr	cpsr_c, r3
2:	str	r1, [sp, #(13 * 4)]
	str	r2, [sp, #(14 * 4)]
	cmp	r0, #3
	bne	3f
	mrc	p15, 0, r1, c5, c0, 1		/* IFSR */
	mrc	p15, 0, r2, c6, c0, 2		/* IFAR */
	b	4f
3:	mrc	p15, 0, r1, c5, c0, 0		/* DFSR */
	mrc	p15, 0, r2, c6, c0, 0		/* DFAR */
4:	str	r1, [sp, #(17 * 4)]
	str	r2, [sp, #(18 * 4)]
	mov	r1, r0
	mov	r0, sp
	blx	k_exc_report
5:	wfi
	b	5b

/* The exception stack, apart from the normal one. */
	.section .bss.k_exc_stack, "aw", %nobits
	.balign	16
k_exc_stack:
	.space	16384
	.global	__exc_stack_top
__exc_stack_top:
