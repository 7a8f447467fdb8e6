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
void unregister_savevm(MachineState *ms, void *opaque);

#endif
