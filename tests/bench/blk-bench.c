/* SPDX-License-Identifier: MIT */
/*
 * vhost-user-blk benchmark: the test guest's test=blk-bench (sequential
 * 4 KiB reads, one in flight, interrupt driven) against one
 * qemu-storage-daemon export, under kvmini and under QEMU microvm,
 * interleaved, N runs each (default 5).  Prints the median requests/s of
 * each and the ratio, and the KVM exits that reached kvmini's userspace
 * per request (from `-d kvm`, a run with count=N minus a run with
 * count=0): kicks (ioeventfd) and interrupts (irqfd) should bypass the
 * VMM, so the target is 0.
 *
 *   build/tests/bench/blk-bench [--runs N] [--count N] [KVMINI [GUEST]]
 */
#include "bench-common.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>


/* "blk-bench: N reads in U us, R req/s" -> R */
static double reqs_per_sec(const char *out)
{
    const char *p = strstr(out, "blk-bench: ");
    const char *q = p ? strstr(p, " us, ") : NULL;

    return q ? strtod(q + 5, NULL) : -1;
}

static pid_t start_qsd(const char *image, const char *sock)
{
    char blockdev[512], export[512];
    pid_t pid;

    snprintf(blockdev, sizeof(blockdev),
             "driver=file,node-name=disk,filename=%s", image);
    snprintf(export, sizeof(export), "type=vhost-user-blk,id=exp0,"
             "node-name=disk,addr.type=unix,addr.path=%s,writable=on", sock);
    char *argv[] = { "qemu-storage-daemon", "--blockdev", blockdev,
                     "--export", export, NULL };

    pid = bench_spawn(argv, NULL);
    bench_wait_path(sock, 10000);
    return pid;
}

int main(int argc, char **argv)
{
    const char *kvmini = "build/kvmini", *guest = "build/tests/guest/guest.elf";
    int runs = 5, count = 2000, pos = 0;
    static char out[1 << 16];
    char dir[] = "/tmp/kvmini-blkbench-XXXXXX", image[256], sock[256];
    char append[64] = "", chardev[300];

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
    if (runs < 1 || runs > 100 || count < 2) {
        fprintf(stderr, "bad --runs/--count\n");
        return 1;
    }
    if (!mkdtemp(dir)) {
        perror("mkdtemp");
        return 1;
    }
    snprintf(image, sizeof(image), "%s/disk.img", dir);
    snprintf(sock, sizeof(sock), "%s/vub.sock", dir);
    int fd = open(image, O_CREAT | O_RDWR | O_CLOEXEC, 0600);
    if (fd < 0 || ftruncate(fd, 64 << 20) < 0) {
        perror(image);
        return 1;
    }
    close(fd);
    pid_t qsd = start_qsd(image, sock);
    snprintf(chardev, sizeof(chardev), "socket,id=c0,path=%s", sock);

    char *k_argv[] = { (char *)kvmini, "-m", "256M", "-d", "kvm",
                       "-chardev", chardev, "-device",
                       "vhost-user-blk,chardev=c0", "-kernel", (char *)guest,
                       "-append", append, "-serial", "stdio", NULL };
    char *q_argv[] = { "qemu-system-x86_64", "-M",
                       "microvm,memory-backend=mem,acpi=off", "-accel", "kvm",
                       "-m", "256M", "-nodefaults", "-nographic", "-serial",
                       "stdio", "-device", "isa-debug-exit,iobase=0xf4,iosize=4",
                       "-object", "memory-backend-memfd,id=mem,size=256M,share=on",
                       "-global", "virtio-mmio.force-legacy=false",
                       "-chardev", chardev, "-device", "vhost-user-blk,chardev=c0",
                       "-kernel", (char *)guest, "-append", append, NULL };
    double k[runs], q[runs], exits_per_req = 0, mmio_per_irq = 0;

    /* Baseline exits: the same boot with a single request. */
    snprintf(append, sizeof(append), "test=blk-bench count=1");
    if (bench_run_capture(k_argv, out, sizeof(out)) != 0) {
        fprintf(stderr, "kvmini baseline run failed:\n%s\n", out);
        goto fail;
    }
    double base_exits = bench_number_after(out, "kvm: ");
    double base_mmio = bench_number_after(out, "port I/O, ");

    snprintf(append, sizeof(append), "test=blk-bench count=%d", count);
    for (int i = 0; i < runs; i++) {
        if (bench_run_capture(k_argv, out, sizeof(out)) != 0 ||
            (k[i] = reqs_per_sec(out)) < 0) {
            fprintf(stderr, "kvmini run failed:\n%s\n", out);
            goto fail;
        }
        exits_per_req = (bench_number_after(out, "kvm: ") - base_exits) / (count - 1);
        mmio_per_irq = (bench_number_after(out, "port I/O, ") - base_mmio) /
                       bench_number_after(strstr(out, "reads in"), "\nblk-bench: ");
        if (bench_run_capture(q_argv, out, sizeof(out)) != 1 ||
            (q[i] = reqs_per_sec(out)) < 0) {
            fprintf(stderr, "QEMU run failed:\n%s\n", out);
            goto fail;
        }
    }
    double km = bench_median(k, runs), qm = bench_median(q, runs);
    printf("kvmini  median %10.0f req/s   (%d runs of %d 4 KiB reads)\n",
           km, runs, count);
    printf("qemu    median %10.0f req/s\n", qm);
    printf("ratio kvmini/qemu: %.3f   (target >= 1.0)\n", km / qm);
    printf("kvmini userspace exits per request: %.3f   (target 0)\n",
           exits_per_req);
    printf("  of which MMIO per guest interrupt: %.3f (InterruptStatus read "
           "+ InterruptACK write; kicks and interrupts themselves: 0)\n",
           mmio_per_irq);
    kill(qsd, SIGTERM);
    waitpid(qsd, NULL, 0);
    unlink(image);
    rmdir(dir);
    return 0;

fail:
    kill(qsd, SIGTERM);
    waitpid(qsd, NULL, 0);
    unlink(image);
    rmdir(dir);
    return 1;
}
