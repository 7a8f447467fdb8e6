/* SPDX-License-Identifier: MIT */
/*
 * Memory hotplug with tap + vhost-net: a pc-dimm plugged through QMP into
 * a running kvmini whose guest exchanges frames (test=net) with a macswap
 * reflector on the tap (tap-reflector.h), in a private network namespace.
 * Where the host has no /dev/vhost-net kvmini runs under the stand-in
 * (tests/vhost-standin), whose trace shows the memory table kvmini hands
 * the kernel: after the plug, a new SET_MEM_TABLE with one region more
 * (or a merged larger one) covering the dimm, after the unplug one
 * without it.  The guest must still get every frame back.
 *
 * The kernel's vhost takes at most max_mem_regions regions (a module
 * parameter, 64 by default); kvmini reads it from
 * /sys/module/vhost/parameters/max_mem_regions (64 when absent) and
 * must refuse a dimm that would need more, with a QMP error, rather than
 * have the kernel fail SET_MEM_TABLE under a running device.  64 cannot
 * be reached with dimms (kvmini has at most 32 slots, and boot RAM is one
 * or two regions), so the limit case states a smaller limit, as
 * `modprobe vhost max_mem_regions=3` would: this binary, run as
 * "--max-mem-regions N -- CMD...", puts kvmini in a mount namespace of
 * its own with a tmpfs on /sys/module holding that file.
 */
#include "functional-common.h"
#include "libqmp.h"
#include "netns.h"
#include "tap-reflector.h"

#include <errno.h>
#include <inttypes.h>
#include <sched.h>
#include <stdio.h>
#include <string.h>
#include <sys/mount.h>
#include <unistd.h>

#define TAP             "kvt0"
#define TIMEOUT         60
/* Several seconds of exchange here: the plugging happens during it. */
#define FRAMES          8000
#define DIMM_SIZE       (64ULL << 20)
#define LIMIT_REGIONS   3       /* boot RAM + 2 dimms */
#define MAX_REGIONS     70      /* parsed from one trace line */

static const char *self_path;

/* ---- the helper mode: a stated max_mem_regions ---- */

/* Run cmd with /sys/module/vhost/parameters/max_mem_regions = n, in a
 * mount namespace of its own (the host's /sys is not touched). */
static int exec_with_max_mem_regions(const char *n, char **cmd)
{
    const char *dir = "/sys/module/vhost/parameters";
    g_autofree char *text = g_strdup_printf("%s\n", n);

    if (unshare(CLONE_NEWNS) < 0 ||
        mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) < 0 ||
        mount("tmpfs", "/sys/module", "tmpfs", 0, "mode=0755") < 0 ||
        g_mkdir_with_parents(dir, 0755) < 0 ||
        !netns_write_file("/sys/module/vhost/parameters/max_mem_regions",
                          text)) {
        fprintf(stderr, "max_mem_regions=%s: %s\n", n, strerror(errno));
        return 125;
    }
    execvp(cmd[0], cmd);
    fprintf(stderr, "%s: %s\n", cmd[0], strerror(errno));
    return 127;
}

/* ---- the fixture ---- */

typedef struct TapHotplug {
    char *dir;
    char *trace;
    char *stats;
    TapReflector refl;
    Peer vm;
    QmpClient *qmp;
} TapHotplug;

/* kvmini with room for 4 dimms, tap + vhost-net (under the stand-in
 * where needed), QMP; max_regions > 0: the kernel's stated limit. */
static void vm_start(TapHotplug *f, unsigned max_regions)
{
    g_autofree char *qmp_sock = g_build_filename(f->dir, "qmp.sock", NULL);
    g_autofree char *qmp = g_strdup_printf("unix:%s,server=on,wait=off",
                                           qmp_sock);
    g_autofree char *append = g_strdup_printf(
        "test=net count=%d net_timeout_ms=10000 net_warmup_ms=100", FRAMES);
    g_autofree char *limit = g_strdup_printf("%u", max_regions);
    const char *kvmini[] = {
        kvmini_binary(), "-m", "64M,slots=4,maxmem=1G", "-kernel",
        guest_elf(), "-serial", "stdio", "-qmp", qmp,
        "-netdev", "tap,id=n0,ifname=" TAP ",script=no,downscript=no,"
        "vhost=on", "-device", "virtio-net-device,netdev=n0",
        "-append", append, NULL };
    g_auto(GStrv) cmd = vhost_net_command(kvmini, f->trace, f->stats);
    g_autoptr(GPtrArray) argv = g_ptr_array_new();

    if (max_regions) {
        const char *pre[] = { self_path, "--max-mem-regions", limit, "--" };

        for (size_t i = 0; i < G_N_ELEMENTS(pre); i++) {
            g_ptr_array_add(argv, (gpointer)pre[i]);
        }
    }
    for (size_t i = 0; cmd[i]; i++) {
        g_ptr_array_add(argv, cmd[i]);
    }
    g_ptr_array_add(argv, NULL);
    peer_start(&f->vm, (const char *const *)argv->pdata, qmp_sock);
    f->qmp = qmp_connect(qmp_sock);
    qmp_negotiate(f->qmp);
}

static bool hp_setup(TapHotplug *f, unsigned max_regions)
{
    if (!require_kvm() || !require_vhost_net() || !netns_enter_quiet()) {
        return false;
    }
    f->dir = tmpdir_new();
    f->trace = g_build_filename(f->dir, "trace", NULL);
    f->stats = g_build_filename(f->dir, "stats", NULL);
    tap_reflector_start(&f->refl, TAP);
    vm_start(f, max_regions);
    g_assert_true(peer_wait_output(&f->vm, "net: queues", 30));
    return true;
}

static void hp_teardown(TapHotplug *f)
{
    g_clear_pointer(&f->qmp, qmp_close);
    peer_stop(&f->vm);
    tap_reflector_stop(&f->refl);
    tmpdir_remove(f->dir);
    g_free(f->dir);
    g_free(f->trace);
    g_free(f->stats);
}

/* ---- QMP ---- */

static void qmp_add_memfd(QmpClient *c, const char *mem)
{
    json_node_unref(qmp_cmd_ok(c, "{\"execute\": \"object-add\", "
                               "\"arguments\": {\"qom-type\": "
                               "\"memory-backend-memfd\", \"id\": \"%s\", "
                               "\"size\": %llu}}", mem, DIMM_SIZE));
}

/* device_add of a pc-dimm on mem; the reply (caller unrefs). */
static JsonNode *qmp_add_dimm(QmpClient *c, const char *dimm, const char *mem)
{
    return qmp_cmd(c, "{\"execute\": \"device_add\", \"arguments\": "
                   "{\"driver\": \"pc-dimm\", \"id\": \"%s\", "
                   "\"memdev\": \"%s\"}}", dimm, mem);
}

static void qmp_plug(QmpClient *c, const char *dimm, const char *mem)
{
    g_autoptr(JsonNode) reply = NULL;

    qmp_add_memfd(c, mem);
    reply = qmp_add_dimm(c, dimm, mem);
    qmp_return(reply);              /* an error reply fails the test */
}

/* How many dimms are plugged; *addr gets the address of the one called
 * dimm (if it is there). */
static unsigned qmp_dimms(QmpClient *c, const char *dimm, uint64_t *addr)
{
    g_autoptr(JsonNode) list = qmp_cmd_ok(
        c, "{\"execute\": \"query-memory-devices\"}");
    JsonArray *a = json_node_get_array(list);

    for (unsigned i = 0; i < json_array_get_length(a); i++) {
        JsonObject *d = json_object_get_object_member(
            json_array_get_object_element(a, i), "data");

        if (!strcmp(json_object_get_string_member(d, "id"), dimm)) {
            *addr = (uint64_t)json_object_get_int_member(d, "addr");
        }
    }
    return json_array_get_length(a);
}

/* ---- the stand-in's memory tables ---- */

typedef struct MemTable {
    unsigned n;
    uint64_t gpa[MAX_REGIONS], size[MAX_REGIONS];
} MemTable;

/* One "dev1 SET_MEM_TABLE nregions=N [gpa=.. size=.. uaddr=..]... -> 0"
 * line. */
static void parse_mem_table(const char *line, MemTable *t)
{
    const char *p = strstr(line, "nregions=");

    g_assert_nonnull(p);
    t->n = (unsigned)g_ascii_strtoull(p + 9, NULL, 10);
    g_assert_cmpuint(t->n, <=, MAX_REGIONS);
    for (unsigned i = 0; i < t->n; i++) {
        p = strstr(p, "[gpa=");
        g_assert_nonnull(p);
        g_assert_cmpint(sscanf(p, "[gpa=0x%" SCNx64 " size=0x%" SCNx64,
                               &t->gpa[i], &t->size[i]), ==, 2);
        p++;
    }
}

/* How many memory tables the stand-in accepted so far; *last gets the
 * latest. */
static unsigned mem_tables(const char *trace_path, MemTable *last)
{
    g_autofree char *trace = NULL;
    g_auto(GStrv) lines = NULL;
    unsigned n = 0;

    if (!g_file_get_contents(trace_path, &trace, NULL, NULL)) {
        return 0;
    }
    lines = g_strsplit(trace, "\n", -1);
    for (char **l = lines; *l; l++) {
        if (g_str_has_prefix(*l, "dev1 SET_MEM_TABLE ") &&
            g_str_has_suffix(*l, " -> 0")) {
            parse_mem_table(*l, last);
            n++;
        }
    }
    return n;
}

/* Wait up to 5 s for the stand-in's trace to show `want` tables (the
 * line is written as the request is answered). */
static void wait_mem_tables(const char *trace_path, unsigned want,
                            MemTable *last)
{
    for (int i = 0; i < 500 && mem_tables(trace_path, last) < want; i++) {
        g_usleep(10000);
    }
    g_assert_cmpuint(mem_tables(trace_path, last), ==, want);
}

static bool table_covers(const MemTable *t, uint64_t gpa, uint64_t size)
{
    for (unsigned i = 0; i < t->n; i++) {
        if (t->gpa[i] <= gpa && gpa + size <= t->gpa[i] + t->size[i]) {
            return true;
        }
    }
    return false;
}

/* after is before plus [gpa, gpa+size): in one region more, or merged
 * into one of them. */
static void check_table_grew(const MemTable *before, const MemTable *after,
                             uint64_t gpa, uint64_t size)
{
    g_assert_cmpuint(after->n, >=, before->n);
    g_assert_cmpuint(after->n, <=, before->n + 1);
    g_assert_true(table_covers(after, gpa, size));
    for (unsigned i = 0; i < before->n; i++) {
        g_assert_true(table_covers(after, before->gpa[i], before->size[i]));
    }
}

/* Plug dimm on a new memfd mem; the stand-in (if used) gets a table with
 * the dimm in it.  Returns the dimm's address. */
static uint64_t plug_and_check(TapHotplug *f, const char *dimm,
                               const char *mem)
{
    MemTable before = { 0 }, after = { 0 };
    unsigned sent = mem_tables(f->trace, &before);
    uint64_t addr = 0;

    qmp_plug(f->qmp, dimm, mem);
    qmp_dimms(f->qmp, dimm, &addr);
    g_assert_cmphex(addr, !=, 0);
    test_log("%s at 0x%" PRIx64 ", 0x%llx bytes", dimm, addr, DIMM_SIZE);
    if (!vhost_net_is_real()) {
        g_assert_cmpuint(sent, >=, 1);
        wait_mem_tables(f->trace, sent + 1, &after);
        check_table_grew(&before, &after, addr, DIMM_SIZE);
    }
    return addr;
}

/* Unplug dimm; the stand-in (if used) gets the table without it. */
static void unplug_and_check(TapHotplug *f, const char *dimm, uint64_t addr)
{
    g_autoptr(JsonNode) ev = NULL;
    MemTable before = { 0 }, after = { 0 };
    unsigned sent = mem_tables(f->trace, &before);

    json_node_unref(qmp_cmd_ok(f->qmp, "{\"execute\": \"device_del\", "
                               "\"arguments\": {\"id\": \"%s\"}}", dimm));
    ev = qmp_wait_event(f->qmp, "DEVICE_DELETED", QMP_TIMEOUT_MS);
    g_assert_nonnull(ev);
    if (!vhost_net_is_real()) {
        wait_mem_tables(f->trace, sent + 1, &after);
        g_assert_cmpuint(after.n, ==, before.n - 1);
        g_assert_false(table_covers(&after, addr, DIMM_SIZE));
    }
}

/* ---- the guest ---- */

/* The guest finishes with every frame back, intact; the stand-in saw no
 * ring error. */
static void check_guest_passes(TapHotplug *f)
{
    g_autofree char *expect = g_strdup_printf(
        "net: sent %d, received %d, bad 0, missing 0", FRAMES, FRAMES);
    g_autofree char *stats = NULL;
    RunResult r = { 0 };

    g_clear_pointer(&f->qmp, qmp_close);
    peer_wait_exit(&f->vm, TIMEOUT, &r);
    g_assert_false(r.timed_out);
    g_assert_nonnull(strstr(r.out, expect));
    g_assert_nonnull(strstr(r.out, "test net: PASS"));
    g_assert_cmpint(r.status, ==, 0);
    run_result_clear(&r);
    test_log("reflected %" PRIu64 " frames", f->refl.reflected);
    if (!vhost_net_is_real()) {
        g_autofree char *trace = NULL;

        g_assert_true(g_file_get_contents(f->trace, &trace, NULL, NULL));
        g_assert_true(g_file_get_contents(f->stats, &stats, NULL, NULL));
        test_log("stand-in trace:\n%s\nstats:\n%s", trace, stats);
        g_assert_null(strstr(trace, "-> -"));
        g_assert_nonnull(strstr(stats, " vq_errors=0"));
    }
}

static bool guest_finished(TapHotplug *f)
{
    return peer_wait_output(&f->vm, "test net:", 0);
}

/* ---- the tests ---- */

/* One dimm plugged and unplugged while frames flow. */
static void test_plug_during_traffic(void)
{
    TapHotplug f = { 0 };
    uint64_t addr;

    if (!hp_setup(&f, 0)) {
        return;
    }
    addr = plug_and_check(&f, "dimm1", "mem1");
    g_assert_cmpuint(qmp_dimms(f.qmp, "dimm1", &(uint64_t){ 0 }), ==, 1);
    unplug_and_check(&f, "dimm1", addr);
    g_assert_cmpuint(qmp_dimms(f.qmp, "dimm1", &(uint64_t){ 0 }), ==, 0);
    /* Still exchanging: the plugging happened in the middle of it. */
    g_assert_false(guest_finished(&f));
    check_guest_passes(&f);
    hp_teardown(&f);
}

/* With the kernel's limit at 3 regions: boot RAM and two dimms fit, a
 * third dimm is refused with a QMP error naming the limit, nothing of it
 * reaches the kernel, and its memory backend can be deleted again. */
static void test_slot_limit(void)
{
    TapHotplug f = { 0 };
    g_autoptr(JsonNode) reply = NULL;
    MemTable last = { 0 };
    unsigned tables;
    const char *desc;

    if (!hp_setup(&f, LIMIT_REGIONS)) {
        return;
    }
    plug_and_check(&f, "dimm1", "mem1");
    plug_and_check(&f, "dimm2", "mem2");
    tables = mem_tables(f.trace, &last);
    qmp_add_memfd(f.qmp, "mem3");
    reply = qmp_add_dimm(f.qmp, "dimm3", "mem3");
    desc = qmp_expect_error(reply, "GenericError");
    test_log("device_add dimm3: %s", desc);
    g_assert_nonnull(strstr(desc, "virtio-net-device"));
    g_assert_nonnull(strstr(desc, "would need 4 regions"));
    g_assert_nonnull(strstr(desc, "accepts at most 3"));
    g_assert_cmpuint(qmp_dimms(f.qmp, "dimm3", &(uint64_t){ 0 }), ==, 2);
    json_node_unref(qmp_cmd_ok(f.qmp, "{\"execute\": \"object-del\", "
                               "\"arguments\": {\"id\": \"mem3\"}}"));
    if (!vhost_net_is_real()) {
        g_assert_cmpuint(mem_tables(f.trace, &last), ==, tables);
        g_assert_cmpuint(last.n, ==, LIMIT_REGIONS);
    }
    g_assert_false(guest_finished(&f));
    check_guest_passes(&f);
    hp_teardown(&f);
}

int main(int argc, char **argv)
{
    if (argc > 4 && !strcmp(argv[1], "--max-mem-regions") &&
        !strcmp(argv[3], "--")) {
        return exec_with_max_mem_regions(argv[2], argv + 4);
    }
    g_test_init(&argc, &argv, NULL);
    self_path = g_file_read_link("/proc/self/exe", NULL);
    g_test_add_func("/memory-hotplug/tap-vhost-net/during-traffic",
                    test_plug_during_traffic);
    g_test_add_func("/memory-hotplug/tap-vhost-net/slot-limit",
                    test_slot_limit);
    return g_test_run();
}
