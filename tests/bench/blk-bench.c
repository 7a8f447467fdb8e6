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
#include <stdbool.h>
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

struct bench {
    const char *kvmini, *guest;
    int runs, count;
    char dir[sizeof("/tmp/kvmini-blkbench-XXXXXX")];
    char image[256], sock[256];
    char append[64], chardev[300];      /* in both command lines */
    double exits_per_req, mmio_per_irq; /* of the last kvmini run */
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
    if (b->runs < 1 || b->runs > 100 || b->count < 2) {
        fprintf(stderr, "bad --runs/--count\n");
        return false;
    }
    return true;
}

/* A temporary directory with a 64 MiB disk image and the socket path. */
static bool make_disk(struct bench *b)
{
    strcpy(b->dir, "/tmp/kvmini-blkbench-XXXXXX");
    if (!mkdtemp(b->dir)) {
        perror("mkdtemp");
        return false;
    }
    snprintf(b->image, sizeof(b->image), "%s/disk.img", b->dir);
    snprintf(b->sock, sizeof(b->sock), "%s/vub.sock", b->dir);
    int fd = open(b->image, O_CREAT | O_RDWR | O_CLOEXEC, 0600);
    if (fd < 0 || ftruncate(fd, 64 << 20) < 0) {
        perror(b->image);
        return false;
    }
    close(fd);
    return true;
}

/* count requests under kvmini (and its exits over those of base) and
 * under QEMU: requests/s into *k and *q. */
static bool run_pair(struct bench *b, char **k_argv, char **q_argv,
                     double base_exits, double base_mmio,
                     double *k, double *q)
{
    static char out[1 << 16];

    if (bench_run_capture(k_argv, out, sizeof(out)) != 0 ||
        (*k = reqs_per_sec(out)) < 0) {
        fprintf(stderr, "kvmini run failed:\n%s\n", out);
        return false;
    }
    b->exits_per_req = (bench_number_after(out, "kvm: ") - base_exits) /
                       (b->count - 1);
    b->mmio_per_irq = (bench_number_after(out, "port I/O, ") - base_mmio) /
                      bench_number_after(strstr(out, "reads in"),
                                         "\nblk-bench: ");
    if (bench_run_capture(q_argv, out, sizeof(out)) != 1 ||
        (*q = reqs_per_sec(out)) < 0) {
        fprintf(stderr, "QEMU run failed:\n%s\n", out);
        return false;
    }
    return true;
}

/* Baseline exits (the same boot with a single request), then the runs,
 * kvmini and QEMU interleaved. */
static bool run_all(struct bench *b, double *k, double *q)
{
    static char out[1 << 16];
    char *k_argv[] = { (char *)b->kvmini, "-m", "256M", "-d", "kvm",
                       "-chardev", b->chardev, "-device",
                       "vhost-user-blk,chardev=c0", "-kernel", (char *)b->guest,
                       "-append", b->append, "-serial", "stdio", NULL };
    char *q_argv[] = { "qemu-system-x86_64", "-M",
                       "microvm,memory-backend=mem,acpi=off", "-accel", "kvm",
                       "-m", "256M", "-nodefaults", "-nographic", "-serial",
                       "stdio", "-device", "isa-debug-exit,iobase=0xf4,iosize=4",
                       "-object", "memory-backend-memfd,id=mem,size=256M,share=on",
                       "-global", "virtio-mmio.force-legacy=false",
                       "-chardev", b->chardev, "-device",
                       "vhost-user-blk,chardev=c0", "-kernel",
                       (char *)b->guest, "-append", b->append, NULL };

    snprintf(b->append, sizeof(b->append), "test=blk-bench count=1");
    if (bench_run_capture(k_argv, out, sizeof(out)) != 0) {
        fprintf(stderr, "kvmini baseline run failed:\n%s\n", out);
        return false;
    }
    double base_exits = bench_number_after(out, "kvm: ");
    double base_mmio = bench_number_after(out, "port I/O, ");

    snprintf(b->append, sizeof(b->append), "test=blk-bench count=%d",
             b->count);
    for (int i = 0; i < b->runs; i++) {
        if (!run_pair(b, k_argv, q_argv, base_exits, base_mmio, &k[i],
                      &q[i])) {
            return false;
        }
    }
    return true;
}

static void report(struct bench *b, double *k, double *q)
{
    double km = bench_median(k, b->runs), qm = bench_median(q, b->runs);

    printf("kvmini  median %10.0f req/s   (%d runs of %d 4 KiB reads)\n",
           km, b->runs, b->count);
    printf("qemu    median %10.0f req/s\n", qm);
    printf("ratio kvmini/qemu: %.3f   (target >= 1.0)\n", km / qm);
    printf("kvmini userspace exits per request: %.3f   (target 0)\n",
           b->exits_per_req);
    printf("  of which MMIO per guest interrupt: %.3f (InterruptStatus read "
           "+ InterruptACK write; kicks and interrupts themselves: 0)\n",
           b->mmio_per_irq);
}

int main(int argc, char **argv)
{
    struct bench b = { .kvmini = "build/kvmini",
                       .guest = "build/tests/guest/guest.elf",
                       .runs = 5, .count = 2000 };
    pid_t qsd;
    bool ok;

    if (!parse_args(&b, argc, argv) || !make_disk(&b)) {
        return 1;
    }
    qsd = start_qsd(b.image, b.sock);
    snprintf(b.chardev, sizeof(b.chardev), "socket,id=c0,path=%s", b.sock);

    double k[b.runs], q[b.runs];

    ok = run_all(&b, k, q);
    if (ok) {
        report(&b, k, q);
    }
    kill(qsd, SIGTERM);
    waitpid(qsd, NULL, 0);
    unlink(b.image);
    rmdir(b.dir);
    return ok ? 0 : 1;
}
