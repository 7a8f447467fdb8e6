/* SPDX-License-Identifier: MIT */
/*
 * Flattening: render the MemoryRegion tree under an AddressSpace's root
 * into a FlatView, the sorted list of non-overlapping sections the guest
 * sees, plus the private part memory.c diffs against the next view
 * (dirty-log masks at render time, visible ioeventfds).
 *
 * Rendering goes winner first: the subregions of a container are kept
 * sorted so that the one that wins an overlap comes first, and a terminal
 * region only fills what is still empty.  Neighbouring pieces of one
 * region with contiguous offsets are merged into one section.
 */
#include "exec/memory.h"

#include "memory-internal.h"

static hwaddr section_end(const MemoryRegionSection *s)
{
    return s->offset_within_address_space + s->size;
}

static hwaddr add_sat(hwaddr a, uint64_t b)
{
    return a + b < a ? UINT64_MAX : a + b;
}

/* Index of the first section that ends after addr (nr if none). */
unsigned flat_lower_bound(const MemoryRegionSection *s, unsigned nr,
                          hwaddr addr)
{
    unsigned lo = 0, hi = nr;

    while (lo < hi) {
        unsigned mid = lo + (hi - lo) / 2;

        if (section_end(&s[mid]) <= addr) {
            lo = mid + 1;
        } else {
            hi = mid;
        }
    }
    return lo;
}

/* Map [as_addr, +size) to mr at offset off, only where nothing is rendered
 * yet: whatever is already there won the overlap. */
static void flat_fill_gaps(GArray *secs, AddressSpace *as, MemoryRegion *mr,
                           hwaddr as_addr, hwaddr off, uint64_t size,
                           bool readonly)
{
    hwaddr cur = as_addr, end = as_addr + size;
    unsigned i = flat_lower_bound((MemoryRegionSection *)secs->data,
                                  secs->len, cur);

    while (cur < end) {
        MemoryRegionSection *s = i < secs->len ?
            &g_array_index(secs, MemoryRegionSection, i) : NULL;

        if (s && s->offset_within_address_space <= cur) {
            cur = MAX(cur, section_end(s));
            i++;
            continue;
        }
        hwaddr gap_end = s ? MIN(end, s->offset_within_address_space) : end;
        MemoryRegionSection n = {
            .mr = mr, .as = as,
            .offset_within_region = off + (cur - as_addr),
            .offset_within_address_space = cur,
            .size = gap_end - cur, .readonly = readonly,
        };
        g_array_insert_val(secs, i, n);
        i++;
        cur = gap_end;
    }
}

static void render_region(GArray *secs, AddressSpace *as, MemoryRegion *mr,
                          hwaddr base, hwaddr lo, hwaddr hi, bool readonly);

/* base is the (wrapping) address-space address of the region's offset 0;
 * [lo, hi) is the visible window in the region's own offsets. */
static void render_container(GArray *secs, AddressSpace *as,
                             MemoryRegion *mr, hwaddr base, hwaddr lo,
                             hwaddr hi, bool readonly)
{
    if (!mr->subregions) {
        return;
    }
    for (guint i = 0; i < mr->subregions->len; i++) {
        MemoryRegion *sub = g_ptr_array_index(mr->subregions, i);
        hwaddr sub_end = add_sat(sub->addr, sub->size);

        if (sub->addr >= hi || sub_end <= lo) {
            continue;
        }
        render_region(secs, as, sub, base + sub->addr,
                      MAX(lo, sub->addr) - sub->addr,
                      MIN(hi, sub_end) - sub->addr, readonly);
    }
}

static void render_alias(GArray *secs, AddressSpace *as, MemoryRegion *mr,
                         hwaddr base, hwaddr lo, hwaddr hi, bool readonly)
{
    hwaddr off = mr->alias_offset;

    if (lo + off < lo) {
        return;     /* window beyond 2^64: nothing to show */
    }
    render_region(secs, as, mr->alias, base - off, lo + off,
                  add_sat(hi, off), readonly);
}

static void render_region(GArray *secs, AddressSpace *as, MemoryRegion *mr,
                          hwaddr base, hwaddr lo, hwaddr hi, bool readonly)
{
    if (!mr || !mr->enabled) {
        return;
    }
    hi = MIN(hi, mr->size);
    if (lo >= hi) {
        return;
    }
    readonly |= mr->readonly;
    switch (mr->kind) {
    case MR_CONTAINER:
        render_container(secs, as, mr, base, lo, hi, readonly);
        break;
    case MR_ALIAS:
        render_alias(secs, as, mr, base, lo, hi, readonly);
        break;
    default:
        flat_fill_gaps(secs, as, mr, base + lo, lo, hi - lo, readonly);
        break;
    }
}

/* Pieces of one region that ended up side by side with contiguous offsets
 * (two aliases of neighbouring windows, say) become one section. */
static void flat_merge(GArray *secs)
{
    MemoryRegionSection *s = (MemoryRegionSection *)secs->data;
    guint out = 0;

    for (guint i = 0; i < secs->len; i++) {
        MemoryRegionSection *prev = out ? &s[out - 1] : NULL;

        if (prev && prev->mr == s[i].mr && prev->readonly == s[i].readonly &&
            section_end(prev) == s[i].offset_within_address_space &&
            prev->offset_within_region + prev->size ==
            s[i].offset_within_region) {
            prev->size += s[i].size;
            continue;
        }
        s[out++] = s[i];
    }
    g_array_set_size(secs, out);
}

static void flat_collect_ioeventfds(FlatViewPriv *p)
{
    GArray *fds = g_array_new(FALSE, FALSE, sizeof(FlatIoeventfd));

    for (unsigned i = 0; i < p->fv.nr; i++) {
        MemoryRegionSection *s = &p->fv.sections[i];
        GArray *mfds = s->mr->ioeventfds;

        for (guint j = 0; mfds && j < mfds->len; j++) {
            MemoryRegionIoeventfd *fd =
                &g_array_index(mfds, MemoryRegionIoeventfd, j);
            hwaddr in = fd->addr - s->offset_within_region;

            if (fd->addr < s->offset_within_region || in >= s->size) {
                continue;   /* that part of the region is hidden */
            }
            FlatIoeventfd f = {
                .addr = s->offset_within_address_space + in,
                .size = fd->size, .match_data = fd->match_data,
                .data = fd->data, .e = fd->e, .mr = s->mr,
                .offset_within_region = fd->addr,
            };
            g_array_append_val(fds, f);
        }
    }
    p->nr_fds = fds->len;
    p->fds = (FlatIoeventfd *)g_array_free(fds, FALSE);
}

FlatView *flatview_render(AddressSpace *as)
{
    GArray *secs = g_array_new(FALSE, FALSE, sizeof(MemoryRegionSection));
    FlatViewPriv *p = g_new0(FlatViewPriv, 1);

    render_region(secs, as, as->root, 0, 0, UINT64_MAX, false);
    flat_merge(secs);
    p->fv.nr = secs->len;
    p->fv.sections = (MemoryRegionSection *)g_array_free(secs, FALSE);
    p->log_masks = g_new0(uint8_t, p->fv.nr + 1);
    for (unsigned i = 0; i < p->fv.nr; i++) {
        p->log_masks[i] = p->fv.sections[i].mr->dirty_log_mask;
    }
    flat_collect_ioeventfds(p);
    return &p->fv;
}

void flatview_free(FlatView *fv)
{
    FlatViewPriv *p = fv ? flatview_priv(fv) : NULL;

    if (p) {
        g_free(p->fv.sections);
        g_free(p->log_masks);
        g_free(p->fds);
        g_free(p);
    }
}

static bool section_eq(const MemoryRegionSection *a,
                       const MemoryRegionSection *b)
{
    return a->mr == b->mr &&
           a->offset_within_region == b->offset_within_region &&
           a->offset_within_address_space == b->offset_within_address_space &&
           a->size == b->size && a->readonly == b->readonly;
}

/* Index in fv of a section equal to s, or -1. */
int flat_find_equal(FlatView *fv, const MemoryRegionSection *s)
{
    unsigned i;

    if (!fv) {
        return -1;
    }
    i = flat_lower_bound(fv->sections, fv->nr, s->offset_within_address_space);
    return i < fv->nr && section_eq(&fv->sections[i], s) ? (int)i : -1;
}

static bool ioeventfd_eq(const FlatIoeventfd *a, const FlatIoeventfd *b)
{
    return a->addr == b->addr && a->size == b->size &&
           a->match_data == b->match_data &&
           (!a->match_data || a->data == b->data) && a->e == b->e;
}

bool flat_has_ioeventfd(FlatView *fv, const FlatIoeventfd *f)
{
    FlatViewPriv *p = fv ? flatview_priv(fv) : NULL;

    for (unsigned i = 0; p && i < p->nr_fds; i++) {
        if (ioeventfd_eq(&p->fds[i], f)) {
            return true;
        }
    }
    return false;
}
