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
 *
 * Output: "test dirty: started", "dirty: round N" every 10 rounds, then
 * PASS.  A mismatch fails with the address, the expected and found words.
 * Each page gets 8 words (one per 512 bytes): every instruction is slow
 * on the hosts this runs on, and 8 words per page are enough to catch a
 * page that was not migrated.
 */
#include "guest.h"
#include "io.h"

#define PAGE_SIZE       4096
#define WORDS_PER_PAGE  8
#define WORD_STRIDE     (PAGE_SIZE / WORDS_PER_PAGE / 8)

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

int test_dirty(void)
{
    uint64_t base = cmdline_get_u64("dirty_base", 32ULL << 20);
    uint64_t pages = cmdline_get_u64("dirty_pages", 256);
    uint64_t iters = cmdline_get_u64("dirty_iters", 100);
    uint64_t sleep = cmdline_get_u64("dirty_sleep_us", 20000);
    uint64_t found, want, bad;

    if (!range_is_ram(base, pages * PAGE_SIZE)) {
        return test_fail(3, "range 0x%llx + %llu pages is not RAM",
                         (unsigned long long)base,
                         (unsigned long long)pages);
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
