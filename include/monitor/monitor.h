/* SPDX-License-Identifier: MIT */
/*
 * QMP monitors: JSON over a chardev, QEMU's wire format.
 *   -qmp unix:PATH,server=on,wait=off      (short form)
 *   -chardev socket,id=m0,... -mon chardev=m0,mode=control[,pretty=on]
 * Several monitors (and several clients over time) may exist at once.
 * The commands and events are listed in docs/qmp.md; command tables are
 * described in qapi/qmp-command.h.
 */
#ifndef MONITOR_MONITOR_H
#define MONITOR_MONITOR_H

#include "hw/boards.h"

/* option is "-qmp" or "-mon"; optstr its argument.  -qmp creates its
 * chardev (listed as compat_monitorN in ms->chardevs); -mon claims an
 * existing one.  The first monitor subscribes to the machine's event bus
 * (ms->events, qapi/event.h): from then on every event emitted there goes
 * to every connected client that negotiated capabilities, as QEMU sends
 * it: {"timestamp": {"seconds", "microseconds"}, "event": NAME, "data":
 * DATA} (no "data" when the event has none).  Main thread, while the
 * machine is built. */
bool monitor_add(MachineState *ms, const char *option, const char *optstr,
                 Error **errp);
/* Unsubscribe from the event bus, detach from the chardevs (they stay in
 * ms->chardevs) and free every monitor; safe twice. */
void monitor_cleanup(MachineState *ms);

#endif
