/* SPDX-License-Identifier: MIT */
/*
 * Live migration with a vhost-user net device: two kvmini processes under
 * qtest, each with its own test vhost-user net backend (a reflector) and
 * a QMP monitor; the test is the guest's virtio-net driver
 * (vhost-user-net-common.h) and follows the guest to the destination.
 *
 * Covered: frames keep flowing after the switch-over (the destination's
 * backend resumes the rings where the source's stopped, with the receive
 * buffers the driver had posted); the device's state moves (a MAC the
 * driver set, the link); the destination announces the guest: SEND_RARP
 * with the current MAC, or, when the driver negotiated GUEST_ANNOUNCE,
 * the ANNOUNCE status bit with a config interrupt and no RARP.
 */
#include <string.h>
#include <glib/gstdio.h>

#include "vhost-user-net-common.h"

#define MIG_TIMEOUT_MS 60000

typedef struct NetMig {
    Net src;                    /* the driver; after the switch the
                                 * destination's process and backend */
    Net dst;                    /* the other side */
    char *uri;
} NetMig;

static void netmig_init(NetMig *m, const char *dev_opts, uint64_t wanted)
{
    g_autofree char *args = NULL;

    net_init(&m->src, NULL);
    net_launch(&m->src, NULL, 1, dev_opts, true);
    net_init(&m->dst, NULL);
    m->uri = g_strdup_printf("unix:%s/mig.sock", m->dst.dir);
    args = net_args(&m->dst, NULL, 1, dev_opts);
    m->dst.queues = 1;
    m->dst.qts = qtest_initf("%s -qmp unix:%s,server=on,wait=off "
                             "-incoming %s", args, m->dst.qmp_sock, m->uri);
    m->dst.qmp = qmp_connect(m->dst.qmp_sock);
    qmp_negotiate(m->dst.qmp);
    /* Interrupts of the destination are seen from its first one on. */
    qtest_irq_intercept_in(m->dst.qts, "ioapic");
    net_driver_start(&m->src, wanted);
    net_echo(&m->src, 0, 100, 1);
}

static void netmig_free(NetMig *m)
{
    g_autofree char *mig_sock = g_strdup_printf("%s/mig.sock", m->dst.dir);

    g_unlink(mig_sock);
    net_free(&m->src);
    net_free(&m->dst);
    g_free(m->uri);
}

static void wait_completed(Net *t)
{
    json_node_unref(qmp_wait_migration_status(t->qmp, "completed",
                                              MIG_TIMEOUT_MS));
}

/* Migrate, then swap the processes and backends of src and dst: the
 * driver (queues, buffers, device) now talks to the destination. */
static void netmig_migrate(NetMig *m)
{
    QTestState *qts = m->src.qts;
    QmpClient *qmp = m->src.qmp;
    Vub *b = m->src.b;

    json_node_unref(qmp_cmd_ok(m->src.qmp, "{\"execute\": \"migrate\", "
                               "\"arguments\": {\"uri\": \"%s\"}}", m->uri));
    wait_completed(&m->src);
    wait_completed(&m->dst);
    m->src.qts = m->dst.qts;
    m->src.qmp = m->dst.qmp;
    m->src.b = m->dst.b;
    m->src.dev.qts = m->dst.qts;
    m->dst.qts = qts;
    m->dst.qmp = qmp;
    m->dst.b = b;
}

/* Without GUEST_ANNOUNCE: the backend sends a RARP with the MAC the
 * driver set; frames flow through the destination's backend. */
static void test_migrate_rarp(void)
{
    static const uint8_t new_mac[6] = { 0x02, 6, 7, 8, 9, 10 };
    uint8_t mac[6];
    NetMig m;

    netmig_init(&m, NULL, NET_WANTED);
    g_assert_cmpuint(net_ctrl(&m.src, VIRTIO_NET_CTRL_MAC,
                              VIRTIO_NET_CTRL_MAC_ADDR_SET, new_mac, 6), ==,
                     VIRTIO_NET_OK);
    netmig_migrate(&m);
    g_assert_true(vub_wait_for_request(m.src.b, VHOST_USER_SEND_RARP,
                                       TIMEOUT_MS));
    g_assert_true(vub_net_rarp_mac(m.src.b, mac));
    g_assert_cmpmem(mac, 6, new_mac, 6);
    net_config_mac(&m.src, mac);
    g_assert_cmpmem(mac, 6, new_mac, 6);
    g_assert_cmphex(net_status(&m.src), ==, VIRTIO_NET_S_LINK_UP);
    /* The rings go on where the source's backend stopped them. */
    net_wait_backend(&m.src, m.src.b);
    for (unsigned q = 0; q < 2; q++) {
        VubVringInfo old = vub_vring_info(m.dst.b, q);

        g_assert_false(old.started);
        g_assert_cmpuint(old.last_avail, ==, 1);    /* one frame each */
        g_assert_cmpint(last_vring_state(m.src.b, VHOST_USER_SET_VRING_BASE,
                                         q), ==, old.last_avail);
    }
    net_echo(&m.src, 0, 200, 2);
    net_echo(&m.src, 0, 60, 3);
    g_assert_cmpuint(vub_net_stats(m.src.b, 0).rx_packets, ==, 2);
    g_assert_cmpuint(vub_net_stats(m.dst.b, 0).rx_packets, ==, 1);
    /* The control queue (served by kvmini) works on the destination. */
    g_assert_cmpuint(net_ctrl(&m.src, VIRTIO_NET_CTRL_MAC,
                              VIRTIO_NET_CTRL_MAC_ADDR_SET, net_default_mac,
                              6), ==, VIRTIO_NET_OK);
    netmig_free(&m);
}

/* With GUEST_ANNOUNCE the guest announces itself on the destination. */
static void test_migrate_guest_announce(void)
{
    NetMig m;

    netmig_init(&m, NULL, NET_WANTED | BIT(VIRTIO_NET_F_GUEST_ANNOUNCE));
    netmig_migrate(&m);
    net_wait_config_irq(&m.src);
    g_assert_cmphex(net_status(&m.src), ==,
                    VIRTIO_NET_S_LINK_UP | VIRTIO_NET_S_ANNOUNCE);
    g_assert_cmpuint(net_ctrl(&m.src, VIRTIO_NET_CTRL_ANNOUNCE,
                              VIRTIO_NET_CTRL_ANNOUNCE_ACK, NULL, 0), ==,
                     VIRTIO_NET_OK);
    g_assert_cmphex(net_status(&m.src), ==, VIRTIO_NET_S_LINK_UP);
    g_assert_cmpuint(vub_count(m.src.b, VHOST_USER_SEND_RARP), ==, 0);
    net_echo(&m.src, 0, 100, 4);
    netmig_free(&m);
}

int main(int argc, char **argv)
{
    g_test_init(&argc, &argv, NULL);
    g_test_add_func("/migration-vhost-net/rarp", test_migrate_rarp);
    g_test_add_func("/migration-vhost-net/guest-announce",
                    test_migrate_guest_announce);
    return g_test_run();
}
