/* SPDX-License-Identifier: MIT */
/*
 * Time-stamp counter for the benchmarks of the test guest (tsc.c).
 */
#ifndef GUEST_TSC_H
#define GUEST_TSC_H

#include "guest.h"

static inline uint64_t rdtsc(void)
{
    uint32_t lo, hi;

    __asm__ volatile("lfence; rdtsc" : "=a"(lo), "=d"(hi) : : "memory");
    return ((uint64_t)hi << 32) | lo;
}

/*
 * TSC frequency in kHz: tsc_khz= from the command line if given, else
 * CPUID leaf 0x15 when it names the crystal clock, else a calibration
 * against the LAPIC timer (KVM's 1 GHz APIC bus clock, as irq.c assumes):
 * the difference between a 10 ms and a 60 ms sleep, which cancels the
 * wake-up latency.  CPUID 0x16 is not used: it reports the nominal core
 * frequency, which is not guaranteed to be the TSC rate, and VMMs differ
 * in whether they pass it through, which would skew side-by-side
 * comparisons.  *source is set to "cmdline", "cpuid 0x15" or "lapic".
 * Returns 0 if the calibration failed.
 */
uint64_t tsc_khz(const char **source);

/* Microseconds of a TSC interval at khz. */
static inline uint64_t tsc_to_us(uint64_t ticks, uint64_t khz)
{
    return khz ? ticks * 1000 / khz : 0;
}

#endif
