/* SPDX-License-Identifier: MIT */
/*
 * test=irq: proves that an interrupt raised by a device model reaches the
 * CPU through the in-kernel IOAPIC and LAPIC.  IOAPIC pin 4 (COM1, edge,
 * active high) is routed to a vector and the UART's "transmit holding
 * register empty" interrupt is enabled (IER.ETBEI, plus MCR.OUT2, which
 * gates the IRQ line on real hardware).  THR is empty, so the UART raises
 * its line at once; the handler acknowledges by reading IIR and clearing
 * IER.  This is done IRQ_TEST_ROUNDS times (each re-enable is a new edge),
 * sleeping in sti;hlt between, bounded by a LAPIC-timer timeout
 * (irq_timeout_ms=, default 1000) and at most 1000 wake-ups.
 *
 *   irq: N interrupts on vector 0xV
 *   test irq: PASS                       (N >= 1)
 *   test irq: FAIL no interrupt          exit code 3
 *
 * irq_masked=1 leaves the IOAPIC pin masked, so the test must fail: a
 * self-check that it cannot pass by accident.
 */
#include "guest.h"
#include "io.h"

#define IRQ_TEST_FAIL    3
#define IRQ_TEST_ROUNDS  3
#define IRQ_TEST_WAKEUPS 1000

static volatile unsigned uart_irqs;

static void uart_irq(void *opaque)
{
    (void)opaque;
    (void)serial_read(UART_IIR);        /* acknowledges THRE */
    serial_write_reg(UART_IER, 0);
    uart_irqs++;
}

int test_irq(void)
{
    uint64_t timeout_ms = cmdline_get_u64("irq_timeout_ms", 1000);
    bool masked = cmdline_get_u64("irq_masked", 0) != 0;
    unsigned round, wakeups = 0;
    uint8_t mcr;
    int vector;

    cli();
    vector = irq_register(SERIAL_IRQ, uart_irq, NULL, IRQ_EDGE);
    if (vector < 0) {
        return test_fail(IRQ_TEST_FAIL, "IOAPIC has no pin %u", SERIAL_IRQ);
    }
    if (masked) {
        irq_mask(SERIAL_IRQ);
    }
    mcr = serial_read(UART_MCR);
    serial_write_reg(UART_MCR, mcr | UART_MCR_OUT2);

    timer_start_us(timeout_ms * 1000);
    for (round = 0; round < IRQ_TEST_ROUNDS; round++) {
        serial_write_reg(UART_IER, UART_IER_THRI);
        while (uart_irqs <= round && !timer_expired() &&
               wakeups < IRQ_TEST_WAKEUPS) {
            wait_for_interrupt();
            wakeups++;
        }
        if (uart_irqs <= round) {
            break;
        }
    }
    timer_stop();
    serial_write_reg(UART_IER, 0);
    serial_write_reg(UART_MCR, mcr);
    irq_unregister(SERIAL_IRQ);

    printf("irq: %u interrupts on vector 0x%x\n", uart_irqs, vector);
    if (irq_stray_count) {
        printf("irq: %u stray interrupts\n", irq_stray_count);
    }
    if (uart_irqs == 0) {
        return test_fail(IRQ_TEST_FAIL, "no interrupt");
    }
    return 0;
}
