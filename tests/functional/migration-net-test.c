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
 *
 * testpmd may lose the frames of the burst it is forwarding when the
 * source stops the device under it (GET_VRING_BASE): they left the
 * guest's TX ring, their echo can no longer enter its RX ring, and
 * testpmd counts them as TX-dropped.  The guest resends what is missing
 * after 500 ms of silence (net_resend_ms), as a network stack would; the
 * test checks that every resend is accounted for by a testpmd drop or
 * arrives as a duplicate, so a frame lost by kvmini still fails it.
 */
#include "migration-common.h"

#include <inttypes.h>
#include <stdint.h>
#include <stdio.h>
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
        "test=net count=%d net_timeout_ms=10000 net_warmup_ms=100 "
        "net_resend_ms=500", FRAMES);
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

static void resend_counts(const char *out, uint64_t *resent,
                          uint64_t *duplicates)
{
    const char *line = strstr(out, "net: resent ");

    g_assert_nonnull(line);
    g_assert_cmpint(sscanf(line, "net: resent %" SCNu64 ", duplicates %"
                           SCNu64, resent, duplicates), ==, 2);
}

typedef struct PmdCounts {
    uint64_t rx, tx, dropped;
} PmdCounts;

static PmdCounts pmd_stop_counts(Peer *pmd, const char *side)
{
    g_autofree char *log = peer_stop_log(pmd);
    PmdCounts c;

    g_assert_nonnull(log);
    c.rx = testpmd_counter(log, "RX-packets: ");
    c.tx = testpmd_counter(log, "TX-packets: ");
    c.dropped = testpmd_counter(log, "TX-dropped: ") +
                testpmd_counter(log, "RX-dropped: ");
    test_log("testpmd %s: rx %" PRIu64 " tx %" PRIu64 " dropped %" PRIu64,
             side, c.rx, c.tx, c.dropped);
    return c;
}

static void test_net_testpmd(void)
{
    MigFixture f = { 0 };
    RunResult src = { 0 }, dst = { 0 };
    uint64_t w_sent, w_echoed, resent, dups;
    g_autofree char *expect = NULL;
    PmdCounts ps, pd;

    if (!mig_setup(&f)) {
        return;
    }
    migrate_mid_exchange(&f);
    peer_wait_exit(&f.src, TIMEOUT, &src);
    peer_wait_exit(&f.dst, TIMEOUT, &dst);
    test_log("source:\n%s\ndestination:\n%s", src.out, dst.out);
    ps = pmd_stop_counts(&f.pmd_src, "src");
    pd = pmd_stop_counts(&f.pmd_dst, "dst");
    g_assert_false(src.timed_out);
    g_assert_cmpint(src.status, ==, 0);
    g_assert_null(strstr(src.out, "test net:"));
    resend_counts(dst.out, &resent, &dups);
    expect = g_strdup_printf("net: sent %d, received %" PRIu64 ", bad 0, "
                             "missing 0", FRAMES, FRAMES + dups);
    g_assert_nonnull(strstr(dst.out, expect));
    g_assert_nonnull(strstr(dst.out, "net: 1 foreign frames ignored"));
    g_assert_nonnull(strstr(dst.out, "test net: PASS"));
    g_assert_cmpint(dst.status, ==, 0);
    /* Warm-up frames went to the source's testpmd before the exchange. */
    net_warmup_counts(dst.out, &w_sent, &w_echoed);
    run_result_clear(&src);
    run_result_clear(&dst);

    /* Both carried traffic: the exchange spanned the switch-over. */
    g_assert_cmpuint(ps.rx, >, 0);
    g_assert_cmpuint(ps.tx, >, 0);
    g_assert_cmpuint(pd.rx, >, 0);
    g_assert_cmpuint(pd.tx, >, 0);
    /* Every frame sent (and resent) reached one of them; every frame
     * they returned reached the guest; the destination's also carried
     * the RARP.  What they dropped is exactly what had to be resent. */
    g_assert_cmpuint(ps.rx + pd.rx, ==, FRAMES + resent + 1 + w_echoed);
    g_assert_cmpuint(ps.tx + pd.tx, ==, FRAMES + dups + 1 + w_echoed);
    g_assert_cmpuint(ps.dropped + pd.dropped, ==, resent - dups);
    mig_teardown(&f);
}

int main(int argc, char **argv)
{
    g_test_init(&argc, &argv, NULL);
    g_test_add_func("/migration/net/testpmd", test_net_testpmd);
    return g_test_run();
}
