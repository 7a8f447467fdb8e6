/* SPDX-License-Identifier: MIT */
/* -device: look the model up by name and let it build itself. */
#include "hw/qdev.h"
#include "qemu/option.h"

#include <string.h>

/* Device models, NULL-terminated.  vhost-user devices register here. */
static const DeviceModel *const device_models[] = {
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

void qdev_cleanup(MachineState *ms)
{
}
