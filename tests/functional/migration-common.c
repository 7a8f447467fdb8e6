/* SPDX-License-Identifier: MIT */
/* Shared by the functional migration tests (migration-common.h). */
#include "migration-common.h"
#include "libqmp.h"

#include <string.h>

char *mig_side_path(const char *dir, const char *side, const char *name)
{
    g_autofree char *file = g_strdup_printf("%s-%s", side, name);

    return g_build_filename(dir, file, NULL);
}

char **mig_kvmini_argv(const char *dir, const char *side,
                       const char *const *args, const char *incoming)
{
    g_autofree char *qmp_sock = mig_side_path(dir, side, "qmp.sock");
    GPtrArray *argv = g_ptr_array_new();
    const char *const head[] = { kvmini_binary(), "-m", "64M", "-kernel",
                                 guest_elf(), "-serial", "stdio", "-qmp" };

    for (size_t i = 0; i < G_N_ELEMENTS(head); i++) {
        g_ptr_array_add(argv, g_strdup(head[i]));
    }
    g_ptr_array_add(argv, g_strdup_printf("unix:%s,server=on,wait=off",
                                          qmp_sock));
    for (size_t i = 0; args[i]; i++) {
        g_ptr_array_add(argv, g_strdup(args[i]));
    }
    if (incoming) {
        g_ptr_array_add(argv, g_strdup("-incoming"));
        g_ptr_array_add(argv, g_strdup(incoming));
    }
    g_ptr_array_add(argv, NULL);
    return (char **)g_ptr_array_free(argv, FALSE);
}

void mig_kvmini_start(Peer *p, const char *dir, const char *side,
                      const char *const *args, const char *incoming)
{
    g_autofree char *qmp_sock = mig_side_path(dir, side, "qmp.sock");
    g_auto(GStrv) argv = mig_kvmini_argv(dir, side, args, incoming);

    peer_start(p, (const char *const *)argv, qmp_sock);
}

/* The times of query-migrate's answer (-1 where absent). */
static void mig_read_times(QmpClient *c, MigTimes *t)
{
    g_autoptr(JsonNode) r = qmp_cmd_ok(c, "{\"execute\": "
                                       "\"query-migrate\"}");
    JsonObject *o = json_node_get_object(r);

    t->total_ms = json_object_get_int_member_with_default(o, "total-time",
                                                          -1);
    t->downtime_ms = json_object_get_int_member_with_default(o, "downtime",
                                                             -1);
    t->transferred = json_object_has_member(o, "ram") ?
        json_object_get_int_member_with_default(
            json_object_get_object_member(o, "ram"), "transferred", -1) : -1;
}

void mig_migrate_source(const char *dir, const char *uri, unsigned timeout_s)
{
    mig_migrate_source_timed(dir, uri, timeout_s, NULL);
}

void mig_migrate_source_timed(const char *dir, const char *uri,
                              unsigned timeout_s, MigTimes *times)
{
    g_autofree char *path = mig_side_path(dir, "src", "qmp.sock");
    g_autofree char *status = NULL, *error = NULL;
    QmpClient *src = qmp_connect(path);

    qmp_negotiate(src);
    json_node_unref(qmp_cmd_ok(src, "{\"execute\": \"migrate\", "
                               "\"arguments\": {\"uri\": \"%s\"}}", uri));
    status = qmp_wait_migration_end(src, timeout_s * 1000, &error);
    if (strcmp(status, "completed")) {
        g_error("migration %s: %s", status, error ? error : "");
    }
    if (times) {
        mig_read_times(src, times);
    }
    json_node_unref(qmp_cmd_ok(src, "{\"execute\": \"quit\"}"));
    qmp_close(src);
}
