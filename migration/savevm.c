/* SPDX-License-Identifier: MIT */
/*
 * The migration stream's frame and its non-RAM sections: the header
 * (magic "KVMINIMG", version), the machine configuration the destination
 * must match, the calls of the hooks of the device sections registered
 * with the machine (migration/register.h), and the length-prefixed blob sections that
 * carry device and accelerator state.  docs/migration.md describes the
 * format byte by byte.
 */
#include "migration-internal.h"

#include <string.h>

/* --- hooks --------------------------------------------------------------- */

bool savevm_setup(MigrationState *mig, Error **errp)
{
    GPtrArray *sections = savevm_sections(mig->ms);

    for (guint i = 0; i < sections->len; i++) {
        SaveStateEntry *e = g_ptr_array_index(sections, i);

        if (e->ops->setup && !e->ops->setup(e->opaque, errp)) {
            return false;
        }
    }
    return true;
}

void savevm_cleanup(MigrationState *mig, bool completed)
{
    GPtrArray *sections = savevm_sections(mig->ms);

    for (guint i = 0; i < sections->len; i++) {
        SaveStateEntry *e = g_ptr_array_index(sections, i);

        if (e->ops->cleanup) {
            e->ops->cleanup(e->opaque, completed);
        }
    }
}

void mig_blob_free(gpointer p)
{
    MigBlob *b = p;

    if (b) {
        g_free(b->name);
        if (b->data) {
            g_byte_array_unref(b->data);
        }
        g_free(b);
    }
}

bool savevm_save(MigrationState *mig, GPtrArray *blobs, Error **errp)
{
    GPtrArray *sections = savevm_sections(mig->ms);

    for (guint i = 0; i < sections->len; i++) {
        SaveStateEntry *e = g_ptr_array_index(sections, i);
        MigBlob *b = g_new0(MigBlob, 1);

        b->name = g_strdup(e->name);
        b->data = g_byte_array_new();
        g_ptr_array_add(blobs, b);
        if (e->ops->save && !e->ops->save(e->opaque, b->data, errp)) {
            error_prepend(errp, "saving '%s': ", e->name);
            return false;
        }
    }
    return true;
}

bool savevm_load(MigrationState *mig, GPtrArray *blobs, Error **errp)
{
    for (guint i = 0; i < blobs->len; i++) {
        MigBlob *b = g_ptr_array_index(blobs, i);
        SaveStateEntry *e = savevm_section_find(mig->ms, b->name);

        if (!e) {
            error_setg(errp, "unknown device section '%s'", b->name);
            return false;
        }
        if (e->ops->load &&
            !e->ops->load(e->opaque, b->data->data, b->data->len, errp)) {
            error_prepend(errp, "loading '%s': ", b->name);
            return false;
        }
    }
    return true;
}

bool savevm_post_load(MigrationState *mig, Error **errp)
{
    GPtrArray *sections = savevm_sections(mig->ms);

    for (guint i = 0; i < sections->len; i++) {
        SaveStateEntry *e = g_ptr_array_index(sections, i);

        if (e->ops->post_load && !e->ops->post_load(e->opaque, errp)) {
            error_prepend(errp, "starting '%s': ", e->name);
            return false;
        }
    }
    return true;
}

/* --- machine configuration ----------------------------------------------- */

typedef struct MachineConfig {
    uint64_t ram_size;
    uint32_t ncpus;
    char *accel;
    GArray *ram;                    /* uint64_t pairs: gpa, size */
    GPtrArray *devices;             /* char *, sorted */
} MachineConfig;

static gint str_cmp(gconstpointer a, gconstpointer b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

GByteArray *savevm_config_build(MigrationState *mig, RamState *rs)
{
    MachineState *ms = mig->ms;
    GByteArray *b = g_byte_array_new();
    g_autoptr(GPtrArray) names = g_ptr_array_new();

    mig_put_be64(b, ms->ram_size);
    mig_put_be32(b, ms->smp_cpus);
    mig_put_str(b, ms->accel->name);
    mig_put_be32(b, rs->nr);
    for (unsigned i = 0; i < rs->nr; i++) {
        mig_put_be64(b, rs->blocks[i].gpa);
        mig_put_be64(b, rs->blocks[i].size);
    }
    GPtrArray *sections = savevm_sections(ms);

    for (guint i = 0; i < sections->len; i++) {
        g_ptr_array_add(names,
            ((SaveStateEntry *)g_ptr_array_index(sections, i))->name);
    }
    g_ptr_array_sort(names, str_cmp);
    mig_put_be32(b, names->len);
    for (guint i = 0; i < names->len; i++) {
        mig_put_str(b, g_ptr_array_index(names, i));
    }
    return b;
}

static void config_clear(MachineConfig *c)
{
    g_free(c->accel);
    if (c->ram) {
        g_array_free(c->ram, TRUE);
    }
    if (c->devices) {
        g_ptr_array_free(c->devices, TRUE);
    }
}

static bool config_decode(const GByteArray *b, MachineConfig *c, Error **errp)
{
    MigReader r;
    uint32_t n;

    mig_reader_init(&r, b->data, b->len);
    c->ram_size = mig_get_be64(&r);
    c->ncpus = mig_get_be32(&r);
    c->accel = mig_get_str(&r);
    c->ram = g_array_new(FALSE, FALSE, sizeof(uint64_t));
    n = mig_get_be32(&r);
    for (uint32_t i = 0; i < n && !r.error; i++) {
        uint64_t v[2] = { mig_get_be64(&r), mig_get_be64(&r) };

        g_array_append_vals(c->ram, v, 2);
    }
    c->devices = g_ptr_array_new_with_free_func(g_free);
    n = mig_get_be32(&r);
    for (uint32_t i = 0; i < n && !r.error; i++) {
        g_ptr_array_add(c->devices, mig_get_str(&r));
    }
    return mig_reader_check(&r, "configuration section", errp);
}

static char *size_str(uint64_t v)
{
    if (v && !(v & ((1ULL << 20) - 1))) {
        return g_strdup_printf("%" PRIu64 " MiB", v >> 20);
    }
    return g_strdup_printf("%" PRIu64 " bytes", v);
}

static char *ram_layout_str(GArray *ram)
{
    GString *s = g_string_new("");

    for (guint i = 0; i + 1 < ram->len; i += 2) {
        uint64_t gpa = g_array_index(ram, uint64_t, i);
        uint64_t size = g_array_index(ram, uint64_t, i + 1);

        g_string_append_printf(s, "%s0x%" PRIx64 "-0x%" PRIx64,
                               i ? " " : "", gpa, gpa + size - 1);
    }
    return g_string_free(s, FALSE);
}

static bool config_check_devices(const MachineConfig *src,
                                 const MachineConfig *dst, Error **errp)
{
    for (guint i = 0; i < src->devices->len; i++) {
        const char *name = g_ptr_array_index(src->devices, i);

        if (!g_ptr_array_find_with_equal_func(dst->devices, name, g_str_equal,
                                              NULL)) {
            error_setg(errp, "device '%s' of the source is missing on the "
                       "destination", name);
            return false;
        }
    }
    for (guint i = 0; i < dst->devices->len; i++) {
        const char *name = g_ptr_array_index(dst->devices, i);

        if (!g_ptr_array_find_with_equal_func(src->devices, name, g_str_equal,
                                              NULL)) {
            error_setg(errp, "device '%s' of the destination does not exist "
                       "on the source", name);
            return false;
        }
    }
    return true;
}

static bool config_compare(const MachineConfig *src, const MachineConfig *dst,
                           Error **errp)
{
    if (src->ram_size != dst->ram_size) {
        g_autofree char *a = size_str(src->ram_size);
        g_autofree char *b = size_str(dst->ram_size);

        error_setg(errp, "RAM size (-m): source %s, destination %s", a, b);
        return false;
    }
    if (src->ncpus != dst->ncpus) {
        error_setg(errp, "number of vCPUs (-smp): source %u, destination %u",
                   src->ncpus, dst->ncpus);
        return false;
    }
    if (g_strcmp0(src->accel, dst->accel)) {
        error_setg(errp, "accelerator: source %s, destination %s",
                   src->accel, dst->accel);
        return false;
    }
    if (src->ram->len != dst->ram->len ||
        memcmp(src->ram->data, dst->ram->data,
               src->ram->len * sizeof(uint64_t))) {
        g_autofree char *a = ram_layout_str(src->ram);
        g_autofree char *b = ram_layout_str(dst->ram);

        error_setg(errp, "RAM layout: source %s, destination %s", a, b);
        return false;
    }
    return config_check_devices(src, dst, errp);
}

bool savevm_config_check(const GByteArray *source, const GByteArray *local,
                         Error **errp)
{
    MachineConfig src = { 0 }, dst = { 0 };
    bool ok = config_decode(source, &src, errp) &&
              config_decode(local, &dst, errp);

    if (ok && !config_compare(&src, &dst, errp)) {
        error_prepend(errp, "configuration mismatch: ");
        ok = false;
    }
    config_clear(&src);
    config_clear(&dst);
    return ok;
}

/* --- framing ------------------------------------------------------------- */

bool savevm_write_header(MigChannel *ch, Error **errp)
{
    uint32_t version = GUINT32_TO_BE(MIG_VERSION);

    return mig_channel_write(ch, MIG_MAGIC, MIG_MAGIC_LEN, errp) &&
           mig_channel_write(ch, &version, sizeof(version), errp);
}

bool savevm_read_header(MigChannel *ch, Error **errp)
{
    char magic[MIG_MAGIC_LEN];
    uint32_t version;

    if (!mig_channel_read(ch, magic, sizeof(magic), errp) ||
        !mig_channel_read(ch, &version, sizeof(version), errp)) {
        return false;
    }
    if (memcmp(magic, MIG_MAGIC, MIG_MAGIC_LEN)) {
        error_setg(errp, "not a kvmini migration stream (bad magic)");
        return false;
    }
    version = GUINT32_FROM_BE(version);
    if (version != MIG_VERSION) {
        error_setg(errp, "migration stream version %u is not supported "
                   "(this kvmini reads version %u)", version, MIG_VERSION);
        return false;
    }
    return true;
}

bool savevm_write_blob(MigChannel *ch, uint8_t type, const char *name,
                       const GByteArray *data, Error **errp)
{
    g_autoptr(GByteArray) hdr = g_byte_array_new();

    mig_put_u8(hdr, type);
    if (type == MIG_SEC_DEVICE) {
        mig_put_str(hdr, name);
    }
    mig_put_be32(hdr, data->len);
    return mig_channel_write(ch, hdr->data, hdr->len, errp) &&
           mig_channel_write(ch, data->data, data->len, errp);
}

static char *read_name(MigChannel *ch, Error **errp)
{
    uint16_t n;
    char *name;

    if (!mig_channel_read(ch, &n, sizeof(n), errp)) {
        return NULL;
    }
    n = GUINT16_FROM_BE(n);
    name = g_malloc0(n + 1);
    if (!mig_channel_read(ch, name, n, errp)) {
        g_free(name);
        return NULL;
    }
    return name;
}

MigBlob *savevm_read_blob(MigChannel *ch, uint8_t type, Error **errp)
{
    MigBlob *b = g_new0(MigBlob, 1);
    uint32_t len;

    if (type == MIG_SEC_DEVICE && !(b->name = read_name(ch, errp))) {
        goto fail;
    }
    if (!mig_channel_read(ch, &len, sizeof(len), errp)) {
        goto fail;
    }
    len = GUINT32_FROM_BE(len);
    if (len > MIG_SECTION_MAX) {
        error_setg(errp, "section of %u bytes is larger than the %u allowed",
                   len, MIG_SECTION_MAX);
        goto fail;
    }
    b->data = g_byte_array_sized_new(len);
    g_byte_array_set_size(b->data, len);
    if (!mig_channel_read(ch, b->data->data, len, errp)) {
        goto fail;
    }
    return b;
fail:
    mig_blob_free(b);
    return NULL;
}
