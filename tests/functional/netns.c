/* SPDX-License-Identifier: MIT */
/* Network namespaces and ping for functional tests (see the header). */
#include "netns.h"
#include "functional-common.h"

#include <errno.h>
#include <linux/if_packet.h>
#include <net/ethernet.h>
#include <net/if.h>
#include <sched.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#define IP_TIMEOUT_S 10

/* Run `ip` with args; a failure fails the test with what it printed. */
static bool run_ip(const char *const *args)
{
    g_autoptr(GPtrArray) argv = g_ptr_array_new();
    g_autofree char *cmd = NULL;
    RunResult r = { 0 };
    bool ok;

    g_ptr_array_add(argv, (gpointer)"ip");
    for (int i = 0; args[i]; i++) {
        g_ptr_array_add(argv, (gpointer)args[i]);
    }
    g_ptr_array_add(argv, NULL);
    cmd = g_strjoinv(" ", (char **)argv->pdata);
    run_command((const char *const *)argv->pdata, IP_TIMEOUT_S, &r);
    ok = r.status == 0 && !r.timed_out;
    if (!ok) {
        test_log("$ %s\n%s%s--- status %d%s", cmd, r.out, r.err, r.status,
                 r.timed_out ? " (timed out)" : "");
        g_test_fail();
    }
    run_result_clear(&r);
    return ok;
}

bool netns_enter_new(void)
{
    const char *const lo_up[] = { "link", "set", "lo", "up", NULL };

    if (!require_program("ip")) {
        return false;
    }
    if (unshare(CLONE_NEWNET) < 0) {
        g_autofree char *what = g_strdup_printf(
            "a network namespace of its own (unshare: %s; needs root)",
            strerror(errno));
        return require_failed(what);
    }
    return run_ip(lo_up);
}

bool netns_write_file(const char *path, const char *text)
{
    FILE *f = fopen(path, "we");
    bool ok = f && fputs(text, f) >= 0;

    if (f && fclose(f) != 0) {
        ok = false;
    }
    return ok;
}

bool netns_enter_quiet(void)
{
    if (!netns_enter_new()) {
        return false;
    }
    g_assert_true(netns_write_file(
        "/proc/sys/net/ipv6/conf/default/disable_ipv6", "1"));
    g_assert_true(netns_write_file(
        "/proc/sys/net/ipv6/conf/all/disable_ipv6", "1"));
    return true;
}

bool netns_wait_link(const char *name, unsigned timeout_ms)
{
    for (unsigned waited = 0;; waited += 10) {
        if (if_nametoindex(name) != 0) {
            return true;
        }
        if (waited >= timeout_ms) {
            return false;
        }
        g_usleep(10000);
    }
}

bool netns_set_addr_up(const char *name, const char *addr)
{
    const char *const add[] = { "addr", "add", addr, "dev", name, NULL };
    const char *const up[] = { "link", "set", name, "up", NULL };

    return run_ip(add) && run_ip(up);
}

bool netns_send_frame(const char *name, const void *frame, size_t len)
{
    struct sockaddr_ll to = {
        .sll_family = AF_PACKET,
        .sll_ifindex = (int)if_nametoindex(name),
        .sll_halen = ETH_ALEN,
    };
    int fd = socket(AF_PACKET, SOCK_RAW | SOCK_CLOEXEC, 0);
    ssize_t n = -1;

    /* Protocol 0: this socket only sends, it never sees a frame. */
    if (fd >= 0 && to.sll_ifindex > 0) {
        memcpy(to.sll_addr, frame, ETH_ALEN);
        n = sendto(fd, frame, len, 0, (struct sockaddr *)&to, sizeof(to));
    }
    if (n != (ssize_t)len) {
        test_log("sending a %zu-byte frame on %s: %s", len, name,
                 fd < 0 || to.sll_ifindex == 0 ? "no socket or no such link"
                                               : strerror(errno));
        g_test_fail();
    }
    if (fd >= 0) {
        close(fd);
    }
    return n == (ssize_t)len;
}

/* "... N% packet loss": the number before it (it may have decimals). */
static bool parse_loss(const char *out, double *loss)
{
    const char *pct = strstr(out, "% packet loss");
    const char *start = pct;

    if (!pct) {
        return false;
    }
    while (start > out && (g_ascii_isdigit(start[-1]) || start[-1] == '.')) {
        start--;
    }
    if (start == pct) {
        return false;
    }
    *loss = g_ascii_strtod(start, NULL);
    return true;
}

bool ping_parse(const char *out, PingResult *res)
{
    const char *line = strstr(out, " packets transmitted, ");
    const char *rtt = strstr(out, "rtt min/avg/max/mdev = ");

    while (line && line > out && line[-1] != '\n') {
        line--;                         /* back to the line's start */
    }
    if (!line || sscanf(line, "%u packets transmitted, %u received",
                        &res->transmitted, &res->received) != 2 ||
        !parse_loss(line, &res->loss_pct)) {
        return false;
    }
    res->have_rtt = false;
    if (rtt) {
        g_auto(GStrv) v = g_strsplit(rtt + strlen("rtt min/avg/max/mdev = "),
                                     "/", 4);

        if (g_strv_length(v) == 4) {
            /* g_ascii_strtod: ping prints a '.' whatever our locale. */
            res->rtt_min_ms = g_ascii_strtod(v[0], NULL);
            res->rtt_avg_ms = g_ascii_strtod(v[1], NULL);
            res->rtt_max_ms = g_ascii_strtod(v[2], NULL);
            res->have_rtt = true;
        }
    }
    return true;
}

bool ping_run(const char *addr, unsigned count, double interval_s,
              unsigned timeout_s, PingResult *res)
{
    char interval[G_ASCII_DTOSTR_BUF_SIZE];
    g_autofree char *count_s = g_strdup_printf("%u", count);
    const char *argv[] = { "ping", "-c", count_s, "-i", interval, "-W", "1",
                           addr, NULL };
    RunResult r = { 0 };

    memset(res, 0, sizeof(*res));
    g_ascii_formatd(interval, sizeof(interval), "%g", interval_s);
    run_command(argv, timeout_s, &r);
    res->status = r.status;
    res->output = g_strconcat(r.out, r.err, NULL);
    run_result_clear(&r);
    test_log("$ ping -c %s -i %s -W 1 %s\n%s--- status %d", count_s,
             interval, addr, res->output, res->status);
    if (!ping_parse(res->output, res)) {
        test_log("ping printed no summary");
        g_test_fail();
        return false;
    }
    return true;
}

void ping_result_clear(PingResult *res)
{
    g_free(res->output);
    memset(res, 0, sizeof(*res));
}
