/* SPDX-License-Identifier: MIT */
/*
 * The two-kvmini fixture, QMP helpers and RAM helpers of the qtest
 * migration tests (see migration-vm.h).
 */
#include "migration-vm.h"

#include <inttypes.h>
#include <string.h>
#include <glib/gstdio.h>

char *fixture_path(Fixture *f, const char *name)
{
    return g_build_filename(f->dir, name, NULL);
}

void fixture_init(Fixture *f)
{
    g_autoptr(GError) err = NULL;

    memset(f, 0, sizeof(*f));
    f->dir = g_dir_make_tmp("migration-test-XXXXXX", &err);
    g_assert_no_error(err);
}

void vm_start(Fixture *f, Vm *vm, const char *name, const char *extra)
{
    g_autofree char *q = g_strdup_printf("%s.qmp", name);
    g_autofree char *d = g_strdup_printf("%s-fd.qmp", name);

    vm->qmp_path = fixture_path(f, q);
    vm->fd_path = fixture_path(f, d);
    vm->qts = qtest_initf("-m 64M -qmp unix:%s,server=on,wait=off "
                          "-qmp unix:%s,server=on,wait=off %s",
                          vm->qmp_path, vm->fd_path, extra ? extra : "");
    vm->qmp = qmp_connect(vm->qmp_path);
    qmp_negotiate(vm->qmp);
}

void vm_stop(Vm *vm, int want_status)
{
    if (vm->qmp) {
        qmp_close(vm->qmp);
    }
    if (vm->qts) {
        g_assert_cmpint(qtest_quit_status(vm->qts), ==, want_status);
    }
    g_unlink(vm->qmp_path);
    g_unlink(vm->fd_path);
    g_free(vm->qmp_path);
    g_free(vm->fd_path);
    memset(vm, 0, sizeof(*vm));
}

void fixture_free(Fixture *f)
{
    g_autoptr(GDir) d = g_dir_open(f->dir, 0, NULL);
    const char *name;

    while (d && (name = g_dir_read_name(d))) {
        g_autofree char *p = fixture_path(f, name);

        g_unlink(p);
    }
    g_rmdir(f->dir);
    g_free(f->dir);
}

JsonObject *obj(JsonNode *n)
{
    g_assert_true(JSON_NODE_HOLDS_OBJECT(n));
    return json_node_get_object(n);
}

/* --- QMP helpers -------------------------------------------------------- */

void cmd_ok(Vm *vm, const char *json)
{
    json_node_unref(qmp_cmd_ok(vm->qmp, "%s", json));
}

void migrate(Vm *vm, const char *uri)
{
    json_node_unref(qmp_cmd_ok(vm->qmp, "{\"execute\": \"migrate\", "
                               "\"arguments\": {\"uri\": \"%s\"}}", uri));
}

void set_params(Vm *vm, int64_t downtime_ms, int64_t bandwidth)
{
    json_node_unref(qmp_cmd_ok(vm->qmp, "{\"execute\": "
        "\"migrate-set-parameters\", \"arguments\": {\"downtime-limit\": %"
        PRId64 ", \"max-bandwidth\": %" PRId64 "}}", downtime_ms,
        bandwidth));
}

JsonNode *query_migrate(Vm *vm)
{
    return qmp_cmd_ok(vm->qmp, "{\"execute\": \"query-migrate\"}");
}

void wait_status(Vm *vm, const char *want)
{
    json_node_unref(qmp_wait_migration_status(vm->qmp, want,
                                              MIG_TIMEOUT_MS));
}

int64_t ram_stat(JsonNode *r, const char *name)
{
    JsonObject *ram = json_object_get_object_member(obj(r), "ram");

    g_assert_nonnull(ram);
    g_assert_true(json_object_has_member(ram, name));
    return json_object_get_int_member(ram, name);
}

void check_run_status(Vm *vm, const char *want)
{
    g_autoptr(JsonNode) r = qmp_cmd_ok(vm->qmp, "{\"execute\": "
                                       "\"query-status\"}");

    g_assert_cmpstr(json_object_get_string_member(obj(r), "status"), ==,
                    want);
}

char *event_statuses(Vm *vm)
{
    GString *s = g_string_new("");
    JsonNode *ev;

    while ((ev = qmp_wait_event(vm->qmp, "MIGRATION", 100))) {
        JsonObject *data = json_object_get_object_member(obj(ev), "data");

        g_string_append_printf(s, "%s%s", s->len ? "," : "",
                               json_object_get_string_member(data,
                                                             "status"));
        json_node_unref(ev);
    }
    return g_string_free(s, FALSE);
}

/* --- memory -------------------------------------------------------------- */

void fill_random(Vm *vm, uint64_t addr, uint64_t len, uint32_t seed)
{
    g_autoptr(GRand) r = g_rand_new_with_seed(seed);
    g_autofree uint32_t *buf = g_new(uint32_t, MIB / 4);

    for (uint64_t off = 0; off < len; off += MIB) {
        for (size_t i = 0; i < MIB / 4; i++) {
            buf[i] = g_rand_int(r);
        }
        qtest_bufwrite(vm->qts, addr + off, buf, MIN(MIB, len - off));
    }
}

void assert_same_ram(Vm *a, Vm *b, uint64_t skip, uint64_t skip_len)
{
    g_autofree uint8_t *x = g_malloc(MIB);
    g_autofree uint8_t *y = g_malloc(MIB);

    for (uint64_t addr = 0; addr < RAM_SIZE; addr += MIB) {
        qtest_bufread(a->qts, addr, x, MIB);
        qtest_bufread(b->qts, addr, y, MIB);
        if (skip_len && skip >= addr && skip < addr + MIB) {
            memcpy(y + (skip - addr), x + (skip - addr), skip_len);
        }
        if (memcmp(x, y, MIB)) {
            for (size_t i = 0; i < MIB; i++) {
                g_assert_cmphex(x[i], ==, y[i]);
            }
        }
    }
}
