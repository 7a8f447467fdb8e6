/* SPDX-License-Identifier: MIT */
/*
 * Private declarations shared by the files that make up the memory API
 * (memory.c, memory-flatview.c, memory-ram.c, memory-dispatch.c): the
 * private part of a FlatView and the helpers one file provides to another.
 * Nothing outside system/memory*.c may include this.
 */
#ifndef SYSTEM_MEMORY_INTERNAL_H
#define SYSTEM_MEMORY_INTERNAL_H

#include "exec/memory.h"

/* An ioeventfd as it is visible in a view: absolute address. */
typedef struct FlatIoeventfd {
    hwaddr addr;
    unsigned size;
    bool match_data;
    uint64_t data;
    EventNotifier *e;
    MemoryRegion *mr;
    hwaddr offset_within_region;
} FlatIoeventfd;

/* What a view needs to remember beyond its public part to diff it against
 * the next one: dirty-log masks at render time and the visible eventfds. */
typedef struct FlatViewPriv {
    FlatView fv;               /* first: a FlatView * is a FlatViewPriv * */
    uint8_t *log_masks;        /* per section */
    FlatIoeventfd *fds;
    unsigned nr_fds;
} FlatViewPriv;

static inline FlatViewPriv *flatview_priv(FlatView *fv)
{
    return (FlatViewPriv *)fv;
}

/* memory.c */

/* Zero mr and set what every kind shares (name copied, enabled, no fd). */
void memory_region_init_common(MemoryRegion *mr, const char *name,
                               uint64_t size, MemoryRegionKind kind);

/* memory-flatview.c */

/* Index of the first section of s[0..nr) that ends after addr (nr if
 * none). */
unsigned flat_lower_bound(const MemoryRegionSection *s, unsigned nr,
                          hwaddr addr);

/* Render as->root into a new view; free it with flatview_free(). */
FlatView *flatview_render(AddressSpace *as);

/* Free a view from flatview_render(); NULL is a no-op. */
void flatview_free(FlatView *fv);

/* Index in fv (may be NULL) of a section equal to s, or -1. */
int flat_find_equal(FlatView *fv, const MemoryRegionSection *s);

/* Whether fv (may be NULL) shows an ioeventfd equal to f. */
bool flat_has_ioeventfd(FlatView *fv, const FlatIoeventfd *f);

/* memory-ram.c */

/* Unmap RAM the region mapped and close an fd it owns; finalize part. */
void memory_region_ram_release(MemoryRegion *mr);

/* memory-dirty.c */

/* Migration logging starts on a RAM region: allocate its dirty bitmap or
 * clear the one it has. */
void memory_region_dirty_bitmap_reset(MemoryRegion *mr);

#endif
