/* SPDX-License-Identifier: MIT */
/*
 * RAM precopy.  The source walks the RAM sections of the memory address
 * space: a first pass sends every page, then each round syncs the dirty
 * log (every memory listener's log_sync: KVM, vhost) into the regions'
 * bitmaps, moves the bits into a pending set per block and sends those
 * pages.  The destination writes the pages straight into its RAM.
 *
 * Zero pages travel as an 8-byte marker.  Pages in holes of a shared
 * backing file (memfd) are known to be zero without reading them, on
 * both sides: the source does not fault untouched RAM in, and the
 * destination skips a zero marker for a page that holds no data.
 *
 * A page is copied while the guest may be writing it; such a page is
 * dirty in the log and is sent again in a later round or after the stop.
 *
 * Memory plugged during the migration (a pc-dimm) shows up as a new RAM
 * section at the next sync: it starts logging, its memory device record
 * (from the RAM plug hooks, migration/register.h) goes out ahead of the
 * round, which sends it whole.
 */
#include "migration-internal.h"

#include <errno.h>
#include <string.h>
#include <sys/uio.h>
#include <unistd.h>

#define PAGE            ((uint64_t)MIG_PAGE_SIZE)
#define BITS_PER_LONG   (sizeof(unsigned long) * 8)
#define ACCOUNT_EVERY   256     /* pages between stats / rate-limit checks */

/* --- blocks ----------------------------------------------------------- */

static bool block_is_section(const RamBlock *b, const MemoryRegionSection *s)
{
    return b->mr == s->mr && b->mr_offset == s->offset_within_region &&
           b->gpa == s->offset_within_address_space && b->size == s->size;
}

static bool ram_state_has(const RamState *rs, const MemoryRegionSection *s)
{
    for (unsigned i = 0; i < rs->nr; i++) {
        if (block_is_section(&rs->blocks[i], s)) {
            return true;
        }
    }
    return false;
}

unsigned ram_state_add_new(MachineState *ms, RamState *rs)
{
    FlatView *fv = ms->address_space_memory.current_map;
    unsigned first = rs->nr;

    for (unsigned i = 0; fv && i < fv->nr; i++) {
        MemoryRegionSection *s = &fv->sections[i];

        if (s->mr->kind != MR_RAM || !s->mr->ram_ptr ||
            ram_state_has(rs, s)) {
            continue;
        }
        rs->blocks = g_renew(RamBlock, rs->blocks, rs->nr + 1);
        rs->blocks[rs->nr++] = (RamBlock){
            .mr = s->mr,
            .mr_offset = s->offset_within_region,
            .gpa = s->offset_within_address_space,
            .size = s->size,
            .host = (uint8_t *)s->mr->ram_ptr + s->offset_within_region,
            .fd = s->mr->ram_fd,
            .fd_offset = s->mr->ram_fd_offset + s->offset_within_region,
        };
        rs->total += s->size;
    }
    return first;
}

RamState *ram_state_new(MachineState *ms)
{
    RamState *rs = g_new0(RamState, 1);

    ram_state_add_new(ms, rs);
    return rs;
}

void ram_state_free(RamState *rs)
{
    if (!rs) {
        return;
    }
    for (unsigned i = 0; i < rs->nr; i++) {
        g_free(rs->blocks[i].pending);
        g_free(rs->blocks[i].maybe_data);
        if (rs->blocks[i].plug) {
            g_byte_array_unref(rs->blocks[i].plug);
        }
    }
    g_free(rs->blocks);
    g_free(rs);
}

static void ram_set_log(MachineState *ms, RamState *rs, bool on)
{
    address_space_transaction_begin(&ms->address_space_memory);
    for (unsigned i = 0; i < rs->nr; i++) {
        memory_region_set_log(rs->blocks[i].mr, on, DIRTY_MEMORY_MIGRATION);
    }
    address_space_transaction_commit(&ms->address_space_memory);
}

bool ram_log_start(MachineState *ms, RamState *rs, Error **errp)
{
    ram_set_log(ms, rs, true);
    if (!address_space_log_global_start(&ms->address_space_memory, errp)) {
        ram_set_log(ms, rs, false);
        return false;
    }
    return true;
}

void ram_log_stop(MachineState *ms, RamState *rs)
{
    address_space_log_global_stop(&ms->address_space_memory);
    ram_set_log(ms, rs, false);
}

/* --- pages --------------------------------------------------------------- */

static bool page_is_zero(const uint8_t *p)
{
    const uint64_t *w = (const uint64_t *)p;

    for (size_t i = 0; i < PAGE / 8; i += 8) {
        if (w[i] | w[i + 1] | w[i + 2] | w[i + 3] |
            w[i + 4] | w[i + 5] | w[i + 6] | w[i + 7]) {
            return false;
        }
    }
    return true;
}

/* Offsets inside b of the next data / hole from off (page aligned,
 * clamped to the block); without a file everything may be data. */
static uint64_t block_seek(const RamBlock *b, uint64_t off, int whence)
{
    off_t r;

    if (b->fd < 0) {
        return whence == SEEK_DATA ? off : b->size;
    }
    r = lseek(b->fd, b->fd_offset + off, whence);
    if (r < 0 && whence == SEEK_DATA) {
        /* ENXIO: no data after off; anything else: assume data. */
        return errno == ENXIO ? b->size : off;
    }
    if (r < 0) {
        return b->size;
    }
    if ((uint64_t)r < b->fd_offset + off) {
        return off;
    }
    r -= b->fd_offset;
    if (whence == SEEK_DATA) {
        return MIN((uint64_t)r & ~(PAGE - 1), b->size);
    }
    return MIN(((uint64_t)r + PAGE - 1) & ~(PAGE - 1), b->size);
}

typedef struct RamSender {
    MigrationState *mig;
    MigChannel *ch;
    bool rate_limited;
    uint64_t zero, normal;          /* not yet accounted */
} RamSender;

static bool sender_account(RamSender *s, Error **errp)
{
    migration_account_pages(s->mig, s->zero, s->normal);
    s->zero = s->normal = 0;
    if (s->rate_limited) {
        return migration_rate_limit(s->mig, errp);
    }
    if (migration_cancelled(s->mig)) {
        error_setg(errp, "migration cancelled");
        return false;
    }
    return true;
}

static bool send_page(RamSender *s, const RamBlock *b, uint64_t off,
                      bool known_zero, Error **errp)
{
    const uint8_t *p = b->host + off;
    bool zero = known_zero || page_is_zero(p);
    uint64_t hdr = GUINT64_TO_BE((b->gpa + off) |
                                 (zero ? MIG_RAM_ZERO : MIG_RAM_PAGE));
    uint8_t *dst = mig_channel_reserve(s->ch, 8, errp);

    if (!dst) {
        return false;
    }
    memcpy(dst, &hdr, 8);
    /* The page goes out from guest RAM itself, without a copy; if the
     * guest changes it before the write, the page is dirty again. */
    if (zero) {
        s->zero++;
    } else if (!mig_channel_write_ref(s->ch, p, PAGE, errp)) {
        return false;
    } else {
        s->normal++;
    }
    if ((s->zero + s->normal) % ACCOUNT_EVERY == 0) {
        return sender_account(s, errp);
    }
    return true;
}

static bool section_begin(RamSender *s, Error **errp)
{
    uint8_t type = MIG_SEC_RAM;

    return mig_channel_write(s->ch, &type, 1, errp);
}

static bool section_end(RamSender *s, Error **errp)
{
    uint64_t eos = GUINT64_TO_BE(MIG_RAM_EOS);

    if (!mig_channel_write(s->ch, &eos, 8, errp)) {
        return false;
    }
    migration_account_pages(s->mig, s->zero, s->normal);
    s->zero = s->normal = 0;
    return true;
}

/* --- source -------------------------------------------------------------- */

static bool save_block_all(RamSender *s, const RamBlock *b, Error **errp)
{
    uint64_t off = 0;

    while (off < b->size) {
        uint64_t data = MAX(block_seek(b, off, SEEK_DATA), off);
        uint64_t hole;

        for (; off < data; off += PAGE) {
            if (!send_page(s, b, off, true, errp)) {
                return false;
            }
        }
        if (off >= b->size) {
            break;
        }
        hole = MAX(block_seek(b, off, SEEK_HOLE), off + PAGE);
        for (; off < hole; off += PAGE) {
            if (!send_page(s, b, off, false, errp)) {
                return false;
            }
        }
    }
    return true;
}

bool ram_save_first_pass(MigrationState *mig, Error **errp)
{
    RamSender s = { .mig = mig, .ch = mig->out, .rate_limited = true };
    RamState *rs = mig->ram;

    if (!section_begin(&s, errp)) {
        return false;
    }
    for (unsigned i = 0; i < rs->nr; i++) {
        if (!save_block_all(&s, &rs->blocks[i], errp)) {
            return false;
        }
    }
    return section_end(&s, errp);
}

static uint64_t bitmap_count(const unsigned long *bm, uint64_t bits)
{
    uint64_t n = 0;

    for (uint64_t i = 0; i < (bits + BITS_PER_LONG - 1) / BITS_PER_LONG; i++) {
        n += __builtin_popcountl(bm[i]);
    }
    return n;
}

/*
 * Blocks that appeared since the last round: memory plugged during the
 * migration (device_add allows only memory devices then).  Logging starts
 * on them before the migration reads any of their pages; the next round
 * sends them whole, after the record the destination plugs the same
 * device from.  Lock held.
 */
static bool ram_pick_up_plugged(MigrationState *mig, Error **errp)
{
    MachineState *ms = mig->ms;
    RamState *rs = mig->ram;
    unsigned first = ram_state_add_new(ms, rs);

    for (unsigned i = first; i < rs->nr; i++) {
        RamBlock *b = &rs->blocks[i];

        b->plug = g_byte_array_new();
        if (!ram_plug_save(ms, b->mr, b->plug)) {
            error_setg(errp, "RAM at 0x%" PRIx64 " (0x%" PRIx64 " bytes) "
                       "appeared during the migration and belongs to no "
                       "memory device", b->gpa, b->size);
            return false;
        }
        b->send_all = true;
    }
    if (first == rs->nr) {
        return true;
    }
    address_space_transaction_begin(&ms->address_space_memory);
    for (unsigned i = first; i < rs->nr; i++) {
        memory_region_set_log(rs->blocks[i].mr, true, DIRTY_MEMORY_MIGRATION);
    }
    address_space_transaction_commit(&ms->address_space_memory);
    return true;
}

bool ram_sync(MigrationState *mig, uint64_t *pending, Error **errp)
{
    MachineState *ms = mig->ms;
    RamState *rs = mig->ram;
    bool ok;

    g_mutex_lock(&ms->lock);
    ok = ram_pick_up_plugged(mig, errp);
    if (ok) {
        address_space_log_sync(&ms->address_space_memory);
    }
    g_mutex_unlock(&ms->lock);
    if (!ok) {
        return false;
    }
    *pending = 0;
    for (unsigned i = 0; i < rs->nr; i++) {
        RamBlock *b = &rs->blocks[i];
        uint64_t pages = b->size / PAGE;
        DirtyBitmapSnapshot *snap =
            memory_region_snapshot_and_clear_dirty(b->mr, b->mr_offset,
                                                   b->size);

        if (!b->pending) {
            b->pending = snap;
        } else {
            for (uint64_t w = 0; w < (pages + BITS_PER_LONG - 1) /
                                     BITS_PER_LONG; w++) {
                b->pending->dirty[w] |= snap->dirty[w];
            }
            g_free(snap);
        }
        *pending += b->send_all ? pages : bitmap_count(b->pending->dirty,
                                                       pages);
    }
    return true;
}

static bool save_block_pending(RamSender *s, RamBlock *b, Error **errp)
{
    unsigned long *bm = b->pending ? b->pending->dirty : NULL;
    uint64_t words = (b->size / PAGE + BITS_PER_LONG - 1) / BITS_PER_LONG;

    for (uint64_t w = 0; bm && w < words; w++) {
        while (bm[w]) {
            uint64_t page = w * BITS_PER_LONG + __builtin_ctzl(bm[w]);

            bm[w] &= bm[w] - 1;
            if (!send_page(s, b, page * PAGE, false, errp)) {
                return false;
            }
        }
    }
    return true;
}

/* A block plugged during the migration: every page (zero ones without
 * reading them, as in the first pass), which covers what was pending. */
static bool save_block_plugged(RamSender *s, RamBlock *b, Error **errp)
{
    uint64_t words = (b->size / PAGE + BITS_PER_LONG - 1) / BITS_PER_LONG;

    if (!save_block_all(s, b, errp)) {
        return false;
    }
    memset(b->pending->dirty, 0, words * sizeof(unsigned long));
    b->send_all = false;
    return true;
}

/* The records of blocks plugged since the last round, before their
 * pages. */
static bool save_plug_records(RamSender *s, RamState *rs, Error **errp)
{
    for (unsigned i = 0; i < rs->nr; i++) {
        RamBlock *b = &rs->blocks[i];

        if (!b->plug) {
            continue;
        }
        if (!savevm_write_blob(s->ch, MIG_SEC_MEMDEV, NULL, b->plug, errp)) {
            return false;
        }
        g_clear_pointer(&b->plug, g_byte_array_unref);
    }
    return true;
}

bool ram_save_pending(MigrationState *mig, bool final, Error **errp)
{
    RamSender s = { .mig = mig, .ch = mig->out, .rate_limited = !final };
    RamState *rs = mig->ram;

    if (!save_plug_records(&s, rs, errp) || !section_begin(&s, errp)) {
        return false;
    }
    for (unsigned i = 0; i < rs->nr; i++) {
        RamBlock *b = &rs->blocks[i];

        if (!(b->send_all ? save_block_plugged(&s, b, errp)
                          : save_block_pending(&s, b, errp))) {
            return false;
        }
    }
    return section_end(&s, errp);
}

/* --- destination --------------------------------------------------------- */

static void bitmap_set_range(unsigned long *bm, uint64_t first, uint64_t n)
{
    for (uint64_t i = first; i < first + n; i++) {
        bm[i / BITS_PER_LONG] |= 1UL << (i % BITS_PER_LONG);
    }
}

void ram_load_prepare(RamState *rs)
{
    for (unsigned i = 0; i < rs->nr; i++) {
        RamBlock *b = &rs->blocks[i];
        uint64_t pages = b->size / PAGE;
        uint64_t off = 0;

        if (b->maybe_data) {
            continue;
        }
        b->maybe_data = g_new0(unsigned long,
                               (pages + BITS_PER_LONG - 1) / BITS_PER_LONG);
        while (off < b->size) {
            uint64_t data = MAX(block_seek(b, off, SEEK_DATA), off);
            uint64_t hole;

            if (data >= b->size) {
                break;
            }
            hole = MAX(block_seek(b, data, SEEK_HOLE), data + PAGE);
            bitmap_set_range(b->maybe_data, data / PAGE, (hole - data) / PAGE);
            off = hole;
        }
    }
}

/* The page at gpa lies wholly inside b (no overflow for any gpa). */
static bool block_has_page(const RamBlock *b, uint64_t gpa)
{
    return gpa >= b->gpa && gpa - b->gpa < b->size &&
           b->size - (gpa - b->gpa) >= PAGE;
}

static RamBlock *block_find(RamState *rs, uint64_t gpa)
{
    for (unsigned i = 0; i < rs->nr; i++) {
        if (block_has_page(&rs->blocks[i], gpa)) {
            return &rs->blocks[i];
        }
    }
    return NULL;
}

/*
 * Data pages for shared backing go in with pwritev, in runs of
 * consecutive pages straight from the channel's buffer: a whole-page
 * write into tmpfs neither faults nor clears the page first, as a store
 * through the mapping does, and one call covers a run (the per-page
 * fault and clear were half the destination's time for 1 GiB).  The run
 * points into the buffer, so it is written out before the buffer may be
 * refilled (less than one entry left in it) and at the end of a section.
 */
#define RUN_MAX 256

typedef struct RamLoader {
    RamState *rs;
    MigChannel *ch;
    RamBlock *run_block;
    uint64_t run_off;               /* block offset of the first page */
    unsigned run_n;
    struct iovec iov[RUN_MAX];
} RamLoader;

static void run_flush(RamLoader *l)
{
    RamBlock *b = l->run_block;
    ssize_t len = (ssize_t)l->run_n * PAGE;

    if (!l->run_n) {
        return;
    }
    if (pwritev(b->fd, l->iov, l->run_n, b->fd_offset + l->run_off) != len) {
        b->no_pwrite = true;        /* e.g. hugetlbfs: use the mapping */
        for (unsigned i = 0; i < l->run_n; i++) {
            memcpy(b->host + l->run_off + i * PAGE, l->iov[i].iov_base, PAGE);
        }
    }
    l->run_n = 0;
}

static bool load_data(RamLoader *l, RamBlock *b, uint64_t off, Error **errp)
{
    const uint8_t *p;

    if (b->fd < 0 || b->no_pwrite) {
        return mig_channel_read(l->ch, b->host + off, PAGE, errp);
    }
    if (l->run_n && (l->run_block != b || l->run_n == RUN_MAX ||
                     off != l->run_off + l->run_n * PAGE)) {
        run_flush(l);
    }
    p = mig_channel_peek(l->ch, PAGE, errp);
    if (!p) {
        return false;
    }
    if (!l->run_n) {
        l->run_block = b;
        l->run_off = off;
    }
    l->iov[l->run_n++] = (struct iovec){ (void *)p, PAGE };
    mig_channel_consume(l->ch, PAGE);
    return true;
}

static bool load_page(RamLoader *l, RamBlock *b, uint64_t off, bool zero,
                      Error **errp)
{
    uint64_t page = off / PAGE;
    unsigned long bit = 1UL << (page % BITS_PER_LONG);
    unsigned long *word = &b->maybe_data[page / BITS_PER_LONG];

    if (!zero) {
        *word |= bit;
        return load_data(l, b, off, errp);
    }
    /* A page appears once per section: no run holds this one. */
    if ((*word & bit) && !page_is_zero(b->host + off)) {
        memset(b->host + off, 0, PAGE);
    }
    *word &= ~bit;
    return true;
}

/* One entry; *eos at the end of the section. */
static bool load_entry(RamLoader *l, RamBlock **b, bool *eos, Error **errp)
{
    uint64_t hdr, gpa, flags;

    if (mig_channel_available(l->ch) < 8 + PAGE) {
        run_flush(l);               /* the buffer may be refilled */
    }
    if (!mig_channel_read(l->ch, &hdr, 8, errp)) {
        return false;
    }
    hdr = GUINT64_FROM_BE(hdr);
    gpa = hdr & ~MIG_RAM_FLAGS;
    flags = hdr & MIG_RAM_FLAGS;
    *eos = flags == MIG_RAM_EOS;
    if (*eos) {
        return true;
    }
    if (flags != MIG_RAM_ZERO && flags != MIG_RAM_PAGE) {
        error_setg(errp, "bad RAM page flags 0x%" PRIx64 " at 0x%" PRIx64,
                   flags, gpa);
        return false;
    }
    if (!*b || !block_has_page(*b, gpa)) {
        *b = block_find(l->rs, gpa);
    }
    if (!*b) {
        error_setg(errp, "page 0x%" PRIx64 " is outside guest RAM", gpa);
        return false;
    }
    return load_page(l, *b, gpa - (*b)->gpa, flags == MIG_RAM_ZERO, errp);
}

bool ram_load_section(RamState *rs, MigChannel *ch, Error **errp)
{
    RamLoader l = { .rs = rs, .ch = ch };
    RamBlock *b = NULL;
    bool eos = false, ok;

    do {
        ok = load_entry(&l, &b, &eos, errp);
    } while (ok && !eos);
    run_flush(&l);
    return ok;
}
