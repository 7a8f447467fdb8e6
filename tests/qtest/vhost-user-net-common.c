/* SPDX-License-Identifier: MIT */
/*
 * The fixture of the vhost-user-net qtests (see vhost-user-net-common.h):
 * a test backend on a private socket, kvmini with the device, and the
 * virtio-net guest driver steps.
 */
#include <string.h>
#include <glib/gstdio.h>
#include <linux/virtio_ids.h>

#include "hw/virtio/virtio-mmio.h"
#include "vhost-user-net-common.h"

const uint8_t net_peer_mac[6] = { 0x02, 0, 0, 0, 0, 0x01 };
const uint8_t net_default_mac[6] = { 0x52, 0x54, 0, 0x12, 0x34, 0x56 };

/* --- fixture -------------------------------------------------------------- */

/* Directory and socket; a backend made from o (path replaced), or a
 * one-pair net backend if o is NULL. */
void net_init(Net *t, const VubOptions *o)
{
    g_autoptr(GError) err = NULL;
    VubOptions copy;

    memset(t, 0, sizeof(*t));
    t->dir = g_dir_make_tmp("vub-net-XXXXXX", &err);
    g_assert_no_error(err);
    t->sock = g_build_filename(t->dir, "vub.sock", NULL);
    t->qmp_sock = g_build_filename(t->dir, "qmp.sock", NULL);
    qguest_alloc_init(&t->alloc, RAM_LOW, RAM_HIGH);
    if (o) {
        copy = *o;
    } else {
        vub_options_init_net(&copy, NULL, 1);
    }
    copy.path = t->sock;
    t->b = vub_new(&copy);
}

/* The kvmini options of the device: chardev c0 (chr_opts appended),
 * netdev n0 with queues, the device (dev_opts appended). */
char *net_args(Net *t, const char *chr_opts, unsigned queues,
               const char *dev_opts)
{
    return g_strdup_printf("-chardev socket,id=c0,path=%s%s "
                           "-netdev vhost-user,id=n0,chardev=c0,queues=%u "
                           "-device virtio-net-device,netdev=n0%s",
                           t->sock, chr_opts ? chr_opts : "", queues,
                           dev_opts ? dev_opts : "");
}

void net_launch(Net *t, const char *chr_opts, unsigned queues,
                const char *dev_opts, bool qmp)
{
    g_autofree char *args = net_args(t, chr_opts, queues, dev_opts);
    g_autofree char *mon = qmp ? g_strdup_printf(
        "-qmp unix:%s,server=on,wait=off", t->qmp_sock) : g_strdup("");

    t->queues = queues;
    t->qts = qtest_initf("%s %s", args, mon);
    if (qmp) {
        t->qmp = qmp_connect(t->qmp_sock);
        qmp_negotiate(t->qmp);
    }
}

static void net_free_queues(Net *t)
{
    for (unsigned p = 0; p < MAX_PAIRS; p++) {
        g_clear_pointer(&t->rx[p], qvirtqueue_free);
        g_clear_pointer(&t->tx[p], qvirtqueue_free);
    }
    g_clear_pointer(&t->ctrl, qvirtqueue_free);
    t->npairs = 0;
}

void net_free(Net *t)
{
    net_free_queues(t);
    if (t->qmp) {
        qmp_close(t->qmp);
    }
    if (t->qts) {
        qtest_quit(t->qts);
    }
    vub_free(t->b);
    g_rmdir(t->dir);
    g_free(t->sock);
    g_free(t->qmp_sock);
    g_free(t->dir);
}

/* kvmini's stderr so far (caller frees). */
static char *net_stderr(Net *t)
{
    g_autofree char *path = g_build_filename(qtest_tmpdir(t->qts),
                                             "stderr.log", NULL);
    char *text = NULL;

    g_assert_true(g_file_get_contents(path, &text, NULL, NULL));
    return text;
}

void net_expect_stderr(Net *t, const char *what)
{
    gint64 end = g_get_monotonic_time() + TIMEOUT_MS * 1000LL;

    for (;;) {
        g_autofree char *text = net_stderr(t);

        if (strstr(text, what)) {
            return;
        }
        if (g_get_monotonic_time() > end) {
            g_error("kvmini stderr lacks '%s':\n%s", what, text);
        }
        g_usleep(10 * 1000);
    }
}

/* Run kvmini that must fail at start-up: its exit status and stderr. */
int net_run_failing(Net *t, const char *args, char **err)
{
    g_autofree char *all = g_strdup_printf("-accel qtest -qtest "
                                           "unix:%s/none -serial null %s",
                                           t->dir, args);
    int status;

    qtest_run_kvmini(all, NULL, err, &status);
    g_test_message("kvmini: %s", *err);
    return status;
}

/* text is exactly one line. */
bool one_line(const char *text)
{
    const char *nl = strchr(text, '\n');

    return nl && nl > text && nl[1] == '\0';
}

/* --- the backend's log ---------------------------------------------------- */

uint64_t msg_u64(Vub *b, uint32_t request, int nth)
{
    g_autoptr(VubMsg) m = vub_find(b, request, nth);
    uint64_t v = 0;

    g_assert_nonnull(m);
    g_assert_cmpuint(m->size, >=, 8);
    memcpy(&v, m->payload, 8);
    return v;
}

/* num of the last ring-state message (SET_VRING_BASE/ENABLE) for ring
 * idx; -1 if none. */
int last_vring_state(Vub *b, uint32_t request, unsigned idx)
{
    int found = -1;

    for (int i = 0;; i++) {
        g_autoptr(VubMsg) m = vub_find(b, request, i);
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

/* --- the guest driver ----------------------------------------------------- */

void net_post_rx(Net *t, unsigned pair, unsigned n)
{
    QVirtQueue *vq = t->rx[pair];

    for (unsigned i = 0; i < n; i++) {
        QVirtqBuf buf = { qguest_alloc(&t->alloc, RX_BUF_LEN, 64),
                          RX_BUF_LEN, true };
        uint16_t head = qvirtqueue_add(vq, &buf, 1);

        t->rx_gpa[pair][head] = buf.gpa;
    }
    qvirtqueue_kick(vq);
}

static unsigned net_ctrl_index(Net *t)
{
    return t->dev.features & BIT(VIRTIO_NET_F_MQ) ? 2 * t->queues : 2;
}

/* Wait until the backend runs rings 0 and 1 and has the rings of every
 * other pair (enabled or not). */
void net_wait_backend(Net *t, Vub *b)
{
    g_assert_true(vub_wait_vring_running(b, 0, TIMEOUT_MS));
    g_assert_true(vub_wait_vring_running(b, 1, TIMEOUT_MS));
    for (unsigned i = 2; i < 2 * t->npairs; i++) {
        g_assert_true(vub_wait_vring_started(b, i, TIMEOUT_MS));
    }
}

/* Be the driver: reset, negotiate wanted, a receive and a transmit queue
 * per usable pair, the control queue, DRIVER_OK; post RX_BUFS receive
 * buffers on every pair once the backend runs. */
void net_driver_start(Net *t, uint64_t wanted)
{
    if (!t->dev.qts) {
        g_assert_true(qvirtio_mmio_probe(&t->dev, t->qts, 0));
        g_assert_cmpuint(t->dev.device_id, ==, VIRTIO_ID_NET);
    }
    net_free_queues(t);
    qvirtio_reset(&t->dev);
    g_assert_true(qvirtio_negotiate(&t->dev, wanted));
    t->npairs = t->dev.features & BIT(VIRTIO_NET_F_MQ) ? t->queues : 1;
    for (unsigned p = 0; p < t->npairs; p++) {
        t->rx[p] = qvirtqueue_setup(&t->dev, &t->alloc, 2 * p, 0);
        t->tx[p] = qvirtqueue_setup(&t->dev, &t->alloc, 2 * p + 1, 0);
    }
    if (t->dev.features & BIT(VIRTIO_NET_F_CTRL_VQ)) {
        t->ctrl = qvirtqueue_setup(&t->dev, &t->alloc, net_ctrl_index(t), 0);
    }
    qvirtio_driver_ok(&t->dev);
    net_wait_backend(t, t->b);
    for (unsigned p = 0; p < t->npairs; p++) {
        net_post_rx(t, p, RX_BUFS);
    }
}

/* A control command: header and data readable, the ack byte writable. */
uint8_t net_ctrl(Net *t, uint8_t class, uint8_t cmd, const void *data,
                 size_t len)
{
    struct virtio_net_ctrl_hdr hdr = { .class = class, .cmd = cmd };
    QVirtqBuf bufs[2];
    uint32_t head, want;
    uint8_t ack = 0xff;

    g_assert_nonnull(t->ctrl);
    bufs[0] = (QVirtqBuf) { qguest_alloc(&t->alloc, sizeof(hdr) + len, 8),
                            sizeof(hdr) + len, false };
    bufs[1] = (QVirtqBuf) { qguest_alloc(&t->alloc, 1, 1), 1, true };
    qvirtio_memwrite(&t->dev, bufs[0].gpa, &hdr, sizeof(hdr));
    qvirtio_memwrite(&t->dev, bufs[0].gpa + sizeof(hdr), data, len);
    qvirtio_memwrite(&t->dev, bufs[1].gpa, &ack, 1);
    want = qvirtqueue_add(t->ctrl, bufs, 2);
    qvirtqueue_kick(t->ctrl);
    g_assert_true(qvirtqueue_wait_used(t->ctrl, &head, NULL, TIMEOUT_MS));
    g_assert_cmpuint(head, ==, want);
    qvirtio_memread(&t->dev, bufs[1].gpa, &ack, 1);
    return ack;
}

uint8_t net_ctrl_pairs(Net *t, uint16_t pairs)
{
    uint16_t le = GUINT16_TO_LE(pairs);

    return net_ctrl(t, VIRTIO_NET_CTRL_MQ, VIRTIO_NET_CTRL_MQ_VQ_PAIRS_SET,
                    &le, sizeof(le));
}

/* --- frames --------------------------------------------------------------- */

void make_frame(uint8_t *f, size_t len, const uint8_t *dst,
                const uint8_t *src, unsigned seed)
{
    memcpy(f, dst, 6);
    memcpy(f + 6, src, 6);
    f[12] = 0x88;       /* EtherType 0x88b5: local experimental */
    f[13] = 0xb5;
    for (size_t i = ETH_HLEN; i < len; i++) {
        f[i] = (i * 7 + seed * 13) & 0xff;
    }
}

/* Put header and frame on transmit queue of pair (in one descriptor, or
 * header and frame in two) and kick. */
void net_send(Net *t, unsigned pair, const uint8_t *frame,
              size_t len, bool split)
{
    struct virtio_net_hdr_v1 hdr = { .num_buffers = 0 };
    uint64_t gpa = qguest_alloc(&t->alloc, HDR_LEN + len, 64);
    QVirtqBuf bufs[2] = {
        { gpa, split ? HDR_LEN : HDR_LEN + len, false },
        { gpa + HDR_LEN, len, false },
    };

    qvirtio_memwrite(&t->dev, gpa, &hdr, HDR_LEN);
    qvirtio_memwrite(&t->dev, gpa + HDR_LEN, frame, len);
    qvirtqueue_add(t->tx[pair], bufs, split ? 2 : 1);
    qvirtqueue_kick(t->tx[pair]);
}

void net_wait_tx_done(Net *t, unsigned pair)
{
    uint32_t len = 99;

    g_assert_true(qvirtqueue_wait_used(t->tx[pair], NULL, &len,
                                       TIMEOUT_MS));
    g_assert_cmpuint(len, ==, 0);
}

/* The next received frame of pair, header checked; its length. */
static size_t net_recv(Net *t, unsigned pair, uint8_t *frame)
{
    struct virtio_net_hdr_v1 hdr;
    uint32_t head, len;

    g_assert_true(qvirtqueue_wait_used(t->rx[pair], &head, &len,
                                       TIMEOUT_MS));
    g_assert_cmpuint(len, >=, HDR_LEN + ETH_HLEN);
    g_assert_cmpuint(len, <=, RX_BUF_LEN);
    qvirtio_memread(&t->dev, t->rx_gpa[pair][head], &hdr, HDR_LEN);
    g_assert_cmpuint(hdr.flags, ==, 0);
    g_assert_cmpuint(hdr.gso_type, ==, VIRTIO_NET_HDR_GSO_NONE);
    g_assert_cmpuint(hdr.num_buffers, ==, 1);
    qvirtio_memread(&t->dev, t->rx_gpa[pair][head] + HDR_LEN, frame,
                    len - HDR_LEN);
    return len - HDR_LEN;
}

/* The frame sent came back, MACs swapped unless loopback. */
void net_check_echo(Net *t, unsigned pair, const uint8_t *sent,
                    size_t len, bool loopback)
{
    uint8_t want[RX_BUF_LEN], got[RX_BUF_LEN], dst[6];

    g_assert_cmpuint(len, >=, ETH_HLEN);
    g_assert_cmpuint(len, <=, sizeof(want));
    memcpy(want, sent, len);
    if (!loopback) {
        memcpy(dst, want, 6);
        memmove(want, want + 6, 6);
        memcpy(want + 6, dst, 6);
    }
    g_assert_cmpuint(net_recv(t, pair, got), ==, len);
    g_assert_cmpmem(got, len, want, len);
}

/* Send one frame of len bytes on pair and check what comes back. */
void net_echo(Net *t, unsigned pair, size_t len, unsigned seed)
{
    uint8_t f[RX_BUF_LEN];

    make_frame(f, len, net_peer_mac, net_default_mac, seed);
    net_send(t, pair, f, len, false);
    net_check_echo(t, pair, f, len, false);
    net_wait_tx_done(t, pair);
}

/* --- interrupts and config ------------------------------------------------ */

/* Forget interrupts so far and acknowledge the ISR. */
void net_irq_clear(Net *t)
{
    qvirtio_poll_irqs(&t->dev);
    t->dev.irqs_taken = t->dev.irqs;
    qvirtio_isr_ack(&t->dev, qvirtio_isr(&t->dev));
}

/* An interrupt on the slot's GSI with ISR bit 1 (configuration change);
 * acknowledges it. */
void net_wait_config_irq(Net *t)
{
    gint64 end = g_get_monotonic_time() + TIMEOUT_MS * 1000LL;

    do {
        g_assert_true(qvirtio_wait_irq(&t->dev, TIMEOUT_MS));
        g_assert_cmpint(g_get_monotonic_time(), <, end);
    } while (!(qvirtio_isr(&t->dev) & VIRTIO_MMIO_INT_CONFIG));
    qvirtio_isr_ack(&t->dev, VIRTIO_MMIO_INT_CONFIG);
}

uint16_t net_status(Net *t)
{
    return qvirtio_config_readw(&t->dev, CFG_STATUS);
}

void net_config_mac(Net *t, uint8_t *mac)
{
    for (unsigned i = 0; i < 6; i++) {
        mac[i] = qvirtio_config_readb(&t->dev, CFG_MAC + i);
    }
}
