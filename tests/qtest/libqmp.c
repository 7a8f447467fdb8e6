/* SPDX-License-Identifier: MIT */
/*
 * libqmp: a QMP client for tests (see libqmp.h).  Lines are read with
 * poll() and a deadline; each line is one JSON object.
 */
#include <errno.h>
#include <poll.h>
#include <stdarg.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "libqmp.h"

struct QmpClient {
    int fd;
    bool eof;
    GString *rx;                /* bytes received, not yet a line */
    GQueue events;              /* JsonNode *, oldest first */
    JsonNode *greeting;
};

/* --- connection ----------------------------------------------------------- */

static int qmp_dial(const char *path)
{
    struct sockaddr_un sa = { .sun_family = AF_UNIX };
    int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);

    g_assert(fd >= 0);
    g_assert(strlen(path) < sizeof(sa.sun_path));
    strcpy(sa.sun_path, path);
    if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
        close(fd);
        return -1;
    }
    return fd;
}

QmpClient *qmp_connect_raw(const char *path)
{
    gint64 end = g_get_monotonic_time() + QMP_TIMEOUT_MS * 1000LL;
    QmpClient *c;
    int fd;

    while ((fd = qmp_dial(path)) < 0) {
        if (g_get_monotonic_time() > end) {
            return NULL;
        }
        g_usleep(10 * 1000);
    }
    c = g_new0(QmpClient, 1);
    c->fd = fd;
    c->rx = g_string_new(NULL);
    g_queue_init(&c->events);
    return c;
}

/* A server socket serves one client at a time and closes the others at
 * once: until the previous client's hang-up is seen, try again. */
QmpClient *qmp_connect(const char *path)
{
    gint64 end = g_get_monotonic_time() + QMP_TIMEOUT_MS * 1000LL;

    for (;;) {
        QmpClient *c = qmp_connect_raw(path);

        if (!c) {
            g_error("qmp: cannot connect to %s", path);
        }
        c->greeting = qmp_recv(c, QMP_TIMEOUT_MS);
        if (c->greeting) {
            g_assert_true(JSON_NODE_HOLDS_OBJECT(c->greeting));
            g_assert_true(json_object_has_member(
                json_node_get_object(c->greeting), "QMP"));
            return c;
        }
        if (!c->eof || g_get_monotonic_time() > end) {
            g_error("qmp: no greeting on %s", path);
        }
        qmp_close(c);
        g_usleep(10 * 1000);
    }
}

JsonObject *qmp_greeting(QmpClient *c)
{
    return json_node_get_object(c->greeting);
}

void qmp_close(QmpClient *c)
{
    if (!c) {
        return;
    }
    close(c->fd);
    g_string_free(c->rx, TRUE);
    g_queue_clear_full(&c->events, (GDestroyNotify)json_node_unref);
    if (c->greeting) {
        json_node_unref(c->greeting);
    }
    g_free(c);
}

void qmp_send_raw(QmpClient *c, const void *buf, size_t len)
{
    const char *p = buf;

    while (len) {
        ssize_t n = send(c->fd, p, len, MSG_NOSIGNAL);

        if (n < 0 && errno == EINTR) {
            continue;
        }
        if (n < 0) {
            g_error("qmp: send: %s", g_strerror(errno));
        }
        p += n;
        len -= n;
    }
}

/* --- receiving ------------------------------------------------------------ */

static bool is_event(JsonNode *n)
{
    return JSON_NODE_HOLDS_OBJECT(n) &&
           json_object_has_member(json_node_get_object(n), "event");
}

/* One line without "\r\n", or NULL on timeout / EOF. */
static char *qmp_read_line(QmpClient *c, int timeout_ms)
{
    gint64 end = g_get_monotonic_time() + timeout_ms * 1000LL;

    for (;;) {
        char *nl = memchr(c->rx->str, '\n', c->rx->len);
        char buf[4096];
        struct pollfd pfd = { .fd = c->fd, .events = POLLIN };
        int left = (int)((end - g_get_monotonic_time()) / 1000);
        ssize_t n;

        if (nl) {
            size_t len = nl - c->rx->str;
            char *line = g_strndup(c->rx->str, len);

            g_string_erase(c->rx, 0, len + 1);
            g_strchomp(line);       /* the "\r" */
            return line;
        }
        if (c->eof || left <= 0 || poll(&pfd, 1, left) <= 0) {
            return NULL;
        }
        n = recv(c->fd, buf, sizeof(buf), 0);
        if (n <= 0) {
            c->eof = true;
            return NULL;
        }
        g_string_append_len(c->rx, buf, n);
    }
}

/* A message: one line, or with pretty=on the lines from "{" to "}". */
static char *qmp_read_message(QmpClient *c, int timeout_ms)
{
    char *line = qmp_read_line(c, timeout_ms);
    GString *msg;

    if (!line || strcmp(line, "{")) {
        return line;
    }
    msg = g_string_new(line);
    do {
        g_free(line);
        line = qmp_read_line(c, timeout_ms);
        if (!line) {
            g_string_free(msg, TRUE);
            return NULL;
        }
        g_string_append_printf(msg, "\n%s", line);
    } while (strcmp(line, "}"));
    g_free(line);
    return g_string_free(msg, FALSE);
}

JsonNode *qmp_recv(QmpClient *c, int timeout_ms)
{
    g_autofree char *line = qmp_read_message(c, timeout_ms);
    g_autoptr(JsonParser) parser = json_parser_new();
    g_autoptr(GError) err = NULL;

    if (!line) {
        return NULL;
    }
    if (!json_parser_load_from_data(parser, line, -1, &err)) {
        g_error("qmp: server sent bad JSON '%s': %s", line, err->message);
    }
    return json_node_ref(json_parser_get_root(parser));
}

bool qmp_eof(QmpClient *c)
{
    return c->eof;
}

bool qmp_wait_eof(QmpClient *c, int timeout_ms)
{
    gint64 end = g_get_monotonic_time() + timeout_ms * 1000LL;

    while (!c->eof && g_get_monotonic_time() < end) {
        JsonNode *n = qmp_recv(c, 100);

        if (n && is_event(n)) {
            g_queue_push_tail(&c->events, n);
        } else if (n) {
            json_node_unref(n);
        }
    }
    return c->eof;
}

/* --- commands ------------------------------------------------------------- */

static JsonNode *qmp_vcmd(QmpClient *c, const char *fmt, va_list ap)
{
    g_autofree char *text = g_strdup_vprintf(fmt, ap);
    g_autofree char *line = g_strconcat(text, "\n", NULL);

    /* One write, newline included: the server acts on the object as soon
     * as its closing brace arrives, so a "quit" sent on its own may have
     * closed the connection before a separate "\n" goes out (EPIPE). */
    qmp_send_raw(c, line, strlen(line));
    for (;;) {
        JsonNode *n = qmp_recv(c, QMP_TIMEOUT_MS);

        if (!n) {
            g_error("qmp: no reply to %s (%s)", text,
                    c->eof ? "connection closed" : "timeout");
        }
        if (!is_event(n)) {
            return n;
        }
        g_queue_push_tail(&c->events, n);
    }
}

JsonNode *qmp_cmd(QmpClient *c, const char *fmt, ...)
{
    va_list ap;
    JsonNode *n;

    va_start(ap, fmt);
    n = qmp_vcmd(c, fmt, ap);
    va_end(ap);
    return n;
}

JsonNode *qmp_return(JsonNode *reply)
{
    JsonObject *o = JSON_NODE_HOLDS_OBJECT(reply) ?
                    json_node_get_object(reply) : NULL;

    if (!o || !json_object_has_member(o, "return")) {
        g_autofree char *text = qmp_to_string(reply);

        g_error("qmp: expected a return, got %s", text);
    }
    return json_object_get_member(o, "return");
}

JsonNode *qmp_cmd_ok(QmpClient *c, const char *fmt, ...)
{
    va_list ap;
    JsonNode *reply, *ret;

    va_start(ap, fmt);
    reply = qmp_vcmd(c, fmt, ap);
    va_end(ap);
    ret = json_node_copy(qmp_return(reply));
    json_node_unref(reply);
    return ret;
}

void qmp_negotiate(QmpClient *c)
{
    JsonNode *ret = qmp_cmd_ok(c, "{\"execute\": \"qmp_capabilities\"}");

    g_assert_true(JSON_NODE_HOLDS_OBJECT(ret));
    g_assert_cmpuint(json_object_get_size(json_node_get_object(ret)), ==, 0);
    json_node_unref(ret);
}

const char *qmp_expect_error(JsonNode *reply, const char *cls)
{
    JsonObject *o = JSON_NODE_HOLDS_OBJECT(reply) ?
                    json_node_get_object(reply) : NULL;
    JsonObject *err = o && json_object_has_member(o, "error") ?
                      json_object_get_object_member(o, "error") : NULL;

    if (!err) {
        g_autofree char *text = qmp_to_string(reply);

        g_error("qmp: expected an error, got %s", text);
    }
    g_assert_cmpstr(json_object_get_string_member(err, "class"), ==, cls);
    return json_object_get_string_member(err, "desc");
}

/* --- events --------------------------------------------------------------- */

static bool event_is(JsonNode *n, const char *name)
{
    return !strcmp(json_object_get_string_member(json_node_get_object(n),
                                                 "event"), name);
}

JsonNode *qmp_wait_event(QmpClient *c, const char *name, int timeout_ms)
{
    gint64 end = g_get_monotonic_time() + timeout_ms * 1000LL;

    for (GList *l = c->events.head; l; l = l->next) {
        if (event_is(l->data, name)) {
            JsonNode *n = l->data;

            g_queue_delete_link(&c->events, l);
            return n;
        }
    }
    for (;;) {
        int left = (int)((end - g_get_monotonic_time()) / 1000);
        JsonNode *n = left > 0 ? qmp_recv(c, left) : NULL;

        if (!n) {
            return NULL;
        }
        if (is_event(n) && event_is(n, name)) {
            return n;
        }
        g_queue_push_tail(&c->events, n);
    }
}

JsonNode *qmp_next_event(QmpClient *c, int timeout_ms)
{
    JsonNode *n;

    if (!g_queue_is_empty(&c->events)) {
        return g_queue_pop_head(&c->events);
    }
    n = qmp_recv(c, timeout_ms);
    if (n && !is_event(n)) {
        g_autofree char *text = qmp_to_string(n);

        g_error("qmp: expected an event, got %s", text);
    }
    return n;
}

char *qmp_to_string(JsonNode *node)
{
    g_autoptr(JsonGenerator) gen = json_generator_new();

    json_generator_set_root(gen, node);
    return json_generator_to_data(gen, NULL);
}

/* --- migration -------------------------------------------------------- */

static bool migration_ended(const char *status)
{
    return !strcmp(status, "completed") || !strcmp(status, "failed") ||
           !strcmp(status, "cancelled");
}

static const char *member_or(JsonObject *o, const char *name,
                             const char *dflt)
{
    return json_object_has_member(o, name) ?
           json_object_get_string_member(o, name) : dflt;
}

/*
 * What the one query-migrate poller waits for: done(return value, opaque).
 * what names it in failure messages; during, when set, is the status
 * every reply must have, the one done accepts included.
 */
typedef struct MigrationWait {
    const char *what;
    const char *during;
    bool (*done)(JsonObject *ret, const void *opaque);
    const void *opaque;
} MigrationWait;

/*
 * The one query-migrate poller: returns the return value of the first
 * reply w->done accepts.  A status other than w->during (when set), a
 * final status w->done does not accept, or timeout_ms without it fails
 * the test.  Caller unrefs.
 */
static JsonNode *migration_poll(QmpClient *c, const MigrationWait *w,
                                int timeout_ms)
{
    gint64 end = g_get_monotonic_time() + (gint64)timeout_ms * 1000;

    for (;;) {
        JsonNode *r = qmp_cmd_ok(c, "{\"execute\": \"query-migrate\"}");
        JsonObject *o = json_node_get_object(r);
        const char *st = member_or(o, "status", "");
        const char *err = member_or(o, "error-desc", "(no error-desc)");

        if (w->during && strcmp(st, w->during)) {
            g_error("qmp: migration '%s' while waiting for %s (it must "
                    "stay '%s'): %s", st, w->what, w->during, err);
        }
        if (w->done(o, w->opaque)) {
            return r;
        }
        if (migration_ended(st)) {
            g_error("qmp: migration %s while waiting for %s: %s", st,
                    w->what, err);
        }
        if (g_get_monotonic_time() > end) {
            g_error("qmp: migration still '%s' after %d ms, waiting for "
                    "%s", st, timeout_ms, w->what);
        }
        json_node_unref(r);
        g_usleep(10 * 1000);
    }
}

static bool status_is(JsonObject *ret, const void *want)
{
    return !strcmp(member_or(ret, "status", ""), want);
}

static bool status_final(JsonObject *ret, const void *unused)
{
    return migration_ended(member_or(ret, "status", ""));
}

typedef struct RamMin {
    const char *stat;
    int64_t min;
} RamMin;

/* No "ram" yet counts as 0; a "ram" without the counter is a test bug
 * (json-glib's critical fails the test). */
static bool ram_reached(JsonObject *ret, const void *opaque)
{
    const RamMin *m = opaque;

    return json_object_has_member(ret, "ram") &&
           json_object_get_int_member(
               json_object_get_object_member(ret, "ram"), m->stat) >= m->min;
}

JsonNode *qmp_wait_migration_status(QmpClient *c, const char *want,
                                    int timeout_ms)
{
    g_autofree char *what = g_strdup_printf("'%s'", want);
    MigrationWait w = { .what = what, .done = status_is, .opaque = want };

    g_assert_nonnull(want);
    return migration_poll(c, &w, timeout_ms);
}

JsonNode *qmp_wait_migration_ram(QmpClient *c, const char *stat,
                                 int64_t min, const char *during,
                                 int timeout_ms)
{
    g_autofree char *what = g_strdup_printf("ram.%s >= %" G_GINT64_FORMAT,
                                            stat, min);
    RamMin m = { stat, min };
    MigrationWait w = { .what = what, .during = during,
                        .done = ram_reached, .opaque = &m };

    return migration_poll(c, &w, timeout_ms);
}

char *qmp_wait_migration_end(QmpClient *c, int timeout_ms, char **error)
{
    MigrationWait w = { .what = "its end", .done = status_final };
    g_autoptr(JsonNode) r = migration_poll(c, &w, timeout_ms);
    JsonObject *o = json_node_get_object(r);
    const char *err = member_or(o, "error-desc", NULL);

    *error = g_strdup(err);
    return g_strdup(member_or(o, "status", ""));
}
