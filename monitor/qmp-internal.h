/* SPDX-License-Identifier: MIT */
/*
 * Private interface between the files of the QMP monitor: the JSON
 * stream splitter (json-streamer.c), the connection and event side
 * (qmp.c) and request dispatch (qmp-dispatch.c).
 */
#ifndef MONITOR_QMP_INTERNAL_H
#define MONITOR_QMP_INTERNAL_H

#include "chardev/char.h"
#include "monitor/monitor.h"
#include "qapi/qmp-command.h"

/* Limits as QEMU's JSON lexer/parser: a larger value or deeper nesting
 * is answered with an error and dropped. */
#define JSON_MAX_TOKEN_SIZE (64u << 20)
#define JSON_MAX_NESTING    1024

/*
 * Cuts a byte stream into top-level JSON values without parsing them:
 * it tracks {} / [] depth outside strings (and escapes inside them), so
 * values may arrive split over many reads or several in one read.  A
 * top-level string ends at its closing quote; anything else outside
 * {} / [] (a number, a keyword, garbage) ends at white space or at a
 * bracket or quote.  Each value is handed to emit(opaque, text, NULL);
 * an over-long or too deeply nested one to emit(opaque, NULL, reason),
 * after which the splitter starts afresh with the next byte.
 */
typedef void JsonStreamerFn(void *opaque, const char *text,
                            const char *error);

typedef struct JsonStreamer {
    GString *buf;
    unsigned depth;
    bool in_string;
    bool escape;
    bool in_word;
    JsonStreamerFn *emit;
    void *opaque;
} JsonStreamer;

void json_streamer_init(JsonStreamer *js, JsonStreamerFn *emit,
                        void *opaque);
void json_streamer_feed(JsonStreamer *js, const uint8_t *buf, size_t len);
/* Forget a partial value (the peer went away). */
void json_streamer_reset(JsonStreamer *js);
void json_streamer_destroy(JsonStreamer *js);

typedef struct MonitorSet MonitorSet;

/* One QMP monitor: a chardev, and the state of the client on it (reset
 * whenever a client connects or leaves). */
typedef struct Monitor {
    MonitorSet *set;
    Chardev *chr;
    bool pretty;                /* indented output (-mon pretty=on) */
    bool open;                  /* a client is there and was greeted */
    bool negotiated;            /* qmp_capabilities done */
    JsonStreamer js;
    /* Output the client has not taken yet (qmp.c, "output"). */
    GString *out;
    guint out_watch;
    bool input_paused;
} Monitor;

/* ms->monitors. */
struct MonitorSet {
    MachineState *ms;
    GPtrArray *monitors;        /* Monitor * */
    GThread *main_thread;       /* where events are written directly */
    /* Events emitted off the main loop wait here (serialised). */
    GMutex pending_lock;
    GPtrArray *pending;         /* char * */
    guint pending_idle;
    guint reset_idle;           /* system_reset requested, not yet done */
};

/* The command called name in any registered table (QMP_COMMANDS_REGISTER),
 * or NULL. */
const QmpCommand *qmp_find_command(const char *name);
/* "0x%016" PRIx64, newly allocated. */
char *qmp_hex64(uint64_t v);

/* node as QEMU writes it (qmp-json.c); newly allocated. */
char *qmp_json_to_string(JsonNode *node, bool pretty);

/* Run one request (any JSON value) and return the reply to send: a
 * {"return": ...} or {"error": {...}} object with "id" echoed. */
JsonNode *qmp_dispatch(Monitor *mon, JsonNode *request);
/* {"qemu": {"micro", "minor", "major"}, "package": "kvmini"}, for the
 * greeting and query-version. */
JsonNode *qmp_version_node(void);
/* {"error": {"class": cls, "desc": desc}} plus "id" if id != NULL. */
JsonNode *qmp_error_reply(const char *cls, const char *desc, JsonNode *id);

#endif
