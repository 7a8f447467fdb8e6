/* SPDX-License-Identifier: MIT */
/*
 * Migration between two kvmini processes under -accel qtest (no vCPU: the
 * test itself writes guest memory, as a guest would): save to a file and
 * restore (also of a paused guest); live migration over a unix socket
 * while the test keeps writing, with every page compared afterwards; fd:
 * migration with descriptors passed by getfd (SCM_RIGHTS on a second
 * monitor) and -incoming defer; migrate_cancel and a destination killed
 * mid-way, after which the source runs on.  Capabilities, parameters and
 * refusals are in migration-options-test.c; the fixture and helpers in
 * migration-vm.c.  Under qtest there are no vCPUs, so the vCPU state
 * section is empty; tests/functional/migration-test.c migrates a real
 * guest under KVM.
 */
#include "migration-vm.h"

#include <inttypes.h>
#include <signal.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#define CHUNK        (64 * 1024)
#define WORKING_SET  32                 /* chunks rewritten by the live test */
#define WORK_BASE    (8 * MIB)

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
    return g_test_run();
}
