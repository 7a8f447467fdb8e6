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

void mig_kvmini_start(Peer *p, const char *dir, const char *side,
                      const char *const *args, const char *incoming)
{
    g_autofree char *qmp_sock = mig_side_path(dir, side, "qmp.sock");
    g_autofree char *qmp = g_strdup_printf("unix:%s,server=on,wait=off",
                                           qmp_sock);
    g_autoptr(GPtrArray) argv = g_ptr_array_new();
    const char *const head[] = { kvmini_binary(), "-m", "64M", "-kernel",
                                 guest_elf(), "-serial", "stdio", "-qmp",
                                 qmp };

    for (size_t i = 0; i < G_N_ELEMENTS(head); i++) {
        g_ptr_array_add(argv, (gpointer)head[i]);
    }
    for (size_t i = 0; args[i]; i++) {
        g_ptr_array_add(argv, (gpointer)args[i]);
    }
    if (incoming) {
        g_ptr_array_add(argv, "-incoming");
        g_ptr_array_add(argv, (gpointer)incoming);
    }
    g_ptr_array_add(argv, NULL);
    peer_start(p, (const char *const *)argv->pdata, qmp_sock);
}

void mig_migrate_source(const char *dir, const char *uri, unsigned timeout_s)
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
    json_node_unref(qmp_cmd_ok(src, "{\"execute\": \"quit\"}"));
    qmp_close(src);
}
