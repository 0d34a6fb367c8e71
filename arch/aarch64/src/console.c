/* PL011 console, and picolibc's stdin/stdout/stderr on top of it.
 * QEMU's PL011 needs no baud set-up; we only make sure TX is enabled. */
#include <stdio.h>

#include "arch/cpu.h"
#include "arch/board.h"

#define UARTDR 0x000
#define UARTFR 0x018
#define UARTCR 0x030
#define UARTFR_TXFF (1u << 5)
#define UARTCR_EN_TX_RX 0x301u

static uintptr_t k_uart = K_VIRT_UART_FALLBACK;

void k_console_set_base(uintptr_t base)
{
	k_uart = base;
	k_mmio_w32(k_uart + UARTCR, k_mmio_r32(k_uart + UARTCR) | UARTCR_EN_TX_RX);
}

static void uart_putc(char c)
{
	/* Bounded: a wedged UART must not hang a crash report forever. */
	for (unsigned spin = 0; spin < 1000000u; spin++)
		if (!(k_mmio_r32(k_uart + UARTFR) & UARTFR_TXFF))
			break;
	k_mmio_w32(k_uart + UARTDR, (uint8_t)c);
}

void k_console_write(const char *s, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		if (s[i] == '\n')
			uart_putc('\r');
		uart_putc(s[i]);
	}
}

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
