/* SPDX-License-Identifier: MIT */
/*
 * The options of a migration between two kvmini processes under -accel
 * qtest, and what is refused: capabilities (listed, set, a list with one
 * refusal changing nothing, events off), pause-before-switchover (the
 * source waits in pre-switchover until migrate-continue, or cancels
 * there and runs on), the parameters (max-bandwidth 0 is no limit, a
 * cap is kept); a destination with a different -m or a corrupt stream
 * refusing with a clear error, and URIs kvmini cannot use.  The fixture
 * and helpers are in migration-vm.c; the migrations themselves in
 * migration-test.c.
 */
#include "migration-vm.h"

#include <inttypes.h>
#include <string.h>
#include <glib/gstdio.h>

/* --- capabilities, pause-before-switchover ------------------------------ */

static void set_caps(Vm *vm, const char *caps_json)
{
    json_node_unref(qmp_cmd_ok(vm->qmp, "{\"execute\": "
        "\"migrate-set-capabilities\", \"arguments\": {\"capabilities\": "
        "%s}}", caps_json));
}

/* query-migrate-capabilities' state for name. */
static bool cap_state(Vm *vm, const char *name)
{
    g_autoptr(JsonNode) r = qmp_cmd_ok(vm->qmp, "{\"execute\": "
                                       "\"query-migrate-capabilities\"}");
    JsonArray *a = json_node_get_array(r);

    for (guint i = 0; i < json_array_get_length(a); i++) {
        JsonObject *c = json_array_get_object_element(a, i);

        if (!strcmp(json_object_get_string_member(c, "capability"), name)) {
            return json_object_get_boolean_member(c, "state");
        }
    }
    g_error("capability %s not listed", name);
}

static void test_capabilities(void)
{
    Fixture f;
    JsonNode *r;

    fixture_init(&f);
    vm_start(&f, &f.src, "src", NULL);
    g_assert_true(cap_state(&f.src, "events"));
    g_assert_false(cap_state(&f.src, "pause-before-switchover"));
    g_assert_false(cap_state(&f.src, "postcopy-ram"));
    set_caps(&f.src, "[{\"capability\": \"pause-before-switchover\", "
             "\"state\": true}, {\"capability\": \"xbzrle\", "
             "\"state\": false}]");
    g_assert_true(cap_state(&f.src, "pause-before-switchover"));
    /* A list with one refusal changes nothing. */
    r = qmp_cmd(f.src.qmp, "{\"execute\": \"migrate-set-capabilities\", "
                "\"arguments\": {\"capabilities\": [{\"capability\": "
                "\"events\", \"state\": false}, {\"capability\": "
                "\"postcopy-ram\", \"state\": true}]}}");
    g_assert_cmpstr(qmp_expect_error(r, "GenericError"), ==,
                    "Capability 'postcopy-ram' is not supported by kvmini");
    json_node_unref(r);
    g_assert_true(cap_state(&f.src, "events"));
    r = qmp_cmd(f.src.qmp, "{\"execute\": \"migrate-set-capabilities\", "
                "\"arguments\": {\"capabilities\": [{\"capability\": "
                "\"nope\", \"state\": false}]}}");
    qmp_expect_error(r, "GenericError");
    json_node_unref(r);
    r = qmp_cmd(f.src.qmp, "{\"execute\": \"migrate-continue\", "
                "\"arguments\": {\"state\": \"pre-switchover\"}}");
    g_assert_cmpstr(qmp_expect_error(r, "GenericError"), ==,
                    "Migration not in expected state: none");
    json_node_unref(r);
    /* events off: a migration emits no MIGRATION event. */
    set_caps(&f.src, "[{\"capability\": \"events\", \"state\": false}, "
             "{\"capability\": \"pause-before-switchover\", "
             "\"state\": false}]");
    g_autofree char *img = fixture_path(&f, "caps.img");
    g_autofree char *uri = g_strdup_printf("file:%s", img);
    migrate(&f.src, uri);
    wait_status(&f.src, "completed");
    g_autofree char *events = event_statuses(&f.src);
    g_assert_cmpstr(events, ==, "");
    g_unlink(img);
    vm_stop(&f.src, 0);
    fixture_free(&f);
}

/* With pause-before-switchover the source stops its guest and waits in
 * pre-switchover: the destination gets nothing of the device state until
 * migrate-continue; cancelling there resumes the source. */
static void test_pause_before_switchover(void)
{
    Fixture f;
    g_autofree char *sock = NULL, *uri = NULL, *dst_args = NULL;
    g_autofree char *events = NULL;
    JsonNode *r;

    fixture_init(&f);
    sock = fixture_path(&f, "mig.sock");
    uri = g_strdup_printf("unix:%s", sock);
    dst_args = g_strdup_printf("-incoming %s", uri);
    vm_start(&f, &f.src, "src", NULL);
    vm_start(&f, &f.dst, "dst", dst_args);
    fill_random(&f.src, 1 * MIB, 2 * MIB, 5);
    set_caps(&f.src, "[{\"capability\": \"pause-before-switchover\", "
             "\"state\": true}]");
    migrate(&f.src, uri);
    wait_status(&f.src, "pre-switchover");
    check_run_status(&f.src, "finish-migrate");
    g_usleep(200 * 1000);
    r = query_migrate(&f.src);
    g_assert_cmpstr(json_object_get_string_member(obj(r), "status"), ==,
                    "pre-switchover");
    json_node_unref(r);
    check_run_status(&f.dst, "inmigrate");
    r = qmp_cmd(f.src.qmp, "{\"execute\": \"migrate-continue\", "
                "\"arguments\": {\"state\": \"active\"}}");
    qmp_expect_error(r, "GenericError");
    json_node_unref(r);
    cmd_ok(&f.src, "{\"execute\": \"migrate-continue\", \"arguments\": "
           "{\"state\": \"pre-switchover\"}}");
    wait_status(&f.src, "completed");
    wait_status(&f.dst, "completed");
    events = event_statuses(&f.src);
    g_assert_cmpstr(events, ==,
                    "setup,active,pre-switchover,device,completed");
    assert_same_ram(&f.src, &f.dst, 0, 0);
    vm_stop(&f.src, 0);
    vm_stop(&f.dst, 0);
    fixture_free(&f);
}

static void test_cancel_pre_switchover(void)
{
    Fixture f;
    g_autofree char *img = NULL, *uri = NULL;

    fixture_init(&f);
    img = fixture_path(&f, "pre.img");
    uri = g_strdup_printf("file:%s", img);
    vm_start(&f, &f.src, "src", NULL);
    set_caps(&f.src, "[{\"capability\": \"pause-before-switchover\", "
             "\"state\": true}]");
    migrate(&f.src, uri);
    wait_status(&f.src, "pre-switchover");
    cmd_ok(&f.src, "{\"execute\": \"migrate_cancel\"}");
    wait_status(&f.src, "cancelled");
    check_run_status(&f.src, "running");
    g_unlink(img);
    vm_stop(&f.src, 0);
    fixture_free(&f);
}

/* --- refusals ------------------------------------------------------------ */

static void run_destination(const char *args, const char *want_error)
{
    g_autofree char *cmd = g_strdup_printf("-accel qtest -qtest null "
                                           "-serial none %s", args);
    g_autofree char *out = NULL, *err = NULL;
    int status;

    qtest_run_kvmini(cmd, &out, &err, &status);
    g_assert_cmpint(status, ==, 1);
    if (!strstr(err, want_error)) {
        g_error("stderr '%s' lacks '%s'", err, want_error);
    }
}

static void test_config_mismatch(void)
{
    Fixture f;
    g_autofree char *img = NULL, *uri = NULL, *args = NULL;

    fixture_init(&f);
    img = fixture_path(&f, "state.img");
    uri = g_strdup_printf("file:%s", img);
    vm_start(&f, &f.src, "src", NULL);
    migrate(&f.src, uri);
    wait_status(&f.src, "completed");
    vm_stop(&f.src, 0);
    args = g_strdup_printf("-m 32M -incoming %s", uri);
    run_destination(args, "load of migration failed: configuration "
                    "mismatch: RAM size (-m): source 64 MiB, destination "
                    "32 MiB");
    fixture_free(&f);
}

static void test_bad_stream(void)
{
    Fixture f;
    g_autofree char *img = NULL, *args = NULL;

    fixture_init(&f);
    img = fixture_path(&f, "junk.img");
    g_assert_true(g_file_set_contents(img, "this is not a stream", -1,
                                      NULL));
    args = g_strdup_printf("-m 64M -incoming file:%s", img);
    run_destination(args, "not a kvmini migration stream");
    fixture_free(&f);
}

static void test_parameters(void)
{
    Fixture f;
    g_autoptr(JsonNode) p = NULL;
    JsonNode *r;

    fixture_init(&f);
    vm_start(&f, &f.src, "src", NULL);
    p = qmp_cmd_ok(f.src.qmp, "{\"execute\": \"query-migrate-parameters\"}");
    g_assert_cmpint(json_object_get_int_member(obj(p), "downtime-limit"),
                    ==, 300);
    g_assert_cmpint(json_object_get_int_member(obj(p), "max-bandwidth"), >,
                    1LL << 40);
    set_params(&f.src, 50, 1000000);
    json_node_unref(p);
    p = qmp_cmd_ok(f.src.qmp, "{\"execute\": \"query-migrate-parameters\"}");
    g_assert_cmpint(json_object_get_int_member(obj(p), "downtime-limit"),
                    ==, 50);
    g_assert_cmpint(json_object_get_int_member(obj(p), "max-bandwidth"), ==,
                    1000000);
    r = qmp_cmd(f.src.qmp, "{\"execute\": \"migrate-set-parameters\", "
                "\"arguments\": {\"downtime-limit\": -1}}");
    qmp_expect_error(r, "GenericError");
    json_node_unref(r);

    /* max-bandwidth 0 is no limit (QEMU 8.1+): 8 MiB of data to a file
     * goes out at once, not at zero bytes per second. */
    g_autofree char *img = fixture_path(&f, "state.img");
    g_autofree char *uri = g_strdup_printf("file:%s", img);
    set_params(&f.src, 300, 0);
    fill_random(&f.src, 1 * MIB, 8 * MIB, 3);
    migrate(&f.src, uri);
    json_node_unref(qmp_wait_migration_status(f.src.qmp, "completed",
                                              5000));
    g_unlink(img);
    vm_stop(&f.src, 0);
    fixture_free(&f);
}

/* Start a migration to file:DIR/name and cancel it once 3 MiB went
 * (some windows into it). */
static void migrate_and_cancel(Fixture *f, const char *name)
{
    g_autofree char *img = fixture_path(f, name);
    g_autofree char *uri = g_strdup_printf("file:%s", img);

    migrate(&f->src, uri);
    json_node_unref(qmp_wait_migration_ram(f->src.qmp, "transferred",
                                           3 * MIB, "active", 10000));
    cmd_ok(&f->src, "{\"execute\": \"migrate_cancel\"}");
    wait_status(&f->src, "cancelled");
    g_unlink(img);
}

/* max-bandwidth caps what goes out: 4 MiB of data at 4 MiB/s take about
 * a second.  (Checked against the cap only every 256 pages, and waiting
 * only for the end of a 100 ms window, they once took ~0.4 s.)  The
 * migration follows a cancelled one, whose byte count must not carry
 * over into its first window. */
static void test_max_bandwidth(void)
{
    g_autoptr(JsonNode) r = NULL;
    g_autofree char *img = NULL, *uri = NULL;
    int64_t bytes, ms, want_ms;
    Fixture f;

    fixture_init(&f);
    vm_start(&f, &f.src, "src", NULL);
    img = fixture_path(&f, "state.img");
    uri = g_strdup_printf("file:%s", img);
    set_params(&f.src, 300, 4 * MIB);
    fill_random(&f.src, 1 * MIB, 4 * MIB, 7);
    migrate_and_cancel(&f, "cancelled.img");
    migrate(&f.src, uri);
    wait_status(&f.src, "completed");
    r = query_migrate(&f.src);
    bytes = ram_stat(r, "transferred");
    ms = json_object_get_int_member(obj(r), "total-time");
    want_ms = bytes * 1000 / (int64_t)(4 * MIB);
    g_test_message("%" PRId64 " bytes in %" PRId64 " ms at 4 MiB/s "
                   "(%" PRId64 " ms expected)", bytes, ms, want_ms);
    g_assert_cmpint(bytes, >=, 4 * MIB);
    /* One window (100 ms) of slack either way, plus time to spare. */
    g_assert_cmpint(ms, >=, want_ms - 100);
    g_assert_cmpint(ms, <=, 2 * want_ms + 100);
    g_unlink(img);
    vm_stop(&f.src, 0);
    fixture_free(&f);
}

static void test_bad_uri(void)
{
    Fixture f;
    JsonNode *r;

    fixture_init(&f);
    vm_start(&f, &f.src, "src", NULL);
    r = qmp_cmd(f.src.qmp, "{\"execute\": \"migrate\", \"arguments\": "
                "{\"uri\": \"tcp:localhost:4444\"}}");
    g_assert_nonnull(strstr(qmp_expect_error(r, "GenericError"),
                            "is not supported"));
    json_node_unref(r);
    r = qmp_cmd(f.src.qmp, "{\"execute\": \"migrate\", \"arguments\": "
                "{\"uri\": \"unix:%s/nobody\"}}", f.dir);
    g_assert_nonnull(strstr(qmp_expect_error(r, "GenericError"),
                            "Failed to connect"));
    json_node_unref(r);
    r = qmp_cmd(f.src.qmp, "{\"execute\": \"migrate-incoming\", "
                "\"arguments\": {\"uri\": \"defer\"}}");
    g_assert_nonnull(strstr(qmp_expect_error(r, "GenericError"),
                            "'-incoming' was not specified"));
    json_node_unref(r);
    r = qmp_cmd_ok(f.src.qmp, "{\"execute\": \"query-migrate\"}");
    g_assert_cmpuint(json_object_get_size(obj(r)), ==, 0);
    json_node_unref(r);
    check_run_status(&f.src, "running");
    vm_stop(&f.src, 0);
    fixture_free(&f);
}

int main(int argc, char **argv)
{
    g_test_init(&argc, &argv, NULL);
    g_test_add_func("/migration/config-mismatch", test_config_mismatch);
    g_test_add_func("/migration/bad-stream", test_bad_stream);
    g_test_add_func("/migration/parameters", test_parameters);
    g_test_add_func("/migration/max-bandwidth", test_max_bandwidth);
    g_test_add_func("/migration/capabilities", test_capabilities);
    g_test_add_func("/migration/pause-before-switchover",
                    test_pause_before_switchover);
    g_test_add_func("/migration/cancel-pre-switchover",
                    test_cancel_pre_switchover);
    g_test_add_func("/migration/bad-uri", test_bad_uri);
    return g_test_run();
}
