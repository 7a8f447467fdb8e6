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
 * downtime limit is raised); two vCPUs; save to a file and restore; a
 * pc-dimm plugged on the source while the migration runs, which the
 * guest then dirties (the destination creates the same dimm from the
 * stream); device_del and device_add of other devices refused while a
 * migration runs.
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

/* How a side runs the guest; NULL members take the defaults. */
typedef struct GuestOpts {
    const char *mem;            /* -m (128M) */
    const char *smp;            /* -smp (1) */
    const char *append;         /* after test=dirty */
    const char *extra;          /* more options, split at spaces */
} GuestOpts;

/* kvmini running test=dirty as o says, waiting for a migration stream
 * on incoming if given. */
static void side_start(MigFixture *f, Side *s, const char *name,
                       const GuestOpts *o, const char *incoming)
{
    g_autofree char *qname = g_strdup_printf("%s-qmp.sock", name);
    g_autofree char *qmp = NULL;
    g_autofree char *full = g_strdup_printf("test=dirty %s",
                                            o->append ? o->append : "");
    g_auto(GStrv) extra = g_strsplit(o->extra ? o->extra : "", " ", -1);
    g_autoptr(GPtrArray) argv = g_ptr_array_new();

    s->qmp_path = fix_path(f, qname);
    qmp = g_strdup_printf("unix:%s,server=on,wait=off", s->qmp_path);
    const char *base[] = {
        kvmini_binary(), "-m", o->mem ? o->mem : "128M", "-kernel",
        guest_elf(), "-serial", "stdio", "-qmp", qmp, "-append", full,
        "-smp", o->smp ? o->smp : "1", NULL };

    for (unsigned i = 0; base[i]; i++) {
        g_ptr_array_add(argv, (gpointer)base[i]);
    }
    for (char **e = extra; *e; e++) {
        if (**e) {
            g_ptr_array_add(argv, *e);
        }
    }
    if (incoming) {
        g_ptr_array_add(argv, "-incoming");
        g_ptr_array_add(argv, (gpointer)incoming);
    }
    g_ptr_array_add(argv, NULL);
    peer_start(&s->vm, (const char *const *)argv->pdata, s->qmp_path);
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

/* query-migrate on s, which must say active; caller unrefs. */
static JsonNode *query_active(Side *s)
{
    JsonNode *r = qmp_cmd_ok(s->qmp, "{\"execute\": \"query-migrate\"}");

    g_assert_cmpstr(json_object_get_string_member(obj(r), "status"), ==,
                    "active");
    return r;
}

/* Wait until the source has synced its dirty log at least n times; the
 * migration must stay active meanwhile.  Returns the count reached. */
static int64_t wait_sync_count(Side *s, int64_t n)
{
    g_autoptr(JsonNode) q = qmp_wait_migration_ram(s->qmp,
        "dirty-sync-count", n, "active", TIMEOUT * 1000);

    return ram_stat(q, "dirty-sync-count");
}

static void report(JsonNode *r)
{
    test_log("total %" G_GINT64_FORMAT " ms, downtime %"
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
    test_log("destination: %s", r.out);
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
    const GuestOpts o = { .smp = smp, .append = "dirty_iters=40" };

    if (!fixture_init(&f)) {
        return;
    }
    sock = fix_path(&f, "mig.sock");
    uri = g_strdup_printf("unix:%s", sock);
    side_start(&f, &f.dst, "dst", &o, uri);
    side_start(&f, &f.src, "src", &o, NULL);
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
    const GuestOpts o = { .append = "dirty_iters=150 dirty_pages=512 "
                                    "dirty_sleep_us=5000" };
    g_autoptr(JsonNode) r = NULL;

    if (!fixture_init(&f)) {
        return;
    }
    sock = fix_path(&f, "mig.sock");
    uri = g_strdup_printf("unix:%s", sock);
    side_start(&f, &f.dst, "dst", &o, uri);
    side_start(&f, &f.src, "src", &o, NULL);
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
    const GuestOpts o = { .append = "dirty_iters=40" };

    if (!fixture_init(&f)) {
        return;
    }
    img = fix_path(&f, "state.img");
    uri = g_strdup_printf("file:%s", img);
    side_start(&f, &f.src, "src", &o, NULL);
    g_assert_true(peer_wait_output(&f.src.vm, "dirty: round 10", TIMEOUT));
    migrate(&f.src, uri);
    r = wait_status(&f.src, "completed");
    report(r);
    side_start(&f, &f.dst, "dst", &o, uri);
    check_finished_on_destination(&f);
    fixture_free(&f);
}

/* --- memory hotplug during a migration ----------------------------------- */

#define HOTPLUG_MEM      "128M,slots=2,maxmem=1G"
#define DIMM_ADDR        0x100000000LL  /* hotplug area of a 128M machine */
#define DIMM_SIZE        (256LL << 20)
/*
 * The guest's RAM is almost all zero: its first pass is ~370 KB, which
 * at any usual limit goes out in one 100 ms window, and an idle guest
 * then converges at once.  This limit keeps the first pass running for
 * seconds, long enough to change devices while the migration is active.
 */
#define CRAWL_BANDWIDTH  (64 << 10)

static void plug_dimm(Side *s, const char *dimm, const char *mem,
                      int64_t size)
{
    json_node_unref(qmp_cmd_ok(s->qmp, "{\"execute\": \"object-add\", "
                               "\"arguments\": {\"qom-type\": "
                               "\"memory-backend-memfd\", \"id\": \"%s\", "
                               "\"size\": %" G_GINT64_FORMAT "}}", mem,
                               size));
    json_node_unref(qmp_cmd_ok(s->qmp, "{\"execute\": \"device_add\", "
                               "\"arguments\": {\"driver\": \"pc-dimm\", "
                               "\"id\": \"%s\", \"memdev\": \"%s\"}}", dimm,
                               mem));
}

/* query-memory-devices lists exactly one dimm, id at addr. */
static void check_one_dimm(Side *s, const char *id, int64_t addr,
                           int64_t size, const char *memdev)
{
    g_autoptr(JsonNode) list = qmp_cmd_ok(
        s->qmp, "{\"execute\": \"query-memory-devices\"}");
    JsonArray *a = json_node_get_array(list);
    JsonObject *dev, *data;

    g_assert_cmpuint(json_array_get_length(a), ==, 1);
    dev = json_array_get_object_element(a, 0);
    g_assert_cmpstr(json_object_get_string_member(dev, "type"), ==, "dimm");
    data = json_object_get_object_member(dev, "data");
    g_assert_cmpstr(json_object_get_string_member(data, "id"), ==, id);
    g_assert_cmpint(json_object_get_int_member(data, "addr"), ==, addr);
    g_assert_cmpint(json_object_get_int_member(data, "size"), ==, size);
    g_assert_cmpstr(json_object_get_string_member(data, "memdev"), ==,
                    memdev);
}

/* Both sides as o says; once the source guest printed ready, migrate
 * from src to dst at CRAWL_BANDWIDTH.  Returns false to skip. */
static bool crawl_start(MigFixture *f, const GuestOpts *o,
                        const char *ready)
{
    g_autofree char *sock = NULL, *uri = NULL;

    if (!fixture_init(f)) {
        return false;
    }
    sock = fix_path(f, "mig.sock");
    uri = g_strdup_printf("unix:%s", sock);
    side_start(f, &f->dst, "dst", o, uri);
    side_start(f, &f->src, "src", o, NULL);
    g_assert_true(peer_wait_output(&f->src.vm, ready, TIMEOUT));
    set_params(&f->src, 1, CRAWL_BANDWIDTH);
    migrate(&f->src, uri);
    json_node_unref(wait_status(&f->src, "active"));
    return true;
}

/*
 * The guest waits for memory at 4 GiB; a pc-dimm is plugged there on the
 * source while the migration runs, and the guest dirties it faster than
 * the limit lets the rounds send it.  The stream carries the dimm: the
 * destination plugs the same one, and the guest finishes there with
 * every page it wrote on the source in place.
 */
static void test_hotplug_dimm(void)
{
    MigFixture f;
    const GuestOpts o = {
        .mem = HOTPLUG_MEM,
        .append = "dirty_hotplug=1 dirty_base=0x100000000 dirty_pages=256 "
                  "dirty_iters=80 dirty_sleep_us=5000" };
    g_autoptr(JsonNode) q = NULL;
    g_autoptr(JsonNode) r = NULL;
    int64_t rounds;

    if (!crawl_start(&f, &o, "test dirty: waiting for memory")) {
        return;
    }
    plug_dimm(&f.src, "dimm1", "mem1", DIMM_SIZE);
    /* The first pass may finish now; the guest dirties 1 MiB every
     * ~30 ms, more than a round sends at this limit. */
    set_params(&f.src, 1, 4 << 20);
    g_assert_true(peer_wait_output(&f.src.vm, "dirty: round 10", TIMEOUT));
    q = query_active(&f.src);
    rounds = wait_sync_count(&f.src, ram_stat(q, "dirty-sync-count") + 1);
    test_log("dirty-sync-count %" G_GINT64_FORMAT " after the plug",
                   rounds);
    set_params(&f.src, 2000, 1LL << 40);
    r = wait_status(&f.src, "completed");
    report(r);
    g_assert_cmpint(ram_stat(r, "total"), ==, (128LL << 20) + DIMM_SIZE);
    json_node_unref(wait_status(&f.dst, "completed"));
    /* At once: the guest is still running its rounds on the destination
     * and kvmini exits when it is done. */
    check_one_dimm(&f.dst, "dimm1", DIMM_ADDR, DIMM_SIZE, "/objects/mem1");
    check_one_dimm(&f.src, "dimm1", DIMM_ADDR, DIMM_SIZE, "/objects/mem1");
    check_finished_on_destination(&f);
    fixture_free(&f);
}

/* device_add of a device that is not memory and device_del of any
 * device are refused while a migration runs; it then completes. */
static void test_device_change_refused(void)
{
    MigFixture f;
    const GuestOpts o = {
        .mem = HOTPLUG_MEM, .append = "dirty_iters=100",
        .extra = "-object memory-backend-memfd,id=mem0,size=64M "
                 "-device pc-dimm,id=dimm0,memdev=mem0" };
    const char *refused[] = {
        "{\"execute\": \"device_del\", \"arguments\": {\"id\": \"dimm0\"}}",
        "{\"execute\": \"device_add\", \"arguments\": "
        "{\"driver\": \"virtio-net-device\", \"id\": \"net9\"}}",
    };
    g_autoptr(JsonNode) r = NULL;

    if (!crawl_start(&f, &o, "test dirty: started")) {
        return;
    }
    for (unsigned i = 0; i < G_N_ELEMENTS(refused); i++) {
        g_autoptr(JsonNode) e = qmp_cmd(f.src.qmp, "%s", refused[i]);
        const char *desc = qmp_expect_error(e, "GenericError");

        test_log("%s: %s", refused[i], desc);
        g_assert_nonnull(strstr(desc, "while a migration is running"));
    }
    json_node_unref(query_active(&f.src));
    check_one_dimm(&f.src, "dimm0", DIMM_ADDR, 64LL << 20, "/objects/mem0");
    set_params(&f.src, 2000, 1LL << 40);
    r = wait_status(&f.src, "completed");
    report(r);
    json_node_unref(wait_status(&f.dst, "completed"));
    check_one_dimm(&f.dst, "dimm0", DIMM_ADDR, 64LL << 20, "/objects/mem0");
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
    g_test_add_func("/migration/kvm/device-change-refused",
                    test_device_change_refused);
    g_test_add_func("/migration/kvm/hotplug-dimm", test_hotplug_dimm);
    return g_test_run();
}
