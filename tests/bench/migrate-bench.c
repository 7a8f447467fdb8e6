/* SPDX-License-Identifier: MIT */
/*
 * Migration benchmark: a 1 GiB guest migrated over a unix socket between
 * two kvmini processes and between two QEMU microvm processes, on the
 * same machine, interleaved, N runs each (default 3).  Scenarios:
 *
 *   idle      the test guest sleeping (test=dirty touching one page every
 *             100 ms); RAM untouched apart from the guest image
 *   filled    the same guest, with RAM backed by a file the benchmark
 *             fills with random bytes first: 1 GiB of data pages to copy
 *   dirtying  the guest rewriting a 16 MiB range continuously
 *
 * Both VMMs get max-bandwidth 100 GiB/s and downtime-limit 300 ms (QEMU's
 * default max-bandwidth of 128 MiB/s would measure the throttle).  For
 * each run: wall time from `migrate` to a completed query-migrate
 * (polled every millisecond), the VMM's own total-time and downtime, and
 * the throughput (RAM size / total-time).  Last, the memcpy bandwidth of
 * 1 GiB measured in the same process, the yardstick for the throughput.
 *
 *   build/tests/bench/migrate-bench [--runs N] [KVMINI [GUEST]]
 *
 * Needs /dev/kvm, qemu-system-x86_64 and about 5 GiB free in /dev/shm.
 */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <stddef.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define RAM_BYTES   (1ULL << 30)
#define MAX_RUNS    100

extern char **environ;

typedef enum { IDLE, FILLED, DIRTYING, NSCEN } Scenario;
static const char *const scen_names[] = { "idle", "filled", "dirtying" };

typedef struct Result {
    double wall_ms, total_ms, downtime_ms, transferred;
} Result;

typedef struct Bench {
    const char *kvmini;
    const char *guest;
    char dir[64];
} Bench;

static double now_ms(void)
{
    struct timespec t;

    clock_gettime(CLOCK_MONOTONIC, &t);
    return t.tv_sec * 1e3 + t.tv_nsec / 1e6;
}

static void die(const char *msg)
{
    fprintf(stderr, "migrate-bench: %s\n", msg);
    exit(1);
}

/* --- processes and QMP ------------------------------------------------- */

static pid_t spawn(char *const argv[], const char *log)
{
    posix_spawn_file_actions_t fa;
    pid_t pid;

    posix_spawn_file_actions_init(&fa);
    posix_spawn_file_actions_addopen(&fa, 0, "/dev/null", O_RDONLY, 0);
    posix_spawn_file_actions_addopen(&fa, 1, log, O_WRONLY | O_CREAT |
                                     O_TRUNC, 0600);
    posix_spawn_file_actions_adddup2(&fa, 1, 2);
    if (posix_spawnp(&pid, argv[0], &fa, NULL, argv, environ) != 0) {
        perror(argv[0]);
        exit(1);
    }
    posix_spawn_file_actions_destroy(&fa);
    return pid;
}

static void reap(pid_t pid)
{
    kill(pid, SIGKILL);
    waitpid(pid, NULL, 0);
}

/* One line from fd into buf (NUL terminated, without the newline). */
static void read_line(int fd, char *buf, size_t n)
{
    size_t i = 0;

    while (i + 1 < n) {
        ssize_t r = read(fd, &buf[i], 1);

        if (r <= 0) {
            die("QMP connection closed");
        }
        if (buf[i] == '\n') {
            break;
        }
        i++;
    }
    buf[i] = 0;
}

/* Send cmd, return the next line that is not an event in reply. */
static void qmp(int fd, const char *cmd, char *reply, size_t n)
{
    if (write(fd, cmd, strlen(cmd)) != (ssize_t)strlen(cmd)) {
        die("QMP write failed");
    }
    do {
        read_line(fd, reply, n);
    } while (strstr(reply, "\"event\""));
    if (!strstr(reply, "\"return\"")) {
        fprintf(stderr, "QMP: %s -> %s\n", cmd, reply);
        exit(1);
    }
}

static int qmp_open(const char *path)
{
    struct sockaddr_un sa = { .sun_family = AF_UNIX };
    char line[4096];
    int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);

    if (strlen(path) >= sizeof(sa.sun_path)) {
        die("socket path too long");
    }
    memcpy(sa.sun_path, path, strlen(path) + 1);
    for (int i = 0; connect(fd, (struct sockaddr *)&sa, sizeof(sa)); i++) {
        if (i > 2000) {
            die("cannot connect to QMP");
        }
        usleep(5000);
    }
    read_line(fd, line, sizeof(line));                /* greeting */
    qmp(fd, "{\"execute\": \"qmp_capabilities\"}", line, sizeof(line));
    return fd;
}

static double json_num(const char *text, const char *key)
{
    char pat[64];
    const char *p;

    snprintf(pat, sizeof(pat), "\"%s\": ", key);
    p = strstr(text, pat);
    return p ? strtod(p + strlen(pat), NULL) : -1;
}

static bool file_has(const char *path, const char *text)
{
    char buf[8192] = { 0 };
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    ssize_t n = fd >= 0 ? read(fd, buf, sizeof(buf) - 1) : -1;

    if (fd >= 0) {
        close(fd);
    }
    return n > 0 && strstr(buf, text);
}

/* --- one migration -------------------------------------------------------- */

/* 1 GiB of xorshift bytes in path (the source's RAM for FILLED). */
static void fill_file(const char *path)
{
    static uint64_t buf[1 << 17];
    uint64_t x = 0x9e3779b97f4a7c15ULL;
    int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);

    for (uint64_t done = 0; done < RAM_BYTES; done += sizeof(buf)) {
        for (size_t i = 0; i < sizeof(buf) / 8; i++) {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            buf[i] = x;
        }
        if (write(fd, buf, sizeof(buf)) != sizeof(buf)) {
            die("cannot fill the RAM file (is /dev/shm big enough?)");
        }
    }
    close(fd);
}

/* argv for one side: common options, RAM backing, -incoming. */
static void build_argv(const Bench *b, bool qemu, Scenario sc,
                       const char *side, char *store, char **argv)
{
    int n = 0;
    char *p = store;
#define ARG(...) (argv[n++] = p, p += sprintf(p, __VA_ARGS__) + 1)

    ARG("%s", qemu ? "qemu-system-x86_64" : b->kvmini);
    ARG("-M");
    ARG(sc == FILLED ? "microvm,memory-backend=ram0" : "microvm");
    if (qemu) {
        ARG("-accel"); ARG("kvm"); ARG("-nodefaults"); ARG("-display");
        ARG("none"); ARG("-device"); ARG("isa-debug-exit,iobase=0xf4,"
                                         "iosize=4");
    }
    ARG("-m"); ARG("1G"); ARG("-kernel"); ARG("%s", b->guest);
    ARG("-append");
    ARG(sc == DIRTYING ? "test=dirty dirty_iters=100000000 "
                         "dirty_pages=4096 dirty_sleep_us=1000"
                       : "test=dirty dirty_iters=100000000 dirty_pages=1 "
                         "dirty_sleep_us=100000");
    ARG("-serial"); ARG("file:%s/%s.out", b->dir, side);
    ARG("-qmp"); ARG("unix:%s/%s.qmp,server=on,wait=off", b->dir, side);
    if (sc == FILLED) {
        ARG("-object");
        ARG("memory-backend-file,id=ram0,size=1G,mem-path=%s/%s.ram,"
            "share=on", b->dir, side);
    }
    if (!strcmp(side, "dst")) {
        ARG("-incoming"); ARG("unix:%s/mig.sock", b->dir);
    }
    argv[n] = NULL;
#undef ARG
}

static pid_t start_side(const Bench *b, bool qemu, Scenario sc,
                        const char *side, int *qmp_fd)
{
    char store[4096], *argv[64], path[128], log[128];

    snprintf(path, sizeof(path), "%s/%s.qmp", b->dir, side);
    snprintf(log, sizeof(log), "%s/%s.log", b->dir, side);
    unlink(path);
    build_argv(b, qemu, sc, side, store, argv);
    pid_t pid = spawn(argv, log);
    *qmp_fd = qmp_open(path);
    return pid;
}

static void clean_dir(const Bench *b)
{
    const char *files[] = { "src.ram", "dst.ram", "src.out", "dst.out",
                            "src.log", "dst.log", "mig.sock", "src.qmp",
                            "dst.qmp" };
    char path[128];

    for (size_t i = 0; i < sizeof(files) / sizeof(files[0]); i++) {
        snprintf(path, sizeof(path), "%s/%s", b->dir, files[i]);
        unlink(path);
    }
}

static void wait_guest(const Bench *b)
{
    char out[128];

    snprintf(out, sizeof(out), "%s/src.out", b->dir);
    for (int i = 0; !file_has(out, "test dirty: started"); i++) {
        if (i > 3000) {
            die("the guest did not start on the source");
        }
        usleep(10000);
    }
    usleep(200000);     /* let the dirtying guest write a few rounds */
}

static Result migrate_once(const Bench *b, bool qemu, Scenario sc)
{
    char reply[8192], cmd[256];
    int sq, dq;
    pid_t dst, src;
    Result r = { 0 };
    double t0;

    clean_dir(b);
    if (sc == FILLED) {
        snprintf(cmd, sizeof(cmd), "%s/src.ram", b->dir);
        fill_file(cmd);
    }
    dst = start_side(b, qemu, sc, "dst", &dq);
    src = start_side(b, qemu, sc, "src", &sq);
    wait_guest(b);
    qmp(sq, "{\"execute\": \"migrate-set-parameters\", \"arguments\": "
        "{\"max-bandwidth\": 107374182400, \"downtime-limit\": 300}}",
        reply, sizeof(reply));
    snprintf(cmd, sizeof(cmd), "{\"execute\": \"migrate\", \"arguments\": "
             "{\"uri\": \"unix:%s/mig.sock\"}}", b->dir);
    t0 = now_ms();
    qmp(sq, cmd, reply, sizeof(reply));
    for (;;) {
        qmp(sq, "{\"execute\": \"query-migrate\"}", reply, sizeof(reply));
        if (strstr(reply, "\"completed\"")) {
            break;
        }
        if (strstr(reply, "\"failed\"") || now_ms() - t0 > 120000) {
            fprintf(stderr, "%s: %s\n", qemu ? "qemu" : "kvmini", reply);
            die("migration failed");
        }
        usleep(1000);
    }
    r.wall_ms = now_ms() - t0;
    r.total_ms = json_num(reply, "total-time");
    r.downtime_ms = json_num(reply, "downtime");
    r.transferred = json_num(reply, "transferred");
    close(sq);
    close(dq);
    reap(src);
    reap(dst);
    clean_dir(b);
    return r;
}

/* --- summary ---------------------------------------------------------------- */

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;

    return (x > y) - (x < y);
}

static double median_of(const Result *rs, int n, size_t off)
{
    double v[MAX_RUNS];

    for (int i = 0; i < n; i++) {
        v[i] = *(const double *)((const char *)&rs[i] + off);
    }
    qsort(v, n, sizeof(v[0]), cmp_double);
    return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

#define MEDIAN(rs, n, f) median_of(rs, n, offsetof(Result, f))

static double print_row(const char *who, const Result *rs, int n)
{
    double total = MEDIAN(rs, n, total_ms);
    double gbps = RAM_BYTES / (total / 1e3) / 1e9;

    printf("  %-7s wall %8.1f ms  total-time %7.0f ms  downtime %5.0f ms"
           "  transferred %7.1f MiB  throughput %6.2f GB/s\n", who,
           MEDIAN(rs, n, wall_ms), total, MEDIAN(rs, n, downtime_ms),
           MEDIAN(rs, n, transferred) / (1 << 20), gbps);
    return gbps;
}

/* Best of 3 copies of 1 GiB (both buffers touched first). */
static double memcpy_gbps(void)
{
    char *a = malloc(RAM_BYTES), *b = malloc(RAM_BYTES);
    double best = 1e30;

    if (!a || !b) {
        die("out of memory for the memcpy yardstick");
    }
    memset(a, 1, RAM_BYTES);
    memset(b, 2, RAM_BYTES);
    for (int i = 0; i < 3; i++) {
        double t0 = now_ms();

        memcpy(b, a, RAM_BYTES);
        best = best < now_ms() - t0 ? best : now_ms() - t0;
    }
    free(a);
    free(b);
    return RAM_BYTES / (best / 1e3) / 1e9;
}

/* Best of 3 copies of 1 GiB into a fresh memfd mapping, as a
 * destination's RAM is: the copy also allocates every page.  Not the
 * target's yardstick; printed to show where the destination's floor is. */
static double memcpy_fresh_gbps(void)
{
    char *a = malloc(RAM_BYTES);
    double best = 1e30;

    if (!a) {
        die("out of memory for the memcpy yardstick");
    }
    memset(a, 1, RAM_BYTES);
    for (int i = 0; i < 3; i++) {
        int fd = memfd_create("migrate-bench", MFD_CLOEXEC);
        char *b;
        double t0;

        if (fd < 0 || ftruncate(fd, RAM_BYTES) < 0) {
            die("cannot create a memfd for the memcpy yardstick");
        }
        b = mmap(NULL, RAM_BYTES, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
        if (b == MAP_FAILED) {
            die("cannot map the memfd for the memcpy yardstick");
        }
        t0 = now_ms();
        memcpy(b, a, RAM_BYTES);
        best = best < now_ms() - t0 ? best : now_ms() - t0;
        munmap(b, RAM_BYTES);
        close(fd);
    }
    free(a);
    return RAM_BYTES / (best / 1e3) / 1e9;
}

static void run_scenario(const Bench *b, Scenario sc, int runs,
                         double mc)
{
    Result k[MAX_RUNS], q[MAX_RUNS];
    double kg, kt, qt, kd, qd;

    for (int i = 0; i < runs; i++) {
        k[i] = migrate_once(b, false, sc);
        q[i] = migrate_once(b, true, sc);
    }
    printf("%s (1 GiB, %d runs, medians):\n", scen_names[sc], runs);
    kg = print_row("kvmini", k, runs);
    print_row("qemu", q, runs);
    kt = MEDIAN(k, runs, total_ms);
    qt = MEDIAN(q, runs, total_ms);
    kd = MEDIAN(k, runs, downtime_ms);
    qd = MEDIAN(q, runs, downtime_ms);
    printf("  ratio kvmini/qemu: total-time %.3f (target <= 0.5), wall %.3f,"
           " downtime %.0f vs %.0f ms (target <=)\n", kt / qt,
           MEDIAN(k, runs, wall_ms) / MEDIAN(q, runs, wall_ms), kd, qd);
    printf("  kvmini throughput / memcpy: %.2f (memcpy %.2f GB/s; target "
           ">= 0.5)\n", kg / mc, mc);
}

int main(int argc, char **argv)
{
    Bench b = { .kvmini = "build/kvmini",
                .guest = "build/tests/guest/guest.elf" };
    int runs = 3, pos = 0;
    double mc;

    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--runs") && i + 1 < argc) {
            runs = atoi(argv[++i]);
        } else if (pos++ == 0) {
            b.kvmini = argv[i];
        } else {
            b.guest = argv[i];
        }
    }
    if (runs < 1 || runs > MAX_RUNS) {
        die("--runs must be 1..100");
    }
    snprintf(b.dir, sizeof(b.dir), "/dev/shm/migrate-bench-%d", getpid());
    if (mkdir(b.dir, 0700) < 0) {
        die(strerror(errno));
    }
    mc = memcpy_gbps();
    for (Scenario sc = 0; sc < NSCEN; sc++) {
        run_scenario(&b, sc, runs, mc);
    }
    printf("memcpy of 1 GiB: %.2f GB/s (measured again: %.2f GB/s); into "
           "fresh memfd RAM: %.2f GB/s\n", mc, memcpy_gbps(),
           memcpy_fresh_gbps());
    rmdir(b.dir);
    return 0;
}
