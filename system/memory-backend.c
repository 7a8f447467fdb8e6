/* SPDX-License-Identifier: MIT */
/*
 * -object memory-backend-memfd|file (and QMP object-add/object-del): RAM
 * that the machine or a memory device maps, kept in ms->objects by id.
 * The machine's own RAM, when no memory-backend= names one, is a backend
 * of this kind too (id "ram").
 */
#include "hw/boards.h"
#include "qemu/option.h"

#include <string.h>

void memory_backend_free(gpointer p)
{
    HostMemoryBackend *b = p;

    memory_region_finalize(&b->mr);
    g_free(b->id);
    g_free(b->type);
    g_free(b->mem_path);
    g_free(b);
}

static bool backend_parse(HostMemoryBackend *b, GHashTable *opts, Error **errp)
{
    static const char *const keys[] = { "qom-type", "id", "size", "share",
                                        "mem-path", NULL };
    bool is_file = !strcmp(b->type, "memory-backend-file");

    if (!qemu_opts_check_keys(opts, keys, errp) ||
        !qemu_opt_get_size(opts, "size", 0, &b->size, errp) ||
        !qemu_opt_get_bool(opts, "share", !is_file, &b->share, errp)) {
        return false;
    }
    if (!b->size) {
        error_setg(errp, "can't create backend with size 0");
        return false;
    }
    b->mem_path = g_strdup(qemu_opt_get(opts, "mem-path"));
    if (is_file && !b->mem_path) {
        error_setg(errp, "Parameter 'mem-path' is missing");
        return false;
    }
    if (!is_file && b->mem_path) {
        error_setg(errp, "Invalid parameter 'mem-path'");
        return false;
    }
    if (!is_file && !b->share) {
        error_setg(errp, "memory-backend-memfd: share=off is not supported");
        return false;
    }
    return true;
}

static bool backend_alloc(HostMemoryBackend *b, Error **errp)
{
    if (b->mem_path) {
        return memory_region_init_ram_file(&b->mr, b->id, b->size,
                                           b->mem_path, b->share, errp);
    }
    return memory_region_init_ram_memfd(&b->mr, b->id, b->size, errp);
}

HostMemoryBackend *memory_backend_new_memfd(const char *id, uint64_t size,
                                            Error **errp)
{
    HostMemoryBackend *b = g_new0(HostMemoryBackend, 1);

    b->id = g_strdup(id);
    b->type = g_strdup("memory-backend-memfd");
    b->size = size;
    b->share = true;
    if (!backend_alloc(b, errp)) {
        memory_backend_free(b);
        return NULL;
    }
    return b;
}

bool machine_object_add_opts(MachineState *ms, GHashTable *opts,
                             Error **errp)
{
    const char *type = qemu_opt_get(opts, "qom-type");
    const char *id = qemu_opt_get(opts, "id");
    HostMemoryBackend *b;

    if (!type || (strcmp(type, "memory-backend-memfd") &&
                  strcmp(type, "memory-backend-file"))) {
        error_setg(errp, "invalid object type: %s", type ? type : "");
        return false;
    }
    if (!id || !*id) {
        error_setg(errp, "Parameter 'id' is missing");
        return false;
    }
    if (g_hash_table_contains(ms->objects, id)) {
        error_setg(errp, "attempt to add duplicate property '%s'", id);
        return false;
    }
    b = g_new0(HostMemoryBackend, 1);
    b->id = g_strdup(id);
    b->type = g_strdup(type);
    if (!backend_parse(b, opts, errp) || !backend_alloc(b, errp)) {
        memory_backend_free(b);
        return false;
    }
    g_hash_table_insert(ms->objects, b->id, b);
    return true;
}

bool machine_object_add(MachineState *ms, const char *optstr, Error **errp)
{
    g_autoptr(GHashTable) opts = qemu_opts_parse(optstr, "qom-type", errp);

    return opts && machine_object_add_opts(ms, opts, errp);
}

bool machine_object_del(MachineState *ms, const char *id, Error **errp)
{
    HostMemoryBackend *b = g_hash_table_lookup(ms->objects, id);

    if (!b) {
        error_setg(errp, "object '%s' not found", id);
        return false;
    }
    if (b->used) {
        error_setg(errp, "object '%s' is in use, can not be deleted", id);
        return false;
    }
    g_hash_table_remove(ms->objects, id);
    return true;
}
