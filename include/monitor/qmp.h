/* SPDX-License-Identifier: MIT */
/*
 * QMP commands: how a command is described and implemented.  The
 * monitor (monitor/qmp*.c) checks a request's arguments against the
 * command's QmpArg list before the handler runs, so handlers read them
 * without re-checking types; it builds the reply from the handler's
 * result.  See docs/qmp.md for the commands kvmini has.
 *
 * Adding commands from another subsystem (e.g. migration): define a
 * `const QmpCommand foo_qmp_commands[]` ending with { NULL }, declare it
 * below and list it in qmp_command_tables (monitor/qmp-commands.c).
 *
 * Threading: handlers run on the main loop without the machine lock;
 * they take ms->lock around device and memory state.
 */
#ifndef MONITOR_QMP_H
#define MONITOR_QMP_H

#include <json-glib/json-glib.h>

#include "hw/boards.h"

/* Error classes QEMU clients know. */
#define QMP_ERROR_GENERIC          "GenericError"
#define QMP_ERROR_COMMAND_NOT_FOUND "CommandNotFound"
#define QMP_ERROR_DEVICE_NOT_FOUND "DeviceNotFound"

typedef enum QmpArgType {
    QMP_ARG_STR,
    QMP_ARG_INT,
    QMP_ARG_BOOL,
    QMP_ARG_OBJECT,
    QMP_ARG_STR_LIST,           /* array of strings */
    QMP_ARG_SCALAR,             /* string, number or bool */
    QMP_ARG_ANY,
} QmpArgType;

typedef struct QmpArg {
    const char *name;
    QmpArgType type;
    bool optional;
} QmpArg;

typedef struct QmpRequest {
    MachineState *ms;
    Chardev *chr;               /* the monitor's chardev: fds that came
                                 * with the request (getfd) */
    JsonObject *args;           /* checked; empty object if none given */
    /* Set by the handler: the "return" value (NULL: {}), owned by the
     * request; the error class for a failure (NULL: GenericError). */
    JsonNode *ret;
    const char *err_class;
    /* qmp_capabilities: set when negotiation succeeded. */
    bool negotiated;
} QmpRequest;

/* Run the command; false with errp set on failure. */
typedef bool QmpHandler(QmpRequest *req, Error **errp);

typedef struct QmpCommand {
    const char *name;
    QmpHandler *fn;
    const QmpArg *args;         /* { NULL }-terminated; NULL: none */
    /* Arguments not in args are accepted (as scalars) and left to the
     * handler: device_add and object-add pass properties through. */
    bool extra_args;
} QmpCommand;

/* Command tables, each ending with { NULL }. */
extern const QmpCommand qmp_core_commands[];
extern const QmpCommand qmp_vhost_commands[];
extern const QmpCommand qmp_migration_commands[];

/* The command called name in any table, or NULL. */
const QmpCommand *qmp_find_command(const char *name);
/* Calls fn for every command, table order. */
void qmp_foreach_command(void (*fn)(const QmpCommand *cmd, void *opaque),
                         void *opaque);

/* A JSON node holding a new empty object / the object o (a reference is
 * taken). */
JsonNode *qmp_node_object(JsonObject *o);
/* "0x%016" PRIx64, newly allocated. */
char *qmp_hex64(uint64_t v);

#endif
