/* SPDX-License-Identifier: MIT */
/*
 * test=net: frames through the first virtio-net device and back, for a
 * peer that returns every frame with its MAC addresses swapped (e.g.
 * dpdk-testpmd --forward-mode=macswap behind vhost-user).  Sends count=
 * frames (format in virtio-net.h) round-robin over net_queues= queue
 * pairs, at most net_window= in flight, checks every returned frame and
 * that every sequence number came back exactly once, intact; RX buffers
 * are re-posted as they are consumed.  Completions by interrupt (RX;
 * TX only when out of TX buffers), every wait bounded by the LAPIC timer.
 * Frame 0 goes first and alone, and the test sleeps until the device
 * interrupts: a fast peer may return every later frame before the loop
 * ever needs to sleep, so this is what proves the interrupt path.
 *
 * Parameters (command line):
 *   count=N           frames (default 64; at most 1048576)
 *   net_queues=N      queue pairs, 1..4 (default 1; more than 1 needs
 *                     VIRTIO_NET_F_MQ + CTRL_VQ, else 1 is used), set
 *                     with VIRTIO_NET_CTRL_MQ_VQ_PAIRS_SET
 *   net_window=N      frames in flight over all queues (default 32;
 *                     at most the RX/TX ring size per queue pair)
 *   net_len=N         frame bytes without FCS, 60..1514 (default 64)
 *   net_peer=MAC      destination xx:xx:xx:xx:xx:xx (default broadcast)
 *   net_macswap=0     the peer returns frames unchanged instead of with
 *                     the addresses swapped (a loop, e.g. QEMU's
 *                     -netdev socket,udp=A,localaddr=A)
 *   net_timeout_ms=T  give up when a sleep waiting for frames lasts T ms
 *                     (default 5000)
 *   net_warmup_ms=T   before frame 0, send a warm-up frame (ethertype
 *                     0x88b6) every T ms until one comes back: a peer
 *                     may drop what arrives before it forwards
 *                     (dpdk-testpmd flushes its RX queues when it starts
 *                     forwarding, right after the device became ready).
 *                     Prints "net: warm-up: sent W, echoed E"; the peer
 *                     then saw count + W frames and returned count + E
 *   net_resend_ms=T   when no frame came back for T ms (less than
 *                     net_timeout_ms), send every missing one again, as
 *                     a network stack retransmits: a peer may drop frames
 *                     it holds when the device stops under it (vhost-user
 *                     migration).  Intact second copies of a resent frame
 *                     are counted, not bad.  Prints "net: resent R,
 *                     duplicates D": the peer dropped R - D frames
 *   net_lose=S        discard the first echo of frame S as if the peer
 *                     had lost it: a self-check of net_resend_ms (the
 *                     run then needs one resend, or fails with code 7)
 *   net_irq_masked=1  leave the device's IOAPIC pin masked: the test must
 *                     fail (code 7, "first frame completed without
 *                     interrupt"), a self-check that it needs interrupts
 *
 * Output:
 *   virtio-net: 0x<base> irq <n>, features 0x<negotiated> of 0x<offered>
 *   virtio-net: mac xx:xx:xx:xx:xx:xx link up|down
 *   net: queues <n> of <max>, window <w>, frame <len> bytes
 *   net: bad frame on queue <q>, <len> bytes, seq <s>: <reason>
 *                                          (the first 4 bad frames)
 *   net: sent <n>, received <n>, bad <n>, missing <n>
 *   net: queue <q>: tx <n> rx <n>          (one per pair, if more than 1)
 *   net: <n> foreign frames ignored        (other ethertypes, if any)
 *   net: warm-up: sent <n>, echoed <n>     (with net_warmup_ms)
 *   net: resent <n>, duplicates <n>        (with net_resend_ms)
 *   net: <n> interrupts, <n> waits
 *   test net: PASS
 * On a timeout or ring error, before the "sent" line, per queue pair and
 * for the device (ring indexes as the driver sees them):
 *   net: queue <q>: rx avail <i> used <i> seen <i>, tx avail <i> used <i> seen <i>
 *   net: InterruptStatus 0x<isr>
 * <n> waits counts the times the driver had nothing to do and went to
 * wait (it does not sleep if a frame is already there).
 * received counts frames with our ethertype, bad those of them that were
 * corrupt, misaddressed or duplicates, missing the sequence numbers that
 * never came back intact.  Failure exit codes:
 *   3  no virtio-net device
 *   4  device initialisation failed (features, queues, VQ_PAIRS_SET)
 *   5  invalid parameters
 *   6  link down
 *   7  timeout: frames missing ("timed out"), or a frame noticed only when
 *      the timeout expired ("completed without interrupt")
 *   8  bad frames (or the device returned an invalid descriptor)
 */
#include "guest.h"
#include "io.h"
#include "tsc.h"
#include "virtio-net.h"

#define NET_FAIL_NODEV     3
#define NET_FAIL_INIT      4
#define NET_FAIL_PARAM     5
#define NET_FAIL_LINK      6
#define NET_FAIL_TIMEOUT   7
#define NET_FAIL_BAD       8

#define NET_OFF_SEQ        14
#define NET_OFF_QUEUE      18
#define NET_OFF_LEN        20
#define NET_OFF_PATTERN    22
#define NET_BAD_SHOW       4

static uint8_t seen[NET_COUNT_MAX / 8] GUEST_NOINIT;    /* cleared per run */
static struct virtio_net net;

bool net_parse_mac(const char *s, uint8_t *mac)
{
    unsigned i;

    for (i = 0; i < ETH_ALEN; i++) {
        const char *end;
        uint64_t v = strtou64(s, &end, 16);

        if (end == s || end - s > 2 || v > 0xff ||
            *end != (i + 1 < ETH_ALEN ? ':' : '\0')) {
            return false;
        }
        mac[i] = (uint8_t)v;
        s = end + 1;
    }
    return true;
}

/* The parameters of the command line into r; 0 or the failure code. */
static int net_params(struct net_run *r, const char *tag,
                      uint64_t count_default, unsigned window_default,
                      unsigned queues)
{
    const char *peer = cmdline_get("net_peer");

    memset(r, 0, sizeof(*r));
    r->tag = tag;
    r->count = cmdline_get_u64("count", count_default);
    r->window = (unsigned)cmdline_get_u64("net_window", window_default);
    r->len = (unsigned)cmdline_get_u64("net_len", 64);
    r->timeout_us = cmdline_get_u64("net_timeout_ms", 5000) * 1000;
    r->unswapped = cmdline_get_u64("net_macswap", 1) == 0;
    r->warmup_us = cmdline_get_u64("net_warmup_ms", 0) * 1000;
    r->resend_us = cmdline_get_u64("net_resend_ms", 0) * 1000;
    r->lose_seq = cmdline_get_u64("net_lose", ~0ull);
    memset(r->peer, 0xff, ETH_ALEN);
    if (r->count == 0 || r->count > NET_COUNT_MAX) {
        return test_fail(NET_FAIL_PARAM, "count must be 1..%u",
                         NET_COUNT_MAX);
    }
    if (queues == 0 || queues > VIRTIO_NET_MAX_PAIRS) {
        return test_fail(NET_FAIL_PARAM, "net_queues must be 1..%u",
                         VIRTIO_NET_MAX_PAIRS);
    }
    if (r->window == 0) {
        return test_fail(NET_FAIL_PARAM, "net_window must be at least 1");
    }
    if (r->len < ETH_FRAME_MIN || r->len > ETH_FRAME_MAX) {
        return test_fail(NET_FAIL_PARAM, "net_len must be %u..%u",
                         ETH_FRAME_MIN, ETH_FRAME_MAX);
    }
    if (r->timeout_us == 0) {
        return test_fail(NET_FAIL_PARAM, "net_timeout_ms must not be 0");
    }
    if (r->resend_us >= r->timeout_us) {
        return test_fail(NET_FAIL_PARAM, "net_resend_ms must be less than "
                         "net_timeout_ms");
    }
    if (peer && !net_parse_mac(peer, r->peer)) {
        return test_fail(NET_FAIL_PARAM, "net_peer must be "
                         "xx:xx:xx:xx:xx:xx");
    }
    return 0;
}

/* No more in flight per pair than it has RX and TX buffers. */
static void net_clamp_window(const struct virtio_net *n, struct net_run *r)
{
    unsigned per_queue = VIRTQ_MAX_SIZE, q;

    for (q = 0; q < n->npairs; q++) {
        if (n->rx[q].num < per_queue) {
            per_queue = n->rx[q].num;
        }
        if (n->tx[q].num < per_queue) {
            per_queue = n->tx[q].num;
        }
    }
    if (r->window > per_queue * n->npairs) {
        r->window = per_queue * n->npairs;
    }
}

int net_prepare(struct virtio_net *n, struct net_run *r, const char *tag,
                uint64_t count_default, unsigned window_default)
{
    unsigned queues = (unsigned)cmdline_get_u64("net_queues", 1);
    int rc;

    rc = net_params(r, tag, count_default, window_default, queues);
    if (rc) {
        return rc;
    }
    rc = virtio_net_init(n, 0, queues, r->timeout_us);
    if (rc == -1) {
        return test_fail(NET_FAIL_NODEV, "no virtio-net device");
    } else if (rc == -3) {
        return test_fail(NET_FAIL_INIT, "VQ_PAIRS_SET %u failed", queues);
    } else if (rc < 0) {
        return test_fail(NET_FAIL_INIT, "virtio-net initialisation failed");
    }
    printf("virtio-net: mac %02x:%02x:%02x:%02x:%02x:%02x link %s\n",
           n->mac[0], n->mac[1], n->mac[2], n->mac[3], n->mac[4], n->mac[5],
           virtio_net_link_up(n) ? "up" : "down");
    net_clamp_window(n, r);
    printf("%s: queues %u of %u, window %u, frame %u bytes\n", tag,
           n->npairs, n->max_pairs, r->window, r->len);
    if (!virtio_net_link_up(n)) {
        virtio_reset(&n->dev);
        return test_fail(NET_FAIL_LINK, "link down");
    }
    if (cmdline_get_u64("net_irq_masked", 0)) {
        irq_mask(n->dev.irq);
    }
    return 0;
}

/* Unaligned 64-bit accesses (fine on x86): the frame is built and
 * checked a word at a time, every guest instruction may be emulated. */
typedef uint64_t u64_unaligned __attribute__((aligned(1), may_alias));

static inline uint64_t ld64(const uint8_t *p)
{
    return *(const u64_unaligned *)p;
}

static inline void st64(uint8_t *p, uint64_t v)
{
    *(u64_unaligned *)p = v;
}

/* tx_tpl/rx_tpl: a frame of seq 0 as sent / as it should come back
 * (addresses swapped); bytes from NET_OFF_PATTERN on are i & 0xff. */
static uint8_t tx_tpl[ETH_FRAME_MAX], rx_tpl[ETH_FRAME_MAX];

static void frame_templates(const struct virtio_net *n,
                            const struct net_run *r)
{
    unsigned i;

    memcpy(tx_tpl, r->peer, ETH_ALEN);
    memcpy(tx_tpl + ETH_ALEN, n->mac, ETH_ALEN);
    if (r->unswapped) {
        memcpy(rx_tpl, r->peer, ETH_ALEN);
        memcpy(rx_tpl + ETH_ALEN, n->mac, ETH_ALEN);
    } else {
        memcpy(rx_tpl, n->mac, ETH_ALEN);
        memcpy(rx_tpl + ETH_ALEN, r->peer, ETH_ALEN);
    }
    tx_tpl[12] = rx_tpl[12] = NET_ETHERTYPE >> 8;
    tx_tpl[13] = rx_tpl[13] = NET_ETHERTYPE & 0xff;
    for (i = NET_OFF_SEQ; i < ETH_FRAME_MAX; i++) {
        tx_tpl[i] = rx_tpl[i] = (uint8_t)i;
    }
}

/* Bytes 14-21: seq, queue, length. */
static inline uint64_t frame_word14(uint32_t seq, unsigned q, unsigned len)
{
    return seq | (uint64_t)q << 32 | (uint64_t)len << 48;
}

static void frame_build(const struct net_run *r, uint8_t *f, uint32_t seq,
                        unsigned q)
{
    uint64_t m = (seq & 0xff) * 0x0101010101010101ull;
    unsigned o, end = r->len - 8;

    st64(f, ld64(tx_tpl));
    st64(f + 6, ld64(tx_tpl + 6));
    st64(f + NET_OFF_SEQ, frame_word14(seq, q, r->len));
    for (o = NET_OFF_PATTERN; o < end; o += 8) {
        st64(f + o, ld64(tx_tpl + o) ^ m);
    }
    st64(f + end, ld64(tx_tpl + end) ^ m);
}

/* Why a returned frame with our ethertype is bad, or NULL if it is good. */
static const char *frame_check(const struct virtio_net *n,
                               const struct net_run *r, const uint8_t *f,
                               uint32_t len, uint32_t seq)
{
    uint64_t m = (seq & 0xff) * 0x0101010101010101ull, diff = 0;
    unsigned o, end = len - 8;

    if (len != r->len) {
        return "wrong length";
    }
    if (ld64(f) != ld64(rx_tpl) || ld64(f + 6) != ld64(rx_tpl + 6)) {
        return r->unswapped ? "addresses changed" :
                              "addresses not swapped back";
    }
    if (seq >= r->sent) {
        return "sequence number never sent";
    }
    if (ld64(f + NET_OFF_SEQ) != frame_word14(seq, seq % n->npairs, len)) {
        return "header fields differ";
    }
    for (o = NET_OFF_PATTERN; o < end; o += 8) {
        diff |= ld64(f + o) ^ ld64(rx_tpl + o) ^ m;
    }
    diff |= ld64(f + end) ^ ld64(rx_tpl + end) ^ m;
    if (diff) {
        return "payload differs";
    }
    return NULL;
}

static bool seq_seen(uint32_t seq)
{
    return seen[seq / 8] & (1u << (seq % 8));
}

/* Account for one frame from RX queue q.  Returns true if it was ours
 * (good or bad) and settled an in-flight slot. */
static bool frame_receive(struct virtio_net *n, struct net_run *r,
                          unsigned q, const uint8_t *f, uint32_t len,
                          unsigned *inflight)
{
    const char *why;
    uint32_t seq;

    if (len >= 14 && f[12] == NET_WARMUP_TYPE >> 8 &&
        f[13] == (NET_WARMUP_TYPE & 0xff)) {
        r->warmup_echoed++;             /* a late one */
        return false;
    }
    if (len < NET_OFF_PATTERN || f[12] != NET_ETHERTYPE >> 8 ||
        f[13] != (NET_ETHERTYPE & 0xff)) {
        r->foreign++;
        return false;
    }
    seq = (uint32_t)ld64(f + NET_OFF_SEQ);
    if (seq == r->lose_seq && !r->resent) {
        return false;                   /* net_lose: as if never returned */
    }
    r->received++;
    why = frame_check(n, r, f, len, seq);
    if (!why && seq_seen(seq)) {
        if (r->resent) {
            r->duplicates++;            /* the original was only late */
            return false;
        }
        why = "duplicate";
    }
    if (!why) {
        r->good++;
    } else {
        if (r->bad++ < NET_BAD_SHOW) {
            printf("%s: bad frame on queue %u, %u bytes, seq %u: %s\n",
                   r->tag, q, len, seq, why);
        }
        /* A frame we cannot attribute (or a second copy) frees no slot:
         * the wait for the real one then times out. */
        if (seq >= r->sent || seq_seen(seq)) {
            return false;
        }
    }
    seen[seq / 8] |= (uint8_t)(1u << (seq % 8));
    inflight[seq % n->npairs]--;
    return true;
}

/* Did one of the warm-up frames come back?  Drains every RX queue. */
static bool warmup_echo_seen(struct virtio_net *n, struct net_run *r)
{
    uint64_t before = r->warmup_echoed;
    unsigned inflight[VIRTIO_NET_MAX_PAIRS] = { 0 };

    for (unsigned q = 0; q < n->npairs; q++) {
        uint8_t *f;
        uint32_t len;

        while (virtio_net_rx_get(n, q, &f, &len) > 0) {
            (void)frame_receive(n, r, q, f, len, inflight);
            virtio_net_rx_put(n, q, f);
        }
    }
    return r->warmup_echoed != before;
}

/* One warm-up frame every r->warmup_us until one comes back; false after
 * r->timeout_us without an echo. */
static bool net_warmup(struct virtio_net *n, struct net_run *r)
{
    uint64_t waited = 0;

    while (waited < r->timeout_us) {
        uint8_t *f = virtio_net_tx_alloc(n, 0);

        if (f) {
            frame_build(r, f, 0, 0);
            f[12] = NET_WARMUP_TYPE >> 8;
            f[13] = NET_WARMUP_TYPE & 0xff;
            virtio_net_tx_submit(n, 0, f, r->len);
            virtio_net_kick(n);
            r->warmup_sent++;
        }
        timer_start_us(r->warmup_us);
        while (!warmup_echo_seen(n, r) && virtio_net_wait(n, !f) == 0) {
        }
        timer_stop();
        if (r->warmup_echoed) {
            return true;
        }
        waited += r->warmup_us;
    }
    return false;
}

/* Send every frame below r->sent that has not come back once more, on
 * its own queue, as far as TX buffers allow (the rest goes at the next
 * quiet period).  In-flight counts stay: each seq is still owed once. */
static void net_resend(struct virtio_net *n, struct net_run *r)
{
    uint64_t seq;

    while (r->oldest < r->sent && seq_seen((uint32_t)r->oldest)) {
        r->oldest++;
    }
    for (seq = r->oldest; seq < r->sent; seq++) {
        unsigned q = (unsigned)(seq % n->npairs);
        uint8_t *f;

        if (seq_seen((uint32_t)seq)) {
            continue;
        }
        f = virtio_net_tx_alloc(n, q);
        if (!f) {
            break;
        }
        frame_build(r, f, (uint32_t)seq, q);
        virtio_net_tx_submit(n, q, f, r->len);
        r->resent++;
    }
    virtio_net_kick(n);
}

static unsigned probe_irqs;

static bool probe_irq_arrived(void *arg)
{
    const struct virtio_net *n = arg;

    return n->dev.irq_vring != probe_irqs;
}

/* Frame 0 goes alone, and we sleep until the device interrupts: the
 * main loop may never have to sleep when the peer is fast.  False (with
 * r->probe_failed) if the interrupt did not come. */
static bool net_send_probe(struct virtio_net *n, struct net_run *r,
                           unsigned *inflight, unsigned *total)
{
    uint8_t *f0;

    probe_irqs = n->dev.irq_vring;
    f0 = virtio_net_tx_alloc(n, 0);     /* not NULL: all are free */
    frame_build(r, f0, 0, 0);
    virtio_net_tx_submit(n, 0, f0, r->len);
    inflight[0]++;
    (*total)++;
    r->sent++;
    virtio_net_kick(n);
    r->waits++;
    timer_start_us(r->timeout_us);
    r->wait_rc = virtio_wait(probe_irq_arrived, n);
    timer_stop();
    if (r->wait_rc == -1 && virtq_has_used(&n->rx[0])) {
        r->wait_rc = -2;
    }
    if (r->wait_rc < 0) {
        r->probe_failed = true;
        return false;
    }
    return true;
}

/* Every frame the device returned on the np RX queues, buffers
 * re-posted; *progress if there was one.  False on a ring error. */
static bool net_rx_all(struct virtio_net *n, struct net_run *r, unsigned np,
                       unsigned *inflight, unsigned *total, bool *progress)
{
    for (unsigned q = 0; q < np; q++) {
        uint8_t *f;
        uint32_t len;
        int rc;

        while ((rc = virtio_net_rx_get(n, q, &f, &len)) > 0) {
            if (frame_receive(n, r, q, f, len, inflight)) {
                (*total)--;
            }
            virtio_net_rx_put(n, q, f);
            *progress = true;
        }
        if (rc < 0) {
            r->ring_error = 1;
            return false;
        }
    }
    return true;
}

/* Send the next frames round-robin while their pair has fewer than qwin
 * in flight; true if a TX queue ran out of buffers. */
static bool net_tx_fill(struct virtio_net *n, struct net_run *r, unsigned np,
                        unsigned qwin, unsigned *inflight, unsigned *total)
{
    while (r->sent < r->count) {
        unsigned q = (unsigned)(r->sent % np);
        uint8_t *f;

        if (inflight[q] >= qwin) {
            return false;
        }
        f = virtio_net_tx_alloc(n, q);
        if (!f) {
            return true;
        }
        frame_build(r, f, (uint32_t)r->sent, q);
        virtio_net_tx_submit(n, q, f, r->len);
        inflight[q]++;
        (*total)++;
        r->sent++;
    }
    return false;
}

/* Receive and send until every frame is back, a sleep times out
 * (r->wait_rc < 0) or the ring breaks (r->ring_error); sleep only when
 * there is nothing to do.  With net_resend_ms a quiet sleep resends the
 * missing frames instead of ending the run. */
static void net_loop(struct virtio_net *n, struct net_run *r,
                     unsigned *inflight, unsigned total)
{
    unsigned np = n->npairs, qwin = (r->window + np - 1) / np;
    uint64_t sleep_us = r->resend_us ? r->resend_us : r->timeout_us;
    uint64_t quiet_us = 0;              /* slept without a frame back */

    for (;;) {
        bool progress = false, tx_blocked;

        if (!net_rx_all(n, r, np, inflight, &total, &progress)) {
            return;
        }
        tx_blocked = net_tx_fill(n, r, np, qwin, inflight, &total);
        virtio_net_kick(n);
        if (r->sent == r->count && total == 0) {
            return;
        }
        if (progress) {
            quiet_us = 0;
            continue;                   /* look again before sleeping */
        }
        /* A fresh deadline per sleep, stopped right after it: a timer
         * left to expire while we work (interrupts off) would stay
         * pending and end the next sleep at once. */
        r->waits++;
        timer_start_us(sleep_us);
        r->wait_rc = virtio_net_wait(n, tx_blocked);
        timer_stop();
        if (r->wait_rc == -1 && r->resend_us &&
            quiet_us + sleep_us < r->timeout_us) {
            quiet_us += sleep_us;
            r->wait_rc = 0;
            net_resend(n, r);
            continue;
        }
        if (r->wait_rc < 0) {
            return;
        }
    }
}

/* After a timeout or a ring error: the ring indexes as the driver sees
 * them and InterruptStatus; then a reset (buffers stay with the device). */
static void net_dump_rings(struct virtio_net *n, const struct net_run *r)
{
    for (unsigned q = 0; q < n->npairs; q++) {
        printf("%s: queue %u: rx avail %u used %u seen %u, "
               "tx avail %u used %u seen %u\n", r->tag, q,
               n->rx[q].avail_idx, n->rx[q].used->idx,
               n->rx[q].last_used, n->tx[q].avail_idx,
               n->tx[q].used->idx, n->tx[q].last_used);
    }
    printf("%s: InterruptStatus 0x%x\n", r->tag,
           virtio_read32(&n->dev, VIRTIO_MMIO_INTERRUPT_STATUS));
    virtio_reset(&n->dev);
}

static void net_report(const struct virtio_net *n, const struct net_run *r)
{
    unsigned np = n->npairs;

    printf("%s: sent %llu, received %llu, bad %llu, missing %llu\n", r->tag,
           (unsigned long long)r->sent, (unsigned long long)r->received,
           (unsigned long long)r->bad,
           (unsigned long long)(r->count - r->good));
    for (unsigned q = 0; np > 1 && q < np; q++) {
        printf("%s: queue %u: tx %llu rx %llu\n", r->tag, q,
               (unsigned long long)n->tx_frames[q],
               (unsigned long long)n->rx_frames[q]);
    }
    if (r->foreign) {
        printf("%s: %llu foreign frames ignored\n", r->tag,
               (unsigned long long)r->foreign);
    }
    if (r->warmup_us) {
        printf("%s: warm-up: sent %llu, echoed %llu\n", r->tag,
               (unsigned long long)r->warmup_sent,
               (unsigned long long)r->warmup_echoed);
    }
    if (r->resend_us) {
        printf("%s: resent %llu, duplicates %llu\n", r->tag,
               (unsigned long long)r->resent,
               (unsigned long long)r->duplicates);
    }
}

/* 0, or the failure code (printed) of a finished run. */
static int net_verdict(const struct virtio_net *n, const struct net_run *r)
{
    if (r->ring_error) {
        return test_fail(NET_FAIL_BAD, "device returned a bad descriptor");
    }
    if (r->bad) {
        return test_fail(NET_FAIL_BAD, "%llu bad frames",
                         (unsigned long long)r->bad);
    }
    if (r->wait_rc < 0) {
        return test_fail(NET_FAIL_TIMEOUT, "%s%s: %llu frames missing, "
                         "%u interrupts",
                         r->probe_failed ? "first frame " : "",
                         r->wait_rc == -1 ? "timed out" :
                         "completed without interrupt",
                         (unsigned long long)(r->count - r->good),
                         n->dev.irq_count);
    }
    return 0;
}

int net_exchange(struct virtio_net *n, struct net_run *r)
{
    unsigned inflight[VIRTIO_NET_MAX_PAIRS] = { 0 };
    unsigned total = 0;

    memset(seen, 0, (size_t)((r->count + 7) / 8));
    frame_templates(n, r);
    if (r->warmup_us && !net_warmup(n, r)) {
        return test_fail(NET_FAIL_TIMEOUT, "no warm-up frame came back "
                         "(%llu sent)", (unsigned long long)r->warmup_sent);
    }
    r->tsc_start = rdtsc();
    if (net_send_probe(n, r, inflight, &total)) {
        net_loop(n, r, inflight, total);
    }
    r->tsc_end = rdtsc();
    if (r->wait_rc < 0 || r->ring_error) {
        net_dump_rings(n, r);
    }
    net_report(n, r);
    return net_verdict(n, r);
}

int test_net(void)
{
    struct net_run r;
    int rc;

    rc = net_prepare(&net, &r, "net", 64, 32);
    if (rc) {
        return rc;
    }
    rc = net_exchange(&net, &r);
    printf("net: %u interrupts, %llu waits\n", net.dev.irq_count,
           (unsigned long long)r.waits);
    if (rc) {
        return rc;
    }
    virtio_reset(&net.dev);
    return 0;
}
