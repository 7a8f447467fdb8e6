/* SPDX-License-Identifier: MIT */
/*
 * The data path of /dev/vhost-net driven from rings of our own: one
 * region of memory at guest-physical GPA_BASE (private or memfd-shared),
 * a tap of our own (IFF_VNET_HDR, header size 12) with a packet socket on
 * its interface to see what vhost sent and to inject what it must
 * receive.  Features: VERSION_1, MRG_RXBUF, EVENT_IDX, INDIRECT_DESC,
 * LOG_ALL, and the log flag on both rings, so that the dirty log can be
 * checked bit by bit against where Linux 6.1 sets bits.
 */
#include "standin-datapath.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/if_ether.h>
#include <linux/if_packet.h>
#include <linux/if_tun.h>
#include <linux/vhost.h>
#include <linux/virtio_ring.h>
#include <net/if.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define GPA_BASE 0x40000000ULL
#define ARENA (1u << 20)
#define QN 16
#define RX_DESC 0x0000
#define RX_AVAIL 0x0100
#define RX_USED 0x1000
#define TX_DESC 0x2000
#define TX_AVAIL 0x2100
#define TX_USED 0x3000
#define INDIRECT 0x4000
#define TX_BUF 0x5000
#define RX_BUF 0x10000
#define RX_BUF_LEN 64
#define HDR 12
#define TAPNAME "kvc0"
#define ETHERTYPE 0x88b5
#define LOG_BYTES ((GPA_BASE + ARENA) / 4096 / 8)

typedef struct Dp {
    bool vhost_hdr;             /* VHOST_NET_F_VIRTIO_NET_HDR: vhost adds
                                 * and strips the header, the tap has none;
                                 * else LOG_ALL, MRG_RXBUF, EVENT_IDX... */
    int vhost, tap, pkt;
    uint8_t *arena;
    uint8_t *log;
    int kick[2], call[2];
} Dp;

static uint64_t gpa(uint64_t off)
{
    return GPA_BASE + off;
}

static volatile uint16_t *u16_at(Dp *d, uint64_t off)
{
    return (volatile uint16_t *)(d->arena + off);
}

static void publish_avail(Dp *d, uint64_t avail, uint16_t idx)
{
    __atomic_thread_fence(__ATOMIC_SEQ_CST);
    *u16_at(d, avail + 2) = idx;
    __atomic_thread_fence(__ATOMIC_SEQ_CST);
}

static void kick(Dp *d, int q)
{
    uint64_t one = 1;

    g_assert_cmpint(write(d->kick[q], &one, 8), ==, 8);
}

/* Wait up to ms for the call eventfd of ring q; consumes it. */
static bool called(Dp *d, int q, int ms)
{
    struct pollfd p = { .fd = d->call[q], .events = POLLIN };
    uint64_t v;

    if (poll(&p, 1, ms) != 1) {
        return false;
    }
    return read(d->call[q], &v, 8) == 8;
}

/* Wait up to 2 s for the used index of a ring to reach idx. */
static bool used_reaches(Dp *d, uint64_t used, uint16_t idx)
{
    for (int i = 0; i < 2000; i++) {
        if (*u16_at(d, used + 2) == idx) {
            return true;
        }
        g_usleep(1000);
    }
    return false;
}

static uint8_t *arena_new(bool shared)
{
    int fd = shared ? memfd_create("standin-client", MFD_CLOEXEC) : -1;
    void *p;

    if (shared) {
        g_assert_cmpint(ftruncate(fd, ARENA), ==, 0);
    }
    p = mmap(NULL, ARENA, PROT_READ | PROT_WRITE,
             shared ? MAP_SHARED : MAP_PRIVATE | MAP_ANONYMOUS, fd, 0);
    g_assert_true(p != MAP_FAILED);
    if (fd >= 0) {
        close(fd);
    }
    memset(p, 0, ARENA);
    return p;
}

static int tap_open(bool vnet_hdr)
{
    struct ifreq ifr = { .ifr_flags = IFF_TAP | IFF_NO_PI };
    int fd = open("/dev/net/tun", O_RDWR | O_NONBLOCK | O_CLOEXEC);
    int sz = HDR;
    int s = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);

    g_assert_cmpint(fd, >=, 0);
    g_strlcpy(ifr.ifr_name, TAPNAME, IFNAMSIZ);
    ifr.ifr_flags |= vnet_hdr ? IFF_VNET_HDR : 0;
    g_assert_cmpint(ioctl(fd, TUNSETIFF, &ifr), ==, 0);
    if (vnet_hdr) {
        g_assert_cmpint(ioctl(fd, TUNSETVNETHDRSZ, &sz), ==, 0);
    }
    g_assert_cmpint(ioctl(s, SIOCGIFFLAGS, &ifr), ==, 0);
    ifr.ifr_flags |= IFF_UP;
    g_assert_cmpint(ioctl(s, SIOCSIFFLAGS, &ifr), ==, 0);
    close(s);
    return fd;
}

static int packet_socket(void)
{
    int s = socket(AF_PACKET, SOCK_RAW | SOCK_CLOEXEC, htons(ETH_P_ALL));
    struct sockaddr_ll sll = {
        .sll_family = AF_PACKET, .sll_protocol = htons(ETH_P_ALL),
        .sll_ifindex = if_nametoindex(TAPNAME),
    };

    g_assert_cmpint(s, >=, 0);
    g_assert_cmpint(bind(s, (struct sockaddr *)&sll, sizeof(sll)), ==, 0);
    return s;
}

static void make_frame(uint8_t *f, size_t len, uint8_t seed)
{
    static const uint8_t src[6] = { 0x02, 0, 0, 0, 0, 0x01 };

    memset(f, 0xff, 6);
    memcpy(f + 6, src, 6);
    f[12] = ETHERTYPE >> 8;
    f[13] = ETHERTYPE & 0xff;
    for (size_t i = 14; i < len; i++) {
        f[i] = (uint8_t)(i ^ seed);
    }
}

static void setup_ring(Dp *d, unsigned q, uint64_t desc, uint64_t avail,
                       uint64_t used)
{
    struct vhost_vring_state num = { q, QN }, base = { q, 0 };
    struct vhost_vring_addr a = {
        .index = q, .flags = d->vhost_hdr ? 0 : 1u << VHOST_VRING_F_LOG,
        .desc_user_addr = (uint64_t)(d->arena + desc),
        .avail_user_addr = (uint64_t)(d->arena + avail),
        .used_user_addr = (uint64_t)(d->arena + used),
        .log_guest_addr = gpa(used),
    };
    struct vhost_vring_file kf = { q, d->kick[q] }, cf = { q, d->call[q] };

    client_expect("SET_VRING_NUM", ioctl(d->vhost, VHOST_SET_VRING_NUM, &num),
                  0);
    client_expect("SET_VRING_BASE",
                  ioctl(d->vhost, VHOST_SET_VRING_BASE, &base), 0);
    client_expect("SET_VRING_ADDR", ioctl(d->vhost, VHOST_SET_VRING_ADDR, &a),
                  0);
    client_expect("SET_VRING_KICK",
                  ioctl(d->vhost, VHOST_SET_VRING_KICK, &kf), 0);
    client_expect("SET_VRING_CALL",
                  ioctl(d->vhost, VHOST_SET_VRING_CALL, &cf), 0);
}

static void setup_device(Dp *d)
{
    /* VERSION_1 and MRG_RXBUF, EVENT_IDX, INDIRECT_DESC, LOG_ALL; or
     * VERSION_1 and VHOST_NET_F_VIRTIO_NET_HDR. */
    uint64_t f = d->vhost_hdr ? (1ULL << 32) | (1ULL << 27)
                 : (1ULL << 32) | (1ULL << 15) | (1ULL << 29) | (1ULL << 28) |
                   (1ULL << 26);
    struct {
        struct vhost_memory m;
        struct vhost_memory_region r;
    } mem = { { .nregions = 1 }, { GPA_BASE, ARENA, 0, 0 } };
    uint64_t log = (uint64_t)d->log;

    mem.r.userspace_addr = (uint64_t)d->arena;
    client_expect("SET_OWNER", ioctl(d->vhost, VHOST_SET_OWNER), 0);
    client_expect("SET_FEATURES", ioctl(d->vhost, VHOST_SET_FEATURES, &f), 0);
    client_expect("SET_MEM_TABLE",
                  ioctl(d->vhost, VHOST_SET_MEM_TABLE, &mem), 0);
    client_expect("SET_LOG_BASE", ioctl(d->vhost, VHOST_SET_LOG_BASE, &log),
                  0);
    for (int q = 0; q < 2; q++) {
        d->kick[q] = eventfd(0, EFD_CLOEXEC);
        d->call[q] = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
    }
    setup_ring(d, 0, RX_DESC, RX_AVAIL, RX_USED);
    setup_ring(d, 1, TX_DESC, TX_AVAIL, TX_USED);
    for (unsigned q = 0; q < 2; q++) {
        struct vhost_vring_file b = { q, d->tap };

        client_expect("NET_SET_BACKEND",
                      ioctl(d->vhost, VHOST_NET_SET_BACKEND, &b), 0);
    }
}

/* A frame with our ethertype from the packet socket, not one we sent. */
static ssize_t recv_ours(Dp *d, uint8_t *buf, size_t len)
{
    for (int i = 0; i < 50; i++) {
        struct pollfd p = { .fd = d->pkt, .events = POLLIN };
        struct sockaddr_ll from;
        socklen_t fl = sizeof(from);
        ssize_t n;

        if (poll(&p, 1, 100) != 1) {
            continue;
        }
        n = recvfrom(d->pkt, buf, len, 0, (struct sockaddr *)&from, &fl);
        if (n >= 14 && from.sll_pkttype != PACKET_OUTGOING &&
            buf[12] == (ETHERTYPE >> 8) && buf[13] == (ETHERTYPE & 0xff)) {
            return n;
        }
    }
    return -1;
}

/* TX: one chain through an indirect table of two descriptors, the
 * header and the frame split across them. */
static void test_tx(Dp *d)
{
    uint8_t *buf = d->arena + TX_BUF, got[2048];
    struct vring_desc *ind = (struct vring_desc *)(d->arena + INDIRECT);
    struct vring_desc *desc = (struct vring_desc *)(d->arena + TX_DESC);
    struct vring_used_elem *ue = (void *)(d->arena + TX_USED + 4);
    ssize_t n;

    memset(buf, 0, HDR);
    make_frame(buf + HDR, 100, 7);
    ind[0] = (struct vring_desc){ gpa(TX_BUF), 42, VRING_DESC_F_NEXT, 1 };
    ind[1] = (struct vring_desc){ gpa(TX_BUF + 42), HDR + 100 - 42, 0, 0 };
    desc[0] = (struct vring_desc){ gpa(INDIRECT), 32, VRING_DESC_F_INDIRECT,
                                   0 };
    *u16_at(d, TX_AVAIL + 4) = 0;
    *u16_at(d, TX_AVAIL + 4 + 2 * QN) = 0;      /* used_event */
    publish_avail(d, TX_AVAIL, 1);
    kick(d, 1);
    client_check("TX call", called(d, 1, 2000));
    client_check("TX used idx 1", used_reaches(d, TX_USED, 1));
    client_check("TX used elem", ue[0].id == 0 && ue[0].len == 0);
    n = recv_ours(d, got, sizeof(got));
    client_check("TX frame on the interface",
                 n == 100 && memcmp(got, buf + HDR, 100) == 0);
}

static void post_rx_buffers(Dp *d, uint16_t from, uint16_t to)
{
    struct vring_desc *desc = (struct vring_desc *)(d->arena + RX_DESC);

    for (uint16_t i = from; i < to; i++) {
        desc[i] = (struct vring_desc){ gpa(RX_BUF + i * RX_BUF_LEN),
                                       RX_BUF_LEN, VRING_DESC_F_WRITE, 0 };
        *u16_at(d, RX_AVAIL + 4 + 2 * (i % QN)) = i;
    }
    publish_avail(d, RX_AVAIL, to);
}

static void inject(Dp *d, uint8_t seed)
{
    uint8_t f[200];

    make_frame(f, sizeof(f), seed);
    g_assert_cmpint(send(d->pkt, f, sizeof(f), 0), ==, sizeof(f));
}

/* The frame with this seed spread over 4 buffers from first. */
static void check_rx_frame(Dp *d, uint16_t first, uint8_t seed)
{
    struct vring_used_elem *ue = (void *)(d->arena + RX_USED + 4);
    uint8_t *b = d->arena + RX_BUF + first * RX_BUF_LEN, f[200];
    uint16_t nbuf;
    bool lens = true;

    make_frame(f, sizeof(f), seed);
    for (int i = 0; i < 4; i++) {
        lens &= ue[(first + i) % QN].id == (uint32_t)(first + i) &&
                ue[(first + i) % QN].len == (i < 3 ? 64u : 20u);
    }
    memcpy(&nbuf, b + 10, 2);
    client_check("RX used elems 64,64,64,20", lens);
    client_check("RX num_buffers 4", nbuf == 4);
    client_check("RX frame data", memcmp(b + HDR, f, 200) == 0);
}

/* RX: a 212-byte frame (header included) over 64-byte mergeable buffers;
 * then EVENT_IDX suppression; then a frame that must wait for buffers
 * (avail_event written) and is delivered after a refill. */
static void test_rx(Dp *d)
{
    uint64_t used_event = RX_AVAIL + 4 + 2 * QN;
    uint64_t avail_event = RX_USED + 4 + 8 * QN;

    *u16_at(d, used_event) = 0;
    post_rx_buffers(d, 0, 8);
    kick(d, 0);
    inject(d, 1);
    client_check("RX call", called(d, 0, 2000));
    client_check("RX used idx 4", used_reaches(d, RX_USED, 4));
    check_rx_frame(d, 0, 1);

    *u16_at(d, used_event) = 100;       /* no interrupt wanted yet */
    inject(d, 2);
    client_check("RX used idx 8", used_reaches(d, RX_USED, 8));
    client_check("RX no call past used_event", !called(d, 0, 300));
    check_rx_frame(d, 4, 2);

    *u16_at(d, used_event) = 8;
    inject(d, 3);
    g_usleep(300000);
    client_check("RX waits without buffers", *u16_at(d, RX_USED + 2) == 8);
    client_check("RX avail_event written", *u16_at(d, avail_event) == 8);
    post_rx_buffers(d, 8, 12);
    kick(d, 0);
    client_check("RX used idx 12", used_reaches(d, RX_USED, 12));
    client_check("RX call after refill", called(d, 0, 2000));
    check_rx_frame(d, 8, 3);
}

/* Exactly the pages vhost wrote: both used rings (log flag on the rings)
 * and the RX buffers (LOG_ALL); never the TX buffers or the avail rings. */
static void check_log(Dp *d)
{
    const uint64_t want[] = { gpa(RX_USED) / 4096, gpa(TX_USED) / 4096,
                              gpa(RX_BUF) / 4096 };
    unsigned found = 0, extra = 0;

    for (uint64_t byte = 0; byte < LOG_BYTES; byte++) {
        for (int bit = 0; bit < 8 && d->log[byte]; bit++) {
            uint64_t page = byte * 8 + bit;
            bool expected = false;

            if (!(d->log[byte] & (1u << bit))) {
                continue;
            }
            for (size_t i = 0; i < G_N_ELEMENTS(want); i++) {
                expected |= page == want[i];
            }
            found += expected;
            extra += !expected;
            if (!expected) {
                printf("unexpected dirty page 0x%" G_GINT64_MODIFIER "x\n",
                       page);
            }
        }
    }
    client_check("dirty log: used rings and RX buffers",
                 found == G_N_ELEMENTS(want));
    client_check("dirty log: nothing else", !extra);
}

static int cmp_u64(const void *a, const void *b)
{
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

    return x < y ? -1 : x > y;
}

/* Median time of a notified ioctl with one argument copy. */
static void time_ioctls(Dp *d)
{
    enum { N = 2000 };
    g_autofree uint64_t *ns = g_new(uint64_t, N);

    for (int i = 0; i < N; i++) {
        struct vhost_vring_state s = { .index = 0 };
        struct timespec a, b;

        clock_gettime(CLOCK_MONOTONIC, &a);
        ioctl(d->vhost, VHOST_GET_VRING_BASE, &s);
        clock_gettime(CLOCK_MONOTONIC, &b);
        ns[i] = (b.tv_sec - a.tv_sec) * 1000000000ULL + b.tv_nsec - a.tv_nsec;
    }
    qsort(ns, N, sizeof(*ns), cmp_u64);
    printf("timing: GET_VRING_BASE median %" G_GUINT64_FORMAT " ns, p90 %"
           G_GUINT64_FORMAT " ns over %d calls\n", ns[N / 2], ns[N * 9 / 10],
           N);
}

/* VHOST_NET_F_VIRTIO_NET_HDR, TX: the header (its own descriptor) is
 * stripped, the interface sees the bare frame. */
static void test_tx_vhost_hdr(Dp *d)
{
    uint8_t *buf = d->arena + TX_BUF, got[2048];
    struct vring_desc *desc = (struct vring_desc *)(d->arena + TX_DESC);
    ssize_t n;

    memset(buf, 0, HDR);
    make_frame(buf + HDR, 100, 9);
    desc[0] = (struct vring_desc){ gpa(TX_BUF), HDR, VRING_DESC_F_NEXT, 1 };
    desc[1] = (struct vring_desc){ gpa(TX_BUF + HDR), 100, 0, 0 };
    *u16_at(d, TX_AVAIL + 4) = 0;
    publish_avail(d, TX_AVAIL, 1);
    kick(d, 1);
    client_check("TX used idx 1", used_reaches(d, TX_USED, 1));
    n = recv_ours(d, got, sizeof(got));
    client_check("TX frame without header on the interface",
                 n == 100 && memcmp(got, buf + HDR, 100) == 0);
}

/* VHOST_NET_F_VIRTIO_NET_HDR, RX without MRG_RXBUF: one buffer per frame;
 * a frame that does not fit is discarded and the buffer stays available;
 * vhost writes a 10-byte header (struct virtio_net_hdr) and the frame at
 * 12, leaving num_buffers alone. */
static void test_rx_vhost_hdr(Dp *d)
{
    struct vring_desc *desc = (struct vring_desc *)(d->arena + RX_DESC);
    struct vring_used_elem *ue = (void *)(d->arena + RX_USED + 4);
    uint8_t *b = d->arena + RX_BUF, f[200], zero[10] = { 0 };

    memset(b, 0xaa, 2048);
    desc[0] = (struct vring_desc){ gpa(RX_BUF), 64, VRING_DESC_F_WRITE, 0 };
    *u16_at(d, RX_AVAIL + 4) = 0;
    publish_avail(d, RX_AVAIL, 1);
    kick(d, 0);
    inject(d, 4);
    g_usleep(300000);
    client_check("RX too big for the buffer: discarded",
                 *u16_at(d, RX_USED + 2) == 0 && b[0] == 0xaa);
    desc[0].len = 2048;
    inject(d, 5);
    client_check("RX used idx 1", used_reaches(d, RX_USED, 1));
    make_frame(f, sizeof(f), 5);
    client_check("RX used elem len 212", ue[0].id == 0 && ue[0].len == 212);
    client_check("RX header from vhost", memcmp(b, zero, 10) == 0);
    client_check("RX num_buffers untouched", b[10] == 0xaa && b[11] == 0xaa);
    client_check("RX frame at 12", memcmp(b + HDR, f, sizeof(f)) == 0);
}

void standin_datapath(int vhost_fd, bool shared, bool vhost_hdr)
{
    Dp d = { .vhost = vhost_fd, .vhost_hdr = vhost_hdr };

    d.arena = arena_new(shared);
    d.log = g_malloc0(LOG_BYTES);
    d.tap = tap_open(!vhost_hdr);
    d.pkt = packet_socket();
    setup_device(&d);
    if (vhost_hdr) {
        test_tx_vhost_hdr(&d);
        test_rx_vhost_hdr(&d);
    } else {
        test_tx(&d);
        test_rx(&d);
        check_log(&d);
        time_ioctls(&d);
    }
    munmap(d.arena, ARENA);
    g_free(d.log);
}
