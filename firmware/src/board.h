// Board support for QEMU's mps2-an386 (Cortex-M4): what a port provides.
// The TLS engine needs three things from a board: bytes (here UART0), time
// (here SysTick) and randomness (here a seeded test generator, main.cpp).
#pragma once

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

void board_init(void);

// UART0 (CMSDK APB UART), polled. QEMU connects it to a TCP socket.
void uart_write(const uint8_t* data, size_t size);
// Reads the bytes that have arrived, up to `size`; never blocks.
size_t uart_read_available(uint8_t* out, size_t size);

// SysTick at the 25 MHz CPU clock, 1 ms interrupts.
uint32_t board_ms(void);
// 25 MHz ticks since boot (64-bit so that it never wraps in practice).
uint64_t board_ticks(void);
#define BOARD_TICKS_PER_SECOND 25000000u

// Stack painting: bytes of the stack ever used, from the reset-time paint.
size_t board_peak_stack(void);

// Semihosting (the debugger/QEMU console): text out, the command line in,
// and the exit status.
void semihost_write(const char* text);
int semihost_cmdline(char* buffer, size_t size);
void semihost_exit(int failed) __attribute__((noreturn));

#ifdef __cplusplus
}
#endif
