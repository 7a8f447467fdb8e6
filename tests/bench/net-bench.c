/* SPDX-License-Identifier: MIT */
/*
 * vhost-user-net benchmark: the test guest's test=net-bench (frames sent
 * to dpdk-testpmd in macswap mode and received back, a window in flight,
 * timed with the TSC in the guest) under kvmini and under QEMU microvm
 * against the same testpmd, interleaved, N runs each (default 5).  Prints
 * the median frames/s of each and the ratio, and kvmini's userspace exits
 * per frame (from `-d kvm`: a run with count=N minus one with count=1).
 *
 *   build/tests/bench/net-bench [--runs N] [--count N] [KVMINI [GUEST]]
 */
#include "bench-common.h"

#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* "net-bench: N frames in U us, F frames/s" -> F */
static double frames_per_sec(const char *out)
{
    const char *p = strstr(out, " frames in ");
    const char *q = p ? strstr(p, " us, ") : NULL;

    return q ? strtod(q + 5, NULL) : -1;
}

static pid_t start_testpmd(const char *sock)
{
    char vdev[300], prefix[64];

    snprintf(vdev, sizeof(vdev), "net_vhost0,iface=%s,queues=1", sock);
    snprintf(prefix, sizeof(prefix), "--file-prefix=kvmini-nb-%d", getpid());
    char *argv[] = { "dpdk-testpmd", "-l", "0,1", "--no-huge", "-m", "1024",
                     "--no-pci", prefix, "--vdev", vdev, "--",
                     "--no-mlockall", "--total-num-mbufs=8192",
                     "--forward-mode=macswap", "--stats-period", "10", NULL };
    pid_t pid = bench_spawn(argv, NULL);

    if (bench_wait_path(sock, 20000) < 0) {
        fprintf(stderr, "testpmd did not create %s\n", sock);
        exit(1);
    }
    return pid;
}

struct bench {
    const char *kvmini, *guest;
    int runs, count;
    char dir[sizeof("/tmp/kvmini-netbench-XXXXXX")];
    char sock[256];
    char append[64], chardev[300];      /* in both command lines */
    double exits_per_frame;             /* of the last kvmini run */
};

static bool parse_args(struct bench *b, int argc, char **argv)
{
    int pos = 0;

    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--runs") && i + 1 < argc) {
            b->runs = atoi(argv[++i]);
        } else if (!strcmp(argv[i], "--count") && i + 1 < argc) {
            b->count = atoi(argv[++i]);
        } else if (pos++ == 0) {
            b->kvmini = argv[i];
        } else {
            b->guest = argv[i];
        }
    }
    strcpy(b->dir, "/tmp/kvmini-netbench-XXXXXX");
    if (b->runs < 1 || b->runs > 100 || b->count < 2 || !mkdtemp(b->dir)) {
        fprintf(stderr, "bad --runs/--count or no temporary directory\n");
        return false;
    }
    return true;
}

/* count frames under kvmini (and its exits over base_exits) and under
 * QEMU: frames/s into *k and *q. */
static bool run_pair(struct bench *b, char **k_argv, char **q_argv,
                     double base_exits, double *k, double *q)
{
    static char out[1 << 16];

    if (bench_run_capture(k_argv, out, sizeof(out)) != 0 ||
        (*k = frames_per_sec(out)) < 0) {
        fprintf(stderr, "kvmini run failed:\n%s\n", out);
        return false;
    }
    b->exits_per_frame = (bench_number_after(out, "kvm: ") - base_exits) /
                         (b->count - 1);
    if (bench_run_capture(q_argv, out, sizeof(out)) != 1 ||
        (*q = frames_per_sec(out)) < 0) {
        fprintf(stderr, "QEMU run failed:\n%s\n", out);
        return false;
    }
    return true;
}

/* Baseline exits (the same boot with one frame), then the runs, kvmini
 * and QEMU interleaved. */
static bool run_all(struct bench *b, double *k, double *q)
{
    static char out[1 << 16];
    char *k_argv[] = { (char *)b->kvmini, "-m", "256M", "-d", "kvm",
                       "-chardev", b->chardev, "-netdev",
                       "vhost-user,id=n0,chardev=c1", "-device",
                       "virtio-net-device,netdev=n0", "-kernel",
                       (char *)b->guest, "-append", b->append, "-serial",
                       "stdio", NULL };
    char *q_argv[] = { "qemu-system-x86_64", "-M",
                       "microvm,memory-backend=mem,acpi=off", "-accel", "kvm",
                       "-m", "256M", "-nodefaults", "-nographic", "-serial",
                       "stdio", "-device", "isa-debug-exit,iobase=0xf4,iosize=4",
                       "-object", "memory-backend-memfd,id=mem,size=256M,share=on",
                       "-global", "virtio-mmio.force-legacy=false",
                       "-chardev", b->chardev, "-netdev",
                       "vhost-user,id=n0,chardev=c1", "-device",
                       "virtio-net-device,netdev=n0", "-kernel",
                       (char *)b->guest, "-append", b->append, NULL };

    snprintf(b->append, sizeof(b->append),
             "test=net-bench count=1 net_warmup_ms=100");
    if (bench_run_capture(k_argv, out, sizeof(out)) != 0) {
        fprintf(stderr, "kvmini baseline run failed:\n%s\n", out);
        return false;
    }
    double base_exits = bench_number_after(out, "kvm: ");

    snprintf(b->append, sizeof(b->append),
             "test=net-bench count=%d net_warmup_ms=100", b->count);
    for (int i = 0; i < b->runs; i++) {
        if (!run_pair(b, k_argv, q_argv, base_exits, &k[i], &q[i])) {
            return false;
        }
    }
    return true;
}

static void report(struct bench *b, double *k, double *q)
{
    double km = bench_median(k, b->runs), qm = bench_median(q, b->runs);

    printf("kvmini  median %10.0f frames/s   (%d runs of %d frames)\n",
           km, b->runs, b->count);
    printf("qemu    median %10.0f frames/s\n", qm);
    printf("ratio kvmini/qemu: %.3f   (target >= 1.0)\n", km / qm);
    printf("kvmini userspace exits per frame: %.3f   (target 0)\n",
           b->exits_per_frame);
}

int main(int argc, char **argv)
{
    struct bench b = { .kvmini = "build/kvmini",
                       .guest = "build/tests/guest/guest.elf",
                       .runs = 5, .count = 2000 };
    pid_t testpmd;
    bool ok;

    if (!parse_args(&b, argc, argv)) {
        return 1;
    }
    snprintf(b.sock, sizeof(b.sock), "%s/vhn.sock", b.dir);
    snprintf(b.chardev, sizeof(b.chardev), "socket,id=c1,path=%s", b.sock);
    testpmd = start_testpmd(b.sock);

    double k[b.runs], q[b.runs];

    ok = run_all(&b, k, q);
    if (ok) {
        report(&b, k, q);
    }
    bench_stop(testpmd, SIGINT);
    rmdir(b.dir);
    return ok ? 0 : 1;
}
