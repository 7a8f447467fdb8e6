/* SPDX-License-Identifier: MIT */
/*
 * Shared declarations of the kvmini test guest: console output, string
 * helpers, exit protocol, command line, interrupts and the test table.
 * The guest is single-CPU and runs with interrupts disabled except while
 * it sleeps in wait_for_interrupt() (io.h).
 */
#ifndef GUEST_H
#define GUEST_H

#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))
#define PRINTF_FMT(f, a) __attribute__((format(printf, f, a)))

/* serial.c: 16550 UART at COM1 (0x3f8), polled output. */
#define SERIAL_PORT     0x3f8
#define SERIAL_IRQ      4
#define UART_IER        1   /* interrupt enable */
#define UART_IIR        2   /* interrupt identification (read) */
#define UART_MCR        4   /* modem control */
#define UART_LSR        5   /* line status */
#define UART_IER_THRI   0x02
#define UART_MCR_OUT2   0x08
void serial_init(void);
void serial_putc(char c);
void serial_write(const char *s, size_t n);
uint8_t serial_read(unsigned reg);
void serial_write_reg(unsigned reg, uint8_t v);

/* printf.c: %[-0][width][.prec][hh|h|l|ll|z](d|i|u|x|X|c|s|p|%) */
int vprintf(const char *fmt, va_list ap);
int printf(const char *fmt, ...) PRINTF_FMT(1, 2);
int vsnprintf(char *buf, size_t size, const char *fmt, va_list ap);
int snprintf(char *buf, size_t size, const char *fmt, ...) PRINTF_FMT(3, 4);

/* string.c */
void *memset(void *d, int c, size_t n);
void *memcpy(void *d, const void *s, size_t n);
void *memmove(void *d, const void *s, size_t n);
int memcmp(const void *a, const void *b, size_t n);
size_t strlen(const char *s);
size_t strnlen(const char *s, size_t max);
int strcmp(const char *a, const char *b);
int strncmp(const char *a, const char *b, size_t n);
char *strchr(const char *s, int c);
/* Parse an unsigned number; base 0 accepts 0x (hex), 0 (octal) or
 * decimal.  *end (if given) points after the last digit used. */
uint64_t strtou64(const char *s, const char **end, int base);

/* main.c: exit protocol (see the comment at the top of main.c). */
#define EXIT_FAIL_GENERIC    1
#define EXIT_FAIL_NO_TEST    2
#define EXIT_FAIL_BOOT       0x7e
#define EXIT_FAIL_EXCEPTION  0x7f
_Noreturn void guest_exit_success(void);
_Noreturn void guest_exit_failure(unsigned code);
_Noreturn void guest_fail(unsigned code, const char *fmt, ...) PRINTF_FMT(2, 3);

/* entry.S identity-maps guest-physical 0..GUEST_MAP_TOP (2 MiB pages);
 * nothing above it is reachable. */
#define GUEST_MAP_TOP   (8ULL << 30)

/* A large static buffer that entry.S does not clear (link.ld): the
 * loader leaves it zero at boot; users must not rely on it being zero
 * after a reset (RAM survives; kvmini's loader zeroes it again, others
 * need not). */
#define GUEST_NOINIT    __attribute__((section(".bss.noinit")))

/* Boot information copied out of hvm_start_info at entry. */
#define BOOT_MEMMAP_MAX 64
struct memmap_entry {
    uint64_t addr;
    uint64_t size;
    uint32_t type;
};
struct boot_info {
    uint32_t version;
    uint64_t rsdp_paddr;
    unsigned memmap_nr;
    struct memmap_entry memmap[BOOT_MEMMAP_MAX];
};
extern struct boot_info boot_info;

/* cmdline.c */
#define CMDLINE_MAX      2048
#define VIRTIO_MMIO_MAX  16
struct virtio_mmio_desc {
    uint64_t base;
    uint32_t size;
    uint32_t irq;      /* IOAPIC pin (GSI) */
};
void cmdline_init(const char *src);   /* copy the boot command line */
void cmdline_parse(void);             /* split it (prints warnings) */
const char *cmdline(void);            /* the full command line */
/* Value of the last key=value token, "" for a bare "key", NULL if absent. */
const char *cmdline_get(const char *key);
uint64_t cmdline_get_u64(const char *key, uint64_t dflt);
unsigned virtio_mmio_count(void);
const struct virtio_mmio_desc *virtio_mmio_get(unsigned i);

/* irq.c: IDT, 8259 PICs (masked), LAPIC, IOAPIC. */
#define IRQ_EDGE        0x0
#define IRQ_LEVEL       0x1
#define IRQ_ACTIVE_LOW  0x2
#define IRQ_VECTOR_BASE 0x30          /* IOAPIC pin n -> vector 0x30 + n */
#define IRQ_MAX_PINS    24
typedef void irq_handler_fn(void *opaque);
void irq_init(void);
/* Route IOAPIC pin to vector IRQ_VECTOR_BASE + pin and unmask it.
 * The handler runs with interrupts disabled; the LAPIC EOI is sent after
 * it returns.  Returns the vector, or -1 for an invalid pin. */
int irq_register(unsigned pin, irq_handler_fn *fn, void *opaque,
                 unsigned flags);
void irq_unregister(unsigned pin);
void irq_mask(unsigned pin);
void irq_unmask(unsigned pin);
/* Interrupts that arrived on a vector without a handler. */
extern volatile unsigned irq_stray_count;

/* One-shot LAPIC timer, for timeouts: it only wakes the CPU and sets a
 * flag.  Assumes KVM's 1 GHz APIC bus clock. */
void timer_start_us(uint64_t us);
void timer_stop(void);
bool timer_expired(void);

/* test-reset.c: record the boot state of the interrupt controllers
 * (main.c, before anything programs them). */
void reset_capture(void);

/* tests.c */
struct guest_test {
    const char *name;
    int (*fn)(void);        /* 0 = pass, else failure exit code (>= 3) */
};
const struct guest_test *test_find(const char *name);
const char *test_current(void);
void test_set_current(const char *name);
/* Print "test NAME: FAIL <reason>" and return code, for test functions. */
int test_fail(int code, const char *fmt, ...) PRINTF_FMT(2, 3);

#endif
