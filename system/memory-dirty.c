/* SPDX-License-Identifier: MIT */
/*
 * Dirty tracking for migration: the per-region bitmap (one bit per 4 KiB
 * page of a RAM region) that every writer of guest memory marks while the
 * region logs for DIRTY_MEMORY_MIGRATION, and the fetch-and-clear side
 * migration reads it with.
 *
 * The bitmap is allocated the first time logging starts and lives until
 * the region is finalized, so a writer on another thread never sees it
 * freed; it is cleared each time logging starts again.  Bits are set with
 * an atomic OR and taken with an atomic AND (or exchange for whole
 * words): writers (vCPU threads through address_space_write, log_sync
 * under the machine lock, device threads) and the migration thread need
 * no common lock.
 */
#include "exec/memory.h"

#include <string.h>

#include "memory-internal.h"

#define BITS_PER_LONG (sizeof(unsigned long) * 8)

/* The RAM region behind mr (aliases resolved), *addr made relative to
 * it; NULL unless it is RAM logging for migration. */
static MemoryRegion *dirty_target(MemoryRegion *mr, hwaddr *addr)
{
    while (mr && mr->kind == MR_ALIAS) {
        *addr += mr->alias_offset;
        mr = mr->alias;
    }
    if (!mr || mr->kind != MR_RAM ||
        !(__atomic_load_n(&mr->dirty_log_mask, __ATOMIC_RELAXED) &
          (1u << DIRTY_MEMORY_MIGRATION))) {
        return NULL;
    }
    return __atomic_load_n(&mr->dirty_bitmap, __ATOMIC_ACQUIRE) ? mr : NULL;
}

static uint64_t bitmap_pages(const MemoryRegion *mr)
{
    uint64_t bytes = MAX(mr->ram_mapped_size, mr->size);

    return (bytes + DIRTY_PAGE_SIZE - 1) / DIRTY_PAGE_SIZE;
}

static size_t bitmap_longs(uint64_t pages)
{
    return (pages + BITS_PER_LONG - 1) / BITS_PER_LONG;
}

void memory_region_dirty_bitmap_reset(MemoryRegion *mr)
{
    size_t n = bitmap_longs(bitmap_pages(mr));

    if (mr->kind != MR_RAM) {
        return;
    }
    if (!mr->dirty_bitmap) {
        __atomic_store_n(&mr->dirty_bitmap, g_new0(unsigned long, n),
                         __ATOMIC_RELEASE);
        return;
    }
    for (size_t i = 0; i < n; i++) {
        __atomic_store_n(&mr->dirty_bitmap[i], 0, __ATOMIC_RELAXED);
    }
}

/* Pages [*first, *first + *n) for the bytes [addr, addr + size), clipped
 * to the region; false if nothing is left. */
static bool page_range(MemoryRegion *mr, hwaddr addr, hwaddr size,
                       uint64_t *first, uint64_t *n)
{
    uint64_t pages = bitmap_pages(mr);
    uint64_t last;

    if (!size) {
        return false;
    }
    *first = addr / DIRTY_PAGE_SIZE;
    last = (addr + size - 1) / DIRTY_PAGE_SIZE;
    if (*first >= pages) {
        return false;
    }
    *n = MIN(last, pages - 1) - *first + 1;
    return true;
}

/* Mask of bits [lo, hi) of one word (0 <= lo < hi <= BITS_PER_LONG). */
static unsigned long word_mask(unsigned lo, unsigned hi)
{
    unsigned long m = hi == BITS_PER_LONG ? ~0UL : (1UL << hi) - 1;

    return m & ~((1UL << lo) - 1);
}

/* The bits of word w that lie in [first, first + n). */
static unsigned long range_mask(uint64_t first, uint64_t n, uint64_t w)
{
    uint64_t lo = MAX(first, w * BITS_PER_LONG);
    uint64_t hi = MIN(first + n, (w + 1) * BITS_PER_LONG);

    return word_mask(lo - w * BITS_PER_LONG, hi - w * BITS_PER_LONG);
}

#define LAST_WORD(first, n) (((first) + (n) - 1) / BITS_PER_LONG)

void memory_region_set_dirty(MemoryRegion *mr, hwaddr addr, hwaddr size)
{
    uint64_t first, n;

    mr = dirty_target(mr, &addr);
    if (!mr || !page_range(mr, addr, size, &first, &n)) {
        return;
    }
    for (uint64_t w = first / BITS_PER_LONG; w <= LAST_WORD(first, n); w++) {
        __atomic_fetch_or(&mr->dirty_bitmap[w], range_mask(first, n, w),
                          __ATOMIC_RELAXED);
    }
}

void memory_region_set_dirty_bitmap(MemoryRegion *mr, hwaddr addr,
                                    const unsigned long *bits,
                                    uint64_t npages)
{
    uint64_t pages;

    mr = dirty_target(mr, &addr);
    if (!mr || addr % DIRTY_PAGE_SIZE) {
        return;
    }
    pages = bitmap_pages(mr);
    for (uint64_t w = 0; w < bitmap_longs(npages); w++) {
        unsigned long v = bits[w];

        while (v) {
            uint64_t i = w * BITS_PER_LONG + __builtin_ctzl(v);
            uint64_t p = addr / DIRTY_PAGE_SIZE + i;

            v &= v - 1;
            if (i >= npages || p >= pages) {
                break;
            }
            __atomic_fetch_or(&mr->dirty_bitmap[p / BITS_PER_LONG],
                              1UL << (p % BITS_PER_LONG), __ATOMIC_RELAXED);
        }
    }
}

static bool dirty_get(MemoryRegion *mr, hwaddr addr, hwaddr size, bool clear)
{
    uint64_t first, n;
    bool dirty = false;

    mr = dirty_target(mr, &addr);
    if (!mr || !page_range(mr, addr, size, &first, &n)) {
        return false;
    }
    for (uint64_t w = first / BITS_PER_LONG; w <= LAST_WORD(first, n); w++) {
        unsigned long *p = &mr->dirty_bitmap[w];
        unsigned long mask = range_mask(first, n, w);
        unsigned long old = clear ? __atomic_fetch_and(p, ~mask,
                                                       __ATOMIC_RELAXED)
                                  : __atomic_load_n(p, __ATOMIC_RELAXED);

        dirty |= (old & mask) != 0;
    }
    return dirty;
}

bool memory_region_get_dirty(MemoryRegion *mr, hwaddr addr, hwaddr size)
{
    return dirty_get(mr, addr, size, false);
}

bool memory_region_test_and_clear_dirty(MemoryRegion *mr, hwaddr addr,
                                        hwaddr size)
{
    return dirty_get(mr, addr, size, true);
}

/* Put the bits of old (word w of the region bitmap) into snap, whose
 * bit 0 is region page base. */
static void snapshot_put(DirtyBitmapSnapshot *snap, uint64_t base,
                         uint64_t w, unsigned long old)
{
    while (old) {
        uint64_t i = w * BITS_PER_LONG + __builtin_ctzl(old) - base;

        old &= old - 1;
        snap->dirty[i / BITS_PER_LONG] |= 1UL << (i % BITS_PER_LONG);
    }
}

DirtyBitmapSnapshot *memory_region_snapshot_and_clear_dirty(MemoryRegion *mr,
                                                            hwaddr addr,
                                                            hwaddr size)
{
    hwaddr start = addr & ~(DIRTY_PAGE_SIZE - 1);
    hwaddr end = (addr + size + DIRTY_PAGE_SIZE - 1) & ~(DIRTY_PAGE_SIZE - 1);
    uint64_t npages = (end - start) / DIRTY_PAGE_SIZE;
    DirtyBitmapSnapshot *snap = g_malloc0(sizeof(*snap) +
        bitmap_longs(npages) * sizeof(unsigned long));
    hwaddr raddr = start;
    uint64_t first, n;

    snap->start = start;
    snap->end = end;
    mr = dirty_target(mr, &raddr);
    if (!mr || !page_range(mr, raddr, end - start, &first, &n)) {
        return snap;
    }
    /* Bit 0 of the snapshot is region page `first`. */
    for (uint64_t w = first / BITS_PER_LONG; w <= LAST_WORD(first, n); w++) {
        unsigned long *p = &mr->dirty_bitmap[w];
        unsigned long mask = range_mask(first, n, w);
        unsigned long old = mask == ~0UL
            ? __atomic_exchange_n(p, 0, __ATOMIC_RELAXED)
            : __atomic_fetch_and(p, ~mask, __ATOMIC_RELAXED);

        snapshot_put(snap, first, w, old & mask);
    }
    return snap;
}

bool memory_region_snapshot_get_dirty(MemoryRegion *mr,
                                      DirtyBitmapSnapshot *snap,
                                      hwaddr addr, hwaddr size)
{
    uint64_t first, last;

    if (!size) {
        return false;
    }
    g_assert(addr >= snap->start && addr + size <= snap->end);
    first = (addr - snap->start) / DIRTY_PAGE_SIZE;
    last = (addr + size - 1 - snap->start) / DIRTY_PAGE_SIZE;
    for (uint64_t i = first; i <= last; i++) {
        if (snap->dirty[i / BITS_PER_LONG] & (1UL << (i % BITS_PER_LONG))) {
            return true;
        }
    }
    return false;
}

void address_space_set_dirty(AddressSpace *as, hwaddr addr, hwaddr len)
{
    while (len) {
        MemoryRegionSection s;
        hwaddr n, in;

        if (!address_space_find_section(as, addr, &s)) {
            n = MIN(len, DIRTY_PAGE_SIZE - addr % DIRTY_PAGE_SIZE);
        } else {
            in = addr - s.offset_within_address_space;
            n = MIN(len, s.size - in);
            if (s.mr->kind == MR_RAM && s.mr->dirty_log_mask) {
                memory_region_set_dirty(s.mr, s.offset_within_region + in, n);
            }
        }
        addr += n;
        len -= n;
    }
}
