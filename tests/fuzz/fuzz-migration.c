/* SPDX-License-Identifier: MIT */
/*
 * Fuzz target for the destination of a migration: the bytes a source (or
 * a file given to -incoming) sends, read the way migration/incoming.c
 * reads them, into a small destination: 2 MiB of memfd RAM at 0 and
 * 64 KiB of malloc'd RAM at 4 GiB (the sanitizer sees any access next to
 * it), and the vhost-user net device of fuzz-net.h in a virtio-mmio slot,
 * whose section load hook is the product's.  Whatever the bytes, the
 * destination must fail with an error or load, never crash, never touch
 * memory outside the RAM blocks; a function that returns false must have
 * set its error and one that succeeds must not.
 *
 * The first byte of an input picks the entry point (modulo 5), the rest
 * is the stream:
 *   0  the whole stream: header, configuration section compared with the
 *      local one, RAM / accel / device / memory-device sections, end
 *      marker; then the device sections go to savevm_load() and the
 *      post_load hooks, and the guest kicks every queue of the loaded
 *      device (its control queue walks rings the stream put in RAM)
 *   1  a configuration section's bytes against the local configuration
 *      (savevm_config_check, both ways round)
 *   2  RAM sections back to back (what follows a section's type byte:
 *      page entries up to EOS), checked against a model of what they must
 *      leave in RAM: the same verdict, every page as the stream says
 *      (unless it appears twice in one section), nothing else changed,
 *      the memfd not grown
 *   3  type byte + blob (savevm_read_blob) until one fails
 *   4  one device section for the virtio-mmio device's load hook, then
 *      post_load and the guest's kicks as in 0
 * Memory-device sections are read but not plugged (that needs a machine
 * with a hotplug area; pc-dimm's load_plug is not covered here).
 *
 * Two builds, as fuzz-loader.c: with KVMINI_LIBFUZZER this file is a
 * libFuzzer target (LLVMFuzzerTestOneInput); otherwise it is linked with
 * fuzz-migration-seeds.c into a standalone campaign (see fuzz-common.h;
 * default 20000 inputs).
 */
#include "fuzz-migration.h"

#include <errno.h>
#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

const char *const mf_mode_names[MF_MODES] = {
    "stream", "config", "ram", "blob", "device",
};

MfStats mf_stats;

void mvm_init(MigVM *vm)
{
    MachineState *ms = fuzz_machine_new(&vm->accel);
    Error *err = NULL;

    vm->ms = ms;
    if (!memory_region_init_ram_memfd(&ms->ram_below_4g, "ram-low",
                                      MF_LOW_SIZE, &err)) {
        g_error("fuzz-migration: %s", error_get_pretty(err));
    }
    vm->high = g_malloc(MF_HIGH_SIZE);
    memset(vm->high, MF_HIGH_FILL, MF_HIGH_SIZE);
    memory_region_init_ram_ptr(&ms->ram_above_4g, "ram-high", MF_HIGH_SIZE,
                               vm->high, -1, 0);
    memory_region_add_subregion(&ms->system_memory, 0, &ms->ram_below_4g);
    memory_region_add_subregion(&ms->system_memory, MF_HIGH_GPA,
                                &ms->ram_above_4g);
    ms->ram_size = MF_LOW_SIZE + MF_HIGH_SIZE;
    vm->low = ms->ram_below_4g.ram_ptr;
    vm->low_fd = ms->ram_below_4g.ram_fd;
    fuzz_net_init(&vm->net, ms, false);
    vm->rs = ram_state_new(ms);
    g_assert_cmpuint(vm->rs->nr, ==, 2);
    ram_load_prepare(vm->rs);
    vm->config = savevm_config_build(migration_get(ms), vm->rs);
}

void mvm_free(MigVM *vm)
{
    ram_state_free(vm->rs);
    g_byte_array_unref(vm->config);
    fuzz_net_cleanup(&vm->net);
    machine_free(vm->ms);
    g_free(vm->high);
}

/* --- checked calls ---------------------------------------------------------- */

/* A product call's verdict must agree with its error. */
static bool mf_result(bool ok, Error *err, Error **errp)
{
    g_assert(ok == (err == NULL));
    g_assert(!err || error_get_pretty(err)[0] != '\0');
    error_propagate(errp, err);
    return ok;
}

/* expr is a call that takes `lerrp` as its Error **. */
#define MF_CHECKED(errp, expr)                                              \
    ({                                                                      \
        Error *local_err_ = NULL;                                           \
        Error **lerrp = &local_err_;                                        \
        bool ok_ = (expr);                                                  \
        mf_result(ok_, local_err_, errp);                                   \
    })

/* The blob savevm_read_blob() returned, checked against its error. */
static MigBlob *mf_read_blob(MigChannel *ch, uint8_t type, Error **errp)
{
    Error *err = NULL;
    MigBlob *b = savevm_read_blob(ch, type, &err);

    mf_result(b != NULL, err, errp);
    if (b) {
        g_assert((b->name != NULL) == (type == MIG_SEC_DEVICE));
        g_assert_cmpuint(b->data->len, <=, MIG_SECTION_MAX);
    }
    return b;
}

/* Bytes of the input the channel has consumed. */
static uint64_t mf_consumed(const MigChannel *ch)
{
    return ch->transferred - mig_channel_available(ch);
}

/* One memfd holds every input; each channel reads it through a dup. */
static MigChannel *mf_channel(const uint8_t *data, size_t size)
{
    static int fd = -1;
    size_t done = 0;

    if (fd < 0) {
        fd = memfd_create("fuzz-migration-input", MFD_CLOEXEC);
        g_assert(fd >= 0);
    }
    g_assert(ftruncate(fd, 0) == 0);
    while (done < size) {
        ssize_t n = pwrite(fd, data + done, size - done, done);

        g_assert(n > 0);
        done += n;
    }
    g_assert(lseek(fd, 0, SEEK_SET) == 0);
    return mig_channel_new(fcntl(fd, F_DUPFD_CLOEXEC, 3));
}

/* --- after a device load: the guest runs --------------------------------------- */

static void mf_check_device(MigVM *vm)
{
    VirtIODevice *vdev = &vm->net.s.parent.vdev;

    g_assert(vdev->broken ==
             !!(vdev->status & VIRTIO_CONFIG_S_NEEDS_RESET));
    g_assert(fuzz_net_sane(&vm->net));
    g_assert_cmpuint(vm->accel.irqs_off_slot, ==, 0);
}

/* post_load (its warnings are expected: no backend to announce through),
 * then the guest reads its registers and kicks every queue. */
static bool mf_post_load(MigVM *vm, Error **errp)
{
    MigrationState *mig = migration_get(vm->ms);
    VirtIODevice *vdev = &vm->net.s.parent.vdev;
    hwaddr base = vm->net.s.parent.proxy.slot->base;
    FuzzQuiet q;
    bool ok;

    fuzz_quiet_begin(&q);
    ok = MF_CHECKED(errp, savevm_post_load(mig, lerrp));
    fuzz_quiet_end(&q);
    if (!ok) {
        return false;
    }
    mf_stats.loads++;
    /* virtio_migration_load refuses a status no driver can set. */
    g_assert(!(vdev->status & VIRTIO_CONFIG_S_DRIVER_OK) ||
             (vdev->status & VIRTIO_CONFIG_S_FEATURES_OK));
    fuzz_rd(vm->ms, base + VIRTIO_MMIO_INTERRUPT_STATUS, 4);
    fuzz_rd(vm->ms, base + VIRTIO_MMIO_CONFIG, 4);
    for (unsigned i = 0; i < vdev->nvqs; i++) {
        uint16_t used = vdev->vq[i].used_idx;

        fuzz_wr(vm->ms, base + VIRTIO_MMIO_QUEUE_NOTIFY, i, 4);
        mf_stats.answered += (uint16_t)(vdev->vq[i].used_idx - used);
        mf_check_device(vm);
    }
    return true;
}

/* --- mode 0: the whole stream ----------------------------------------------- */

static bool mf_read_config(MigVM *vm, MigChannel *ch, Error **errp)
{
    MigBlob *b;
    uint8_t type;
    bool ok;

    if (!MF_CHECKED(errp, mig_channel_read(ch, &type, 1, lerrp))) {
        return false;
    }
    if (type != MIG_SEC_CONFIG) {
        error_setg(errp, "expected the configuration section, got %u", type);
        return false;
    }
    b = mf_read_blob(ch, type, errp);
    if (!b) {
        return false;
    }
    ok = MF_CHECKED(errp, savevm_config_check(b->data, vm->config, lerrp));
    mig_blob_free(b);
    return ok;
}

/* An accel, device or memory-device section, kept as incoming.c does. */
static bool mf_keep_blob(MigChannel *ch, uint8_t type, GPtrArray *blobs,
                         bool *have_accel, Error **errp)
{
    MigBlob *b = mf_read_blob(ch, type, errp);

    if (!b) {
        return false;
    }
    if (type == MIG_SEC_DEVICE) {
        g_ptr_array_add(blobs, b);
        return true;
    }
    mig_blob_free(b);
    if (type == MIG_SEC_ACCEL && *have_accel) {
        error_setg(errp, "two vCPU state sections");
        return false;
    }
    *have_accel |= type == MIG_SEC_ACCEL;
    return true;
}

static bool mf_read_sections(MigVM *vm, MigChannel *ch, GPtrArray *blobs,
                             Error **errp)
{
    bool have_accel = false;
    uint8_t type, flags;

    for (;;) {
        if (!MF_CHECKED(errp, mig_channel_read(ch, &type, 1, lerrp))) {
            return false;
        }
        switch (type) {
        case MIG_SEC_RAM:
            if (!MF_CHECKED(errp, ram_load_section(vm->rs, ch, lerrp))) {
                return false;
            }
            break;
        case MIG_SEC_ACCEL:
        case MIG_SEC_DEVICE:
        case MIG_SEC_MEMDEV:
            if (!mf_keep_blob(ch, type, blobs, &have_accel, errp)) {
                return false;
            }
            break;
        case MIG_SEC_END:
            return MF_CHECKED(errp, mig_channel_read(ch, &flags, 1, lerrp));
        default:
            error_setg(errp, "unknown section type %u", type);
            return false;
        }
    }
}

static bool mf_stream(MigVM *vm, MigChannel *ch, Error **errp)
{
    MigrationState *mig = migration_get(vm->ms);
    g_autoptr(GPtrArray) blobs = g_ptr_array_new_with_free_func(mig_blob_free);
    bool ok;

    ok = MF_CHECKED(errp, savevm_read_header(ch, lerrp)) &&
         mf_read_config(vm, ch, errp) &&
         mf_read_sections(vm, ch, blobs, errp) &&
         MF_CHECKED(errp, savevm_load(mig, blobs, lerrp)) &&
         mf_post_load(vm, errp);
    if (!ok) {
        savevm_cleanup(mig, false);     /* as incoming_fail() */
    }
    return ok;
}

/* --- mode 1: the configuration --------------------------------------------------- */

static bool mf_config(MigVM *vm, const uint8_t *data, size_t size,
                      Error **errp)
{
    g_autoptr(GByteArray) src = g_byte_array_sized_new(size);
    bool ok;

    g_byte_array_append(src, data, size);
    ok = MF_CHECKED(errp, savevm_config_check(src, vm->config, lerrp));
    /* The same decoder runs on the local side: swap them. */
    g_assert(MF_CHECKED(NULL, savevm_config_check(vm->config, src,
                                                  lerrp)) == ok);
    return ok;
}

/* --- mode 2: RAM sections against a model ---------------------------------------- */

typedef enum { PG_UNTOUCHED, PG_ZERO, PG_DATA, PG_ANY } PageState;

typedef struct RamModel {
    uint8_t state[2][MF_LOW_SIZE / MIG_PAGE_SIZE];      /* PageState */
    const uint8_t *data[2][MF_LOW_SIZE / MIG_PAGE_SIZE];
    unsigned seen[2][MF_LOW_SIZE / MIG_PAGE_SIZE];      /* last section */
} RamModel;

/* Block (0 low, 1 high) and page of a guest-physical address. */
static bool model_find(uint64_t gpa, unsigned *blk, uint64_t *page)
{
    if (gpa < MF_LOW_SIZE) {
        *blk = 0;
        *page = gpa / MF_PAGE;
        return true;
    }
    if (gpa >= MF_HIGH_GPA && gpa - MF_HIGH_GPA < MF_HIGH_SIZE) {
        *blk = 1;
        *page = (gpa - MF_HIGH_GPA) / MF_PAGE;
        return true;
    }
    return false;
}

/*
 * One entry as ram_load_section must take it; false where it must fail.
 * A page twice in one section is beyond the format (the source sends a
 * page once per section, and the loader relies on it while a run of
 * pages is pending): such a page may end with either content.
 */
static bool model_entry(RamModel *m, FuzzInput *in, unsigned section,
                        bool *eos)
{
    uint64_t hdr, gpa, page;
    unsigned blk;
    size_t n;
    bool dup;

    if (in->size - in->pos < 8) {
        return false;
    }
    hdr = fuzz_load(in->data + in->pos, 8, true);
    in->pos += 8;
    gpa = hdr & ~MIG_RAM_FLAGS;
    *eos = (hdr & MIG_RAM_FLAGS) == MIG_RAM_EOS;
    if (*eos) {
        return true;
    }
    if (((hdr & MIG_RAM_FLAGS) != MIG_RAM_ZERO &&
         (hdr & MIG_RAM_FLAGS) != MIG_RAM_PAGE) ||
        !model_find(gpa, &blk, &page)) {
        return false;
    }
    dup = m->seen[blk][page] == section;
    m->seen[blk][page] = section;
    if ((hdr & MIG_RAM_FLAGS) == MIG_RAM_ZERO) {
        m->state[blk][page] = dup ? PG_ANY : PG_ZERO;
        return true;
    }
    m->data[blk][page] = fuzz_in_bytes(in, MF_PAGE, &n);
    m->state[blk][page] = dup || n < MF_PAGE ? PG_ANY : PG_DATA;
    return n == MF_PAGE;        /* a cut page may be half written */
}

/* The verdict for the sections in [in->pos, end). */
static bool model_run(RamModel *m, FuzzInput *in)
{
    unsigned section = 0;
    bool eos;

    while (fuzz_in_left(in)) {
        section++;
        do {
            if (!model_entry(m, in, section, &eos)) {
                return false;
            }
        } while (!eos);
    }
    return true;
}

/* Is page p of block blk (at host) what the model says? */
static bool model_page_ok(const RamModel *m, unsigned blk, uint64_t p,
                          const uint8_t *host)
{
    static const uint8_t zero[MIG_PAGE_SIZE];
    uint8_t fill[MIG_PAGE_SIZE];

    switch (m->state[blk][p]) {
    case PG_UNTOUCHED:
        if (blk == 0) {
            return !memcmp(host, zero, MF_PAGE);
        }
        memset(fill, MF_HIGH_FILL, sizeof(fill));
        return !memcmp(host, fill, MF_PAGE);
    case PG_ZERO:
        return !memcmp(host, zero, MF_PAGE);
    case PG_DATA:
        return !memcmp(host, m->data[blk][p], MF_PAGE);
    default:
        return true;
    }
}

/* The memfd block: pages the model touched, and every page that holds
 * data (anything else is a hole, hence zero). */
static void model_check_low(const RamModel *m, MigVM *vm)
{
    uint8_t buf[MIG_PAGE_SIZE];
    struct stat st;
    off_t off = 0, hole;

    g_assert(fstat(vm->low_fd, &st) == 0);
    g_assert_cmpint(st.st_size, ==, MF_LOW_SIZE);
    for (uint64_t p = 0; p < MF_LOW_SIZE / MF_PAGE; p++) {
        if (m->state[0][p] != PG_UNTOUCHED) {
            g_assert(pread(vm->low_fd, buf, MF_PAGE, p * MF_PAGE) ==
                     (ssize_t)MF_PAGE);
            g_assert(model_page_ok(m, 0, p, buf));
        }
    }
    while ((off = lseek(vm->low_fd, off, SEEK_DATA)) >= 0) {
        hole = lseek(vm->low_fd, off, SEEK_HOLE);
        for (; off < hole; off += MF_PAGE) {
            g_assert(pread(vm->low_fd, buf, MF_PAGE, off) ==
                     (ssize_t)MF_PAGE);
            g_assert(model_page_ok(m, 0, off / MF_PAGE, buf));
        }
    }
    g_assert(errno == ENXIO);
}

static bool mf_ram(MigVM *vm, MigChannel *ch, const uint8_t *data,
                   size_t size, Error **errp)
{
    g_autofree RamModel *m = g_new0(RamModel, 1);
    FuzzInput in = { .data = data, .size = size };
    bool want = model_run(m, &in), ok = true;

    while (ok && mf_consumed(ch) < size) {
        ok = MF_CHECKED(errp, ram_load_section(vm->rs, ch, lerrp));
    }
    g_assert(ok == want);
    model_check_low(m, vm);
    for (uint64_t p = 0; p < MF_HIGH_SIZE / MF_PAGE; p++) {
        g_assert(model_page_ok(m, 1, p, vm->high + p * MF_PAGE));
    }
    return ok;
}

/* --- modes 3 and 4 ------------------------------------------------------------------ */

static bool mf_blobs(MigChannel *ch, size_t size, Error **errp)
{
    uint8_t type;

    while (mf_consumed(ch) < size) {
        MigBlob *b;

        g_assert(MF_CHECKED(NULL, mig_channel_read(ch, &type, 1, lerrp)));
        b = mf_read_blob(ch, type, errp);
        if (!b) {
            return false;
        }
        mig_blob_free(b);
    }
    return true;
}

static bool mf_device(MigVM *vm, const uint8_t *data, size_t size,
                      Error **errp)
{
    bool ok;

    ok = MF_CHECKED(errp, virtio_migration_load(&vm->net.s.parent.proxy, data,
                                                size, lerrp));
    if (!ok) {
        virtio_migration_cleanup(&vm->net.s.parent.proxy, false);
        mf_check_device(vm);
        return false;
    }
    return mf_post_load(vm, errp);
}

/* --- one input ------------------------------------------------------------------------ */

static bool mf_run_mode(MigVM *vm, unsigned mode, const uint8_t *data,
                        size_t size, Error **errp)
{
    MigChannel *ch;
    bool ok;

    if (mode == MF_CONFIG) {
        return mf_config(vm, data, size, errp);
    }
    if (mode == MF_DEVICE) {
        return mf_device(vm, data, size, errp);
    }
    ch = mf_channel(data, size);
    if (mode == MF_STREAM) {
        ok = mf_stream(vm, ch, errp);
    } else if (mode == MF_RAM) {
        ok = mf_ram(vm, ch, data, size, errp);
    } else {
        ok = mf_blobs(ch, size, errp);
    }
    mig_channel_free(ch);
    return ok;
}

/* Why the last input was rejected. */
static char *mf_last_error;

const char *mf_last_error_get(void)
{
    return mf_last_error;
}

bool mf_fuzz_one(const uint8_t *data, size_t size)
{
    Error *err = NULL;
    unsigned mode;
    MigVM vm;
    bool ok;

    g_clear_pointer(&mf_last_error, g_free);
    if (!size) {
        return false;
    }
    mode = data[0] % MF_MODES;
    mvm_init(&vm);
    ok = mf_run_mode(&vm, mode, data + 1, size - 1, &err);
    mvm_free(&vm);
    if (err) {
        mf_last_error = g_strdup_printf("%s: %s", mf_mode_names[mode],
                                        error_get_pretty(err));
        error_free(err);
    }
    mf_stats.runs[mode]++;
    mf_stats.ok[mode] += ok;
    return ok;
}

#ifdef KVMINI_LIBFUZZER
FUZZ_LIBFUZZER_ENTRY(mf_fuzz_one)
#endif
