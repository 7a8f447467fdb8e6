/* SPDX-License-Identifier: MIT */
/*
 * Soak: qemu-storage-daemon is killed with SIGKILL and started again, over
 * and over, while the test guest writes and verifies its disk under KVM.
 *
 * The guest runs test=blk-loop (tests/guest/test-blk-loop.c): each
 * iteration writes a pattern that depends on the iteration over
 * BLK_SECTORS sectors in 4 KiB requests, reads them back and checks
 * every word.  kvmini dials the daemon with reconnect-ms=20.  Each cycle
 * the test lets a random few milliseconds pass (a request is in flight),
 * kills the daemon with SIGKILL, starts a new one on the same image and
 * socket and waits until the guest has done one to three whole
 * iterations through it: kvmini notices, re-dials, sets the device up
 * again and restarts the ring where the used ring ends, and the guest
 * goes on.
 *
 * One request at a time (blk_depth=1): the daemon (7.2) has no inflight
 * tracking and completes the requests it holds out of order (in reverse,
 * here); killed between two such completions, it leaves a later request
 * completed and an earlier one not, and the next daemon, which can only
 * resume the ring at the used index, serves the later one again and
 * never the earlier one.  That is so with any frontend (QEMU's does the
 * same: the used index is all a ring says); it is what the inflight
 * region is for (soak-inflight-test, with many requests in flight).
 * With one request in flight nothing can complete out of order, so a
 * request lost or served twice here is kvmini's doing.
 *
 * At the end the test writes "kvm-stop" into a sector outside the range
 * (blk_stop_sector): the guest finishes the iteration it is in and exits.
 * What a user would check: the guest passed (every iteration verified,
 * none timed out: nothing lost), kvmini exited 0 after logging each
 * disconnect, it had the same number of fds as after the first restart,
 * and the image on the host holds the last iteration's pattern in every
 * sector.
 *
 * Default: 100 cycles (the figure); KVMINI_SOAK_CYCLES=N.
 */
#include "functional-common.h"
#include "soak-common.h"

#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define DISK_SIZE       (64 << 20)
#define BLK_SECTORS     64          /* 8 requests of 4 KiB, one by one */
#define STOP_SECTOR     4096
#define LOOP_TAG        0x706f6f6c2d6d766bULL   /* "kvm-loop" */
#define STOP_TAG        0x706f74732d6d766bULL   /* "kvm-stop" */
#define PROGRESS_S      60          /* an iteration after a restart */
#define DEFAULT_CYCLES  100

typedef struct QsdSoak {
    char *dir, *image, *sock;
    Peer qsd, vm;
    GRand *rand;
} QsdSoak;

static bool setup(QsdSoak *s)
{
    int fd;

    if (!require_kvm() || !require_program("qemu-storage-daemon")) {
        return false;
    }
    s->rand = soak_rand();
    s->dir = tmpdir_new();
    s->image = g_build_filename(s->dir, "disk.img", NULL);
    s->sock = g_build_filename(s->dir, "vub.sock", NULL);
    fd = open(s->image, O_CREAT | O_RDWR | O_CLOEXEC, 0600);
    g_assert_cmpint(fd, >=, 0);
    g_assert_cmpint(ftruncate(fd, DISK_SIZE), ==, 0);
    close(fd);
    qsd_start(&s->qsd, s->image, s->sock, 1);
    return true;
}

static void teardown(QsdSoak *s)
{
    peer_stop(&s->vm);
    peer_stop(&s->qsd);
    tmpdir_remove(s->dir);
    g_free(s->dir);
    g_free(s->image);
    g_free(s->sock);
    g_rand_free(s->rand);
}

static void vm_start(QsdSoak *s)
{
    g_autofree char *chardev = g_strdup_printf(
        "socket,id=c0,path=%s,reconnect-ms=20", s->sock);
    g_autofree char *append = g_strdup_printf(
        "test=blk-loop blk_sectors=%d blk_depth=1 blk_loop_report=1 "
        "blk_stop_sector=%d",
        BLK_SECTORS, STOP_SECTOR);
    const char *argv[] = {
        kvmini_binary(), "-m", "256M", "-kernel", guest_elf(),
        "-serial", "stdio", "-chardev", chardev,
        "-device", "vhost-user-blk,chardev=c0,id=disk0", "-append", append,
        NULL };

    peer_start(&s->vm, argv, NULL);
}

/* The last "blk-loop: iteration K ok" in the guest's output, or -1. */
static gint64 last_iteration(Peer *p)
{
    g_autofree char *log = NULL;
    const char *key = "blk-loop: iteration ", *q, *last = NULL;

    if (!g_file_get_contents(p->log_path, &log, NULL, NULL)) {
        return -1;
    }
    if (strstr(log, "test blk-loop: FAIL")) {
        RunResult r = { 0 };

        peer_wait_exit(p, 5, &r);   /* prints all it said */
        g_error("the guest failed (kvmini exit status %d)", r.status);
    }
    for (q = log; (q = strstr(q, key)); q += strlen(key)) {
        last = q;
    }
    return last ? (gint64)g_ascii_strtoull(last + strlen(key), NULL, 10)
                : -1;
}

/* Wait until the guest reports an iteration after `after`; returns it. */
static gint64 wait_progress(QsdSoak *s, gint64 after, unsigned cycle)
{
    gint64 end = g_get_monotonic_time() + PROGRESS_S * G_USEC_PER_SEC;
    gint64 k;

    while ((k = last_iteration(&s->vm)) <= after) {
        if (g_get_monotonic_time() > end) {
            g_autofree char *log = NULL;
            g_file_get_contents(s->vm.log_path, &log, NULL, NULL);
            g_error("cycle %u: no iteration after %" G_GINT64_FORMAT
                    " within %d s:\n%s", cycle, after, PROGRESS_S, log);
        }
        g_usleep(2000);
    }
    return k;
}

/* SIGKILL, then a new daemon; returns the last iteration the guest
 * finished before (none can finish while no daemon runs). */
static gint64 restart_daemon(QsdSoak *s)
{
    gint64 k;

    peer_kill(&s->qsd);
    k = last_iteration(&s->vm);
    unlink(s->sock);
    qsd_start(&s->qsd, s->image, s->sock, 1);
    return k;
}

/* The host asks the guest to stop: "kvm-stop" in STOP_SECTOR (the daemon
 * does not bypass the page cache, so its next read sees it). */
static void request_stop(QsdSoak *s)
{
    uint64_t tag = STOP_TAG;
    int fd = open(s->image, O_WRONLY | O_CLOEXEC);

    g_assert_cmpint(fd, >=, 0);
    g_assert_cmpint(pwrite(fd, &tag, sizeof(tag), STOP_SECTOR * 512ULL),
                    ==, sizeof(tag));
    close(fd);
}

/* Every sector of the range holds iteration iter's pattern. */
static void check_image(const char *image, uint64_t iter)
{
    uint64_t w[64];
    int fd = open(image, O_RDONLY | O_CLOEXEC);

    g_assert_cmpint(fd, >=, 0);
    for (uint64_t s = 0; s < BLK_SECTORS; s++) {
        uint64_t base = (iter * 0x9e3779b97f4a7c15ULL) ^ (s << 20);

        g_assert_cmpint(pread(fd, w, sizeof(w), (off_t)s * 512), ==,
                        sizeof(w));
        g_assert_cmphex(w[0], ==, LOOP_TAG);
        g_assert_cmpuint(w[1], ==, iter);
        g_assert_cmpuint(w[2], ==, s);
        for (unsigned i = 3; i < 64; i++) {
            g_assert_cmphex(w[i], ==, base ^ i);
        }
    }
    close(fd);
}

/* kill -9 and restart `cycles` times, a random moment into an iteration,
 * and each time let the guest do one to three whole iterations through
 * the new daemon; *fds and *rss_kib get kvmini's after the first cycle. */
static void restart_cycles(QsdSoak *s, unsigned cycles, unsigned *fds,
                           uint64_t *rss_kib)
{

    wait_progress(s, -1, 0);
    for (unsigned c = 0; c < cycles; c++) {
        gint64 k;

        g_usleep(g_rand_int_range(s->rand, 0, 20000));
        k = restart_daemon(s);
        wait_progress(s, k + g_rand_int_range(s->rand, 1, 4), c);
        if (c == 0) {
            *fds = soak_proc_fds(s->vm.pid);
            *rss_kib = soak_proc_rss_kib(s->vm.pid);
        }
    }
}

static void test_qsd_restarts(void)
{
    unsigned cycles = soak_cycles(DEFAULT_CYCLES), fds0 = 0, fds1;
    guint64 done = 0, last = 0, rss0 = 0, rss1;
    gint64 t0 = g_get_monotonic_time();
    RunResult r = { 0 };
    QsdSoak s = { 0 };

    if (!setup(&s)) {
        return;
    }
    vm_start(&s);
    restart_cycles(&s, cycles, &fds0, &rss0);
    fds1 = soak_proc_fds(s.vm.pid);
    rss1 = soak_proc_rss_kib(s.vm.pid);
    request_stop(&s);
    peer_wait_exit(&s.vm, PROGRESS_S, &r);
    g_assert_nonnull(strstr(r.out, "blk-loop: stopped by the host"));
    g_assert_nonnull(strstr(r.out, "test blk-loop: PASS"));
    g_assert_cmpint(r.status, ==, 0);
    g_assert_cmpuint(soak_count(r.out, "backend disconnected"), ==, cycles);
    g_assert_cmpint(sscanf(strstr(r.out, "blk-loop: done "),
                           "blk-loop: done %" G_GUINT64_FORMAT
                           " iterations, last %" G_GUINT64_FORMAT,
                           &done, &last), ==, 2);
    peer_stop(&s.qsd);          /* flushes and closes the image */
    check_image(s.image, last);
    soak_log("qsd: %u kill -9 / restart cycles of qemu-storage-daemon "
             "during guest I/O: %" G_GUINT64_FORMAT " iterations of %d "
             "sectors written and verified (%.1f MiB each way), the image "
             "holds the last one; kvmini fds %u -> %u, VmRSS %"
             G_GUINT64_FORMAT " -> %" G_GUINT64_FORMAT " KiB; %.1f s",
             cycles, done, BLK_SECTORS,
             done * BLK_SECTORS * 512.0 / (1 << 20), fds0, fds1, rss0, rss1,
             soak_seconds(t0));
    g_assert_cmpuint(fds1, ==, fds0);
    run_result_clear(&r);
    teardown(&s);
}

int main(int argc, char **argv)
{
    g_test_init(&argc, &argv, NULL);
    g_test_add_func("/soak/qsd/kill-restart", test_qsd_restarts);
    return g_test_run();
}
