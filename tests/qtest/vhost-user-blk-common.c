/* SPDX-License-Identifier: MIT */
/*
 * The fixture of the vhost-user-blk qtests (see vhost-user-blk-common.h):
 * a test backend on a private socket, kvmini with the device, and the
 * guest driver steps.
 */
#include <stdarg.h>
#include <string.h>
#include <glib/gstdio.h>
#include <linux/virtio_blk.h>
#include <linux/virtio_ids.h>

#include "hw/virtio/virtio-mmio.h"
#include "vhost-user-blk-common.h"

void blk_fill(uint8_t *p, size_t len, unsigned seed)
{
    for (size_t i = 0; i < len; i++) {
        p[i] = (i * 13 + seed * 7 + (i >> 9)) & 0xff;
    }
}

/* Temporary directory and socket path; a backend unless o is NULL and
 * with_backend false. */
void blk_init(Blk *t, const VubOptions *o, bool with_backend)
{
    g_autoptr(GError) err = NULL;

    memset(t, 0, sizeof(*t));
    t->dir = g_dir_make_tmp("vub-blk-XXXXXX", &err);
    g_assert_no_error(err);
    t->sock = g_build_filename(t->dir, "vub.sock", NULL);
    qguest_alloc_init(&t->alloc, RAM_LOW, RAM_HIGH);
    if (o) {
        VubOptions copy = *o;

        copy.path = t->sock;
        t->b = vub_new(&copy);
    } else if (with_backend) {
        t->b = vub_new_server(t->sock);
    }
}

void blk_options(VubOptions *o)
{
    vub_options_init(o, "set-by-blk_init");
}

/* Start kvmini with the device on chardev c0; chr_opts and dev_opts are
 * appended to -chardev / -device (",reconnect=1"), extra to the line. */
void blk_launch(Blk *t, const char *chr_opts, const char *dev_opts,
                const char *extra)
{
    t->qts = qtest_initf("-chardev socket,id=c0,path=%s%s "
                         "-device vhost-user-blk,chardev=c0%s %s",
                         t->sock, chr_opts ? chr_opts : "",
                         dev_opts ? dev_opts : "", extra ? extra : "");
}

void blk_free_queues(Blk *t)
{
    for (unsigned q = 0; q < t->nvqs; q++) {
        qvirtqueue_free(t->vq[q]);
        t->vq[q] = NULL;
    }
    t->nvqs = 0;
}

/* Be the guest driver: reset, negotiate, nvqs queues, DRIVER_OK; then
 * wait until the backend runs every ring. */
void blk_driver_start(Blk *t, unsigned nvqs)
{
    if (!t->dev.qts) {
        g_assert_true(qvirtio_mmio_probe(&t->dev, t->qts, 0));
        g_assert_cmpuint(t->dev.device_id, ==, VIRTIO_ID_BLOCK);
    }
    blk_free_queues(t);
    qvirtio_reset(&t->dev);
    g_assert_true(qvirtio_negotiate(&t->dev, BLK_WANTED));
    for (unsigned q = 0; q < nvqs; q++) {
        t->vq[q] = qvirtqueue_setup(&t->dev, &t->alloc, q, 0);
    }
    t->nvqs = nvqs;
    qvirtio_driver_ok(&t->dev);
    for (unsigned q = 0; q < nvqs; q++) {
        g_assert_true(vub_wait_vring_running(t->b, q, TIMEOUT_MS));
    }
}

void blk_free(Blk *t)
{
    blk_free_queues(t);
    if (t->qts) {
        qtest_quit(t->qts);
    }
    vub_free(t->b);
    g_rmdir(t->dir);
    g_free(t->sock);
    g_free(t->dir);
}

/* kvmini's stderr so far. */
char *blk_stderr(Blk *t)
{
    g_autofree char *path = g_build_filename(qtest_tmpdir(t->qts),
                                             "stderr.log", NULL);
    char *text = NULL;

    g_assert_true(g_file_get_contents(path, &text, NULL, NULL));
    return text;
}

/* Wait until kvmini's stderr contains every string of the NULL-ended
 * list; fail the test with the text otherwise. */
void blk_expect_stderr(Blk *t, const char *first, ...)
{
    gint64 end = g_get_monotonic_time() + TIMEOUT_MS * 1000LL;
    g_autofree char *text = NULL;

    for (;;) {
        const char *s = first;
        bool all = true;
        va_list ap;

        g_free(text);
        text = blk_stderr(t);
        va_start(ap, first);
        for (; s && all; s = va_arg(ap, const char *)) {
            all = strstr(text, s) != NULL;
        }
        va_end(ap);
        if (all) {
            return;
        }
        if (g_get_monotonic_time() > end) {
            g_error("kvmini stderr lacks '%s'...:\n%s", first, text);
        }
        g_usleep(10 * 1000);
    }
}

/* kvmini still answers qtest and its device registers. */
void blk_assert_alive(Blk *t)
{
    g_assert_cmphex(qvirtio_readl(&t->dev, VIRTIO_MMIO_MAGIC_VALUE), ==,
                    VIRTIO_MMIO_MAGIC);
    qtest_writeq(t->qts, 0x2000, 0x1122334455667788ULL);
    g_assert_cmphex(qtest_readq(t->qts, 0x2000), ==, 0x1122334455667788ULL);
}

/* The u64 payload of the nth (-1: last) message with this request. */
uint64_t msg_u64(Vub *b, uint32_t request, int nth)
{
    g_autoptr(VubMsg) m = vub_find(b, request, nth);
    uint64_t v = 0;

    g_assert_nonnull(m);
    g_assert_cmpuint(m->size, >=, 8);
    memcpy(&v, m->payload, 8);
    return v;
}

/* The nth (or last, -1) SET_VRING_BASE for ring idx: its num. */
int last_vring_base(Blk *t, unsigned idx)
{
    int found = -1;

    for (int i = 0;; i++) {
        g_autoptr(VubMsg) m = vub_find(t->b, VHOST_USER_SET_VRING_BASE, i);
        VhostUserVringState s;

        if (!m) {
            return found;
        }
        memcpy(&s, m->payload, sizeof(s));
        if (s.index == idx) {
            found = s.num;
        }
    }
}

/* Write len bytes at sector through queue q and check the disk. */
void blk_write_check(Blk *t, unsigned q, uint64_t sector,
                     size_t len, unsigned seed)
{
    g_autofree uint8_t *buf = g_malloc(len);
    g_autofree uint8_t *back = g_malloc(len);

    blk_fill(buf, len, seed);
    g_assert_cmpint(qvirtio_blk_rw(t->vq[q], &t->alloc, VIRTIO_BLK_T_OUT,
                                   sector, buf, len), ==, VIRTIO_BLK_S_OK);
    vub_disk_read(t->b, sector * 512, back, len);
    g_assert_cmpmem(back, len, buf, len);
}
