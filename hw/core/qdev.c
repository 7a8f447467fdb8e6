/* SPDX-License-Identifier: MIT */
/* -device: look the model up by name and let it build itself. */
#include "hw/qdev.h"
#include "hw/virtio/vhost-user-blk.h"
#include "qemu/option.h"

#include <string.h>

typedef struct QdevEntry {
    void *dev;
    QdevCleanupFn *cleanup;
} QdevEntry;

/* Device models, NULL-terminated. */
static const DeviceModel *const device_models[] = {
    &vhost_user_blk_model,
    NULL,
};

static const DeviceModel *qdev_find_model(const char *name)
{
    for (size_t i = 0; device_models[i]; i++) {
        if (!strcmp(device_models[i]->name, name)) {
            return device_models[i];
        }
    }
    return NULL;
}

bool qdev_device_add(MachineState *ms, const char *optstr, Error **errp)
{
    g_autoptr(GHashTable) opts = qemu_opts_parse(optstr, "driver", errp);
    const char *driver;
    const DeviceModel *model;

    if (!opts) {
        return false;
    }
    driver = qemu_opt_get(opts, "driver");
    if (!driver) {
        error_setg(errp, "Parameter 'driver' is missing");
        return false;
    }
    model = qdev_find_model(driver);
    if (!model) {
        error_setg(errp, "'%s' is not a valid device model name", driver);
        return false;
    }
    return model->create(ms, opts, errp);
}

void qdev_register(MachineState *ms, void *dev, QdevCleanupFn *cleanup)
{
    QdevEntry *e = g_new0(QdevEntry, 1);

    e->dev = dev;
    e->cleanup = cleanup;
    if (!ms->devices) {
        ms->devices = g_ptr_array_new_with_free_func(g_free);
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
}

bool qdev_claim_chardev(MachineState *ms, Chardev *chr, const char *owner,
                        Error **errp)
{
    if (chr->fe_owner) {
        error_setg(errp, "chardev '%s' is already in use by %s", chr->id,
                   chr->fe_owner);
        return false;
    }
    chr->fe_owner = g_strdup(owner);
    return true;
}
