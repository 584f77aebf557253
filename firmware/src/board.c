// Board support for QEMU mps2-an386: vectors, reset, UART0, SysTick, stack
// painting, newlib's _sbrk, semihosting.
#include "board.h"

#include <errno.h>
#include <string.h>
#include <sys/types.h>

extern uint32_t _data_load, _data_start, _data_end, _bss_start, _bss_end;
extern uint32_t _stack_top, _stack_bottom;
extern char _heap_start, _heap_end;
extern int main(void);
extern void __libc_init_array(void);

#define STACK_PAINT 0xA5A5A5A5u
#define REG32(address) (*(volatile uint32_t*)(address))

// ---- Reset and vectors ----------------------------------------------------
void Reset_Handler(void) __attribute__((naked, noreturn));
void Reset_Continue(void) __attribute__((noreturn, used));
void Fault_Handler(void);
void SysTick_Handler(void);

// Naked: paint the whole stack before anything runs on it.
void Reset_Handler(void) {
  __asm__ volatile(
      "ldr r0, =_stack_bottom\n"
      "ldr r1, =_stack_top\n"
      "ldr r2, =0xA5A5A5A5\n"
      "1: cmp r0, r1\n"
      "bhs 2f\n"
      "str r2, [r0], #4\n"
      "b 1b\n"
      "2: ldr r0, =_stack_top\n"
      "mov sp, r0\n"
      "b Reset_Continue\n");
}

void Reset_Continue(void) {
  memcpy(&_data_start, &_data_load, (size_t)((char*)&_data_end - (char*)&_data_start));
  memset(&_bss_start, 0, (size_t)((char*)&_bss_end - (char*)&_bss_start));
  REG32(0xE000ED88) |= 0xFu << 20;  // CPACR: full access to CP10/CP11 (the FPU)
  __asm__ volatile("dsb\n isb");
  __libc_init_array();
  semihost_exit(main() != 0);
}

void Fault_Handler(void) {
  semihost_write("{\"fault\": true}\n");
  semihost_exit(1);
}

__attribute__((section(".vectors"), used)) static void (*const vectors[16])(void) = {
    (void (*)(void))(&_stack_top),
    Reset_Handler,
    Fault_Handler,
    Fault_Handler,
    Fault_Handler,
    Fault_Handler,
    Fault_Handler,
    0,
    0,
    0,
    0,
    Fault_Handler,
    Fault_Handler,
    0,
    Fault_Handler,
    SysTick_Handler};

// ---- UART0: CMSDK APB UART at 0x40004000 ----------------------------------
#define UART0 0x40004000u
#define UART_DATA REG32(UART0 + 0x00)
#define UART_STATE REG32(UART0 + 0x04)
#define UART_CTRL REG32(UART0 + 0x08)
#define UART_BAUDDIV REG32(UART0 + 0x10)
#define UART_STATE_TX_FULL 1u
#define UART_STATE_RX_FULL 2u

void uart_write(const uint8_t* data, size_t size) {
  for (size_t i = 0; i < size; ++i) {
    while (UART_STATE & UART_STATE_TX_FULL) {
    }
    UART_DATA = data[i];
  }
}

size_t uart_read_available(uint8_t* out, size_t size) {
  size_t n = 0;
  while (n < size && (UART_STATE & UART_STATE_RX_FULL)) out[n++] = (uint8_t)UART_DATA;
  return n;
}

// ---- SysTick: the CPU clock (25 MHz), an interrupt each millisecond --------
#define SYST_CSR REG32(0xE000E010)
#define SYST_RVR REG32(0xE000E014)
#define SYST_CVR REG32(0xE000E018)
#define TICKS_PER_MS (BOARD_TICKS_PER_SECOND / 1000u)
static volatile uint32_t g_ms;

void SysTick_Handler(void) { g_ms = g_ms + 1; }

uint32_t board_ms(void) { return g_ms; }

uint64_t board_ticks(void) {
  uint32_t ms, value;
  do {  // a reload between the two reads would mix two milliseconds
    ms = g_ms;
    value = SYST_CVR;
  } while (ms != g_ms);
  return (uint64_t)ms * TICKS_PER_MS + (TICKS_PER_MS - 1u - value);
}

void board_init(void) {
  UART_BAUDDIV = 16;  // QEMU refuses to transmit below 16
  UART_CTRL = 3;      // TX and RX enabled, no interrupts
  SYST_RVR = TICKS_PER_MS - 1u;
  SYST_CVR = 0;
  SYST_CSR = 7;  // processor clock, interrupt, enable
}

size_t board_peak_stack(void) {
  const uint32_t* word = &_stack_bottom;
  while (word < &_stack_top && *word == STACK_PAINT) ++word;
  return (size_t)((char*)&_stack_top - (char*)word);
}

// ---- newlib: the heap ------------------------------------------------------
void* _sbrk(ptrdiff_t increment) {
  static char* brk = &_heap_start;
  if (increment > &_heap_end - brk) {
    errno = ENOMEM;
    return (void*)-1;
  }
  char* previous = brk;
  brk += increment;
  return previous;
}

// ---- Semihosting (ARM semihosting, BKPT 0xAB) -----------------------------
static int semihost_call(int operation, void* argument) {
  register int r0 __asm__("r0") = operation;
  register void* r1 __asm__("r1") = argument;
  __asm__ volatile("bkpt 0xAB" : "+r"(r0) : "r"(r1) : "memory");
  return r0;
}

void semihost_write(const char* text) { semihost_call(0x04, (void*)text); }  // SYS_WRITE0

int semihost_cmdline(char* buffer, size_t size) {
  struct {
    char* buffer;
    size_t size;
  } block = {buffer, size};
  return semihost_call(0x15, &block);  // SYS_GET_CMDLINE
}

void semihost_exit(int failed) {
  // SYS_EXIT with ADP_Stopped_ApplicationExit (QEMU exits 0) or
  // ADP_Stopped_RunTimeErrorUnknown (QEMU exits 1).
  semihost_call(0x18, (void*)(failed ? 0x20023 : 0x20026));
  for (;;) {
  }
}

// newlib's stubs for what we never do (no files, no processes).
int _close(int fd) {
  (void)fd;
  errno = EBADF;
  return -1;
}
int _fstat(int fd, void* st) {
  (void)fd;
  (void)st;
  errno = EBADF;
  return -1;
}
int _isatty(int fd) {
  (void)fd;
  return 0;
}
off_t _lseek(int fd, off_t offset, int whence) {
  (void)fd;
  (void)offset;
  (void)whence;
  errno = EBADF;
  return -1;
}
int _read(int fd, void* buffer, size_t size) {
  (void)fd;
  (void)buffer;
  (void)size;
  errno = EBADF;
  return -1;
}
int _write(int fd, const void* buffer, size_t size) {
  (void)fd;
  (void)buffer;
  (void)size;
  errno = EBADF;
  return -1;
}
int _getpid(void) { return 1; }
int _kill(int pid, int signal) {
  (void)pid;
  (void)signal;
  errno = EINVAL;
  return -1;
}
void _exit(int status) { semihost_exit(status != 0); }
