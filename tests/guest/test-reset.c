/* SPDX-License-Identifier: MIT */
/*
 * test=reset: system_reset must give the guest the machine it booted on.
 *
 * main.c calls reset_capture() first thing, before the guest programs
 * anything, to record what the interrupt controllers and a few MSRs hold
 * at boot.  The first boot stores that record at RESET_AREA (RAM survives
 * system_reset, as on QEMU), then changes all of it — LAPIC timer
 * periodic and unmasked, TPR raised, an IOAPIC pin unmasked, the PICs
 * masked by irq_init, SYSENTER_CS written — prints "test reset: armed"
 * and halts; the host then sends QMP system_reset.  The second boot
 * compares its own record with the stored one, field by field, and
 * passes only if every one is back to its boot value.
 *
 *   reset: first boot, armed            test reset: armed
 *   reset: second boot                  test reset: PASS
 *   test reset: FAIL <field> is 0x.. after the reset, 0x.. at boot
 *                                       exit code 3
 */
#include "guest.h"
#include "io.h"

#define RESET_AREA        0x1000000ull      /* 16 MiB */
#define RESET_MAGIC       0x7265736574746f6bull
#define RESET_FAIL        3

#define LAPIC_BASE        0xfee00000ull
#define LAPIC_TPR         0x080
#define LAPIC_SVR         0x0f0
#define LAPIC_LVT_TIMER   0x320
#define LAPIC_TIMER_INIT  0x380
#define LAPIC_TIMER_DIV   0x3e0
#define IOAPIC_BASE       0xfec00000ull
#define IOAPIC_REDIR(pin) (0x10 + 2 * (pin))
#define RESET_PIN         5
#define MSR_SYSENTER_CS   0x174
#define MSR_APIC_BASE     0x1b

struct reset_state {
    uint32_t lvt_timer, timer_init, timer_div, tpr, svr;
    uint32_t redir_lo, redir_hi;
    uint8_t pic_master_imr, pic_slave_imr;
    uint64_t sysenter_cs, apic_base;
};

struct reset_area {
    uint64_t magic;
    struct reset_state boot;
};

static struct reset_state at_boot;

static uint32_t lapic_read(unsigned reg)
{
    return *(volatile uint32_t *)(uintptr_t)(LAPIC_BASE + reg);
}

static void lapic_write(unsigned reg, uint32_t v)
{
    *(volatile uint32_t *)(uintptr_t)(LAPIC_BASE + reg) = v;
}

static uint32_t ioapic_read(unsigned reg)
{
    *(volatile uint32_t *)(uintptr_t)IOAPIC_BASE = reg;
    return *(volatile uint32_t *)(uintptr_t)(IOAPIC_BASE + 0x10);
}

static void ioapic_write(unsigned reg, uint32_t v)
{
    *(volatile uint32_t *)(uintptr_t)IOAPIC_BASE = reg;
    *(volatile uint32_t *)(uintptr_t)(IOAPIC_BASE + 0x10) = v;
}

static uint64_t rdmsr(uint32_t msr)
{
    uint32_t lo, hi;

    __asm__ volatile("rdmsr" : "=a"(lo), "=d"(hi) : "c"(msr));
    return ((uint64_t)hi << 32) | lo;
}

static void wrmsr(uint32_t msr, uint64_t v)
{
    __asm__ volatile("wrmsr" : : "c"(msr), "a"((uint32_t)v),
                     "d"((uint32_t)(v >> 32)));
}

void reset_capture(void)
{
    at_boot.lvt_timer = lapic_read(LAPIC_LVT_TIMER);
    at_boot.timer_init = lapic_read(LAPIC_TIMER_INIT);
    at_boot.timer_div = lapic_read(LAPIC_TIMER_DIV);
    at_boot.tpr = lapic_read(LAPIC_TPR);
    at_boot.svr = lapic_read(LAPIC_SVR);
    at_boot.redir_lo = ioapic_read(IOAPIC_REDIR(RESET_PIN));
    at_boot.redir_hi = ioapic_read(IOAPIC_REDIR(RESET_PIN) + 1);
    at_boot.pic_master_imr = inb(0x21);
    at_boot.pic_slave_imr = inb(0xa1);
    at_boot.sysenter_cs = rdmsr(MSR_SYSENTER_CS);
    at_boot.apic_base = rdmsr(MSR_APIC_BASE);
}

/* Everything reset_capture reads, changed (irq_init already masked the
 * PICs and enabled the LAPIC). */
static void disturb(void)
{
    lapic_write(LAPIC_TIMER_DIV, 0xb);                  /* divide by 1 */
    lapic_write(LAPIC_LVT_TIMER, 0x20000 | 0xef);       /* periodic */
    lapic_write(LAPIC_TIMER_INIT, 0x7fffffff);
    lapic_write(LAPIC_TPR, 0x20);
    ioapic_write(IOAPIC_REDIR(RESET_PIN) + 1, 0x01000000);
    ioapic_write(IOAPIC_REDIR(RESET_PIN), 0xee);        /* unmasked */
    wrmsr(MSR_SYSENTER_CS, 0x1234);
}

#define CHECK(field)                                                        \
    do {                                                                    \
        if (now->field != boot->field) {                                    \
            return test_fail(RESET_FAIL, #field " is 0x%llx after the "     \
                             "reset, 0x%llx at boot",                      \
                             (unsigned long long)now->field,               \
                             (unsigned long long)boot->field);             \
        }                                                                   \
    } while (0)

static int compare(const struct reset_state *now,
                   const struct reset_state *boot)
{
    CHECK(lvt_timer);
    CHECK(timer_init);
    CHECK(timer_div);
    CHECK(tpr);
    CHECK(svr);
    CHECK(redir_lo);
    CHECK(redir_hi);
    CHECK(pic_master_imr);
    CHECK(pic_slave_imr);
    CHECK(sysenter_cs);
    CHECK(apic_base);
    return 0;
}

int test_reset(void)
{
    volatile struct reset_area *area =
        (volatile struct reset_area *)(uintptr_t)RESET_AREA;
    struct reset_state boot;

    if (area->magic != RESET_MAGIC) {
        area->boot = at_boot;
        area->magic = RESET_MAGIC;
        cli();
        disturb();
        printf("reset: first boot, armed\n");
        printf("test reset: armed\n");
        for (;;) {
            __asm__ volatile("hlt" : : : "memory");
        }
    }
    area->magic = 0;
    boot = area->boot;
    printf("reset: second boot\n");
    return compare(&at_boot, &boot);
}
