/* SPDX-License-Identifier: MIT */
/*
 * Migration between two kvmini processes under -accel qtest (no vCPU: the
 * test itself writes guest memory, as a guest would): save to a file and
 * restore; live migration over a unix socket while the test keeps
 * writing, with every page compared afterwards; fd: migration with
 * descriptors passed by getfd (SCM_RIGHTS on a second monitor) and
 * -incoming defer; migrate_cancel and a destination killed mid-way, after
 * which the source runs on; a destination with a different -m or a
 * corrupt stream refusing with a clear error; query-migrate's fields and
 * the parameters.  Under qtest there are no vCPUs, so the vCPU state
 * section is empty; tests/functional/migration-test.c migrates a real
 * guest under KVM.
 */
#include <inttypes.h>
#include <signal.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>
#include <glib/gstdio.h>

#include "libqmp.h"
#include "libqtest.h"

#define RAM_SIZE     (64ULL << 20)
#define MIB          (1ULL << 20)
#define CHUNK        (64 * 1024)
#define WORKING_SET  32                 /* chunks rewritten by the live test */
#define WORK_BASE    (8 * MIB)
#define MIG_TIMEOUT_MS 60000

typedef struct Vm {
    QTestState *qts;
    QmpClient *qmp;
    char *qmp_path;
    char *fd_path;                      /* second monitor, for getfd */
} Vm;

typedef struct Fixture {
    char *dir;
    Vm src, dst;
} Fixture;

static char *fixture_path(Fixture *f, const char *name)
{
    return g_build_filename(f->dir, name, NULL);
}

static void fixture_init(Fixture *f)
{
    g_autoptr(GError) err = NULL;

    memset(f, 0, sizeof(*f));
    f->dir = g_dir_make_tmp("migration-test-XXXXXX", &err);
    g_assert_no_error(err);
}

/* kvmini with two monitors (libqmp's and one for passing fds). */
static void vm_start(Fixture *f, Vm *vm, const char *name, const char *extra)
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

static void vm_stop(Vm *vm, int want_status)
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

static void fixture_free(Fixture *f)
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

static JsonObject *obj(JsonNode *n)
{
    g_assert_true(JSON_NODE_HOLDS_OBJECT(n));
    return json_node_get_object(n);
}

/* --- QMP helpers -------------------------------------------------------- */

static void cmd_ok(Vm *vm, const char *json)
{
    json_node_unref(qmp_cmd_ok(vm->qmp, "%s", json));
}

static void migrate(Vm *vm, const char *uri)
{
    json_node_unref(qmp_cmd_ok(vm->qmp, "{\"execute\": \"migrate\", "
                               "\"arguments\": {\"uri\": \"%s\"}}", uri));
}

static void set_params(Vm *vm, int64_t downtime_ms, int64_t bandwidth)
{
    json_node_unref(qmp_cmd_ok(vm->qmp, "{\"execute\": "
        "\"migrate-set-parameters\", \"arguments\": {\"downtime-limit\": %"
        PRId64 ", \"max-bandwidth\": %" PRId64 "}}", downtime_ms,
        bandwidth));
}

/* query-migrate's return value; caller unrefs. */
static JsonNode *query_migrate(Vm *vm)
{
    return qmp_cmd_ok(vm->qmp, "{\"execute\": \"query-migrate\"}");
}

/* Poll until the status is want (libqmp fails the test on another
 * final status). */
static void wait_status(Vm *vm, const char *want)
{
    json_node_unref(qmp_wait_migration_status(vm->qmp, want,
                                              MIG_TIMEOUT_MS));
}

static int64_t ram_stat(JsonNode *r, const char *name)
{
    JsonObject *ram = json_object_get_object_member(obj(r), "ram");

    g_assert_nonnull(ram);
    g_assert_true(json_object_has_member(ram, name));
    return json_object_get_int_member(ram, name);
}

static void check_run_status(Vm *vm, const char *want)
{
    g_autoptr(JsonNode) r = qmp_cmd_ok(vm->qmp, "{\"execute\": "
                                       "\"query-status\"}");

    g_assert_cmpstr(json_object_get_string_member(obj(r), "status"), ==,
                    want);
}

/* The MIGRATION statuses received so far, comma separated. */
static char *event_statuses(Vm *vm)
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

static void fill_random(Vm *vm, uint64_t addr, uint64_t len, uint32_t seed)
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

/* Every MiB of RAM on both sides equal, except [skip, skip + skip_len). */
static void assert_same_ram(Vm *a, Vm *b, uint64_t skip, uint64_t skip_len)
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

/* --- save to a file and restore ------------------------------------------ */

static void check_completed_info(Vm *vm, uint64_t min_normal)
{
    g_autoptr(JsonNode) r = query_migrate(vm);
    JsonObject *o = obj(r);

    g_assert_cmpstr(json_object_get_string_member(o, "status"), ==,
                    "completed");
    g_assert_true(json_object_has_member(o, "total-time"));
    g_assert_true(json_object_has_member(o, "downtime"));
    g_assert_true(json_object_has_member(o, "setup-time"));
    g_assert_cmpint(json_object_get_int_member(o, "downtime"), <=,
                    json_object_get_int_member(o, "total-time"));
    g_assert_cmpint(ram_stat(r, "total"), ==, RAM_SIZE);
    g_assert_cmpint(ram_stat(r, "remaining"), ==, 0);
    g_assert_cmpint(ram_stat(r, "normal"), >=, min_normal);
    g_assert_cmpint(ram_stat(r, "normal-bytes"), ==,
                    ram_stat(r, "normal") * 4096);
    g_assert_cmpint(ram_stat(r, "duplicate") + ram_stat(r, "normal"), >=,
                    RAM_SIZE / 4096);
    g_assert_cmpint(ram_stat(r, "transferred"), >=,
                    ram_stat(r, "normal-bytes"));
    g_assert_cmpint(ram_stat(r, "dirty-sync-count"), >=, 1);
    ram_stat(r, "pages-per-second");
    g_assert_true(json_object_has_member(
        json_object_get_object_member(o, "ram"), "mbps"));
}

static void test_file(void)
{
    Fixture f;
    g_autofree char *img = NULL;
    g_autofree char *dst_args = NULL;
    g_autofree char *events = NULL;

    fixture_init(&f);
    img = fixture_path(&f, "state.img");
    vm_start(&f, &f.src, "src", NULL);
    fill_random(&f.src, 1 * MIB, 2 * MIB, 1);
    qtest_writeq(f.src.qts, RAM_SIZE - 8, 0x0123456789abcdefULL);
    qtest_memset(f.src.qts, 40 * MIB, 0, 4096);    /* zero, written */
    g_autofree char *uri = g_strdup_printf("file:%s", img);
    migrate(&f.src, uri);
    wait_status(&f.src, "completed");
    events = event_statuses(&f.src);
    g_assert_cmpstr(events, ==, "setup,active,device,completed");
    check_completed_info(&f.src, 2 * MIB / 4096);
    check_run_status(&f.src, "postmigrate");

    dst_args = g_strdup_printf("-incoming file:%s", img);
    vm_start(&f, &f.dst, "dst", dst_args);
    wait_status(&f.dst, "completed");
    check_run_status(&f.dst, "running");
    g_assert_cmphex(qtest_readq(f.dst.qts, RAM_SIZE - 8), ==,
                    0x0123456789abcdefULL);
    assert_same_ram(&f.src, &f.dst, 0, 0);
    vm_stop(&f.src, 0);
    vm_stop(&f.dst, 0);
    fixture_free(&f);
}

/* A guest paused before the migration stays paused on the destination;
 * `cont` on a destination still waiting for its stream starts nothing. */
static void test_paused(void)
{
    Fixture f;
    g_autofree char *img = NULL, *uri = NULL;

    fixture_init(&f);
    img = fixture_path(&f, "paused.img");
    uri = g_strdup_printf("file:%s", img);
    vm_start(&f, &f.src, "src", NULL);
    cmd_ok(&f.src, "{\"execute\": \"stop\"}");
    migrate(&f.src, uri);
    wait_status(&f.src, "completed");
    check_run_status(&f.src, "postmigrate");
    vm_start(&f, &f.dst, "dst", "-incoming defer");
    cmd_ok(&f.dst, "{\"execute\": \"cont\"}");
    check_run_status(&f.dst, "inmigrate");
    json_node_unref(qmp_cmd_ok(f.dst.qmp, "{\"execute\": "
                               "\"migrate-incoming\", \"arguments\": "
                               "{\"uri\": \"%s\"}}", uri));
    wait_status(&f.dst, "completed");
    check_run_status(&f.dst, "paused");
    cmd_ok(&f.dst, "{\"execute\": \"cont\"}");
    check_run_status(&f.dst, "running");
    vm_stop(&f.src, 0);
    vm_stop(&f.dst, 0);
    fixture_free(&f);
}

/* --- live over a unix socket --------------------------------------------- */

typedef struct LiveWriter {
    uint8_t shadow[WORKING_SET];        /* confirmed value of each chunk */
    int pending;                        /* chunk of an unconfirmed write */
    uint8_t pending_old, pending_new;
} LiveWriter;

/*
 * Rewrite chunks of the working set until the migration has synced its
 * dirty log `rounds` times.  A write is known to be before the switch-over
 * when query-migrate, answered after it, still says "active" (qtest and
 * QMP are served in order by the main loop, and the stop happens there);
 * if it does not, the last write may or may not have made it.
 */
static void live_write(Vm *src, LiveWriter *w, int64_t rounds)
{
    w->pending = -1;
    for (unsigned k = 0;; k++) {
        unsigned i = k % WORKING_SET;
        uint8_t v = (k & 0x7f) | 0x80;
        g_autoptr(JsonNode) r = NULL;

        qtest_memset(src->qts, WORK_BASE + (uint64_t)i * CHUNK, v, CHUNK);
        r = query_migrate(src);
        if (strcmp(json_object_get_string_member(obj(r), "status"),
                   "active")) {
            w->pending = i;
            w->pending_old = w->shadow[i];
            w->pending_new = v;
            return;
        }
        w->shadow[i] = v;
        if (ram_stat(r, "dirty-sync-count") >= rounds) {
            return;
        }
    }
}

static void check_pending_chunk(Fixture *f, LiveWriter *w)
{
    g_autofree uint8_t *buf = g_malloc(CHUNK);
    uint64_t addr = WORK_BASE + (uint64_t)w->pending * CHUNK;

    qtest_bufread(f->dst.qts, addr, buf, CHUNK);
    for (size_t i = 0; i < CHUNK; i++) {
        g_assert_true(buf[i] == buf[0]);
    }
    g_assert_true(buf[0] == w->pending_old || buf[0] == w->pending_new);
    g_test_message("the last write raced the switch-over: destination "
                   "has the %s value", buf[0] == w->pending_new ? "new"
                                                                : "old");
}

static void test_unix_live(void)
{
    Fixture f;
    LiveWriter w = { { 0 } };
    g_autofree char *sock = NULL, *uri = NULL, *dst_args = NULL;
    g_autoptr(JsonNode) r = NULL;

    fixture_init(&f);
    sock = fixture_path(&f, "mig.sock");
    uri = g_strdup_printf("unix:%s", sock);
    dst_args = g_strdup_printf("-incoming %s", uri);
    vm_start(&f, &f.src, "src", NULL);
    vm_start(&f, &f.dst, "dst", dst_args);
    check_run_status(&f.dst, "inmigrate");
    fill_random(&f.src, 1 * MIB, 4 * MIB, 2);
    /* Slow enough that every round outlasts many writes: no convergence
     * while the test writes. */
    set_params(&f.src, 1, 4 * MIB);
    migrate(&f.src, uri);
    live_write(&f.src, &w, 4);
    set_params(&f.src, 300, 1LL << 40);
    wait_status(&f.src, "completed");
    wait_status(&f.dst, "completed");
    r = query_migrate(&f.src);
    g_test_message("dirty-sync-count %" PRId64 ", transferred %" PRId64,
                   ram_stat(r, "dirty-sync-count"),
                   ram_stat(r, "transferred"));
    g_assert_cmpint(ram_stat(r, "dirty-sync-count"), >, 1);
    g_assert_cmpint(ram_stat(r, "transferred"), >, 4 * MIB);
    check_run_status(&f.dst, "running");
    if (w.pending >= 0) {
        check_pending_chunk(&f, &w);
        assert_same_ram(&f.src, &f.dst,
                        WORK_BASE + (uint64_t)w.pending * CHUNK, CHUNK);
    } else {
        assert_same_ram(&f.src, &f.dst, 0, 0);
    }
    vm_stop(&f.src, 0);
    vm_stop(&f.dst, 0);
    fixture_free(&f);
}

/* --- fd: with getfd, -incoming defer ------------------------------------- */

/* One line from a raw QMP connection (the reply to what was sent). */
static char *raw_read_line(int fd)
{
    GString *s = g_string_new("");
    char c;

    while (!strchr(s->str, '\n')) {
        g_assert_cmpint(read(fd, &c, 1), ==, 1);
        g_string_append_c(s, c);
    }
    return g_string_free(s, FALSE);
}

static int raw_qmp_connect(const char *path)
{
    struct sockaddr_un sa = { .sun_family = AF_UNIX };
    const char *caps = "{\"execute\": \"qmp_capabilities\"}";
    g_autofree char *greeting = NULL, *reply = NULL;
    int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);

    g_strlcpy(sa.sun_path, path, sizeof(sa.sun_path));
    g_assert_cmpint(connect(fd, (struct sockaddr *)&sa, sizeof(sa)), ==, 0);
    greeting = raw_read_line(fd);
    g_assert_cmpint(write(fd, caps, strlen(caps)), ==, strlen(caps));
    reply = raw_read_line(fd);
    g_assert_nonnull(strstr(reply, "\"return\""));
    return fd;
}

/* getfd on the second monitor (libqmp cannot pass fds): the descriptor
 * rides with the command as SCM_RIGHTS, as QEMU clients send it. */
static void send_fd(Vm *vm, const char *name, int fd)
{
    g_autofree char *cmd = g_strdup_printf(
        "{\"execute\": \"getfd\", \"arguments\": {\"fdname\": \"%s\"}}",
        name);
    char control[CMSG_SPACE(sizeof(int))] = { 0 };
    struct iovec iov = { .iov_base = cmd, .iov_len = strlen(cmd) };
    struct msghdr msg = { .msg_iov = &iov, .msg_iovlen = 1,
                          .msg_control = control,
                          .msg_controllen = sizeof(control) };
    struct cmsghdr *c = CMSG_FIRSTHDR(&msg);
    g_autofree char *reply = NULL;
    int conn = raw_qmp_connect(vm->fd_path);

    c->cmsg_level = SOL_SOCKET;
    c->cmsg_type = SCM_RIGHTS;
    c->cmsg_len = CMSG_LEN(sizeof(int));
    memcpy(CMSG_DATA(c), &fd, sizeof(int));
    g_assert_cmpint(sendmsg(conn, &msg, 0), ==, (ssize_t)strlen(cmd));
    reply = raw_read_line(conn);
    g_assert_nonnull(strstr(reply, "\"return\""));
    close(conn);
}

static void test_fd_defer(void)
{
    Fixture f;
    int sv[2];
    g_autoptr(JsonNode) r = NULL;

    fixture_init(&f);
    vm_start(&f, &f.src, "src", NULL);
    vm_start(&f, &f.dst, "dst", "-incoming defer");
    check_run_status(&f.dst, "inmigrate");
    r = qmp_cmd(f.src.qmp, "{\"execute\": \"getfd\", \"arguments\": "
                "{\"fdname\": \"x\"}}");
    g_assert_nonnull(strstr(qmp_expect_error(r, "GenericError"),
                            "No file descriptor supplied via SCM_RIGHTS"));
    fill_random(&f.src, 4 * MIB, 1 * MIB, 3);
    g_assert_cmpint(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), ==, 0);
    send_fd(&f.src, "mig", sv[0]);
    send_fd(&f.dst, "mig", sv[1]);
    close(sv[0]);
    close(sv[1]);
    cmd_ok(&f.dst, "{\"execute\": \"migrate-incoming\", \"arguments\": "
           "{\"uri\": \"fd:mig\"}}");
    migrate(&f.src, "fd:mig");
    wait_status(&f.src, "completed");
    wait_status(&f.dst, "completed");
    assert_same_ram(&f.src, &f.dst, 0, 0);
    vm_stop(&f.src, 0);
    vm_stop(&f.dst, 0);
    fixture_free(&f);
}

/* --- cancel, destination killed ------------------------------------------ */

/* A migration to a unix destination that takes ~16 s (16 MiB at 1 MiB/s),
 * once it has sent something. */
static void start_slow(Fixture *f)
{
    g_autofree char *sock = fixture_path(f, "slow.sock");
    g_autofree char *uri = g_strdup_printf("unix:%s", sock);
    g_autofree char *dst_args = g_strdup_printf("-incoming %s", uri);

    vm_start(f, &f->src, "src", NULL);
    vm_start(f, &f->dst, "dst", dst_args);
    fill_random(&f->src, 1 * MIB, 16 * MIB, 4);
    set_params(&f->src, 300, 1 * MIB);
    migrate(&f->src, uri);
    /* It sends something (fails the test if not within 10 s). */
    json_node_unref(qmp_wait_migration_ram(f->src.qmp, "normal", 1, NULL,
                                           10 * 1000));
}

/* The source still runs and its memory works; it can migrate again. */
static void check_source_runs_on(Fixture *f)
{
    g_autofree char *img = fixture_path(f, "again.img");
    g_autofree char *uri = g_strdup_printf("file:%s", img);

    check_run_status(&f->src, "running");
    qtest_writel(f->src.qts, 0x2000, 0xcafe);
    g_assert_cmphex(qtest_readl(f->src.qts, 0x2000), ==, 0xcafe);
    set_params(&f->src, 300, 1LL << 40);
    migrate(&f->src, uri);
    wait_status(&f->src, "completed");
}

static void test_cancel(void)
{
    Fixture f;
    g_autofree char *events = NULL;

    fixture_init(&f);
    start_slow(&f);
    cmd_ok(&f.src, "{\"execute\": \"migrate_cancel\"}");
    wait_status(&f.src, "cancelled");
    events = event_statuses(&f.src);
    g_assert_cmpstr(events, ==, "setup,active,cancelling,cancelled");
    /* The destination saw a stream end early: it fails and exits 1. */
    g_assert_cmpint(qtest_wait_exit(f.dst.qts), ==, 1);
    vm_stop(&f.dst, 1);
    check_source_runs_on(&f);
    vm_stop(&f.src, 0);
    fixture_free(&f);
}

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

static void test_destination_killed(void)
{
    Fixture f;
    g_autoptr(JsonNode) r = NULL;

    fixture_init(&f);
    start_slow(&f);
    kill(qtest_pid(f.dst.qts), SIGKILL);
    vm_stop(&f.dst, 128 + SIGKILL);
    r = qmp_wait_migration_status(f.src.qmp, "failed", MIG_TIMEOUT_MS);
    g_assert_nonnull(strstr(json_object_get_string_member(obj(r),
                                                          "error-desc"),
                            "Unable to write"));
    check_source_runs_on(&f);
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
    g_test_add_func("/migration/file", test_file);
    g_test_add_func("/migration/paused", test_paused);
    g_test_add_func("/migration/unix-live", test_unix_live);
    g_test_add_func("/migration/fd-defer", test_fd_defer);
    g_test_add_func("/migration/cancel", test_cancel);
    g_test_add_func("/migration/destination-killed",
                    test_destination_killed);
    g_test_add_func("/migration/config-mismatch", test_config_mismatch);
    g_test_add_func("/migration/bad-stream", test_bad_stream);
    g_test_add_func("/migration/parameters", test_parameters);
    g_test_add_func("/migration/capabilities", test_capabilities);
    g_test_add_func("/migration/pause-before-switchover",
                    test_pause_before_switchover);
    g_test_add_func("/migration/cancel-pre-switchover",
                    test_cancel_pre_switchover);
    g_test_add_func("/migration/bad-uri", test_bad_uri);
    return g_test_run();
}
