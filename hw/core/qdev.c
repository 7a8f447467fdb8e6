/* SPDX-License-Identifier: MIT */
/*
 * -device: look the model up by name (in the registry the models add
 * themselves to) and let it build itself.  The registry of created
 * devices (id, model, teardown), device_del and system_reset over it.
 */
#include "hw/qdev.h"
#include "qemu/option.h"

#include <json-glib/json-glib.h>
#include <string.h>

typedef struct QdevEntry {
    void *dev;
    QdevCleanupFn *cleanup;
    char *id;                       /* -device id=, NULL if none */
    const DeviceModel *model;       /* NULL if not from qdev_device_add */
} QdevEntry;

static void qdev_entry_free(gpointer p)
{
    QdevEntry *e = p;

    g_free(e->id);
    g_free(e);
}

/* Every model registered with DEVICE_MODEL_REGISTER. */
KVMINI_REGISTRY_DECLARE(kvmini_device_models, const DeviceModel *);

const DeviceModel *qdev_find_model(const char *name)
{
    KVMINI_REGISTRY_FOREACH(kvmini_device_models, const DeviceModel *, m) {
        if (!strcmp((*m)->name, name)) {
            return *m;
        }
    }
    return NULL;
}

static guint qdev_count(MachineState *ms)
{
    return ms->devices ? ms->devices->len : 0;
}

/* Let the model build the device; entries it registered get its id and
 * model, or are torn down again if it failed (so that a failed device_add
 * leaves nothing behind). */
static bool qdev_create(MachineState *ms, const DeviceModel *model,
                        GHashTable *opts, Error **errp)
{
    const char *id = qemu_opt_get(opts, "id");
    guint before = qdev_count(ms);
    bool ok;

    if (id && qdev_find_by_id(ms, id)) {
        error_setg(errp, "Duplicate ID '%s' for device", id);
        return false;
    }
    ok = model->create(ms, opts, errp);
    for (guint i = qdev_count(ms); i-- > before;) {
        QdevEntry *e = g_ptr_array_index(ms->devices, i);

        if (!ok) {
            e->cleanup(e->dev);
            g_ptr_array_remove_index(ms->devices, i);
            continue;
        }
        e->model = model;
        e->id = g_strdup(id);
    }
    return ok;
}

bool qdev_device_add_opts(MachineState *ms, GHashTable *opts, Error **errp)
{
    const char *driver = qemu_opt_get(opts, "driver");
    const DeviceModel *model;

    if (!driver) {
        error_setg(errp, "Parameter 'driver' is missing");
        return false;
    }
    model = qdev_find_model(driver);
    if (!model) {
        error_setg(errp, "'%s' is not a valid device model name", driver);
        return false;
    }
    return qdev_create(ms, model, opts, errp);
}

bool qdev_device_add(MachineState *ms, const char *optstr, Error **errp)
{
    g_autoptr(GHashTable) opts = qemu_opts_parse(optstr, "driver", errp);

    return opts && qdev_device_add_opts(ms, opts, errp);
}

void qdev_register(MachineState *ms, void *dev, QdevCleanupFn *cleanup)
{
    QdevEntry *e = g_new0(QdevEntry, 1);

    e->dev = dev;
    e->cleanup = cleanup;
    if (!ms->devices) {
        ms->devices = g_ptr_array_new_with_free_func(qdev_entry_free);
    }
    g_ptr_array_add(ms->devices, e);
}

void qdev_cleanup(MachineState *ms)
{
    if (!ms->devices) {
        return;
    }
    for (guint i = ms->devices->len; i-- > 0;) {
        QdevEntry *e = g_ptr_array_index(ms->devices, i);

        e->cleanup(e->dev);
    }
    g_ptr_array_free(ms->devices, TRUE);
    ms->devices = NULL;
    g_clear_pointer(&ms->vhost_devices, g_ptr_array_unref);
    g_clear_pointer(&ms->vhost_devs, g_ptr_array_unref);
}

static QdevEntry *qdev_find_entry(MachineState *ms, const char *id,
                                  guint *index)
{
    for (guint i = 0; i < qdev_count(ms); i++) {
        QdevEntry *e = g_ptr_array_index(ms->devices, i);

        if (e->id && !strcmp(e->id, id)) {
            *index = i;
            return e;
        }
    }
    return NULL;
}

void *qdev_find_by_id(MachineState *ms, const char *id)
{
    guint i;
    QdevEntry *e = qdev_find_entry(ms, id, &i);

    return e ? e->dev : NULL;
}

static void qdev_emit_deleted(MachineState *ms, const char *id)
{
    JsonObject *data = json_object_new();
    JsonNode *node = json_node_alloc();
    g_autofree char *path = g_strdup_printf("/machine/peripheral/%s", id);

    json_object_set_string_member(data, "device", id);
    json_object_set_string_member(data, "path", path);
    json_node_init_object(node, data);
    json_object_unref(data);
    event_bus_emit(&ms->events, "DEVICE_DELETED", node);
}

bool qdev_unplug(MachineState *ms, const char *id, Error **errp)
{
    guint i;
    QdevEntry *e = qdev_find_entry(ms, id, &i);
    g_autofree char *dev_id = g_strdup(id);

    if (!e) {
        error_setg(errp, "Device '%s' not found", id);
        return false;
    }
    if (!e->model || !e->model->unplug) {
        error_setg(errp, "Device '%s' does not support hotplugging",
                   e->model ? e->model->name : id);
        return false;
    }
    if (!e->model->unplug(ms, e->dev, errp)) {
        return false;
    }
    /* The hook freed the device: forget the entry without cleanup. */
    g_ptr_array_remove_index(ms->devices, i);
    qdev_emit_deleted(ms, dev_id);
    return true;
}

void qdev_reset_all(MachineState *ms)
{
    for (guint i = 0; i < qdev_count(ms); i++) {
        QdevEntry *e = g_ptr_array_index(ms->devices, i);

        if (e->model && e->model->reset) {
            e->model->reset(e->dev);
        }
    }
}

void qdev_foreach_device(MachineState *ms, const DeviceModel *model,
                         void (*fn)(void *dev, void *opaque), void *opaque)
{
    for (guint i = 0; i < qdev_count(ms); i++) {
        QdevEntry *e = g_ptr_array_index(ms->devices, i);

        if (e->model == model) {
            fn(e->dev, opaque);
        }
    }
}
