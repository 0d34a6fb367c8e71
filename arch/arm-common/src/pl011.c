/* PL011 console (the same MMIO on QEMU virt for aarch64 and arm32). QEMU's
 * PL011 needs no baud set-up; we only make sure TX is enabled. The C
 * library's stdout reaches it through arch/arm-common/libc (picolibc's
 * stdio streams, or newlib's _write). */
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
