/* SPDX-License-Identifier: MIT */
/*
 * What fuzz-qmp checks in what kvmini writes, from docs/qmp.md (not from
 * the monitor's code): the greeting first; for every value the splitter
 * cut, one reply, in order: {"return": ...} or {"error": {"class",
 * "desc"}}, "id" echoed exactly when the value was an object with an
 * "id"; a value the splitter refused or that does not parse gets
 * "JSON parse error, ..."; a malformed request the error of the table
 * "Errors" (not an object, no execute, execute not a string, arguments
 * not an object, an unexpected member); before qmp_capabilities every
 * other command gets CommandNotFound "Expecting capabilities
 * negotiation...", a second qmp_capabilities CommandNotFound too, a
 * command kvmini does not document "The command X has not been found".
 * Events (timestamp, name) only once negotiated; a stop that paused
 * sends STOP before its reply, a cont that resumed RESUME, a device_del
 * DEVICE_DELETED with the id; query-status says what stop and cont did.
 *
 * Also the harness's tables: the commands, argument keys and names an
 * input picks from, and the test of what must not be sent.
 */
#include "fuzz-qmp.h"

/* The commands of docs/qmp.md (migrate and migrate-incoming are never
 * sent: fqm_unsafe), then some kvmini does not have. */
const char *const fqm_commands[] = {
    "qmp_capabilities", "query-version", "query-commands", "query-kvm",
    "query-status", "query-name", "stop", "cont", "system_reset", "quit",
    "query-chardev", "object-add", "object-del", "device_add", "device_del",
    "query-memory-devices", "announce-self", "x-query-vhost",
    "migrate_cancel", "query-migrate", "migrate-set-parameters",
    "query-migrate-parameters", "query-migrate-capabilities",
    "migrate-set-capabilities", "migrate-continue", "getfd", "closefd",
    /* not commands */
    "Query-Status", "query_status", "", "qmp_capabilities ", "human-monitor",
    "x-query-vhost\\u0000",
};
const unsigned fqm_n_commands = G_N_ELEMENTS(fqm_commands);
/* How many of fqm_commands are kvmini's. */
#define FQM_KNOWN 27

const char *const fqm_keys[] = {
    "enable", "id", "qom-type", "props", "size", "share", "mem-path",
    "driver", "memdev", "addr", "slot", "chardev", "netdev",
    "downtime-limit", "max-bandwidth", "capabilities", "capability",
    "state", "fdname", "interfaces", "initial", "rounds", "num-queues",
    "x,y", "", "a=b", "execute",
    /* names that are options to a careless conversion */
    "id=d2,memdev", "size=2M,share",
};
const unsigned fqm_n_keys = G_N_ELEMENTS(fqm_keys);

const char *const fqm_names[] = {
    "m0", "m1", "m2", "d0", "d1", "ram", "compat_monitor0", "pc-dimm",
    "memory-backend-memfd", "memory-backend-file", "vhost-user-blk",
    "virtio-net-device", "vhost-user-device", "events",
    "pre-switchover", "xbzrle", "on", "off", "1M", "4096", "2M", "0x200000",
    "fd0", "fd1", "nic0", "x,mem-path=f", "oob", "qtest", "ramfile",
};
const unsigned fqm_n_names = G_N_ELEMENTS(fqm_names);

/* --- what must not be sent ----------------------------------------------------- */

static bool fqm_is_string(JsonNode *n)
{
    return n && JSON_NODE_HOLDS_VALUE(n) &&
           json_node_get_value_type(n) == G_TYPE_STRING;
}

/* Member name of o if it is a string, else NULL. */
static const char *fqm_str(JsonObject *o, const char *name)
{
    JsonNode *n = o ? json_object_get_member(o, name) : NULL;

    return fqm_is_string(n) ? json_node_get_string(n) : NULL;
}

static bool fqm_has_slash(JsonNode *n)
{
    if (JSON_NODE_HOLDS_VALUE(n)) {
        return json_node_get_value_type(n) == G_TYPE_STRING &&
               strchr(json_node_get_string(n), '/');
    }
    if (JSON_NODE_HOLDS_ARRAY(n)) {
        JsonArray *a = json_node_get_array(n);

        for (guint i = 0; i < json_array_get_length(a); i++) {
            if (fqm_has_slash(json_array_get_element(a, i))) {
                return true;
            }
        }
    } else if (JSON_NODE_HOLDS_OBJECT(n)) {
        JsonObject *o = json_node_get_object(n);
        g_autoptr(GList) members = json_object_get_members(o);

        for (GList *m = members; m; m = m->next) {
            if (strchr(m->data, '/') ||
                fqm_has_slash(json_object_get_member(o, m->data))) {
                return true;
            }
        }
    }
    return false;
}

/* A path that could leave the private directory (kvmini creates,
 * truncates or connects to what it is given), or a migration (it
 * writes or connects to its URI). */
bool fqm_unsafe(const char *text)
{
    g_autoptr(JsonParser) p = json_parser_new();
    JsonNode *root = NULL;
    JsonObject *o;
    const char *exec;

    if (!json_parser_load_from_data(p, text, -1, NULL) ||
        !(root = json_parser_get_root(p))) {
        return false;
    }
    if (fqm_has_slash(root)) {
        return true;
    }
    o = JSON_NODE_HOLDS_OBJECT(root) ? json_node_get_object(root) : NULL;
    exec = fqm_str(o, "execute") ? fqm_str(o, "execute") : "";
    return g_str_has_prefix(exec, "migrate") &&
           (!strcmp(exec, "migrate") || !strcmp(exec, "migrate-incoming"));
}

/* --- the model ----------------------------------------------------------------- */

typedef struct FqmOwed {
    JsonNode *req;              /* the value, NULL if it did not parse */
    char *text;                 /* for messages */
} FqmOwed;

static void fqm_owed_free(gpointer p)
{
    FqmOwed *o = p;

    if (o->req) {
        json_node_unref(o->req);
    }
    g_free(o->text);
    g_free(o);
}

void fqm_model_init(FqmModel *m, bool paused)
{
    memset(m, 0, sizeof(*m));
    g_queue_init(&m->owed);
    m->paused = paused;
    m->events = g_ptr_array_new_with_free_func(
        (GDestroyNotify)json_node_unref);
}

void fqm_model_free(FqmModel *m)
{
    g_queue_clear_full(&m->owed, fqm_owed_free);
    g_ptr_array_unref(m->events);
}

void fqm_model_expect(FqmModel *m, const char *text)
{
    FqmOwed *o = g_new0(FqmOwed, 1);

    if (text) {
        g_autoptr(JsonParser) p = json_parser_new();

        if (json_parser_load_from_data(p, text, -1, NULL) &&
            json_parser_get_root(p)) {
            o->req = json_node_copy(json_parser_get_root(p));
        }
    }
    o->text = g_strndup(text ? text : "(refused by the splitter)", 200);
    g_queue_push_tail(&m->owed, o);
}

static G_NORETURN void G_GNUC_PRINTF(3, 4) fqm_fail(const FqmOwed *o, const char *line,
                                         const char *fmt, ...)
{
    g_autofree char *why = NULL;
    va_list ap;

    va_start(ap, fmt);
    why = g_strdup_vprintf(fmt, ap);
    va_end(ap);
    g_error("fuzz-qmp: request '%s', reply '%.300s': %s",
            o ? o->text : "(none)", line, why);
}

/* --- predictions ---------------------------------------------------------------- */

typedef struct FqmWant {
    const char *cls;            /* NULL: the command decides */
    char *desc;                 /* prefix of the error's desc */
} FqmWant;

static bool fqm_known(const char *name)
{
    for (unsigned i = 0; i < FQM_KNOWN; i++) {
        if (!strcmp(fqm_commands[i], name)) {
            return true;
        }
    }
    return !strcmp(name, "migrate") || !strcmp(name, "migrate-incoming");
}

static bool fqm_want_shape(JsonObject *req, FqmWant *w)
{
    g_autoptr(GList) members = json_object_get_members(req);
    JsonNode *exec = json_object_get_member(req, "execute");
    JsonNode *args = json_object_get_member(req, "arguments");

    w->cls = "GenericError";
    for (GList *m = members; m; m = m->next) {
        if (strcmp(m->data, "execute") && strcmp(m->data, "arguments") &&
            strcmp(m->data, "id")) {
            w->desc = g_strdup("QMP input member '");
            return true;
        }
    }
    if (!exec) {
        w->desc = g_strdup("QMP input lacks member 'execute'");
    } else if (!fqm_is_string(exec)) {
        w->desc = g_strdup("QMP input member 'execute' must be a string");
    } else if (args && !JSON_NODE_HOLDS_OBJECT(args)) {
        w->desc = g_strdup("QMP input member 'arguments' must be an "
                           "object");
    }
    return w->desc != NULL;
}

/* What the reply to o must be, as far as the protocol decides it. */
static void fqm_want(FqmModel *m, const FqmOwed *o, FqmWant *w)
{
    JsonObject *req;
    const char *name;

    *w = (FqmWant){ NULL, NULL };
    if (!o->req) {
        *w = (FqmWant){ "GenericError", g_strdup("JSON parse error, ") };
        return;
    }
    if (!JSON_NODE_HOLDS_OBJECT(o->req)) {
        *w = (FqmWant){ "GenericError",
                        g_strdup("QMP input must be a JSON object") };
        return;
    }
    req = json_node_get_object(o->req);
    if (fqm_want_shape(req, w)) {
        return;
    }
    w->cls = "CommandNotFound";
    name = json_object_get_string_member(req, "execute");
    if (!m->negotiated && strcmp(name, "qmp_capabilities")) {
        w->desc = g_strdup("Expecting capabilities negotiation with "
                           "'qmp_capabilities'");
    } else if (m->negotiated && !strcmp(name, "qmp_capabilities")) {
        w->desc = g_strdup("Capabilities negotiation is already complete, "
                           "command ignored");
    } else if (!fqm_known(name)) {
        w->desc = g_strdup_printf("The command %s has not been found", name);
    } else {
        w->cls = NULL;
    }
}

/* --- checks ---------------------------------------------------------------------- */

static void fqm_check_greeting(const char *line, JsonObject *o)
{
    JsonObject *qmp = json_object_has_member(o, "QMP") ?
        json_object_get_object_member(o, "QMP") : NULL;

    if (!qmp || !json_object_has_member(qmp, "version") ||
        !json_object_has_member(qmp, "capabilities") ||
        json_array_get_length(json_object_get_array_member(
            qmp, "capabilities"))) {
        fqm_fail(NULL, line, "not the greeting");
    }
}

static void fqm_check_event(FqmModel *m, const char *line, JsonNode *n)
{
    JsonObject *o = json_node_get_object(n), *ts;

    if (!m->negotiated) {
        fqm_fail(NULL, line, "an event before negotiation");
    }
    ts = json_object_has_member(o, "timestamp") ?
        json_object_get_object_member(o, "timestamp") : NULL;
    if (!ts || !json_object_has_member(ts, "seconds") ||
        !json_object_has_member(ts, "microseconds") ||
        !fqm_is_string(json_object_get_member(o, "event"))) {
        fqm_fail(NULL, line, "not an event");
    }
    g_ptr_array_add(m->events, json_node_ref(n));
    fqm_stats.events++;
}

/* How many events called name (with data.device == device if given)
 * came since the last reply. */
static unsigned fqm_events(FqmModel *m, const char *name, const char *device)
{
    unsigned n = 0;

    for (guint i = 0; i < m->events->len; i++) {
        JsonObject *e = json_node_get_object(g_ptr_array_index(m->events,
                                                               i));
        JsonObject *d = json_object_has_member(e, "data") ?
            json_object_get_object_member(e, "data") : NULL;

        if (!strcmp(json_object_get_string_member(e, "event"), name) &&
            (!device || !g_strcmp0(fqm_str(d, "device"), device))) {
            n++;
        }
    }
    return n;
}

/* Arguments that reach a device or object as properties are property
 * names: never empty, never with ',' or '=' (which the option syntax
 * would read as more than one). */
static void fqm_check_property_names(const FqmOwed *o, const char *line,
                                     JsonObject *args)
{
    g_autoptr(GList) members = args ? json_object_get_members(args) : NULL;

    for (GList *m = members; m; m = m->next) {
        const char *name = m->data;
        JsonNode *v = json_object_get_member(args, name);

        if (!*name || strpbrk(name, ",=")) {
            fqm_fail(o, line, "accepted an argument named '%s'", name);
        }
        if (!strcmp(name, "props") && JSON_NODE_HOLDS_OBJECT(v)) {
            fqm_check_property_names(o, line, json_node_get_object(v));
        }
    }
}

/* A command that returned: what it changed. */
static void fqm_learn(FqmModel *m, const FqmOwed *o, const char *line,
                      JsonObject *reply)
{
    JsonObject *req = json_node_get_object(o->req);
    const char *name = json_object_get_string_member(req, "execute");
    JsonObject *args = json_object_has_member(req, "arguments") ?
        json_object_get_object_member(req, "arguments") : NULL;

    if (!strcmp(name, "object-add") || !strcmp(name, "device_add")) {
        fqm_check_property_names(o, line, args);
    }
    if (!strcmp(name, "qmp_capabilities")) {
        m->negotiated = true;
        fqm_stats.negotiated++;
    } else if (!strcmp(name, "stop") || !strcmp(name, "cont")) {
        bool stop = name[0] == 's';

        if (fqm_events(m, stop ? "STOP" : "RESUME", NULL) !=
            (m->paused != stop)) {
            fqm_fail(o, line, "%s sent %u %s events", name,
                     fqm_events(m, stop ? "STOP" : "RESUME", NULL),
                     stop ? "STOP" : "RESUME");
        }
        m->paused = stop;
    } else if (!strcmp(name, "query-status")) {
        JsonObject *st = json_object_get_object_member(reply, "return");

        if (json_object_get_boolean_member(st, "running") == m->paused ||
            strcmp(json_object_get_string_member(st, "status"),
                   m->paused ? "paused" : "running")) {
            fqm_fail(o, line, "the state is %s", m->paused ? "paused"
                                                           : "running");
        }
    } else if (!strcmp(name, "device_del") &&
               fqm_events(m, "DEVICE_DELETED",
                          json_object_get_string_member(args, "id")) != 1) {
        fqm_fail(o, line, "no DEVICE_DELETED for the device");
    }
}

/* The reply's members: return or error, and the id as sent. */
static void fqm_check_form(const FqmOwed *o, const char *line,
                           JsonObject *reply)
{
    JsonObject *req = o->req && JSON_NODE_HOLDS_OBJECT(o->req) ?
        json_node_get_object(o->req) : NULL;
    JsonNode *id = req ? json_object_get_member(req, "id") : NULL;
    JsonNode *echo = json_object_get_member(reply, "id");
    bool ret = json_object_has_member(reply, "return");
    bool err = json_object_has_member(reply, "error");

    if (ret == err || json_object_get_size(reply) != 1u + !!echo) {
        fqm_fail(o, line, "neither return nor error alone");
    }
    if (!id != !echo || (id && !json_node_equal(id, echo))) {
        fqm_fail(o, line, "the id is not echoed as sent");
    }
    if (err) {
        JsonObject *e = json_object_get_object_member(reply, "error");

        if (!e || !fqm_is_string(json_object_get_member(e, "class")) ||
            !fqm_is_string(json_object_get_member(e, "desc")) ||
            !*json_object_get_string_member(e, "desc")) {
            fqm_fail(o, line, "an error without class and desc");
        }
    }
}

static void fqm_check_reply(FqmModel *m, const char *line, JsonObject *reply)
{
    FqmOwed *o = g_queue_pop_head(&m->owed);
    g_autofree char *unused = NULL;
    FqmWant w;

    if (!o) {
        fqm_fail(NULL, line, "a reply nothing asked for");
    }
    fqm_check_form(o, line, reply);
    fqm_want(m, o, &w);
    unused = w.desc;
    if (json_object_has_member(reply, "error")) {
        JsonObject *e = json_object_get_object_member(reply, "error");
        const char *cls = json_object_get_string_member(e, "class");

        if ((w.cls && strcmp(cls, w.cls)) ||
            (w.desc && !g_str_has_prefix(
                json_object_get_string_member(e, "desc"), w.desc)) ||
            (!w.cls && strcmp(cls, "GenericError") &&
             strcmp(cls, "DeviceNotFound"))) {
            fqm_fail(o, line, "expected %s: %s...", w.cls ? w.cls : "any",
                     w.desc ? w.desc : "");
        }
        fqm_stats.errors++;
    } else if (w.cls) {
        fqm_fail(o, line, "expected %s: %s", w.cls, w.desc);
    } else {
        fqm_learn(m, o, line, reply);
    }
    fqm_stats.replies++;
    g_ptr_array_set_size(m->events, 0);
    fqm_owed_free(o);
}

void fqm_model_line(FqmModel *m, const char *line)
{
    g_autoptr(JsonParser) p = json_parser_new();
    JsonNode *root = NULL;
    JsonObject *o;

    if (!json_parser_load_from_data(p, line, -1, NULL) ||
        !(root = json_parser_get_root(p)) || !JSON_NODE_HOLDS_OBJECT(root)) {
        fqm_fail(NULL, line, "kvmini wrote something that is no JSON "
                 "object");
    }
    o = json_node_get_object(root);
    if (!m->greeted) {
        fqm_check_greeting(line, o);
        m->greeted = true;
    } else if (json_object_has_member(o, "event")) {
        fqm_check_event(m, line, root);
    } else {
        fqm_check_reply(m, line, o);
    }
}
