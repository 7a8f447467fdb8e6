/* SPDX-License-Identifier: MIT */
/*
 * Network namespaces and ping for functional tests, so that no test
 * traffic ever touches the machine's own network: the test process moves
 * into a fresh namespace of its own, the VMMs it starts inherit it (their
 * tap devices are created there), and it disappears with the last process
 * in it.  Needs root (CAP_SYS_ADMIN for unshare, CAP_NET_ADMIN inside);
 * /dev/net/tun works inside.  Addresses and links are set with `ip`
 * (iproute2); `ping` is iputils-ping.
 */
#ifndef TESTS_FUNCTIONAL_NETNS_H
#define TESTS_FUNCTIONAL_NETNS_H

#include <stdbool.h>
#include <stddef.h>

/*
 * Move the calling process into a new network namespace and bring `lo`
 * up there.  Calling it again gives a fresh one (the previous one goes
 * away once no process holds it).  Returns false, after skipping the
 * test (failing it under CI=true), if the namespace cannot be made or
 * `ip` is missing; fails the test if `lo` does not come up.
 */
bool netns_enter_new(void);
/* netns_enter_new() with IPv6 off in the new namespace: no neighbour
 * discovery on the taps, only the guest's frames and their echoes cross
 * them, so frame counters can be compared exactly. */
bool netns_enter_quiet(void);

/* Write text to path in place (a /proc or /sys file: no temporary file
 * and rename, as g_file_set_contents would do). */
bool netns_write_file(const char *path, const char *text);

/* Wait up to timeout_ms for interface name to exist in the current
 * namespace.  True if it does. */
bool netns_wait_link(const char *name, unsigned timeout_ms);

/* Add addr ("10.0.2.2/24") to interface name and set it up.  A failing
 * `ip` command fails the test, with its output; returns false then. */
bool netns_set_addr_up(const char *name, const char *addr);

/* Send one raw Ethernet frame (len >= 14 bytes, no FCS) out of
 * interface name: it reaches whatever is at the other end (a VMM's tap).
 * A failure fails the test; returns false then. */
bool netns_send_frame(const char *name, const void *frame, size_t len);

/* What `ping` reported.  The rtt fields are only valid with have_rtt
 * (ping prints them only when a reply came back). */
typedef struct PingResult {
    unsigned transmitted;
    unsigned received;
    double loss_pct;
    bool have_rtt;
    double rtt_min_ms, rtt_avg_ms, rtt_max_ms;
    int status;             /* ping's exit status (1: no reply at all) */
    char *output;           /* what it printed, stdout then stderr */
} PingResult;

/*
 * Run `ping -c count -i interval_s -W 1 addr` (an interval below 0.2 s
 * needs root) with a time limit of timeout_s and parse its summary into
 * *res.  Returns false, failing the test with ping's output, if ping
 * could not run or printed no summary line.  Free with ping_result_clear().
 */
bool ping_run(const char *addr, unsigned count, double interval_s,
              unsigned timeout_s, PingResult *res);

/* Parse ping's output (the "packets transmitted" and "rtt" lines) into
 * the count, loss and rtt fields of *res.  False without a summary. */
bool ping_parse(const char *out, PingResult *res);

void ping_result_clear(PingResult *res);

#endif
