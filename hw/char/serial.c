/* SPDX-License-Identifier: MIT */
/*
 * 16550A UART emulation (register model from the National Semiconductor
 * PC16550D data sheet).  The interrupt line is the "interrupt pending"
 * state: IIR bit 0 clear.  As on QEMU, OUT2 does not gate the line.
 */
#include "hw/char/serial.h"
#include "qemu/log.h"

#define UART_RBR 0      /* read; THR on write; DLL with DLAB */
#define UART_IER 1      /* DLM with DLAB */
#define UART_IIR 2      /* read; FCR on write */
#define UART_LCR 3
#define UART_MCR 4
#define UART_LSR 5
#define UART_MSR 6
#define UART_SCR 7

#define IER_RDI   0x01  /* received data available */
#define IER_THRI  0x02  /* transmitter holding register empty */
#define IER_RLSI  0x04  /* receiver line status */
#define IER_MSI   0x08  /* modem status */

#define IIR_NO_INT 0x01
#define IIR_MSI    0x00
#define IIR_THRI   0x02
#define IIR_RDI    0x04
#define IIR_RLSI   0x06
#define IIR_FIFO   0xc0

#define FCR_ENABLE 0x01
#define FCR_CLR_RX 0x02

#define LCR_DLAB   0x80
#define MCR_LOOP   0x10
#define LSR_DR     0x01
#define LSR_OE     0x02
#define LSR_THRE   0x20
#define LSR_TEMT   0x40
#define MSR_DEFAULT 0xb0 /* DCD, DSR, CTS */

#define RX_FIFO_SIZE 16

struct SerialState {
    MemoryRegion io;
    Chardev *chr;
    SerialIrqFn *irq;
    void *irq_opaque;
    GMutex *lock;

    uint16_t divider;
    uint8_t ier, iir, fcr, lcr, mcr, lsr, msr, scr;
    bool thr_ipending;      /* THRE interrupt latched until IIR read/THR write */
    int irq_level;

    uint8_t rx[RX_FIFO_SIZE];
    unsigned rx_head, rx_count;
};

static uint8_t serial_pending_iir(SerialState *s)
{
    if ((s->ier & IER_RLSI) && (s->lsr & LSR_OE)) {
        return IIR_RLSI;
    }
    if ((s->ier & IER_RDI) && s->rx_count) {
        return IIR_RDI;
    }
    if ((s->ier & IER_THRI) && s->thr_ipending) {
        return IIR_THRI;
    }
    if ((s->ier & IER_MSI) && (s->msr & 0x0f)) {
        return IIR_MSI;
    }
    return IIR_NO_INT;
}

static void serial_update_irq(SerialState *s)
{
    uint8_t id = serial_pending_iir(s);
    int level = id != IIR_NO_INT;

    s->iir = id | ((s->fcr & FCR_ENABLE) ? IIR_FIFO : 0);
    if (level != s->irq_level) {
        s->irq_level = level;
        if (s->irq) {
            s->irq(s->irq_opaque, level);
        }
    }
}

static void serial_rx_push(SerialState *s, uint8_t byte)
{
    if (s->rx_count == RX_FIFO_SIZE) {
        s->lsr |= LSR_OE;
        return;
    }
    s->rx[(s->rx_head + s->rx_count) % RX_FIFO_SIZE] = byte;
    s->rx_count++;
    s->lsr |= LSR_DR;
}

static uint8_t serial_rx_pop(SerialState *s)
{
    uint8_t byte = 0;

    if (s->rx_count) {
        byte = s->rx[s->rx_head];
        s->rx_head = (s->rx_head + 1) % RX_FIFO_SIZE;
        s->rx_count--;
    }
    if (!s->rx_count) {
        s->lsr &= ~LSR_DR;
    }
    return byte;
}

static void serial_transmit(SerialState *s, uint8_t byte)
{
    if (s->mcr & MCR_LOOP) {
        serial_rx_push(s, byte);
    } else if (s->chr) {
        qemu_chr_write_all(s->chr, &byte, 1);
    }
    /* Sent at once: the holding register is empty again. */
    s->thr_ipending = true;
    s->lsr |= LSR_THRE | LSR_TEMT;
}

static void serial_write_fcr(SerialState *s, uint8_t val)
{
    if (val & FCR_CLR_RX) {
        s->rx_count = 0;
        s->lsr &= ~LSR_DR;
    }
    s->fcr = val & 0xc9;    /* enable, DMA mode, trigger level */
}

static void serial_write_ier(SerialState *s, uint8_t val)
{
    uint8_t old = s->ier;

    s->ier = val & 0x0f;
    /* Enabling THRI with an empty THR raises the interrupt at once. */
    if (!(old & IER_THRI) && (s->ier & IER_THRI) && (s->lsr & LSR_THRE)) {
        s->thr_ipending = true;
    }
}

static void serial_write(void *opaque, hwaddr addr, uint64_t val,
                         unsigned size)
{
    SerialState *s = opaque;
    bool dlab = s->lcr & LCR_DLAB;

    switch (addr) {
    case UART_RBR:
        if (dlab) {
            s->divider = (s->divider & 0xff00) | val;
        } else {
            s->thr_ipending = false;
            serial_transmit(s, val);
        }
        break;
    case UART_IER:
        if (dlab) {
            s->divider = (s->divider & 0x00ff) | (val << 8);
        } else {
            serial_write_ier(s, val);
        }
        break;
    case UART_IIR: serial_write_fcr(s, val); break;
    case UART_LCR: s->lcr = val; break;
    case UART_MCR: s->mcr = val & 0x1f; break;
    case UART_LSR: break;   /* read-only (factory test) */
    case UART_MSR: break;
    case UART_SCR: s->scr = val; break;
    }
    serial_update_irq(s);
}

static uint8_t serial_read_msr(SerialState *s)
{
    if (s->mcr & MCR_LOOP) {
        /* Loopback: DTR->DSR, RTS->CTS, OUT1->RI, OUT2->DCD. */
        return ((s->mcr & 0x0c) << 4) | ((s->mcr & 0x01) << 5) |
               ((s->mcr & 0x02) << 3);
    }
    return s->msr;
}

static uint64_t serial_read(void *opaque, hwaddr addr, unsigned size)
{
    SerialState *s = opaque;
    bool dlab = s->lcr & LCR_DLAB;
    uint8_t ret = 0;

    switch (addr) {
    case UART_RBR: ret = dlab ? (s->divider & 0xff) : serial_rx_pop(s); break;
    case UART_IER: ret = dlab ? (s->divider >> 8) : s->ier; break;
    case UART_IIR:
        ret = s->iir;
        if ((ret & 0x0f) == IIR_THRI) {
            s->thr_ipending = false;    /* reading IIR acknowledges THRE */
        }
        break;
    case UART_LCR: ret = s->lcr; break;
    case UART_MCR: ret = s->mcr; break;
    case UART_LSR:
        ret = s->lsr;
        s->lsr &= ~LSR_OE;
        break;
    case UART_MSR: ret = serial_read_msr(s); break;
    case UART_SCR: ret = s->scr; break;
    }
    serial_update_irq(s);
    return ret;
}

static const MemoryRegionOps serial_ops = {
    .read = serial_read,
    .write = serial_write,
    .impl_min = 1,
    .impl_max = 1,
};

static void serial_receive(void *opaque, const uint8_t *buf, size_t len)
{
    SerialState *s = opaque;

    g_mutex_lock(s->lock);
    for (size_t i = 0; i < len; i++) {
        serial_rx_push(s, buf[i]);
    }
    serial_update_irq(s);
    g_mutex_unlock(s->lock);
}

SerialState *serial_new(Chardev *chr, SerialIrqFn *irq, void *irq_opaque,
                        GMutex *lock)
{
    SerialState *s = g_new0(SerialState, 1);

    s->chr = chr;
    s->irq = irq;
    s->irq_opaque = irq_opaque;
    s->lock = lock;
    s->divider = 12;        /* 9600 baud */
    s->lsr = LSR_THRE | LSR_TEMT;
    s->msr = MSR_DEFAULT;
    s->iir = IIR_NO_INT;
    memory_region_init_io(&s->io, &serial_ops, s, "serial", 8);
    if (chr) {
        qemu_chr_fe_set_handlers(chr, serial_receive, NULL, s);
    }
    return s;
}

MemoryRegion *serial_io_region(SerialState *s)
{
    return &s->io;
}

void serial_free(SerialState *s)
{
    if (!s) {
        return;
    }
    if (s->chr) {
        qemu_chr_fe_set_handlers(s->chr, NULL, NULL, NULL);
    }
    memory_region_finalize(&s->io);
    g_free(s);
}
