/* SPDX-License-Identifier: MIT */
/*
 * Device state in the migration stream.  A device (or any other state
 * owner) registers a section with a unique name; the migration framework
 * (migration/) calls the hooks in this order:
 *
 *   outgoing: [dirty logging on] setup (refuse with a reason) ...
 *             RAM rounds ... [vCPUs paused] save (a device stops its
 *             backend here, so that nothing writes guest memory after)
 *             ... final dirty sync and RAM ... [dirty logging off]
 *             cleanup (always, also on failure/cancel)
 *   incoming: load (devices not started yet), then post_load after every
 *             section has loaded and RAM is complete (start backends from
 *             the loaded state); cleanup on failure.
 *
 * Sections are opaque byte strings to the framework; each owner versions
 * its own format.  All hooks run on the main thread with the machine lock
 * held.
 *
 * The registry (migration/register.c) is part of the machine
 * (MachineState.savevm), so that a device depends only on it and not on
 * the migration engine, which reads it.
 *
 * Details (migration/savevm.c): hooks are called in registration order,
 * load in stream order.  cleanup is called on every registered handler,
 * also when another handler's setup refused (so it must be safe without
 * a setup), once per outgoing migration; a destination that fails calls
 * cleanup(false) before it exits.  The sorted list of names is part of
 * the configuration a destination checks: both sides must register the
 * same sections.
 */
#ifndef MIGRATION_REGISTER_H
#define MIGRATION_REGISTER_H

#include <glib.h>
#include "hw/boards.h"

typedef struct SaveStateHandlers {
    /* Before the first RAM round; false refuses migration (errp says why,
     * naming the device and the missing feature). */
    bool (*setup)(void *opaque, Error **errp);
    /* Append the section's bytes.  The vCPUs are paused; the final dirty
     * sync comes after, so a device stops what else writes guest memory
     * here (a vhost backend finishes its in-flight requests and hands
     * back its ring indices); cleanup(completed = false) restarts it. */
    bool (*save)(void *opaque, GByteArray *out, Error **errp);
    /* Restore from the section's bytes on the destination. */
    bool (*load)(void *opaque, const uint8_t *buf, size_t len,
                 Error **errp);
    /* Destination: everything loaded; start backends, announce. */
    bool (*post_load)(void *opaque, Error **errp);
    /* Outgoing migration finished, failed or was cancelled; `completed`
     * tells which (a failed migration must leave the source running). */
    void (*cleanup)(void *opaque, bool completed);
} SaveStateHandlers;

/* name must be unique and equal on both sides ("virtio-mmio@feb00000"). */
void register_savevm(MachineState *ms, const char *name,
                     const SaveStateHandlers *ops, void *opaque);
/* Forget every section registered with opaque; a no-op if there is
 * none. */
void unregister_savevm(MachineState *ms, void *opaque);

/*
 * RAM plugged while an outgoing migration copies RAM (memory hotplug):
 * the engine sends a record of the device that maps the new RAM before
 * its pages, and the destination plugs the same device from it before
 * the pages arrive.  The owner of the machine's memory devices
 * (hw/mem/memory-device.c) registers the pair when it sets up the
 * device-memory area; at most one pair is registered.  Main thread,
 * machine lock held.
 */
typedef struct RamPlugHandlers {
    /* Append to out what the destination needs to plug the device that
     * maps RAM region ram; false if no device maps it. */
    bool (*save)(void *opaque, const MemoryRegion *ram, GByteArray *out);
    /* Plug the device save described (len bytes at buf). */
    bool (*load)(void *opaque, const uint8_t *buf, size_t len,
                 Error **errp);
} RamPlugHandlers;

void register_ram_plug(MachineState *ms, const RamPlugHandlers *ops,
                       void *opaque);
/* A no-op unless (ops, opaque) is what is registered. */
void unregister_ram_plug(MachineState *ms, const RamPlugHandlers *ops,
                         void *opaque);

/* --- for the migration engine (migration/) -------------------------------- */

typedef struct SaveStateEntry {
    char *name;
    const SaveStateHandlers *ops;
    void *opaque;
} SaveStateEntry;

/* The registered sections (SaveStateEntry *), registration order; never
 * NULL.  Read only: (un)register_savevm change it. */
GPtrArray *savevm_sections(MachineState *ms);
/* The registered section called name, or NULL. */
SaveStateEntry *savevm_section_find(MachineState *ms, const char *name);
/* Call the registered RamPlugHandlers: save returns false when none is
 * registered (no device maps ram), load fails saying this machine has no
 * memory devices. */
bool ram_plug_save(MachineState *ms, const MemoryRegion *ram,
                   GByteArray *out);
bool ram_plug_load(MachineState *ms, const uint8_t *buf, size_t len,
                   Error **errp);
/* Free the registry (machine_free, after every device is gone); safe
 * twice. */
void savevm_registry_free(MachineState *ms);

#endif
