/* SPDX-License-Identifier: MIT */
/*
 * Live migration (docs/migration.md): what the rest of kvmini calls.
 *
 * The migration state hangs off the machine (ms->migration), created on
 * first use: by a QMP command or -incoming.  Devices register their state
 * with the machine (migration/register.h), not here.  Outgoing migration is driven by QMP
 * (migrate, migrate_cancel, query-migrate, ...: migration/migration-qmp.c,
 * registered with qapi/qmp-command.h); incoming by -incoming URI or
 * migrate-incoming.
 *
 * URIs: unix:PATH, fd:NAME (a descriptor passed with the QMP command
 * getfd; on the command line fd:N, an inherited descriptor), file:PATH;
 * -incoming defer waits for migrate-incoming.
 *
 * Threading: every function here runs on the main thread, without the
 * machine lock.
 */
#ifndef MIGRATION_MIGRATION_H
#define MIGRATION_MIGRATION_H

#include "hw/boards.h"

/* Check the syntax of an -incoming argument (URI or "defer"). */
bool migration_uri_check(const char *uri, bool incoming, Error **errp);

/* The machine was started with -incoming ms->incoming: keep the vCPUs
 * paused (AccelOps.pause before start; query-status says "inmigrate")
 * and start listening / reading unless the URI is "defer".  Called by
 * machine_run() before the accelerator starts.  Once the stream is
 * loaded the vCPUs run; a failed load makes kvmini exit with status 1. */
bool migration_incoming_init(MachineState *ms, Error **errp);

/* An outgoing or incoming migration is under way (setup, active or the
 * final phase): memory hotplug and similar changes must wait. */
bool migration_is_running(MachineState *ms);

/* A device whose model may plug during migration (DeviceModel
 * .plug_during_migration: pc-dimm) can be added now: no migration runs,
 * or an outgoing one is still copying RAM (setup / active), so that its
 * next dirty-log round sends the new memory and the device to the
 * destination.  Not once the final phase has begun, nor on a
 * destination. */
bool migration_allows_plug(MachineState *ms);

/* Stop any migration (cancelled; threads joined, logging stopped), close
 * passed fds and free the state.  machine_free() calls it before the
 * devices go.  Safe twice. */
void migration_cleanup(MachineState *ms);

#endif
