/* SPDX-License-Identifier: MIT */
/*
 * The QMP commands kvmini has (docs/qmp.md): negotiation and
 * introspection, the run state (stop, cont, system_reset, quit),
 * chardevs, memory backends, devices and announce-self.  x-query-vhost lives in
 * qmp-vhost.c.  Handlers run on the main loop and take the machine lock
 * around device and memory state; stop/cont/system_reset must not hold it
 * (they wait for the vCPUs, which may be waiting for it).
 */
#include "qmp-internal.h"
#include "hw/core/boot.h"
#include "hw/mem/pc-dimm.h"
#include "migration/migration.h"
#include "hw/qdev.h"
#include "net/net.h"
#include "sysemu/accel.h"
#include "qemu/option.h"

#include <string.h>
#include <unistd.h>

/* Every registered command table (QMP_COMMANDS_REGISTER), in link
 * order. */
KVMINI_REGISTRY_DECLARE(kvmini_qmp_commands, const QmpCommand *);

const QmpCommand *qmp_find_command(const char *name)
{
    KVMINI_REGISTRY_FOREACH(kvmini_qmp_commands, const QmpCommand *, t) {
        for (const QmpCommand *c = *t; c->name; c++) {
            if (!strcmp(c->name, name)) {
                return c;
            }
        }
    }
    return NULL;
}

/* Calls fn for every registered command, tables in link order. */
static void qmp_foreach_command(void (*fn)(const QmpCommand *cmd,
                                          void *opaque),
                                void *opaque)
{
    KVMINI_REGISTRY_FOREACH(kvmini_qmp_commands, const QmpCommand *, t) {
        for (const QmpCommand *c = *t; c->name; c++) {
            fn(c, opaque);
        }
    }
}

/* --- negotiation and introspection ---------------------------------------- */

JsonNode *qmp_version_node(void)
{
    g_autoptr(JsonBuilder) b = json_builder_new();

    json_builder_begin_object(b);
    json_builder_set_member_name(b, "qemu");
    json_builder_begin_object(b);
    json_builder_set_member_name(b, "micro");
    json_builder_add_int_value(b, 0);
    json_builder_set_member_name(b, "minor");
    json_builder_add_int_value(b, 1);
    json_builder_set_member_name(b, "major");
    json_builder_add_int_value(b, 0);
    json_builder_end_object(b);
    json_builder_set_member_name(b, "package");
    json_builder_add_string_value(b, "kvmini");
    json_builder_end_object(b);
    return json_builder_get_root(b);
}

static bool qmp_capabilities(QmpRequest *req, Error **errp)
{
    JsonArray *enable = json_object_has_member(req->args, "enable") ?
        json_object_get_array_member(req->args, "enable") : NULL;

    /* kvmini offers no capability (no out-of-band execution). */
    if (enable && json_array_get_length(enable)) {
        error_setg(errp, "Capability '%s' not available",
                   json_array_get_string_element(enable, 0));
        return false;
    }
    req->negotiated = true;
    return true;
}

static bool qmp_query_version(QmpRequest *req, Error **errp)
{
    req->ret = qmp_version_node();
    return true;
}

static void add_command_name(const QmpCommand *cmd, void *opaque)
{
    g_autoptr(JsonObject) o = json_object_new();

    json_object_set_string_member(o, "name", cmd->name);
    json_array_add_object_element(opaque, g_steal_pointer(&o));
}

static bool qmp_query_commands(QmpRequest *req, Error **errp)
{
    JsonArray *list = json_array_new();

    qmp_foreach_command(add_command_name, list);
    req->ret = json_node_init_array(json_node_alloc(), list);
    json_array_unref(list);
    return true;
}

static bool qmp_query_kvm(QmpRequest *req, Error **errp)
{
    g_autoptr(JsonObject) o = json_object_new();

    json_object_set_boolean_member(o, "enabled",
                                   kvm_enabled(req->ms));
    /* In use, or usable: after -run-with user= the user may not be
     * allowed to open /dev/kvm, which kvmini opened before. */
    json_object_set_boolean_member(o, "present",
                                   kvm_enabled(req->ms) ||
                                   access("/dev/kvm", R_OK | W_OK) == 0);
    req->ret = qmp_node_object(o);
    return true;
}

/* --- run state ------------------------------------------------------------ */

static bool qmp_query_status(QmpRequest *req, Error **errp)
{
    g_autoptr(JsonObject) o = json_object_new();
    bool paused = req->ms->paused;

    json_object_set_string_member(o, "status", !paused ? "running" :
                                  req->ms->paused_state ?: "paused");
    json_object_set_boolean_member(o, "singlestep", false);
    json_object_set_boolean_member(o, "running", !paused);
    req->ret = qmp_node_object(o);
    return true;
}

static bool qmp_query_name(QmpRequest *req, Error **errp)
{
    g_autoptr(JsonObject) o = json_object_new();

    if (req->ms->name) {
        json_object_set_string_member(o, "name", req->ms->name);
    }
    req->ret = qmp_node_object(o);
    return true;
}

static bool qmp_stop(QmpRequest *req, Error **errp)
{
    machine_pause(req->ms);
    return true;
}

static bool qmp_cont(QmpRequest *req, Error **errp)
{
    machine_resume(req->ms);
    return true;
}

/* As QEMU: the reset is a request the main loop carries out after the
 * reply, then RESET follows. */
static gboolean qmp_reset_idle(gpointer opaque)
{
    MachineState *ms = opaque;
    MonitorSet *set = ms->monitors;
    g_autoptr(JsonObject) data = json_object_new();
    Error *err = NULL;

    set->reset_idle = 0;
    if (!machine_reset(ms, &err)) {
        error_prepend(&err, "system_reset: ");
        error_report_err(err);
    }
    json_object_set_boolean_member(data, "guest", false);
    json_object_set_string_member(data, "reason", "host-qmp-system-reset");
    event_bus_emit(&ms->events, "RESET", qmp_node_object(data));
    return G_SOURCE_REMOVE;
}

static bool qmp_system_reset(QmpRequest *req, Error **errp)
{
    MonitorSet *set = req->ms->monitors;

    if (!set->reset_idle) {
        set->reset_idle = g_idle_add(qmp_reset_idle, req->ms);
    }
    return true;
}

static bool qmp_quit(QmpRequest *req, Error **errp)
{
    /* The reply goes out first; SHUTDOWN once the main loop stopped. */
    machine_request_shutdown_reason(req->ms, 0, "host-qmp-quit");
    return true;
}

/* --- chardevs ------------------------------------------------------------- */

/* The chardev's options, from its label: "-chardev TYPE,..." or a short
 * form ("unix:PATH,...", "file:PATH", "stdio"). */
static GHashTable *chardev_opts(const Chardev *chr)
{
    if (g_str_has_prefix(chr->label, "unix:") ||
        g_str_has_prefix(chr->label, "file:")) {
        return qemu_opts_parse(chr->label + 5, "path", NULL);
    }
    return qemu_opts_parse(chr->label, "backend", NULL);
}

/* QEMU-style "filename": unix:PATH[,server=on], file:PATH, stdio, null. */
static char *chardev_filename(const Chardev *chr)
{
    g_autoptr(GHashTable) opts = chardev_opts(chr);
    const char *path = opts ? qemu_opt_get(opts, "path") : NULL;
    bool is_server = false;

    if (opts) {
        qemu_opt_get_bool(opts, "server", false, &is_server, NULL);
    }
    if (!path) {
        return g_strdup(chr->cls->type);
    }
    if (!strcmp(chr->cls->type, "socket")) {
        return g_strdup_printf("unix:%s%s", path,
                               is_server ? ",server=on" : "");
    }
    return g_strdup_printf("%s:%s", chr->cls->type, path);
}

static gint compare_ids(gconstpointer a, gconstpointer b)
{
    return strcmp(*(const char *const *)a, *(const char *const *)b);
}

static JsonObject *chardev_info(const Chardev *chr)
{
    JsonObject *o = json_object_new();
    g_autofree char *filename = chardev_filename(chr);
    bool fe = chr->fe_receive || chr->fe_event;

    json_object_set_string_member(o, "label", chr->id);
    json_object_set_string_member(o, "filename", filename);
    json_object_set_boolean_member(o, "frontend-open", fe && chr->connected);
    return o;
}

static bool qmp_query_chardev(QmpRequest *req, Error **errp)
{
    g_autoptr(GPtrArray) ids = g_ptr_array_new();
    JsonArray *list = json_array_new();
    GHashTableIter it;
    gpointer key;

    g_hash_table_iter_init(&it, req->ms->chardevs);
    while (g_hash_table_iter_next(&it, &key, NULL)) {
        g_ptr_array_add(ids, key);
    }
    g_ptr_array_sort(ids, compare_ids);
    for (guint i = 0; i < ids->len; i++) {
        Chardev *chr = g_hash_table_lookup(req->ms->chardevs,
                                           g_ptr_array_index(ids, i));

        json_array_add_object_element(list, chardev_info(chr));
    }
    req->ret = json_node_init_array(json_node_alloc(), list);
    json_array_unref(list);
    return true;
}

/* --- objects and devices -------------------------------------------------- */

/* One scalar as an option value; commas doubled as the syntax wants. */
static char *option_value(JsonNode *n)
{
    GType t = json_node_get_value_type(n);
    g_auto(GStrv) parts = NULL;

    if (t == G_TYPE_BOOLEAN) {
        return g_strdup(json_node_get_boolean(n) ? "on" : "off");
    } else if (t == G_TYPE_INT64) {
        return g_strdup_printf("%" G_GINT64_FORMAT, json_node_get_int(n));
    } else if (t == G_TYPE_DOUBLE) {
        return g_strdup_printf("%.17g", json_node_get_double(n));
    }
    parts = g_strsplit(json_node_get_string(n), ",", -1);
    return g_strjoinv(",,", parts);
}

/* "key=value,..." from the members of o (skip: a member to leave out).
 * A member name is one property: empty, or with ',' or '=' that the
 * option syntax would read as more than one, it is no parameter. */
static bool append_options(GString *s, JsonObject *o, const char *skip,
                           Error **errp)
{
    g_autoptr(GList) members = json_object_get_members(o);

    for (GList *m = members; m; m = m->next) {
        JsonNode *n = json_object_get_member(o, m->data);
        g_autofree char *v = NULL;

        if (skip && !strcmp(m->data, skip)) {
            continue;
        }
        if (!*(const char *)m->data || strpbrk(m->data, ",=")) {
            error_setg(errp, "Invalid parameter '%s'", (const char *)m->data);
            return false;
        }
        if (!JSON_NODE_HOLDS_VALUE(n)) {
            error_setg(errp, "Parameter '%s' expects a string, number or "
                       "boolean", (const char *)m->data);
            return false;
        }
        v = option_value(n);
        g_string_append_printf(s, "%s%s=%s", s->len ? "," : "",
                               (const char *)m->data, v);
    }
    return true;
}

static bool qmp_object_add(QmpRequest *req, Error **errp)
{
    g_autoptr(GString) s = g_string_new(NULL);
    JsonObject *props = json_object_has_member(req->args, "props") ?
        json_object_get_object_member(req->args, "props") : NULL;
    bool ok;

    /* Flat properties (QEMU >= 6) or the older "props" object. */
    if (!append_options(s, req->args, "props", errp) ||
        (props && !append_options(s, props, NULL, errp))) {
        return false;
    }
    g_mutex_lock(&req->ms->lock);
    ok = machine_object_add(req->ms, s->str, errp);
    g_mutex_unlock(&req->ms->lock);
    return ok;
}

static bool qmp_object_del(QmpRequest *req, Error **errp)
{
    bool ok;

    g_mutex_lock(&req->ms->lock);
    ok = machine_object_del(req->ms,
                            json_object_get_string_member(req->args, "id"),
                            errp);
    g_mutex_unlock(&req->ms->lock);
    return ok;
}

/* The migration thread reads guest RAM and the memory map: devices and
 * memory must not come and go under it (QEMU refuses the same), except
 * models the migration carries along (pc-dimm) while it copies RAM. */
static bool refuse_while_migrating(QmpRequest *req, const char *what,
                                   const char *driver, Error **errp)
{
    const DeviceModel *model = driver ? qdev_find_model(driver) : NULL;

    if (!migration_is_running(req->ms)) {
        return false;
    }
    if (model && model->plug_during_migration) {
        if (migration_allows_plug(req->ms)) {
            return false;
        }
        error_setg(errp, "%s of '%s' is not allowed while a migration is "
                   "running and past copying RAM", what, driver);
        return true;
    }
    error_setg(errp, "%s is not allowed while a migration is running%s",
               what, driver ? " (only pc-dimm can be plugged during one)"
                            : "");
    return true;
}

static bool qmp_device_add(QmpRequest *req, Error **errp)
{
    g_autoptr(GString) s = g_string_new(NULL);
    const char *driver = json_object_get_string_member_with_default(
        req->args, "driver", NULL);
    bool ok;

    if (refuse_while_migrating(req, "device_add", driver ? driver : "",
                               errp) ||
        !append_options(s, req->args, NULL, errp)) {
        return false;
    }
    g_mutex_lock(&req->ms->lock);
    ok = qdev_device_add(req->ms, s->str, errp);
    g_mutex_unlock(&req->ms->lock);
    return ok;
}

static bool qmp_device_del(QmpRequest *req, Error **errp)
{
    const char *id = json_object_get_string_member(req->args, "id");
    bool ok = false;

    if (refuse_while_migrating(req, "device_del", NULL, errp)) {
        return false;
    }
    g_mutex_lock(&req->ms->lock);
    if (!qdev_find_by_id(req->ms, id)) {
        error_setg(errp, "Device '%s' not found", id);
        req->err_class = QMP_ERROR_DEVICE_NOT_FOUND;
    } else {
        ok = qdev_unplug(req->ms, id, errp);
    }
    g_mutex_unlock(&req->ms->lock);
    return ok;
}

static bool qmp_query_memory_devices(QmpRequest *req, Error **errp)
{
    g_mutex_lock(&req->ms->lock);
    req->ret = pc_dimm_query_all(req->ms);
    g_mutex_unlock(&req->ms->lock);
    return true;
}

/* --- network -------------------------------------------------------------- */

/* One announcement per virtio-net device, now: the guest's own (status
 * VIRTIO_NET_S_ANNOUNCE) if it negotiated GUEST_ANNOUNCE, else a RARP
 * from the backend (SEND_RARP).  QEMU's timing arguments are accepted
 * and ignored; every device is tried, the first failure is the error. */
static bool qmp_announce_self(QmpRequest *req, Error **errp)
{
    g_autoptr(GPtrArray) ids = NULL;
    bool ok;

    if (json_object_has_member(req->args, "interfaces")) {
        JsonArray *a = json_object_get_array_member(req->args, "interfaces");

        ids = g_ptr_array_new();
        for (guint i = 0; i < json_array_get_length(a); i++) {
            g_ptr_array_add(ids,
                            (gpointer)json_array_get_string_element(a, i));
        }
        g_ptr_array_add(ids, NULL);
    }
    g_mutex_lock(&req->ms->lock);
    ok = net_announce(req->ms, ids ? (const char *const *)ids->pdata : NULL,
                      errp);
    g_mutex_unlock(&req->ms->lock);
    return ok;
}

/* --- the table ------------------------------------------------------------ */

static const QmpArg args_capabilities[] = {
    { "enable", QMP_ARG_STR_LIST, true },
    { NULL }
};

static const QmpArg args_id[] = {
    { "id", QMP_ARG_STR },
    { NULL }
};

static const QmpArg args_object_add[] = {
    { "qom-type", QMP_ARG_STR },
    { "id", QMP_ARG_STR },
    { "props", QMP_ARG_OBJECT, true },
    { NULL }
};

static const QmpArg args_announce[] = {
    { "initial", QMP_ARG_INT, true },
    { "max", QMP_ARG_INT, true },
    { "rounds", QMP_ARG_INT, true },
    { "step", QMP_ARG_INT, true },
    { "interfaces", QMP_ARG_STR_LIST, true },
    { "id", QMP_ARG_STR, true },
    { NULL }
};

static const QmpArg args_device_add[] = {
    { "driver", QMP_ARG_STR },
    { "id", QMP_ARG_STR, true },
    { NULL }
};

static const QmpCommand qmp_core_commands[] = {
    { "qmp_capabilities", qmp_capabilities, args_capabilities },
    { "query-version", qmp_query_version },
    { "query-commands", qmp_query_commands },
    { "query-kvm", qmp_query_kvm },
    { "query-status", qmp_query_status },
    { "query-name", qmp_query_name },
    { "stop", qmp_stop },
    { "cont", qmp_cont },
    { "system_reset", qmp_system_reset },
    { "quit", qmp_quit },
    { "query-chardev", qmp_query_chardev },
    { "object-add", qmp_object_add, args_object_add, true },
    { "object-del", qmp_object_del, args_id },
    { "device_add", qmp_device_add, args_device_add, true },
    { "device_del", qmp_device_del, args_id },
    { "query-memory-devices", qmp_query_memory_devices },
    { "announce-self", qmp_announce_self, args_announce },
    { NULL }
};
QMP_COMMANDS_REGISTER(qmp_core_commands);
