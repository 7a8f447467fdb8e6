/* SPDX-License-Identifier: MIT */
/*
 * QMP and vhost devices: kvmini under qtest with -device vhost-user-blk
 * on the test vhost-user backend (vhost-user-test-backend.h) and a QMP
 * monitor.  x-query-vhost must show the backend (type, name, socket) and
 * what it was told (features, memory table, vring size and base),
 * VHOST_USER_DISCONNECTED / VHOST_USER_CONNECTED (with the backend's type
 * and name) must follow the backend going and coming back,
 * system_reset must reset the device (the backend is stopped, the driver
 * can start again), and device_del must refuse a device that cannot be
 * unplugged.
 */
#include <string.h>

#include "libqmp.h"
#include "vhost-user-blk-common.h"

typedef struct VFixture {
    Blk t;
    char *qmp_sock;
    QmpClient *c;
} VFixture;

static void vfix_start(VFixture *f, const char *chr_opts)
{
    g_autofree char *extra = NULL;

    blk_init(&f->t, NULL, true);
    f->qmp_sock = g_build_filename(f->t.dir, "qmp.sock", NULL);
    extra = g_strdup_printf("-qmp unix:%s,server=on,wait=off", f->qmp_sock);
    blk_launch(&f->t, chr_opts, ",id=disk0", extra);
    f->c = qmp_connect(f->qmp_sock);
    qmp_negotiate(f->c);
}

static void vfix_free(VFixture *f)
{
    qmp_close(f->c);
    blk_free(&f->t);
    g_free(f->qmp_sock);
}

/* The one entry of x-query-vhost; caller unrefs the list. */
static JsonObject *query_vhost(VFixture *f, JsonNode **list)
{
    JsonArray *a;

    *list = qmp_cmd_ok(f->c, "{\"execute\": \"x-query-vhost\"}");
    a = json_node_get_array(*list);
    g_assert_cmpuint(json_array_get_length(a), ==, 1);
    return json_array_get_object_element(a, 0);
}

static void check_hex(JsonObject *o, const char *member, uint64_t want)
{
    g_autofree char *hex = g_strdup_printf("0x%016" G_GINT64_MODIFIER "x",
                                           (guint64)want);

    g_assert_cmpstr(json_object_get_string_member(o, member), ==, hex);
}

/* memory-regions is the table the backend holds. */
static void check_regions(VFixture *f, JsonObject *o)
{
    JsonArray *regions = json_object_get_array_member(o, "memory-regions");
    VhostUserMemoryRegion want[8];
    unsigned n = vub_mem_regions(f->t.b, want, G_N_ELEMENTS(want));

    g_assert_cmpuint(n, >=, 1);
    g_assert_cmpuint(json_array_get_length(regions), ==, n);
    for (unsigned i = 0; i < n; i++) {
        JsonObject *r = json_array_get_object_element(regions, i);

        g_assert_cmphex(json_object_get_int_member(r, "guest-phys-addr"), ==,
                        want[i].guest_phys_addr);
        g_assert_cmphex(json_object_get_int_member(r, "size"), ==,
                        want[i].memory_size);
        g_assert_cmphex(json_object_get_int_member(r, "userspace-addr"), ==,
                        want[i].userspace_addr);
        g_assert_cmphex(json_object_get_int_member(r, "mmap-offset"), ==,
                        want[i].mmap_offset);
    }
}

static void check_vring0(VFixture *f, JsonObject *o, int base)
{
    JsonArray *vrings = json_object_get_array_member(o, "vrings");
    JsonObject *v;

    g_assert_cmpuint(json_array_get_length(vrings), ==, 1);
    v = json_array_get_object_element(vrings, 0);
    g_assert_cmpint(json_object_get_int_member(v, "index"), ==, 0);
    g_assert_cmpint(json_object_get_int_member(v, "num"), ==,
                    f->t.vq[0]->num);
    g_assert_cmpint(json_object_get_int_member(v, "num"), ==,
                    vub_vring_info(f->t.b, 0).num);
    g_assert_cmpint(json_object_get_int_member(v, "base"), ==, base);
    g_assert_cmpint(json_object_get_int_member(v, "base"), ==,
                    last_vring_base(&f->t, 0));
    g_assert_true(json_object_get_boolean_member(v, "enabled"));
}

static void check_running_device(VFixture *f)
{
    g_autoptr(JsonNode) list = NULL;
    JsonObject *o = query_vhost(f, &list);

    g_assert_cmpstr(json_object_get_string_member(o, "device"), ==, "disk0");
    g_assert_cmpstr(json_object_get_string_member(o, "backend"), ==,
                    "vhost-user");
    g_assert_cmpstr(json_object_get_string_member(o, "backend-name"), ==,
                    "c0");
    g_assert_cmpstr(json_object_get_string_member(o, "socket"), ==,
                    f->t.sock);
    g_assert_true(json_object_get_boolean_member(o, "connected"));
    check_hex(o, "features", VUB_DEFAULT_FEATURES);
    check_hex(o, "acked-features", f->t.dev.features);
    check_hex(o, "protocol-features", vub_acked_protocol_features(f->t.b));
    check_regions(f, o);
    check_vring0(f, o, 0);
}

static void test_query(void)
{
    VFixture f = { 0 };

    vfix_start(&f, NULL);
    blk_driver_start(&f.t, 1);
    check_running_device(&f);
    blk_write_check(&f.t, 0, 8, 4096, 1);
    blk_write_check(&f.t, 0, 16, 512, 2);
    check_running_device(&f);
    vfix_free(&f);
}

static void check_disconnected(VFixture *f)
{
    g_autoptr(JsonNode) list = NULL;
    JsonObject *o = query_vhost(f, &list);

    g_assert_cmpstr(json_object_get_string_member(o, "device"), ==, "disk0");
    g_assert_cmpstr(json_object_get_string_member(o, "socket"), ==,
                    f->t.sock);
    g_assert_false(json_object_get_boolean_member(o, "connected"));
    g_assert_cmpuint(json_array_get_length(
        json_object_get_array_member(o, "vrings")), ==, 0);
    g_assert_cmpuint(json_array_get_length(
        json_object_get_array_member(o, "memory-regions")), ==, 0);
}

static void check_device_event(JsonNode *ev)
{
    JsonObject *data;

    g_assert_nonnull(ev);
    data = json_object_get_object_member(json_node_get_object(ev), "data");
    g_assert_cmpstr(json_object_get_string_member(data, "device"), ==,
                    "disk0");
    g_assert_cmpstr(json_object_get_string_member(data, "backend"), ==,
                    "vhost-user");
    g_assert_cmpstr(json_object_get_string_member(data, "backend-name"), ==,
                    "c0");
    json_node_unref(ev);
}

static void test_disconnect(void)
{
    VFixture f = { 0 };

    vfix_start(&f, NULL);
    blk_driver_start(&f.t, 1);
    vub_disconnect(f.t.b);
    check_device_event(qmp_wait_event(f.c, "VHOST_USER_DISCONNECTED",
                                      QMP_TIMEOUT_MS));
    check_disconnected(&f);
    g_assert_null(qmp_wait_event(f.c, "VHOST_USER_CONNECTED", 200));
    vfix_free(&f);
}

static void test_reconnect(void)
{
    VFixture f = { 0 };
    g_autoptr(JsonNode) list = NULL;

    vfix_start(&f, ",reconnect=1");
    blk_driver_start(&f.t, 1);
    vub_disconnect(f.t.b);
    check_device_event(qmp_wait_event(f.c, "VHOST_USER_DISCONNECTED",
                                      QMP_TIMEOUT_MS));
    check_device_event(qmp_wait_event(f.c, "VHOST_USER_CONNECTED",
                                      QMP_TIMEOUT_MS));
    g_assert_true(vub_wait_vring_running(f.t.b, 0, TIMEOUT_MS));
    g_assert_true(json_object_get_boolean_member(query_vhost(&f, &list),
                                                 "connected"));
    blk_write_check(&f.t, 0, 0, 4096, 3);
    vfix_free(&f);
}

static void test_reset(void)
{
    VFixture f = { 0 };
    unsigned stops;
    JsonNode *ret;

    vfix_start(&f, NULL);
    blk_driver_start(&f.t, 1);
    blk_write_check(&f.t, 0, 0, 4096, 4);
    stops = vub_count(f.t.b, VHOST_USER_GET_VRING_BASE);
    ret = qmp_cmd_ok(f.c, "{\"execute\": \"system_reset\"}");
    json_node_unref(ret);
    g_assert_nonnull(qmp_wait_event(f.c, "RESET", QMP_TIMEOUT_MS));
    /* The device saw a reset: status cleared, backend rings stopped. */
    g_assert_cmpuint(qvirtio_get_status(&f.t.dev), ==, 0);
    g_assert_cmpuint(vub_count(f.t.b, VHOST_USER_GET_VRING_BASE), >, stops);
    /* ... and works again from scratch. */
    blk_driver_start(&f.t, 1);
    blk_write_check(&f.t, 0, 8, 4096, 5);
    vfix_free(&f);
}

static void test_device_del(void)
{
    VFixture f = { 0 };
    JsonNode *reply;
    const char *desc;

    vfix_start(&f, NULL);
    reply = qmp_cmd(f.c, "{\"execute\": \"device_del\", \"arguments\": "
                    "{\"id\": \"disk0\"}}");
    desc = qmp_expect_error(reply, "GenericError");
    g_assert_cmpstr(desc, ==, "Device 'vhost-user-blk' does not support "
                    "hotplugging");
    json_node_unref(reply);
    /* A second device with the same id is refused. */
    reply = qmp_cmd(f.c, "{\"execute\": \"device_add\", \"arguments\": "
                    "{\"driver\": \"vhost-user-blk\", \"id\": \"disk0\", "
                    "\"chardev\": \"c0\"}}");
    desc = qmp_expect_error(reply, "GenericError");
    g_assert_cmpstr(desc, ==, "Duplicate ID 'disk0' for device");
    json_node_unref(reply);
    blk_driver_start(&f.t, 1);
    check_running_device(&f);
    vfix_free(&f);
}

int main(int argc, char **argv)
{
    g_test_init(&argc, &argv, NULL);
    g_test_add_func("/qmp/vhost/query", test_query);
    g_test_add_func("/qmp/vhost/disconnect", test_disconnect);
    g_test_add_func("/qmp/vhost/reconnect", test_reconnect);
    g_test_add_func("/qmp/vhost/system-reset", test_reset);
    g_test_add_func("/qmp/vhost/device-del", test_device_del);
    return g_test_run();
}
