/* SPDX-License-Identifier: MIT */
/*
 * The event bus (include/qapi/event.h): a list of sinks behind a mutex.
 * The mutex is held while the sinks run so that unsubscribe can promise
 * that its sink is no longer running (the monitor frees its state right
 * after).
 */
#include "qapi/event.h"

#include <json-glib/json-glib.h>

typedef struct EventSubscriber {
    EventSinkFn *fn;
    void *opaque;
} EventSubscriber;

void event_bus_init(EventBus *bus)
{
    g_mutex_init(&bus->lock);
    bus->subscribers = g_array_new(FALSE, FALSE, sizeof(EventSubscriber));
}

void event_bus_cleanup(EventBus *bus)
{
    if (!bus->subscribers) {
        return;
    }
    g_array_free(bus->subscribers, TRUE);
    bus->subscribers = NULL;
    g_mutex_clear(&bus->lock);
}

void event_bus_subscribe(EventBus *bus, EventSinkFn *fn, void *opaque)
{
    EventSubscriber s = { fn, opaque };

    g_mutex_lock(&bus->lock);
    g_array_append_val(bus->subscribers, s);
    g_mutex_unlock(&bus->lock);
}

void event_bus_unsubscribe(EventBus *bus, EventSinkFn *fn, void *opaque)
{
    g_mutex_lock(&bus->lock);
    for (guint i = 0; i < bus->subscribers->len; i++) {
        EventSubscriber *s = &g_array_index(bus->subscribers,
                                            EventSubscriber, i);

        if (s->fn == fn && s->opaque == opaque) {
            g_array_remove_index(bus->subscribers, i);
            break;
        }
    }
    g_mutex_unlock(&bus->lock);
}

void event_bus_emit(EventBus *bus, const char *name, JsonNode *data)
{
    g_mutex_lock(&bus->lock);
    for (guint i = 0; i < bus->subscribers->len; i++) {
        EventSubscriber *s = &g_array_index(bus->subscribers,
                                            EventSubscriber, i);

        s->fn(s->opaque, name, data);
    }
    g_mutex_unlock(&bus->lock);
    if (data) {
        json_node_unref(data);
    }
}
