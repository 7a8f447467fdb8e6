/* SPDX-License-Identifier: MIT */
/*
 * vhost-user-blk end to end with a real backend: qemu-storage-daemon
 * serves a scratch image, the test guest writes a pattern and reads it
 * back through virtio-blk, and afterwards the test reads the image on the
 * host and finds the pattern, so the data really crossed the backend.  The
 * same guest and daemon under QEMU microvm pass too.
 */
#include "functional-common.h"

#include <fcntl.h>
#include <string.h>
#include <unistd.h>

#define DISK_SIZE (64 << 20)
#define TIMEOUT 120

typedef struct BlkFixture {
    char *dir;
    char *image;
    char *sock;
    Peer qsd;
} BlkFixture;

static bool blk_setup(BlkFixture *f, unsigned num_queues)
{
    if (!require_kvm() || !require_program("qemu-storage-daemon")) {
        return false;
    }
    f->dir = tmpdir_new();
    f->image = g_build_filename(f->dir, "disk.img", NULL);
    f->sock = g_build_filename(f->dir, "vub.sock", NULL);
    int fd = open(f->image, O_CREAT | O_RDWR | O_CLOEXEC, 0600);
    g_assert_cmpint(fd, >=, 0);
    g_assert_cmpint(ftruncate(fd, DISK_SIZE), ==, 0);
    close(fd);
    qsd_start(&f->qsd, f->image, f->sock, num_queues);
    return true;
}

static void blk_teardown(BlkFixture *f)
{
    peer_stop(&f->qsd);
    tmpdir_remove(f->dir);
    g_free(f->dir);
    g_free(f->image);
    g_free(f->sock);
}

/* A fresh qemu-storage-daemon on the same image.  A daemon that just lost
 * one client may still be tearing that session down when the next one
 * arrives (seen as a session whose call fds never fire), so each boot
 * gets its own; the data must survive that too. */
static void blk_restart_backend(BlkFixture *f)
{
    peer_stop(&f->qsd);
    unlink(f->sock);
    qsd_start(&f->qsd, f->image, f->sock, 1);
}

/* The first 16 bytes of sector n on the host image. */
static char *image_sector_tag(const char *image, unsigned n)
{
    char buf[17] = { 0 };
    int fd = open(image, O_RDONLY | O_CLOEXEC);

    g_assert_cmpint(fd, >=, 0);
    g_assert_cmpint(pread(fd, buf, 16, (off_t)n * 512), ==, 16);
    close(fd);
    return g_strdup(buf);
}

static void run_kvmini_blk_args(BlkFixture *f, const char *dev_opts,
                                const char *append, const char *extra,
                                RunResult *r)
{
    g_autofree char *args = g_strdup_printf(
        "-m 256M -chardev socket,id=c0,path=%s "
        "-device vhost-user-blk,chardev=c0,id=disk0%s -append '%s' %s",
        f->sock, dev_opts, append, extra);

    run_kvmini_guest(args, TIMEOUT, r);
}

static void run_kvmini_blk(BlkFixture *f, const char *dev_opts,
                           const char *append, RunResult *r)
{
    run_kvmini_blk_args(f, dev_opts, append, "", r);
}

static void test_kvmini_qsd(void)
{
    BlkFixture f = { 0 };
    RunResult r = { 0 };

    if (!blk_setup(&f, 1)) {
        return;
    }
    run_kvmini_blk(&f, "", "test=blk", &r);
    g_assert_nonnull(strstr(r.out, "virtio-blk: capacity 131072 sectors"));
    g_assert_nonnull(strstr(r.out, "blk: wrote 64 sectors, read 64 sectors, "
                                   "0 mismatches, flush ok"));
    g_assert_nonnull(strstr(r.out, "test blk: PASS"));
    g_assert_cmpint(r.status, ==, 0);
    run_result_clear(&r);
    peer_stop(&f.qsd);      /* flushes and closes the image */

    g_autofree char *tag5 = image_sector_tag(f.image, 5);
    g_autofree char *tag63 = image_sector_tag(f.image, 63);
    g_autofree char *tag64 = image_sector_tag(f.image, 64);
    g_assert_cmpstr(tag5, ==, "kvmini-blk-00005");
    g_assert_cmpstr(tag63, ==, "kvmini-blk-00063");
    g_assert_cmpstr(tag64, ==, "");     /* beyond the range: untouched */
    blk_teardown(&f);
}

/* Data written in one boot is read back, verified, in the next. */
static void test_kvmini_qsd_persist(void)
{
    BlkFixture f = { 0 };
    RunResult r = { 0 };

    if (!blk_setup(&f, 1)) {
        return;
    }
    run_kvmini_blk(&f, "", "test=blk blk_seed=7 blk_start=100", &r);
    g_assert_nonnull(strstr(r.out, "test blk: PASS"));
    g_assert_cmpint(r.status, ==, 0);
    run_result_clear(&r);

    blk_restart_backend(&f);
    run_kvmini_blk(&f, "", "test=blk blk_readonly=1 blk_seed=7 "
                   "blk_start=100", &r);
    g_assert_nonnull(strstr(r.out, "test blk: PASS"));
    g_assert_cmpint(r.status, ==, 0);
    run_result_clear(&r);

    /* With another seed the same sectors must not verify. */
    blk_restart_backend(&f);
    run_kvmini_blk(&f, "", "test=blk blk_readonly=1 blk_seed=8 "
                   "blk_start=100", &r);
    g_assert_nonnull(strstr(r.out, "test blk: FAIL"));
    g_assert_cmpint(r.status, !=, 0);
    run_result_clear(&r);
    blk_teardown(&f);
}

static void test_kvmini_qsd_multiqueue(void)
{
    BlkFixture f = { 0 };
    RunResult r = { 0 };

    if (!blk_setup(&f, 2)) {
        return;
    }
    run_kvmini_blk(&f, ",num-queues=2", "test=blk blk_queues=2", &r);
    g_assert_nonnull(strstr(r.out, "blk: queues 2"));
    g_assert_nonnull(strstr(r.out, "test blk: PASS"));
    g_assert_cmpint(r.status, ==, 0);
    run_result_clear(&r);
    blk_teardown(&f);
}

/* The backend crashes in the middle of the guest's I/O and comes back:
 * kvmini reconnects, restarts the rings from the saved state, the
 * requests that were in flight are processed again, every sector
 * verifies. */
static void test_kvmini_qsd_backend_restart(void)
{
    BlkFixture f = { 0 };
    RunResult r = { 0 };
    Peer vm = { 0 };

    if (!blk_setup(&f, 1)) {
        return;
    }
    g_autofree char *chardev = g_strdup_printf(
        "socket,id=c0,path=%s,reconnect=1", f.sock);
    const char *argv[] = {
        kvmini_binary(), "-m", "256M", "-kernel", guest_elf(),
        "-serial", "stdio", "-chardev", chardev,
        "-device", "vhost-user-blk,chardev=c0,id=disk0", "-append",
        "test=blk blk_sectors=6000 blk_timeout_ms=30000", NULL };

    peer_start(&vm, argv, NULL);
    g_assert_true(peer_wait_output(&vm, "blk: queues 1", 30));
    g_usleep(500 * 1000);
    peer_kill(&f.qsd);
    g_assert_true(peer_wait_output(&vm, "backend disconnected", 10));
    unlink(f.sock);
    qsd_start(&f.qsd, f.image, f.sock, 1);
    peer_wait_exit(&vm, TIMEOUT, &r);
    g_assert_nonnull(strstr(r.out, "kvmini: vhost-user-blk 'disk0': "
                                   "backend disconnected"));
    g_assert_nonnull(strstr(r.out, "blk: wrote 6000 sectors, read 6000 "
                                   "sectors, 0 mismatches"));
    g_assert_nonnull(strstr(r.out, "test blk: PASS"));
    g_assert_cmpint(r.status, ==, 0);
    run_result_clear(&r);
    blk_teardown(&f);
}

static double number_after(const char *text, const char *key)
{
    const char *p = strstr(text, key);

    g_assert_nonnull(p);
    return g_ascii_strtod(p + strlen(key), NULL);
}

/* Kicks (ioeventfd) and interrupts (irqfd) never reach kvmini: the only
 * userspace exits a request adds are the guest's InterruptStatus read and
 * InterruptACK write (2 MMIO accesses per interrupt).  Were QueueNotify
 * not an ioeventfd, every request would add one more MMIO exit. */
static void test_kvmini_qsd_exits(void)
{
    BlkFixture f = { 0 };
    RunResult r = { 0 };
    double mmio0, mmio, irqs;

    if (!blk_setup(&f, 1)) {
        return;
    }
    run_kvmini_blk_args(&f, "", "test=blk-bench count=1", "-d kvm", &r);
    g_assert_cmpint(r.status, ==, 0);
    mmio0 = number_after(r.err, "port I/O, ");
    run_result_clear(&r);

    blk_restart_backend(&f);
    run_kvmini_blk_args(&f, "", "test=blk-bench count=501", "-d kvm", &r);
    g_assert_cmpint(r.status, ==, 0);
    g_assert_nonnull(strstr(r.out, "blk-bench: 501 reads in"));
    mmio = number_after(r.err, "port I/O, ");
    irqs = number_after(strstr(r.out, "reads in"), "\nblk-bench: ");
    test_log("MMIO exits: %.0f idle, %.0f with 500 requests, %.0f "
                   "interrupts", mmio0, mmio, irqs);
    g_assert_cmpfloat(irqs, >, 0);
    g_assert_cmpfloat(mmio - mmio0, <=, 2 * irqs + 4);
    run_result_clear(&r);
    blk_teardown(&f);
}

static void test_qemu_qsd(void)
{
    BlkFixture f = { 0 };
    RunResult r = { 0 };

    if (!require_program("qemu-system-x86_64") || !blk_setup(&f, 1)) {
        return;
    }
    g_autofree char *chardev = g_strdup_printf("socket,id=c0,path=%s", f.sock);
    const char *argv[] = {
        "qemu-system-x86_64", "-M", "microvm,memory-backend=mem,acpi=off",
        "-accel", "kvm", "-m", "256M", "-nodefaults", "-nographic",
        "-serial", "stdio", "-device", "isa-debug-exit,iobase=0xf4,iosize=4",
        "-object", "memory-backend-memfd,id=mem,size=256M,share=on",
        "-global", "virtio-mmio.force-legacy=false",
        "-chardev", chardev, "-device", "vhost-user-blk,chardev=c0",
        "-kernel", guest_elf(), "-append", "test=blk blk_seed=3", NULL };

    run_command(argv, TIMEOUT, &r);
    test_log("QEMU:\n%s\n%s", r.out, r.err);
    g_assert_nonnull(strstr(r.out, "test blk: PASS"));
    g_assert_cmpint(r.status, ==, 1);   /* isa-debug-exit 0 */
    run_result_clear(&r);
    peer_stop(&f.qsd);
    g_autofree char *tag = image_sector_tag(f.image, 9);
    g_assert_cmpstr(tag, ==, "kvmini-blk-00009");
    blk_teardown(&f);
}

static void assert_blk_error(const char *args, const char *expect)
{
    g_autofree char *cmd = g_strdup_printf("%s -kernel %s %s",
                                           kvmini_binary(), guest_elf(), args);
    g_auto(GStrv) argv = NULL;
    RunResult r = { 0 };

    g_assert_true(g_shell_parse_argv(cmd, NULL, &argv, NULL));
    run_command((const char *const *)argv, 30, &r);
    test_log("$ %s\n%s", cmd, r.err);
    g_assert_cmpint(r.status, ==, 1);
    g_assert_cmpstr(r.err, ==, expect);
    run_result_clear(&r);
}

static void test_bad_input(void)
{
    if (!require_kvm()) {
        return;
    }
    assert_blk_error("-chardev socket,id=c0,path=/nonexistent/vub.sock "
                     "-device vhost-user-blk,chardev=c0",
                     "kvmini: -chardev socket,id=c0,path=/nonexistent/"
                     "vub.sock: Failed to connect to '/nonexistent/vub.sock':"
                     " No such file or directory\n");
    assert_blk_error("-device vhost-user-blk",
                     "kvmini: -device vhost-user-blk: chardev is required "
                     "(chardev=ID of a -chardev socket)\n");
    assert_blk_error("-device vhost-user-blk,chardev=nope",
                     "kvmini: -device vhost-user-blk,chardev=nope: chardev "
                     "'nope' not found\n");
    assert_blk_error("-chardev null,id=c0 -device vhost-user-blk,chardev=c0,"
                     "queue-size=100",
                     "kvmini: -device vhost-user-blk,chardev=c0,"
                     "queue-size=100: queue-size must be a power of 2 "
                     "between 2 and 1024\n");
}

int main(int argc, char **argv)
{
    g_test_init(&argc, &argv, NULL);
    g_test_add_func("/blk/qsd/kvmini", test_kvmini_qsd);
    g_test_add_func("/blk/qsd/persist", test_kvmini_qsd_persist);
    g_test_add_func("/blk/qsd/multiqueue", test_kvmini_qsd_multiqueue);
    g_test_add_func("/blk/qsd/backend-restart",
                    test_kvmini_qsd_backend_restart);
    g_test_add_func("/blk/qsd/exits", test_kvmini_qsd_exits);
    g_test_add_func("/blk/qsd/qemu", test_qemu_qsd);
    g_test_add_func("/blk/bad-input", test_bad_input);
    return g_test_run();
}
