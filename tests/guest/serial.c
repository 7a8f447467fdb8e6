/* SPDX-License-Identifier: MIT */
/*
 * 16550 UART driver for COM1 (0x3f8): 115200 8N1, FIFOs on, interrupts
 * off.  Output is polled: wait for the transmit holding register to be
 * empty (LSR.THRE), then write the byte.  Tests may enable interrupts
 * through serial_write_reg().
 */
#include "guest.h"
#include "io.h"

#define UART_THR  0     /* transmit holding register (DLAB=0) */
#define UART_DLL  0     /* divisor latch low (DLAB=1) */
#define UART_DLM  1     /* divisor latch high (DLAB=1) */
#define UART_FCR  2     /* FIFO control (write) */
#define UART_LCR  3     /* line control */

#define UART_LCR_8N1   0x03
#define UART_LCR_DLAB  0x80
#define UART_FCR_INIT  0x07   /* enable + clear both FIFOs */
#define UART_MCR_INIT  0x03   /* DTR | RTS, OUT2 off: no IRQ */
#define UART_LSR_THRE  0x20

void serial_init(void)
{
    outb(SERIAL_PORT + UART_IER, 0);
    outb(SERIAL_PORT + UART_LCR, UART_LCR_DLAB);
    outb(SERIAL_PORT + UART_DLL, 1);          /* 115200 baud */
    outb(SERIAL_PORT + UART_DLM, 0);
    outb(SERIAL_PORT + UART_LCR, UART_LCR_8N1);
    outb(SERIAL_PORT + UART_FCR, UART_FCR_INIT);
    outb(SERIAL_PORT + UART_MCR, UART_MCR_INIT);
}

void serial_putc(char c)
{
    /* A missing UART reads as 0xff, so this cannot hang. */
    while (!(inb(SERIAL_PORT + UART_LSR) & UART_LSR_THRE)) {
        __asm__ volatile("pause");
    }
    outb(SERIAL_PORT + UART_THR, (uint8_t)c);
}

void serial_write(const char *s, size_t n)
{
    while (n--) {
        serial_putc(*s++);
    }
}

uint8_t serial_read(unsigned reg)
{
    return inb((uint16_t)(SERIAL_PORT + reg));
}

void serial_write_reg(unsigned reg, uint8_t v)
{
    outb((uint16_t)(SERIAL_PORT + reg), v);
}
