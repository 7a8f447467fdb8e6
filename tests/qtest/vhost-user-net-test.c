/* SPDX-License-Identifier: MIT */
/*
 * virtio-net over vhost-user under qtest, checked on the wire and on the
 * data: kvmini runs with -netdev vhost-user -device virtio-net-device, the
 * test vhost-user backend (a net reflector, vhost-user-test-backend.h)
 * runs on a thread of this process and records every message, and the
 * test plays the guest's virtio-net driver: receive and transmit queues
 * in guest RAM, receive buffers posted, frames sent and read back with
 * their MACs swapped.  Covered: feature negotiation (what the backend is
 * told), multiqueue with VQ_PAIRS_SET on the control queue, the other
 * control commands, config space (MAC, pairs, MTU), link status across
 * backend restarts in both socket directions, a second peer refused,
 * start-up errors, and announce-self (SEND_RARP or the guest's announce).
 */
#include <string.h>
#include <linux/virtio_config.h>

#include "hw/virtio/virtio-mmio.h"
#include "vhost-user-net-common.h"

/* --- negotiation ---------------------------------------------------------- */

/* The backend offers more than kvmini passes on; it must be told the
 * guest's data-path bits it offered, bit 30, and nothing else. */
static void test_negotiate_features(void)
{
    uint64_t extra = BIT(VIRTIO_NET_F_CSUM) | BIT(VIRTIO_NET_F_GUEST_CSUM) |
                     BIT(VIRTIO_NET_F_MRG_RXBUF) | BIT(VIRTIO_NET_F_MAC) |
                     BIT(VIRTIO_NET_F_CTRL_VQ) | BIT(VIRTIO_NET_F_STATUS);
    g_autofree char *init = NULL;
    uint64_t host, acked;
    VubOptions o;
    Net t;

    vub_options_init_net(&o, NULL, 1);
    o.features |= extra;
    net_init(&t, &o);
    net_launch(&t, NULL, 1, NULL, false);
    init = vub_log_string(t.b, 0);
    g_assert_cmpstr(init, ==, "GET_FEATURES GET_PROTOCOL_FEATURES "
                    "SET_PROTOCOL_FEATURES GET_QUEUE_NUM GET_MAX_MEM_SLOTS "
                    "SET_OWNER");
    g_assert_cmphex(vub_acked_protocol_features(t.b), ==,
                    VUB_NET_DEFAULT_PROTOCOL_FEATURES);
    net_driver_start(&t, NET_WANTED | BIT(VIRTIO_NET_F_CSUM));
    host = t.dev.host_features;
    g_assert_cmphex(host & NET_WANTED, ==, NET_WANTED);
    g_assert_true(host & BIT(VIRTIO_NET_F_GUEST_ANNOUNCE));
    g_assert_cmphex(host & extra, ==, extra);
    /* Not offered: bit 30, LOG_ALL, MQ without mq=on, MTU without mtu=,
     * offloads the backend lacks. */
    g_assert_cmphex(host & (BIT(VHOST_USER_F_PROTOCOL_FEATURES) |
                            BIT(VHOST_USER_F_LOG_ALL) |
                            BIT(VIRTIO_NET_F_MQ) | BIT(VIRTIO_NET_F_MTU) |
                            BIT(VIRTIO_NET_F_GUEST_TSO4)), ==, 0);
    acked = msg_u64(t.b, VHOST_USER_SET_FEATURES, -1);
    g_assert_cmphex(acked & ~(t.dev.features |
                              BIT(VHOST_USER_F_PROTOCOL_FEATURES)), ==, 0);
    g_assert_cmphex(acked, ==, BIT(VIRTIO_F_VERSION_1) |
                    BIT(VIRTIO_NET_F_CSUM) |
                    BIT(VHOST_USER_F_PROTOCOL_FEATURES));
    net_echo(&t, 0, 60, 1);
    net_free(&t);
}

/* Without bit 30: no protocol features, no SET_VRING_ENABLE, rings run
 * from the start. */
static void test_negotiate_no_protocol(void)
{
    g_autofree char *init = NULL;
    VubOptions o;
    Net t;

    vub_options_init_net(&o, NULL, 1);
    o.features &= ~BIT(VHOST_USER_F_PROTOCOL_FEATURES);
    net_init(&t, &o);
    net_launch(&t, NULL, 1, NULL, false);
    /* No ack without REPLY_ACK: SET_OWNER may still be on its way. */
    g_assert_true(vub_wait_for_request(t.b, VHOST_USER_SET_OWNER,
                                       TIMEOUT_MS));
    init = vub_log_string(t.b, 0);
    g_assert_cmpstr(init, ==, "GET_FEATURES SET_OWNER");
    net_driver_start(&t, NET_WANTED);
    g_assert_cmphex(msg_u64(t.b, VHOST_USER_SET_FEATURES, -1), ==,
                    BIT(VIRTIO_F_VERSION_1));
    g_assert_cmpuint(vub_count(t.b, VHOST_USER_SET_VRING_ENABLE), ==, 0);
    net_echo(&t, 0, 100, 2);
    net_free(&t);
}

/* queues= above GET_QUEUE_NUM: one line naming the netdev, exit 1. */
static void test_queues_refused(void)
{
    g_autofree char *args = NULL, *err = NULL;
    VubOptions o;
    Net t;

    vub_options_init_net(&o, NULL, 2);
    net_init(&t, &o);
    args = net_args(&t, NULL, 4, ",mq=on");
    g_assert_cmpint(net_run_failing(&t, args, &err), ==, 1);
    g_assert_nonnull(strstr(err, "netdev 'n0' has queues=4 but the "
                            "backend supports only 2 queue pair(s)"));
    g_assert_true(one_line(err));
    g_assert_true(vub_wait_for_request(t.b, VHOST_USER_GET_QUEUE_NUM,
                                       TIMEOUT_MS));
    net_free(&t);
}

/* A malformed or multicast mac=: one line, exit 1. */
static void test_bad_mac(void)
{
    static const char *const bad[] = {
        "52:54:00:12:34", "52:54:00:12:34:5g", "52:54:00:12:34:567",
        "5:54:00:12:34:56", "01:00:5e:00:00:01",
    };
    Net t;

    net_init(&t, NULL);
    for (size_t i = 0; i < G_N_ELEMENTS(bad); i++) {
        g_autofree char *opt = g_strdup_printf(",mac=%s", bad[i]);
        g_autofree char *args = net_args(&t, NULL, 1, opt);
        g_autofree char *err = NULL;

        g_assert_cmpint(net_run_failing(&t, args, &err), ==, 1);
        g_assert_nonnull(strstr(err, bad[i]));
        g_assert_true(one_line(err));
    }
    net_free(&t);
}

/* --- the data path -------------------------------------------------------- */

static void test_data_macswap(void)
{
    uint8_t f[RX_BUF_LEN];
    VubNetStats st;
    Net t;

    net_init(&t, NULL);
    net_launch(&t, NULL, 1, NULL, false);
    net_driver_start(&t, NET_WANTED);
    net_irq_clear(&t);
    net_echo(&t, 0, 60, 1);
    g_assert_true(qvirtio_wait_irq(&t.dev, TIMEOUT_MS));
    g_assert_cmphex(qvirtio_isr(&t.dev) & VIRTIO_MMIO_INT_VRING, ==,
                    VIRTIO_MMIO_INT_VRING);
    net_echo(&t, 0, 1514, 2);
    net_echo(&t, 0, ETH_HLEN, 3);
    /* Header and frame in two descriptors. */
    make_frame(f, 300, net_peer_mac, net_default_mac, 4);
    net_send(&t, 0, f, 300, true);
    net_check_echo(&t, 0, f, 300, false);
    net_wait_tx_done(&t, 0);
    /* A runt is consumed and dropped. */
    net_send(&t, 0, f, ETH_HLEN - 1, false);
    net_wait_tx_done(&t, 0);
    st = vub_net_stats(t.b, 0);
    g_assert_cmpuint(st.tx_packets, ==, 4);
    g_assert_cmpuint(st.rx_packets, ==, 4);
    g_assert_cmpuint(st.tx_bytes, ==, 60 + 1514 + ETH_HLEN + 300);
    g_assert_cmpuint(st.rx_bytes, ==, st.tx_bytes);
    g_assert_cmpuint(st.tx_errors, ==, 1);
    g_assert_cmpuint(vub_vring_info(t.b, 0).completed, ==, 4);
    g_assert_cmpuint(vub_vring_info(t.b, 1).completed, ==, 5);
    net_free(&t);
}

/* Loopback mode, and a frame that waits for a receive buffer. */
static void test_data_loopback(void)
{
    uint8_t f[RX_BUF_LEN];
    VubOptions o;
    Net t;

    vub_options_init_net(&o, NULL, 1);
    o.net_loopback = true;
    net_init(&t, &o);
    net_launch(&t, NULL, 1, NULL, false);
    net_driver_start(&t, NET_WANTED);
    make_frame(f, 200, net_peer_mac, net_default_mac, 5);
    net_send(&t, 0, f, 200, false);
    net_check_echo(&t, 0, f, 200, true);
    net_wait_tx_done(&t, 0);
    /* Use up the receive buffers: the next frame waits for one. */
    for (unsigned i = 1; i < RX_BUFS; i++) {
        net_send(&t, 0, f, 64, false);
        net_check_echo(&t, 0, f, 64, true);
        net_wait_tx_done(&t, 0);
    }
    net_send(&t, 0, f, 128, false);
    g_assert_true(vub_wait_avail_seen(t.b, 1, t.tx[0]->avail_idx,
                                      TIMEOUT_MS));
    g_assert_cmpuint(vub_net_stats(t.b, 0).tx_packets, ==, RX_BUFS);
    net_post_rx(&t, 0, 1);
    net_check_echo(&t, 0, f, 128, true);
    net_wait_tx_done(&t, 0);
    net_free(&t);
}

/* --- multiqueue ----------------------------------------------------------- */

static void check_pair_enabled(Net *t, unsigned pair, bool on)
{
    for (unsigned i = 2 * pair; i < 2 * pair + 2; i++) {
        g_assert_cmpint(last_vring_state(t->b, VHOST_USER_SET_VRING_ENABLE,
                                         i), ==, on);
        g_assert_cmpint(vub_vring_info(t->b, i).enable_msg, ==, on);
    }
}

/* queues=2,mq=on: both pairs start, the second enabled only by
 * VQ_PAIRS_SET 2; a frame sent while it is off waits. */
static void test_multiqueue(void)
{
    uint8_t f[256];
    VubOptions o;
    Net t;

    vub_options_init_net(&o, NULL, 2);
    net_init(&t, &o);
    net_launch(&t, NULL, 2, ",mq=on", false);
    g_assert_cmpuint(vub_count(t.b, VHOST_USER_GET_QUEUE_NUM), ==, 1);
    net_driver_start(&t, NET_WANTED | BIT(VIRTIO_NET_F_MQ));
    g_assert_true(t.dev.features & BIT(VIRTIO_NET_F_MQ));
    g_assert_cmpuint(qvirtio_config_readw(&t.dev, CFG_PAIRS), ==, 2);
    g_assert_true(msg_u64(t.b, VHOST_USER_SET_FEATURES, -1) &
                  BIT(VIRTIO_NET_F_MQ));
    check_pair_enabled(&t, 0, true);
    check_pair_enabled(&t, 1, false);

    make_frame(f, sizeof(f), net_peer_mac, net_default_mac, 9);
    net_send(&t, 1, f, sizeof(f), false);
    g_assert_true(vub_wait_vring_started(t.b, 3, TIMEOUT_MS));
    g_assert_cmpuint(vub_net_stats(t.b, 1).tx_packets, ==, 0);

    g_assert_cmpuint(net_ctrl_pairs(&t, 2), ==, VIRTIO_NET_OK);
    check_pair_enabled(&t, 1, true);
    net_check_echo(&t, 1, f, sizeof(f), false);
    net_wait_tx_done(&t, 1);
    net_echo(&t, 0, 80, 10);
    net_echo(&t, 1, 90, 11);
    g_assert_cmpuint(vub_net_stats(t.b, 0).rx_packets, ==, 1);
    g_assert_cmpuint(vub_net_stats(t.b, 1).rx_packets, ==, 2);

    g_assert_cmpuint(net_ctrl_pairs(&t, 1), ==, VIRTIO_NET_OK);
    check_pair_enabled(&t, 1, false);
    check_pair_enabled(&t, 0, true);
    g_assert_cmpuint(net_ctrl_pairs(&t, 3), ==, VIRTIO_NET_ERR);
    g_assert_cmpuint(net_ctrl_pairs(&t, 0), ==, VIRTIO_NET_ERR);
    net_echo(&t, 0, 70, 12);
    net_free(&t);
}

/* mq=on but the driver does not take MQ: one pair, the control queue
 * right after it, VQ_PAIRS_SET refused. */
static void test_mq_not_negotiated(void)
{
    VubOptions o;
    Net t;

    vub_options_init_net(&o, NULL, 2);
    net_init(&t, &o);
    net_launch(&t, NULL, 2, ",mq=on", false);
    net_driver_start(&t, NET_WANTED);
    g_assert_true(t.dev.host_features & BIT(VIRTIO_NET_F_MQ));
    g_assert_cmpuint(t.ctrl->index, ==, 2);
    g_assert_false(msg_u64(t.b, VHOST_USER_SET_FEATURES, -1) &
                   BIT(VIRTIO_NET_F_MQ));
    g_assert_cmpuint(net_ctrl_pairs(&t, 1), ==, VIRTIO_NET_ERR);
    g_assert_false(vub_vring_info(t.b, 2).started);
    g_assert_cmpint(last_vring_state(t.b, VHOST_USER_SET_VRING_ENABLE, 2),
                    ==, -1);
    net_echo(&t, 0, 60, 1);
    net_free(&t);
}

/* --- the control queue ---------------------------------------------------- */

static void test_ctrl(void)
{
    static const uint8_t tables[] = {
        1, 0, 0, 0, 0x02, 0, 0, 0, 0, 0x02,             /* 1 unicast */
        2, 0, 0, 0, 0x01, 0, 0x5e, 0, 0, 1,             /* 2 multicast */
        0x33, 0x33, 0, 0, 0, 1,
    };
    static const uint8_t new_mac[6] = { 0x02, 0xaa, 0xbb, 0xcc, 0xdd, 0xee };
    uint8_t on = 1, two[2] = { 1, 1 }, mac[6];
    Net t;

    net_init(&t, NULL);
    net_launch(&t, NULL, 1, NULL, false);
    net_driver_start(&t, NET_WANTED);
    g_assert_cmpuint(t.ctrl->index, ==, 2);
    for (uint8_t cmd = VIRTIO_NET_CTRL_RX_PROMISC;
         cmd <= VIRTIO_NET_CTRL_RX_NOBCAST; cmd++) {
        g_assert_cmpuint(net_ctrl(&t, VIRTIO_NET_CTRL_RX, cmd, &on, 1), ==,
                         VIRTIO_NET_OK);
    }
    g_assert_cmpuint(net_ctrl(&t, VIRTIO_NET_CTRL_RX, 6, &on, 1), ==,
                     VIRTIO_NET_ERR);
    g_assert_cmpuint(net_ctrl(&t, VIRTIO_NET_CTRL_RX, 0, two, 2), ==,
                     VIRTIO_NET_ERR);
    g_assert_cmpuint(net_ctrl(&t, VIRTIO_NET_CTRL_MAC,
                              VIRTIO_NET_CTRL_MAC_TABLE_SET, tables,
                              sizeof(tables)), ==, VIRTIO_NET_OK);
    g_assert_cmpuint(net_ctrl(&t, VIRTIO_NET_CTRL_MAC,
                              VIRTIO_NET_CTRL_MAC_TABLE_SET, tables,
                              sizeof(tables) - 1), ==, VIRTIO_NET_ERR);
    g_assert_cmpuint(net_ctrl(&t, VIRTIO_NET_CTRL_MAC,
                              VIRTIO_NET_CTRL_MAC_ADDR_SET, new_mac, 6), ==,
                     VIRTIO_NET_OK);
    net_config_mac(&t, mac);
    g_assert_cmpmem(mac, 6, new_mac, 6);
    /* Unknown class, VLAN (not offered), MQ and ANNOUNCE not negotiated. */
    g_assert_cmpuint(net_ctrl(&t, 99, 0, &on, 1), ==, VIRTIO_NET_ERR);
    g_assert_cmpuint(net_ctrl(&t, VIRTIO_NET_CTRL_VLAN, 0, two, 2), ==,
                     VIRTIO_NET_ERR);
    g_assert_cmpuint(net_ctrl_pairs(&t, 1), ==, VIRTIO_NET_ERR);
    g_assert_cmpuint(net_ctrl(&t, VIRTIO_NET_CTRL_ANNOUNCE,
                              VIRTIO_NET_CTRL_ANNOUNCE_ACK, NULL, 0), ==,
                     VIRTIO_NET_ERR);
    g_assert_cmpuint(vub_count(t.b, VHOST_USER_SET_VRING_ENABLE), ==, 2);
    net_echo(&t, 0, 64, 13);
    net_free(&t);
}

/* --- config space --------------------------------------------------------- */

/* mtu= but the driver does not take F_MTU: the backend is not told. */
static void test_config_mtu_not_acked(void)
{
    Net t;

    net_init(&t, NULL);
    net_launch(&t, NULL, 1, ",mtu=1400", false);
    net_driver_start(&t, NET_WANTED);
    g_assert_true(t.dev.host_features & BIT(VIRTIO_NET_F_MTU));
    g_assert_cmpuint(qvirtio_config_readw(&t.dev, CFG_MTU), ==, 1400);
    g_assert_cmpuint(vub_count(t.b, VHOST_USER_NET_SET_MTU), ==, 0);
    g_assert_false(msg_u64(t.b, VHOST_USER_SET_FEATURES, -1) &
                   BIT(VIRTIO_NET_F_MTU));
    net_echo(&t, 0, 1514, 15);
    net_free(&t);
}

static void test_config_default(void)
{
    uint8_t mac[6];
    Net t;

    net_init(&t, NULL);
    net_launch(&t, NULL, 1, NULL, false);
    net_driver_start(&t, NET_WANTED);
    net_config_mac(&t, mac);
    g_assert_cmpmem(mac, 6, net_default_mac, 6);
    g_assert_cmphex(net_status(&t), ==, VIRTIO_NET_S_LINK_UP);
    g_assert_cmpuint(qvirtio_config_readw(&t.dev, CFG_PAIRS), ==, 1);
    g_assert_cmpuint(qvirtio_config_readw(&t.dev, CFG_MTU), ==, 0);
    g_assert_false(t.dev.host_features & BIT(VIRTIO_NET_F_MTU));
    g_assert_cmpuint(vub_count(t.b, VHOST_USER_NET_SET_MTU), ==, 0);
    net_free(&t);
}

/* mac= and mtu=: in config space; NET_SET_MTU when the backend has
 * NET_MTU, F_MTU offered either way. */
static void test_config_mac_mtu(gconstpointer data)
{
    bool net_mtu = GPOINTER_TO_INT(data);
    static const uint8_t want[6] = { 0x02, 0x11, 0x22, 0x33, 0x44, 0x55 };
    uint8_t mac[6];
    VubOptions o;
    Net t;

    vub_options_init_net(&o, NULL, 1);
    if (!net_mtu) {
        o.protocol_features &= ~BIT(VHOST_USER_PROTOCOL_F_NET_MTU);
    }
    net_init(&t, &o);
    net_launch(&t, NULL, 1, ",mac=02:11:22:33:44:55,mtu=9000", false);
    net_driver_start(&t, NET_WANTED | BIT(VIRTIO_NET_F_MTU));
    g_assert_true(t.dev.features & BIT(VIRTIO_NET_F_MTU));
    g_assert_cmpuint(qvirtio_config_readw(&t.dev, CFG_MTU), ==, 9000);
    net_config_mac(&t, mac);
    g_assert_cmpmem(mac, 6, want, 6);
    g_assert_cmpuint(vub_count(t.b, VHOST_USER_NET_SET_MTU), ==, net_mtu);
    g_assert_cmpuint(vub_net_mtu(t.b), ==, net_mtu ? 9000 : 0);
    g_assert_true(msg_u64(t.b, VHOST_USER_SET_FEATURES, -1) &
                  BIT(VIRTIO_NET_F_MTU));
    net_echo(&t, 0, 1000, 14);
    net_free(&t);
}

/* --- link status and reconnection ----------------------------------------- */

/* The backend goes: link down with a config interrupt. */
static void check_link_down(Net *t, Vub *b)
{
    net_irq_clear(t);
    vub_disconnect(b);
    net_wait_config_irq(t);
    g_assert_cmphex(net_status(t) & VIRTIO_NET_S_LINK_UP, ==, 0);
    net_expect_stderr(t, "backend disconnected");
}

/* A backend is back: link up with a config interrupt, the rings
 * restarted where they stopped, frames flow. */
static void check_link_up(Net *t, Vub *b, uint16_t rx_base)
{
    net_wait_config_irq(t);
    g_assert_cmphex(net_status(t) & VIRTIO_NET_S_LINK_UP, ==,
                    VIRTIO_NET_S_LINK_UP);
    net_wait_backend(t, b);
    g_assert_cmpint(last_vring_state(b, VHOST_USER_SET_VRING_BASE, 0), ==,
                    rx_base);
    net_echo(t, 0, 128, rx_base);
}

/* kvmini dials with reconnect=1: it comes back to the same backend. */
static void test_link_client_reconnect(void)
{
    Net t;

    net_init(&t, NULL);
    net_launch(&t, ",reconnect=1", 1, NULL, false);
    net_driver_start(&t, NET_WANTED);
    net_echo(&t, 0, 60, 1);
    check_link_down(&t, t.b);
    g_assert_true(vub_wait_connections(t.b, 2, TIMEOUT_MS));
    check_link_up(&t, t.b, 1);
    net_free(&t);
}

static Vub *net_client_backend(Net *t, unsigned pairs)
{
    VubOptions o;

    vub_options_init_net(&o, t->sock, pairs);
    o.client = true;
    return vub_new(&o);
}

/* A second peer on the socket is refused; the first keeps working. */
static void check_second_refused(Net *t)
{
    g_autoptr(Vub) intruder = net_client_backend(t, 1);
    unsigned before = vub_log_len(t->b);
    g_autofree char *why = NULL;

    net_irq_clear(t);
    g_assert_true(vub_wait_connections(intruder, 1, TIMEOUT_MS));
    g_assert_true(vub_wait_disconnected(intruder, TIMEOUT_MS));
    why = vub_last_error(intruder);
    g_assert_cmpstr(why, ==, "EOF");
    g_assert_cmpuint(vub_log_len(intruder), ==, 0);
    net_expect_stderr(t, "refusing a second connection");
    g_assert_true(vub_connected(t->b));
    g_assert_cmpuint(vub_log_len(t->b), ==, before);
    g_assert_cmphex(net_status(t), ==, VIRTIO_NET_S_LINK_UP);
    g_assert_cmphex(qvirtio_isr(&t->dev) & VIRTIO_MMIO_INT_CONFIG, ==, 0);
    net_echo(t, 0, 100, 7);
}

/* kvmini listens: the backend dials, drops, a new one dials again and
 * is accepted; a second one while it is there is refused. */
static void test_link_server(void)
{
    VubOptions o;
    Net t;

    vub_options_init_net(&o, NULL, 1);
    o.client = true;
    net_init(&t, &o);
    net_launch(&t, ",server=on,wait=off", 1, NULL, false);
    g_assert_cmpuint(vub_connections(t.b), ==, 1);
    net_driver_start(&t, NET_WANTED);
    net_echo(&t, 0, 60, 1);
    net_echo(&t, 0, 61, 2);
    check_link_down(&t, t.b);
    vub_free(t.b);
    t.b = net_client_backend(&t, 1);
    check_link_up(&t, t.b, 2);
    check_second_refused(&t);
    net_free(&t);
}

/* The pairs the driver enabled stay enabled across a backend restart. */
static void test_link_mq_restart(void)
{
    VubOptions o;
    Net t;

    vub_options_init_net(&o, NULL, 2);
    o.client = true;
    net_init(&t, &o);
    net_launch(&t, ",server=on,wait=off", 2, ",mq=on", false);
    net_driver_start(&t, NET_WANTED | BIT(VIRTIO_NET_F_MQ));
    g_assert_cmpuint(net_ctrl_pairs(&t, 2), ==, VIRTIO_NET_OK);
    net_echo(&t, 1, 60, 1);
    check_link_down(&t, t.b);
    vub_free(t.b);
    t.b = net_client_backend(&t, 2);
    net_wait_config_irq(&t);
    net_wait_backend(&t, t.b);
    g_assert_true(vub_wait_vring_running(t.b, 3, TIMEOUT_MS));
    check_pair_enabled(&t, 0, true);
    check_pair_enabled(&t, 1, true);
    g_assert_cmpint(last_vring_state(t.b, VHOST_USER_SET_VRING_BASE, 2), ==,
                    1);
    net_echo(&t, 1, 70, 2);
    net_echo(&t, 0, 80, 3);
    net_free(&t);
}

/* --- announce-self -------------------------------------------------------- */

static void qmp_announce(Net *t)
{
    json_node_unref(qmp_cmd_ok(t->qmp, "{\"execute\": "
                                       "\"announce-self\"}"));
}

/* Without GUEST_ANNOUNCE: SEND_RARP with the device's current MAC. */
static void test_announce_rarp(void)
{
    static const uint8_t set_mac[6] = { 0x02, 1, 2, 3, 4, 5 };
    static const uint8_t new_mac[6] = { 0x02, 6, 7, 8, 9, 10 };
    uint8_t mac[6];
    Net t;

    net_init(&t, NULL);
    net_launch(&t, NULL, 1, ",mac=02:01:02:03:04:05", true);
    net_driver_start(&t, NET_WANTED);
    net_irq_clear(&t);
    qmp_announce(&t);
    g_assert_true(vub_wait_for_request(t.b, VHOST_USER_SEND_RARP,
                                       TIMEOUT_MS));
    g_assert_true(vub_net_rarp_mac(t.b, mac));
    g_assert_cmpmem(mac, 6, set_mac, 6);
    g_assert_cmphex(net_status(&t), ==, VIRTIO_NET_S_LINK_UP);
    g_assert_cmpuint(net_ctrl(&t, VIRTIO_NET_CTRL_MAC,
                              VIRTIO_NET_CTRL_MAC_ADDR_SET, new_mac, 6), ==,
                     VIRTIO_NET_OK);
    qmp_announce(&t);
    g_assert_true(vub_wait_for_count(t.b, VHOST_USER_SEND_RARP, 2,
                                     TIMEOUT_MS));
    g_assert_true(vub_net_rarp_mac(t.b, mac));
    g_assert_cmpmem(mac, 6, new_mac, 6);
    g_assert_cmphex(qvirtio_isr(&t.dev) & VIRTIO_MMIO_INT_CONFIG, ==, 0);
    net_free(&t);
}

/* With GUEST_ANNOUNCE the guest announces: status bit and config
 * interrupt, no SEND_RARP; ANNOUNCE_ACK clears the bit. */
static void test_announce_guest(void)
{
    Net t;

    net_init(&t, NULL);
    net_launch(&t, NULL, 1, NULL, true);
    net_driver_start(&t, NET_WANTED | BIT(VIRTIO_NET_F_GUEST_ANNOUNCE));
    net_irq_clear(&t);
    qmp_announce(&t);
    net_wait_config_irq(&t);
    g_assert_cmphex(net_status(&t), ==,
                    VIRTIO_NET_S_LINK_UP | VIRTIO_NET_S_ANNOUNCE);
    g_assert_cmpuint(net_ctrl(&t, VIRTIO_NET_CTRL_ANNOUNCE,
                              VIRTIO_NET_CTRL_ANNOUNCE_ACK, NULL, 0), ==,
                     VIRTIO_NET_OK);
    g_assert_cmphex(net_status(&t), ==, VIRTIO_NET_S_LINK_UP);
    g_assert_cmpuint(vub_count(t.b, VHOST_USER_SEND_RARP), ==, 0);
    net_free(&t);
}

/* A backend without RARP cannot announce: the command says why. */
static void test_announce_no_rarp(void)
{
    g_autoptr(JsonNode) r = NULL;
    VubOptions o;
    Net t;

    vub_options_init_net(&o, NULL, 1);
    o.protocol_features &= ~BIT(VHOST_USER_PROTOCOL_F_RARP);
    net_init(&t, &o);
    net_launch(&t, NULL, 1, ",id=nic0", true);
    net_driver_start(&t, NET_WANTED);
    /* Not among the interfaces: nothing to do, no error. */
    json_node_unref(qmp_cmd_ok(t.qmp, "{\"execute\": \"announce-self\", "
                               "\"arguments\": {\"interfaces\": "
                               "[\"other\"]}}"));
    r = qmp_cmd(t.qmp, "{\"execute\": \"announce-self\"}");
    g_assert_nonnull(strstr(qmp_expect_error(r, "GenericError"), "RARP"));
    g_assert_nonnull(strstr(qmp_expect_error(r, "GenericError"), "nic0"));
    g_assert_cmpuint(vub_count(t.b, VHOST_USER_SEND_RARP), ==, 0);
    net_free(&t);
}

int main(int argc, char **argv)
{
    g_test_init(&argc, &argv, NULL);
    g_test_add_func("/vhost-user-net/negotiate/features",
                    test_negotiate_features);
    g_test_add_func("/vhost-user-net/negotiate/no-protocol",
                    test_negotiate_no_protocol);
    g_test_add_func("/vhost-user-net/negotiate/queues-refused",
                    test_queues_refused);
    g_test_add_func("/vhost-user-net/cmdline/bad-mac", test_bad_mac);
    g_test_add_func("/vhost-user-net/data/macswap", test_data_macswap);
    g_test_add_func("/vhost-user-net/data/loopback", test_data_loopback);
    g_test_add_func("/vhost-user-net/mq/vq-pairs-set", test_multiqueue);
    g_test_add_func("/vhost-user-net/mq/not-negotiated",
                    test_mq_not_negotiated);
    g_test_add_func("/vhost-user-net/ctrl/commands", test_ctrl);
    g_test_add_func("/vhost-user-net/config/default", test_config_default);
    g_test_add_data_func("/vhost-user-net/config/mac-mtu",
                         GINT_TO_POINTER(true), test_config_mac_mtu);
    g_test_add_data_func("/vhost-user-net/config/mtu-no-net-mtu",
                         GINT_TO_POINTER(false), test_config_mac_mtu);
    g_test_add_func("/vhost-user-net/config/mtu-not-acked",
                    test_config_mtu_not_acked);
    g_test_add_func("/vhost-user-net/link/client-reconnect",
                    test_link_client_reconnect);
    g_test_add_func("/vhost-user-net/link/server", test_link_server);
    g_test_add_func("/vhost-user-net/link/mq-restart",
                    test_link_mq_restart);
    g_test_add_func("/vhost-user-net/announce/rarp", test_announce_rarp);
    g_test_add_func("/vhost-user-net/announce/guest", test_announce_guest);
    g_test_add_func("/vhost-user-net/announce/no-rarp",
                    test_announce_no_rarp);
    return g_test_run();
}
