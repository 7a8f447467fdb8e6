/* SPDX-License-Identifier: MIT */
/*
 * The registry of migration sections and of the RAM plug hooks
 * (include/migration/register.h), kept on the machine
 * (MachineState.savevm): devices register here without depending on the
 * migration engine, which reads the registry when it runs.
 */
#include "migration/register.h"

#include <string.h>

struct SaveStateRegistry {
    GPtrArray *sections;            /* SaveStateEntry * */
    const RamPlugHandlers *ram_plug;
    void *ram_plug_opaque;
};

static void entry_free(gpointer p)
{
    SaveStateEntry *e = p;

    g_free(e->name);
    g_free(e);
}

static SaveStateRegistry *registry(MachineState *ms)
{
    if (!ms->savevm) {
        ms->savevm = g_new0(SaveStateRegistry, 1);
        ms->savevm->sections = g_ptr_array_new_with_free_func(entry_free);
    }
    return ms->savevm;
}

void register_savevm(MachineState *ms, const char *name,
                     const SaveStateHandlers *ops, void *opaque)
{
    GPtrArray *sections = registry(ms)->sections;
    SaveStateEntry *e;

    /* Two owners of one name would load each other's bytes. */
    g_assert(!savevm_section_find(ms, name));
    e = g_new0(SaveStateEntry, 1);
    e->name = g_strdup(name);
    e->ops = ops;
    e->opaque = opaque;
    g_ptr_array_add(sections, e);
}

void unregister_savevm(MachineState *ms, void *opaque)
{
    GPtrArray *sections = ms->savevm ? ms->savevm->sections : NULL;

    for (guint i = 0; sections && i < sections->len;) {
        SaveStateEntry *e = g_ptr_array_index(sections, i);

        if (e->opaque == opaque) {
            g_ptr_array_remove_index(sections, i);
        } else {
            i++;
        }
    }
}

GPtrArray *savevm_sections(MachineState *ms)
{
    return registry(ms)->sections;
}

SaveStateEntry *savevm_section_find(MachineState *ms, const char *name)
{
    GPtrArray *sections = savevm_sections(ms);

    for (guint i = 0; i < sections->len; i++) {
        SaveStateEntry *e = g_ptr_array_index(sections, i);

        if (!strcmp(e->name, name)) {
            return e;
        }
    }
    return NULL;
}

void register_ram_plug(MachineState *ms, const RamPlugHandlers *ops,
                       void *opaque)
{
    SaveStateRegistry *r = registry(ms);

    g_assert(!r->ram_plug);
    r->ram_plug = ops;
    r->ram_plug_opaque = opaque;
}

void unregister_ram_plug(MachineState *ms, const RamPlugHandlers *ops,
                         void *opaque)
{
    SaveStateRegistry *r = ms->savevm;

    if (r && r->ram_plug == ops && r->ram_plug_opaque == opaque) {
        r->ram_plug = NULL;
        r->ram_plug_opaque = NULL;
    }
}

bool ram_plug_save(MachineState *ms, const MemoryRegion *ram,
                   GByteArray *out)
{
    SaveStateRegistry *r = ms->savevm;

    return r && r->ram_plug &&
           r->ram_plug->save(r->ram_plug_opaque, ram, out);
}

bool ram_plug_load(MachineState *ms, const uint8_t *buf, size_t len,
                   Error **errp)
{
    SaveStateRegistry *r = ms->savevm;

    if (!r || !r->ram_plug) {
        error_setg(errp, "memory device record: this machine has no "
                   "memory devices");
        return false;
    }
    return r->ram_plug->load(r->ram_plug_opaque, buf, len, errp);
}

void savevm_registry_free(MachineState *ms)
{
    if (!ms->savevm) {
        return;
    }
    g_ptr_array_free(ms->savevm->sections, TRUE);
    g_clear_pointer(&ms->savevm, g_free);
}
