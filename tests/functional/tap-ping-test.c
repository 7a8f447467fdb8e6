/* SPDX-License-Identifier: MIT */
/*
 * The host's own ping against the test guest (test=ping) behind a tap
 * device, in a network namespace private to this test, so that nothing
 * touches the machine's network.  The guest answers ARP and ICMP echo;
 * the test checks both what ping saw (no loss, every reply) and what the
 * guest counted, and logs the round-trip times.
 *
 * A scenario (PingCase: what the guest is told, what is pinged, what must
 * come out) runs on every VMM of the table below (PingVmm: how to start
 * a VMM with a tap netdev named TAP_NAME and the guest): kvmini with
 * -netdev tap,...,vhost=on and QEMU 7.2 with vhost=on, both on the
 * kernel's vhost-net or, where the host has none, the stand-in
 * (tests/vhost-standin), and QEMU 7.2 with its userspace virtio-net
 * (vhost=off), which needs neither.  The
 * malformed case first sends the guest one damaged echo request per check
 * it makes (raw frames out of the tap's host end): each must be counted,
 * with its reason, and none answered.  The wrong-ip case is the
 * self-check: ping must then lose everything and the guest time out, or
 * the test would pass whatever the data path did.
 */
#include "functional-common.h"
#include "netns.h"

#include <stdio.h>
#include <string.h>

#define TAP_NAME        "kvt0"
#define HOST_ADDR       "10.0.2.2/24"
#define GUEST_ADDR      "10.0.2.15"
#define PING_INTERVAL_S 0.01
#define TIMEOUT         120     /* seconds, for the VMM and for ping */
#define READY_TIMEOUT   60      /* seconds until the guest's device is up */
#define LINK_TIMEOUT_MS 10000   /* until the VMM has made the tap */
#define GUEST_FAIL_TIMEOUT 7    /* test-ping.c: no request for us */

/* How to run one VMM with the guest and a tap netdev. */
typedef struct PingVmm {
    const char *name;               /* test path component */
    /* Skips (fails under CI=true) and returns false unless the VMM and
     * what it runs under are there. */
    bool (*require)(void);
    /* argv (NULL-terminated, g_strfreev) starting the VMM with the test
     * guest, `append` as its command line and tap `ifname`. */
    char **(*build_argv)(const char *ifname, const char *append);
    int pass_status;                /* exit status of a passing guest */
} PingVmm;

/* One scenario. */
typedef struct PingCase {
    const char *name;               /* test path component */
    const char *guest_args;         /* appended to "test=ping ping_count=N" */
    const char *target;             /* the address pinged */
    unsigned count;                 /* echo requests sent */
    bool answered;                  /* every one answered, guest passes;
                                     * else none, guest times out */
    /* Frames sent to the guest before ping runs, and how many of them
     * it must count as malformed (NULL: none). */
    unsigned (*send_frames)(const char *ifname, const Peer *vm);
    const char *const *guest_lines; /* it must print these (NULL-ended) */
} PingCase;

typedef struct PingTest {
    const PingVmm *vmm;
    const PingCase *c;
} PingTest;

/* QEMU 7.2 with a tap netdev; vhost: "on" or "off". */
static char **qemu_argv(const char *ifname, const char *append,
                        const char *vhost)
{
    g_autofree char *netdev = g_strdup_printf(
        "tap,id=n0,ifname=%s,script=no,downscript=no,vhost=%s", ifname,
        vhost);
    const char *argv[] = {
        "qemu-system-x86_64", "-M", "microvm,acpi=off", "-accel", "kvm",
        "-m", "256M", "-nodefaults", "-nographic", "-serial", "stdio",
        "-device", "isa-debug-exit,iobase=0xf4,iosize=4",
        "-global", "virtio-mmio.force-legacy=false",
        "-netdev", netdev, "-device", "virtio-net-device,netdev=n0",
        "-kernel", guest_elf(), "-append", append, NULL };

    return g_strdupv((char **)argv);
}

/* QEMU's own userspace virtio-net. */
static char **build_qemu_argv(const char *ifname, const char *append)
{
    return qemu_argv(ifname, append, "off");
}

/* QEMU's vhost-net frontend, through the stand-in where the host has no
 * /dev/vhost-net. */
static char **build_qemu_vhost_argv(const char *ifname, const char *append)
{
    g_auto(GStrv) qemu = qemu_argv(ifname, append, "on");

    return vhost_net_command((const char *const *)qemu, NULL, NULL);
}

/* kvmini: tap + vhost-net, the same way. */
static char **build_kvmini_argv(const char *ifname, const char *append)
{
    g_autofree char *netdev = g_strdup_printf(
        "tap,id=n0,ifname=%s,script=no,downscript=no,vhost=on", ifname);
    const char *argv[] = {
        kvmini_binary(), "-m", "256M", "-kernel", guest_elf(),
        "-serial", "stdio", "-netdev", netdev,
        "-device", "virtio-net-device,netdev=n0", "-append", append, NULL };

    return vhost_net_command(argv, NULL, NULL);
}

/* --- malformed frames ---------------------------------------------- */

#define ETH_HLEN  14
#define IP_HLEN   20
#define ICMP_LEN  16                /* header and 8 bytes of data */
#define ECHO_LEN  (ETH_HLEN + IP_HLEN + ICMP_LEN)

static void put16(uint8_t *p, unsigned v)
{
    p[0] = (uint8_t)(v >> 8);
    p[1] = (uint8_t)v;
}

/* RFC 1071, written independently of the guest's, so that the two are
 * checked against each other. */
static unsigned inet_checksum(const uint8_t *p, size_t len)
{
    uint32_t sum = 0;

    for (size_t i = 0; i < len; i += 2) {
        sum += (uint32_t)p[i] << 8 | (i + 1 < len ? p[i + 1] : 0);
    }
    sum = (sum & 0xffff) + (sum >> 16);
    sum += sum >> 16;
    return ~sum & 0xffff;
}

/* The guest's MAC, from its "ping: ip A.B.C.D mac xx:.." line. */
static bool guest_mac(const Peer *vm, uint8_t *mac)
{
    g_autofree char *log = NULL;
    const char *m;
    unsigned b[6];

    if (!g_file_get_contents(vm->log_path, &log, NULL, NULL) ||
        !(m = strstr(log, "ping: ip ")) || !(m = strstr(m, " mac ")) ||
        sscanf(m, " mac %x:%x:%x:%x:%x:%x", &b[0], &b[1], &b[2], &b[3],
               &b[4], &b[5]) != 6) {
        return false;
    }
    for (int i = 0; i < 6; i++) {
        mac[i] = (uint8_t)b[i];
    }
    return true;
}

/* A well-formed echo request from the host to the guest's address. */
static void build_echo_request(uint8_t *f, const uint8_t *dst_mac)
{
    static const uint8_t src_mac[6] = { 0x02, 0, 0, 0, 0, 0x02 };
    static const uint8_t src_ip[4] = { 10, 0, 2, 2 };
    static const uint8_t dst_ip[4] = { 10, 0, 2, 15 };
    uint8_t *ip = f + ETH_HLEN, *icmp = ip + IP_HLEN;

    memset(f, 0, ECHO_LEN);
    memcpy(f, dst_mac, 6);
    memcpy(f + 6, src_mac, 6);
    put16(f + 12, 0x0800);
    ip[0] = 0x45;
    put16(ip + 2, IP_HLEN + ICMP_LEN);
    ip[8] = 64;
    ip[9] = 1;                              /* ICMP */
    memcpy(ip + 12, src_ip, 4);
    memcpy(ip + 16, dst_ip, 4);
    put16(ip + 10, inet_checksum(ip, IP_HLEN));
    icmp[0] = 8;                            /* echo request */
    put16(icmp + 4, 0x1234);
    put16(icmp + 6, 1);
    memcpy(icmp + 8, "kvmini!!", 8);
    put16(icmp + 2, inet_checksum(icmp, ICMP_LEN));
}

static void refresh_ip_checksum(uint8_t *f)
{
    put16(f + ETH_HLEN + 10, 0);
    put16(f + ETH_HLEN + 10, inet_checksum(f + ETH_HLEN, IP_HLEN));
}

/* One damaged echo request per check of the guest's; each would get an
 * answer if the guest trusted it.  Returns how many were sent. */
static unsigned send_malformed(const char *ifname, const Peer *vm)
{
    enum { BAD_CSUM, TOO_LONG, IHL_4, VERSION_6, ICMP_CSUM, TRUNCATED,
           ARP_HLEN, N_BAD };
    uint8_t mac[6], f[ECHO_LEN];
    unsigned sent = 0;

    if (!guest_mac(vm, mac)) {
        test_log("no guest MAC in its output");
        g_test_fail();
        return 0;
    }
    for (int bad = 0; bad < N_BAD; bad++) {
        size_t len = ECHO_LEN;

        build_echo_request(f, mac);
        switch (bad) {
        case BAD_CSUM:  f[ETH_HLEN + 10] ^= 0xff; break;
        case TOO_LONG:  put16(f + ETH_HLEN + 2, 1000);
                        refresh_ip_checksum(f); break;
        case IHL_4:     f[ETH_HLEN] = 0x44; refresh_ip_checksum(f); break;
        case VERSION_6: f[ETH_HLEN] = 0x65; refresh_ip_checksum(f); break;
        case ICMP_CSUM: f[ETH_HLEN + IP_HLEN + 2] ^= 0xff; break;
        case TRUNCATED: len = ETH_HLEN + 10; break;   /* half a header */
        case ARP_HLEN:  /* a request for the guest's address, hlen 5 */
            put16(f + 12, 0x0806);
            memcpy(f + ETH_HLEN, "\0\1\x08\0\5\4\0\1", 8);
            memcpy(f + ETH_HLEN + 24, (uint8_t[]){ 10, 0, 2, 15 }, 4);
            break;
        }
        sent += netns_send_frame(ifname, f, len);
    }
    return sent;
}

/* The guest's reason for each frame of send_malformed(), in order. */
static const char *const malformed_reasons[] = {
    "ping: malformed frame, 50 bytes: IPv4 header checksum\n",
    "ping: malformed frame, 50 bytes: IPv4 total length\n",
    "ping: malformed frame, 50 bytes: IPv4 IHL\n",
    "ping: malformed frame, 50 bytes: IPv4 version\n",
    "ping: malformed frame, 50 bytes: ICMP checksum\n",
    "ping: malformed frame, 24 bytes: IPv4 header too short\n",
    "ping: malformed frame, 50 bytes: ARP address lengths\n",
    NULL
};

/* --- the table ------------------------------------------------------ */

static bool require_qemu(void)
{
    return require_program("qemu-system-x86_64");
}

static bool require_qemu_vhost(void)
{
    return require_qemu() && require_vhost_net();
}

static const PingVmm vmms[] = {
    /* kvmini exits with the guest's code. */
    { "kvmini-vhost-net", require_vhost_net, build_kvmini_argv, 0 },
    /* isa-debug-exit: the guest's success (0) is QEMU's status 1. */
    { "qemu-vhost-net", require_qemu_vhost, build_qemu_vhost_argv, 1 },
    { "qemu-tap", require_qemu, build_qemu_argv, 1 },
};

static const PingCase cases[] = {
    { "ping", "ip=" GUEST_ADDR, GUEST_ADDR, 50, true },
    { "ping-no-mrg-rxbuf", "ip=" GUEST_ADDR " ping_mrg_rxbuf=0",
      GUEST_ADDR, 20, true },
    { "malformed", "ip=" GUEST_ADDR, GUEST_ADDR, 20, true,
      send_malformed, malformed_reasons },
    /* Self-check: nobody has the address pinged. */
    { "wrong-ip", "ip=10.0.2.16 ping_timeout_ms=3000", GUEST_ADDR, 20,
      false },
};

/* Exit status of a guest failing with code n (both VMMs). */
static int failure_status(unsigned code)
{
    return (int)(code << 1 | 1);
}

typedef struct GuestCounts {
    unsigned arp, echo, ignored, malformed;
} GuestCounts;

static bool guest_counts(const char *out, GuestCounts *g)
{
    const char *line = out ? strstr(out, "ping: arp replies ") : NULL;

    return line && sscanf(line, "ping: arp replies %u, echo replies %u, "
                          "ignored %u\nping: malformed %u", &g->arp,
                          &g->echo, &g->ignored, &g->malformed) == 4;
}

/* Wait up to timeout_s for the guest's whole "ping: ip A.B.C.D mac
 * xx:.." line (it is printed a byte at a time): its device is up. */
static bool wait_guest_ready(const Peer *vm, unsigned timeout_s)
{
    for (unsigned waited = 0; waited <= timeout_s * 1000; waited += 10) {
        g_autofree char *log = NULL;
        const char *line;

        if (g_file_get_contents(vm->log_path, &log, NULL, NULL) &&
            (line = strstr(log, "ping: ip ")) && strchr(line, '\n')) {
            return true;
        }
        g_usleep(10000);
    }
    return false;
}

/* Start the VMM in the current namespace, give the host end of its tap
 * an address, and wait until the guest's device is up (its "ping: ip"
 * line).  False (test failed) if any step does not happen. */
static bool start_vmm(const PingTest *t, Peer *vm)
{
    g_autofree char *append = g_strdup_printf("test=ping ping_count=%u %s",
                                              t->c->count, t->c->guest_args);
    g_auto(GStrv) argv = t->vmm->build_argv(TAP_NAME, append);

    peer_start(vm, (const char *const *)argv, NULL);
    if (!netns_wait_link(TAP_NAME, LINK_TIMEOUT_MS)) {
        test_log("%s made no %s in %u ms", argv[0], TAP_NAME,
                 LINK_TIMEOUT_MS);
        g_test_fail();
        return false;
    }
    if (!netns_set_addr_up(TAP_NAME, HOST_ADDR)) {
        return false;
    }
    if (!wait_guest_ready(vm, READY_TIMEOUT)) {
        test_log("the guest did not set up its device in %u s",
                 READY_TIMEOUT);
        g_test_fail();
        return false;
    }
    return true;
}

static void check_answered(const PingTest *t, const PingResult *p,
                           const RunResult *r, unsigned malformed)
{
    GuestCounts g;

    g_assert_cmpuint(p->transmitted, ==, t->c->count);
    g_assert_cmpuint(p->received, ==, t->c->count);
    g_assert_cmpfloat(p->loss_pct, ==, 0);
    g_assert_true(p->have_rtt);
    test_log("%s/%s: rtt min/avg/max %.3f/%.3f/%.3f ms", t->vmm->name,
             t->c->name, p->rtt_min_ms, p->rtt_avg_ms, p->rtt_max_ms);
    g_assert_true(guest_counts(r->out, &g));
    g_assert_cmpuint(g.echo, ==, t->c->count);
    g_assert_cmpuint(g.arp, >=, 1);
    g_assert_cmpuint(g.malformed, ==, malformed);
    for (int i = 0; t->c->guest_lines && t->c->guest_lines[i]; i++) {
        g_assert_nonnull(strstr(r->out, t->c->guest_lines[i]));
    }
    g_assert_nonnull(strstr(r->out, "test ping: PASS"));
    g_assert_cmpint(r->status, ==, t->vmm->pass_status);
}

static void check_unanswered(const PingTest *t, const PingResult *p,
                             const RunResult *r)
{
    GuestCounts g;

    g_assert_cmpuint(p->transmitted, ==, t->c->count);
    g_assert_cmpuint(p->received, ==, 0);
    g_assert_cmpfloat(p->loss_pct, ==, 100);
    g_assert_cmpint(p->status, !=, 0);
    g_assert_true(guest_counts(r->out, &g));
    g_assert_cmpuint(g.echo, ==, 0);
    g_assert_cmpuint(g.arp, ==, 0);
    g_assert_cmpuint(g.malformed, ==, 0);
    g_assert_nonnull(strstr(r->out, "test ping: FAIL no request for us"));
    g_assert_cmpint(r->status, ==, failure_status(GUEST_FAIL_TIMEOUT));
}

/* The one scenario runner: fresh namespace, VMM with the guest, the
 * case's own frames if any, ping, then the guest's exit and counts. */
static void test_ping_scenario(gconstpointer data)
{
    const PingTest *t = data;
    PingResult p = { 0 };
    RunResult r = { 0 };
    Peer vm = { 0 };
    bool pinged = false;
    unsigned malformed = 0;

    if (!require_kvm() || !t->vmm->require() ||
        !require_program("ping") || !netns_enter_new()) {
        return;
    }
    if (start_vmm(t, &vm)) {
        if (t->c->send_frames) {
            malformed = t->c->send_frames(TAP_NAME, &vm);
        }
        pinged = ping_run(t->c->target, t->c->count, PING_INTERVAL_S,
                          TIMEOUT, &p);
    }
    if (!pinged) {
        peer_stop(&vm);
        ping_result_clear(&p);
        return;
    }
    peer_wait_exit(&vm, TIMEOUT, &r);
    if (t->c->answered) {
        check_answered(t, &p, &r, malformed);
    } else {
        check_unanswered(t, &p, &r);
    }
    ping_result_clear(&p);
    run_result_clear(&r);
}

/* ping_parse on what iputils-ping 20221126 prints, with and without
 * replies: the checks above are only as good as this. */
static void test_ping_parse(void)
{
    PingResult p = { 0 };

    g_assert_true(ping_parse(
        "--- 10.0.2.15 ping statistics ---\n"
        "50 packets transmitted, 50 received, 0% packet loss, time 509ms\n"
        "rtt min/avg/max/mdev = 1.276/1.539/3.991/0.454 ms\n", &p));
    g_assert_cmpuint(p.transmitted, ==, 50);
    g_assert_cmpuint(p.received, ==, 50);
    g_assert_cmpfloat(p.loss_pct, ==, 0);
    g_assert_true(p.have_rtt);
    g_assert_cmpfloat_with_epsilon(p.rtt_avg_ms, 1.539, 1e-9);
    g_assert_cmpfloat_with_epsilon(p.rtt_max_ms, 3.991, 1e-9);
    g_assert_true(ping_parse(
        "From 10.0.2.2 icmp_seq=1 Destination Host Unreachable\n\n"
        "--- 10.0.2.15 ping statistics ---\n"
        "20 packets transmitted, 0 received, +20 errors, 100% packet loss, "
        "time 2519ms\n", &p));
    g_assert_cmpuint(p.transmitted, ==, 20);
    g_assert_cmpuint(p.received, ==, 0);
    g_assert_cmpfloat(p.loss_pct, ==, 100);
    g_assert_false(p.have_rtt);
    g_assert_true(ping_parse("3 packets transmitted, 2 received, "
                             "33.3333% packet loss, time 2003ms\n", &p));
    g_assert_cmpfloat_with_epsilon(p.loss_pct, 33.3333, 1e-9);
    g_assert_false(ping_parse("ping: unknown host\n", &p));
}

int main(int argc, char **argv)
{
    static PingTest tests[G_N_ELEMENTS(vmms) * G_N_ELEMENTS(cases)];
    unsigned n = 0;

    g_test_init(&argc, &argv, NULL);
    g_test_add_func("/tap-ping/parse", test_ping_parse);
    for (unsigned v = 0; v < G_N_ELEMENTS(vmms); v++) {
        for (unsigned c = 0; c < G_N_ELEMENTS(cases); c++, n++) {
            g_autofree char *path = g_strdup_printf(
                "/tap-ping/%s/%s", vmms[v].name, cases[c].name);

            tests[n] = (PingTest){ &vmms[v], &cases[c] };
            g_test_add_data_func(path, &tests[n], test_ping_scenario);
        }
    }
    return g_test_run();
}
