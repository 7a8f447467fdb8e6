/* SPDX-License-Identifier: MIT */
/*
 * test=net-bench: frame rate of the virtio-net path, for a peer that
 * returns every frame (dpdk-testpmd --forward-mode=macswap).  The frame
 * exchange of test=net (test-net.c, same parameters and checks) with
 * count= default 2000 and net_window= frames in flight (default 32),
 * timed with the TSC from the first send to the last frame back.
 *
 *   virtio-net: ... (see test-net.c)
 *   net-bench: queues <n> of <max>, window <w>, frame <len> bytes
 *   net-bench: tsc <kHz> kHz (<cmdline|cpuid 0x15|lapic>)
 *   net-bench: sent <n>, received <n>, bad <n>, missing <n>
 *   net-bench: queue <q>: tx <n> rx <n>    (one per pair, if more than 1)
 *   net-bench: <N> frames in <us> us, <fps> frames/s
 *   net-bench: <n> interrupts, <n> waits
 *   test net-bench: PASS
 *
 * Failure exit codes as test-net.c (5 also: no TSC frequency).
 */
#include "guest.h"
#include "tsc.h"
#include "virtio-net.h"

static struct virtio_net net;

int test_net_bench(void)
{
    struct net_run r;
    const char *source;
    uint64_t khz, us, fps;
    int rc;

    rc = net_prepare(&net, &r, "net-bench", 2000, 32);
    if (rc) {
        return rc;
    }
    khz = tsc_khz(&source);
    printf("net-bench: tsc %llu kHz (%s)\n", (unsigned long long)khz,
           source);
    if (khz == 0) {
        virtio_reset(&net.dev);
        return test_fail(5, "no TSC frequency");   /* NET_FAIL_PARAM */
    }
    rc = net_exchange(&net, &r);
    if (rc) {
        return rc;
    }
    us = tsc_to_us(r.tsc_end - r.tsc_start, khz);
    fps = us ? r.count * 1000000 / us : 0;
    printf("net-bench: %llu frames in %llu us, %llu frames/s\n",
           (unsigned long long)r.count, (unsigned long long)us,
           (unsigned long long)fps);
    printf("net-bench: %u interrupts, %llu waits\n", net.dev.irq_count,
           (unsigned long long)r.waits);
    virtio_reset(&net.dev);
    return 0;
}
