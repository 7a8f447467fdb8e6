/* SPDX-License-Identifier: MIT */
/*
 * kvmini with -netdev tap,vhost=on: the test guest's test=net through
 * the kernel's vhost-net (the stand-in, tests/vhost-standin, where the
 * host has none) and a tap whose host end returns every frame with the
 * MAC addresses swapped (tap-reflector.c), in a network namespace of the
 * test's own.  Every frame comes back intact exactly once; the stand-in
 * counts as many frames on the tap as the reflector returned.  Guest RAM
 * shared (kvmini's default memfd: the stand-in maps it) and private (a
 * file mapped MAP_PRIVATE: only reachable through process_vm_readv/
 * writev, as the kernel reaches any RAM), and two queue pairs (two vhost
 * devices, a multiqueue tap whose queues the driver's VQ_PAIRS_SET
 * attaches).
 */
#include "functional-common.h"
#include "netns.h"
#include "tap-reflector.h"

#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#define TAP         "kvt0"
#define TIMEOUT     120
#define FRAMES      1000

typedef struct TapNetCase {
    const char *name;
    bool private_ram;
    unsigned queues;
} TapNetCase;

static const TapNetCase cases[] = {
    { "shared-ram", false, 1 },
    { "private-ram", true, 1 },
    { "two-queue-pairs", false, 2 },
};

static uint64_t stats_sum(const char *stats, const char *key)
{
    g_autofree char *pat = g_strdup_printf(" %s=", key);
    uint64_t sum = 0;

    for (const char *p = strstr(stats, pat); p; p = strstr(p + 1, pat)) {
        sum += g_ascii_strtoull(p + strlen(pat), NULL, 10);
    }
    return sum;
}

static char **kvmini_argv(const TapNetCase *c, const char *dir,
                          const char *trace, const char *stats)
{
    g_autofree char *netdev = g_strdup_printf(
        "tap,id=n0,ifname=%s,script=no,downscript=no,vhost=on,queues=%u",
        TAP, c->queues);
    g_autofree char *device = g_strdup_printf(
        "virtio-net-device,netdev=n0%s", c->queues > 1 ? ",mq=on" : "");
    g_autofree char *append = g_strdup_printf(
        "test=net count=%u net_queues=%u net_warmup_ms=50 "
        "net_timeout_ms=10000", FRAMES, c->queues);
    g_autofree char *ram = g_strdup_printf(
        "memory-backend-file,id=mem,size=256M,mem-path=%s/ram,share=off",
        dir);
    g_autoptr(GPtrArray) a = g_ptr_array_new();

    g_ptr_array_add(a, (char *)kvmini_binary());
    if (c->private_ram) {
        g_ptr_array_add(a, "-object");
        g_ptr_array_add(a, ram);
        g_ptr_array_add(a, "-machine");
        g_ptr_array_add(a, "microvm,memory-backend=mem");
    } else {
        g_ptr_array_add(a, "-m");
        g_ptr_array_add(a, "256M");
    }
    g_ptr_array_add(a, "-kernel");
    g_ptr_array_add(a, (char *)guest_elf());
    g_ptr_array_add(a, "-serial");
    g_ptr_array_add(a, "stdio");
    g_ptr_array_add(a, "-netdev");
    g_ptr_array_add(a, netdev);
    g_ptr_array_add(a, "-device");
    g_ptr_array_add(a, device);
    g_ptr_array_add(a, "-append");
    g_ptr_array_add(a, append);
    g_ptr_array_add(a, NULL);
    return vhost_net_command((const char *const *)a->pdata, trace, stats);
}

/* "net: sent N, received N, bad N, missing N". */
static void check_guest(const char *out, unsigned queues)
{
    uint64_t sent, received, bad, missing;
    const char *line = strstr(out, "net: sent ");

    g_assert_nonnull(line);
    g_assert_cmpint(sscanf(line, "net: sent %" SCNu64 ", received %" SCNu64
                           ", bad %" SCNu64 ", missing %" SCNu64, &sent,
                           &received, &bad, &missing), ==, 4);
    g_assert_cmpuint(sent, ==, FRAMES);
    g_assert_cmpuint(received, ==, FRAMES);
    g_assert_cmpuint(bad, ==, 0);
    g_assert_cmpuint(missing, ==, 0);
    if (queues > 1) {
        g_assert_nonnull(strstr(out, "net: queues 2 of 2"));
    }
}

static void test_tap_net(gconstpointer data)
{
    const TapNetCase *c = data;
    g_autofree char *dir = NULL, *trace = NULL, *stats_path = NULL;
    g_autofree char *stats = NULL, *trace_text = NULL;
    g_auto(GStrv) argv = NULL;
    TapReflector refl;
    RunResult r = { 0 };

    if (!require_kvm() || !require_vhost_net() || !netns_enter_new()) {
        return;
    }
    dir = tmpdir_new();
    trace = g_build_filename(dir, "trace", NULL);
    stats_path = g_build_filename(dir, "stats", NULL);
    argv = kvmini_argv(c, dir, trace, stats_path);
    tap_reflector_start(&refl, TAP);
    run_command((const char *const *)argv, TIMEOUT, &r);
    tap_reflector_stop(&refl);
    test_log("guest:\n%s\nstderr:\n%s\nreflected %" PRIu64, r.out, r.err,
             refl.reflected);
    g_assert_false(r.timed_out);
    g_assert_cmpint(r.status, ==, 0);
    check_guest(r.out, c->queues);
    if (!vhost_net_is_real()) {
        g_assert_true(g_file_get_contents(stats_path, &stats, NULL, NULL));
        test_log("stand-in:\n%s", stats);
        /* The tap took every frame the reflector returned. */
        g_assert_cmpuint(stats_sum(stats, "tx_frames"), ==, refl.reflected);
        g_assert_cmpuint(stats_sum(stats, "vq_errors"), ==, 0);
        /* One vhost device per pair, each carried traffic. */
        for (unsigned q = 1; q <= c->queues; q++) {
            g_autofree char *dev = g_strdup_printf("dev%u", q);

            g_assert_cmpuint(standin_stat(stats, dev, "tx_frames"), >, 0);
        }
        /* Private RAM is reached only through process_vm_*. */
        g_assert_true(g_file_get_contents(trace, &trace_text, NULL, NULL));
        g_assert_nonnull(strstr(trace_text, c->private_ram ?
                                "shared=0 -> 0" : "shared=1 -> 0"));
    }
    run_result_clear(&r);
    tmpdir_remove(dir);
}

int main(int argc, char **argv)
{
    g_test_init(&argc, &argv, NULL);
    for (size_t i = 0; i < G_N_ELEMENTS(cases); i++) {
        g_autofree char *path = g_strdup_printf("/tap-net/kvmini/%s",
                                                cases[i].name);

        g_test_add_data_func(path, &cases[i], test_tap_net);
    }
    return g_test_run();
}
