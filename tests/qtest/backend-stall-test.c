/* SPDX-License-Identifier: MIT */
/*
 * A backend that stops answering never stalls the main loop.
 *
 * kvmini runs under qtest with a QMP monitor and a vhost-user-blk device
 * on the test backend; the guest driver runs the device.  Then the
 * backend's connection is lost and a new one comes — kvmini re-dials it
 * (reconnect=1) or re-accepts it (server=on, the backend dials again) —
 * and the new backend never answers one request of the handshake or of
 * the restart of the rings that follows; or the backend says its config
 * changed and never answers the GET_CONFIG that follows; or it sends half
 * a message on the backend channel and nothing more.  While kvmini
 * waits for that reply (the last message the backend got is that
 * request), QMP must answer within 100 ms, every time (query-status,
 * and queries that take the machine lock); and
 * SIGTERM must end kvmini within 1 s with status 0.
 *
 * None of these waits is the main loop's own: the connection's worker
 * thread waits (docs/architecture.md, "Threads").
 */
#include <inttypes.h>
#include <signal.h>
#include <string.h>

#include "libqmp.h"
#include "vhost-user-blk-common.h"

#define QMP_BOUND_MS    100     /* an answer "at once" */
#define QMP_ROUNDS      10
#define EXIT_BOUND_MS   1000

typedef enum StallHow {
    STALL_REDIAL,               /* kvmini dials the backend again */
    STALL_REACCEPT,             /* kvmini listens, the backend dials again */
    STALL_CONFIG_CHANGE,        /* the backend channel, no reconnect */
    STALL_CHANNEL_CUT,          /* half a message on the backend channel */
} StallHow;

typedef struct Stall {
    StallHow how;
    uint32_t request;           /* the one never answered (not CUT) */
} Stall;

typedef struct SFixture {
    Blk t;
    char *qmp_sock;
    QmpClient *c;
} SFixture;

static void sfix_start(SFixture *f, StallHow how)
{
    g_autofree char *extra = NULL;
    VubOptions o;

    blk_options(&o);
    o.inflight = true;          /* as qemu-storage-daemon */
    o.client = o.redial = how == STALL_REACCEPT;
    blk_init(&f->t, &o, true);
    f->qmp_sock = g_build_filename(f->t.dir, "qmp.sock", NULL);
    extra = g_strdup_printf("-qmp unix:%s,server=on,wait=off", f->qmp_sock);
    blk_launch(&f->t, how == STALL_REACCEPT ? ",server=on" : ",reconnect=1",
               NULL, extra);
    f->c = qmp_connect(f->qmp_sock);
    qmp_negotiate(f->c);
    blk_driver_start(&f->t, 1);
    blk_write_check(&f->t, 0, 0, 4096, 1);
}

/* kvmini has exited (SIGTERM): nothing left to quit. */
static void sfix_free_exited(SFixture *f)
{
    qmp_close(f->c);
    qtest_quit_status(f->t.qts);
    f->t.qts = NULL;
    blk_free(&f->t);
    g_free(f->qmp_sock);
}

/* The backend gets request and never answers it. */
static void stall_at(SFixture *f, const Stall *s)
{
    unsigned before = vub_count(f->t.b, s->request);

    if (s->how == STALL_CHANNEL_CUT) {
        /* A CONFIG_CHANGE_MSG header that stops after 6 of 12 bytes. */
        VhostUserHeader h = {
            .request = VHOST_USER_BACKEND_CONFIG_CHANGE_MSG,
            .flags = VHOST_USER_VERSION,
        };

        g_assert_true(vub_backend_send_raw(f->t.b, &h, sizeof(h) / 2));
        return;
    }
    vub_add_fault(f->t.b, VUB_FAULT_NO_REPLY, s->request, 0, true);
    if (s->how == STALL_CONFIG_CHANGE) {
        g_assert_true(vub_send_config_change(f->t.b, false, NULL));
    } else {
        vub_disconnect(f->t.b);
    }
    g_assert_true(vub_wait_for_count(f->t.b, s->request, before + 1,
                                     TIMEOUT_MS));
}

/* Still waiting: nothing came after the request; for a message cut
 * short, the backend is still there (it has the reply timeout to finish
 * it). */
static void assert_still_waiting(SFixture *f, const Stall *s)
{
    g_autoptr(VubMsg) last = vub_log_get(f->t.b, vub_log_len(f->t.b) - 1);

    if (s->how == STALL_CHANNEL_CUT) {
        g_assert_true(vub_connected(f->t.b));
        return;
    }
    g_assert_cmpuint(last->request, ==, s->request);
}

/* What a management tool asks: the run state, and two queries that take
 * the machine lock (one about the very device whose backend stalls). */
static const char *const queries[] = {
    "query-status", "query-memory-devices", "x-query-vhost",
};

static gint64 timed_query(SFixture *f, const char *cmd)
{
    gint64 t0 = g_get_monotonic_time();
    g_autoptr(JsonNode) r = qmp_cmd_ok(f->c, "{\"execute\": \"%s\"}", cmd);

    return (g_get_monotonic_time() - t0) / 1000;
}

static void check_sigterm_exit(SFixture *f)
{
    gint64 t0 = g_get_monotonic_time();
    gint64 ms;
    int status;

    g_assert_cmpint(kill(qtest_pid(f->t.qts), SIGTERM), ==, 0);
    status = qtest_wait_exit(f->t.qts);
    ms = (g_get_monotonic_time() - t0) / 1000;
    g_test_message("exit %" G_GINT64_FORMAT " ms after SIGTERM", ms);
    g_assert_cmpint(status, ==, 0);
    g_assert_cmpint(ms, <, EXIT_BOUND_MS);
}

static void test_stall(gconstpointer data)
{
    const Stall *s = data;
    gint64 worst = 0;
    SFixture f;

    sfix_start(&f, s->how);
    stall_at(&f, s);
    for (unsigned i = 0; i < QMP_ROUNDS; i++) {
        gint64 ms = timed_query(&f, queries[i % G_N_ELEMENTS(queries)]);

        worst = MAX(worst, ms);
        g_usleep(20 * 1000);
    }
    g_test_message("QMP: slowest answer %" G_GINT64_FORMAT " ms", worst);
    g_assert_cmpint(worst, <, QMP_BOUND_MS);
    assert_still_waiting(&f, s);
    check_sigterm_exit(&f);
    sfix_free_exited(&f);
}

/* The requests of a reconnect that wait for an answer, in the order
 * kvmini sends them: the handshake, then the restart of the rings
 * (DRIVER_OK is set).  The test backend offers REPLY_ACK,
 * CONFIGURE_MEM_SLOTS and INFLIGHT_SHMFD (the region kvmini keeps over a
 * reconnect goes back with SET_INFLIGHT_FD, which has no reply). */
static const struct {
    const char *name;
    uint32_t request;
} reconnect_requests[] = {
    { "get-features", VHOST_USER_GET_FEATURES },
    { "get-protocol-features", VHOST_USER_GET_PROTOCOL_FEATURES },
    { "get-queue-num", VHOST_USER_GET_QUEUE_NUM },
    { "get-max-mem-slots", VHOST_USER_GET_MAX_MEM_SLOTS },
    { "set-backend-req-fd", VHOST_USER_SET_BACKEND_REQ_FD },
    { "get-config", VHOST_USER_GET_CONFIG },
    { "add-mem-reg", VHOST_USER_ADD_MEM_REG },
    { "set-vring-addr", VHOST_USER_SET_VRING_ADDR },
    { "set-status", VHOST_USER_SET_STATUS },
};

static void add_reconnect_cases(const char *mode, StallHow how)
{
    for (unsigned i = 0; i < G_N_ELEMENTS(reconnect_requests); i++) {
        g_autofree char *path = g_strdup_printf("/backend-stall/%s/%s", mode,
                                                reconnect_requests[i].name);
        Stall *s = g_new(Stall, 1);

        *s = (Stall) { how, reconnect_requests[i].request };
        g_test_add_data_func_full(path, s, test_stall, g_free);
    }
}

int main(int argc, char **argv)
{
    static const Stall config = {
        STALL_CONFIG_CHANGE, VHOST_USER_GET_CONFIG,
    };
    static const Stall cut = { STALL_CHANNEL_CUT, 0 };

    g_test_init(&argc, &argv, NULL);
    add_reconnect_cases("redial", STALL_REDIAL);
    add_reconnect_cases("reaccept", STALL_REACCEPT);
    g_test_add_data_func("/backend-stall/config-change", &config,
                         test_stall);
    g_test_add_data_func("/backend-stall/channel-cut-short", &cut,
                         test_stall);
    return g_test_run();
}
