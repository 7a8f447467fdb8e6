/* SPDX-License-Identifier: MIT */
/*
 * pc-dimm device model (see include/hw/mem/pc-dimm.h): parse, check
 * everything, then map the backend's RAM into the hotplug area in one
 * memory transaction; unplug unmaps it the same way.
 */
#include "hw/mem/pc-dimm.h"
#include "migration/stream.h"
#include "qemu/compiler.h"
#include "qemu/option.h"

#include <inttypes.h>
#include <string.h>

#define PC_DIMM_PAGE ((uint64_t)4096)

/* What the command line / device_add asked for. */
typedef struct PCDIMMOpts {
    const char *id;
    const char *memdev;
    bool has_addr, has_slot;
    uint64_t addr, slot;
} PCDIMMOpts;

/* The device's size: its backend's. */
static uint64_t pc_dimm_size(const PCDIMMDevice *d)
{
    return d->backend->size;
}

/* The DIMM md belongs to; NULL for another kind of memory device. */
static PCDIMMDevice *pc_dimm_of(MemoryDeviceState *md)
{
    return md->model == &pc_dimm_model ? container_of(md, PCDIMMDevice, md)
                                       : NULL;
}

/* The i-th plugged memory device if it is a DIMM. */
static PCDIMMDevice *pc_dimm_at(MachineState *ms, guint i)
{
    return pc_dimm_of(g_ptr_array_index(ms->device_memory->devices, i));
}

static bool pc_dimm_parse(MachineState *ms, GHashTable *opts, PCDIMMOpts *o,
                          Error **errp)
{
    static const char *const keys[] = { "driver", "id", "memdev", "addr",
                                        "slot", NULL };

    if (!qemu_opts_check_keys(opts, keys, errp) ||
        !qemu_opt_get_number(opts, "addr", 0, &o->addr, errp) ||
        !qemu_opt_get_number(opts, "slot", 0, &o->slot, errp)) {
        return false;
    }
    o->id = qemu_opt_get(opts, "id");
    o->memdev = qemu_opt_get(opts, "memdev");
    o->has_addr = qemu_opt_get(opts, "addr") != NULL;
    o->has_slot = qemu_opt_get(opts, "slot") != NULL;
    if (!o->memdev) {
        error_setg(errp, "'memdev' property is not set");
        return false;
    }
    return true;
}

static PCDIMMDevice *pc_dimm_in_slot(MachineState *ms, unsigned slot)
{
    for (guint i = 0; i < ms->device_memory->devices->len; i++) {
        PCDIMMDevice *d = pc_dimm_at(ms, i);

        if (d && d->slot == slot) {
            return d;
        }
    }
    return NULL;
}

/* slot= if free, else the lowest free slot (one exists: the caller
 * checked the count). */
static bool pc_dimm_pick_slot(MachineState *ms, const PCDIMMOpts *o,
                              unsigned *slot, Error **errp)
{
    if (o->has_slot) {
        if (o->slot >= ms->ram_slots) {
            error_setg(errp, "invalid slot number %" PRIu64 ", valid range "
                       "is [0-%u]", o->slot, ms->ram_slots - 1);
            return false;
        }
        if (pc_dimm_in_slot(ms, o->slot)) {
            error_setg(errp, "slot %" PRIu64 " is busy", o->slot);
            return false;
        }
        *slot = o->slot;
        return true;
    }
    for (*slot = 0; pc_dimm_in_slot(ms, *slot); (*slot)++) {
    }
    return true;
}

static HostMemoryBackend *pc_dimm_find_backend(MachineState *ms,
                                               const char *memdev,
                                               Error **errp)
{
    HostMemoryBackend *b = g_hash_table_lookup(ms->objects, memdev);

    if (!b) {
        error_setg(errp, "memdev '%s' not found (create it with -object or "
                   "object-add memory-backend-memfd|file)", memdev);
        return NULL;
    }
    if (b->used) {
        error_setg(errp, "can't use already busy memdev: %s", memdev);
        return NULL;
    }
    if (b->size % PC_DIMM_PAGE) {
        error_setg(errp, "memdev '%s': size 0x%" PRIx64 " is not a multiple "
                   "of the page size 0x%" PRIx64, memdev, b->size,
                   PC_DIMM_PAGE);
        return NULL;
    }
    return b;
}

/* Every check; on success d->backend, addr and slot are set and nothing
 * has changed yet. */
static bool pc_dimm_pre_plug(PCDIMMDevice *d, const PCDIMMOpts *o,
                             Error **errp)
{
    MachineState *ms = d->ms;

    if (!device_memory_has_free_slot(ms, errp)) {
        return false;
    }
    d->backend = pc_dimm_find_backend(ms, o->memdev, errp);
    d->addr = o->addr;
    return d->backend &&
           device_memory_find_range(ms, d->backend->size,
                                    DEVICE_MEM_MIN_ALIGN, o->has_addr,
                                    &d->addr, errp) &&
           pc_dimm_pick_slot(ms, o, &d->slot, errp) &&
           device_memory_vhost_check(ms, &d->backend->mr, d->addr, errp);
}

static void pc_dimm_map(PCDIMMDevice *d)
{
    MachineState *ms = d->ms;
    DeviceMemoryState *dms = ms->device_memory;

    memory_region_init_alias(&d->alias, d->id ? d->id : "pc-dimm",
                             &d->backend->mr, 0, d->backend->size);
    address_space_transaction_begin(&ms->address_space_memory);
    memory_region_add_subregion(&dms->mr, d->addr - dms->base, &d->alias);
    address_space_transaction_commit(&ms->address_space_memory);
    d->mapped = true;
    d->backend->used = true;
    d->md = (MemoryDeviceState){
        .model = &pc_dimm_model,
        .id = d->id,
        .addr = d->addr,
        .size = pc_dimm_size(d),
        .ram = &d->backend->mr,
    };
    memory_device_plug(ms, &d->md);
    device_memory_vhost_settle(ms);
}

static void pc_dimm_unmap(PCDIMMDevice *d)
{
    MachineState *ms = d->ms;
    DeviceMemoryState *dms = ms->device_memory;

    if (!d->mapped) {
        return;
    }
    address_space_transaction_begin(&ms->address_space_memory);
    memory_region_del_subregion(&dms->mr, &d->alias);
    address_space_transaction_commit(&ms->address_space_memory);
    memory_region_finalize(&d->alias);
    d->mapped = false;
    d->backend->used = false;
    memory_device_unplug(ms, &d->md);
    device_memory_vhost_settle(ms);
}

static void pc_dimm_free(PCDIMMDevice *d)
{
    if (!d) {
        return;
    }
    pc_dimm_unmap(d);
    g_free(d->id);
    g_free(d);
}

static bool pc_dimm_create(MachineState *ms, GHashTable *opts, Error **errp)
{
    PCDIMMDevice *d = g_new0(PCDIMMDevice, 1);
    PCDIMMOpts o = { 0 };

    d->ms = ms;
    if (!pc_dimm_parse(ms, opts, &o, errp) || !pc_dimm_pre_plug(d, &o, errp)) {
        pc_dimm_free(d);
        return false;
    }
    d->id = g_strdup(o.id);
    d->hotplugged = ms->ready;
    pc_dimm_map(d);
    qdev_register(ms, d, (QdevCleanupFn *)pc_dimm_free);
    return true;
}

static bool pc_dimm_unplug(MachineState *ms, void *dev, Error **errp)
{
    pc_dimm_free(dev);
    return true;
}

/* --- a DIMM plugged while migrating ------------------------------------- */

/* What the destination needs to plug the same DIMM (MemoryDeviceClass
 * save_plug): the backend's id and size, the device's id, addr, slot. */
static void pc_dimm_save_plug(MemoryDeviceState *md, GByteArray *out)
{
    PCDIMMDevice *d = pc_dimm_of(md);
    HostMemoryBackend *b = d->backend;

    mig_put_str(out, b->id);
    mig_put_be64(out, b->size);
    mig_put_str(out, d->id ? d->id : "");
    mig_put_be64(out, d->addr);
    mig_put_be32(out, d->slot);
}

/* What pc_dimm_save_plug wrote. */
typedef struct PCDIMMPlug {
    char *memdev, *id;
    uint64_t size, addr;
    uint32_t slot;
} PCDIMMPlug;

static void pc_dimm_plug_clear(PCDIMMPlug *p)
{
    g_free(p->memdev);
    g_free(p->id);
}

static bool pc_dimm_plug_decode(const uint8_t *buf, size_t len, PCDIMMPlug *p,
                                Error **errp)
{
    MigReader r;

    mig_reader_init(&r, buf, len);
    p->memdev = mig_get_str(&r);
    p->size = mig_get_be64(&r);
    p->id = mig_get_str(&r);
    p->addr = mig_get_be64(&r);
    p->slot = mig_get_be32(&r);
    return mig_reader_check(&r, "memory device record", errp);
}

static void opt_set(GHashTable *opts, const char *key, char *value)
{
    g_hash_table_insert(opts, g_strdup(key), value);
}

/* The DIMM's backend here: one of that id created with object-add on
 * the destination (to choose its backing) if it is free and of the same
 * size, else a memfd of that size.  Never the source's mem-path: on the
 * same host that is the source's own file, which the running source
 * still writes while pages of older rounds would land in it. */
static bool pc_dimm_plug_backend(MachineState *ms, const PCDIMMPlug *p,
                                 Error **errp)
{
    HostMemoryBackend *b = g_hash_table_lookup(ms->objects, p->memdev);
    g_autoptr(GHashTable) opts = NULL;

    if (b) {
        if (b->used || b->size != p->size) {
            error_setg(errp, "memdev '%s' exists here but is %s",
                       p->memdev, b->used ? "in use" : "of another size");
            return false;
        }
        return true;
    }
    opts = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, g_free);
    opt_set(opts, "qom-type", g_strdup("memory-backend-memfd"));
    opt_set(opts, "id", g_strdup(p->memdev));
    opt_set(opts, "size", g_strdup_printf("%" PRIu64, p->size));
    return machine_object_add_opts(ms, opts, errp);
}

static bool pc_dimm_plug_device(MachineState *ms, const PCDIMMPlug *p,
                                Error **errp)
{
    g_autoptr(GHashTable) opts =
        g_hash_table_new_full(g_str_hash, g_str_equal, g_free, g_free);

    opt_set(opts, "driver", g_strdup(pc_dimm_model.name));
    opt_set(opts, "memdev", g_strdup(p->memdev));
    opt_set(opts, "addr", g_strdup_printf("%" PRIu64, p->addr));
    opt_set(opts, "slot", g_strdup_printf("%" PRIu32, p->slot));
    if (*p->id) {
        opt_set(opts, "id", g_strdup(p->id));
    }
    return qdev_device_add_opts(ms, opts, errp);
}

/* MemoryDeviceClass load_plug: the backend (pc_dimm_plug_backend), then
 * the device as device_add would create it. */
static bool pc_dimm_load_plug(MachineState *ms, const uint8_t *buf,
                              size_t len, Error **errp)
{
    PCDIMMPlug p = { 0 };
    bool created = false, ok;

    ok = pc_dimm_plug_decode(buf, len, &p, errp);
    if (ok) {
        created = !g_hash_table_contains(ms->objects, p.memdev);
        ok = pc_dimm_plug_backend(ms, &p, errp) &&
             pc_dimm_plug_device(ms, &p, errp);
    }
    if (!ok && created && g_hash_table_contains(ms->objects, p.memdev)) {
        machine_object_del(ms, p.memdev, NULL);
    }
    if (!ok && p.memdev) {
        error_prepend(errp, "pc-dimm '%s' (memdev '%s', 0x%" PRIx64
                      " bytes at 0x%" PRIx64 "), plugged on the source "
                      "during the migration: ", *p.id ? p.id : "",
                      p.memdev, p.size, p.addr);
    }
    pc_dimm_plug_clear(&p);
    return ok;
}

/* --- query-memory-devices ----------------------------------------------- */

static void pc_dimm_query_one(JsonBuilder *b, const PCDIMMDevice *d)
{
    g_autofree char *memdev = g_strdup_printf("/objects/%s", d->backend->id);

    json_builder_begin_object(b);
    json_builder_set_member_name(b, "type");
    json_builder_add_string_value(b, "dimm");
    json_builder_set_member_name(b, "data");
    json_builder_begin_object(b);
    if (d->id) {
        json_builder_set_member_name(b, "id");
        json_builder_add_string_value(b, d->id);
    }
    json_builder_set_member_name(b, "addr");
    json_builder_add_int_value(b, d->addr);
    json_builder_set_member_name(b, "size");
    json_builder_add_int_value(b, pc_dimm_size(d));
    json_builder_set_member_name(b, "slot");
    json_builder_add_int_value(b, d->slot);
    json_builder_set_member_name(b, "node");
    json_builder_add_int_value(b, 0);
    json_builder_set_member_name(b, "memdev");
    json_builder_add_string_value(b, memdev);
    json_builder_set_member_name(b, "hotplugged");
    json_builder_add_boolean_value(b, d->hotplugged);
    json_builder_set_member_name(b, "hotpluggable");
    json_builder_add_boolean_value(b, true);
    json_builder_end_object(b);
    json_builder_end_object(b);
}

JsonNode *pc_dimm_query_all(MachineState *ms)
{
    g_autoptr(JsonBuilder) b = json_builder_new();
    guint n = ms->device_memory ? ms->device_memory->devices->len : 0;

    json_builder_begin_array(b);
    for (guint i = 0; i < n; i++) {
        PCDIMMDevice *d = pc_dimm_at(ms, i);

        if (d) {
            pc_dimm_query_one(b, d);
        }
    }
    json_builder_end_array(b);
    return json_builder_get_root(b);
}

static const MemoryDeviceClass pc_dimm_memory_device = {
    .save_plug = pc_dimm_save_plug,
    .load_plug = pc_dimm_load_plug,
};

const DeviceModel pc_dimm_model = {
    .name = "pc-dimm",
    .help = "memdev=ID[,id=ID][,addr=GPA][,slot=N] (needs -m ...,slots=N,"
            "maxmem=MAX)",
    .create = pc_dimm_create,
    .unplug = pc_dimm_unplug,
    .plug_during_migration = true,
    .memory_device = &pc_dimm_memory_device,
};
DEVICE_MODEL_REGISTER(pc_dimm_model);
