/* SPDX-License-Identifier: MIT */
/*
 * -device: a table of device models, each created from its option string.
 * Errors read "'NAME' is not a valid device model name" or the model's own
 * reason; main() prefixes them with "-device ARG: ".
 */
#ifndef HW_QDEV_H
#define HW_QDEV_H

#include "chardev/char.h"
#include "hw/boards.h"

typedef struct DeviceModel {
    const char *name;
    const char *help;
    /* opts holds "driver" and the device's properties. */
    bool (*create)(MachineState *ms, GHashTable *opts, Error **errp);
} DeviceModel;

typedef void QdevCleanupFn(void *dev);

bool qdev_device_add(MachineState *ms, const char *optstr, Error **errp);
/* Remember a created device; cleanup(dev) runs at machine teardown. */
void qdev_register(MachineState *ms, void *dev, QdevCleanupFn *cleanup);
/* Release every device (reverse order of creation); safe twice. */
void qdev_cleanup(MachineState *ms);
/* A chardev serves one frontend: claim it for owner or fail with
 * "chardev 'ID' is already in use by OWNER". */
bool qdev_claim_chardev(MachineState *ms, Chardev *chr, const char *owner,
                        Error **errp);

#endif
