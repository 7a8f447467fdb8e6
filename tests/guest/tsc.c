/* SPDX-License-Identifier: MIT */
/*
 * TSC frequency for the benchmarks of the test guest (see tsc.h).
 */
#include "tsc.h"
#include "io.h"

#define CALIBRATE_SHORT_US  10000
#define CALIBRATE_US        50000           /* measured difference */

static void cpuid(uint32_t leaf, uint32_t *a, uint32_t *b, uint32_t *c,
                  uint32_t *d)
{
    __asm__ volatile("cpuid"
                     : "=a"(*a), "=b"(*b), "=c"(*c), "=d"(*d)
                     : "a"(leaf), "c"(0));
}

/* TSC ticks of one LAPIC-timer sleep of us microseconds. */
static uint64_t tsc_sleep(uint64_t us)
{
    uint64_t t0;

    timer_start_us(us);
    t0 = rdtsc();
    while (!timer_expired()) {
        wait_for_interrupt();
    }
    t0 = rdtsc() - t0;
    timer_stop();
    return t0;
}

uint64_t tsc_khz(const char **source)
{
    uint32_t a, b, c, d;
    uint64_t khz = cmdline_get_u64("tsc_khz", 0), t0, t1;

    if (khz) {
        *source = "cmdline";
        return khz;
    }
    cpuid(0, &a, &b, &c, &d);
    if (a >= 0x15) {
        cpuid(0x15, &a, &b, &c, &d);    /* TSC = crystal (ecx) * b / a */
        if (a && b && c) {
            *source = "cpuid 0x15";
            return (uint64_t)c * b / a / 1000;
        }
    }
    /* Two timed sleeps; their difference cancels the fixed cost of
     * arming the timer and of waking up. */
    *source = "lapic";
    t0 = tsc_sleep(CALIBRATE_SHORT_US);
    t1 = tsc_sleep(CALIBRATE_SHORT_US + CALIBRATE_US);
    if (t1 <= t0) {
        return 0;
    }
    return (t1 - t0) / (CALIBRATE_US / 1000);
}
