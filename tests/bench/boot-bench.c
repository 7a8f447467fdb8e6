/* SPDX-License-Identifier: MIT */
/*
 * Boot benchmark: the test guest's test=hello under kvmini and under QEMU
 * microvm, interleaved, N runs each (default 10).  Prints the median wall
 * time from spawn to exit, the median peak RSS (wait4 rusage; the child is
 * started with posix_spawn so its high-water mark is its own, not a
 * forked interpreter's), the kvmini/QEMU ratios, and the kernel's own
 * floor: creating and destroying an empty VM with an in-kernel irqchip
 * (and PIT), which every KVM VMM pays at exit.
 *
 *   build/tests/bench/boot-bench [--runs N] [--pit off] [KVMINI [GUEST]]
 */
#include <fcntl.h>
#include <linux/kvm.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

extern char **environ;

typedef struct Sample {
    double ms;
    long rss_kib;
} Sample;

static double now_ms(void)
{
    struct timespec t;

    clock_gettime(CLOCK_MONOTONIC, &t);
    return t.tv_sec * 1e3 + t.tv_nsec / 1e6;
}

/* Run argv with stdout/stderr to /dev/null; returns exit status. */
static int run(char *const argv[], Sample *s)
{
    posix_spawn_file_actions_t fa;
    struct rusage ru;
    pid_t pid;
    int status;
    double t0 = now_ms();

    posix_spawn_file_actions_init(&fa);
    posix_spawn_file_actions_addopen(&fa, 0, "/dev/null", O_RDONLY, 0);
    posix_spawn_file_actions_addopen(&fa, 1, "/dev/null", O_WRONLY, 0);
    posix_spawn_file_actions_addopen(&fa, 2, "/dev/null", O_WRONLY, 0);
    if (posix_spawnp(&pid, argv[0], &fa, NULL, argv, environ) != 0) {
        perror(argv[0]);
        exit(1);
    }
    posix_spawn_file_actions_destroy(&fa);
    wait4(pid, &status, 0, &ru);
    s->ms = now_ms() - t0;
    s->rss_kib = ru.ru_maxrss;
    return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;

    return (x > y) - (x < y);
}

static double median(double *v, int n)
{
    qsort(v, n, sizeof(*v), cmp_double);
    return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

static void summarise(const char *name, const Sample *s, int n,
                      double *ms, double *rss)
{
    double a[n], b[n];

    for (int i = 0; i < n; i++) {
        a[i] = s[i].ms;
        b[i] = s[i].rss_kib / 1024.0;
    }
    *ms = median(a, n);
    *rss = median(b, n);
    printf("%-8s median wall %7.1f ms   peak RSS %6.1f MiB   (%d runs)\n",
           name, *ms, *rss, n);
}

/* Kernel floor: create + destroy a VM with irqchip (+ PIT), one vCPU. */
static double kvm_floor_ms(int pit)
{
    int kvm = open("/dev/kvm", O_RDWR | O_CLOEXEC);
    double t0 = now_ms();
    int vm = ioctl(kvm, KVM_CREATE_VM, 0);
    struct kvm_pit_config cfg = { 0 };

    ioctl(vm, KVM_CREATE_IRQCHIP, 0);
    if (pit) {
        ioctl(vm, KVM_CREATE_PIT2, &cfg);
    }
    close(ioctl(vm, KVM_CREATE_VCPU, 0));
    close(vm);
    close(kvm);
    return now_ms() - t0;
}

int main(int argc, char **argv)
{
    const char *kvmini = "build/kvmini", *guest = "build/tests/guest/guest.elf";
    int runs = 10, pit = 1, pos = 0;

    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--runs") && i + 1 < argc) {
            runs = atoi(argv[++i]);
        } else if (!strcmp(argv[i], "--pit") && i + 1 < argc) {
            pit = strcmp(argv[++i], "off") != 0;
        } else if (pos++ == 0) {
            kvmini = argv[i];
        } else {
            guest = argv[i];
        }
    }
    if (runs < 1 || runs > 1000) {
        fprintf(stderr, "--runs must be 1..1000\n");
        return 1;
    }
    const char *mopt = pit ? "microvm" : "microvm,pit=off";
    char *k_argv[] = { (char *)kvmini, "-M", (char *)mopt, "-m", "256M",
                       "-kernel", (char *)guest, "-append", "test=hello",
                       "-serial", "stdio", NULL };
    char *q_argv[] = { "qemu-system-x86_64", "-M", (char *)mopt,
                       "-accel", "kvm", "-m", "256M", "-nodefaults",
                       "-nographic", "-serial", "stdio", "-device",
                       "isa-debug-exit,iobase=0xf4,iosize=4", "-kernel",
                       (char *)guest, "-append", "test=hello", NULL };
    Sample *ks = calloc(runs, sizeof(*ks)), *qs = calloc(runs, sizeof(*qs));
    double floor[runs];

    for (int i = 0; i < runs; i++) {
        if (run(k_argv, &ks[i]) != 0 || run(q_argv, &qs[i]) != 1) {
            fprintf(stderr, "a run failed (kvmini must exit 0, QEMU 1)\n");
            return 1;
        }
        floor[i] = kvm_floor_ms(pit);
    }
    double kms, krss, qms, qrss;
    summarise("kvmini", ks, runs, &kms, &krss);
    summarise("qemu", qs, runs, &qms, &qrss);
    printf("ratio kvmini/qemu: wall %.3f   RSS %.3f   (target <= 0.2)\n",
           kms / qms, krss / qrss);
    printf("kernel floor (create+destroy VM, irqchip%s, 1 vCPU): %.1f ms\n",
           pit ? "+PIT" : "", median(floor, runs));
    free(ks);
    free(qs);
    return 0;
}
