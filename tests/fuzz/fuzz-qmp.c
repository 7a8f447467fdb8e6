/* SPDX-License-Identifier: MIT */
/*
 * Fuzz target for the QMP monitor: the JSON splitter
 * (monitor/json-streamer.c), the parser, the dispatcher with its checks
 * of a request's shape and arguments (monitor/qmp-dispatch.c), the
 * commands and the output (monitor/qmp.c, qmp-json.c), fed as a client
 * feeds them.  A machine is built in-process from a command line under
 * -accel qtest with two memory backends for hotplug and a -qmp server
 * socket in a private directory; the harness connects to it, reads the
 * greeting and sends what the input says — requests built from parts,
 * raw bytes, deep nesting, huge values, many requests in one write,
 * requests carrying fds, hang-ups — while kvmini's main loop runs, and
 * reads everything it answers.  Commands that change state run for real:
 * stop / cont, system_reset, quit, object-add / -del, device_add / _del
 * of pc-dimms (and of devices whose backend cannot be there: they must
 * fail), migrate-set-parameters and -capabilities, getfd / closefd.
 *
 * Checks (fuzz-qmp-oracle.c): the greeting first; exactly one reply per
 * value the splitter cuts, in order, "return" or "error" with a class and
 * a description, with the request's id echoed when it was an object with
 * one; the errors the protocol prescribes for a malformed request, for
 * any command before negotiation and for a second qmp_capabilities;
 * events only after negotiation; stop and cont change the state
 * query-status reports and send STOP / RESUME once.  After the input the
 * monitor must answer a known-good command on the same connection (if
 * no value is left half-sent) and on a new one; then the machine is
 * freed and no fd or main-loop source is left.
 *
 * Two builds, as fuzz-virtio.c: with KVMINI_LIBFUZZER this file and the
 * oracle are a libFuzzer target; otherwise they are linked with
 * fuzz-qmp-seeds.c into a standalone campaign (see fuzz-common.h).
 */
#include "fuzz-qmp.h"
#include "fuzz-process.h"
#include "../../monitor/qmp-internal.h"

#include <errno.h>
#include <poll.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/un.h>

#define FQM_WAIT_US         (30 * G_USEC_PER_SEC)

FqmStats fqm_stats;

/* --- what an input becomes ------------------------------------------------- */

typedef enum { ACT_SEND, ACT_SYNC, ACT_RECONNECT } FqmActKind;

typedef struct FqmAct {
    FqmActKind kind;
    GString *bytes;             /* ACT_SEND */
    bool with_fd;               /* a memfd attached to the bytes */
    /* The values these bytes complete, as the monitor's splitter cuts
     * them (char *; NULL: one it refuses). */
    GPtrArray *values;
} FqmAct;

static void fqm_act_free(gpointer p)
{
    FqmAct *a = p;

    if (a->bytes) {
        g_string_free(a->bytes, TRUE);
    }
    if (a->values) {
        g_ptr_array_unref(a->values);
    }
    g_free(a);
}

static GString *fqm_send(GPtrArray *acts, bool with_fd)
{
    FqmAct *a = g_new0(FqmAct, 1);

    a->kind = ACT_SEND;
    a->bytes = g_string_new(NULL);
    a->with_fd = with_fd;
    a->values = g_ptr_array_new_with_free_func(g_free);
    g_ptr_array_add(acts, a);
    return a->bytes;
}

static void fqm_act(GPtrArray *acts, FqmActKind kind)
{
    FqmAct *a = g_new0(FqmAct, 1);

    a->kind = kind;
    g_ptr_array_add(acts, a);
}

/* A JSON string of any bytes: quotes, backslashes and control characters
 * escaped, the rest (invalid UTF-8 too) as it is. */
static void fqm_put_string(GString *s, const uint8_t *p, size_t n)
{
    g_string_append_c(s, '"');
    for (size_t i = 0; i < n; i++) {
        if (p[i] == '"' || p[i] == '\\') {
            g_string_append_c(s, '\\');
            g_string_append_c(s, p[i]);
        } else if (p[i] < 0x20) {
            g_string_append_printf(s, "\\u%04x", p[i]);
        } else {
            g_string_append_c(s, p[i]);
        }
    }
    g_string_append_c(s, '"');
}

static void fqm_put_name(GString *s, uint8_t i)
{
    const char *n = fqm_names[i % fqm_n_names];

    fqm_put_string(s, (const uint8_t *)n, strlen(n));
}

static void fqm_put_value(GString *s, FuzzInput *in, unsigned depth)
{
    uint8_t kind = fuzz_in_u8(in) % FQM_V_COUNT, n;
    const uint8_t *p;
    size_t len;

    switch (kind) {
    case FQM_V_NAME:
        fqm_put_name(s, fuzz_in_u8(in));
        break;
    case FQM_V_BYTES:
        p = fuzz_in_bytes(in, fuzz_in_u8(in), &len);
        fqm_put_string(s, p, len);
        break;
    case FQM_V_INT:
        g_string_append_printf(s, "%" PRId64, (int64_t)fuzz_in_le(in, 8));
        break;
    case FQM_V_BOOL:
        g_string_append(s, fuzz_in_u8(in) & 1 ? "true" : "false");
        break;
    case FQM_V_NULL:
        g_string_append(s, "null");
        break;
    case FQM_V_DOUBLE:
        g_string_append_printf(s, "%d.5e%d", (int8_t)fuzz_in_u8(in),
                               fuzz_in_u8(in) % 400 - 200);
        break;
    case FQM_V_LIST:
        n = fuzz_in_u8(in) % 5;
        g_string_append_c(s, '[');
        for (unsigned i = 0; i < n; i++) {
            g_string_append(s, i ? ", " : "");
            fqm_put_name(s, fuzz_in_u8(in));
        }
        g_string_append_c(s, ']');
        break;
    default:
        n = fuzz_in_u8(in) % 5;
        g_string_append_c(s, '{');
        for (unsigned i = 0; i < n; i++) {
            const char *k = fqm_keys[fuzz_in_u8(in) % fqm_n_keys];

            g_string_append_printf(s, "%s\"%s\": ", i ? ", " : "", k);
            if (depth < 2) {
                fqm_put_value(s, in, depth + 1);
            } else {
                fqm_put_name(s, fuzz_in_u8(in));
            }
        }
        g_string_append_c(s, '}');
        break;
    }
}

static void fqm_put_id(GString *s, uint8_t kind, uint8_t v)
{
    static const char *const ids[] = {
        "%u", "\"id-%u\"", "{\"n\": [%u, null]}", "null", "%u.25",
        "[\"%u\"]", "true", "-%u",
    };

    g_string_append(s, "\"id\": ");
    g_string_append_printf(s, ids[kind % G_N_ELEMENTS(ids)], v);
}

static void fqm_put_end(GString *s, uint8_t end)
{
    static const char *const ends[] = { "", "\n", "\r\n", " \t\n" };

    g_string_append(s, ends[end % G_N_ELEMENTS(ends)]);
}

/* A request from parts (see fuzz-qmp.h). */
static void op_cmd(GPtrArray *acts, FuzzInput *in)
{
    GString *s = fqm_send(acts, false);
    const char *name = fqm_commands[fuzz_in_u8(in) % fqm_n_commands];
    uint8_t id = fuzz_in_u8(in), shape = fuzz_in_u8(in);
    uint8_t argc = fuzz_in_u8(in) % 8;

    g_string_append_c(s, '{');
    if (shape & FQM_SHAPE_ID_FIRST && id & 0x80) {
        fqm_put_id(s, id, id >> 3);
        g_string_append(s, ", ");
    }
    g_string_append_printf(s, "\"%s\": \"%s\"",
                           shape & FQM_SHAPE_EXEC_TYPO ? "exec" : "execute",
                           name);
    if (shape & FQM_SHAPE_EXTRA) {
        g_string_append(s, ", \"control\": {}");
    }
    if (shape & FQM_SHAPE_ARGS_LIST) {
        g_string_append(s, ", \"arguments\": []");
    } else if (!(shape & FQM_SHAPE_NO_ARGS)) {
        g_string_append(s, ", \"arguments\": {");
        for (unsigned i = 0; i < argc; i++) {
            g_string_append_printf(s, "%s\"%s\": ", i ? ", " : "",
                                   fqm_keys[fuzz_in_u8(in) % fqm_n_keys]);
            fqm_put_value(s, in, 0);
        }
        g_string_append_c(s, '}');
    }
    if (!(shape & FQM_SHAPE_ID_FIRST) && id & 0x80) {
        g_string_append(s, ", ");
        fqm_put_id(s, id, id >> 3);
    }
    g_string_append_c(s, '}');
    fqm_put_end(s, fuzz_in_u8(in));
}

static void op_raw(GPtrArray *acts, FuzzInput *in)
{
    size_t n;
    const uint8_t *p = fuzz_in_bytes(in, fuzz_in_u8(in), &n);

    g_string_append_len(fqm_send(acts, false), (const char *)p, n);
}

/* Nesting up to 2047 deep, past the limit of 1024 or not. */
static void op_deep(GPtrArray *acts, FuzzInput *in)
{
    GString *s = fqm_send(acts, false);
    unsigned depth = fuzz_in_le(in, 2) % 2048;
    uint8_t how = fuzz_in_u8(in);

    for (unsigned i = 0; i < depth; i++) {
        g_string_append(s, how & 1 ? "{\"a\": " : "[");
    }
    g_string_append(s, "1");
    for (unsigned i = 0; how & 2 && i < depth; i++) {
        g_string_append_c(s, how & 1 ? '}' : ']');
    }
    fqm_put_end(s, how >> 2);
}

/* A request with a long id: (code + 1) * 32 bytes up to 7.5 KiB, from
 * code 240 on 16 KiB steps up to 240 KiB (a few fill the monitor's
 * output), with code 255 past the 64 MiB limit of a value — but for
 * libFuzzer, which would spend its time on those (it finds the code at
 * once), the longest is 240 KiB. */
static size_t fqm_huge_len(uint8_t code)
{
#ifndef KVMINI_LIBFUZZER
    if (code == 255) {
        return JSON_MAX_TOKEN_SIZE + 16;
    }
#endif
    code = MIN(code, 254);
    return code < 240 ? (code + 1u) * 32 : (code - 239u) * 16 * 1024;
}

static void op_huge(GPtrArray *acts, FuzzInput *in)
{
    uint8_t code = fuzz_in_u8(in), end = fuzz_in_u8(in);
    size_t len = fqm_huge_len(code);
    GString *s = fqm_send(acts, false);

    g_string_append(s, "{\"execute\": \"query-name\", \"id\": \"");
    g_string_set_size(s, s->len + len);
    memset(s->str + s->len - len, 'x', len);
    if (end & 1) {
        g_string_append(s, "\"}");
    }
    fqm_put_end(s, end >> 1);
    fqm_stats.huge++;
}

/* Many requests in one write, numbered ids. */
static void op_many(GPtrArray *acts, FuzzInput *in)
{
    static const char *const cmds[] = {
        "query-status", "query-version", "query-name", "stop", "cont",
    };
    GString *s = fqm_send(acts, false);
    unsigned n = fuzz_in_u8(in) % 64;
    uint8_t cmd = fuzz_in_u8(in);

    for (unsigned i = 0; i < n; i++) {
        g_string_append_printf(s, "{\"execute\": \"%s\", \"id\": %u}",
                               cmds[(cmd + i) % G_N_ELEMENTS(cmds)], i);
    }
}

/* getfd with a memfd, closefd, or an fd nobody asked for. */
static void op_fd(GPtrArray *acts, FuzzInput *in)
{
    uint8_t how = fuzz_in_u8(in), name = fuzz_in_u8(in) % 4;
    GString *s = fqm_send(acts, how % 3 != 1);

    if (how % 3 == 2) {
        g_string_append(s, "{\"execute\": \"query-status\"}\n");
        return;
    }
    g_string_append_printf(s, "{\"execute\": \"%s\", \"arguments\": "
                           "{\"fdname\": \"fd%u\"}}\n",
                           how % 3 ? "closefd" : "getfd", name);
}

static GPtrArray *fqm_decode(const uint8_t *data, size_t size)
{
    GPtrArray *acts = g_ptr_array_new_with_free_func(fqm_act_free);
    FuzzInput in = { .data = data, .size = size };
    unsigned ops = 0;

    while (fuzz_in_left(&in) && ops++ < FQM_MAX_OPS) {
        switch (fuzz_in_u8(&in) % FQM_OP_COUNT) {
        case FQM_OP_CMD:
            op_cmd(acts, &in);
            break;
        case FQM_OP_RAW:
            op_raw(acts, &in);
            break;
        case FQM_OP_DEEP:
            op_deep(acts, &in);
            break;
        case FQM_OP_HUGE:
            op_huge(acts, &in);
            break;
        case FQM_OP_MANY:
            op_many(acts, &in);
            break;
        case FQM_OP_FD:
            op_fd(acts, &in);
            break;
        case FQM_OP_SYNC:
            fqm_act(acts, ACT_SYNC);
            break;
        default:
            fqm_act(acts, ACT_RECONNECT);
            break;
        }
    }
    return acts;
}

/* --- the values, and is it safe to send them? ------------------------------- */

typedef struct FqmPlan {
    FqmAct *act;                /* being split */
    bool unsafe;
} FqmPlan;

static void fqm_plan_value(void *opaque, const char *text,
                           const char *error)
{
    FqmPlan *p = opaque;

    g_ptr_array_add(p->act->values, g_strdup(text));
    p->unsafe |= text && fqm_unsafe(text);
}

static bool fqm_js_idle(const JsonStreamer *js)
{
    return !js->buf->len && !js->depth && !js->in_string && !js->in_word;
}

/* Split every connection's bytes as the monitor will (its splitter does
 * not care how they arrive): the values each act completes; false if
 * one must not be sent.  *idle: nothing is left half-sent at the end. */
static bool fqm_plan(GPtrArray *acts, bool *idle)
{
    FqmPlan p = { NULL, false };
    JsonStreamer js;

    json_streamer_init(&js, fqm_plan_value, &p);
    for (guint i = 0; i < acts->len && !p.unsafe; i++) {
        p.act = g_ptr_array_index(acts, i);
        if (p.act->kind == ACT_SEND) {
            json_streamer_feed(&js, (uint8_t *)p.act->bytes->str,
                               p.act->bytes->len);
        } else if (p.act->kind == ACT_RECONNECT) {
            json_streamer_reset(&js);
        }
    }
    *idle = fqm_js_idle(&js);
    json_streamer_destroy(&js);
    return !p.unsafe;
}

/* --- the machine and the client ----------------------------------------------- */

typedef struct FqmRun {
    MachineState *ms;
    int fd;                     /* the client's socket, -1 if none */
    GString *rbuf;              /* what kvmini wrote, not a line yet */
    FqmModel model;
} FqmRun;

static const char *const fqm_argv[] = {
    "-accel", "qtest", "-qtest", "unix:qtest.sock", "-serial", "none",
    "-name", "fuzz", "-m", "1M,slots=4,maxmem=64M",
    "-object", "memory-backend-memfd,id=m0,size=2M",
    "-object", "memory-backend-memfd,id=m1,size=4M",
    "-qmp", "unix:qmp.sock,server=on,wait=off",
};

static void fqm_expect(FqmRun *r, const char *text)
{
    fqm_model_expect(&r->model, text);
    fqm_stats.values++;
}

/* Every complete line kvmini wrote so far goes to the model; true if
 * there was any (or the connection ended). */
static bool fqm_read(FqmRun *r)
{
    char buf[65536], *p, *crlf;
    bool any = false;
    ssize_t n;

    while ((n = recv(r->fd, buf, sizeof(buf), MSG_DONTWAIT)) > 0) {
        g_string_append_len(r->rbuf, buf, n);
        any = true;
    }
    if (n == 0) {
        g_error("fuzz-qmp: kvmini closed the connection");
    }
    g_assert(errno == EAGAIN || errno == EINTR);
    for (p = r->rbuf->str; (crlf = strstr(p, "\r\n")); p = crlf + 2) {
        *crlf = '\0';
        fqm_model_line(&r->model, p);
    }
    g_string_erase(r->rbuf, 0, p - r->rbuf->str);
    return any;
}

/* The main loop and our reading, until done() or nothing happens for
 * FQM_WAIT_US. */
static void fqm_wait(FqmRun *r, bool (*done)(FqmRun *r), const char *what)
{
    gint64 end = g_get_monotonic_time() + FQM_WAIT_US;

    while (!done(r)) {
        bool busy = g_main_context_iteration(NULL, FALSE);
        struct pollfd p = { .fd = r->fd, .events = POLLIN };

        busy |= fqm_read(r);
        if (busy) {
            end = g_get_monotonic_time() + FQM_WAIT_US;
        } else if (g_get_monotonic_time() > end) {
            g_error("fuzz-qmp: waited %d s for %s (%u replies owed)",
                    (int)(FQM_WAIT_US / G_USEC_PER_SEC), what,
                    g_queue_get_length(&r->model.owed));
        } else {
            poll(&p, 1, 1);
        }
    }
}

static bool fqm_greeted(FqmRun *r)
{
    return r->model.greeted;
}

static bool fqm_answered(FqmRun *r)
{
    return g_queue_is_empty(&r->model.owed);
}

/* Connect, and read the greeting (kvmini accepts from its main loop). */
static void fqm_connect(FqmRun *r, bool paused)
{
    struct sockaddr_un sa = { .sun_family = AF_UNIX };

    r->fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    g_strlcpy(sa.sun_path, "qmp.sock", sizeof(sa.sun_path));
    g_assert_cmpint(connect(r->fd, (struct sockaddr *)&sa, sizeof(sa)), ==,
                    0);
    fqm_model_init(&r->model, paused);
    r->rbuf = g_string_new(NULL);
    fqm_wait(r, fqm_greeted, "the greeting");
}

static void fqm_hang_up(FqmRun *r)
{
    close(r->fd);
    r->fd = -1;
    fqm_model_free(&r->model);
    g_string_free(r->rbuf, TRUE);
}

static void fqm_run_init(FqmRun *r)
{
    Error *err = NULL;

    memset(r, 0, sizeof(*r));
    r->ms = fuzz_parse((char **)fqm_argv, G_N_ELEMENTS(fqm_argv), &err);
    g_assert_null(err);
    if (!machine_build(r->ms, &err)) {
        g_error("fuzz-qmp: %s", error_get_pretty(err));
    }
    fqm_connect(r, false);
}

/* The bytes, with a memfd attached if asked; while the socket is full
 * kvmini's main loop runs and its output is read. */
static void fqm_write(FqmRun *r, const char *buf, size_t len, bool with_fd)
{
    char control[CMSG_SPACE(sizeof(int))] = { 0 };
    int fd = with_fd ? memfd_create("fuzz-qmp", MFD_CLOEXEC) : -1;

    while (len) {
        struct iovec iov = { (char *)buf, len };
        struct msghdr mh = { .msg_iov = &iov, .msg_iovlen = 1 };
        ssize_t n;

        if (fd >= 0) {
            struct cmsghdr *c;

            mh.msg_control = control;
            mh.msg_controllen = sizeof(control);
            c = CMSG_FIRSTHDR(&mh);
            c->cmsg_level = SOL_SOCKET;
            c->cmsg_type = SCM_RIGHTS;
            c->cmsg_len = CMSG_LEN(sizeof(int));
            memcpy(CMSG_DATA(c), &fd, sizeof(int));
        }
        n = sendmsg(r->fd, &mh, MSG_DONTWAIT | MSG_NOSIGNAL);
        if (n > 0) {
            buf += n;
            len -= n;
            if (fd >= 0) {
                close(fd);
                fd = -1;
                fqm_stats.fds_sent++;
            }
            continue;
        }
        g_assert(n < 0 && (errno == EAGAIN || errno == EINTR));
        if (!g_main_context_iteration(NULL, FALSE)) {
            g_usleep(50);
        }
        fqm_read(r);
    }
    if (fd >= 0) {
        close(fd);
    }
}

static void fqm_sync(FqmRun *r)
{
    fqm_wait(r, fqm_answered, "the replies");
}

static void fqm_reconnect(FqmRun *r)
{
    bool paused;

    fqm_sync(r);
    /* The machine's state outlives the client (after the last reply). */
    paused = r->model.paused;
    fqm_hang_up(r);
    fqm_connect(r, paused);
    fqm_stats.reconnects++;
}

static void fqm_do(FqmRun *r, const FqmAct *a)
{
    switch (a->kind) {
    case ACT_SEND:
        for (guint i = 0; i < a->values->len; i++) {
            fqm_expect(r, g_ptr_array_index(a->values, i));
        }
        fqm_write(r, a->bytes->str, a->bytes->len, a->with_fd);
        /* Let the monitor see this piece before the next one. */
        g_main_context_iteration(NULL, FALSE);
        fqm_read(r);
        break;
    case ACT_SYNC:
        fqm_sync(r);
        break;
    default:
        fqm_reconnect(r);
        break;
    }
}

/* --- after the input: the monitor still answers ------------------------------ */

static void fqm_probe(FqmRun *r, const char *id)
{
    static const char caps[] = "{\"execute\": \"qmp_capabilities\"}";
    g_autofree char *req = g_strdup_printf(
        "{\"execute\": \"query-status\", \"id\": \"%s\"}\n", id);
    unsigned errors;

    if (!r->model.negotiated) {
        fqm_expect(r, caps);
        fqm_write(r, caps, strlen(caps), false);
    }
    errors = fqm_stats.errors;
    fqm_expect(r, req);
    fqm_write(r, req, strlen(req), false);
    fqm_sync(r);
    if (fqm_stats.errors != errors) {
        g_error("fuzz-qmp: the monitor refused query-status after the "
                "input");
    }
}

/* idle: the input left no value half-sent on the last connection. */
static void fqm_final_check(FqmRun *r, bool idle)
{
    fqm_sync(r);
    if (idle) {
        fqm_probe(r, "probe-same");
    }
    fqm_reconnect(r);
    fqm_probe(r, "probe-new");
}

bool fqm_fuzz_one(const uint8_t *data, size_t size)
{
    g_autoptr(GPtrArray) acts = fqm_decode(data, size);
    unsigned fds, errors = fqm_stats.errors;
    guint mark;
    bool all, idle;
    FqmRun r;

    fuzz_warm_up("fuzz-qmp");
    if (!fqm_plan(acts, &idle)) {
        fqm_stats.skipped_unsafe++;
        return false;
    }
    fuzz_workdir_enter();
    fds = fuzz_count_fds();
    mark = fuzz_source_mark();
    fqm_run_init(&r);
    for (guint i = 0; i < acts->len; i++) {
        fqm_do(&r, g_ptr_array_index(acts, i));
    }
    fqm_sync(&r);
    all = fqm_stats.errors == errors;
    fqm_final_check(&r, idle);
    fqm_hang_up(&r);
    machine_free(r.ms);
    fuzz_check_sources("fuzz-qmp", mark);
    fuzz_check_fds("fuzz-qmp", fds);
    fuzz_workdir_empty();
    fuzz_workdir_leave();
    return all;
}

#ifdef KVMINI_LIBFUZZER
FUZZ_LIBFUZZER_ENTRY(fqm_fuzz_one)
#endif
