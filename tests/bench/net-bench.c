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

int main(int argc, char **argv)
{
    const char *kvmini = "build/kvmini", *guest = "build/tests/guest/guest.elf";
    int runs = 5, count = 2000, pos = 0;
    static char out[1 << 16];
    char dir[] = "/tmp/kvmini-netbench-XXXXXX", sock[256], chardev[300];
    char append[64] = "";

    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--runs") && i + 1 < argc) {
            runs = atoi(argv[++i]);
        } else if (!strcmp(argv[i], "--count") && i + 1 < argc) {
            count = atoi(argv[++i]);
        } else if (pos++ == 0) {
            kvmini = argv[i];
        } else {
            guest = argv[i];
        }
    }
    if (runs < 1 || runs > 100 || count < 2 || !mkdtemp(dir)) {
        fprintf(stderr, "bad --runs/--count or no temporary directory\n");
        return 1;
    }
    snprintf(sock, sizeof(sock), "%s/vhn.sock", dir);
    snprintf(chardev, sizeof(chardev), "socket,id=c1,path=%s", sock);
    pid_t testpmd = start_testpmd(sock);

    char *k_argv[] = { (char *)kvmini, "-m", "256M", "-d", "kvm",
                       "-chardev", chardev, "-netdev",
                       "vhost-user,id=n0,chardev=c1", "-device",
                       "virtio-net-device,netdev=n0", "-kernel", (char *)guest,
                       "-append", append, "-serial", "stdio", NULL };
    char *q_argv[] = { "qemu-system-x86_64", "-M",
                       "microvm,memory-backend=mem,acpi=off", "-accel", "kvm",
                       "-m", "256M", "-nodefaults", "-nographic", "-serial",
                       "stdio", "-device", "isa-debug-exit,iobase=0xf4,iosize=4",
                       "-object", "memory-backend-memfd,id=mem,size=256M,share=on",
                       "-global", "virtio-mmio.force-legacy=false",
                       "-chardev", chardev, "-netdev",
                       "vhost-user,id=n0,chardev=c1", "-device",
                       "virtio-net-device,netdev=n0", "-kernel", (char *)guest,
                       "-append", append, NULL };
    double k[runs], q[runs], exits_per_frame = 0;
    int rc = 1;

    snprintf(append, sizeof(append), "test=net-bench count=1 net_warmup_ms=100");
    if (bench_run_capture(k_argv, out, sizeof(out)) != 0) {
        fprintf(stderr, "kvmini baseline run failed:\n%s\n", out);
        goto out;
    }
    double base_exits = bench_number_after(out, "kvm: ");

    snprintf(append, sizeof(append), "test=net-bench count=%d net_warmup_ms=100", count);
    for (int i = 0; i < runs; i++) {
        if (bench_run_capture(k_argv, out, sizeof(out)) != 0 ||
            (k[i] = frames_per_sec(out)) < 0) {
            fprintf(stderr, "kvmini run failed:\n%s\n", out);
            goto out;
        }
        exits_per_frame = (bench_number_after(out, "kvm: ") - base_exits) /
                          (count - 1);
        if (bench_run_capture(q_argv, out, sizeof(out)) != 1 ||
            (q[i] = frames_per_sec(out)) < 0) {
            fprintf(stderr, "QEMU run failed:\n%s\n", out);
            goto out;
        }
    }
    double km = bench_median(k, runs), qm = bench_median(q, runs);
    printf("kvmini  median %10.0f frames/s   (%d runs of %d frames)\n",
           km, runs, count);
    printf("qemu    median %10.0f frames/s\n", qm);
    printf("ratio kvmini/qemu: %.3f   (target >= 1.0)\n", km / qm);
    printf("kvmini userspace exits per frame: %.3f   (target 0)\n",
           exits_per_frame);
    rc = 0;
out:
    bench_stop(testpmd, SIGINT);
    rmdir(dir);
    return rc;
}
