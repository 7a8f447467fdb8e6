/* SPDX-License-Identifier: MIT */
/*
 * -device: a table of device models, each created from its option string.
 * Errors read "'NAME' is not a valid device model name" or the model's own
 * reason; main() prefixes them with "-device ARG: ".
 */
#ifndef HW_QDEV_H
#define HW_QDEV_H

#include "hw/boards.h"

typedef struct DeviceModel {
    const char *name;
    const char *help;
    /* opts holds "driver" and the device's properties. */
    bool (*create)(MachineState *ms, GHashTable *opts, Error **errp);
} DeviceModel;

bool qdev_device_add(MachineState *ms, const char *optstr, Error **errp);
/* Release what device models created (reverse order). */
void qdev_cleanup(MachineState *ms);

#endif
