/* SPDX-License-Identifier: MIT */
/*
 * vhost-user-net end to end with DPDK: dpdk-testpmd in macswap mode
 * returns every frame with the MAC addresses swapped; the test guest sends
 * frames, checks each one comes back intact exactly once, and the test
 * checks testpmd's own port counters match what the guest sent.  The
 * guest first sends warm-up frames until one comes back (net_warmup_ms):
 * testpmd flushes its RX queues when it starts forwarding, right after
 * the device became ready, and a frame sent in that moment is lost.  kvmini as
 * the socket client and, with testpmd's client=1, as the server; with two
 * queue pairs both carry traffic; the same guest under QEMU microvm.
 */
#include "functional-common.h"

#include <inttypes.h>
#include <string.h>
#include <unistd.h>

#define TIMEOUT 120

typedef struct NetFixture {
    char *dir;
    char *sock;
    Peer testpmd;
} NetFixture;

static bool net_setup(NetFixture *f)
{
    if (!require_kvm() || !require_program("dpdk-testpmd")) {
        return false;
    }
    f->dir = tmpdir_new();
    f->sock = g_build_filename(f->dir, "vhn.sock", NULL);
    return true;
}

static char *net_teardown(NetFixture *f)
{
    char *log = peer_stop_log(&f->testpmd);

    tmpdir_remove(f->dir);
    g_free(f->dir);
    g_free(f->sock);
    return log;
}

/* testpmd forwarded every counted frame and the warm-up frames that came
 * back; the ones it flushed when it started forwarding are not in its
 * forwarding statistics (they start then). */
static void check_testpmd_counts(const char *log, uint64_t frames,
                                 const char *guest_out)
{
    uint64_t w_sent, w_echoed;

    net_warmup_counts(guest_out, &w_sent, &w_echoed);
    test_log("testpmd:\n%s", log ? log : "(no log)");
    g_assert_nonnull(log);
    g_assert_cmpuint(w_sent, >=, w_echoed);
    g_assert_cmpuint(testpmd_counter(log, "RX-packets: "), ==,
                     frames + w_echoed);
    g_assert_cmpuint(testpmd_counter(log, "TX-packets: "), ==,
                     frames + w_echoed);
}

static void run_kvmini_net(NetFixture *f, const char *chardev_opts,
                           const char *netdev_opts, const char *dev_opts,
                           const char *append, RunResult *r)
{
    g_autofree char *args = g_strdup_printf(
        "-m 256M -chardev socket,id=c1,path=%s%s "
        "-netdev vhost-user,id=n0,chardev=c1%s "
        "-device virtio-net-device,netdev=n0,id=net0%s -append '%s'",
        f->sock, chardev_opts, netdev_opts, dev_opts, append);

    run_kvmini_guest(args, TIMEOUT, r);
}

/* One testpmd listening, kvmini with the default device dialing it. */
static bool run_on_testpmd(NetFixture *f, const char *append, RunResult *r)
{
    if (!net_setup(f)) {
        return false;
    }
    testpmd_start(&f->testpmd, f->sock, 1, false);
    run_kvmini_net(f, "", "", "", append, r);
    return true;
}

static void test_kvmini_client(void)
{
    NetFixture f = { 0 };
    RunResult r = { 0 };

    if (!run_on_testpmd(&f, "test=net count=100 net_warmup_ms=100", &r)) {
        return;
    }
    g_assert_nonnull(strstr(r.out, "virtio-net: mac 52:54:00:12:34:56 "
                                   "link up"));
    g_assert_nonnull(strstr(r.out, "net: sent 100, received 100, bad 0, "
                                   "missing 0"));
    g_assert_nonnull(strstr(r.out, "test net: PASS"));
    g_assert_cmpint(r.status, ==, 0);
    g_autofree char *log = net_teardown(&f);
    check_testpmd_counts(log, 100, r.out);
    run_result_clear(&r);
}

/* The guest's resend path that migration-net-test relies on: frame 5's
 * echo is discarded as if lost (net_lose), so after 100 ms of silence
 * exactly that frame goes again, and testpmd forwarded it twice. */
static void test_resend_after_loss(void)
{
    NetFixture f = { 0 };
    RunResult r = { 0 };

    if (!run_on_testpmd(&f, "test=net count=100 net_warmup_ms=100 "
                        "net_resend_ms=100 net_lose=5", &r)) {
        return;
    }
    test_log("%s", r.out);
    g_assert_nonnull(strstr(r.out, "net: sent 100, received 100, bad 0, "
                                   "missing 0"));
    g_assert_nonnull(strstr(r.out, "net: resent 1, duplicates 0"));
    g_assert_nonnull(strstr(r.out, "test net: PASS"));
    g_assert_cmpint(r.status, ==, 0);
    g_autofree char *log = net_teardown(&f);
    check_testpmd_counts(log, 101, r.out);
    run_result_clear(&r);

    /* Without net_resend_ms the loss is a timeout (exit code 7). */
    run_on_testpmd(&f, "test=net count=100 net_warmup_ms=100 "
                   "net_timeout_ms=300 net_lose=5", &r);
    test_log("%s", r.out);
    g_assert_nonnull(strstr(r.out, "net: sent 100, received 99, bad 0, "
                                   "missing 1"));
    g_assert_cmpint(r.status, ==, (7 << 1) | 1);
    g_free(net_teardown(&f));
    run_result_clear(&r);
}

/* kvmini listens, testpmd dials (DPDK virtio-user server mode's mirror). */
static void test_kvmini_server(void)
{
    NetFixture f = { 0 };
    RunResult r = { 0 };
    Peer vm = { 0 };

    if (!net_setup(&f)) {
        return;
    }
    g_autofree char *chardev = g_strdup_printf(
        "socket,id=c1,path=%s,server=on,wait=off", f.sock);
    const char *argv[] = {
        kvmini_binary(), "-m", "256M", "-kernel", guest_elf(),
        "-serial", "stdio", "-chardev", chardev,
        "-netdev", "vhost-user,id=n0,chardev=c1",
        "-device", "virtio-net-device,netdev=n0,mac=52:54:00:aa:bb:cc",
        "-append", "test=net count=80 net_warmup_ms=100", NULL };

    peer_start(&vm, argv, f.sock);
    testpmd_start(&f.testpmd, f.sock, 1, true);
    peer_wait_exit(&vm, TIMEOUT, &r);
    g_assert_nonnull(strstr(r.out, "virtio-net: mac 52:54:00:aa:bb:cc"));
    g_assert_nonnull(strstr(r.out, "net: sent 80, received 80, bad 0, "
                                   "missing 0"));
    g_assert_nonnull(strstr(r.out, "test net: PASS"));
    g_assert_cmpint(r.status, ==, 0);
    g_autofree char *log = net_teardown(&f);
    check_testpmd_counts(log, 80, r.out);
    run_result_clear(&r);
}

static void test_kvmini_two_queues(void)
{
    NetFixture f = { 0 };
    RunResult r = { 0 };

    if (!net_setup(&f)) {
        return;
    }
    testpmd_start(&f.testpmd, f.sock, 2, false);
    run_kvmini_net(&f, "", ",queues=2", ",mq=on",
                   "test=net count=128 net_queues=2 "
                   "net_warmup_ms=100", &r);
    g_assert_nonnull(strstr(r.out, "net: queues 2 of 2"));
    g_assert_nonnull(strstr(r.out, "net: sent 128, received 128, bad 0, "
                                   "missing 0"));
    g_assert_nonnull(strstr(r.out, "test net: PASS"));
    g_assert_cmpint(r.status, ==, 0);
    /* Both pairs carried frames, as the guest counted them (the warm-up
     * frames went over pair 0). */
    uint64_t w_sent, w_echoed;

    net_warmup_counts(r.out, &w_sent, &w_echoed);
    g_autofree char *q0 = g_strdup_printf("net: queue 0: tx %" PRIu64
                                          " rx %" PRIu64, 64 + w_sent,
                                          64 + w_echoed);
    g_assert_nonnull(strstr(r.out, q0));
    g_assert_nonnull(strstr(r.out, "net: queue 1: tx 64 rx 64"));
    g_autofree char *log = net_teardown(&f);
    check_testpmd_counts(log, 128, r.out);
    run_result_clear(&r);
}

static void test_qemu_client(void)
{
    NetFixture f = { 0 };
    RunResult r = { 0 };

    if (!require_program("qemu-system-x86_64") || !net_setup(&f)) {
        return;
    }
    testpmd_start(&f.testpmd, f.sock, 1, false);
    g_autofree char *chardev = g_strdup_printf("socket,id=c1,path=%s",
                                               f.sock);
    const char *argv[] = {
        "qemu-system-x86_64", "-M", "microvm,memory-backend=mem,acpi=off",
        "-accel", "kvm", "-m", "256M", "-nodefaults", "-nographic",
        "-serial", "stdio", "-device", "isa-debug-exit,iobase=0xf4,iosize=4",
        "-object", "memory-backend-memfd,id=mem,size=256M,share=on",
        "-global", "virtio-mmio.force-legacy=false",
        "-chardev", chardev, "-netdev", "vhost-user,id=n0,chardev=c1",
        "-device", "virtio-net-device,netdev=n0",
        "-kernel", guest_elf(), "-append", "test=net count=100 net_warmup_ms=100", NULL };

    run_command(argv, TIMEOUT, &r);
    test_log("QEMU:\n%s\n%s", r.out, r.err);
    g_assert_nonnull(strstr(r.out, "test net: PASS"));
    g_assert_cmpint(r.status, ==, 1);   /* isa-debug-exit 0 */
    g_autofree char *log = net_teardown(&f);
    check_testpmd_counts(log, 100, r.out);
    run_result_clear(&r);
}

static void test_bad_mac(void)
{
    g_autofree char *cmd = g_strdup_printf(
        "%s -kernel %s -chardev null,id=c1 -netdev vhost-user,id=n0,"
        "chardev=c1 -device virtio-net-device,netdev=n0,mac=52:54:zz",
        kvmini_binary(), guest_elf());
    g_auto(GStrv) argv = NULL;
    RunResult r = { 0 };

    if (!require_kvm()) {
        return;
    }
    g_assert_true(g_shell_parse_argv(cmd, NULL, &argv, NULL));
    run_command((const char *const *)argv, 30, &r);
    test_log("%s", r.err);
    g_assert_cmpint(r.status, ==, 1);
    g_assert_true(g_str_has_prefix(r.err, "kvmini: -device virtio-net-device,"
                                          "netdev=n0,mac=52:54:zz: "));
    g_assert_cmpuint(count_lines_with_prefix(r.err, ""), ==, 2);
    run_result_clear(&r);
}

int main(int argc, char **argv)
{
    g_test_init(&argc, &argv, NULL);
    g_test_add_func("/net/testpmd/kvmini-client", test_kvmini_client);
    g_test_add_func("/net/testpmd/kvmini-server", test_kvmini_server);
    g_test_add_func("/net/testpmd/two-queues", test_kvmini_two_queues);
    g_test_add_func("/net/testpmd/resend-after-loss", test_resend_after_loss);
    g_test_add_func("/net/testpmd/qemu", test_qemu_client);
    g_test_add_func("/net/bad-mac", test_bad_mac);
    return g_test_run();
}
