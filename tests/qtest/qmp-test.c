/* SPDX-License-Identifier: MIT */
/*
 * The QMP monitor, from the outside: kvmini runs under -accel qtest with
 * -qmp unix:PATH,server=on,wait=off and the test talks to it with libqmp
 * as any QMP client would.  Covered: the greeting and capabilities
 * negotiation, the shape of every command's reply, errors (malformed
 * JSON, unknown commands, bad arguments) that leave the connection
 * usable, input split anywhere or packed together, "id" echoed, events
 * with timestamps, several monitors and successive clients, -mon with a
 * chardev, and quit.  The vhost side (x-query-vhost, the connection
 * events, system_reset of a device) is in qmp-vhost-test.c.
 */
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>
#include <glib/gstdio.h>

#include "libqmp.h"
#include "libqtest.h"

typedef struct Fixture {
    char *dir;
    char *sock;                 /* -qmp socket */
    QTestState *qts;
} Fixture;

static void fixture_start(Fixture *f, const char *extra)
{
    g_autoptr(GError) err = NULL;

    f->dir = g_dir_make_tmp("qmp-test-XXXXXX", &err);
    g_assert_no_error(err);
    f->sock = g_build_filename(f->dir, "qmp.sock", NULL);
    f->qts = qtest_initf("-qmp unix:%s,server=on,wait=off %s", f->sock,
                         extra ? extra : "");
}

static void fixture_free(Fixture *f)
{
    if (f->qts) {
        qtest_quit(f->qts);
    }
    g_rmdir(f->dir);
    g_free(f->sock);
    g_free(f->dir);
}

/* A path inside the fixture's directory; caller frees. */
static char *fixture_path(Fixture *f, const char *name)
{
    return g_build_filename(f->dir, name, NULL);
}

static JsonObject *obj(JsonNode *n)
{
    g_assert_true(JSON_NODE_HOLDS_OBJECT(n));
    return json_node_get_object(n);
}

/* reply is an error of class cls whose desc contains text. */
static void check_error(JsonNode *reply, const char *cls, const char *text)
{
    const char *desc = qmp_expect_error(reply, cls);

    if (!strstr(desc, text)) {
        g_error("error '%s' lacks '%s'", desc, text);
    }
    json_node_unref(reply);
}

/* The monitor still answers. */
static void check_alive(QmpClient *c)
{
    g_autoptr(JsonNode) ret = qmp_cmd_ok(c, "{\"execute\": "
                                         "\"query-status\"}");

    g_assert_cmpstr(json_object_get_string_member(obj(ret), "status"), ==,
                    "running");
}

/* --- greeting and negotiation --------------------------------------------- */

static void test_greeting(void)
{
    Fixture f = { 0 };
    QmpClient *c;
    JsonObject *qmp, *version, *qemu;

    fixture_start(&f, NULL);
    c = qmp_connect(f.sock);
    qmp = json_object_get_object_member(qmp_greeting(c), "QMP");
    g_assert_nonnull(qmp);
    version = json_object_get_object_member(qmp, "version");
    qemu = json_object_get_object_member(version, "qemu");
    g_assert_cmpint(json_object_get_int_member(qemu, "major"), ==, 0);
    g_assert_cmpint(json_object_get_int_member(qemu, "minor"), ==, 1);
    g_assert_cmpint(json_object_get_int_member(qemu, "micro"), ==, 0);
    g_assert_cmpstr(json_object_get_string_member(version, "package"), ==,
                    "kvmini");
    g_assert_cmpuint(json_array_get_length(
        json_object_get_array_member(qmp, "capabilities")), ==, 0);
    qmp_close(c);
    fixture_free(&f);
}

static void test_negotiation(void)
{
    Fixture f = { 0 };
    QmpClient *c;

    fixture_start(&f, NULL);
    c = qmp_connect(f.sock);
    check_error(qmp_cmd(c, "{\"execute\": \"query-status\"}"),
                "CommandNotFound", "Expecting capabilities negotiation with "
                "'qmp_capabilities'");
    check_error(qmp_cmd(c, "{\"execute\": \"no-such-command\"}"),
                "CommandNotFound", "Expecting capabilities negotiation");
    check_error(qmp_cmd(c, "{\"execute\": \"qmp_capabilities\", "
                        "\"arguments\": {\"enable\": [\"oob\"]}}"),
                "GenericError", "Capability 'oob' not available");
    qmp_negotiate(c);
    check_error(qmp_cmd(c, "{\"execute\": \"qmp_capabilities\"}"),
                "CommandNotFound", "Capabilities negotiation is already "
                "complete");
    check_alive(c);
    qmp_close(c);
    fixture_free(&f);
}

/* --- replies ------------------------------------------------------------- */

static bool list_has_name(JsonArray *a, const char *name)
{
    for (guint i = 0; i < json_array_get_length(a); i++) {
        JsonObject *o = json_array_get_object_element(a, i);

        if (!strcmp(json_object_get_string_member(o, "name"), name)) {
            return true;
        }
    }
    return false;
}

static void check_introspection(QmpClient *c)
{
    static const char *const names[] = {
        "qmp_capabilities", "query-version", "query-commands",
        "query-status", "query-kvm", "stop", "cont", "system_reset",
        "quit", "query-chardev", "object-add", "object-del", "device_add",
        "device_del", "query-memory-devices", "x-query-vhost",
    };
    g_autoptr(JsonNode) v = qmp_cmd_ok(c, "{\"execute\": "
                                       "\"query-version\"}");
    g_autoptr(JsonNode) cmds = qmp_cmd_ok(c, "{\"execute\": "
                                          "\"query-commands\"}");
    g_autoptr(JsonNode) st = qmp_cmd_ok(c, "{\"execute\": "
                                        "\"query-status\"}");
    g_autoptr(JsonNode) kvm = qmp_cmd_ok(c, "{\"execute\": "
                                         "\"query-kvm\"}");

    g_assert_cmpint(json_object_get_int_member(
        json_object_get_object_member(obj(v), "qemu"), "minor"), ==, 1);
    g_assert_cmpstr(json_object_get_string_member(obj(v), "package"), ==,
                    "kvmini");
    for (size_t i = 0; i < G_N_ELEMENTS(names); i++) {
        g_assert_true(list_has_name(json_node_get_array(cmds), names[i]));
    }
    g_assert_cmpstr(json_object_get_string_member(obj(st), "status"), ==,
                    "running");
    g_assert_true(json_object_get_boolean_member(obj(st), "running"));
    g_assert_false(json_object_get_boolean_member(obj(st), "singlestep"));
    g_assert_false(json_object_get_boolean_member(obj(kvm), "enabled"));
    g_assert_true(json_object_has_member(obj(kvm), "present"));
}

static JsonObject *find_label(JsonArray *a, const char *label)
{
    for (guint i = 0; i < json_array_get_length(a); i++) {
        JsonObject *o = json_array_get_object_element(a, i);

        if (!strcmp(json_object_get_string_member(o, "label"), label)) {
            return o;
        }
    }
    return NULL;
}

static void check_chardevs(QmpClient *c, Fixture *f)
{
    g_autoptr(JsonNode) ret = qmp_cmd_ok(c, "{\"execute\": "
                                         "\"query-chardev\"}");
    g_autofree char *filename = g_strdup_printf("unix:%s,server=on",
                                                f->sock);
    JsonObject *mon = find_label(json_node_get_array(ret), "compat_monitor0");
    JsonObject *serial = find_label(json_node_get_array(ret), "serial0");

    g_assert_nonnull(mon);
    g_assert_cmpstr(json_object_get_string_member(mon, "filename"), ==,
                    filename);
    g_assert_true(json_object_get_boolean_member(mon, "frontend-open"));
    g_assert_nonnull(serial);
    g_assert_cmpstr(json_object_get_string_member(serial, "filename"), ==,
                    "null");
}

static void check_empty_list(QmpClient *c, const char *command)
{
    g_autoptr(JsonNode) ret = qmp_cmd_ok(c, "{\"execute\": \"%s\"}",
                                         command);

    g_assert_true(JSON_NODE_HOLDS_ARRAY(ret));
    g_assert_cmpuint(json_array_get_length(json_node_get_array(ret)), ==, 0);
}

static void check_ok(QmpClient *c, const char *request)
{
    g_autoptr(JsonNode) ret = qmp_cmd_ok(c, "%s", request);

    g_assert_cmpuint(json_object_get_size(obj(ret)), ==, 0);
}

static void check_objects(QmpClient *c)
{
    check_ok(c, "{\"execute\": \"object-add\", \"arguments\": {\"qom-type\":"
             " \"memory-backend-memfd\", \"id\": \"m1\", \"size\": 1048576}}");
    check_error(qmp_cmd(c, "{\"execute\": \"object-add\", \"arguments\": "
                        "{\"qom-type\": \"memory-backend-memfd\", \"id\": "
                        "\"m1\", \"size\": 1048576}}"),
                "GenericError", "'m1'");
    /* The pre-6.0 form with "props". */
    check_ok(c, "{\"execute\": \"object-add\", \"arguments\": {\"qom-type\":"
             " \"memory-backend-memfd\", \"id\": \"m2\", \"props\": "
             "{\"size\": 2097152, \"share\": true}}}");
    check_error(qmp_cmd(c, "{\"execute\": \"object-add\", \"arguments\": "
                        "{\"qom-type\": \"no-such-type\", \"id\": \"m3\"}}"),
                "GenericError", "invalid object type");
    check_ok(c, "{\"execute\": \"object-del\", \"arguments\": {\"id\": "
             "\"m1\"}}");
    check_ok(c, "{\"execute\": \"object-del\", \"arguments\": {\"id\": "
             "\"m2\"}}");
    check_error(qmp_cmd(c, "{\"execute\": \"object-del\", \"arguments\": "
                        "{\"id\": \"m1\"}}"),
                "GenericError", "object 'm1' not found");
    check_error(qmp_cmd(c, "{\"execute\": \"object-del\", \"arguments\": "
                        "{\"id\": \"ram\"}}"),
                "GenericError", "object 'ram' is in use, can not be deleted");
}

static void check_devices(QmpClient *c)
{
    check_error(qmp_cmd(c, "{\"execute\": \"device_add\", \"arguments\": "
                        "{\"driver\": \"no-such-device\", \"id\": \"d\"}}"),
                "GenericError", "'no-such-device' is not a valid device "
                "model name");
    check_error(qmp_cmd(c, "{\"execute\": \"device_add\", \"arguments\": "
                        "{\"id\": \"d\"}}"),
                "GenericError", "Parameter 'driver' is missing");
    check_error(qmp_cmd(c, "{\"execute\": \"device_add\", \"arguments\": "
                        "{\"driver\": \"pc-dimm\", \"x\": {\"a\": 1}}}"),
                "GenericError", "Parameter 'x' expects a string, number or "
                "boolean");
    check_error(qmp_cmd(c, "{\"execute\": \"device_del\", \"arguments\": "
                        "{\"id\": \"nope\"}}"),
                "DeviceNotFound", "Device 'nope' not found");
}

static void test_replies(void)
{
    Fixture f = { 0 };
    QmpClient *c;

    fixture_start(&f, NULL);
    c = qmp_connect(f.sock);
    qmp_negotiate(c);
    check_introspection(c);
    check_chardevs(c, &f);
    check_empty_list(c, "query-memory-devices");
    check_empty_list(c, "x-query-vhost");
    check_objects(c);
    check_devices(c);
    check_alive(c);
    qmp_close(c);
    fixture_free(&f);
}

/* --- errors --------------------------------------------------------------- */

static const struct {
    const char *input;
    const char *cls;
    const char *desc;
} bad_inputs[] = {
    { "{\"execute\": }", "GenericError", "JSON parse error" },
    { "{\"execute\" \"query-status\"}", "GenericError", "JSON parse error" },
    { "}", "GenericError", "JSON parse error" },
    { "nonsense", "GenericError", "JSON parse error" },
    { "[1, 2]", "GenericError", "QMP input must be a JSON object" },
    { "42", "GenericError", "QMP input must be a JSON object" },
    { "\"query-status\"", "GenericError", "QMP input must be a JSON object" },
    { "{\"execute\": \"no-such\"}", "CommandNotFound",
      "The command no-such has not been found" },
    { "{\"arguments\": {}}", "GenericError",
      "QMP input lacks member 'execute'" },
    { "{\"execute\": 1}", "GenericError",
      "QMP input member 'execute' must be a string" },
    { "{\"execute\": \"query-status\", \"arguments\": []}", "GenericError",
      "QMP input member 'arguments' must be an object" },
    { "{\"execute\": \"query-status\", \"foo\": 1}", "GenericError",
      "QMP input member 'foo' is unexpected" },
    { "{\"execute\": \"query-status\", \"arguments\": {\"x\": 1}}",
      "GenericError", "Invalid parameter 'x'" },
    { "{\"execute\": \"object-del\", \"arguments\": {\"id\": 5}}",
      "GenericError", "Parameter 'id' expects a string" },
    { "{\"execute\": \"object-del\", \"arguments\": {\"id\": true}}",
      "GenericError", "Parameter 'id' expects a string" },
    { "{\"execute\": \"object-del\"}", "GenericError",
      "Parameter 'id' is missing" },
    { "{\"execute\": \"qmp_capabilities\", \"arguments\": {\"enable\": 1}}",
      "CommandNotFound", "already complete" },
    /* A name is one property, never several in the option syntax. */
    { "{\"execute\": \"device_add\", \"arguments\": {\"driver\": "
      "\"pc-dimm\", \"id=d2,memdev\": \"m1\"}}", "GenericError",
      "Invalid parameter 'id=d2,memdev'" },
    { "{\"execute\": \"object-add\", \"arguments\": {\"qom-type\": "
      "\"memory-backend-memfd\", \"id\": \"m2\", \"props\": "
      "{\"size=2M,share\": \"on\"}}}", "GenericError",
      "Invalid parameter 'size=2M,share'" },
    { "{\"execute\": \"device_add\", \"arguments\": {\"driver\": "
      "\"pc-dimm\", \"\": 1}}", "GenericError", "Invalid parameter ''" },
};

static void test_errors(void)
{
    Fixture f = { 0 };
    QmpClient *c;

    fixture_start(&f, NULL);
    c = qmp_connect(f.sock);
    qmp_negotiate(c);
    for (size_t i = 0; i < G_N_ELEMENTS(bad_inputs); i++) {
        check_error(qmp_cmd(c, "%s", bad_inputs[i].input), bad_inputs[i].cls,
                    bad_inputs[i].desc);
        check_alive(c);
    }
    qmp_close(c);
    fixture_free(&f);
}

/* --- the input stream and ids -------------------------------------------- */

static void check_reply_id(QmpClient *c, const char *id_json)
{
    g_autoptr(JsonNode) reply = qmp_recv(c, QMP_TIMEOUT_MS);
    g_autoptr(JsonParser) p = json_parser_new();
    g_autofree char *got = NULL, *want = NULL;

    g_assert_nonnull(reply);
    g_assert_true(json_parser_load_from_data(p, id_json, -1, NULL));
    g_assert_true(json_object_has_member(obj(reply), "id"));
    got = qmp_to_string(json_object_get_member(obj(reply), "id"));
    want = qmp_to_string(json_parser_get_root(p));
    g_assert_cmpstr(got, ==, want);
}

static void send_str(QmpClient *c, const char *s)
{
    qmp_send_raw(c, s, strlen(s));
}

static void test_stream(void)
{
    static const char one[] = "{ \"execute\" : \"query-status\" , "
                              "\"id\" : \"bytes\" }";
    Fixture f = { 0 };
    QmpClient *c;

    fixture_start(&f, NULL);
    c = qmp_connect(f.sock);
    qmp_negotiate(c);
    /* One byte at a time, no newline. */
    for (size_t i = 0; i < strlen(one); i++) {
        qmp_send_raw(c, &one[i], 1);
        g_usleep(500);
    }
    check_reply_id(c, "\"bytes\"");
    /* Two objects in one write, nothing in between. */
    send_str(c, "{\"execute\":\"query-status\",\"id\":1}"
                "{\"execute\":\"query-version\",\"id\":2}");
    check_reply_id(c, "1");
    check_reply_id(c, "2");
    /* Brackets and quotes inside strings, split inside an escape. */
    send_str(c, "{\"execute\": \"query-status\", \"id\": \"a}\\\"{[b\\");
    g_usleep(20 * 1000);
    send_str(c, "\\\"}\r\n");
    check_reply_id(c, "\"a}\\\"{[b\\\\\"");
    /* Non-ASCII comes back as it went (escaped on the wire). */
    send_str(c, "{\"execute\": \"query-status\", \"id\": "
                "\"\xc3\xa9\xe2\x82\xac\xf0\x9f\x98\x80\\u0001\"}");
    check_reply_id(c, "\"\xc3\xa9\xe2\x82\xac\xf0\x9f\x98\x80\\u0001\"");
    check_alive(c);
    qmp_close(c);
    fixture_free(&f);
}

static void test_id(void)
{
    static const char *const ids[] = {
        "1", "-7", "1.5", "\"abc\"", "true", "null", "[]",
        "{\"a\": [1, {\"b\": null}], \"c\": \"d\"}",
    };
    Fixture f = { 0 };
    QmpClient *c;

    fixture_start(&f, NULL);
    c = qmp_connect(f.sock);
    /* Errors echo it too, before and after negotiation. */
    send_str(c, "{\"execute\": \"query-status\", \"id\": \"early\"}\n");
    check_reply_id(c, "\"early\"");
    qmp_negotiate(c);
    for (size_t i = 0; i < G_N_ELEMENTS(ids); i++) {
        g_autofree char *ok = g_strdup_printf(
            "{\"execute\": \"query-status\", \"id\": %s}\n", ids[i]);
        g_autofree char *bad = g_strdup_printf(
            "{\"id\": %s, \"execute\": \"nope\"}\n", ids[i]);

        send_str(c, ok);
        check_reply_id(c, ids[i]);
        send_str(c, bad);
        check_reply_id(c, ids[i]);
    }
    send_str(c, "{\"execute\": \"object-del\", \"arguments\": {}, "
                "\"id\": \"args\"}\n");
    check_reply_id(c, "\"args\"");
    qmp_close(c);
    fixture_free(&f);
}

/* --- events --------------------------------------------------------------- */

static void check_event(JsonNode *ev, const char *name)
{
    JsonObject *ts;

    g_assert_nonnull(ev);
    g_assert_cmpstr(json_object_get_string_member(obj(ev), "event"), ==,
                    name);
    ts = json_object_get_object_member(obj(ev), "timestamp");
    g_assert_nonnull(ts);
    g_assert_cmpint(json_object_get_int_member(ts, "seconds"), >,
                    1600000000);
    g_assert_cmpint(json_object_get_int_member(ts, "microseconds"), >=, 0);
    g_assert_cmpint(json_object_get_int_member(ts, "microseconds"), <,
                    1000000);
    json_node_unref(ev);
}

/* Send request; the event it causes comes from the host ("guest": false)
 * with this reason. */
static void run_for_host_event(QmpClient *c, const char *request,
                               const char *event, const char *reason)
{
    JsonNode *ev;
    JsonObject *data;

    check_ok(c, request);
    ev = qmp_wait_event(c, event, QMP_TIMEOUT_MS);
    g_assert_nonnull(ev);
    data = json_object_get_object_member(obj(ev), "data");
    g_assert_false(json_object_get_boolean_member(data, "guest"));
    g_assert_cmpstr(json_object_get_string_member(data, "reason"), ==,
                    reason);
    check_event(ev, event);
}

static void check_status(QmpClient *c, const char *status)
{
    g_autoptr(JsonNode) st = qmp_cmd_ok(c, "{\"execute\": "
                                        "\"query-status\"}");

    g_assert_cmpstr(json_object_get_string_member(obj(st), "status"), ==,
                    status);
    g_assert_true(json_object_get_boolean_member(obj(st), "running") ==
                  !strcmp(status, "running"));
}

static void test_stop_cont(void)
{
    Fixture f = { 0 };
    QmpClient *c;

    fixture_start(&f, NULL);
    c = qmp_connect(f.sock);
    qmp_negotiate(c);
    check_ok(c, "{\"execute\": \"stop\"}");
    check_event(qmp_wait_event(c, "STOP", QMP_TIMEOUT_MS), "STOP");
    check_status(c, "paused");
    check_ok(c, "{\"execute\": \"stop\"}");         /* no second event */
    check_ok(c, "{\"execute\": \"cont\"}");
    check_event(qmp_next_event(c, QMP_TIMEOUT_MS), "RESUME");
    check_status(c, "running");
    check_ok(c, "{\"execute\": \"cont\"}");
    g_assert_null(qmp_next_event(c, 200));
    qmp_close(c);
    fixture_free(&f);
}

static void test_system_reset(void)
{
    Fixture f = { 0 };
    QmpClient *c;

    fixture_start(&f, NULL);
    c = qmp_connect(f.sock);
    qmp_negotiate(c);
    run_for_host_event(c, "{\"execute\": \"system_reset\"}", "RESET",
                       "host-qmp-system-reset");
    check_alive(c);
    qmp_close(c);
    fixture_free(&f);
}

/* --- several monitors and clients ----------------------------------------- */

static void test_two_monitors(void)
{
    Fixture f = { 0 };
    g_autofree char *sock2 = NULL;
    QmpClient *a, *b;

    f.dir = g_dir_make_tmp("qmp-test-XXXXXX", NULL);
    f.sock = fixture_path(&f, "qmp.sock");
    sock2 = fixture_path(&f, "qmp2.sock");
    f.qts = qtest_initf("-qmp unix:%s,server=on,wait=off "
                        "-qmp unix:%s,server=on,wait=off", f.sock, sock2);
    a = qmp_connect(f.sock);
    b = qmp_connect(sock2);
    qmp_negotiate(a);
    /* Events go only to clients that negotiated. */
    check_ok(a, "{\"execute\": \"stop\"}");
    check_event(qmp_wait_event(a, "STOP", QMP_TIMEOUT_MS), "STOP");
    g_assert_null(qmp_recv(b, 200));
    qmp_negotiate(b);
    check_ok(b, "{\"execute\": \"cont\"}");
    check_event(qmp_wait_event(a, "RESUME", QMP_TIMEOUT_MS), "RESUME");
    check_event(qmp_wait_event(b, "RESUME", QMP_TIMEOUT_MS), "RESUME");
    check_alive(a);
    check_alive(b);
    qmp_close(a);
    qmp_close(b);
    fixture_free(&f);
}

/* --- a client that stops reading ------------------------------------------ */

#define FLOOD_CMDS 40000

typedef struct Flood {
    int fd;
    gint sent;                  /* bytes written so far */
    GString *cmds;
    GThread *thread;
} Flood;

static int raw_connect(const char *path)
{
    struct sockaddr_un sa = { .sun_family = AF_UNIX };
    int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);

    g_assert_cmpint(fd, >=, 0);
    g_strlcpy(sa.sun_path, path, sizeof(sa.sun_path));
    g_assert_cmpint(connect(fd, (struct sockaddr *)&sa, sizeof(sa)), ==, 0);
    return fd;
}

/* One "\r\n"-terminated line from fd (blocking, at most 4 KiB). */
static char *raw_line(int fd, GString *buf)
{
    char *nl;

    while (!(nl = strstr(buf->str, "\r\n"))) {
        char chunk[4096];
        ssize_t n = read(fd, chunk, sizeof(chunk));

        g_assert_cmpint(n, >, 0);
        g_string_append_len(buf, chunk, n);
    }
    char *line = g_strndup(buf->str, nl - buf->str);
    g_string_erase(buf, 0, nl - buf->str + 2);
    return line;
}

static gpointer flood_thread(gpointer opaque)
{
    Flood *fl = opaque;
    gsize done = 0;

    while (done < fl->cmds->len) {
        ssize_t n = write(fl->fd, fl->cmds->str + done, fl->cmds->len - done);

        g_assert_cmpint(n, >, 0);
        done += n;
        g_atomic_int_set(&fl->sent, (gint)done);
    }
    return NULL;
}

/* Wait until the writer has made no progress for 300 ms; its count. */
static gint flood_wait_stalled(Flood *fl)
{
    gint last = -1, now;

    for (int i = 0; i < 200; i++) {
        g_usleep(300 * 1000);
        now = g_atomic_int_get(&fl->sent);
        if (now == last) {
            return now;
        }
        last = now;
    }
    g_error("the flooding client never stalled");
}

/*
 * A client sends thousands of commands and reads nothing: kvmini must
 * not block on it.  Its output waits, kvmini stops reading its commands
 * (so the client's writes stall), another monitor answers meanwhile;
 * once the client reads, every reply arrives, in order.
 */
static void test_slow_reader(void)
{
    Fixture f = { 0 };
    g_autofree char *sock2 = NULL;
    g_autoptr(GString) in = g_string_new(NULL);
    Flood fl = { 0 };
    QmpClient *b;
    gint stalled;

    f.dir = g_dir_make_tmp("qmp-test-XXXXXX", NULL);
    f.sock = fixture_path(&f, "qmp.sock");
    sock2 = fixture_path(&f, "qmp2.sock");
    f.qts = qtest_initf("-qmp unix:%s,server=on,wait=off "
                        "-qmp unix:%s,server=on,wait=off", f.sock, sock2);
    b = qmp_connect(sock2);
    qmp_negotiate(b);
    fl.fd = raw_connect(f.sock);
    g_free(raw_line(fl.fd, in));                        /* greeting */
    const char *caps = "{\"execute\": \"qmp_capabilities\"}";

    g_assert_cmpint(write(fl.fd, caps, strlen(caps)), ==, strlen(caps));
    g_autofree char *neg = raw_line(fl.fd, in);
    g_assert_cmpstr(neg, ==, "{\"return\": {}}");

    fl.cmds = g_string_new(NULL);
    for (int i = 0; i < FLOOD_CMDS; i++) {
        g_string_append_printf(fl.cmds, "{\"execute\": \"query-version\", "
                               "\"id\": %d}\n", i);
    }
    fl.thread = g_thread_new("flood", flood_thread, &fl);
    stalled = flood_wait_stalled(&fl);
    g_assert_cmpint(stalled, <, (gint)fl.cmds->len);
    check_alive(b);
    check_ok(b, "{\"execute\": \"stop\"}");
    check_ok(b, "{\"execute\": \"cont\"}");

    for (int i = 0; i < FLOOD_CMDS; i++) {
        g_autofree char *line = raw_line(fl.fd, in);
        g_autofree char *id = g_strdup_printf("\"id\": %d}", i);

        if (g_str_has_prefix(line, "{\"timestamp\"")) {
            i--;                                        /* STOP, RESUME */
            continue;
        }
        if (!g_str_has_prefix(line, "{\"return\": {\"qemu\"") ||
            !g_str_has_suffix(line, id)) {
            g_error("reply %d: %s", i, line);
        }
    }
    g_thread_join(fl.thread);
    g_string_free(fl.cmds, TRUE);
    close(fl.fd);
    qmp_close(b);
    fixture_free(&f);
}

static void test_sequential_clients(void)
{
    Fixture f = { 0 };
    QmpClient *c, *busy;

    fixture_start(&f, NULL);
    c = qmp_connect(f.sock);
    qmp_negotiate(c);
    /* One client at a time: a second one is turned away at once. */
    busy = qmp_connect_raw(f.sock);
    g_assert_nonnull(busy);
    g_assert_true(qmp_wait_eof(busy, QMP_TIMEOUT_MS));
    qmp_close(busy);
    check_alive(c);
    check_ok(c, "{\"execute\": \"stop\"}");
    qmp_send_raw(c, "{\"execute\": \"query-", 19);   /* left unfinished */
    qmp_close(c);
    /* The next client starts from scratch: greeting, negotiation. */
    for (int i = 0; i < 3; i++) {
        c = qmp_connect(f.sock);
        check_error(qmp_cmd(c, "{\"execute\": \"query-status\"}"),
                    "CommandNotFound", "Expecting capabilities");
        qmp_negotiate(c);
        check_status(c, i == 0 ? "paused" : "running");
        check_ok(c, "{\"execute\": \"cont\"}");
        qmp_close(c);
    }
    fixture_free(&f);
}

static void test_mon_chardev(void)
{
    Fixture f = { 0 };
    QmpClient *c;

    f.dir = g_dir_make_tmp("qmp-test-XXXXXX", NULL);
    f.sock = fixture_path(&f, "mon.sock");
    f.qts = qtest_initf("-chardev socket,id=mon0,path=%s,server=on,wait=off "
                        "-mon chardev=mon0,mode=control,pretty=on", f.sock);
    c = qmp_connect(f.sock);
    qmp_negotiate(c);
    check_alive(c);
    qmp_close(c);
    fixture_free(&f);
}

static void test_mon_errors(void)
{
    g_autofree char *dir = g_dir_make_tmp("qmp-test-XXXXXX", NULL);
    g_autofree char *sock = g_build_filename(dir, "m.sock", NULL);
    static const struct {
        const char *mon;
        const char *err;
    } cases[] = {
        { "chardev=m", "mode=readline is not supported" },
        { "chardev=m,mode=readline", "mode=readline is not supported" },
        { "chardev=nope,mode=control", "chardev 'nope' not found" },
        { "mode=control", "Parameter 'chardev' is missing" },
    };

    for (size_t i = 0; i < G_N_ELEMENTS(cases); i++) {
        g_autofree char *args = g_strdup_printf(
            "-accel qtest -qtest unix:%s/none -serial null "
            "-chardev socket,id=m,path=%s,server=on,wait=off -mon %s",
            dir, sock, cases[i].mon);
        g_autofree char *err = NULL;
        int status;

        qtest_run_kvmini(args, NULL, &err, &status);
        g_assert_cmpint(status, ==, 1);
        if (!strstr(err, cases[i].err)) {
            g_error("kvmini %s: stderr lacks '%s':\n%s", args, cases[i].err,
                    err);
        }
    }
    g_rmdir(dir);
}

/* --- quit ----------------------------------------------------------------- */

static void test_quit(void)
{
    Fixture f = { 0 };
    QmpClient *c;

    fixture_start(&f, NULL);
    c = qmp_connect(f.sock);
    qmp_negotiate(c);
    run_for_host_event(c, "{\"execute\": \"quit\"}", "SHUTDOWN",
                       "host-qmp-quit");
    g_assert_true(qmp_wait_eof(c, QMP_TIMEOUT_MS));
    g_assert_cmpint(qtest_wait_exit(f.qts), ==, 0);
    g_assert_cmpint(qtest_quit_status(f.qts), ==, 0);
    f.qts = NULL;
    qmp_close(c);
    fixture_free(&f);
}

int main(int argc, char **argv)
{
    g_test_init(&argc, &argv, NULL);
    g_test_add_func("/qmp/greeting", test_greeting);
    g_test_add_func("/qmp/negotiation", test_negotiation);
    g_test_add_func("/qmp/replies", test_replies);
    g_test_add_func("/qmp/errors", test_errors);
    g_test_add_func("/qmp/stream", test_stream);
    g_test_add_func("/qmp/id", test_id);
    g_test_add_func("/qmp/events/stop-cont", test_stop_cont);
    g_test_add_func("/qmp/events/system-reset", test_system_reset);
    g_test_add_func("/qmp/monitors/two", test_two_monitors);
    g_test_add_func("/qmp/monitors/sequential-clients",
                    test_sequential_clients);
    g_test_add_func("/qmp/monitors/slow-reader", test_slow_reader);
    g_test_add_func("/qmp/monitors/mon-chardev", test_mon_chardev);
    g_test_add_func("/qmp/monitors/mon-errors", test_mon_errors);
    g_test_add_func("/qmp/quit", test_quit);
    return g_test_run();
}
