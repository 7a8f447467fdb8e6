/* SPDX-License-Identifier: MIT */
/*
 * QMP commands: how a command is described and implemented, for any
 * subsystem that offers commands (the monitor's own, migration's).  The
 * monitor (monitor/qmp*.c) checks a request's arguments against the
 * command's QmpArg list before the handler runs, so handlers read them
 * without re-checking types; it builds the reply from the handler's
 * result.  See docs/qmp.md for the commands kvmini has.
 *
 * Adding commands: define a `const QmpCommand foo_qmp_commands[]` ending
 * with { NULL } and register it in the same file with
 * QMP_COMMANDS_REGISTER(foo_qmp_commands).  The monitor finds every
 * registered table at run time (a link-time registry, qemu/compiler.h)
 * and searches them in link order; command names are unique.
 *
 * Threading: handlers run on the main loop without the machine lock;
 * they take ms->lock around device and memory state.
 */
#ifndef QAPI_QMP_COMMAND_H
#define QAPI_QMP_COMMAND_H

#include <json-glib/json-glib.h>

#include "hw/boards.h"
#include "qemu/compiler.h"

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

/* Add table (a `const QmpCommand []` ending with { NULL }, defined in
 * the same file) to the commands the monitor offers. */
#define QMP_COMMANDS_REGISTER(table) \
    KVMINI_REGISTER(kvmini_qmp_commands, const QmpCommand *, \
                    qmp_commands_##table, table)

/* A JSON node holding the object o (a reference is taken), e.g. for
 * req->ret. */
static inline JsonNode *qmp_node_object(JsonObject *o)
{
    return json_node_init_object(json_node_alloc(), o);
}

#endif
