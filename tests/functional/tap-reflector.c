/* SPDX-License-Identifier: MIT */
/*
 * The tap macswap reflector (tap-reflector.h).  Frames we send ourselves
 * come back to the socket as PACKET_OUTGOING and are skipped.
 */
#include "tap-reflector.h"

#include <arpa/inet.h>
#include <errno.h>
#include <linux/if_ether.h>
#include <linux/if_packet.h>
#include <net/if.h>
#include <poll.h>
#include <stdbool.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <unistd.h>

static bool interface_up(int sock, const char *ifname)
{
    struct ifreq ifr = { 0 };

    g_strlcpy(ifr.ifr_name, ifname, IFNAMSIZ);
    if (ioctl(sock, SIOCGIFFLAGS, &ifr) < 0) {
        return false;
    }
    ifr.ifr_flags |= IFF_UP;
    return ioctl(sock, SIOCSIFFLAGS, &ifr) == 0;
}

/* An AF_PACKET socket bound to ifname once it exists and is up; -1 if
 * stopped or timed out first. */
static int open_bound_socket(TapReflector *r)
{
    int sock = socket(AF_PACKET, SOCK_RAW | SOCK_CLOEXEC, htons(ETH_P_ALL));

    g_assert_cmpint(sock, >=, 0);
    for (int i = 0; i < 60000 && !g_atomic_int_get(&r->stop); i++) {
        unsigned idx = if_nametoindex(r->ifname);
        struct sockaddr_ll sll = {
            .sll_family = AF_PACKET, .sll_protocol = htons(ETH_P_ALL),
            .sll_ifindex = idx,
        };

        if (idx && interface_up(sock, r->ifname) &&
            bind(sock, (struct sockaddr *)&sll, sizeof(sll)) == 0) {
            return sock;
        }
        g_usleep(1000);
    }
    close(sock);
    return -1;
}

static void reflect_one(TapReflector *r, int sock)
{
    uint8_t frame[65536], mac[6];
    struct sockaddr_ll from;
    socklen_t fl = sizeof(from);
    ssize_t n = recvfrom(sock, frame, sizeof(frame), MSG_DONTWAIT,
                         (struct sockaddr *)&from, &fl);

    if (n < 14 || from.sll_pkttype == PACKET_OUTGOING) {
        return;
    }
    memcpy(mac, frame, 6);
    memcpy(frame, frame + 6, 6);
    memcpy(frame + 6, mac, 6);
    if (send(sock, frame, n, 0) == n) {
        r->reflected++;
    } else {
        r->send_errors++;
    }
}

static gpointer reflector_thread(gpointer opaque)
{
    TapReflector *r = opaque;
    int sock = open_bound_socket(r);

    if (sock < 0) {
        return NULL;
    }
    g_atomic_int_set(&r->up, 1);
    while (!g_atomic_int_get(&r->stop)) {
        struct pollfd p = { .fd = sock, .events = POLLIN };

        if (poll(&p, 1, 50) == 1) {
            reflect_one(r, sock);
        }
    }
    close(sock);
    return NULL;
}

void tap_reflector_start(TapReflector *r, const char *ifname)
{
    memset(r, 0, sizeof(*r));
    r->ifname = g_strdup(ifname);
    r->thread = g_thread_new("tap-reflector", reflector_thread, r);
}

void tap_reflector_stop(TapReflector *r)
{
    g_atomic_int_set(&r->stop, 1);
    g_thread_join(r->thread);
    r->thread = NULL;
    g_clear_pointer(&r->ifname, g_free);
}
