/* SPDX-License-Identifier: MIT */
/*
 * Live migration of a guest exchanging frames over vhost-user-net
 * (test=net) with dpdk-testpmd in macswap mode, between two kvmini
 * processes under KVM.  Each kvmini has its own testpmd (distinct DPDK
 * file prefixes).  The source is migrated over a unix socket while the
 * guest has frames in flight; the guest finishes on the destination with
 * every frame back exactly once, intact, and both testpmd instances
 * forwarded part of the traffic: frames keep flowing after switch-over.
 * The guest does not negotiate GUEST_ANNOUNCE, so the destination has
 * its testpmd announce it with a RARP (SEND_RARP): testpmd counts it as
 * received, returns it, and the guest ignores it as a foreign frame.
 */
#include "migration-common.h"

#include <inttypes.h>
#include <stdint.h>
#include <string.h>
#include <unistd.h>

#define TIMEOUT     50
/* 1000-2000 frames/s here: the exchange lasts several seconds, long
 * enough that the migration starts and ends in the middle of it. */
#define FRAMES      10000

typedef struct MigFixture {
    char *dir;
    char *uri;
    Peer pmd_src, pmd_dst;
    Peer src, dst;
} MigFixture;

static void kvmini_start(MigFixture *f, Peer *p, const char *side,
                         const char *incoming)
{
    g_autofree char *sock = mig_side_path(f->dir, side, "vhn.sock");
    g_autofree char *chardev = g_strdup_printf("socket,id=c1,path=%s", sock);
    g_autofree char *append = g_strdup_printf(
        "test=net count=%d net_timeout_ms=10000 net_warmup_ms=100", FRAMES);
    const char *args[] = {
        "-chardev", chardev, "-netdev", "vhost-user,id=n0,chardev=c1",
        "-device", "virtio-net-device,netdev=n0", "-append", append, NULL };

    mig_kvmini_start(p, f->dir, side, args, incoming);
}

static bool mig_setup(MigFixture *f)
{
    g_autofree char *src_sock = NULL, *dst_sock = NULL, *mig = NULL;

    if (!require_kvm() || !require_program("dpdk-testpmd")) {
        return false;
    }
    f->dir = tmpdir_new();
    src_sock = mig_side_path(f->dir, "src", "vhn.sock");
    dst_sock = mig_side_path(f->dir, "dst", "vhn.sock");
    mig = g_build_filename(f->dir, "mig.sock", NULL);
    f->uri = g_strdup_printf("unix:%s", mig);
    testpmd_start_named(&f->pmd_src, src_sock, 1, false, "src");
    testpmd_start_named(&f->pmd_dst, dst_sock, 1, false, "dst");
    kvmini_start(f, &f->dst, "dst", f->uri);
    kvmini_start(f, &f->src, "src", NULL);
    return true;
}

static void mig_teardown(MigFixture *f)
{
    peer_stop(&f->src);
    peer_stop(&f->dst);
    peer_stop(&f->pmd_src);
    peer_stop(&f->pmd_dst);
    tmpdir_remove(f->dir);
    g_free(f->dir);
    g_free(f->uri);
}

static void migrate_mid_exchange(MigFixture *f)
{
    g_assert_true(peer_wait_output(&f->src, "net: queues", 20));
    g_usleep(G_USEC_PER_SEC);           /* frames flowing by now */
    mig_migrate_source(f->dir, f->uri, TIMEOUT);
}

static void test_net_testpmd(void)
{
    MigFixture f = { 0 };
    RunResult src = { 0 }, dst = { 0 };
    g_autofree char *expect = g_strdup_printf(
        "net: sent %d, received %d, bad 0, missing 0", FRAMES, FRAMES);

    if (!mig_setup(&f)) {
        return;
    }
    migrate_mid_exchange(&f);
    peer_wait_exit(&f.src, TIMEOUT, &src);
    peer_wait_exit(&f.dst, TIMEOUT, &dst);
    g_test_message("source:\n%s\ndestination:\n%s", src.out, dst.out);
    g_assert_false(src.timed_out);
    g_assert_cmpint(src.status, ==, 0);
    g_assert_null(strstr(src.out, "test net:"));
    g_assert_nonnull(strstr(dst.out, expect));
    g_assert_nonnull(strstr(dst.out, "net: 1 foreign frames ignored"));
    g_assert_nonnull(strstr(dst.out, "test net: PASS"));
    g_assert_cmpint(dst.status, ==, 0);
    /* Warm-up frames went to the source's testpmd before the exchange. */
    uint64_t w_sent, w_echoed;

    net_warmup_counts(dst.out, &w_sent, &w_echoed);
    run_result_clear(&src);
    run_result_clear(&dst);

    g_autofree char *log_src = peer_stop_log(&f.pmd_src);
    g_autofree char *log_dst = peer_stop_log(&f.pmd_dst);
    g_assert_nonnull(log_src);
    g_assert_nonnull(log_dst);
    uint64_t rx_src = testpmd_counter(log_src, "RX-packets: ");
    uint64_t tx_src = testpmd_counter(log_src, "TX-packets: ");
    uint64_t rx_dst = testpmd_counter(log_dst, "RX-packets: ");
    uint64_t tx_dst = testpmd_counter(log_dst, "TX-packets: ");
    g_test_message("testpmd src: rx %" PRIu64 " tx %" PRIu64
                   ", dst: rx %" PRIu64 " tx %" PRIu64,
                   rx_src, tx_src, rx_dst, tx_dst);
    /* Both carried traffic: the exchange spanned the switch-over. */
    g_assert_cmpuint(rx_src, >, 0);
    g_assert_cmpuint(tx_src, >, 0);
    g_assert_cmpuint(rx_dst, >, 0);
    g_assert_cmpuint(tx_dst, >, 0);
    /* Every frame crossed exactly one of them, none dropped; the
     * destination's also carried the RARP. */
    g_assert_cmpuint(rx_src + rx_dst, ==, FRAMES + 1 + w_echoed);
    g_assert_cmpuint(tx_src + tx_dst, ==, FRAMES + 1 + w_echoed);
    mig_teardown(&f);
}

int main(int argc, char **argv)
{
    g_test_init(&argc, &argv, NULL);
    g_test_add_func("/migration/net/testpmd", test_net_testpmd);
    return g_test_run();
}
