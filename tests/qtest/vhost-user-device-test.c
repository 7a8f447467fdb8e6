/* SPDX-License-Identifier: MIT */
/*
 * The generic vhost-user-device under qtest.  The test backend speaks
 * virtio-blk, so "-device vhost-user-device,virtio-id=2,num_vqs=1,
 * config_size=60" is a working disk that kvmini knows nothing about:
 * the DeviceID, the features (the backend's minus the vhost-user and
 * transport bits), the config bytes and their writes all come from or go
 * to the backend, and blk requests move through the real data path.
 * Also: start/stop/reconnect, the property checks, and a backend without
 * VERSION_1 refused at start-up and at reconnect.  The fixture is the
 * vhost-user-blk one (vhost-user-blk-common.h) with another -device.
 */
#include <inttypes.h>
#include <string.h>
#include <linux/virtio_blk.h>
#include <linux/virtio_config.h>

#include "hw/virtio/virtio-mmio.h"
#include "vhost-user-blk-common.h"

#define GEN_BLK     "virtio-id=2,num_vqs=1,config_size=60"
#define GEN_HIDDEN  (VUB_BIT(VHOST_USER_F_LOG_ALL) | \
                     VUB_BIT(VHOST_USER_F_PROTOCOL_FEATURES))
#define WCE_OFFSET  offsetof(struct virtio_blk_config, wce)

/* kvmini with "-device vhost-user-device,chardev=c0,id=gen0,DEV". */
static void gen_launch(Blk *t, const char *chr_opts, const char *dev,
                       const char *extra)
{
    t->qts = qtest_initf("-chardev socket,id=c0,path=%s%s "
                         "-device vhost-user-device,chardev=c0,id=gen0,%s "
                         "%s", t->sock, chr_opts ? chr_opts : "", dev,
                         extra ? extra : "");
}

/* Run kvmini with a -device that must fail; returns its stderr. */
static char *gen_launch_fails(Blk *t, const char *chardev, const char *dev)
{
    g_autofree char *args = NULL;
    char *err = NULL;
    int status;

    args = g_strdup_printf("-accel qtest -qtest unix:%s/none -serial null "
                           "-chardev %s -device vhost-user-device,%s",
                           t->dir, chardev, dev);
    qtest_run_kvmini(args, NULL, &err, &status);
    g_test_message("kvmini: %s", err);
    g_assert_cmpint(status, ==, 1);
    return err;
}

static VhostUserConfig msg_config(Vub *b, uint32_t request, int nth)
{
    g_autoptr(VubMsg) m = vub_find(b, request, nth);
    VhostUserConfig c = { 0 };

    g_assert_nonnull(m);
    memcpy(&c, m->payload, MIN(m->size, sizeof(c)));
    return c;
}

static uint32_t queue_num_max(Blk *t, unsigned q)
{
    qvirtio_writel(&t->dev, VIRTIO_MMIO_QUEUE_SEL, q);
    return qvirtio_readl(&t->dev, VIRTIO_MMIO_QUEUE_NUM_MAX);
}

/* --- what the guest sees -------------------------------------------------- */

static void test_probe(void)
{
    g_autofree char *init = NULL;
    VhostUserConfig c;
    Blk t;

    blk_init(&t, NULL, true);
    gen_launch(&t, NULL, GEN_BLK, NULL);
    init = vub_log_string(t.b, 0);
    g_assert_cmpstr(init, ==, "GET_FEATURES GET_PROTOCOL_FEATURES "
                    "SET_PROTOCOL_FEATURES GET_QUEUE_NUM GET_MAX_MEM_SLOTS "
                    "SET_BACKEND_REQ_FD SET_OWNER GET_CONFIG");
    c = msg_config(t.b, VHOST_USER_GET_CONFIG, 0);
    g_assert_cmpuint(c.offset, ==, 0);
    g_assert_cmpuint(c.size, ==, 60);

    g_assert_true(qvirtio_mmio_probe(&t.dev, t.qts, 0));
    g_assert_cmpuint(t.dev.device_id, ==, VIRTIO_ID_BLOCK);
    g_assert_cmphex(qvirtio_get_features(&t.dev), ==,
                    VUB_DEFAULT_FEATURES & ~GEN_HIDDEN);
    g_assert_cmpuint(queue_num_max(&t, 0), ==, 256);
    g_assert_cmpuint(queue_num_max(&t, 1), ==, 0);
    blk_free(&t);
}

/* kvmini does not care what the device is: DeviceID and queues are the
 * properties. */
static void test_device_id(void)
{
    Blk t;

    blk_init(&t, NULL, true);
    gen_launch(&t, NULL, "virtio-id=18,num_vqs=3,vq_size=64", NULL);
    g_assert_true(qvirtio_mmio_probe(&t.dev, t.qts, 0));
    g_assert_cmpuint(t.dev.device_id, ==, 18);
    for (unsigned q = 0; q < 3; q++) {
        g_assert_cmpuint(queue_num_max(&t, q), ==, 64);
    }
    g_assert_cmpuint(queue_num_max(&t, 3), ==, 0);
    /* No config_size: no config space, nothing asked. */
    g_assert_cmpuint(vub_count(t.b, VHOST_USER_GET_CONFIG), ==, 0);
    blk_free(&t);
}

/* Transport features kvmini cannot provide are not offered. */
static void test_hidden_features(void)
{
    const uint64_t ring = VUB_BIT(VIRTIO_RING_F_INDIRECT_DESC) |
                          VUB_BIT(VIRTIO_RING_F_EVENT_IDX) |
                          VUB_BIT(VIRTIO_F_IN_ORDER) | VUB_BIT(50);
    const uint64_t transport = VUB_BIT(VIRTIO_F_ACCESS_PLATFORM) |
                               VUB_BIT(VIRTIO_F_RING_PACKED) |
                               VUB_BIT(37) | VUB_BIT(38) | VUB_BIT(39) |
                               VUB_BIT(40) | VUB_BIT(41);
    VubOptions o;
    Blk t;

    blk_options(&o);
    o.features |= ring | transport;
    blk_init(&t, &o, true);
    gen_launch(&t, NULL, GEN_BLK, NULL);
    g_assert_true(qvirtio_mmio_probe(&t.dev, t.qts, 0));
    g_assert_cmphex(qvirtio_get_features(&t.dev), ==,
                    (VUB_DEFAULT_FEATURES & ~GEN_HIDDEN) | ring);
    blk_free(&t);
}

/* config_size bounds the config space: the capacity the backend gave is
 * there, a read past the end is invalid programming (NEEDS_RESET). */
static void test_config_size(void)
{
    Blk t;

    blk_init(&t, NULL, true);
    gen_launch(&t, NULL, "virtio-id=2,num_vqs=1,config_size=8", NULL);
    g_assert_cmpuint(msg_config(t.b, VHOST_USER_GET_CONFIG, 0).size, ==, 8);
    g_assert_true(qvirtio_mmio_probe(&t.dev, t.qts, 0));
    g_assert_cmpuint(qvirtio_config_readq(&t.dev, 0), ==, 64 * MiB / 512);
    g_assert_cmphex(qvirtio_get_status(&t.dev) &
                    VIRTIO_CONFIG_S_NEEDS_RESET, ==, 0);
    qvirtio_config_readl(&t.dev, 8);
    g_assert_cmphex(qvirtio_get_status(&t.dev) &
                    VIRTIO_CONFIG_S_NEEDS_RESET, ==,
                    VIRTIO_CONFIG_S_NEEDS_RESET);
    blk_free(&t);
}

/* --- the data path and config through the generic path -------------------- */

static void test_blk_io(void)
{
    uint8_t buf[4096], back[4096];
    Blk t;

    blk_init(&t, NULL, true);
    gen_launch(&t, NULL, GEN_BLK, NULL);
    blk_driver_start(&t, 1);
    g_assert_cmphex(t.dev.features, ==,
                    (BLK_WANTED & VUB_DEFAULT_FEATURES) |
                    VUB_BIT(VIRTIO_F_VERSION_1));
    g_assert_cmphex(vub_acked_features(t.b) & ~GEN_HIDDEN, ==,
                    t.dev.features);
    g_assert_cmpuint(qvirtio_config_readq(&t.dev, 0), ==, 64 * MiB / 512);
    g_assert_cmpuint(qvirtio_config_readl(&t.dev, 12), ==, VUB_SEG_MAX);
    g_assert_cmpuint(qvirtio_config_readl(&t.dev, 20), ==, 512);
    g_assert_cmpuint(qvirtio_config_readb(&t.dev, WCE_OFFSET), ==, 1);

    blk_write_check(&t, 0, 16, sizeof(buf), 1);
    g_assert_true(qvirtio_wait_irq(&t.dev, TIMEOUT_MS));
    blk_fill(buf, sizeof(buf), 2);
    vub_disk_write(t.b, 100 * 512, buf, sizeof(buf));
    g_assert_cmpint(qvirtio_blk_rw(t.vq[0], &t.alloc, VIRTIO_BLK_T_IN, 100,
                                   back, sizeof(back)), ==, VIRTIO_BLK_S_OK);
    g_assert_cmpmem(back, sizeof(back), buf, sizeof(buf));
    g_assert_cmpuint(vub_blk_stats(t.b).writes, ==, 1);
    g_assert_cmpuint(vub_blk_stats(t.b).reads, ==, 1);
    blk_free(&t);
}

/* Several queues, each one served by the backend. */
static void test_multiqueue(void)
{
    VubOptions o;
    Blk t;

    blk_options(&o);
    o.num_queues = 3;
    blk_init(&t, &o, true);
    gen_launch(&t, NULL, "virtio-id=2,num_vqs=3,vq_size=64,config_size=60",
               NULL);
    blk_driver_start(&t, 3);
    g_assert_cmpuint(t.vq[0]->num, ==, 64);
    for (unsigned q = 0; q < 3; q++) {
        blk_write_check(&t, q, 8 * q, 1024, 30 + q);
        g_assert_cmpuint(vub_vring_info(t.b, q).completed, ==, 1);
    }
    blk_free(&t);
}

/* No config_size: no config space, the disk still works. */
static void test_no_config(void)
{
    Blk t;

    blk_init(&t, NULL, true);
    gen_launch(&t, NULL, "virtio-id=2,num_vqs=1", NULL);
    blk_driver_start(&t, 1);
    blk_write_check(&t, 0, 3, 512, 3);
    g_assert_cmpuint(vub_count(t.b, VHOST_USER_GET_CONFIG), ==, 0);
    blk_free(&t);
}

/* A guest write goes to the backend as written (range and bytes), and
 * what the guest reads next is the backend's config again. */
static void test_set_config(void)
{
    VhostUserConfig c;
    Blk t;

    blk_init(&t, NULL, true);
    gen_launch(&t, NULL, GEN_BLK, NULL);
    blk_driver_start(&t, 1);
    qvirtio_config_writeb(&t.dev, WCE_OFFSET, 0);
    g_assert_cmpuint(vub_count(t.b, VHOST_USER_SET_CONFIG), ==, 1);
    c = msg_config(t.b, VHOST_USER_SET_CONFIG, 0);
    g_assert_cmpuint(c.offset, ==, WCE_OFFSET);
    g_assert_cmpuint(c.size, ==, 1);
    g_assert_cmpuint(c.flags, ==, VHOST_SET_CONFIG_TYPE_FRONTEND);
    g_assert_cmpuint(c.region[0], ==, 0);
    g_assert_cmpuint(vub_count(t.b, VHOST_USER_GET_CONFIG), ==, 2);
    g_assert_cmpuint(qvirtio_config_readb(&t.dev, WCE_OFFSET), ==, 0);

    /* Four bytes at once: one SET_CONFIG with all four. */
    qvirtio_writel(&t.dev, VIRTIO_MMIO_CONFIG + 8, 0x11223344);
    c = msg_config(t.b, VHOST_USER_SET_CONFIG, 1);
    g_assert_cmpuint(c.offset, ==, 8);
    g_assert_cmpuint(c.size, ==, 4);
    g_assert_cmphex(c.region[0] | c.region[1] << 8 | c.region[2] << 16 |
                    (uint32_t)c.region[3] << 24, ==, 0x11223344);
    g_assert_cmphex(qvirtio_config_readl(&t.dev, 8), ==, 0x11223344);
    blk_write_check(&t, 0, 7, 512, 7);
    blk_free(&t);
}

/* The backend's config-change message: fetched again, config interrupt. */
static void test_config_change(void)
{
    uint64_t status = 99;
    Blk t;

    blk_init(&t, NULL, true);
    gen_launch(&t, NULL, GEN_BLK, NULL);
    blk_driver_start(&t, 1);
    vub_set_capacity(t.b, 4096);
    g_assert_true(vub_send_config_change(t.b, true, &status));
    g_assert_cmpuint(status, ==, 0);
    g_assert_cmpuint(vub_count(t.b, VHOST_USER_GET_CONFIG), ==, 2);
    g_assert_true(qvirtio_wait_irq(&t.dev, TIMEOUT_MS));
    g_assert_cmphex(qvirtio_isr(&t.dev) & VIRTIO_MMIO_INT_CONFIG, ==,
                    VIRTIO_MMIO_INT_CONFIG);
    g_assert_cmpuint(qvirtio_config_readq(&t.dev, 0), ==, 4096);
    blk_free(&t);
}

/* --- stop, restart, reconnect --------------------------------------------- */

/* Driver reset stops the rings (GET_VRING_BASE); a new driver restarts. */
static void test_reset_restart(void)
{
    g_autofree char *stop = NULL;
    unsigned n;
    Blk t;

    blk_init(&t, NULL, true);
    gen_launch(&t, NULL, GEN_BLK, NULL);
    blk_driver_start(&t, 1);
    blk_write_check(&t, 0, 1, 512, 1);
    n = vub_log_len(t.b);
    qvirtio_reset(&t.dev);
    g_assert_true(vub_wait_for_request(t.b, VHOST_USER_GET_VRING_BASE,
                                       TIMEOUT_MS));
    stop = vub_log_string(t.b, n);
    g_assert_cmpstr(stop, ==, "SET_STATUS SET_VRING_ENABLE GET_VRING_BASE");
    g_assert_false(vub_vring_info(t.b, 0).started);
    blk_driver_start(&t, 1);
    g_assert_cmpint(last_vring_base(&t, 0), ==, 0);
    blk_write_check(&t, 0, 2, 512, 2);
    blk_free(&t);
}

/* The backend drops out while the driver runs: kvmini re-dials, fetches
 * the config again and restarts the ring where it stopped. */
static void test_reconnect(void)
{
    g_autoptr(VubMsg) m = NULL;
    Blk t;

    blk_init(&t, NULL, true);
    gen_launch(&t, ",reconnect=1", GEN_BLK, NULL);
    blk_driver_start(&t, 1);
    for (unsigned i = 0; i < 3; i++) {
        blk_write_check(&t, 0, 20 + i, 512, i);
    }
    vub_disconnect(t.b);
    g_assert_true(vub_wait_connections(t.b, 2, TIMEOUT_MS));
    g_assert_true(vub_wait_vring_running(t.b, 0, TIMEOUT_MS));
    blk_expect_stderr(&t, "vhost-user-device 'gen0': backend disconnected",
                      NULL);
    m = vub_find(t.b, VHOST_USER_GET_CONFIG, -1);
    g_assert_cmpuint(m->conn, ==, 2);
    g_assert_cmpint(last_vring_base(&t, 0), ==, 3);
    blk_write_check(&t, 0, 30, 512, 9);
    g_assert_cmpuint(vub_vring_info(t.b, 0).used_idx, ==, 4);
    blk_free(&t);
}

/* A backend that comes back without VERSION_1 is refused (kvmini keeps
 * running and keeps dialing); once it offers VERSION_1 again it is
 * taken and the ring restarts. */
static void test_reconnect_refused(void)
{
    Blk t;

    blk_init(&t, NULL, true);
    gen_launch(&t, ",reconnect=1", GEN_BLK, NULL);
    blk_driver_start(&t, 1);
    blk_write_check(&t, 0, 1, 512, 1);
    vub_set_features(t.b, VUB_DEFAULT_FEATURES & ~VUB_BIT(VIRTIO_F_VERSION_1));
    vub_disconnect(t.b);
    g_assert_true(vub_wait_connections(t.b, 2, TIMEOUT_MS));
    blk_expect_stderr(&t, "vhost-user-device 'gen0': backend connection "
                      "failed: the backend does not offer "
                      "VIRTIO_F_VERSION_1", NULL);
    g_assert_true(vub_wait_disconnected(t.b, TIMEOUT_MS));
    blk_assert_alive(&t);

    vub_set_features(t.b, VUB_DEFAULT_FEATURES);
    g_assert_true(vub_wait_connections(t.b, 3, TIMEOUT_MS));
    g_assert_true(vub_wait_vring_running(t.b, 0, TIMEOUT_MS));
    g_assert_cmpint(last_vring_base(&t, 0), ==, 1);
    blk_write_check(&t, 0, 2, 512, 2);
    blk_free(&t);
}

/* --- refusals ------------------------------------------------------------- */

typedef struct BadArgs {
    const char *dev;
    const char *why;
} BadArgs;

static const BadArgs bad_args[] = {
    { "chardev=c0,num_vqs=1", "virtio-id is required (the device type, "
      "e.g. 2 for a block device)" },
    { "chardev=c0,virtio-id=0,num_vqs=1",
      "virtio-id must be between 1 and 63" },
    { "chardev=c0,virtio-id=64,num_vqs=1",
      "virtio-id must be between 1 and 63" },
    { "chardev=c0,virtio-id=2", "num_vqs is required (the number of "
      "virtqueues)" },
    { "chardev=c0,virtio-id=2,num_vqs=0", "num_vqs must be between 1 and "
      "64" },
    { "chardev=c0,virtio-id=2,num_vqs=65", "num_vqs must be between 1 and "
      "64" },
    { "chardev=c0,virtio-id=2,num_vqs=1,vq_size=100", "vq_size must be a "
      "power of 2 between 1 and 1024" },
    { "chardev=c0,virtio-id=2,num_vqs=1,vq_size=2048", "vq_size must be a "
      "power of 2 between 1 and 1024" },
    { "chardev=c0,virtio-id=2,num_vqs=1,config_size=257", "config_size "
      "must be at most 256 bytes" },
    { "chardev=c0,virtio-id=2,num_vqs=1,num-queues=2",
      "Invalid parameter 'num-queues'" },
    { "virtio-id=2,num_vqs=1", "chardev is required (chardev=ID of a "
      "-chardev socket)" },
    { "chardev=nope,virtio-id=2,num_vqs=1", "chardev 'nope' not found" },
};

static void test_bad_args(void)
{
    Blk t;

    blk_init(&t, NULL, false);
    for (size_t i = 0; i < G_N_ELEMENTS(bad_args); i++) {
        g_autofree char *err = gen_launch_fails(&t, "null,id=c0",
                                                bad_args[i].dev);
        g_autofree char *want = g_strdup_printf(
            "kvmini: -device vhost-user-device,%s: %s\n", bad_args[i].dev,
            bad_args[i].why);

        g_assert_cmpstr(err, ==, want);
    }
    blk_free(&t);
}

/* A backend without VERSION_1 is refused at start-up, after the
 * negotiation told kvmini its features. */
static void test_no_version_1(void)
{
    g_autofree char *chr = NULL, *err = NULL, *want = NULL, *log = NULL;
    VubOptions o;
    Blk t;

    blk_options(&o);
    o.features &= ~VUB_BIT(VIRTIO_F_VERSION_1);
    blk_init(&t, &o, true);
    chr = g_strdup_printf("socket,id=c0,path=%s", t.sock);
    err = gen_launch_fails(&t, chr, "chardev=c0," GEN_BLK);
    want = g_strdup_printf("kvmini: -device vhost-user-device,chardev=c0,"
                           GEN_BLK ": the backend does not offer "
                           "VIRTIO_F_VERSION_1 (features 0x%" PRIx64 "); "
                           "kvmini drives virtio 1.x devices only\n",
                           o.features);
    g_assert_cmpstr(err, ==, want);
    g_assert_true(vub_wait_disconnected(t.b, TIMEOUT_MS));
    log = vub_log_string(t.b, 0);
    g_assert_cmpstr(log, ==, "GET_FEATURES GET_PROTOCOL_FEATURES "
                    "SET_PROTOCOL_FEATURES GET_QUEUE_NUM GET_MAX_MEM_SLOTS "
                    "SET_BACKEND_REQ_FD SET_OWNER");
    blk_free(&t);
}

/* config_size needs the backend's CONFIG protocol feature. */
static void test_config_unsupported(void)
{
    g_autofree char *chr = NULL, *err = NULL;
    VubOptions o;
    Blk t;

    blk_options(&o);
    o.protocol_features &= ~VUB_BIT(VHOST_USER_PROTOCOL_F_CONFIG);
    blk_init(&t, &o, true);
    chr = g_strdup_printf("socket,id=c0,path=%s", t.sock);
    err = gen_launch_fails(&t, chr, "chardev=c0," GEN_BLK);
    g_assert_nonnull(strstr(err, "config_size=60 but the backend has no "
                            "config space (no CONFIG protocol feature)"));
    g_assert_cmpuint(vub_count(t.b, VHOST_USER_GET_CONFIG), ==, 0);
    blk_free(&t);
}

int main(int argc, char **argv)
{
    g_test_init(&argc, &argv, NULL);
    g_test_add_func("/vhost-user-device/probe", test_probe);
    g_test_add_func("/vhost-user-device/device-id", test_device_id);
    g_test_add_func("/vhost-user-device/hidden-features",
                    test_hidden_features);
    g_test_add_func("/vhost-user-device/config-size", test_config_size);
    g_test_add_func("/vhost-user-device/blk/io", test_blk_io);
    g_test_add_func("/vhost-user-device/blk/multiqueue", test_multiqueue);
    g_test_add_func("/vhost-user-device/blk/no-config", test_no_config);
    g_test_add_func("/vhost-user-device/config/set", test_set_config);
    g_test_add_func("/vhost-user-device/config/change", test_config_change);
    g_test_add_func("/vhost-user-device/reset-restart", test_reset_restart);
    g_test_add_func("/vhost-user-device/reconnect/resume", test_reconnect);
    g_test_add_func("/vhost-user-device/reconnect/refused",
                    test_reconnect_refused);
    g_test_add_func("/vhost-user-device/refuse/args", test_bad_args);
    g_test_add_func("/vhost-user-device/refuse/no-version-1",
                    test_no_version_1);
    g_test_add_func("/vhost-user-device/refuse/config-unsupported",
                    test_config_unsupported);
    return g_test_run();
}
