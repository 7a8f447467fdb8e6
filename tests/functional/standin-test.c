/* SPDX-License-Identifier: MIT */
/*
 * The vhost-net stand-in (tests/vhost-standin) refereed by QEMU 7.2: QEMU
 * runs the test guest with -netdev tap,vhost=on through the stand-in, a
 * macswap reflector on the tap returns the guest's frames, and the guest
 * must get every frame back intact; the stand-in's trace must show the
 * ioctl sequence QEMU's vhost-kernel backend issues and its counters must
 * match the traffic.  Private RAM (process_vm) and memfd RAM (shared
 * mapping).  A small client (this binary in client mode) checks the
 * kernel's error codes.  The test moves into its own network namespace
 * first, so no frame touches the machine's own.  If the host has a real
 * /dev/vhost-net, QEMU and the client use it instead, and only the checks
 * that do not need the stand-in's trace run.
 */
#include "functional-common.h"
#include "migration-common.h"
#include "standin-client.h"
#include "tap-reflector.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <linux/vhost.h>
#include <net/if.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#define TIMEOUT 120
#define FRAMES 200
#define TAP "kvt0"

static bool real_vhost;
static const char *self_path;

static const char *standin_binary(void)
{
    const char *p = g_getenv("VHOST_STANDIN");

    g_assert_nonnull(p);
    return p;
}

/* ---- the network namespace ---- */

/* A plain write: g_file_set_contents() renames a temporary file, which
 * /proc/sys does not allow. */
static void write_sysctl(const char *path, const char *val)
{
    int fd = open(path, O_WRONLY | O_CLOEXEC);

    g_assert_cmpint(fd, >=, 0);
    g_assert_cmpint(write(fd, val, strlen(val)), ==, (ssize_t)strlen(val));
    close(fd);
}

/* A network namespace of our own with lo up and IPv6 off; false if this
 * process may not make one (not root). */
static bool enter_private_netns(void)
{
    struct ifreq ifr = { .ifr_name = "lo" };
    int s;

    if (unshare(CLONE_NEWNET) < 0) {
        fprintf(stderr, "# unshare(CLONE_NEWNET): %s\n", strerror(errno));
        return false;
    }
    s = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    g_assert_cmpint(s, >=, 0);
    g_assert_cmpint(ioctl(s, SIOCGIFFLAGS, &ifr), ==, 0);
    ifr.ifr_flags |= IFF_UP;
    g_assert_cmpint(ioctl(s, SIOCSIFFLAGS, &ifr), ==, 0);
    close(s);
    /* No IPv6 neighbour discovery on the taps: only the guest's frames
     * and their echoes cross them, so the counters can be compared. */
    write_sysctl("/proc/sys/net/ipv6/conf/default/disable_ipv6", "1");
    write_sysctl("/proc/sys/net/ipv6/conf/all/disable_ipv6", "1");
    return true;
}

static bool in_netns;

/* Skip (fail under CI=true) without a private network namespace. */
static bool require_netns(void)
{
    if (in_netns) {
        return true;
    }
    if (g_strcmp0(g_getenv("CI"), "true") == 0) {
        test_log("CI=true and no private network namespace (root needed)");
        g_test_fail();
    } else {
        g_test_skip("no private network namespace (root needed)");
    }
    return false;
}

/* ---- reading the stand-in's output ---- */

/* The ioctl names of the trace in order ("dev1 NAME ..."), one string. */
static char *trace_names(const char *trace)
{
    g_auto(GStrv) lines = g_strsplit(trace, "\n", -1);
    GString *s = g_string_new(NULL);

    for (char **l = lines; *l; l++) {
        g_auto(GStrv) w = g_strsplit(*l, " ", 3);

        if (w[0] && w[1]) {
            g_string_append_printf(s, "%s%s", s->len ? " " : "", w[1]);
        }
    }
    return g_string_free(s, FALSE);
}

static unsigned count_substr(const char *text, const char *needle)
{
    unsigned n = 0;

    for (const char *p = strstr(text, needle); p;
         p = strstr(p + strlen(needle), needle)) {
        n++;
    }
    return n;
}

/* QEMU 7.2's vhost-kernel start and stop for one virtio-net device. */
static void check_trace_sequence(const char *trace)
{
    g_autofree char *names = trace_names(trace);

    test_log("stand-in trace:\n%s", trace);
    g_assert_true(g_str_has_prefix(names, "open SET_OWNER GET_FEATURES "));
    g_assert_nonnull(strstr(names, "SET_FEATURES GET_BACKEND_FEATURES "
                            "SET_BACKEND_FEATURES SET_MEM_TABLE"));
    g_assert_nonnull(strstr(names,
        "SET_VRING_NUM SET_VRING_BASE SET_VRING_ADDR SET_VRING_KICK "
        "SET_VRING_NUM SET_VRING_BASE SET_VRING_ADDR SET_VRING_KICK "
        "NET_SET_BACKEND NET_SET_BACKEND"));
    g_assert_nonnull(strstr(names, "NET_SET_BACKEND NET_SET_BACKEND "
                            "GET_VRING_BASE GET_VRING_BASE"));
    g_assert_nonnull(strstr(trace,
                            "NET_SET_BACKEND index=0 fd=-1 (none) -> 0"));
    g_assert_nonnull(strstr(trace,
                            "NET_SET_BACKEND index=1 fd=-1 (none) -> 0"));
    g_assert_cmpuint(count_substr(trace, "(tap) -> 0"), ==, 2);
    g_assert_null(strstr(trace, "-> -"));      /* QEMU saw no error */
    g_assert_null(strstr(trace, "vq_err"));
    g_assert_cmpuint(count_substr(trace, "dev1 release"), ==, 1);
}

/* ---- QEMU through the stand-in ---- */

typedef struct GuestCounts {
    uint64_t sent, received, bad, missing, w_sent, w_echoed, foreign;
} GuestCounts;

static void parse_guest(const char *out, GuestCounts *g)
{
    const char *line = strstr(out, "net: sent ");

    g_assert_nonnull(line);
    g_assert_cmpint(sscanf(line, "net: sent %" SCNu64 ", received %" SCNu64
                           ", bad %" SCNu64 ", missing %" SCNu64, &g->sent,
                           &g->received, &g->bad, &g->missing), ==, 4);
    net_warmup_counts(out, &g->w_sent, &g->w_echoed);
    /* Frames the host's stack sent on the tap (e.g. when it came up):
     * "net: N foreign frames ignored". */
    g->foreign = 0;
    line = strstr(out, " foreign frames ignored");
    if (line) {
        while (line > out && line[-1] != '\n') {
            line--;
        }
        g_assert_cmpint(sscanf(line, "net: %" SCNu64, &g->foreign), ==, 1);
    }
}

/* QEMU with the test guest's test=net, through the stand-in (with --fail
 * FAIL unless NULL) or on the real device. */
static void run_qemu(const char *dir, const char *ram_opts, const char *fail,
                     RunResult *r)
{
    g_autofree char *trace = g_build_filename(dir, "trace", NULL);
    g_autofree char *stats = g_build_filename(dir, "stats", NULL);
    g_autofree char *append = g_strdup_printf(
        "test=net count=%d net_warmup_ms=20", FRAMES);
    g_autofree char *machine = g_strdup_printf("microvm,acpi=off%s",
                                               ram_opts[0] ?
                                               ",memory-backend=mem" : "");
    GPtrArray *a = g_ptr_array_new();

    if (!real_vhost) {
        const char *pre[] = { standin_binary(), "--trace", trace, "--stats",
                              stats };

        for (size_t i = 0; i < G_N_ELEMENTS(pre); i++) {
            g_ptr_array_add(a, (char *)pre[i]);
        }
        if (fail) {
            g_ptr_array_add(a, "--fail");
            g_ptr_array_add(a, (char *)fail);
        }
        g_ptr_array_add(a, "--");
    }
    const char *qemu[] = {
        "qemu-system-x86_64", "-M", machine, "-accel", "kvm", "-m", "256M",
        "-nodefaults", "-nographic", "-serial", "stdio",
        "-device", "isa-debug-exit,iobase=0xf4,iosize=4",
        "-global", "virtio-mmio.force-legacy=false",
        "-netdev", "tap,id=n0,ifname=" TAP ",script=no,downscript=no,vhost=on",
        "-device", "virtio-net-device,netdev=n0",
        "-kernel", guest_elf(), "-append", append,
    };
    for (size_t i = 0; i < G_N_ELEMENTS(qemu); i++) {
        g_ptr_array_add(a, (char *)qemu[i]);
    }
    if (ram_opts[0]) {
        g_ptr_array_add(a, "-object");
        g_ptr_array_add(a, (char *)ram_opts);
    }
    g_ptr_array_add(a, NULL);
    run_command((const char *const *)a->pdata, TIMEOUT, r);
    g_ptr_array_free(a, TRUE);
}

/* The stand-in's view of the same run: QEMU's ioctl sequence, counters
 * that match the traffic, zero copy exactly for the memfd regions. */
static void check_standin_run(const char *dir, const GuestCounts *g,
                              const TapReflector *refl, bool memfd)
{
    g_autofree char *trace_path = g_build_filename(dir, "trace", NULL);
    g_autofree char *stats_path = g_build_filename(dir, "stats", NULL);
    g_autofree char *trace = NULL;
    g_autofree char *stats = NULL;

    g_assert_true(g_file_get_contents(trace_path, &trace, NULL, NULL));
    g_assert_true(g_file_get_contents(stats_path, &stats, NULL, NULL));
    check_trace_sequence(trace);
    test_log("stand-in stats:\n%s", stats);
    /* Every frame the guest sent reached the tap or was refused by it
     * (before the reflector brought it up); every frame that reached the
     * reflector came back through the RX ring, and so did the host's own
     * frames the guest counted as foreign. */
    g_assert_cmpuint(standin_stat(stats, "dev1", "tx_frames") +
                     standin_stat(stats, "dev1", "tx_send_errors"), ==,
                     g->sent + g->w_sent);
    g_assert_cmpuint(standin_stat(stats, "dev1", "tx_frames"), ==,
                     refl->reflected);
    g_assert_cmpuint(standin_stat(stats, "dev1", "rx_frames"), ==,
                     refl->reflected + g->foreign);
    g_assert_cmpuint(standin_stat(stats, "dev1", "rx_frames"), >=,
                     g->received + g->w_echoed);
    g_assert_cmpuint(standin_stat(stats, "dev1", "vq_errors"), ==, 0);
    g_assert_cmpuint(standin_stat(stats, "dev1", "calls"), >, 0);
    /* memfd: the two RAM regions are reached zero-copy, the ROMs are
     * private; default RAM: all private (process_vm). */
    g_assert_nonnull(strstr(trace, memfd ? "shared=2 -> 0" : "shared=0 -> 0"));
}

static void test_qemu_net(gconstpointer data)
{
    const char *ram_opts = data;
    g_autofree char *dir = NULL;
    TapReflector refl;
    GuestCounts g;
    RunResult r = { 0 };

    if (!require_netns() || !require_kvm() ||
        !require_program("qemu-system-x86_64")) {
        return;
    }
    dir = tmpdir_new();
    tap_reflector_start(&refl, TAP);
    run_qemu(dir, ram_opts, NULL, &r);
    tap_reflector_stop(&refl);
    test_log("vhost backend: %s\nguest:\n%s\nstderr:\n%s",
             real_vhost ? "the kernel's /dev/vhost-net" : "vhost-standin",
             r.out, r.err);
    g_assert_false(r.timed_out);
    g_assert_cmpint(r.status, ==, 1);           /* guest PASS under QEMU */
    parse_guest(r.out, &g);
    g_assert_cmpuint(g.sent, ==, FRAMES);
    g_assert_cmpuint(g.received, ==, FRAMES);
    g_assert_cmpuint(g.bad, ==, 0);
    g_assert_cmpuint(g.missing, ==, 0);
    test_log("reflector: %" G_GUINT64_FORMAT " frames returned",
             refl.reflected);
    if (!real_vhost) {
        check_standin_run(dir, &g, &refl, ram_opts[0] != 0);
    }
    run_result_clear(&r);
    tmpdir_remove(dir);
}

/* QEMU's answer to a vhost-net that refuses NET_SET_BACKEND (the --fail
 * knob): it gives the rings back to its own virtio-net ("falling back on
 * userspace virtio") and the guest still gets every frame; the stand-in
 * moved none. */
static void test_qemu_fallback(void)
{
    g_autofree char *dir = NULL;
    g_autofree char *stats_path = NULL;
    g_autofree char *stats = NULL;
    TapReflector refl;
    GuestCounts g;
    RunResult r = { 0 };

    if (real_vhost) {
        g_test_skip("--fail is a knob of the stand-in");
        return;
    }
    if (!require_netns() || !require_kvm() ||
        !require_program("qemu-system-x86_64")) {
        return;
    }
    dir = tmpdir_new();
    stats_path = g_build_filename(dir, "stats", NULL);
    tap_reflector_start(&refl, TAP);
    run_qemu(dir, "", "NET_SET_BACKEND@1=EPERM", &r);
    tap_reflector_stop(&refl);
    test_log("guest:\n%s\nstderr:\n%s", r.out, r.err);
    g_assert_cmpint(r.status, ==, 1);
    g_assert_nonnull(strstr(r.err, "falling back on userspace virtio"));
    parse_guest(r.out, &g);
    g_assert_cmpuint(g.received, ==, FRAMES);
    g_assert_cmpuint(g.bad, ==, 0);
    g_assert_true(g_file_get_contents(stats_path, &stats, NULL, NULL));
    g_assert_cmpuint(standin_stat(stats, "dev1", "tx_frames"), ==, 0);
    g_assert_cmpuint(standin_stat(stats, "dev1", "rx_frames"), ==, 0);
    run_result_clear(&r);
    tmpdir_remove(dir);
}

/* ---- live migration: the dirty log ---- */

#define MIG_FRAMES 5000

/* QEMU through its own stand-in, on its own tap, QMP on DIR/SIDE-qmp.sock. */
static void mig_qemu_start(Peer *p, const char *dir, const char *side,
                           const char *tap, const char *incoming)
{
    g_autofree char *trace = mig_side_path(dir, side, "trace");
    g_autofree char *stats = mig_side_path(dir, side, "stats");
    g_autofree char *qmp = mig_side_path(dir, side, "qmp.sock");
    g_autofree char *qmp_opt = g_strdup_printf("unix:%s,server=on,wait=off",
                                               qmp);
    g_autofree char *netdev = g_strdup_printf(
        "tap,id=n0,ifname=%s,script=no,downscript=no,vhost=on", tap);
    g_autofree char *append = g_strdup_printf(
        "test=net count=%d net_timeout_ms=10000 net_warmup_ms=100 "
        "net_resend_ms=500", MIG_FRAMES);
    const char *argv[] = {
        standin_binary(), "--trace", trace, "--stats", stats, "--",
        "qemu-system-x86_64", "-M", "microvm,acpi=off", "-accel", "kvm",
        "-m", "256M", "-nodefaults", "-nographic", "-serial", "stdio",
        "-device", "isa-debug-exit,iobase=0xf4,iosize=4",
        "-global", "virtio-mmio.force-legacy=false", "-qmp", qmp_opt,
        "-netdev", netdev, "-device", "virtio-net-device,netdev=n0",
        "-kernel", guest_elf(), "-append", append,
        incoming ? "-incoming" : NULL, incoming, NULL,
    };

    peer_start(p, argv, qmp);
}

static char *read_side_file(const char *dir, const char *side,
                            const char *name)
{
    g_autofree char *path = mig_side_path(dir, side, name);
    char *text = NULL;

    g_assert_true(g_file_get_contents(path, &text, NULL, NULL));
    return text;
}

/* The source's stand-in logged while QEMU migrated: QEMU switched the log
 * on (SET_LOG_BASE, LOG_ALL, the rings' log flag) and bits were set. */
static void check_source_logged(const char *dir)
{
    g_autofree char *trace = read_side_file(dir, "src", "trace");
    g_autofree char *stats = read_side_file(dir, "src", "stats");

    test_log("source stand-in trace:\n%s\nstats:\n%s", trace, stats);
    g_assert_nonnull(strstr(trace, "dev1 SET_LOG_BASE base=0x"));
    g_assert_nonnull(strstr(trace, "SET_VRING_ADDR index=0 flags=0x1 "));
    g_assert_nonnull(strstr(trace, "SET_VRING_ADDR index=1 flags=0x1 "));
    g_assert_null(strstr(trace, "-> -"));
    g_assert_cmpuint(standin_stat(stats, "dev1", "log_bits"), >, 0);
    g_assert_cmpuint(standin_stat(stats, "dev1", "vq_errors"), ==, 0);
}

static void test_qemu_migration(void)
{
    g_autofree char *dir = NULL;
    g_autofree char *mig = NULL;
    g_autofree char *uri = NULL;
    TapReflector r0, r1;
    Peer src, dst;
    RunResult r = { 0 }, rs = { 0 };
    GuestCounts g;

    if (real_vhost) {
        g_test_skip("needs the stand-in's trace (real /dev/vhost-net here)");
        return;
    }
    if (!require_netns() || !require_kvm() ||
        !require_program("qemu-system-x86_64")) {
        return;
    }
    dir = tmpdir_new();
    mig = g_build_filename(dir, "mig.sock", NULL);
    uri = g_strdup_printf("unix:%s", mig);
    tap_reflector_start(&r0, "kvt0");
    tap_reflector_start(&r1, "kvt1");
    mig_qemu_start(&dst, dir, "dst", "kvt1", uri);
    mig_qemu_start(&src, dir, "src", "kvt0", NULL);
    g_assert_true(peer_wait_output(&src, "net: queues", 30));
    g_usleep(G_USEC_PER_SEC / 2);       /* frames flowing by now */
    mig_migrate_source(dir, uri, TIMEOUT);
    peer_wait_exit(&src, 30, &rs);
    peer_wait_exit(&dst, TIMEOUT, &r);
    tap_reflector_stop(&r0);
    tap_reflector_stop(&r1);
    test_log("destination:\n%s\nreflected: src %" G_GUINT64_FORMAT
             ", dst %" G_GUINT64_FORMAT, r.out, r0.reflected, r1.reflected);
    g_assert_cmpint(r.status, ==, 1);
    parse_guest(r.out, &g);
    g_assert_cmpuint(g.received, ==, MIG_FRAMES);
    g_assert_cmpuint(g.bad, ==, 0);
    g_assert_cmpuint(g.missing, ==, 0);
    /* Frames flowed on both sides of the switch-over. */
    g_assert_cmpuint(r0.reflected, >, 0);
    g_assert_cmpuint(r1.reflected, >, 0);
    check_source_logged(dir);
    run_result_clear(&r);
    run_result_clear(&rs);
    tmpdir_remove(dir);
}

/* ---- clients under the stand-in (standin-client.c) ---- */

static void run_client(const char *mode, const char *fail, RunResult *r,
                       char **trace)
{
    g_autofree char *dir = tmpdir_new();
    g_autofree char *tpath = g_build_filename(dir, "trace", NULL);
    const char *argv[] = {
        standin_binary(), "--trace", tpath, "--fail", fail, "--",
        self_path, "--client", mode, NULL,
    };

    if (real_vhost) {
        const char *direct[] = { self_path, "--client", mode, NULL };

        run_command(direct, TIMEOUT, r);
    } else {
        run_command(argv, TIMEOUT, r);
        g_assert_true(g_file_get_contents(tpath, trace, NULL, NULL));
    }
    tmpdir_remove(dir);
    test_log("client (%s):\n%s%s", real_vhost ? "kernel" : "vhost-standin",
             r->out, r->err);
}

static void test_kernel_errors(void)
{
    g_autofree char *trace = NULL;
    RunResult r = { 0 };

    run_client("errors", "NO_SUCH_IOCTL=EIO", &r, &trace);
    g_assert_cmpint(r.status, ==, 0);
    g_assert_null(strstr(r.out, "FAIL"));
    if (trace) {
        test_log("trace:\n%s", trace);
        g_assert_nonnull(strstr(trace, "dev1 SET_OWNER -> -EBUSY"));
        g_assert_nonnull(strstr(trace, "SET_VRING_NUM index=5 -> -ENOBUFS"));
        /* A second open is a second device. */
        g_assert_nonnull(strstr(trace, "dev2 open /dev/vhost-net -> fd 901"));
        g_assert_nonnull(strstr(trace, "dev2 SET_OWNER -> 0"));
    }
    run_result_clear(&r);
}

/* Our own rings and tap: mergeable RX, indirect TX, EVENT_IDX, the dirty
 * log bit by bit (standin-datapath.c). */
static void test_datapath(gconstpointer data)
{
    const char *mode = data;
    g_autofree char *trace = NULL;
    RunResult r = { 0 };

    if (!require_netns()) {
        return;
    }
    run_client(mode, "NO_SUCH_IOCTL=EIO", &r, &trace);
    g_assert_cmpint(r.status, ==, 0);
    g_assert_null(strstr(r.out, "FAIL"));
    g_assert_nonnull(strstr(r.out, strcmp(mode, "datapath-vhost-hdr") == 0
                            ? "ok RX frame at 12"
                            : "ok dirty log: nothing else"));
    if (trace) {
        g_assert_nonnull(strstr(trace, strcmp(mode, "datapath-shared") == 0
                                ? "shared=1 -> 0" : "shared=0 -> 0"));
        g_assert_null(strstr(trace, "vq_err"));
    }
    run_result_clear(&r);
}

static void test_fail_knob(void)
{
    g_autofree char *trace = NULL;
    RunResult r = { 0 };

    if (real_vhost) {
        g_test_skip("--fail is a knob of the stand-in");
        return;
    }
    run_client("fail", "GET_FEATURES@2=ENOMEM", &r, &trace);
    g_assert_cmpint(r.status, ==, 0);
    g_assert_nonnull(strstr(trace, "GET_FEATURES -> -ENOMEM (injected)"));
    run_result_clear(&r);
}

/* The program has the fds it would have without the stand-in (ours are
 * all O_CLOEXEC, the trace and statistics files included). */
static void check_no_fd_leaks(const char *stats)
{
    const char *plain[] = { "sh", "-c", "ls /proc/$$/fd", NULL };
    const char *under[] = { standin_binary(), "--trace", stats, "--stats",
                            stats, "--", "sh", "-c", "ls /proc/$$/fd", NULL };
    RunResult a = { 0 }, b = { 0 };

    run_command(plain, TIMEOUT, &a);
    run_command(under, TIMEOUT, &b);
    g_assert_cmpstr(a.out, ==, b.out);
    run_result_clear(&a);
    run_result_clear(&b);
}

/* The supervisor's process handling: statistics on SIGUSR1, the
 * program's exit status, 128 + signal, SIGTERM forwarded. */
static void test_supervisor(void)
{
    g_autofree char *dir = tmpdir_new();
    g_autofree char *stats = g_build_filename(dir, "stats", NULL);
    g_autofree char *usr1 = g_strdup_printf(
        "exec 3<>/dev/vhost-net; kill -USR1 $PPID; sleep 0.5; cat %s; "
        "exit 7", stats);
    const char *a[] = { standin_binary(), "--stats", stats, "--", "sh", "-c",
                        usr1, NULL };
    const char *b[] = { standin_binary(), "--", "sh", "-c",
                        "kill -TERM $PPID; exec sleep 10", NULL };
    const char *c[] = { standin_binary(), "--", "sh", "-c", "kill -KILL $$",
                        NULL };
    RunResult r = { 0 };

    if (real_vhost) {
        g_test_skip("a test of the stand-in itself");
        return;
    }
    run_command(a, TIMEOUT, &r);
    g_assert_cmpint(r.status, ==, 7);
    g_assert_nonnull(strstr(r.out, "dev1 tx_frames=0"));   /* on SIGUSR1 */
    run_result_clear(&r);
    run_command(b, TIMEOUT, &r);
    g_assert_false(r.timed_out);
    g_assert_cmpint(r.status, ==, 128 + SIGTERM);
    run_result_clear(&r);
    run_command(c, TIMEOUT, &r);
    g_assert_cmpint(r.status, ==, 128 + SIGKILL);
    run_result_clear(&r);
    check_no_fd_leaks(stats);
    tmpdir_remove(dir);
}

int main(int argc, char **argv)
{
    if (argc == 3 && strcmp(argv[1], "--client") == 0) {
        return standin_client_main(argv[2]);
    }
    g_test_init(&argc, &argv, NULL);
    self_path = g_file_read_link("/proc/self/exe", NULL);
    real_vhost = access("/dev/vhost-net", F_OK) == 0;
    fprintf(stderr, "# vhost backend: %s\n", real_vhost
            ? "the kernel's /dev/vhost-net" : "vhost-standin");
    in_netns = enter_private_netns();
    g_test_add_data_func("/standin/qemu-net/private-ram", "",
                         test_qemu_net);
    g_test_add_data_func("/standin/qemu-net/memfd-shared-ram",
                         "memory-backend-memfd,id=mem,size=256M,share=on",
                         test_qemu_net);
    g_test_add_func("/standin/qemu-net/migration", test_qemu_migration);
    g_test_add_func("/standin/qemu-net/fallback", test_qemu_fallback);
    g_test_add_func("/standin/kernel-errors", test_kernel_errors);
    g_test_add_func("/standin/fail-knob", test_fail_knob);
    g_test_add_func("/standin/supervisor", test_supervisor);
    g_test_add_data_func("/standin/datapath/private", "datapath-private",
                         test_datapath);
    g_test_add_data_func("/standin/datapath/shared", "datapath-shared",
                         test_datapath);
    g_test_add_data_func("/standin/datapath/vhost-hdr", "datapath-vhost-hdr",
                         test_datapath);
    return g_test_run();
}
