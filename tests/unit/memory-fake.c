/* SPDX-License-Identifier: MIT */
/*
 * The recording listener, the logging I/O device, the RAM buffer and the
 * fixture of the memory API unit tests (see memory-fake.h).
 */
#include "memory-fake.h"

#include <inttypes.h>
#include <string.h>

/* --- the flat view as text --------------------------------------------- */

static void append_section(GString *s, const MemoryRegionSection *sec)
{
    g_string_append_printf(s, "%s@0x%" PRIx64 "+0x%" PRIx64, sec->mr->name,
                           sec->offset_within_address_space, sec->size);
    if (sec->offset_within_region) {
        g_string_append_printf(s, "/0x%" PRIx64, sec->offset_within_region);
    }
    if (sec->readonly) {
        g_string_append(s, " ro");
    }
}

char *flat_str(AddressSpace *as)
{
    GString *s = g_string_new("");

    for (unsigned i = 0; i < as->current_map->nr; i++) {
        if (i) {
            g_string_append_c(s, ' ');
        }
        append_section(s, &as->current_map->sections[i]);
    }
    return g_string_free(s, FALSE);
}

/* --- the recording listener -------------------------------------------- */

static Rec *rec_of(MemoryListener *l)
{
    return (Rec *)l;
}

static void rec_op_sfx(MemoryListener *l, const char *op,
                       const MemoryRegionSection *s, const char *suffix)
{
    Rec *r = rec_of(l);

    if (r->tag) {
        g_string_append_printf(r->log, "%s:", r->tag);
    }
    g_string_append(r->log, op);
    if (s) {
        g_string_append_c(r->log, ' ');
        append_section(r->log, s);
    }
    g_string_append_printf(r->log, "%s;", suffix ? suffix : "");
}

static void rec_op(MemoryListener *l, const char *op,
                   const MemoryRegionSection *s)
{
    rec_op_sfx(l, op, s, NULL);
}

static void rec_begin(MemoryListener *l) { rec_op(l, "begin", NULL); }
static void rec_commit(MemoryListener *l) { rec_op(l, "commit", NULL); }
static void rec_add(MemoryListener *l, MemoryRegionSection *s)
{
    rec_op(l, "add", s);
}
static void rec_del(MemoryListener *l, MemoryRegionSection *s)
{
    rec_op(l, "del", s);
}
static void rec_nop(MemoryListener *l, MemoryRegionSection *s)
{
    rec_op(l, "nop", s);
}
static void rec_log(MemoryListener *l, MemoryRegionSection *s, int o, int n,
                    const char *op)
{
    g_autofree char *sfx = g_strdup_printf(" %d>%d", o, n);

    rec_op_sfx(l, op, s, sfx);
}
static void rec_log_start(MemoryListener *l, MemoryRegionSection *s,
                          int o, int n)
{
    rec_log(l, s, o, n, "log_start");
}
static void rec_log_stop(MemoryListener *l, MemoryRegionSection *s,
                         int o, int n)
{
    rec_log(l, s, o, n, "log_stop");
}
static void rec_log_sync(MemoryListener *l, MemoryRegionSection *s)
{
    rec_op(l, "sync", s);
}
static bool rec_global_start(MemoryListener *l, Error **errp)
{
    rec_op(l, "gstart", NULL);
    if (rec_of(l)->refuse_global) {
        error_setg(errp, "refused");
        return false;
    }
    return true;
}
static void rec_global_stop(MemoryListener *l) { rec_op(l, "gstop", NULL); }
static void rec_eventfd(MemoryListener *l, MemoryRegionSection *s,
                        bool match, uint64_t data, const char *op)
{
    g_autofree char *sfx = match ? g_strdup_printf("=0x%" PRIx64, data) : NULL;

    rec_op_sfx(l, op, s, sfx);
}
static void rec_eventfd_add(MemoryListener *l, MemoryRegionSection *s,
                            bool match, uint64_t data, EventNotifier *e)
{
    rec_eventfd(l, s, match, data, "evadd");
}
static void rec_eventfd_del(MemoryListener *l, MemoryRegionSection *s,
                            bool match, uint64_t data, EventNotifier *e)
{
    rec_eventfd(l, s, match, data, "evdel");
}

void rec_init(Rec *r, GString *log, const char *tag, int priority)
{
    *r = (Rec) {
        .l = {
            .begin = rec_begin, .commit = rec_commit,
            .region_add = rec_add, .region_del = rec_del,
            .region_nop = rec_nop,
            .log_start = rec_log_start, .log_stop = rec_log_stop,
            .log_sync = rec_log_sync,
            .log_global_start = rec_global_start,
            .log_global_stop = rec_global_stop,
            .eventfd_add = rec_eventfd_add, .eventfd_del = rec_eventfd_del,
            .priority = priority, .name = tag,
        },
        .log = log, .tag = tag,
    };
}

char *take(GString *log)
{
    if (log->len && log->str[log->len - 1] == ';') {
        g_string_truncate(log, log->len - 1);
    }
    char *s = g_strdup(log->str);
    g_string_truncate(log, 0);
    return s;
}

/* --- the logging device and RAM ---------------------------------------- */

static uint64_t dev_read(void *opaque, hwaddr addr, unsigned size)
{
    Dev *d = opaque;
    uint64_t v = 0;

    for (unsigned i = 0; i < size; i++) {
        v |= (uint64_t)d->regs[addr + i] << (8 * i);
    }
    g_string_append_printf(d->log, "r%u@0x%" PRIx64 ";", size, addr);
    return v;
}

static void dev_write(void *opaque, hwaddr addr, uint64_t data,
                      unsigned size)
{
    Dev *d = opaque;

    for (unsigned i = 0; i < size; i++) {
        d->regs[addr + i] = data >> (8 * i);
    }
    g_string_append_printf(d->log, "w%u@0x%" PRIx64 "=0x%" PRIx64 ";", size,
                           addr, data);
}

const MemoryRegionOps dev_ops = {
    .read = dev_read, .write = dev_write,
};
const MemoryRegionOps dev_ops_1 = {
    .read = dev_read, .write = dev_write, .impl_min = 1, .impl_max = 1,
};
const MemoryRegionOps dev_ops_4 = {
    .read = dev_read, .write = dev_write, .impl_min = 4, .impl_max = 4,
};

uint8_t backing[0x20000];

void ram_init(MemoryRegion *mr, const char *name, uint64_t size)
{
    memory_region_init_ram_ptr(mr, name, size, backing, -1, 0);
}

/* --- the fixture ------------------------------------------------------- */

void fixture_init(Fixture *f)
{
    memset(f, 0, sizeof(*f));
    f->log = g_string_new("");
    f->dev.log = g_string_new("");
    memory_region_init(&f->root, "root", UINT64_MAX);
    address_space_init(&f->as, &f->root, "as");
    ram_init(&f->ram, "ram", 0x4000);
    memory_region_init_io(&f->io, &dev_ops, &f->dev, "io", 0x40);
    rec_init(&f->rec, f->log, NULL, 0);
}

void fixture_cleanup(Fixture *f)
{
    memory_listener_unregister(&f->rec.l);
    address_space_destroy(&f->as);
    memory_region_finalize(&f->root);
    memory_region_finalize(&f->ram);
    memory_region_finalize(&f->io);
    g_string_free(f->log, TRUE);
    g_string_free(f->dev.log, TRUE);
}
