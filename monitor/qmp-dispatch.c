/* SPDX-License-Identifier: MIT */
/*
 * QMP request dispatch: check the request's shape and the capabilities
 * negotiation, check the arguments against the command's description,
 * run the handler and build the reply, with QEMU's error classes and
 * messages so that QEMU clients understand them.  "id" is echoed as sent,
 * whatever JSON value it is.
 */
#include "qmp-internal.h"

#include <string.h>

/* --- replies -------------------------------------------------------------- */

char *qmp_hex64(uint64_t v)
{
    return g_strdup_printf("0x%016" PRIx64, v);
}

static JsonNode *qmp_reply(const char *key, JsonNode *value, JsonNode *id)
{
    g_autoptr(JsonObject) o = json_object_new();

    json_object_set_member(o, key, value);      /* consumes value */
    if (id) {
        json_object_set_member(o, "id", json_node_copy(id));
    }
    return qmp_node_object(o);
}

JsonNode *qmp_error_reply(const char *cls, const char *desc, JsonNode *id)
{
    g_autoptr(JsonObject) err = json_object_new();

    json_object_set_string_member(err, "class", cls);
    json_object_set_string_member(err, "desc", desc);
    return qmp_reply("error", qmp_node_object(err), id);
}

/* --- request shape -------------------------------------------------------- */

static bool is_string(JsonNode *n)
{
    return JSON_NODE_HOLDS_VALUE(n) && json_node_get_value_type(n) ==
                                       G_TYPE_STRING;
}

/* The command name, or NULL with errp set (messages as QEMU's). */
static const char *qmp_check_request(JsonObject *req, Error **errp)
{
    g_autoptr(GList) members = json_object_get_members(req);
    JsonNode *execute = json_object_get_member(req, "execute");
    JsonNode *args = json_object_get_member(req, "arguments");

    for (GList *m = members; m; m = m->next) {
        if (strcmp(m->data, "execute") && strcmp(m->data, "arguments") &&
            strcmp(m->data, "id")) {
            error_setg(errp, "QMP input member '%s' is unexpected",
                       (const char *)m->data);
            return NULL;
        }
    }
    if (!execute) {
        error_setg(errp, "QMP input lacks member 'execute'");
        return NULL;
    }
    if (!is_string(execute)) {
        error_setg(errp, "QMP input member 'execute' must be a string");
        return NULL;
    }
    if (args && !JSON_NODE_HOLDS_OBJECT(args)) {
        error_setg(errp, "QMP input member 'arguments' must be an object");
        return NULL;
    }
    return json_node_get_string(execute);
}

/* --- arguments ------------------------------------------------------------ */

static bool is_type(JsonNode *n, GType t)
{
    return JSON_NODE_HOLDS_VALUE(n) && json_node_get_value_type(n) == t;
}

static bool is_string_list(JsonNode *n)
{
    JsonArray *a = JSON_NODE_HOLDS_ARRAY(n) ? json_node_get_array(n) : NULL;

    for (guint i = 0; a && i < json_array_get_length(a); i++) {
        if (!is_string(json_array_get_element(a, i))) {
            return false;
        }
    }
    return a != NULL;
}

static bool qmp_arg_type_ok(QmpArgType type, JsonNode *n)
{
    switch (type) {
    case QMP_ARG_STR:
        return is_string(n);
    case QMP_ARG_INT:
        return is_type(n, G_TYPE_INT64);
    case QMP_ARG_BOOL:
        return is_type(n, G_TYPE_BOOLEAN);
    case QMP_ARG_OBJECT:
        return JSON_NODE_HOLDS_OBJECT(n);
    case QMP_ARG_STR_LIST:
        return is_string_list(n);
    case QMP_ARG_SCALAR:
        return JSON_NODE_HOLDS_VALUE(n);
    case QMP_ARG_ANY:
        return true;
    }
    return false;
}

static const char *const qmp_arg_type_names[] = {
    [QMP_ARG_STR] = "a string",
    [QMP_ARG_INT] = "an integer",
    [QMP_ARG_BOOL] = "a boolean",
    [QMP_ARG_OBJECT] = "an object",
    [QMP_ARG_STR_LIST] = "a list of strings",
    [QMP_ARG_SCALAR] = "a string, number or boolean",
    [QMP_ARG_ANY] = "a value",
};

static const QmpArg *qmp_find_arg(const QmpCommand *cmd, const char *name)
{
    for (const QmpArg *a = cmd->args; a && a->name; a++) {
        if (!strcmp(a->name, name)) {
            return a;
        }
    }
    return NULL;
}

/* Every argument known (or extra_args) and of its type. */
static bool qmp_check_given(const QmpCommand *cmd, JsonObject *args,
                            Error **errp)
{
    g_autoptr(GList) members = json_object_get_members(args);

    for (GList *m = members; m; m = m->next) {
        const char *name = m->data;
        const QmpArg *a = qmp_find_arg(cmd, name);
        QmpArgType type = a ? a->type : QMP_ARG_SCALAR;

        if (!a && !cmd->extra_args) {
            error_setg(errp, "Invalid parameter '%s'", name);
            return false;
        }
        if (!qmp_arg_type_ok(type, json_object_get_member(args, name))) {
            error_setg(errp, "Parameter '%s' expects %s", name,
                       qmp_arg_type_names[type]);
            return false;
        }
    }
    return true;
}

static bool qmp_check_args(const QmpCommand *cmd, JsonObject *args,
                           Error **errp)
{
    for (const QmpArg *a = cmd->args; a && a->name; a++) {
        if (!a->optional && !json_object_has_member(args, a->name)) {
            error_setg(errp, "Parameter '%s' is missing", a->name);
            return false;
        }
    }
    return qmp_check_given(cmd, args, errp);
}

/* --- dispatch ------------------------------------------------------------- */

static JsonNode *qmp_error_from(Error *err, const char *cls, JsonNode *id)
{
    JsonNode *reply = qmp_error_reply(cls ? cls : QMP_ERROR_GENERIC,
                                      error_get_pretty(err), id);

    error_free(err);
    return reply;
}

/* Negotiation first: every command but qmp_capabilities waits for it,
 * and qmp_capabilities comes once. */
static const char *qmp_check_mode(Monitor *mon, const char *name)
{
    bool caps = !strcmp(name, "qmp_capabilities");

    if (!mon->negotiated && !caps) {
        return "Expecting capabilities negotiation with 'qmp_capabilities'";
    }
    if (mon->negotiated && caps) {
        return "Capabilities negotiation is already complete, command "
               "ignored";
    }
    return NULL;
}

static JsonNode *qmp_run(Monitor *mon, const QmpCommand *cmd,
                         JsonObject *args, JsonNode *id)
{
    QmpRequest req = { .ms = mon->set->ms, .chr = mon->chr, .args = args };
    Error *err = NULL;
    JsonNode *ret;

    if (!qmp_check_args(cmd, args, &err)) {
        return qmp_error_from(err, NULL, id);
    }
    if (!cmd->fn(&req, &err)) {
        if (req.ret) {
            json_node_unref(req.ret);
        }
        return qmp_error_from(err, req.err_class, id);
    }
    if (req.negotiated) {
        mon->negotiated = true;
    }
    ret = req.ret;
    if (!ret) {
        g_autoptr(JsonObject) empty = json_object_new();

        ret = qmp_node_object(empty);
    }
    return qmp_reply("return", ret, id);
}

JsonNode *qmp_dispatch(Monitor *mon, JsonNode *request)
{
    g_autoptr(JsonObject) args = NULL;
    JsonObject *req;
    JsonNode *id, *args_node;
    const QmpCommand *cmd;
    const char *name, *mode_error;
    Error *err = NULL;

    if (!JSON_NODE_HOLDS_OBJECT(request)) {
        return qmp_error_reply(QMP_ERROR_GENERIC,
                               "QMP input must be a JSON object", NULL);
    }
    req = json_node_get_object(request);
    id = json_object_get_member(req, "id");
    name = qmp_check_request(req, &err);
    if (!name) {
        return qmp_error_from(err, NULL, id);
    }
    mode_error = qmp_check_mode(mon, name);
    if (mode_error) {
        return qmp_error_reply(QMP_ERROR_COMMAND_NOT_FOUND, mode_error, id);
    }
    cmd = qmp_find_command(name);
    if (!cmd) {
        g_autofree char *desc = g_strdup_printf(
            "The command %s has not been found", name);

        return qmp_error_reply(QMP_ERROR_COMMAND_NOT_FOUND, desc, id);
    }
    args_node = json_object_get_member(req, "arguments");
    args = args_node ? json_object_ref(json_node_get_object(args_node))
                     : json_object_new();
    return qmp_run(mon, cmd, args, id);
}
