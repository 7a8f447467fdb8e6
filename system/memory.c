/* SPDX-License-Identifier: MIT */
/*
 * The memory API core: the MemoryRegion tree (containers, aliases, I/O
 * regions and their ioeventfds), AddressSpaces with their transactions,
 * and the listeners told the difference between the old and the new
 * FlatView.  Rendering a tree into a FlatView lives in memory-flatview.c,
 * RAM backends in memory-ram.c and guest-access dispatch
 * (address_space_rw) in memory-dispatch.c.
 *
 * There is no global state.  A mutator walks from the changed region up
 * through mr->container and mr->alias_users to the roots, and re-renders
 * every AddressSpace in root->address_spaces (or marks it pending while a
 * transaction is open on it).
 *
 * Listener order within one update (tests pin it down):
 *   begin (all listeners)
 *   region_del   for every old section not in the new view (address order)
 *   region_add / region_nop for every new section, interleaved in address
 *                order so a listener can merge neighbours as they come
 *   eventfd_del  for ioeventfds that vanished, then eventfd_add for new ones
 *   log_start / log_stop for unchanged sections whose dirty_log_mask changed
 *   commit (all listeners)
 * Listeners run by ascending priority, except region_del, eventfd_del and
 * log_stop, which run in reverse.
 */
#include "exec/memory.h"

#include <inttypes.h>
#include <string.h>

#include "memory-internal.h"

/* --- telling listeners ------------------------------------------------- */

typedef enum SectionOp { OP_ADD, OP_DEL, OP_NOP } SectionOp;

static MemoryListener *listener_at(AddressSpace *as, guint i, bool reverse)
{
    guint n = as->listeners->len;

    return g_ptr_array_index(as->listeners, reverse ? n - 1 - i : i);
}

/* Listeners get a copy: they must not be able to edit the view. */
static void listener_section(MemoryListener *l, SectionOp op,
                             const MemoryRegionSection *sec)
{
    MemoryRegionSection s = *sec;

    if (op == OP_ADD && l->region_add) {
        l->region_add(l, &s);
    } else if (op == OP_DEL && l->region_del) {
        l->region_del(l, &s);
    } else if (op == OP_NOP && l->region_nop) {
        l->region_nop(l, &s);
    }
}

static void listener_eventfd(MemoryListener *l, AddressSpace *as, bool add,
                             const FlatIoeventfd *f)
{
    MemoryRegionSection s = {
        .mr = f->mr, .as = as,
        .offset_within_region = f->offset_within_region,
        .offset_within_address_space = f->addr, .size = f->size,
    };

    if (add && l->eventfd_add) {
        l->eventfd_add(l, &s, f->match_data, f->data, f->e);
    } else if (!add && l->eventfd_del) {
        l->eventfd_del(l, &s, f->match_data, f->data, f->e);
    }
}

static void listener_log(MemoryListener *l, const MemoryRegionSection *sec,
                         int old_mask, int new_mask, bool start)
{
    MemoryRegionSection s = *sec;

    if (start && l->log_start) {
        l->log_start(l, &s, old_mask, new_mask);
    } else if (!start && l->log_stop) {
        l->log_stop(l, &s, old_mask, new_mask);
    }
}

static void listeners_begin(AddressSpace *as)
{
    for (guint i = 0; i < as->listeners->len; i++) {
        MemoryListener *l = listener_at(as, i, false);

        if (l->begin) {
            l->begin(l);
        }
    }
}

static void listeners_commit(AddressSpace *as)
{
    for (guint i = 0; i < as->listeners->len; i++) {
        MemoryListener *l = listener_at(as, i, false);

        if (l->commit) {
            l->commit(l);
        }
    }
}

static void listeners_section(AddressSpace *as, SectionOp op,
                              const MemoryRegionSection *s)
{
    for (guint i = 0; i < as->listeners->len; i++) {
        listener_section(listener_at(as, i, op == OP_DEL), op, s);
    }
}

static void notify_sections(AddressSpace *as, FlatView *old, FlatView *new)
{
    for (unsigned i = 0; old && i < old->nr; i++) {
        if (flat_find_equal(new, &old->sections[i]) < 0) {
            listeners_section(as, OP_DEL, &old->sections[i]);
        }
    }
    for (unsigned i = 0; i < new->nr; i++) {
        bool same = flat_find_equal(old, &new->sections[i]) >= 0;

        listeners_section(as, same ? OP_NOP : OP_ADD, &new->sections[i]);
    }
}

static void notify_ioeventfds(AddressSpace *as, FlatView *old, FlatView *new)
{
    FlatViewPriv *o = old ? flatview_priv(old) : NULL;
    FlatViewPriv *n = flatview_priv(new);

    for (unsigned i = 0; o && i < o->nr_fds; i++) {
        if (flat_has_ioeventfd(new, &o->fds[i])) {
            continue;
        }
        for (guint j = 0; j < as->listeners->len; j++) {
            listener_eventfd(listener_at(as, j, true), as, false, &o->fds[i]);
        }
    }
    for (unsigned i = 0; i < n->nr_fds; i++) {
        if (flat_has_ioeventfd(old, &n->fds[i])) {
            continue;
        }
        for (guint j = 0; j < as->listeners->len; j++) {
            listener_eventfd(listener_at(as, j, false), as, true, &n->fds[i]);
        }
    }
}

/* Only sections that stayed: a new section's listener reads the mask from
 * the region in region_add, a vanished one no longer matters. */
static void notify_log_changes(AddressSpace *as, FlatView *old, FlatView *new)
{
    for (unsigned i = 0; old && i < new->nr; i++) {
        MemoryRegionSection *s = &new->sections[i];
        int j = flat_find_equal(old, s);
        int om, nm;

        if (j < 0) {
            continue;
        }
        om = flatview_priv(old)->log_masks[j];
        nm = flatview_priv(new)->log_masks[i];
        for (guint k = 0; (nm & ~om) && k < as->listeners->len; k++) {
            listener_log(listener_at(as, k, false), s, om, nm, true);
        }
        for (guint k = 0; (om & ~nm) && k < as->listeners->len; k++) {
            listener_log(listener_at(as, k, true), s, om, nm, false);
        }
    }
}

/* Render the new view, tell listeners the difference, install it. */
static void address_space_update(AddressSpace *as)
{
    FlatView *old = as->current_map;
    FlatView *new;

    if (as->transaction_depth > 0) {
        as->update_pending = true;
        return;
    }
    new = flatview_render(as);
    listeners_begin(as);
    notify_sections(as, old, new);
    notify_ioeventfds(as, old, new);
    notify_log_changes(as, old, new);
    as->current_map = new;
    listeners_commit(as);
    flatview_free(old);
}

static void collect_address_spaces(MemoryRegion *mr, GPtrArray *out)
{
    if (!mr) {
        return;
    }
    for (guint i = 0; mr->alias_users && i < mr->alias_users->len; i++) {
        collect_address_spaces(g_ptr_array_index(mr->alias_users, i), out);
    }
    collect_address_spaces(mr->container, out);
    for (guint i = 0; mr->address_spaces && i < mr->address_spaces->len; i++) {
        AddressSpace *as = g_ptr_array_index(mr->address_spaces, i);

        if (!g_ptr_array_find(out, as, NULL)) {
            g_ptr_array_add(out, as);
        }
    }
}

/* Re-render every address space that can see mr. */
static void memory_region_update(MemoryRegion *mr)
{
    g_autoptr(GPtrArray) spaces = g_ptr_array_new();

    collect_address_spaces(mr, spaces);
    for (guint i = 0; i < spaces->len; i++) {
        address_space_update(g_ptr_array_index(spaces, i));
    }
}


/* --- regions ----------------------------------------------------------- */

void memory_region_init_common(MemoryRegion *mr, const char *name,
                               uint64_t size, MemoryRegionKind kind)
{
    memset(mr, 0, sizeof(*mr));
    mr->name = g_strdup(name);
    mr->kind = kind;
    mr->size = size;
    mr->enabled = true;
    mr->ram_fd = -1;
}

void memory_region_init(MemoryRegion *mr, const char *name, uint64_t size)
{
    memory_region_init_common(mr, name, size, MR_CONTAINER);
    mr->subregions = g_ptr_array_new();
}

void memory_region_init_io(MemoryRegion *mr, const MemoryRegionOps *ops,
                           void *opaque, const char *name, uint64_t size)
{
    memory_region_init_common(mr, name, size, MR_IO);
    mr->ops = ops;
    mr->opaque = opaque;
}

void memory_region_init_alias(MemoryRegion *mr, const char *name,
                              MemoryRegion *orig, hwaddr offset,
                              uint64_t size)
{
    memory_region_init_common(mr, name, size, MR_ALIAS);
    mr->alias = orig;
    mr->alias_offset = offset;
    if (!orig->alias_users) {
        orig->alias_users = g_ptr_array_new();
    }
    g_ptr_array_add(orig->alias_users, mr);
}

/* Cut every link to and from mr so nothing points at freed memory, even
 * when the caller broke the "not mapped anywhere" rule. */
static void region_unlink(MemoryRegion *mr)
{
    if (mr->container) {
        memory_region_del_subregion(mr->container, mr);
    }
    if (mr->alias && mr->alias->alias_users) {
        g_ptr_array_remove(mr->alias->alias_users, mr);
    }
    for (guint i = 0; mr->alias_users && i < mr->alias_users->len; i++) {
        ((MemoryRegion *)g_ptr_array_index(mr->alias_users, i))->alias = NULL;
    }
    for (guint i = 0; mr->subregions && i < mr->subregions->len; i++) {
        ((MemoryRegion *)g_ptr_array_index(mr->subregions, i))->container =
            NULL;
    }
    for (guint i = 0; mr->address_spaces && i < mr->address_spaces->len;
         i++) {
        ((AddressSpace *)g_ptr_array_index(mr->address_spaces, i))->root =
            NULL;
    }
}

void memory_region_finalize(MemoryRegion *mr)
{
    region_unlink(mr);
    memory_region_ram_release(mr);
    if (mr->subregions) {
        g_ptr_array_free(mr->subregions, TRUE);
    }
    if (mr->alias_users) {
        g_ptr_array_free(mr->alias_users, TRUE);
    }
    if (mr->address_spaces) {
        g_ptr_array_free(mr->address_spaces, TRUE);
    }
    if (mr->ioeventfds) {
        g_array_free(mr->ioeventfds, TRUE);
    }
    g_free(mr->name);
    /* Zeroed is the "nothing to free" state: a second call is a no-op. */
    memset(mr, 0, sizeof(*mr));
    mr->ram_fd = -1;
}

/* Keep subregions in render order: the overlap winner first, i.e. higher
 * priority first and, within one priority, the most recently added. */
static void subregion_insert(MemoryRegion *container, MemoryRegion *sub)
{
    GPtrArray *subs = container->subregions;
    guint i = 0;

    while (i < subs->len &&
           ((MemoryRegion *)g_ptr_array_index(subs, i))->priority >
           sub->priority) {
        i++;
    }
    g_ptr_array_insert(subs, i, sub);
}

static void add_subregion_common(MemoryRegion *container, hwaddr offset,
                                 MemoryRegion *sub, int priority,
                                 bool may_overlap)
{
    g_assert(container->kind == MR_CONTAINER && container->subregions);
    g_assert(!sub->container);
    sub->container = container;
    sub->addr = offset;
    sub->priority = priority;
    sub->may_overlap = may_overlap;
    subregion_insert(container, sub);
    memory_region_update(container);
}

void memory_region_add_subregion(MemoryRegion *container, hwaddr offset,
                                 MemoryRegion *sub)
{
    add_subregion_common(container, offset, sub, 0, false);
}

void memory_region_add_subregion_overlap(MemoryRegion *container,
                                         hwaddr offset, MemoryRegion *sub,
                                         int priority)
{
    add_subregion_common(container, offset, sub, priority, true);
}

void memory_region_del_subregion(MemoryRegion *container, MemoryRegion *sub)
{
    g_assert(sub->container == container);
    g_ptr_array_remove(container->subregions, sub);
    sub->container = NULL;
    memory_region_update(container);
}

void memory_region_set_enabled(MemoryRegion *mr, bool enabled)
{
    if (mr->enabled != enabled) {
        mr->enabled = enabled;
        memory_region_update(mr);
    }
}

/* Moving keeps the place in the container's order: a move is not an add,
 * so it does not win equal-priority overlaps it did not win before. */
void memory_region_set_address(MemoryRegion *mr, hwaddr addr)
{
    if (mr->addr != addr) {
        mr->addr = addr;
        memory_region_update(mr);
    }
}

void memory_region_set_size(MemoryRegion *mr, uint64_t size)
{
    if (mr->kind == MR_RAM && size > mr->ram_mapped_size) {
        warn_report("memory region '%s': cannot grow RAM beyond its mapping "
                    "(0x%" PRIx64 " > 0x%" PRIx64 ")", mr->name ?: "", size,
                    mr->ram_mapped_size);
        return;
    }
    if (mr->size != size) {
        mr->size = size;
        memory_region_update(mr);
    }
}

void memory_region_set_readonly(MemoryRegion *mr, bool readonly)
{
    if (mr->readonly != readonly) {
        mr->readonly = readonly;
        memory_region_update(mr);
    }
}

void memory_region_set_log(MemoryRegion *mr, bool log, unsigned client)
{
    uint8_t mask = log ? mr->dirty_log_mask | (1u << client)
                       : mr->dirty_log_mask & ~(1u << client);

    if (mask != mr->dirty_log_mask) {
        if (log && client == DIRTY_MEMORY_MIGRATION) {
            memory_region_dirty_bitmap_reset(mr);
        }
        mr->dirty_log_mask = mask;
        memory_region_update(mr);
    }
}

uint64_t memory_region_size(const MemoryRegion *mr)
{
    return mr->size;
}

static bool mr_ioeventfd_eq(const MemoryRegionIoeventfd *a,
                            const MemoryRegionIoeventfd *b)
{
    return a->addr == b->addr && a->size == b->size &&
           a->match_data == b->match_data &&
           (!a->match_data || a->data == b->data) && a->e == b->e;
}

void memory_region_add_eventfd(MemoryRegion *mr, hwaddr addr, unsigned size,
                               bool match_data, uint64_t data,
                               EventNotifier *e)
{
    MemoryRegionIoeventfd fd = {
        .addr = addr, .size = size, .match_data = match_data,
        .data = match_data ? data : 0, .e = e,
    };

    if (!mr->ioeventfds) {
        mr->ioeventfds = g_array_new(FALSE, FALSE,
                                     sizeof(MemoryRegionIoeventfd));
    }
    g_array_append_val(mr->ioeventfds, fd);
    memory_region_update(mr);
}

void memory_region_del_eventfd(MemoryRegion *mr, hwaddr addr, unsigned size,
                               bool match_data, uint64_t data,
                               EventNotifier *e)
{
    MemoryRegionIoeventfd key = {
        .addr = addr, .size = size, .match_data = match_data,
        .data = data, .e = e,
    };

    for (guint i = 0; mr->ioeventfds && i < mr->ioeventfds->len; i++) {
        if (mr_ioeventfd_eq(&g_array_index(mr->ioeventfds,
                                           MemoryRegionIoeventfd, i), &key)) {
            g_array_remove_index(mr->ioeventfds, i);
            memory_region_update(mr);
            return;
        }
    }
}

/* --- address spaces ---------------------------------------------------- */

void address_space_init(AddressSpace *as, MemoryRegion *root,
                        const char *name)
{
    memset(as, 0, sizeof(*as));
    as->name = g_strdup(name);
    as->root = root;
    as->listeners = g_ptr_array_new();
    if (!root->address_spaces) {
        root->address_spaces = g_ptr_array_new();
    }
    g_ptr_array_add(root->address_spaces, as);
    as->current_map = flatview_render(as);
}

void address_space_destroy(AddressSpace *as)
{
    if (as->root && as->root->address_spaces) {
        g_ptr_array_remove(as->root->address_spaces, as);
    }
    flatview_free(as->current_map);
    for (guint i = 0; as->listeners && i < as->listeners->len; i++) {
        /* Should not happen; at least leave no dangling back-pointer. */
        listener_at(as, i, false)->address_space = NULL;
    }
    if (as->listeners) {
        g_ptr_array_free(as->listeners, TRUE);
    }
    g_free(as->name);
    memset(as, 0, sizeof(*as));
}

void address_space_transaction_begin(AddressSpace *as)
{
    as->transaction_depth++;
}

void address_space_transaction_commit(AddressSpace *as)
{
    g_assert(as->transaction_depth > 0);
    if (--as->transaction_depth == 0 && as->update_pending) {
        as->update_pending = false;
        address_space_update(as);
    }
}

/* --- listeners --------------------------------------------------------- */

/* After the ones of equal priority: registration order breaks ties. */
static void listener_insert(AddressSpace *as, MemoryListener *l)
{
    guint i = 0;

    while (i < as->listeners->len &&
           listener_at(as, i, false)->priority <= l->priority) {
        i++;
    }
    g_ptr_array_insert(as->listeners, i, l);
}

/* A listener that joins during migration must log too. */
static void listener_join_global_log(MemoryListener *l, AddressSpace *as)
{
    Error *err = NULL;

    if (as->log_global_depth && l->log_global_start &&
        !l->log_global_start(l, &err)) {
        error_prepend(&err, "listener '%s' cannot start dirty logging: ",
                      l->name ?: "");
        warn_report("%s", err ? error_get_pretty(err) : "failed");
        error_free(err);
    }
}

static void listener_replay_add(MemoryListener *l, AddressSpace *as)
{
    FlatView *fv = as->current_map;
    FlatViewPriv *p = flatview_priv(fv);

    for (unsigned i = 0; i < fv->nr; i++) {
        listener_section(l, OP_ADD, &fv->sections[i]);
    }
    for (unsigned i = 0; i < p->nr_fds; i++) {
        listener_eventfd(l, as, true, &p->fds[i]);
    }
    for (unsigned i = 0; i < fv->nr; i++) {
        if (p->log_masks[i]) {
            listener_log(l, &fv->sections[i], 0, p->log_masks[i], true);
        }
    }
}

void memory_listener_register(MemoryListener *l, AddressSpace *as)
{
    g_assert(!l->address_space);
    l->address_space = as;
    listener_insert(as, l);
    listener_join_global_log(l, as);
    if (l->begin) {
        l->begin(l);
    }
    listener_replay_add(l, as);
    if (l->commit) {
        l->commit(l);
    }
}

/* Mirror of registration: sections go first, then their eventfds. */
void memory_listener_unregister(MemoryListener *l)
{
    AddressSpace *as = l->address_space;
    FlatViewPriv *p;

    if (!as) {
        return;
    }
    p = flatview_priv(as->current_map);
    if (l->begin) {
        l->begin(l);
    }
    for (unsigned i = 0; i < p->fv.nr; i++) {
        listener_section(l, OP_DEL, &p->fv.sections[i]);
    }
    for (unsigned i = 0; i < p->nr_fds; i++) {
        listener_eventfd(l, as, false, &p->fds[i]);
    }
    if (l->commit) {
        l->commit(l);
    }
    g_ptr_array_remove(as->listeners, l);
    l->address_space = NULL;
}

static void log_global_stop_first(AddressSpace *as, guint n)
{
    while (n-- > 0) {
        MemoryListener *l = listener_at(as, n, false);

        if (l->log_global_stop) {
            l->log_global_stop(l);
        }
    }
}

bool address_space_log_global_start(AddressSpace *as, Error **errp)
{
    if (as->log_global_depth > 0) {
        as->log_global_depth++;
        return true;
    }
    for (guint i = 0; i < as->listeners->len; i++) {
        MemoryListener *l = listener_at(as, i, false);

        if (l->log_global_start && !l->log_global_start(l, errp)) {
            error_prepend(errp, "%s: ", l->name ?: "memory listener");
            /* Undo the ones that did start, newest first. */
            log_global_stop_first(as, i);
            return false;
        }
    }
    as->log_global_depth = 1;
    return true;
}

void address_space_log_global_stop(AddressSpace *as)
{
    if (as->log_global_depth == 0 || --as->log_global_depth > 0) {
        return;
    }
    log_global_stop_first(as, as->listeners->len);
}

void address_space_log_sync(AddressSpace *as)
{
    FlatView *fv = as->current_map;

    for (unsigned i = 0; fv && i < fv->nr; i++) {
        MemoryRegionSection s = fv->sections[i];

        if (s.mr->kind != MR_RAM || !s.mr->dirty_log_mask) {
            continue;
        }
        for (guint j = 0; j < as->listeners->len; j++) {
            MemoryListener *l = listener_at(as, j, false);

            if (l->log_sync) {
                l->log_sync(l, &s);
            }
        }
    }
}
