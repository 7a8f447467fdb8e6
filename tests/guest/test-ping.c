/* SPDX-License-Identifier: MIT */
/*
 * test=ping: the guest as a minimal IPv4 host on the first virtio-net
 * device, so that the host's own `ping` can measure a VMM's network path
 * (tests/functional/tap-ping-test.c: QEMU's userspace virtio-net behind
 * a tap).  It answers ARP requests for its address and ICMP echo requests
 * addressed to it, and nothing else; it passes once it has answered
 * ping_count= echo requests.  Every length comes from the device or the
 * wire, so each is checked before use: a frame that fails a check is
 * dropped and counted as malformed.  RX completions by interrupt, buffers
 * re-posted as they are consumed, every sleep bounded by the LAPIC timer.
 *
 * Parameters (command line):
 *   ip=A.B.C.D          our address (default 10.0.2.15)
 *   mac=xx:xx:..        the MAC we expect: with VIRTIO_NET_F_MAC it must
 *                       equal the device's (else code 5); without, it is
 *                       the MAC used (default 02:6b:76:6d:6e:01)
 *   ping_count=N        echo requests to answer (default 50)
 *   ping_timeout_ms=T   fail when no ARP or echo request for us came for
 *                       T ms (default 20000); other frames do not count
 *   ping_mrg_rxbuf=0    do not negotiate VIRTIO_NET_F_MRG_RXBUF (default:
 *                       take it when offered; num_buffers must then be 1)
 *
 * Output:
 *   virtio-net: 0x<base> irq <n>, features 0x<negotiated> of 0x<offered>
 *   ping: ip A.B.C.D mac xx:xx:xx:xx:xx:xx
 *   ping: malformed frame, <len> bytes: <reason>   (the first 8)
 *   ping: arp replies <n>, echo replies <n>, ignored <n>
 *   ping: malformed <n>, <n> interrupts, <n> waits
 *   test ping: PASS
 * "ignored" counts well-formed frames that are not for us (other
 * addresses, other protocols, ICMP other than echo request, fragments,
 * IPv6); "malformed" those that failed a check.  Failure exit codes:
 *   3  no virtio-net device
 *   4  device initialisation failed
 *   5  invalid parameters, mac= differs from the device's, no TSC rate
 *   6  link down
 *   7  timeout: ping_timeout_ms without an ARP or echo request for us
 *   8  a frame was noticed only when the timer fired (no interrupt)
 *   9  the device returned a bad descriptor, or kept every TX buffer
 */
#include "guest.h"
#include "io.h"
#include "tsc.h"
#include "virtio-net.h"

#define PING_FAIL_NODEV     3
#define PING_FAIL_INIT      4
#define PING_FAIL_PARAM     5
#define PING_FAIL_LINK      6
#define PING_FAIL_TIMEOUT   7
#define PING_FAIL_NOIRQ     8
#define PING_FAIL_RING      9

#define PING_BAD_SHOW       8
#define PING_TX_WAIT_US     1000000     /* for a TX buffer or the last send */

#define ETHERTYPE_IPV4      0x0800
#define ETHERTYPE_ARP       0x0806
#define ARP_LEN             28          /* Ethernet/IPv4 ARP packet */
#define ARP_OP_REQUEST      1
#define ARP_OP_REPLY        2
#define IPV4_HLEN_MIN       20
#define IPV4_PROTO_ICMP     1
#define IPV4_TTL            64
#define ICMP_HLEN           8
#define ICMP_ECHO_REPLY     0
#define ICMP_ECHO_REQUEST   8

struct ping_state {
    uint8_t mac[ETH_ALEN];
    uint8_t ip[4];
    uint64_t count;
    uint64_t timeout_us;
    uint64_t khz;                   /* TSC rate */
    uint64_t last_request;          /* TSC of the last request for us */
    uint64_t arp_replies, echo_replies, ignored, malformed;
    uint64_t waits;
    unsigned skip_bufs;             /* rest of a multi-buffer frame */
    uint16_t ip_id;                 /* IPv4 identification of replies */
};

/* What a received frame is, once checked. */
enum ping_kind { PING_IGNORE, PING_MALFORMED, PING_ARP, PING_ECHO };

static struct virtio_net net;
static const char *bad_reason;      /* why the last frame was malformed */

static inline uint16_t get16(const uint8_t *p)
{
    return (uint16_t)(p[0] << 8 | p[1]);    /* network order */
}

static inline void put16(uint8_t *p, uint16_t v)
{
    p[0] = (uint8_t)(v >> 8);
    p[1] = (uint8_t)v;
}

/* RFC 1071 ones' complement sum of len bytes, folded and inverted: the
 * checksum to store, or 0 when summed over data holding a valid one. */
static uint16_t inet_checksum(const uint8_t *p, unsigned len)
{
    uint32_t sum = 0;
    unsigned i;

    for (i = 0; i + 1 < len; i += 2) {
        sum += get16(p + i);
    }
    if (len & 1) {
        sum += (uint32_t)p[len - 1] << 8;
    }
    while (sum >> 16) {
        sum = (sum & 0xffff) + (sum >> 16);
    }
    return (uint16_t)~sum;
}

/* A.B.C.D, each 0..255, nothing after it. */
static bool parse_ipv4(const char *s, uint8_t *ip)
{
    unsigned i;

    for (i = 0; i < 4; i++) {
        const char *end;
        uint64_t v = strtou64(s, &end, 10);

        if (end == s || end - s > 3 || v > 255 ||
            *end != (i < 3 ? '.' : '\0')) {
            return false;
        }
        ip[i] = (uint8_t)v;
        s = end + 1;
    }
    return true;
}

static int ping_params(struct ping_state *s, bool *mrg_rxbuf)
{
    const char *ip = cmdline_get("ip");
    const char *source;

    memset(s, 0, sizeof(*s));
    s->count = cmdline_get_u64("ping_count", 50);
    s->timeout_us = cmdline_get_u64("ping_timeout_ms", 20000) * 1000;
    *mrg_rxbuf = cmdline_get_u64("ping_mrg_rxbuf", 1) != 0;
    if (!parse_ipv4(ip ? ip : "10.0.2.15", s->ip)) {
        return test_fail(PING_FAIL_PARAM, "ip must be A.B.C.D");
    }
    if (s->count == 0 || s->timeout_us == 0) {
        return test_fail(PING_FAIL_PARAM, "ping_count and ping_timeout_ms "
                         "must not be 0");
    }
    s->khz = tsc_khz(&source);
    if (s->khz == 0) {
        return test_fail(PING_FAIL_PARAM, "no TSC frequency");
    }
    return 0;
}

/* Our MAC: the device's, checked against mac= if given; else mac=. */
static int ping_choose_mac(struct ping_state *s, const struct virtio_net *n)
{
    const char *want = cmdline_get("mac");
    uint8_t mac[ETH_ALEN];

    memcpy(s->mac, n->mac, ETH_ALEN);
    if (!want) {
        return 0;
    }
    if (!net_parse_mac(want, mac)) {
        return test_fail(PING_FAIL_PARAM, "mac must be xx:xx:xx:xx:xx:xx");
    }
    if (n->mac_from_device && memcmp(mac, n->mac, ETH_ALEN)) {
        return test_fail(PING_FAIL_PARAM, "mac=%s but the device has "
                         "%02x:%02x:%02x:%02x:%02x:%02x", want, n->mac[0],
                         n->mac[1], n->mac[2], n->mac[3], n->mac[4],
                         n->mac[5]);
    }
    memcpy(s->mac, mac, ETH_ALEN);
    return 0;
}

static int ping_prepare(struct virtio_net *n, struct ping_state *s)
{
    bool mrg;
    int rc = ping_params(s, &mrg);

    if (rc) {
        return rc;
    }
    rc = virtio_net_init_features(n, 0, 1,
                                  mrg ? VIRTIO_BIT(VIRTIO_NET_F_MRG_RXBUF)
                                      : 0, s->timeout_us);
    if (rc == -1) {
        return test_fail(PING_FAIL_NODEV, "no virtio-net device");
    } else if (rc < 0) {
        return test_fail(PING_FAIL_INIT, "virtio-net initialisation failed");
    }
    rc = ping_choose_mac(s, n);
    if (rc == 0 && !virtio_net_link_up(n)) {
        rc = test_fail(PING_FAIL_LINK, "link down");
    }
    if (rc) {
        virtio_reset(&n->dev);
        return rc;
    }
    printf("ping: ip %u.%u.%u.%u mac %02x:%02x:%02x:%02x:%02x:%02x\n",
           s->ip[0], s->ip[1], s->ip[2], s->ip[3], s->mac[0], s->mac[1],
           s->mac[2], s->mac[3], s->mac[4], s->mac[5]);
    return 0;
}

static enum ping_kind malformed(const char *why)
{
    bad_reason = why;
    return PING_MALFORMED;
}

/* An ARP request for our address?  p: the ARP packet, len: what the
 * frame holds after the Ethernet header. */
static enum ping_kind classify_arp(const struct ping_state *s,
                                   const uint8_t *p, uint32_t len)
{
    if (len < ARP_LEN) {
        return malformed("ARP packet too short");
    }
    if (get16(p) != 1 || get16(p + 2) != ETHERTYPE_IPV4) {
        return PING_IGNORE;             /* not Ethernet/IPv4 */
    }
    if (p[4] != ETH_ALEN || p[5] != 4) {
        return malformed("ARP address lengths");
    }
    if (get16(p + 6) != ARP_OP_REQUEST || memcmp(p + 24, s->ip, 4)) {
        return PING_IGNORE;
    }
    return PING_ARP;
}

/* The IPv4 header at p, len bytes of frame after the Ethernet header:
 * version, IHL, total length within the frame (which may be padded),
 * checksum.  0 and *hlen, *tot_len, or a reason. */
static const char *ipv4_check(const uint8_t *p, uint32_t len,
                              unsigned *hlen, unsigned *tot_len)
{
    if (len < IPV4_HLEN_MIN) {
        return "IPv4 header too short";
    }
    if (p[0] >> 4 != 4) {
        return "IPv4 version";
    }
    *hlen = (p[0] & 0xf) * 4u;
    *tot_len = get16(p + 2);
    if (*hlen < IPV4_HLEN_MIN || *hlen > len) {
        return "IPv4 IHL";
    }
    if (*tot_len < *hlen || *tot_len > len) {
        return "IPv4 total length";
    }
    if (inet_checksum(p, *hlen) != 0) {
        return "IPv4 header checksum";
    }
    return NULL;
}

/* An ICMP echo request to our address?  *icmp_off, *icmp_len: where its
 * ICMP message lies after the Ethernet header. */
static enum ping_kind classify_ipv4(const struct ping_state *s,
                                    const uint8_t *p, uint32_t len,
                                    unsigned *icmp_off, unsigned *icmp_len)
{
    unsigned hlen, tot_len;
    const char *why = ipv4_check(p, len, &hlen, &tot_len);

    if (why) {
        return malformed(why);
    }
    /* Fragments (MF set or an offset) are not ours to reassemble. */
    if ((get16(p + 6) & 0x3fff) || memcmp(p + 16, s->ip, 4) ||
        p[9] != IPV4_PROTO_ICMP) {
        return PING_IGNORE;
    }
    *icmp_off = hlen;
    *icmp_len = tot_len - hlen;
    if (*icmp_len < ICMP_HLEN) {
        return malformed("ICMP message too short");
    }
    if (inet_checksum(p + hlen, *icmp_len) != 0) {
        return malformed("ICMP checksum");
    }
    if (p[hlen] != ICMP_ECHO_REQUEST || p[hlen + 1] != 0) {
        return PING_IGNORE;
    }
    return PING_ECHO;
}

static bool is_broadcast(const uint8_t *mac)
{
    static const uint8_t bcast[ETH_ALEN] = {
        0xff, 0xff, 0xff, 0xff, 0xff, 0xff
    };

    return !memcmp(mac, bcast, ETH_ALEN);
}

static enum ping_kind classify(const struct ping_state *s, const uint8_t *f,
                               uint32_t len, unsigned *icmp_off,
                               unsigned *icmp_len)
{
    if (len < ETH_HLEN) {
        return malformed("shorter than an Ethernet header");
    }
    if (len > ETH_FRAME_MAX) {
        return malformed("longer than 1514 bytes");
    }
    if (memcmp(f, s->mac, ETH_ALEN) && !is_broadcast(f)) {
        return PING_IGNORE;
    }
    switch (get16(f + 12)) {
    case ETHERTYPE_ARP:
        return classify_arp(s, f + ETH_HLEN, len - ETH_HLEN);
    case ETHERTYPE_IPV4:
        return classify_ipv4(s, f + ETH_HLEN, len - ETH_HLEN, icmp_off,
                             icmp_len);
    }
    return PING_IGNORE;
}

static bool tx_all_used(void *arg)
{
    const struct virtio_net *n = arg;

    return n->tx[0].used->idx == n->tx[0].avail_idx;
}

static bool tx_any_used(void *arg)
{
    return virtq_has_used(&((struct virtio_net *)arg)->tx[0]);
}

/* Sleep until done(n), at most PING_TX_WAIT_US, with TX interrupts on
 * meanwhile.  True if done. */
static bool wait_tx(struct virtio_net *n, bool (*done)(void *arg))
{
    int rc;

    virtq_irq_enable(&n->tx[0]);
    timer_start_us(PING_TX_WAIT_US);
    rc = virtio_wait(done, n);
    timer_stop();
    virtq_irq_disable(&n->tx[0]);
    return rc == 0 || done(n);
}

/* A TX buffer, waiting a bounded time for the device to give one back;
 * NULL if it does not. */
static uint8_t *ping_tx_alloc(struct virtio_net *n)
{
    uint8_t *f = virtio_net_tx_alloc(n, 0);

    if (!f && wait_tx(n, tx_any_used)) {
        f = virtio_net_tx_alloc(n, 0);
    }
    return f;
}

/* Pad to the Ethernet minimum (the tail of a reused buffer is stale),
 * send, and notify at once: the host measures the round trip. */
static void ping_tx_send(struct virtio_net *n, uint8_t *f, unsigned len)
{
    if (len < ETH_FRAME_MIN) {
        memset(f + len, 0, ETH_FRAME_MIN - len);
        len = ETH_FRAME_MIN;
    }
    virtio_net_tx_submit(n, 0, f, len);
    virtio_net_kick(n);
}

/* The ARP reply to the request in rx: to its sender, from us. */
static void build_arp_reply(const struct ping_state *s, uint8_t *f,
                            const uint8_t *rx)
{
    const uint8_t *req = rx + ETH_HLEN;
    uint8_t *a = f + ETH_HLEN;

    memcpy(f, req + 8, ETH_ALEN);           /* the requester's sha */
    memcpy(f + ETH_ALEN, s->mac, ETH_ALEN);
    put16(f + 12, ETHERTYPE_ARP);
    memcpy(a, req, 6);                      /* htype, ptype, hlen, plen */
    put16(a + 6, ARP_OP_REPLY);
    memcpy(a + 8, s->mac, ETH_ALEN);        /* sha */
    memcpy(a + 14, s->ip, 4);               /* spa */
    memcpy(a + 18, req + 8, 10);            /* tha, tpa: its sha, spa */
}

/* The echo reply to the request in rx: the same identifier, sequence
 * number and data; a fresh IPv4 header without options.  Returns the
 * frame length. */
static unsigned build_echo_reply(struct ping_state *s, uint8_t *f,
                                 const uint8_t *rx, unsigned icmp_off,
                                 unsigned icmp_len)
{
    const uint8_t *rip = rx + ETH_HLEN;
    uint8_t *ip = f + ETH_HLEN, *icmp = ip + IPV4_HLEN_MIN;

    memcpy(f, rx + ETH_ALEN, ETH_ALEN);
    memcpy(f + ETH_ALEN, s->mac, ETH_ALEN);
    put16(f + 12, ETHERTYPE_IPV4);
    ip[0] = 0x45;                           /* version 4, IHL 5 */
    ip[1] = 0;
    put16(ip + 2, (uint16_t)(IPV4_HLEN_MIN + icmp_len));
    put16(ip + 4, s->ip_id++);
    put16(ip + 6, 0);
    ip[8] = IPV4_TTL;
    ip[9] = IPV4_PROTO_ICMP;
    put16(ip + 10, 0);
    memcpy(ip + 12, s->ip, 4);
    memcpy(ip + 16, rip + 12, 4);           /* to the request's source */
    put16(ip + 10, inet_checksum(ip, IPV4_HLEN_MIN));
    memcpy(icmp, rip + icmp_off, icmp_len);
    icmp[0] = ICMP_ECHO_REPLY;
    icmp[1] = 0;
    put16(icmp + 2, 0);
    put16(icmp + 2, inet_checksum(icmp, icmp_len));
    return ETH_HLEN + IPV4_HLEN_MIN + icmp_len;
}

/* Answer the request in rx (kind PING_ARP or PING_ECHO).  0, or the
 * failure code when no TX buffer came back. */
static int ping_answer(struct virtio_net *n, struct ping_state *s,
                       enum ping_kind kind, const uint8_t *rx,
                       unsigned icmp_off, unsigned icmp_len)
{
    uint8_t *f = ping_tx_alloc(n);

    if (!f) {
        return test_fail(PING_FAIL_RING, "the device keeps every TX "
                         "buffer");
    }
    if (kind == PING_ARP) {
        build_arp_reply(s, f, rx);
        ping_tx_send(n, f, ETH_HLEN + ARP_LEN);
        s->arp_replies++;
    } else {
        ping_tx_send(n, f, build_echo_reply(s, f, rx, icmp_off, icmp_len));
        s->echo_replies++;
    }
    s->last_request = rdtsc();
    return 0;
}

static void count_malformed(struct ping_state *s, uint32_t len)
{
    if (s->malformed++ < PING_BAD_SHOW) {
        printf("ping: malformed frame, %u bytes: %s\n", len, bad_reason);
    }
}

/* One received buffer: the start of a frame, or the rest of one that
 * claimed more than one buffer (dropped with it).  0 or a failure code. */
static int ping_rx_one(struct virtio_net *n, struct ping_state *s,
                       const uint8_t *f, uint32_t len)
{
    unsigned nbufs, icmp_off = 0, icmp_len = 0;
    enum ping_kind kind;

    if (s->skip_bufs) {
        s->skip_bufs--;
        return 0;
    }
    nbufs = virtio_net_rx_num_buffers(n, f);
    if (nbufs != 1) {
        bad_reason = "num_buffers is not 1";
        count_malformed(s, len);
        /* Never trust it further than the ring holds. */
        s->skip_bufs = nbufs > 1 ? nbufs - 1 : 0;
        if (s->skip_bufs > n->rx[0].num) {
            s->skip_bufs = n->rx[0].num;
        }
        return 0;
    }
    kind = classify(s, f, len, &icmp_off, &icmp_len);
    if (kind == PING_IGNORE) {
        s->ignored++;
    } else if (kind == PING_MALFORMED) {
        count_malformed(s, len);
    } else {
        return ping_answer(n, s, kind, f, icmp_off, icmp_len);
    }
    return 0;
}

/* Every frame waiting on the RX queue, buffers re-posted.  0 or a
 * failure code. */
static int ping_rx_all(struct virtio_net *n, struct ping_state *s)
{
    uint8_t *f;
    uint32_t len;
    int rc, fail = 0;

    while (!fail && s->echo_replies < s->count &&
           (rc = virtio_net_rx_get(n, 0, &f, &len)) != 0) {
        if (rc < 0) {
            fail = test_fail(PING_FAIL_RING, "device returned a bad RX "
                             "descriptor");
            break;
        }
        fail = ping_rx_one(n, s, f, len);
        virtio_net_rx_put(n, 0, f);
    }
    virtio_net_kick(n);
    return fail;
}

/* Sleep until a frame arrives or the silence limit is reached.  0, or
 * -1 (silence) / -2 (a frame came without an interrupt) as
 * virtio_wait(). */
static int ping_sleep(struct virtio_net *n, struct ping_state *s)
{
    uint64_t quiet_us = tsc_to_us(rdtsc() - s->last_request, s->khz);
    int rc;

    if (quiet_us >= s->timeout_us) {
        return -1;
    }
    s->waits++;
    timer_start_us(s->timeout_us - quiet_us);
    rc = virtio_net_wait(n, false);
    timer_stop();
    return rc;
}

/* The failure code (printed) of a sleep that ended the run. */
static int ping_sleep_failure(const struct ping_state *s, int wait_rc)
{
    if (wait_rc == -1) {
        return test_fail(PING_FAIL_TIMEOUT, "no request for us in %llu ms",
                         (unsigned long long)(s->timeout_us / 1000));
    }
    return test_fail(PING_FAIL_NOIRQ, "frame noticed only when the timer "
                     "fired (no interrupt)");
}

static void ping_report(const struct virtio_net *n,
                        const struct ping_state *s)
{
    printf("ping: arp replies %llu, echo replies %llu, ignored %llu\n",
           (unsigned long long)s->arp_replies,
           (unsigned long long)s->echo_replies,
           (unsigned long long)s->ignored);
    printf("ping: malformed %llu, %u interrupts, %llu waits\n",
           (unsigned long long)s->malformed, n->dev.irq_count,
           (unsigned long long)s->waits);
}

int test_ping(void)
{
    struct ping_state s;
    int rc = ping_prepare(&net, &s), wait_rc = 0;

    if (rc) {
        return rc;
    }
    s.last_request = rdtsc();
    while (!rc && !wait_rc && s.echo_replies < s.count) {
        rc = ping_rx_all(&net, &s);
        if (!rc && s.echo_replies < s.count) {
            wait_rc = ping_sleep(&net, &s);
        }
    }
    /* The VMM may drop what is still queued when the guest exits: wait
     * for the device to have taken the last reply. */
    if (!rc && !wait_rc && !wait_tx(&net, tx_all_used)) {
        rc = test_fail(PING_FAIL_RING, "the last reply was never sent");
    }
    ping_report(&net, &s);
    if (wait_rc) {
        rc = ping_sleep_failure(&s, wait_rc);
    }
    virtio_reset(&net.dev);
    return rc;
}
