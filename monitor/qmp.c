/* SPDX-License-Identifier: MIT */
/*
 * QMP monitors: the connection side.  Each -qmp / -mon option becomes a
 * Monitor on a chardev; a client that connects gets the greeting, must
 * negotiate with qmp_capabilities, and then sends commands (one JSON
 * object each, split as QEMU's lexer does: json-streamer.c) and receives
 * replies and events, each followed by "\r\n" as QEMU sends them.  When
 * the client leaves, the monitor forgets everything about it and the
 * next one (a server socket accepts one peer at a time) starts afresh.
 *
 * Everything runs on the main loop.  Events come from the machine's event
 * bus (qapi/event.h), which the monitors subscribe to when the first one
 * is created; events raised on another thread are queued and sent from an
 * idle callback.
 */
#include "qmp-internal.h"
#include "qemu/option.h"

#include <errno.h>
#include <poll.h>
#include <string.h>

/* --- output ----------------------------------------------------------------
 *
 * Replies and events go into mon->out and are written without blocking:
 * a client that stops reading must not stall the main loop (vCPU exits,
 * vhost-user, other monitors).  What the socket does not take waits for
 * it to drain.  Past MONITOR_OUT_HIGH the monitor stops reading the
 * client's commands until its output is gone (flow control: nothing is
 * lost, the client's own writes block); past MONITOR_OUT_MAX (events
 * keep coming) the client is dropped with the reason logged.
 */

#define MONITOR_OUT_HIGH    (1u << 20)
#define MONITOR_OUT_MAX     (64u << 20)

static void monitor_receive(void *opaque, const uint8_t *buf, size_t len);
static void monitor_chr_event(void *opaque, ChrEvent event);
static gboolean monitor_out_ready(gpointer opaque);

static void monitor_set_input(Monitor *mon, bool on)
{
    if (mon->input_paused == !on) {
        return;
    }
    mon->input_paused = !on;
    qemu_chr_fe_set_handlers(mon->chr, on ? monitor_receive : NULL,
                             monitor_chr_event, mon);
}

static void monitor_out_reset(Monitor *mon)
{
    g_string_truncate(mon->out, 0);
    if (mon->out_watch) {
        g_source_remove(mon->out_watch);
        mon->out_watch = 0;
    }
}

/* Write what the chardev takes now; arm a watch for the rest. */
static void monitor_flush(Monitor *mon)
{
    while (mon->out->len) {
        ssize_t r = qemu_chr_write_nonblock(mon->chr,
                                            (const uint8_t *)mon->out->str,
                                            mon->out->len);

        if (r == -EAGAIN) {
            if (!mon->out_watch) {
                mon->out_watch = qemu_chr_add_out_watch(mon->chr,
                                                        monitor_out_ready,
                                                        mon);
            }
            break;
        }
        if (r < 0) {
            /* The client left: CHR_EVENT_CLOSED follows. */
            g_string_truncate(mon->out, 0);
            break;
        }
        g_string_erase(mon->out, 0, r);
    }
    if (mon->out->len > MONITOR_OUT_MAX) {
        error_report("QMP client on chardev '%s' stopped reading (%zu bytes "
                     "of replies and events waiting): disconnected",
                     mon->chr->id ? mon->chr->id : "", mon->out->len);
        monitor_out_reset(mon);
        qemu_chr_fe_disconnect(mon->chr);
        return;
    }
    monitor_set_input(mon, mon->out->len <= MONITOR_OUT_HIGH ||
                           !mon->open);
}

static gboolean monitor_out_ready(gpointer opaque)
{
    Monitor *mon = opaque;

    mon->out_watch = 0;
    monitor_flush(mon);
    return G_SOURCE_REMOVE;
}

static void monitor_write_node(Monitor *mon, JsonNode *node)
{
    g_autofree char *text = NULL;

    if (!mon->open) {
        return;
    }
    text = qmp_json_to_string(node, mon->pretty);
    g_string_append(mon->out, text);
    g_string_append(mon->out, "\r\n");
    monitor_flush(mon);
}

static JsonNode *monitor_greeting(void)
{
    g_autoptr(JsonBuilder) b = json_builder_new();

    json_builder_begin_object(b);
    json_builder_set_member_name(b, "QMP");
    json_builder_begin_object(b);
    json_builder_set_member_name(b, "version");
    json_builder_add_value(b, qmp_version_node());
    json_builder_set_member_name(b, "capabilities");
    json_builder_begin_array(b);
    json_builder_end_array(b);
    json_builder_end_object(b);
    json_builder_end_object(b);
    return json_builder_get_root(b);
}

/* --- input ---------------------------------------------------------------- */

static void monitor_reply_error(Monitor *mon, const char *desc)
{
    g_autoptr(JsonNode) reply = qmp_error_reply(QMP_ERROR_GENERIC, desc,
                                                NULL);

    monitor_write_node(mon, reply);
}

/* "JSON parse error, " and json-glib's reason without its position
 * prefix ("<data>:1:5: Parse error: "): the value is one line anyway. */
static char *parse_error_desc(const GError *gerr)
{
    const char *why = gerr ? gerr->message : "no value";
    const char *tail = strstr(why, "Parse error: ");

    if (tail) {
        why = tail + strlen("Parse error: ");
    }
    return g_strdup_printf("JSON parse error, %s", why);
}

/* One complete top-level JSON value from the client (or a splitter
 * error): parse, dispatch, reply. */
static void monitor_handle_value(void *opaque, const char *text,
                                 const char *error)
{
    Monitor *mon = opaque;
    g_autoptr(JsonParser) parser = NULL;
    g_autoptr(JsonNode) reply = NULL;
    GError *gerr = NULL;

    if (error) {
        monitor_reply_error(mon, error);
        return;
    }
    parser = json_parser_new();
    if (!json_parser_load_from_data(parser, text, -1, &gerr) ||
        !json_parser_get_root(parser)) {
        g_autofree char *desc = parse_error_desc(gerr);

        g_clear_error(&gerr);
        monitor_reply_error(mon, desc);
        return;
    }
    reply = qmp_dispatch(mon, json_parser_get_root(parser));
    monitor_write_node(mon, reply);
}

static void monitor_receive(void *opaque, const uint8_t *buf, size_t len)
{
    Monitor *mon = opaque;

    json_streamer_feed(&mon->js, buf, len);
}

/* --- client life cycle ---------------------------------------------------- */

static void monitor_open(Monitor *mon)
{
    g_autoptr(JsonNode) greeting = monitor_greeting();

    monitor_out_reset(mon);
    json_streamer_reset(&mon->js);
    mon->negotiated = false;
    mon->open = true;
    monitor_write_node(mon, greeting);
}

static void monitor_close(Monitor *mon)
{
    monitor_out_reset(mon);
    json_streamer_reset(&mon->js);
    mon->negotiated = false;
    mon->open = false;
    monitor_set_input(mon, true);
}

static void monitor_chr_event(void *opaque, ChrEvent event)
{
    if (event == CHR_EVENT_OPENED) {
        monitor_open(opaque);
    } else {
        monitor_close(opaque);
    }
}

/* --- events --------------------------------------------------------------- */

static void monitor_broadcast(MonitorSet *set, JsonNode *event)
{
    for (guint i = 0; i < set->monitors->len; i++) {
        Monitor *mon = g_ptr_array_index(set->monitors, i);

        if (mon->open && mon->negotiated) {
            monitor_write_node(mon, event);
        }
    }
}

static gboolean monitor_flush_pending(gpointer opaque)
{
    MonitorSet *set = opaque;
    g_autoptr(GPtrArray) events = NULL;

    g_mutex_lock(&set->pending_lock);
    events = set->pending;
    set->pending = g_ptr_array_new_with_free_func(
        (GDestroyNotify)json_node_unref);
    set->pending_idle = 0;
    g_mutex_unlock(&set->pending_lock);
    for (guint i = 0; i < events->len; i++) {
        monitor_broadcast(set, g_ptr_array_index(events, i));
    }
    return G_SOURCE_REMOVE;
}

static JsonNode *monitor_event_node(const char *name, JsonNode *data)
{
    g_autoptr(JsonBuilder) b = json_builder_new();
    gint64 now = g_get_real_time();

    json_builder_begin_object(b);
    json_builder_set_member_name(b, "timestamp");
    json_builder_begin_object(b);
    json_builder_set_member_name(b, "seconds");
    json_builder_add_int_value(b, now / G_USEC_PER_SEC);
    json_builder_set_member_name(b, "microseconds");
    json_builder_add_int_value(b, now % G_USEC_PER_SEC);
    json_builder_end_object(b);
    json_builder_set_member_name(b, "event");
    json_builder_add_string_value(b, name);
    if (data) {
        json_builder_set_member_name(b, "data");
        json_builder_add_value(b, data);      /* consumes data */
    }
    json_builder_end_object(b);
    return json_builder_get_root(b);
}

/* The monitors' sink on the event bus (ms->events): what QEMU sends, to
 * every client that negotiated; off the main thread the event waits for
 * the main loop. */
static void monitor_event_sink(void *opaque, const char *name,
                               JsonNode *data)
{
    MonitorSet *set = opaque;
    JsonNode *event = monitor_event_node(name,
                                         data ? json_node_copy(data) : NULL);

    if (g_thread_self() == set->main_thread) {
        monitor_broadcast(set, event);
        json_node_unref(event);
        return;
    }
    g_mutex_lock(&set->pending_lock);
    g_ptr_array_add(set->pending, event);
    if (!set->pending_idle) {
        set->pending_idle = g_idle_add(monitor_flush_pending, set);
    }
    g_mutex_unlock(&set->pending_lock);
}

/* --- creation ------------------------------------------------------------- */

static MonitorSet *monitor_set(MachineState *ms)
{
    MonitorSet *set = ms->monitors;

    if (!set) {
        set = g_new0(MonitorSet, 1);
        set->ms = ms;
        set->main_thread = g_thread_self();
        set->monitors = g_ptr_array_new();
        set->pending = g_ptr_array_new_with_free_func(
            (GDestroyNotify)json_node_unref);
        g_mutex_init(&set->pending_lock);
        ms->monitors = set;
        event_bus_subscribe(&ms->events, monitor_event_sink, set);
    }
    return set;
}

/* -qmp SPEC: a chardev of its own, listed as compat_monitorN. */
static Chardev *monitor_qmp_chardev(MachineState *ms, const char *spec,
                                    Error **errp)
{
    g_autofree char *id = NULL;
    Chardev *chr;

    if (!strcmp(spec, "stdio") &&
        (!ms->serial_spec || !strcmp(ms->serial_spec, "stdio"))) {
        error_setg(errp, "stdio is already used by the serial port "
                   "(add -serial none or -serial file:PATH)");
        return NULL;
    }
    for (unsigned n = 0; !id; n++) {
        id = g_strdup_printf("compat_monitor%u", n);
        if (g_hash_table_contains(ms->chardevs, id)) {
            g_clear_pointer(&id, g_free);
        }
    }
    chr = qemu_chr_new_simple(id, spec, &ms->wait_cancel, errp);
    if (chr) {
        g_hash_table_insert(ms->chardevs, chr->id, chr);
    }
    return chr;
}

/* -mon chardev=ID,mode=control[,pretty=on|off][,id=ID] */
static Chardev *monitor_mon_chardev(MachineState *ms, const char *optstr,
                                    bool *pretty, Error **errp)
{
    static const char *const keys[] = { "chardev", "mode", "pretty", "id",
                                        NULL };
    g_autoptr(GHashTable) opts = qemu_opts_parse(optstr, "chardev", errp);
    const char *mode, *chardev;
    Chardev *chr;

    if (!opts || !qemu_opts_check_keys(opts, keys, errp) ||
        !qemu_opt_get_bool(opts, "pretty", false, pretty, errp)) {
        return NULL;
    }
    mode = qemu_opt_get(opts, "mode");
    if (!mode || strcmp(mode, "control")) {
        error_setg(errp, "mode=%s is not supported: kvmini has only QMP "
                   "monitors (mode=control)", mode ? mode : "readline");
        return NULL;
    }
    chardev = qemu_opt_get(opts, "chardev");
    if (!chardev) {
        error_setg(errp, "Parameter 'chardev' is missing");
        return NULL;
    }
    chr = g_hash_table_lookup(ms->chardevs, chardev);
    if (!chr) {
        error_setg(errp, "chardev '%s' not found", chardev);
    }
    return chr;
}

bool monitor_add(MachineState *ms, const char *option, const char *optstr,
                 Error **errp)
{
    bool pretty = false;
    Chardev *chr;
    Monitor *mon;

    if (!strcmp(option, "-qmp")) {
        chr = monitor_qmp_chardev(ms, optstr, errp);
    } else {
        chr = monitor_mon_chardev(ms, optstr, &pretty, errp);
    }
    if (!chr || !qemu_chr_fe_claim(chr, "monitor", errp)) {
        return false;
    }
    mon = g_new0(Monitor, 1);
    mon->set = monitor_set(ms);
    mon->chr = chr;
    mon->pretty = pretty;
    mon->out = g_string_new(NULL);
    json_streamer_init(&mon->js, monitor_handle_value, mon);
    g_ptr_array_add(mon->set->monitors, mon);
    qemu_chr_fe_set_handlers(chr, monitor_receive, monitor_chr_event, mon);
    /* Sockets announce their peer (OPENED); stdio and files are there. */
    if (!mon->open && qemu_chr_is_connected(chr)) {
        monitor_open(mon);
    }
    return true;
}

/* At exit: give a reading client its last replies (quit's), waiting
 * for the socket at most MONITOR_DRAIN_MS. */
#define MONITOR_DRAIN_MS 500

static void monitor_drain(Monitor *mon)
{
    gint64 end = g_get_monotonic_time() + MONITOR_DRAIN_MS * 1000;

    while (mon->open && mon->out->len && mon->chr->fd_out >= 0 &&
           g_get_monotonic_time() < end) {
        struct pollfd p = { .fd = mon->chr->fd_out, .events = POLLOUT };

        if (poll(&p, 1, MONITOR_DRAIN_MS) <= 0) {
            break;
        }
        monitor_flush(mon);
    }
}

void monitor_cleanup(MachineState *ms)
{
    MonitorSet *set = ms->monitors;

    if (!set) {
        return;
    }
    /* No event reaches the monitors from here on (nor is one being
     * queued while they go). */
    event_bus_unsubscribe(&ms->events, monitor_event_sink, set);
    for (guint i = 0; i < set->monitors->len; i++) {
        Monitor *mon = g_ptr_array_index(set->monitors, i);

        monitor_drain(mon);
        monitor_out_reset(mon);
        g_string_free(mon->out, TRUE);
        if (mon->chr->fe_opaque == mon) {
            qemu_chr_fe_set_handlers(mon->chr, NULL, NULL, NULL);
        }
        json_streamer_destroy(&mon->js);
        g_free(mon);
    }
    if (set->pending_idle) {
        g_source_remove(set->pending_idle);
    }
    if (set->reset_idle) {
        g_source_remove(set->reset_idle);
    }
    g_ptr_array_free(set->monitors, TRUE);
    g_ptr_array_unref(set->pending);
    g_mutex_clear(&set->pending_lock);
    g_free(set);
    ms->monitors = NULL;
}
