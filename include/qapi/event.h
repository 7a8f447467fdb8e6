/* SPDX-License-Identifier: MIT */
/*
 * The event bus: how the parts of kvmini announce what happened (a device
 * was deleted, the guest stopped, a migration changed state) without
 * knowing who listens.  The code that emits an event names it and gives
 * its data as a JSON object in QEMU's QMP form; every subscriber gets it
 * (the QMP monitors subscribe and send it to their clients with a
 * timestamp).  With no subscriber the event is dropped.
 *
 * The bus lives in the machine (MachineState.events) but knows nothing of
 * it, so that anything may emit without depending on the monitor.
 *
 * Threading: emit, subscribe and unsubscribe may be called from any
 * thread, with or without the machine lock.  Sinks run on the emitting
 * thread with the bus's lock held: a sink must not emit, subscribe or
 * unsubscribe, and must not block (it hands the event to its own thread
 * if it needs to).  Once unsubscribe returns, the sink is not running
 * and will not run again.
 */
#ifndef QAPI_EVENT_H
#define QAPI_EVENT_H

#include <glib.h>

/* json-glib's node type; emitters build it with json-glib.  Declared here
 * so that headers embedding the bus (hw/boards.h) do not pull json-glib
 * into every user. */
typedef struct _JsonNode JsonNode;

/* Receives one event.  data (NULL: the event has no "data" member) is
 * borrowed: a sink that keeps it takes a reference or a copy. */
typedef void EventSinkFn(void *opaque, const char *name, JsonNode *data);

typedef struct EventBus {
    GMutex lock;
    GArray *subscribers;        /* EventSubscriber, subscription order */
} EventBus;

void event_bus_init(EventBus *bus);
/* Forget every subscriber; safe twice. */
void event_bus_cleanup(EventBus *bus);

/* Call fn(opaque, ...) for every event from now on.  The pair (fn,
 * opaque) identifies the subscription. */
void event_bus_subscribe(EventBus *bus, EventSinkFn *fn, void *opaque);
/* Stop calling fn(opaque, ...); a no-op if not subscribed. */
void event_bus_unsubscribe(EventBus *bus, EventSinkFn *fn, void *opaque);

/* Hand the event NAME with data to every subscriber, in subscription
 * order.  data (may be NULL) is consumed. */
void event_bus_emit(EventBus *bus, const char *name, JsonNode *data);

#endif
