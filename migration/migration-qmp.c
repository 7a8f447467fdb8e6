/* SPDX-License-Identifier: MIT */
/*
 * The QMP commands of migration (docs/qmp.md, docs/migration.md):
 * migrate, migrate-incoming, migrate_cancel, query-migrate,
 * migrate-set-parameters, query-migrate-parameters,
 * query-migrate-capabilities, migrate-set-capabilities, migrate-continue,
 * and getfd / closefd
 * for fd:NAME (the descriptor arrives with SCM_RIGHTS on the monitor's
 * socket, with the getfd command).  Handlers run on the main loop.
 */
#include "migration-internal.h"
#include "chardev/char.h"
#include "qapi/qmp-command.h"

#include <string.h>
#include <unistd.h>

#define DOWNTIME_LIMIT_MAX 2000000      /* ms, as QEMU */

static bool qmp_migrate(QmpRequest *req, Error **errp)
{
    JsonObject *a = req->args;

    if (json_object_has_member(a, "resume") &&
        json_object_get_boolean_member(a, "resume")) {
        error_setg(errp, "kvmini has no postcopy: 'resume' is not "
                   "supported");
        return false;
    }
    return migration_start(migration_get(req->ms),
                           json_object_get_string_member(a, "uri"), errp);
}

static bool qmp_migrate_incoming(QmpRequest *req, Error **errp)
{
    return migration_incoming_start(migration_get(req->ms),
        json_object_get_string_member(req->args, "uri"), errp);
}

static bool qmp_migrate_cancel(QmpRequest *req, Error **errp)
{
    migration_cancel(migration_get(req->ms));
    return true;
}

static JsonObject *ram_info(const MigrationStats *st)
{
    JsonObject *o = json_object_new();

    json_object_set_int_member(o, "transferred", st->transferred);
    json_object_set_int_member(o, "remaining", st->remaining);
    json_object_set_int_member(o, "total", st->total);
    json_object_set_int_member(o, "duplicate", st->duplicate);
    json_object_set_int_member(o, "normal", st->normal);
    json_object_set_int_member(o, "normal-bytes",
                               st->normal * MIG_PAGE_SIZE);
    json_object_set_int_member(o, "dirty-sync-count", st->dirty_sync_count);
    json_object_set_int_member(o, "pages-per-second", st->pages_per_second);
    json_object_set_double_member(o, "mbps", st->bandwidth * 8.0 / 1e6);
    json_object_set_int_member(o, "page-size", MIG_PAGE_SIZE);
    json_object_set_int_member(o, "precopy-bytes", st->transferred);
    return o;
}

/* Times as QEMU reports them: expected-downtime while running,
 * downtime once completed. */
static void add_times(JsonObject *o, MigrationStatus s,
                      const MigrationStats *st)
{
    bool running = s == MIGRATION_STATUS_SETUP ||
                   s == MIGRATION_STATUS_ACTIVE ||
                   s == MIGRATION_STATUS_PRE_SWITCHOVER ||
                   s == MIGRATION_STATUS_DEVICE ||
                   s == MIGRATION_STATUS_CANCELLING;
    int64_t total = running ? (g_get_monotonic_time() - st->start_us) / 1000
                            : st->total_ms;

    json_object_set_int_member(o, "setup-time", st->setup_ms);
    json_object_set_int_member(o, "total-time", total);
    if (running) {
        json_object_set_int_member(o, "expected-downtime",
                                   st->expected_downtime_ms);
    } else if (s == MIGRATION_STATUS_COMPLETED) {
        json_object_set_int_member(o, "downtime", st->downtime_ms);
    }
}

static bool qmp_query_migrate(QmpRequest *req, Error **errp)
{
    MigrationState *mig = migration_get(req->ms);
    g_autoptr(JsonObject) o = json_object_new();
    MigrationStatus s;

    g_mutex_lock(&mig->lock);
    s = mig->status;
    if (s != MIGRATION_STATUS_NONE) {
        json_object_set_string_member(o, "status",
                                      migration_status_name(s));
    }
    /* An outgoing migration has a start time; the destination has not. */
    if (s != MIGRATION_STATUS_NONE && mig->stats.start_us) {
        add_times(o, s, &mig->stats);
        json_object_set_object_member(o, "ram", ram_info(&mig->stats));
    }
    if (s == MIGRATION_STATUS_FAILED && mig->error_desc) {
        json_object_set_string_member(o, "error-desc", mig->error_desc);
    }
    g_mutex_unlock(&mig->lock);
    req->ret = qmp_node_object(o);
    return true;
}

static bool get_param(JsonObject *a, const char *name, int64_t max,
                      const char *unit, int64_t *v, Error **errp)
{
    if (!json_object_has_member(a, name)) {
        return true;
    }
    *v = json_object_get_int_member(a, name);
    if (*v < 0 || *v > max) {
        error_setg(errp, "Parameter '%s' expects an integer in the range of "
                   "0 to %" PRId64 " %s", name, max, unit);
        return false;
    }
    return true;
}

static bool qmp_migrate_set_parameters(QmpRequest *req, Error **errp)
{
    MigrationState *mig = migration_get(req->ms);
    int64_t downtime = -1, bandwidth = -1;

    if (!get_param(req->args, "downtime-limit", DOWNTIME_LIMIT_MAX,
                   "milliseconds", &downtime, errp) ||
        !get_param(req->args, "max-bandwidth", INT64_MAX, "bytes/second",
                   &bandwidth, errp)) {
        return false;
    }
    g_mutex_lock(&mig->lock);
    if (downtime >= 0) {
        mig->downtime_limit = downtime;
    }
    if (bandwidth >= 0) {
        __atomic_store_n(&mig->max_bandwidth, bandwidth, __ATOMIC_RELAXED);
    }
    g_mutex_unlock(&mig->lock);
    return true;
}

static bool qmp_query_migrate_parameters(QmpRequest *req, Error **errp)
{
    MigrationState *mig = migration_get(req->ms);
    g_autoptr(JsonObject) o = json_object_new();

    g_mutex_lock(&mig->lock);
    json_object_set_int_member(o, "downtime-limit", mig->downtime_limit);
    json_object_set_int_member(o, "max-bandwidth", mig->max_bandwidth);
    g_mutex_unlock(&mig->lock);
    req->ret = qmp_node_object(o);
    return true;
}

/* --- capabilities ------------------------------------------------------ */

/* QEMU's capabilities that kvmini does not implement: reported off,
 * refused when asked for. */
static const char *const caps_unsupported[] = {
    "xbzrle", "rdma-pin-all", "auto-converge", "zero-blocks",
    "postcopy-ram", "x-colo", "release-ram", "return-path", "multifd",
    "dirty-bitmaps", "postcopy-blocktime", "late-block-activate",
    "x-ignore-shared", "validate-uuid", "background-snapshot",
    "zero-copy-send", "postcopy-preempt", "switchover-ack",
    "dirty-limit", "mapped-ram", NULL,
};

/* The flag behind a supported capability; NULL if none. */
static bool *cap_flag(MigrationState *mig, const char *name)
{
    if (!strcmp(name, "events")) {
        return &mig->cap_events;
    }
    if (!strcmp(name, "pause-before-switchover")) {
        return &mig->cap_pause_before_switchover;
    }
    return NULL;
}

static void add_cap(JsonArray *a, const char *name, bool state)
{
    JsonObject *o = json_object_new();

    json_object_set_string_member(o, "capability", name);
    json_object_set_boolean_member(o, "state", state);
    json_array_add_object_element(a, o);
}

static bool qmp_query_migrate_capabilities(QmpRequest *req, Error **errp)
{
    MigrationState *mig = migration_get(req->ms);
    JsonArray *a = json_array_new();
    JsonNode *n = json_node_alloc();

    add_cap(a, "events", mig->cap_events);
    add_cap(a, "pause-before-switchover", mig->cap_pause_before_switchover);
    for (unsigned i = 0; caps_unsupported[i]; i++) {
        add_cap(a, caps_unsupported[i], false);
    }
    req->ret = json_node_init_array(n, a);
    json_array_unref(a);
    return true;
}

/* One {"capability": NAME, "state": BOOL}: checked, applied if apply. */
static bool set_cap(MigrationState *mig, JsonNode *e, bool apply,
                    Error **errp)
{
    JsonObject *o = JSON_NODE_HOLDS_OBJECT(e) ? json_node_get_object(e)
                                              : NULL;
    JsonNode *name = o ? json_object_get_member(o, "capability") : NULL;
    JsonNode *state = o ? json_object_get_member(o, "state") : NULL;
    bool *flag;

    if (!name || json_node_get_value_type(name) != G_TYPE_STRING ||
        !state || json_node_get_value_type(state) != G_TYPE_BOOLEAN) {
        error_setg(errp, "Invalid parameter type for 'capabilities', "
                   "expected: {\"capability\": str, \"state\": bool}");
        return false;
    }
    flag = cap_flag(mig, json_node_get_string(name));
    if (!flag && json_node_get_boolean(state)) {
        error_setg(errp, "Capability '%s' is not supported by kvmini",
                   json_node_get_string(name));
        return false;
    }
    if (!flag && !g_strv_contains(caps_unsupported,
                                  json_node_get_string(name))) {
        error_setg(errp, "Parameter 'capability' does not accept value "
                   "'%s'", json_node_get_string(name));
        return false;
    }
    if (flag && apply) {
        *flag = json_node_get_boolean(state);
    }
    return true;
}

/* All checked before any is applied: a refused list changes nothing. */
static bool qmp_migrate_set_capabilities(QmpRequest *req, Error **errp)
{
    MigrationState *mig = migration_get(req->ms);
    JsonNode *list = json_object_get_member(req->args, "capabilities");
    JsonArray *a;

    if (!JSON_NODE_HOLDS_ARRAY(list)) {
        error_setg(errp, "Invalid parameter type for 'capabilities', "
                   "expected: array");
        return false;
    }
    if (migration_is_running(req->ms)) {
        error_setg(errp, "There's a migration process in progress");
        return false;
    }
    a = json_node_get_array(list);
    for (int apply = 0; apply < 2; apply++) {
        for (guint i = 0; i < json_array_get_length(a); i++) {
            if (!set_cap(mig, json_array_get_element(a, i), apply, errp)) {
                return false;
            }
        }
    }
    return true;
}

static bool qmp_migrate_continue(QmpRequest *req, Error **errp)
{
    const char *state = json_object_get_string_member(req->args, "state");

    if (strcmp(state, "pre-switchover")) {
        error_setg(errp, "Migration not in expected state: %s", state);
        return false;
    }
    return migration_continue(migration_get(req->ms), errp);
}

static bool qmp_getfd(QmpRequest *req, Error **errp)
{
    const char *name = json_object_get_string_member(req->args, "fdname");
    int fd = req->chr ? qemu_chr_get_msgfd(req->chr) : -1;

    if (fd < 0) {
        error_setg(errp, "No file descriptor supplied via SCM_RIGHTS");
        return false;
    }
    if (!mig_fd_add(migration_get(req->ms), name, fd, errp)) {
        close(fd);
        return false;
    }
    return true;
}

static bool qmp_closefd(QmpRequest *req, Error **errp)
{
    return mig_fd_close(migration_get(req->ms),
        json_object_get_string_member(req->args, "fdname"), errp);
}

static const QmpArg args_migrate[] = {
    { "uri", QMP_ARG_STR },
    { "detach", QMP_ARG_BOOL, true },     /* QEMU: ignored, always async */
    { "resume", QMP_ARG_BOOL, true },
    { NULL }
};

static const QmpArg args_uri[] = {
    { "uri", QMP_ARG_STR },
    { NULL }
};

static const QmpArg args_parameters[] = {
    { "downtime-limit", QMP_ARG_INT, true },
    { "max-bandwidth", QMP_ARG_INT, true },
    { NULL }
};

static const QmpArg args_capabilities[] = {
    { "capabilities", QMP_ARG_ANY },
    { NULL }
};

static const QmpArg args_continue[] = {
    { "state", QMP_ARG_STR },
    { NULL }
};

static const QmpArg args_fdname[] = {
    { "fdname", QMP_ARG_STR },
    { NULL }
};

static const QmpCommand qmp_migration_commands[] = {
    { "migrate", qmp_migrate, args_migrate },
    { "migrate-incoming", qmp_migrate_incoming, args_uri },
    { "migrate_cancel", qmp_migrate_cancel },
    { "query-migrate", qmp_query_migrate },
    { "migrate-set-parameters", qmp_migrate_set_parameters, args_parameters },
    { "query-migrate-parameters", qmp_query_migrate_parameters },
    { "query-migrate-capabilities", qmp_query_migrate_capabilities },
    { "migrate-set-capabilities", qmp_migrate_set_capabilities,
      args_capabilities },
    { "migrate-continue", qmp_migrate_continue, args_continue },
    { "getfd", qmp_getfd, args_fdname },
    { "closefd", qmp_closefd, args_fdname },
    { NULL }
};
QMP_COMMANDS_REGISTER(qmp_migration_commands);
