/* SPDX-License-Identifier: MIT */
/*
 * -device: device models, each created from its option string.  A model
 * registers itself in its own file with DEVICE_MODEL_REGISTER(model); the
 * core looks models up by name and names none of them.
 * Errors read "'NAME' is not a valid device model name" or the model's own
 * reason; main() prefixes them with "-device ARG: ".
 */
#ifndef HW_QDEV_H
#define HW_QDEV_H

#include "chardev/char.h"
#include "hw/boards.h"
#include "qemu/compiler.h"

typedef struct DeviceModel {
    const char *name;
    const char *help;
    /* opts holds "driver" and the device's properties. */
    bool (*create)(MachineState *ms, GHashTable *opts, Error **errp);
    /* device_del: take dev (as given to qdev_register) out of the running
     * machine and free it; the caller forgets it afterwards and emits
     * DEVICE_DELETED.  On failure (errp set) nothing changed and dev
     * stays.  NULL: the model cannot be unplugged.  Machine lock held. */
    bool (*unplug)(MachineState *ms, void *dev, Error **errp);
    /* system_reset: put dev back into its power-on state (a virtio device:
     * virtio_reset()).  NULL: nothing to reset.  Machine lock held. */
    void (*reset)(void *dev);
    /* device_add may create it while an outgoing migration copies RAM
     * (setup / active): the migration carries the new device to the
     * destination (pc-dimm: migration/ram.c).  Other models wait until
     * the migration has ended. */
    bool plug_during_migration;
    /* A memory device (pc-dimm): what the memory hotplug area asks of
     * the model (hw/mem/memory-device.h).  NULL for other models. */
    const struct MemoryDeviceClass *memory_device;
} DeviceModel;

/* Make model (a `const DeviceModel`, defined in the same file) known to
 * -device and device_add: a link-time registry (qemu/compiler.h). */
#define DEVICE_MODEL_REGISTER(model) \
    KVMINI_REGISTER(kvmini_device_models, const DeviceModel *, \
                    device_model_##model, &(model))

typedef void QdevCleanupFn(void *dev);

bool qdev_device_add(MachineState *ms, const char *optstr, Error **errp);
/* The same from parsed options ("driver" and the properties). */
bool qdev_device_add_opts(MachineState *ms, GHashTable *opts, Error **errp);
/* The registered model called name; NULL if there is none. */
const DeviceModel *qdev_find_model(const char *name);
/* Remember a created device; cleanup(dev) runs at machine teardown. */
void qdev_register(MachineState *ms, void *dev, QdevCleanupFn *cleanup);
/* Release every device (reverse order of creation); safe twice. */
void qdev_cleanup(MachineState *ms);

/* Devices created by qdev_device_add() carry the -device/device_add id
 * and their model; dev is what the model gave qdev_register().  NULL if
 * no device has that id. */
void *qdev_find_by_id(MachineState *ms, const char *id);
/* device_del: the model's unplug hook takes the device with this id out
 * (and frees it), then DEVICE_DELETED {"device": ID, "path":
 * "/machine/peripheral/ID"} is emitted.  Fails with "Device 'ID' not
 * found" or, without an unplug hook, "Device 'MODEL' does not support
 * hotplugging".  Machine lock held. */
bool qdev_unplug(MachineState *ms, const char *id, Error **errp);
/* system_reset: call every device's reset hook, in creation order.
 * Machine lock held. */
void qdev_reset_all(MachineState *ms);
/* Call fn(dev, opaque) for every device created from model (by -device
 * or device_add), in creation order; dev is what the model gave
 * qdev_register().  fn must not add or remove devices.  Machine lock
 * held. */
void qdev_foreach_device(MachineState *ms, const DeviceModel *model,
                         void (*fn)(void *dev, void *opaque), void *opaque);

#endif
