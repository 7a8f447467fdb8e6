/* SPDX-License-Identifier: MIT */
/*
 * Live migration of a guest doing continuous verified disk I/O
 * (test=blk-loop) through qemu-storage-daemon, between two kvmini
 * processes under KVM.  Each kvmini has its own daemon exporting the same
 * raw image (both open it with locking=off: a second daemon could not
 * otherwise open an image the first one holds, and a raw file has no
 * metadata a daemon caches, so both see one disk through the host's page
 * cache).  The source is migrated over a unix socket while the guest
 * writes and re-reads its pattern; the guest finishes on the destination
 * with every check passing, and the image on the host holds the last
 * iteration's pattern.
 */
#include "migration-common.h"

#include <fcntl.h>
#include <stdint.h>
#include <string.h>
#include <unistd.h>

#define DISK_SIZE   (64 << 20)
#define TIMEOUT     180
#define ITERATIONS  400
#define SECTORS     32
#define LOOP_TAG    0x706f6f6c2d6d766bULL   /* "kvm-loop" */

typedef struct MigFixture {
    char *dir;
    char *image;
    char *uri;
    Peer qsd_src, qsd_dst;
    Peer src, dst;
} MigFixture;

/* A daemon of its own for each side, on the one image. */
static void qsd_start_shared(MigFixture *f, Peer *p, const char *sock)
{
    g_autofree char *blockdev = g_strdup_printf(
        "driver=file,node-name=disk,filename=%s,locking=off", f->image);
    g_autofree char *export = g_strdup_printf(
        "type=vhost-user-blk,id=exp0,node-name=disk,addr.type=unix,"
        "addr.path=%s,writable=on", sock);
    const char *argv[] = { "qemu-storage-daemon", "--blockdev", blockdev,
                           "--export", export, NULL };

    peer_start(p, argv, sock);
}

static void kvmini_start(MigFixture *f, Peer *p, const char *side,
                         const char *incoming)
{
    g_autofree char *sock = mig_side_path(f->dir, side, "vub.sock");
    g_autofree char *chardev = g_strdup_printf("socket,id=c0,path=%s", sock);
    g_autofree char *append = g_strdup_printf(
        "test=blk-loop iterations=%d blk_sectors=%d blk_loop_report=5",
        ITERATIONS, SECTORS);
    const char *args[] = {
        "-chardev", chardev, "-device", "vhost-user-blk,chardev=c0,id=disk0",
        "-append", append, NULL };

    mig_kvmini_start(p, f->dir, side, args, incoming);
}

static bool mig_setup(MigFixture *f)
{
    g_autofree char *src_sock = NULL, *dst_sock = NULL, *mig = NULL;
    int fd;

    if (!require_kvm() || !require_program("qemu-storage-daemon")) {
        return false;
    }
    f->dir = tmpdir_new();
    f->image = g_build_filename(f->dir, "disk.img", NULL);
    fd = open(f->image, O_CREAT | O_RDWR | O_CLOEXEC, 0600);
    g_assert_cmpint(fd, >=, 0);
    g_assert_cmpint(ftruncate(fd, DISK_SIZE), ==, 0);
    close(fd);
    src_sock = mig_side_path(f->dir, "src", "vub.sock");
    dst_sock = mig_side_path(f->dir, "dst", "vub.sock");
    mig = g_build_filename(f->dir, "mig.sock", NULL);
    f->uri = g_strdup_printf("unix:%s", mig);
    qsd_start_shared(f, &f->qsd_src, src_sock);
    qsd_start_shared(f, &f->qsd_dst, dst_sock);
    kvmini_start(f, &f->dst, "dst", f->uri);
    kvmini_start(f, &f->src, "src", NULL);
    return true;
}

static void mig_teardown(MigFixture *f)
{
    peer_stop(&f->src);
    peer_stop(&f->dst);
    peer_stop(&f->qsd_src);
    peer_stop(&f->qsd_dst);
    tmpdir_remove(f->dir);
    g_free(f->dir);
    g_free(f->image);
    g_free(f->uri);
}

/* Sector s of the image holds iteration iter's pattern. */
static void check_sector(const char *image, uint64_t s, uint64_t iter)
{
    uint64_t w[64], base = (iter * 0x9e3779b97f4a7c15ULL) ^ (s << 20);
    int fd = open(image, O_RDONLY | O_CLOEXEC);

    g_assert_cmpint(fd, >=, 0);
    g_assert_cmpint(pread(fd, w, sizeof(w), (off_t)s * 512), ==, sizeof(w));
    close(fd);
    g_assert_cmphex(w[0], ==, LOOP_TAG);
    g_assert_cmpuint(w[1], ==, iter);
    g_assert_cmpuint(w[2], ==, s);
    for (unsigned i = 3; i < 64; i++) {
        g_assert_cmphex(w[i], ==, base ^ i);
    }
}

static void migrate_mid_loop(MigFixture *f)
{
    g_assert_true(peer_wait_output(&f->src, "blk-loop: iteration 9 ok",
                                   60));
    mig_migrate_source(f->dir, f->uri, TIMEOUT);
}

static void test_blk_loop_qsd(void)
{
    MigFixture f = { 0 };
    RunResult src = { 0 }, dst = { 0 };

    if (!mig_setup(&f)) {
        return;
    }
    migrate_mid_loop(&f);
    peer_wait_exit(&f.src, TIMEOUT, &src);
    peer_wait_exit(&f.dst, TIMEOUT, &dst);
    test_log("source:\n%s\ndestination:\n%s", src.out, dst.out);
    g_assert_null(strstr(src.out, "test blk-loop:"));
    g_assert_nonnull(strstr(dst.out, "blk-loop: done 400 iterations, "
                                     "last 399"));
    g_assert_nonnull(strstr(dst.out, "test blk-loop: PASS"));
    g_assert_cmpint(dst.status, ==, 0);
    run_result_clear(&src);
    run_result_clear(&dst);
    peer_stop(&f.qsd_src);      /* both flush and close the image */
    peer_stop(&f.qsd_dst);
    for (uint64_t s = 0; s < SECTORS; s++) {
        check_sector(f.image, s, ITERATIONS - 1);
    }
    mig_teardown(&f);
}

int main(int argc, char **argv)
{
    g_test_init(&argc, &argv, NULL);
    g_test_add_func("/migration/blk-loop/qsd", test_blk_loop_qsd);
    return g_test_run();
}
