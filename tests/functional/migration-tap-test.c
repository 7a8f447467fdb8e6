/* SPDX-License-Identifier: MIT */
/*
 * Live migration of a guest exchanging frames over tap + vhost-net
 * (test=net), between two kvmini processes on this host, each on a tap
 * of its own (kvt0 for the source, kvt1 for the destination, as two
 * hosts would have) with a macswap reflector on it (tap-reflector.h).
 * Where the host has no /dev/vhost-net both kvmini run under the
 * stand-in (tests/vhost-standin), whose trace and counters show what
 * kvmini asked of the kernel: the dirty log switched on (SET_LOG_BASE,
 * LOG_ALL, the rings' log flag), the rings detached (NET_SET_BACKEND -1)
 * before their indices are read at the switch-over, and log bits set.
 *
 * The source is migrated while frames flow, over a link capped at
 * 2 MiB/s so that the RAM pass lasts several hundred ms with the log on.
 * What the log saves are the echoes that reach the RX ring after the
 * vCPUs stopped and before the rings are detached, in pages sent
 * earlier: with the log ignored by kvmini, 3 runs of 6 here ended with
 * bad frames, the others lost those echoes in the tap instead.
 * Echoes that the reflector returns into the source's tap after the
 * source detached its rings are lost with that tap (as on a real
 * network); the guest resends what is missing after 500 ms of silence
 * (net_resend_ms), and the test checks that the resends are exactly
 * those losses or arrive as duplicates, so a frame lost by kvmini still
 * fails it.  Default RAM (a shared memfd:
 * the stand-in maps it) and private RAM (memory-backend-file, share=off:
 * the stand-in reaches it with process_vm_readv/writev, as the kernel
 * reaches any user memory).  Everything runs in a private network
 * namespace (netns.h).
 */
#include "migration-common.h"
#include "libqmp.h"
#include "netns.h"
#include "tap-reflector.h"

#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#define TIMEOUT     60
/* Enough that the exchange lasts several seconds here, so that the
 * migration starts and ends in the middle of it. */
#define FRAMES      8000
#define VHOST_F_LOG_ALL_BIT 26
#define MAX_BANDWIDTH       (2 << 20)   /* bytes/s */

typedef struct TapMigFixture {
    char *dir;
    char *uri;
    bool private_ram;
    TapReflector refl_src, refl_dst;
    Peer src, dst;
} TapMigFixture;

/* ---- setup ---- */

/* kvmini with tap `tap` + vhost-net, under the stand-in where needed
 * (trace and stats in DIR/SIDE-trace, DIR/SIDE-stats). */
static void kvmini_start(TapMigFixture *f, Peer *p, const char *side,
                         const char *tap, const char *incoming)
{
    g_autofree char *netdev = g_strdup_printf(
        "tap,id=n0,ifname=%s,script=no,downscript=no,vhost=on", tap);
    g_autofree char *append = g_strdup_printf(
        "test=net count=%d net_timeout_ms=10000 net_warmup_ms=100 "
        "net_resend_ms=500", FRAMES);
    g_autofree char *ram_path = mig_side_path(f->dir, side, "ram");
    g_autofree char *ram = g_strdup_printf(
        "memory-backend-file,id=mem,size=64M,mem-path=%s,share=off",
        ram_path);
    g_autofree char *trace = mig_side_path(f->dir, side, "trace");
    g_autofree char *stats = mig_side_path(f->dir, side, "stats");
    g_autofree char *qmp = mig_side_path(f->dir, side, "qmp.sock");
    const char *args[] = {
        "-netdev", netdev, "-device", "virtio-net-device,netdev=n0",
        "-append", append,
        "-object", ram, "-machine", "microvm,memory-backend=mem", NULL };
    g_auto(GStrv) cmd = NULL, argv = NULL;

    if (!f->private_ram) {
        args[6] = NULL;                 /* kvmini's default RAM */
    }
    cmd = mig_kvmini_argv(f->dir, side, args, incoming);
    argv = vhost_net_command((const char *const *)cmd, trace, stats);
    peer_start(p, (const char *const *)argv, qmp);
}

static bool tapmig_setup(TapMigFixture *f, bool private_ram)
{
    g_autofree char *mig = NULL;

    if (!require_kvm() || !require_vhost_net() || !netns_enter_quiet()) {
        return false;
    }
    f->private_ram = private_ram;
    f->dir = tmpdir_new();
    mig = g_build_filename(f->dir, "mig.sock", NULL);
    f->uri = g_strdup_printf("unix:%s", mig);
    tap_reflector_start(&f->refl_src, "kvt0");
    tap_reflector_start(&f->refl_dst, "kvt1");
    kvmini_start(f, &f->dst, "dst", "kvt1", f->uri);
    kvmini_start(f, &f->src, "src", "kvt0", NULL);
    return true;
}

static void tapmig_teardown(TapMigFixture *f)
{
    peer_stop(&f->src);
    peer_stop(&f->dst);
    tmpdir_remove(f->dir);
    g_free(f->dir);
    g_free(f->uri);
}

/* ---- the guest's counts ---- */

typedef struct GuestNet {
    uint64_t sent, received, bad, missing;
    uint64_t w_sent, w_echoed, resent, duplicates, foreign;
} GuestNet;

static void parse_guest(const char *out, GuestNet *g)
{
    const char *line = strstr(out, "net: sent ");

    g_assert_nonnull(line);
    g_assert_cmpint(sscanf(line, "net: sent %" SCNu64 ", received %" SCNu64
                           ", bad %" SCNu64 ", missing %" SCNu64, &g->sent,
                           &g->received, &g->bad, &g->missing), ==, 4);
    net_warmup_counts(out, &g->w_sent, &g->w_echoed);
    line = strstr(out, "net: resent ");
    g_assert_nonnull(line);
    g_assert_cmpint(sscanf(line, "net: resent %" SCNu64 ", duplicates %"
                           SCNu64, &g->resent, &g->duplicates), ==, 2);
    g->foreign = 0;
    line = strstr(out, " foreign frames ignored");
    if (line) {
        while (line > out && line[-1] != '\n') {
            line--;
        }
        g_assert_cmpint(sscanf(line, "net: %" SCNu64, &g->foreign), ==, 1);
    }
}

/* ---- the stand-in's output ---- */

static char *read_side_file(const char *dir, const char *side,
                            const char *name)
{
    g_autofree char *path = mig_side_path(dir, side, name);
    char *text = NULL;

    g_assert_true(g_file_get_contents(path, &text, NULL, NULL));
    return text;
}

/* Some "dev1 SET_FEATURES features=0x..." line has LOG_ALL. */
static bool trace_has_log_all(char **lines)
{
    for (char **l = lines; *l; l++) {
        const char *p = g_str_has_prefix(*l, "dev1 SET_FEATURES ") ?
                        strstr(*l, "features=0x") : NULL;

        if (p && (g_ascii_strtoull(p + 11, NULL, 16) >>
                  VHOST_F_LOG_ALL_BIT & 1)) {
            return true;
        }
    }
    return false;
}

/* The ring index of a "dev1 NAME index=N ..." line, -1 for another
 * request. */
static int ring_of(const char *line, const char *name)
{
    g_autofree char *prefix = g_strdup_printf("dev1 %s index=", name);

    if (!g_str_has_prefix(line, prefix)) {
        return -1;
    }
    return (int)g_ascii_strtoull(line + strlen(prefix), NULL, 10);
}

/*
 * The switch-over in the kernel's order: after the log was set up, the
 * first GET_VRING_BASE finds both rings detached (their latest
 * NET_SET_BACKEND was fd=-1), and so does every later one.
 */
static void check_detach_before_get_base(char **lines)
{
    const char *last_backend[2] = { NULL, NULL };
    bool logging = false;
    unsigned gets = 0;

    for (char **l = lines; *l; l++) {
        int ring = ring_of(*l, "NET_SET_BACKEND");

        if (ring == 0 || ring == 1) {
            last_backend[ring] = *l;
        }
        logging |= g_str_has_prefix(*l, "dev1 SET_LOG_BASE ");
        if (!logging || ring_of(*l, "GET_VRING_BASE") < 0) {
            continue;
        }
        for (int i = 0; i < 2; i++) {
            g_assert_nonnull(last_backend[i]);
            g_assert_nonnull(strstr(last_backend[i], " fd=-1 "));
        }
        gets++;
    }
    g_assert_cmpuint(gets, ==, 2);
}

/* The source's stand-in: kvmini logged while it migrated, stopped in the
 * kernel's order, and no request failed. */
static void check_source_trace(const TapMigFixture *f, const char *trace)
{
    g_auto(GStrv) lines = g_strsplit(trace, "\n", -1);

    g_assert_nonnull(strstr(trace, "dev1 SET_LOG_BASE base=0x"));
    g_assert_true(trace_has_log_all(lines));
    g_assert_nonnull(strstr(trace, "dev1 SET_VRING_ADDR index=0 flags=0x1 "));
    g_assert_nonnull(strstr(trace, "dev1 SET_VRING_ADDR index=1 flags=0x1 "));
    check_detach_before_get_base(lines);
    /* memfd RAM is mapped by the stand-in, private RAM is not. */
    g_assert_nonnull(strstr(trace, f->private_ram ? " shared=0 -> 0"
                                                  : " shared=1 -> 0"));
    g_assert_null(strstr(trace, "-> -"));
    g_assert_null(strstr(trace, "vq_err"));
}

typedef struct SideStats {
    uint64_t tx, tx_errors, rx, log_bits;
} SideStats;

static SideStats side_stats(const char *dir, const char *side)
{
    g_autofree char *stats = read_side_file(dir, side, "stats");
    SideStats s = {
        .tx = standin_stat(stats, "dev1", "tx_frames"),
        .tx_errors = standin_stat(stats, "dev1", "tx_send_errors"),
        .rx = standin_stat(stats, "dev1", "rx_frames"),
        .log_bits = standin_stat(stats, "dev1", "log_bits"),
    };

    test_log("stand-in %s stats:\n%s", side, stats);
    g_assert_cmpuint(standin_stat(stats, "dev1", "vq_errors"), ==, 0);
    return s;
}

/*
 * Every frame the guest sent (warm-up, test frames, resends) reached one
 * of the taps or was refused by it while it was still down; each
 * reflector returned what its tap carried (the destination's also
 * kvmini's announce); every frame put in an RX ring reached the guest
 * (on the source too: the dirty log carried it over).  What the
 * reflectors returned and no RX ring took is what had to be resent.
 */
static void check_frame_accounting(const TapMigFixture *f, const GuestNet *g)
{
    SideStats s = side_stats(f->dir, "src"), d = side_stats(f->dir, "dst");
    uint64_t reflected = f->refl_src.reflected + f->refl_dst.reflected;

    test_log("log bits set on the source: %" PRIu64, s.log_bits);
    g_assert_cmpuint(s.log_bits, >, 0);
    g_assert_cmpuint(s.tx + s.tx_errors + d.tx + d.tx_errors, ==,
                     g->sent + g->resent + g->w_sent);
    g_assert_cmpuint(f->refl_src.reflected, ==, s.tx);
    g_assert_cmpuint(f->refl_dst.reflected, ==, d.tx + 1);
    g_assert_cmpuint(s.rx + d.rx, ==,
                     g->received + g->w_echoed + g->foreign);
    g_assert_cmpuint(reflected - (s.rx + d.rx), ==,
                     g->resent - g->duplicates);
}

/* ---- the test ---- */

/* A slow link: the RAM pass then lasts long enough (hundreds of ms)
 * that frames land in pages already sent, which only the vhost dirty
 * log brings over again. */
static void limit_bandwidth(TapMigFixture *f)
{
    g_autofree char *path = mig_side_path(f->dir, "src", "qmp.sock");
    QmpClient *c = qmp_connect(path);

    qmp_negotiate(c);
    json_node_unref(qmp_cmd_ok(c, "{\"execute\": \"migrate-set-parameters\", "
                               "\"arguments\": {\"max-bandwidth\": %d}}",
                               MAX_BANDWIDTH));
    qmp_close(c);
}

static void migrate_mid_exchange(TapMigFixture *f, MigTimes *t)
{
    int64_t start;

    limit_bandwidth(f);
    g_assert_true(peer_wait_output(&f->src, "net: queues", 30));
    g_usleep(G_USEC_PER_SEC / 2);       /* frames flowing by now */
    start = g_get_monotonic_time();
    mig_migrate_source_timed(f->dir, f->uri, TIMEOUT, t);
    test_log("migration: %" PRId64 " ms from migrate to completed "
             "(total-time %" PRId64 " ms, downtime %" PRId64 " ms, %" PRId64
             " bytes)", (g_get_monotonic_time() - start) / 1000,
             t->total_ms, t->downtime_ms, t->transferred);
}

static void check_guest(const RunResult *src, const RunResult *dst,
                        GuestNet *g)
{
    g_assert_false(src->timed_out);
    g_assert_null(strstr(src->out, "test net:"));   /* it ended there */
    g_assert_false(dst->timed_out);
    parse_guest(dst->out, g);
    test_log("guest: sent %" PRIu64 ", received %" PRIu64 ", resent %"
             PRIu64 ", duplicates %" PRIu64 ", foreign %" PRIu64, g->sent,
             g->received, g->resent, g->duplicates, g->foreign);
    g_assert_cmpuint(g->bad, ==, 0);
    g_assert_cmpuint(g->missing, ==, 0);
    g_assert_cmpuint(g->sent, ==, FRAMES);
    g_assert_cmpuint(g->received, ==, FRAMES + g->duplicates);
    /* kvmini's announce, returned by the destination's reflector. */
    g_assert_cmpuint(g->foreign, ==, 1);
    g_assert_nonnull(strstr(dst->out, "test net: PASS"));
    g_assert_cmpint(dst->status, ==, 0);
}

static void test_tap_migration(gconstpointer data)
{
    const bool private_ram = GPOINTER_TO_INT(data);
    TapMigFixture f = { 0 };
    RunResult src = { 0 }, dst = { 0 };
    MigTimes t;
    GuestNet g;

    if (!tapmig_setup(&f, private_ram)) {
        return;
    }
    migrate_mid_exchange(&f, &t);
    peer_wait_exit(&f.src, TIMEOUT, &src);
    peer_wait_exit(&f.dst, TIMEOUT, &dst);
    tap_reflector_stop(&f.refl_src);
    tap_reflector_stop(&f.refl_dst);
    test_log("reflected: src %" PRIu64 ", dst %" PRIu64,
             f.refl_src.reflected, f.refl_dst.reflected);
    check_guest(&src, &dst, &g);
    /* Frames flowed on both sides of the switch-over. */
    g_assert_cmpuint(f.refl_src.reflected, >, 0);
    g_assert_cmpuint(f.refl_dst.reflected, >, 1);
    if (!vhost_net_is_real()) {
        g_autofree char *trace = read_side_file(f.dir, "src", "trace");

        test_log("source stand-in trace:\n%s", trace);
        check_source_trace(&f, trace);
        check_frame_accounting(&f, &g);
    }
    run_result_clear(&src);
    run_result_clear(&dst);
    tapmig_teardown(&f);
}

int main(int argc, char **argv)
{
    g_test_init(&argc, &argv, NULL);
    g_test_add_data_func("/migration/tap-vhost-net/memfd-ram",
                         GINT_TO_POINTER(false), test_tap_migration);
    g_test_add_data_func("/migration/tap-vhost-net/private-ram",
                         GINT_TO_POINTER(true), test_tap_migration);
    return g_test_run();
}
