/* SPDX-License-Identifier: MIT */
/*
 * tap + vhost-net benchmark: the test guest's test=net-bench (64-byte
 * frames to a macswap peer and back, timed with the TSC in the guest)
 * behind `-netdev tap`, the peer being the functional tests' AF_PACKET
 * reflector on the tap (tests/functional/tap-reflector.c), all in a
 * network namespace of this process's own.  Three VMMs, interleaved, N
 * runs each (default 5):
 *
 *   kvmini      -netdev tap,vhost=on   the kernel's /dev/vhost-net, or
 *                                      where the host has none the
 *                                      stand-in (tests/vhost-standin)
 *   qemu-vhost  QEMU 7.2, tap,vhost=on the same
 *   qemu-tap    QEMU 7.2, tap,vhost=off  QEMU's userspace virtio-net
 *
 * Each run is a throughput pass (count= frames, 32 in flight: frames/s)
 * and a latency pass (net_window=1: one frame in flight, so the time per
 * frame is the round trip guest -> tap -> reflector -> tap -> guest).
 * Prints the medians, the ratios kvmini/qemu-vhost and kvmini/qemu-tap,
 * kvmini's userspace exits per frame (`-d kvm`: a run of count= frames
 * minus one of a single frame, over count - 1) and, under the stand-in,
 * its kicks and calls per frame (--stats).  The guest is told the host's
 * TSC rate rather than calibrating its own.
 *
 *   build/tests/bench/tap-bench [--runs N] [--count N] [--lat-count N]
 *                               [--standin PATH] [KVMINI [GUEST]]
 *
 * Needs root (a network namespace, taps, the stand-in's ptrace access).
 */
#include "bench-common.h"
#include "../functional/tap-reflector.h"

#include <errno.h>
#include <net/if.h>
#include <sched.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>
#include <x86intrin.h>

#define TAP_NAME    "kvb0"
#define GUEST_ARGS  "test=net-bench net_warmup_ms=100"
#define THROUGHPUT_WINDOW 32    /* test-net-bench.c's default */
#define MAX_RUNS    100

enum { KVMINI, QEMU_VHOST, QEMU_TAP, N_VMMS };

typedef struct Bench {
    const char *kvmini, *guest, *standin;
    int runs, count, lat_count;
    bool real_vhost;            /* the host has /dev/vhost-net */
    unsigned long long tsc_khz; /* told to the guest */
    char *dir;                  /* scratch directory (stand-in stats) */
    char *stats_path;
} Bench;

/* What one pass of one VMM measured. */
typedef struct Pass {
    double us_per_frame;        /* guest's time over its frame count */
    double exits, mmio;         /* kvmini -d kvm: all, MMIO; else -1 */
    double irqs;                /* interrupts the guest took */
    double kicks, calls, frames; /* stand-in stats, else -1 */
} Pass;

/* The guest's "net-bench: N frames in U us, ..." as U / N, or -1. */
static double guest_us_per_frame(const char *out)
{
    const char *p = strstr(out, "net-bench: ");
    unsigned long long n, us;

    for (; p; p = strstr(p + 1, "net-bench: ")) {
        if (sscanf(p, "net-bench: %llu frames in %llu us", &n, &us) == 2 &&
            n > 0) {
            return (double)us / (double)n;
        }
    }
    return -1;
}

/* "kvm: N exits to userspace (P port I/O, M MMIO)" -> M, or -1. */
static double mmio_exits(const char *out)
{
    const char *p = strstr(out, "kvm: ");
    unsigned long long all, io, mmio;

    return p && sscanf(p, "kvm: %llu exits to userspace (%llu port I/O, "
                       "%llu MMIO)", &all, &io, &mmio) == 3 ? (double)mmio
                                                             : -1;
}

/* The guest's "net-bench: N interrupts, W waits" -> N, or -1. */
static double guest_interrupts(const char *out)
{
    const char *p = strstr(out, "net-bench: ");
    unsigned long long n, waits;

    for (; p; p = strstr(p + 1, "net-bench: ")) {
        if (sscanf(p, "net-bench: %llu interrupts, %llu waits", &n,
                   &waits) == 2) {
            return (double)n;
        }
    }
    return -1;
}

/* --- the TSC rate ---------------------------------------------------- */

/* A (CLOCK_MONOTONIC_RAW ns, TSC) pair read as close together as we can:
 * the best of a few tries, so that a preemption between the two reads
 * does not count. */
static void clock_tsc_pair(double *ns, double *tsc)
{
    unsigned long long best = ~0ull;

    for (int i = 0; i < 10; i++) {
        struct timespec ts;
        unsigned long long a = __rdtsc(), b;

        clock_gettime(CLOCK_MONOTONIC_RAW, &ts);
        b = __rdtsc();
        if (b - a < best) {
            best = b - a;
            *ns = ts.tv_sec * 1e9 + ts.tv_nsec;
            *tsc = (a / 2.0) + (b / 2.0);
        }
    }
}

/* The host's TSC rate.  Neither VMM scales the guest's TSC (no
 * KVM_SET_TSC_KHZ), so it is the guest's: passed as tsc_khz= it replaces
 * the guest's own LAPIC-timer calibration, which on this loaded 2-CPU
 * host came out anywhere from 2.32 to 2.60 GHz from one boot to the
 * next -- an error of up to 11% in every figure of that run. */
static unsigned long long host_tsc_khz(void)
{
    double ns0, tsc0, ns1, tsc1;

    clock_tsc_pair(&ns0, &tsc0);
    usleep(200000);
    clock_tsc_pair(&ns1, &tsc1);
    return (unsigned long long)((tsc1 - tsc0) / (ns1 - ns0) * 1e6 + 0.5);
}

/* --- the network namespace ------------------------------------------ */

static bool link_up(const char *name)
{
    struct ifreq ifr = { 0 };
    int sock = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    bool ok;

    if (sock < 0) {
        return false;
    }
    snprintf(ifr.ifr_name, IFNAMSIZ, "%s", name);
    ok = ioctl(sock, SIOCGIFFLAGS, &ifr) == 0;
    ifr.ifr_flags |= IFF_UP;
    ok = ok && ioctl(sock, SIOCSIFFLAGS, &ifr) == 0;
    close(sock);
    return ok;
}

/* A network namespace of our own (the VMMs inherit it and make their tap
 * there), lo up: no frame of the benchmark touches the machine's. */
static bool enter_netns(void)
{
    if (unshare(CLONE_NEWNET) < 0) {
        fprintf(stderr, "unshare(CLONE_NEWNET): %s (needs root)\n",
                strerror(errno));
        return false;
    }
    if (!link_up("lo")) {
        fprintf(stderr, "cannot bring lo up: %s\n", strerror(errno));
        return false;
    }
    return true;
}

/* --- command lines ---------------------------------------------------- */

static char *netdev_arg(bool vhost)
{
    return g_strdup_printf("tap,id=n0,ifname=%s,script=no,downscript=no,"
                           "vhost=%s", TAP_NAME, vhost ? "on" : "off");
}

/* argv (g_strfreev) for vmm with the guest's command line append. */
static char **vmm_argv(const Bench *b, int vmm, const char *append)
{
    g_autoptr(GPtrArray) a = g_ptr_array_new_with_free_func(g_free);
    g_autofree char *netdev = netdev_arg(vmm != QEMU_TAP);
    const char *kvmini[] = { b->kvmini, "-m", "256M", "-d", "kvm",
                             "-serial", "stdio", NULL };
    /* QEMU as tap-ping-test.c runs it, but with shared memfd RAM as
     * kvmini's: the stand-in (like the kernel) then reads and writes the
     * rings in place instead of through process_vm_readv/writev. */
    const char *qemu[] = { "qemu-system-x86_64", "-M",
                           "microvm,memory-backend=mem,acpi=off", "-accel",
                           "kvm", "-m", "256M", "-object",
                           "memory-backend-memfd,id=mem,size=256M,share=on",
                           "-nodefaults", "-nographic", "-serial", "stdio",
                           "-device", "isa-debug-exit,iobase=0xf4,iosize=4",
                           "-global", "virtio-mmio.force-legacy=false", NULL };
    const char *const *vmm_args = vmm == KVMINI ? kvmini : qemu;

    if (vmm != QEMU_TAP && !b->real_vhost) {
        g_ptr_array_add(a, g_strdup(b->standin));
        g_ptr_array_add(a, g_strdup("--stats"));
        g_ptr_array_add(a, g_strdup(b->stats_path));
        g_ptr_array_add(a, g_strdup("--"));
    }
    for (int i = 0; vmm_args[i]; i++) {
        g_ptr_array_add(a, g_strdup(vmm_args[i]));
    }
    const char *tail[] = { "-netdev", netdev, "-device",
                           "virtio-net-device,netdev=n0", "-kernel",
                           b->guest, "-append", append, NULL };
    for (int i = 0; tail[i]; i++) {
        g_ptr_array_add(a, g_strdup(tail[i]));
    }
    g_ptr_array_add(a, NULL);
    return (char **)g_ptr_array_free(g_steal_pointer(&a), FALSE);
}

/* --- one pass ---------------------------------------------------------- */

/* Sum of key=N over the stand-in's "devN ..." lines, or -1. */
static double stats_sum(const char *stats, const char *key)
{
    g_auto(GStrv) lines = g_strsplit(stats, "\n", -1);
    double sum = -1;

    for (int i = 0; lines[i]; i++) {
        double v = g_str_has_prefix(lines[i], "dev")
                   ? bench_number_after(lines[i], key) : -1;

        if (v >= 0) {
            sum = (sum < 0 ? 0 : sum) + v;
        }
    }
    return sum;
}

/* The stand-in's kicks, calls and guest->tap frames of the pass (its
 * warm-up frames included; the set-up's few calls too). */
static void read_stats(const Bench *b, Pass *p)
{
    g_autofree char *stats = NULL;

    p->kicks = p->calls = p->frames = -1;
    if (!g_file_get_contents(b->stats_path, &stats, NULL, NULL)) {
        return;
    }
    p->kicks = stats_sum(stats, " kicks=");
    p->calls = stats_sum(stats, " calls=");
    p->frames = stats_sum(stats, " tx_frames=");
}

/* Run vmm once with the reflector on the tap; false (with the output on
 * stderr) unless the guest passed. */
static bool run_pass(const Bench *b, int vmm, int count, int window,
                     Pass *p)
{
    static char out[1 << 16];
    g_autofree char *append = g_strdup_printf(
        "%s count=%d net_window=%d tsc_khz=%llu", GUEST_ARGS, count, window,
        b->tsc_khz);
    g_auto(GStrv) argv = vmm_argv(b, vmm, append);
    int pass_status = vmm == KVMINI ? 0 : 1;   /* isa-debug-exit: 0 -> 1 */
    TapReflector r;
    int status;

    unlink(b->stats_path);
    tap_reflector_start(&r, TAP_NAME);
    status = bench_run_capture(argv, out, sizeof(out));
    tap_reflector_stop(&r);
    p->us_per_frame = guest_us_per_frame(out);
    if (status != pass_status || p->us_per_frame < 0) {
        fprintf(stderr, "%s failed (status %d, reflector sent %llu):\n%s\n",
                argv[0], status, (unsigned long long)r.reflected, out);
        return false;
    }
    p->exits = vmm == KVMINI ? bench_number_after(out, "kvm: ") : -1;
    p->mmio = vmm == KVMINI ? mmio_exits(out) : -1;
    p->irqs = guest_interrupts(out);
    read_stats(b, p);
    return true;
}

/* --- the runs ------------------------------------------------------------ */

/* Per VMM and run: frames/s, round trip (us), and the per-frame counts. */
typedef struct Results {
    double fps[N_VMMS][MAX_RUNS], rtt[N_VMMS][MAX_RUNS];
    double exits_fps[MAX_RUNS], exits_rtt[MAX_RUNS];  /* kvmini, per frame */
    double extra_mmio, extra_irqs;  /* kvmini, all passes, over baseline */
    /* stand-in per frame: throughput pass, latency pass */
    double kicks[N_VMMS][MAX_RUNS], calls[N_VMMS][MAX_RUNS];
    double lat_kicks[N_VMMS][MAX_RUNS], lat_calls[N_VMMS][MAX_RUNS];
} Results;

static double per_frame(double v, double frames)
{
    return v >= 0 && frames > 0 ? v / frames : -1;
}

/* One run of vmm: a throughput pass and a latency pass. */
static bool run_vmm(const Bench *b, int vmm, int i, const Pass *base,
                    Results *res)
{
    Pass t, l;

    if (!run_pass(b, vmm, b->count, THROUGHPUT_WINDOW, &t) ||
        !run_pass(b, vmm, b->lat_count, 1, &l)) {
        return false;
    }
    res->fps[vmm][i] = 1e6 / t.us_per_frame;
    res->rtt[vmm][i] = l.us_per_frame;
    res->kicks[vmm][i] = per_frame(t.kicks, t.frames);
    res->calls[vmm][i] = per_frame(t.calls, t.frames);
    res->lat_kicks[vmm][i] = per_frame(l.kicks, l.frames);
    res->lat_calls[vmm][i] = per_frame(l.calls, l.frames);
    if (vmm == KVMINI) {
        res->exits_fps[i] = (t.exits - base->exits) / (b->count - 1);
        res->exits_rtt[i] = (l.exits - base->exits) / (b->lat_count - 1);
        res->extra_mmio += t.mmio + l.mmio - 2 * base->mmio;
        res->extra_irqs += t.irqs + l.irqs - 2 * base->irqs;
    }
    return true;
}

/* Each run's figures on stderr, to see the spread behind the medians. */
static void log_run(const Results *res, int i)
{
    fprintf(stderr, "run %d: frames/s", i + 1);
    for (int vmm = 0; vmm < N_VMMS; vmm++) {
        fprintf(stderr, " %.0f", res->fps[vmm][i]);
    }
    fprintf(stderr, ", rtt us");
    for (int vmm = 0; vmm < N_VMMS; vmm++) {
        fprintf(stderr, " %.1f", res->rtt[vmm][i]);
    }
    fprintf(stderr, " (kvmini, qemu vhost=on, qemu vhost=off)\n");
}

static bool run_all(const Bench *b, Results *res)
{
    Pass base;

    /* kvmini's exits for the boot, set-up, warm-up and one frame. */
    if (!run_pass(b, KVMINI, 1, 1, &base)) {
        return false;
    }
    for (int i = 0; i < b->runs; i++) {
        for (int vmm = 0; vmm < N_VMMS; vmm++) {
            if (!run_vmm(b, vmm, i, &base, res)) {
                return false;
            }
        }
        log_run(res, i);
    }
    return true;
}

/* --- report ---------------------------------------------------------- */

static const char *const vmm_names[N_VMMS] = {
    "kvmini vhost=on", "qemu vhost=on", "qemu vhost=off",
};

static void report_counts(const Bench *b, Results *res)
{
    printf("kvmini userspace exits per frame: %.3f at window %d, "
           "%.3f at window 1   (target 0)\n",
           bench_median(res->exits_fps, b->runs), THROUGHPUT_WINDOW,
           bench_median(res->exits_rtt, b->runs));
    if (res->extra_irqs > 0) {
        printf("  MMIO exits per guest interrupt (InterruptStatus, ACK): "
               "%.2f\n", res->extra_mmio / res->extra_irqs);
    }
    if (b->real_vhost) {
        return;
    }
    printf("stand-in per frame (window %d | window 1):\n", THROUGHPUT_WINDOW);
    for (int vmm = KVMINI; vmm <= QEMU_VHOST; vmm++) {
        printf("  %-15s kicks %.3f calls %.3f | kicks %.3f calls %.3f\n",
               vmm_names[vmm], bench_median(res->kicks[vmm], b->runs),
               bench_median(res->calls[vmm], b->runs),
               bench_median(res->lat_kicks[vmm], b->runs),
               bench_median(res->lat_calls[vmm], b->runs));
    }
}

static void report(const Bench *b, Results *res)
{
    double fps[N_VMMS], rtt[N_VMMS];

    printf("%d runs; throughput: %d frames, window %d; latency: %d frames, "
           "window 1; 64-byte frames\n", b->runs, b->count,
           THROUGHPUT_WINDOW, b->lat_count);
    /* bench_median() sorts: the best run is then at one end.  On a busy
     * host the best is the least disturbed. */
    for (int vmm = 0; vmm < N_VMMS; vmm++) {
        fps[vmm] = bench_median(res->fps[vmm], b->runs);
        rtt[vmm] = bench_median(res->rtt[vmm], b->runs);
        printf("%-15s median %6.0f frames/s  rtt %7.1f us   "
               "(best %6.0f, %7.1f)\n", vmm_names[vmm], fps[vmm], rtt[vmm],
               res->fps[vmm][b->runs - 1], res->rtt[vmm][0]);
    }
    printf("ratio kvmini/qemu-vhost:  frames/s %.3f   rtt %.3f\n",
           fps[KVMINI] / fps[QEMU_VHOST], rtt[KVMINI] / rtt[QEMU_VHOST]);
    printf("ratio kvmini/qemu-tap:    frames/s %.3f   rtt %.3f\n",
           fps[KVMINI] / fps[QEMU_TAP], rtt[KVMINI] / rtt[QEMU_TAP]);
    report_counts(b, res);
}

/* --- main ------------------------------------------------------------ */

static bool parse_args(Bench *b, int argc, char **argv)
{
    int pos = 0;

    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--runs") && i + 1 < argc) {
            b->runs = atoi(argv[++i]);
        } else if (!strcmp(argv[i], "--count") && i + 1 < argc) {
            b->count = atoi(argv[++i]);
        } else if (!strcmp(argv[i], "--lat-count") && i + 1 < argc) {
            b->lat_count = atoi(argv[++i]);
        } else if (!strcmp(argv[i], "--standin") && i + 1 < argc) {
            b->standin = argv[++i];
        } else if (pos++ == 0) {
            b->kvmini = argv[i];
        } else {
            b->guest = argv[i];
        }
    }
    if (b->runs < 1 || b->runs > MAX_RUNS || b->count < 2 ||
        b->lat_count < 2) {
        fprintf(stderr, "bad --runs (1..%d), --count or --lat-count "
                "(>= 2)\n", MAX_RUNS);
        return false;
    }
    return true;
}

/* Which vhost-net the vhost=on rows use, said once. */
static bool pick_vhost(Bench *b)
{
    b->real_vhost = access("/dev/vhost-net", R_OK | W_OK) == 0;
    if (!b->real_vhost && access(b->standin, X_OK) != 0) {
        fprintf(stderr, "no /dev/vhost-net and no stand-in at %s "
                "(--standin PATH)\n", b->standin);
        return false;
    }
    printf("vhost-net: %s\n", b->real_vhost ? "the kernel's /dev/vhost-net"
                                            : "vhost-standin");
    b->tsc_khz = host_tsc_khz();
    printf("TSC: %llu kHz (the host's, told to the guest)\n", b->tsc_khz);
    fflush(stdout);     /* before the runs' lines on stderr */
    return true;
}

int main(int argc, char **argv)
{
    Bench b = { .kvmini = "build/kvmini",
                .guest = "build/tests/guest/guest.elf",
                .standin = "build/tests/vhost-standin/vhost-standin",
                .runs = 5, .count = 2000, .lat_count = 500 };
    g_autofree Results *res = g_new0(Results, 1);
    g_autoptr(GError) err = NULL;
    bool ok;

    if (!parse_args(&b, argc, argv) || !pick_vhost(&b) || !enter_netns()) {
        return 1;
    }
    b.dir = g_dir_make_tmp("kvmini-tapbench-XXXXXX", &err);
    if (!b.dir) {
        fprintf(stderr, "%s\n", err->message);
        return 1;
    }
    b.stats_path = g_build_filename(b.dir, "standin.stats", NULL);
    ok = run_all(&b, res);
    if (ok) {
        report(&b, res);
    }
    unlink(b.stats_path);
    rmdir(b.dir);
    g_free(b.stats_path);
    g_free(b.dir);
    return ok ? 0 : 1;
}
