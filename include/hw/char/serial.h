/* SPDX-License-Identifier: MIT */
/*
 * 16550A UART: 8 I/O ports, 16-byte receive FIFO, THRE/RDA/RLS/MSR
 * interrupts, loopback.  Output goes to a chardev at once (the transmitter
 * is infinitely fast); input comes from the chardev on the main loop.
 */
#ifndef HW_CHAR_SERIAL_H
#define HW_CHAR_SERIAL_H

#include "chardev/char.h"
#include "exec/memory.h"

typedef struct SerialState SerialState;
typedef void SerialIrqFn(void *opaque, int level);

/* chr may be NULL (output discarded).  irq is called with the new line
 * level, with `lock` held; input handlers take `lock` themselves. */
SerialState *serial_new(Chardev *chr, SerialIrqFn *irq, void *irq_opaque,
                        GMutex *lock);
/* The 8-byte port-I/O region to map at the base port. */
MemoryRegion *serial_io_region(SerialState *s);
void serial_free(SerialState *s);

#endif
