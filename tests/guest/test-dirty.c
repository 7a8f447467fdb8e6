/* SPDX-License-Identifier: MIT */
/*
 * test=dirty: keeps rewriting a pattern over a memory range and checks,
 * before each rewrite, that the previous round's pattern is still there;
 * sleeps on the LAPIC timer between rounds.  Made to be live-migrated:
 * memory written before the switch-over is read back after it, on the
 * other host, and the timer, interrupt controller and registers must
 * have moved too for the guest to wake up and finish.
 *
 * Command line (all optional):
 *   dirty_base=ADDR   start of the range (default 32 MiB)
 *   dirty_pages=N     pages in the range (default 256)
 *   dirty_iters=N     rounds (default 100)
 *   dirty_sleep_us=N  sleep between rounds (default 20000)
 *   dirty_hotplug=1   the range is memory that will be hot-plugged (a
 *                     dimm): if the boot memory map does not list it,
 *                     print "test dirty: waiting for memory" and probe it
 *                     every 10 ms until it is writable RAM
 *   dirty_wait_ms=N   give up waiting after N ms of sleeps (default 60000)
 *
 * The range must lie below 8 GiB (the identity map of entry.S).  A probe
 * writes a value to the first and the last word of the range and reads
 * it back: unassigned guest-physical memory drops writes and reads back
 * all-ones (kvmini, QEMU) or zero, never the value written.  Each probe
 * of unassigned memory costs four MMIO exits.
 *
 * Output: "test dirty: started" (after "dirty: memory at ADDR after N
 * ms" when it waited), "dirty: round N" every 10 rounds, then PASS.
 * Failure codes: 3 the range is not RAM (without dirty_hotplug=1) or is
 * empty or above 8 GiB; 4 a mismatch, with the address, the expected and
 * found words; 5 no memory appeared within dirty_wait_ms.
 * Each page gets 8 words (one per 512 bytes): every instruction is slow
 * on the hosts this runs on, and 8 words per page are enough to catch a
 * page that was not migrated.
 */
#include "guest.h"
#include "io.h"

#define PAGE_SIZE       4096
#define WORDS_PER_PAGE  8
#define WORD_STRIDE     (PAGE_SIZE / WORDS_PER_PAGE / 8)
#define PROBE_US        10000
#define PROBE_MAGIC     0x6b766d696e690000ULL   /* "kvmini", probe no. */

static uint64_t pattern(uint64_t round, uint64_t page, unsigned word)
{
    return (round << 40) ^ (page << 8) ^ word ^ 0x5a5a000000000000ULL;
}

static bool range_is_ram(uint64_t base, uint64_t len)
{
    for (unsigned i = 0; i < boot_info.memmap_nr; i++) {
        const struct memmap_entry *e = &boot_info.memmap[i];

        if (e->type == 1 && base >= e->addr &&
            base + len <= e->addr + e->size) {
            return true;
        }
    }
    return false;
}

/* Check round - 1's words of every page (unless round is 0), then write
 * round's.  Returns the failing address or 0. */
static uint64_t dirty_round(uint64_t base, uint64_t pages, uint64_t round,
                            uint64_t *found, uint64_t *want)
{
    for (uint64_t p = 0; p < pages; p++) {
        volatile uint64_t *w = (volatile uint64_t *)(uintptr_t)
                               (base + p * PAGE_SIZE);

        for (unsigned i = 0; i < WORDS_PER_PAGE; i++) {
            uint64_t v = w[i * WORD_STRIDE];

            if (round && v != pattern(round - 1, p, i)) {
                *found = v;
                *want = pattern(round - 1, p, i);
                return (uint64_t)(uintptr_t)&w[i * WORD_STRIDE];
            }
            w[i * WORD_STRIDE] = pattern(round, p, i);
        }
    }
    return 0;
}

static void sleep_us(uint64_t us)
{
    timer_start_us(us);
    while (!timer_expired()) {
        wait_for_interrupt();
    }
    timer_stop();
}

/* Probe n: both ends of the range keep what was written to them (values
 * that are neither zero nor all-ones, and new on every probe). */
static bool range_is_writable(uint64_t base, uint64_t len, uint64_t n)
{
    volatile uint64_t *first = (volatile uint64_t *)(uintptr_t)base;
    volatile uint64_t *last = (volatile uint64_t *)(uintptr_t)
                              (base + len - 8);
    uint64_t v = PROBE_MAGIC | (n & 0xffff);

    *first = v;
    *last = ~v;
    return *first == v && *last == ~v;
}

/* dirty_hotplug=1: wait until the range is writable RAM.  Returns 0, or
 * the failure code after wait_ms of sleeps. */
static int wait_for_memory(uint64_t base, uint64_t len, uint64_t wait_ms)
{
    uint64_t waited_us = 0;

    printf("test dirty: waiting for memory\n");
    for (uint64_t n = 0; !range_is_writable(base, len, n); n++) {
        if (waited_us >= wait_ms * 1000) {
            return test_fail(5, "no memory at 0x%llx + %llu bytes after "
                             "%llu ms (dirty_wait_ms)",
                             (unsigned long long)base,
                             (unsigned long long)len,
                             (unsigned long long)wait_ms);
        }
        sleep_us(PROBE_US);
        waited_us += PROBE_US;
    }
    printf("dirty: memory at 0x%llx after %llu ms\n",
           (unsigned long long)base, (unsigned long long)waited_us / 1000);
    return 0;
}

/* Returns 0 once the range is RAM to use, or a failure code. */
static int dirty_range_ready(uint64_t base, uint64_t pages)
{
    uint64_t len = pages * PAGE_SIZE;

    if (!pages || pages > GUEST_MAP_TOP / PAGE_SIZE ||
        base > GUEST_MAP_TOP || len > GUEST_MAP_TOP - base) {
        return test_fail(3, "range 0x%llx + %llu pages is empty or not "
                         "below 0x%llx (the identity map)",
                         (unsigned long long)base,
                         (unsigned long long)pages, GUEST_MAP_TOP);
    }
    if (range_is_ram(base, len)) {
        return 0;
    }
    if (!cmdline_get_u64("dirty_hotplug", 0)) {
        return test_fail(3, "range 0x%llx + %llu pages is not RAM",
                         (unsigned long long)base,
                         (unsigned long long)pages);
    }
    return wait_for_memory(base, len,
                           cmdline_get_u64("dirty_wait_ms", 60000));
}

int test_dirty(void)
{
    uint64_t base = cmdline_get_u64("dirty_base", 32ULL << 20);
    uint64_t pages = cmdline_get_u64("dirty_pages", 256);
    uint64_t iters = cmdline_get_u64("dirty_iters", 100);
    uint64_t sleep = cmdline_get_u64("dirty_sleep_us", 20000);
    uint64_t found, want, bad;
    int ret = dirty_range_ready(base, pages);

    if (ret) {
        return ret;
    }
    printf("test dirty: started\n");
    for (uint64_t r = 0; r < iters; r++) {
        bad = dirty_round(base, pages, r, &found, &want);
        if (bad) {
            return test_fail(4, "round %llu: 0x%llx holds 0x%llx, expected "
                             "0x%llx", (unsigned long long)r,
                             (unsigned long long)bad,
                             (unsigned long long)found,
                             (unsigned long long)want);
        }
        if (r % 10 == 9) {
            printf("dirty: round %llu\n", (unsigned long long)r + 1);
        }
        sleep_us(sleep);
    }
    return 0;
}
