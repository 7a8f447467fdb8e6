/* SPDX-License-Identifier: MIT */
/*
 * Live migration of a real guest under KVM between two kvmini processes.
 * The test guest runs test=dirty: it rewrites a pattern over 1 MiB, checks
 * the previous round's pattern before each rewrite and sleeps on the
 * LAPIC timer in between, so its memory, registers, LAPIC timer and
 * interrupt controllers must all arrive for it to finish on the
 * destination.  Covered: a plain unix: migration in mid-run; a
 * bandwidth-limited one where the guest dirties memory faster than a
 * round can send it (several dirty-log rounds, then convergence once the
 * downtime limit is raised); two vCPUs; save to a file and restore.
 */
#include "functional-common.h"
#include "libqmp.h"

#include <string.h>
#include <unistd.h>

#define TIMEOUT 120

typedef struct Side {
    Peer vm;
    char *qmp_path;
    QmpClient *qmp;
} Side;

typedef struct MigFixture {
    char *dir;
    Side src, dst;
} MigFixture;

static char *fix_path(MigFixture *f, const char *name)
{
    return g_build_filename(f->dir, name, NULL);
}

/* kvmini -m 128M -smp smp running test=dirty with append, waiting for
 * a migration stream on incoming if given. */
static void side_start(MigFixture *f, Side *s, const char *name,
                       const char *append, const char *smp,
                       const char *incoming)
{
    g_autofree char *qname = g_strdup_printf("%s-qmp.sock", name);
    g_autofree char *qmp = NULL;
    g_autofree char *full = g_strdup_printf("test=dirty %s", append);

    s->qmp_path = fix_path(f, qname);
    qmp = g_strdup_printf("unix:%s,server=on,wait=off", s->qmp_path);
    const char *argv[] = {
        kvmini_binary(), "-m", "128M", "-kernel", guest_elf(), "-serial",
        "stdio", "-qmp", qmp, "-append", full, "-smp", smp,
        incoming ? "-incoming" : NULL, incoming, NULL };

    peer_start(&s->vm, argv, s->qmp_path);
    s->qmp = qmp_connect(s->qmp_path);
    qmp_negotiate(s->qmp);
}

static void side_stop(Side *s)
{
    if (s->qmp) {
        qmp_close(s->qmp);
        s->qmp = NULL;
    }
    if (s->vm.pid) {
        peer_stop(&s->vm);
    }
    g_free(s->qmp_path);
}

static bool fixture_init(MigFixture *f)
{
    memset(f, 0, sizeof(*f));
    if (!require_kvm()) {
        return false;
    }
    f->dir = tmpdir_new();
    return true;
}

static void fixture_free(MigFixture *f)
{
    side_stop(&f->src);
    side_stop(&f->dst);
    tmpdir_remove(f->dir);
    g_free(f->dir);
}

static JsonObject *obj(JsonNode *n)
{
    g_assert_true(JSON_NODE_HOLDS_OBJECT(n));
    return json_node_get_object(n);
}

static void migrate(Side *s, const char *uri)
{
    json_node_unref(qmp_cmd_ok(s->qmp, "{\"execute\": \"migrate\", "
                               "\"arguments\": {\"uri\": \"%s\"}}", uri));
}

static void set_params(Side *s, int64_t downtime_ms, int64_t bandwidth)
{
    json_node_unref(qmp_cmd_ok(s->qmp, "{\"execute\": "
        "\"migrate-set-parameters\", \"arguments\": {\"downtime-limit\": %"
        G_GINT64_FORMAT ", \"max-bandwidth\": %" G_GINT64_FORMAT "}}",
        downtime_ms, bandwidth));
}

/* query-migrate once status is want (libqmp polls, and fails the test
 * on another final status); caller unrefs. */
static JsonNode *wait_status(Side *s, const char *want)
{
    return qmp_wait_migration_status(s->qmp, want, TIMEOUT * 1000);
}

static int64_t ram_stat(JsonNode *r, const char *name)
{
    return json_object_get_int_member(
        json_object_get_object_member(obj(r), "ram"), name);
}

/* Wait until the source has synced its dirty log at least n times; the
 * migration must stay active meanwhile.  Returns the count reached. */
static int64_t wait_sync_count(Side *s, int64_t n)
{
    for (int i = 0; i < TIMEOUT * 100; i++) {
        g_autoptr(JsonNode) q = qmp_cmd_ok(s->qmp, "{\"execute\": "
                                           "\"query-migrate\"}");
        int64_t count;

        g_assert_cmpstr(json_object_get_string_member(obj(q), "status"),
                        ==, "active");
        count = ram_stat(q, "dirty-sync-count");
        if (count >= n) {
            return count;
        }
        g_usleep(10 * 1000);
    }
    g_error("dirty-sync-count stays below %" G_GINT64_FORMAT, n);
}

static void report(JsonNode *r)
{
    g_test_message("total %" G_GINT64_FORMAT " ms, downtime %"
                   G_GINT64_FORMAT " ms, %" G_GINT64_FORMAT " rounds, %"
                   G_GINT64_FORMAT " bytes",
                   json_object_get_int_member(obj(r), "total-time"),
                   json_object_get_int_member(obj(r), "downtime"),
                   ram_stat(r, "dirty-sync-count"),
                   ram_stat(r, "transferred"));
}

/* The guest finished on the destination with every check passing, and
 * not on the source (paused after the switch-over). */
static void check_finished_on_destination(MigFixture *f)
{
    g_autofree char *src_log = NULL;
    g_autoptr(JsonNode) st = qmp_cmd_ok(f->src.qmp, "{\"execute\": "
                                        "\"query-status\"}");
    RunResult r = { 0 };

    g_assert_cmpstr(json_object_get_string_member(obj(st), "status"), ==,
                    "postmigrate");
    qmp_close(f->dst.qmp);
    f->dst.qmp = NULL;
    peer_wait_exit(&f->dst.vm, TIMEOUT, &r);
    g_test_message("destination: %s", r.out);
    g_assert_nonnull(strstr(r.out, "test dirty: PASS"));
    g_assert_cmpint(r.status, ==, 0);
    run_result_clear(&r);
    g_assert_true(g_file_get_contents(f->src.vm.log_path, &src_log, NULL,
                                      NULL));
    g_assert_null(strstr(src_log, "test dirty: PASS"));
}

static void live(const char *smp)
{
    MigFixture f;
    g_autofree char *sock = NULL, *uri = NULL;
    g_autoptr(JsonNode) r = NULL;

    if (!fixture_init(&f)) {
        return;
    }
    sock = fix_path(&f, "mig.sock");
    uri = g_strdup_printf("unix:%s", sock);
    side_start(&f, &f.dst, "dst", "dirty_iters=40", smp, uri);
    side_start(&f, &f.src, "src", "dirty_iters=40", smp, NULL);
    g_assert_true(peer_wait_output(&f.src.vm, "dirty: round 10", TIMEOUT));
    migrate(&f.src, uri);
    r = wait_status(&f.src, "completed");
    report(r);
    check_finished_on_destination(&f);
    fixture_free(&f);
}

static void test_live(void)
{
    live("1");
}

static void test_live_smp2(void)
{
    live("2");
}

/* The guest rewrites 2 MiB every ~20 ms; at 4 MiB/s a round cannot keep
 * up, so the source iterates until the downtime limit is raised. */
static void test_dirtying(void)
{
    MigFixture f;
    g_autofree char *sock = NULL, *uri = NULL;
    const char *append = "dirty_iters=150 dirty_pages=512 "
                         "dirty_sleep_us=5000";
    g_autoptr(JsonNode) r = NULL;

    if (!fixture_init(&f)) {
        return;
    }
    sock = fix_path(&f, "mig.sock");
    uri = g_strdup_printf("unix:%s", sock);
    side_start(&f, &f.dst, "dst", append, "1", uri);
    side_start(&f, &f.src, "src", append, "1", NULL);
    g_assert_true(peer_wait_output(&f.src.vm, "dirty: round 10", TIMEOUT));
    set_params(&f.src, 1, 4 << 20);
    migrate(&f.src, uri);
    wait_sync_count(&f.src, 3);
    set_params(&f.src, 2000, 1LL << 40);
    r = wait_status(&f.src, "completed");
    report(r);
    g_assert_cmpint(ram_stat(r, "dirty-sync-count"), >=, 3);
    check_finished_on_destination(&f);
    fixture_free(&f);
}

/* Save a running guest to a file; a new kvmini restores it and the guest
 * finishes there. */
static void test_file(void)
{
    MigFixture f;
    g_autofree char *img = NULL, *uri = NULL;
    g_autoptr(JsonNode) r = NULL;

    if (!fixture_init(&f)) {
        return;
    }
    img = fix_path(&f, "state.img");
    uri = g_strdup_printf("file:%s", img);
    side_start(&f, &f.src, "src", "dirty_iters=40", "1", NULL);
    g_assert_true(peer_wait_output(&f.src.vm, "dirty: round 10", TIMEOUT));
    migrate(&f.src, uri);
    r = wait_status(&f.src, "completed");
    report(r);
    side_start(&f, &f.dst, "dst", "dirty_iters=40", "1", uri);
    check_finished_on_destination(&f);
    fixture_free(&f);
}

int main(int argc, char **argv)
{
    g_test_init(&argc, &argv, NULL);
    g_test_add_func("/migration/kvm/live", test_live);
    g_test_add_func("/migration/kvm/live-smp2", test_live_smp2);
    g_test_add_func("/migration/kvm/dirtying", test_dirtying);
    g_test_add_func("/migration/kvm/file", test_file);
    return g_test_run();
}
