/* SPDX-License-Identifier: MIT */
/*
 * Interrupts: the IDT (256 gates into isr.S), CPU exception reporting,
 * both 8259 PICs (remapped to 0x20-0x2f, then fully masked), the local
 * APIC at 0xfee00000 (software-enabled, LINT0/LINT1 masked, one-shot
 * timer for timeouts) and the IOAPIC at 0xfec00000 (all pins masked until
 * irq_register() routes one to vector IRQ_VECTOR_BASE + pin, physical
 * destination = this CPU).
 */
#include "guest.h"
#include "io.h"

/* Saved by isr.S, lowest address first. */
struct trap_frame {
    uint64_t r15, r14, r13, r12, r11, r10, r9, r8;
    uint64_t rdi, rsi, rbp, rbx, rdx, rcx, rax;
    uint64_t vector, error;
    uint64_t rip, cs, rflags, rsp, ss;     /* pushed by the CPU */
};

struct idt_gate {
    uint16_t off_lo;
    uint16_t selector;
    uint8_t ist;
    uint8_t type;           /* 0x8e: present, DPL 0, 64-bit interrupt gate */
    uint16_t off_mid;
    uint32_t off_hi;
    uint32_t reserved;
};

#define KERNEL_CS         0x08
#define ISR_STUB_SIZE     16

#define PIC1_CMD          0x20
#define PIC1_DATA         0x21
#define PIC2_CMD          0xa0
#define PIC2_DATA         0xa1
#define PIC_VECTOR_BASE   0x20

#define LAPIC_BASE        0xfee00000ull
#define LAPIC_ID          0x020
#define LAPIC_TPR         0x080
#define LAPIC_EOI         0x0b0
#define LAPIC_SVR         0x0f0
#define LAPIC_LVT_TIMER   0x320
#define LAPIC_LVT_LINT0   0x350
#define LAPIC_LVT_LINT1   0x360
#define LAPIC_LVT_ERROR   0x370
#define LAPIC_TIMER_INIT  0x380
#define LAPIC_TIMER_CUR   0x390
#define LAPIC_TIMER_DIV   0x3e0
#define LAPIC_SVR_ENABLE  0x100
#define LAPIC_LVT_MASKED  0x10000
#define LAPIC_DIV_16      0x3

#define IOAPIC_BASE       0xfec00000ull
#define IOAPIC_REGSEL     0x00
#define IOAPIC_WIN        0x10
#define IOAPIC_VER        0x01
#define IOAPIC_REDIR(pin) (0x10 + 2 * (pin))
#define IOAPIC_LEVEL      (1u << 15)
#define IOAPIC_ACTIVE_LOW (1u << 13)
#define IOAPIC_MASKED     (1u << 16)

#define TIMER_VECTOR      0xf0
#define SPURIOUS_VECTOR   0xff

struct vector_handler {
    irq_handler_fn *fn;
    void *opaque;
};

extern const char isr_stubs[];
void trap_dispatch(struct trap_frame *f);

static struct idt_gate idt[256] __attribute__((aligned(16)));
static struct vector_handler handlers[256];
static uint32_t redir_lo[IRQ_MAX_PINS];   /* shadow of the low words */
static unsigned ioapic_pins;
static uint32_t lapic_id;
static volatile bool timer_fired;
volatile unsigned irq_stray_count;

static uint32_t lapic_read(unsigned reg)
{
    return mmio_read32(LAPIC_BASE + reg);
}

static void lapic_write(unsigned reg, uint32_t v)
{
    mmio_write32(LAPIC_BASE + reg, v);
}

static uint32_t ioapic_read(unsigned reg)
{
    mmio_write32(IOAPIC_BASE + IOAPIC_REGSEL, reg);
    return mmio_read32(IOAPIC_BASE + IOAPIC_WIN);
}

static void ioapic_write(unsigned reg, uint32_t v)
{
    mmio_write32(IOAPIC_BASE + IOAPIC_REGSEL, reg);
    mmio_write32(IOAPIC_BASE + IOAPIC_WIN, v);
}

static void idt_init(void)
{
    struct {
        uint16_t limit;
        uint64_t base;
    } __attribute__((packed)) idtr = { sizeof(idt) - 1, (uint64_t)idt };
    unsigned v;

    for (v = 0; v < 256; v++) {
        uint64_t addr = (uint64_t)(isr_stubs + v * ISR_STUB_SIZE);

        idt[v].off_lo = (uint16_t)addr;
        idt[v].selector = KERNEL_CS;
        idt[v].type = 0x8e;
        idt[v].off_mid = (uint16_t)(addr >> 16);
        idt[v].off_hi = (uint32_t)(addr >> 32);
    }
    __asm__ volatile("lidt %0" : : "m"(idtr));
}

/* Remap both PICs away from the exception vectors, then mask every line:
 * all interrupts come through the IOAPIC. */
static void pic_disable(void)
{
    outb(PIC1_CMD, 0x11);                   /* ICW1: init, ICW4 follows */
    outb(PIC2_CMD, 0x11);
    outb(PIC1_DATA, PIC_VECTOR_BASE);       /* ICW2: vector base */
    outb(PIC2_DATA, PIC_VECTOR_BASE + 8);
    outb(PIC1_DATA, 0x04);                  /* ICW3: slave on IRQ2 */
    outb(PIC2_DATA, 0x02);
    outb(PIC1_DATA, 0x01);                  /* ICW4: 8086 mode */
    outb(PIC2_DATA, 0x01);
    outb(PIC1_DATA, 0xff);                  /* OCW1: mask all */
    outb(PIC2_DATA, 0xff);
}

static void lapic_init(void)
{
    lapic_write(LAPIC_TPR, 0);
    lapic_write(LAPIC_LVT_LINT0, LAPIC_LVT_MASKED);
    lapic_write(LAPIC_LVT_LINT1, LAPIC_LVT_MASKED);
    lapic_write(LAPIC_LVT_ERROR, LAPIC_LVT_MASKED);
    lapic_write(LAPIC_LVT_TIMER, LAPIC_LVT_MASKED | TIMER_VECTOR);
    lapic_write(LAPIC_SVR, LAPIC_SVR_ENABLE | SPURIOUS_VECTOR);
    lapic_id = lapic_read(LAPIC_ID) >> 24;
}

static void ioapic_init(void)
{
    unsigned pin;

    ioapic_pins = ((ioapic_read(IOAPIC_VER) >> 16) & 0xff) + 1;
    if (ioapic_pins > IRQ_MAX_PINS) {
        ioapic_pins = IRQ_MAX_PINS;
    }
    for (pin = 0; pin < ioapic_pins; pin++) {
        redir_lo[pin] = IOAPIC_MASKED | (IRQ_VECTOR_BASE + pin);
        ioapic_write(IOAPIC_REDIR(pin), redir_lo[pin]);
    }
}

/* A one-shot that expired while interrupts were off stays pending and
 * arrives after the timer was armed again: it belongs to the old deadline
 * if the new countdown is still running, so ignore it then. */
static void timer_irq(void *opaque)
{
    (void)opaque;
    if (lapic_read(LAPIC_TIMER_CUR) != 0) {
        return;
    }
    timer_fired = true;
}

void irq_init(void)
{
    idt_init();
    pic_disable();
    lapic_init();
    ioapic_init();
    handlers[TIMER_VECTOR].fn = timer_irq;
}

int irq_register(unsigned pin, irq_handler_fn *fn, void *opaque,
                 unsigned flags)
{
    unsigned vector = IRQ_VECTOR_BASE + pin;
    uint32_t lo = vector;

    if (pin >= ioapic_pins) {
        return -1;
    }
    if (flags & IRQ_LEVEL) {
        lo |= IOAPIC_LEVEL;
    }
    if (flags & IRQ_ACTIVE_LOW) {
        lo |= IOAPIC_ACTIVE_LOW;
    }
    handlers[vector].fn = fn;
    handlers[vector].opaque = opaque;
    redir_lo[pin] = lo;
    ioapic_write(IOAPIC_REDIR(pin) + 1, lapic_id << 24);
    ioapic_write(IOAPIC_REDIR(pin), lo);
    return (int)vector;
}

void irq_mask(unsigned pin)
{
    if (pin < ioapic_pins) {
        redir_lo[pin] |= IOAPIC_MASKED;
        ioapic_write(IOAPIC_REDIR(pin), redir_lo[pin]);
    }
}

void irq_unmask(unsigned pin)
{
    if (pin < ioapic_pins) {
        redir_lo[pin] &= ~IOAPIC_MASKED;
        ioapic_write(IOAPIC_REDIR(pin), redir_lo[pin]);
    }
}

void irq_unregister(unsigned pin)
{
    if (pin < ioapic_pins) {
        irq_mask(pin);
        handlers[IRQ_VECTOR_BASE + pin].fn = NULL;
    }
}

void timer_start_us(uint64_t us)
{
    /* 1 GHz APIC bus clock / 16 = 62.5 ticks per microsecond. */
    uint64_t ticks = us * 125 / 2;

    if (ticks == 0) {
        ticks = 1;
    } else if (ticks > 0xffffffffu) {
        ticks = 0xffffffffu;
    }
    timer_fired = false;
    lapic_write(LAPIC_TIMER_DIV, LAPIC_DIV_16);
    lapic_write(LAPIC_LVT_TIMER, TIMER_VECTOR);     /* one-shot, unmasked */
    lapic_write(LAPIC_TIMER_INIT, (uint32_t)ticks);
}

void timer_stop(void)
{
    lapic_write(LAPIC_TIMER_INIT, 0);
    lapic_write(LAPIC_LVT_TIMER, LAPIC_LVT_MASKED | TIMER_VECTOR);
}

bool timer_expired(void)
{
    return timer_fired;
}

_Noreturn static void exception(struct trap_frame *f)
{
    static bool nested;

    if (nested) {
        guest_exit_failure(EXIT_FAIL_EXCEPTION);
    }
    nested = true;
    printf("exception %lu at RIP 0x%lx error 0x%lx", f->vector, f->rip,
           f->error);
    if (f->vector == 14) {
        printf(" cr2 0x%lx", read_cr2());
    }
    printf("\n");
    guest_exit_failure(EXIT_FAIL_EXCEPTION);
}

void trap_dispatch(struct trap_frame *f)
{
    struct vector_handler *h;

    if (f->vector < 32) {
        exception(f);
    }
    if (f->vector == SPURIOUS_VECTOR) {
        return;                         /* no EOI for spurious */
    }
    h = &handlers[f->vector];
    if (h->fn) {
        h->fn(h->opaque);
    } else {
        irq_stray_count++;
    }
    lapic_write(LAPIC_EOI, 0);
}
