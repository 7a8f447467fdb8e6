/* SPDX-License-Identifier: MIT */
/*
 * vhost-kernel as the kernel sees it: kvmini (-accel qtest, this test
 * is the guest driver) with -netdev tap,vhost=on runs under the vhost-net
 * stand-in (tests/vhost-standin), whose trace lists every request it
 * served ("devN NAME key=value ... -> RESULT").  Checked there:
 *   - the start sequence, with its arguments: SET_OWNER, GET_FEATURES,
 *     SET_FEATURES with the bits the driver accepted that are the
 *     kernel's (not the tap's offloads, which the tap got instead), one
 *     SET_MEM_TABLE region for all of RAM, per ring
 *     NUM (the driver's size), BASE 0, ADDR (the ring's layout as the
 *     driver wrote it), KICK and CALL eventfds, and only then
 *     NET_SET_BACKEND with the tap for both rings;
 *   - the stop: NET_SET_BACKEND -1 for both rings before GET_VRING_BASE
 *     (the kernel stops a ring when it loses its backend; the base read
 *     before that could move), and a TX frame the driver posted counted
 *     by the stand-in on the way to the tap; at exit RESET_OWNER, then
 *     close;
 *   - failure replies (the stand-in's --fail knob): EFAULT, ENOBUFS,
 *     EPERM from SET_MEM_TABLE, SET_VRING_NUM, SET_VRING_ADDR,
 *     NET_SET_BACKEND: one logged line naming the ioctl, the queue and
 *     the errno; kvmini keeps running, the rings that had a backend lose
 *     it again, no fd is left behind, and the next DRIVER_OK starts the
 *     device; SET_OWNER refused at start-up is exit status 1.
 * Where the host has a real /dev/vhost-net the stand-in is still used:
 * only it can show what was asked.  The test runs in a network namespace
 * of its own (the tap lives and dies there).
 */
#include <glib/gstdio.h>
#include <signal.h>
#include <stdlib.h>
#include <errno.h>
#include <string.h>
#include <unistd.h>
#include <net/if.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <linux/ethtool.h>
#include <linux/sockios.h>
#include <linux/virtio_config.h>
#include <linux/virtio_ids.h>
#include <linux/virtio_net.h>

#include <arpa/inet.h>
#include <linux/if_ether.h>
#include <linux/if_packet.h>
#include <poll.h>

#include "libqmp.h"
#include "libqtest.h"
#include "virtio-mmio-driver.h"

#define BIT(n)          (1ULL << (n))
#define TIMEOUT_MS      10000
#define RAM_MIB         128
#define RAM_LOW         (16ULL << 20)
#define RAM_HIGH        (64ULL << 20)
/* The tap's offloads, never the kernel's business. */
#define OFFLOADS        (BIT(VIRTIO_NET_F_CSUM) | \
                         BIT(VIRTIO_NET_F_GUEST_CSUM) | \
                         BIT(VIRTIO_NET_F_GUEST_TSO4))
#define WANTED          (BIT(VIRTIO_F_VERSION_1) | BIT(VIRTIO_NET_F_MAC) | \
                         BIT(VIRTIO_NET_F_MRG_RXBUF) | OFFLOADS)
#define HDR_LEN         12

typedef struct Kt {
    char *dir, *trace, *stats, *qmp_path;
    QTestState *qts;
    QVirtioDevice dev;
    QGuestAlloc alloc;
    QVirtQueue *rx, *tx;
} Kt;

static char **trace_lines(Kt *t);
static int trace_find(char **lines, int from, const char *what);

/* --- kvmini under the stand-in ------------------------------------------ */

static const char *standin(void)
{
    const char *p = g_getenv("VHOST_STANDIN");

    if (!p || access(p, X_OK) != 0) {
        g_error("no vhost-standin ($VHOST_STANDIN)");
    }
    return p;
}

#define KT_NET_ARGS \
    "-m " G_STRINGIFY(RAM_MIB) " " \
    "-netdev tap,id=n0,ifname=kvt0,script=no,downscript=no,vhost=on " \
    "-device virtio-net-device,netdev=n0,id=net0,mac=52:54:00:aa:bb:cc"

/* kvmini under the stand-in with extra --fail knobs (NULL-terminated). */
static void kt_start(Kt *t, const char *const *fails)
{
    g_autoptr(GPtrArray) w = g_ptr_array_new();
    g_autoptr(GError) err = NULL;
    g_autofree char *args = NULL;

    memset(t, 0, sizeof(*t));
    t->dir = g_dir_make_tmp("vhost-kernel-XXXXXX", &err);
    g_assert_no_error(err);
    t->trace = g_build_filename(t->dir, "trace", NULL);
    t->stats = g_build_filename(t->dir, "stats", NULL);
    g_ptr_array_add(w, (char *)standin());
    g_ptr_array_add(w, "--trace");
    g_ptr_array_add(w, t->trace);
    g_ptr_array_add(w, "--stats");
    g_ptr_array_add(w, t->stats);
    for (const char *const *f = fails; f && *f; f++) {
        g_ptr_array_add(w, "--fail");
        g_ptr_array_add(w, (char *)*f);
    }
    g_ptr_array_add(w, "--");
    g_ptr_array_add(w, NULL);
    t->qmp_path = g_build_filename(t->dir, "qmp.sock", NULL);
    args = g_strdup_printf("%s -qmp unix:%s,server=on,wait=off",
                           KT_NET_ARGS, t->qmp_path);
    t->qts = qtest_init_wrapped((const char *const *)w->pdata, args);
    qguest_alloc_init(&t->alloc, RAM_LOW, RAM_HIGH);
    g_assert_true(qvirtio_mmio_probe(&t->dev, t->qts, 0));
    g_assert_cmpuint(t->dev.device_id, ==, VIRTIO_ID_NET);
}

static void kt_free_queues(Kt *t)
{
    g_clear_pointer(&t->rx, qvirtqueue_free);
    g_clear_pointer(&t->tx, qvirtqueue_free);
}

/* kvmini quits: the file it owned is given back (RESET_OWNER), then
 * closed. */
static void kt_stop(Kt *t)
{
    g_auto(GStrv) lines = NULL;
    int reset;

    kt_free_queues(t);
    qtest_quit(t->qts);
    lines = trace_lines(t);
    reset = trace_find(lines, 0, "RESET_OWNER -> 0");
    g_assert_cmpint(reset, >, trace_find(lines, 0, "SET_OWNER -> 0"));
    g_assert_cmpint(trace_find(lines, reset, "dev1 close"), >, reset);
    g_unlink(t->trace);
    g_unlink(t->stats);
    g_free(t->qmp_path);
    g_rmdir(t->dir);
    g_free(t->trace);
    g_free(t->stats);
    g_free(t->dir);
}

/* Reset, negotiate, RX and TX queues, DRIVER_OK. */
static void kt_driver_start(Kt *t)
{
    kt_free_queues(t);
    qvirtio_reset(&t->dev);
    g_assert_true(qvirtio_negotiate(&t->dev, WANTED));
    t->rx = qvirtqueue_setup(&t->dev, &t->alloc, 0, 0);
    t->tx = qvirtqueue_setup(&t->dev, &t->alloc, 1, 0);
    qvirtio_driver_ok(&t->dev);
}

/* What kvmini wrote on stderr so far. */
static char *kt_stderr(Kt *t)
{
    g_autofree char *path = g_build_filename(qtest_tmpdir(t->qts),
                                             "stderr.log", NULL);
    char *text = NULL;

    g_file_get_contents(path, &text, NULL, NULL);
    return text ? text : g_strdup("");
}

/* kvmini's pid: the stand-in's only child. */
static int kt_vmm_pid(Kt *t)
{
    g_autofree char *path = g_strdup_printf("/proc/%d/task/%d/children",
                                            qtest_pid(t->qts),
                                            qtest_pid(t->qts));
    g_autofree char *text = NULL;

    g_assert_true(g_file_get_contents(path, &text, NULL, NULL));
    g_assert_cmpint(atoi(text), >, 0);
    return atoi(text);
}

static unsigned kt_open_fds(Kt *t)
{
    g_autofree char *path = g_strdup_printf("/proc/%d/fd", kt_vmm_pid(t));
    GDir *d = g_dir_open(path, 0, NULL);
    unsigned n = 0;

    g_assert_nonnull(d);
    while (g_dir_read_name(d)) {
        n++;
    }
    g_dir_close(d);
    return n;
}

/* --- the trace ----------------------------------------------------------- */

static char **trace_lines(Kt *t)
{
    g_autofree char *text = NULL;

    g_assert_true(g_file_get_contents(t->trace, &text, NULL, NULL));
    return g_strsplit(text, "\n", -1);
}

/* Index of the first line from `from` containing every word of `what`
 * (space-separated substrings), or -1. */
static int trace_find(char **lines, int from, const char *what)
{
    g_auto(GStrv) words = g_strsplit(what, " ", -1);

    for (int i = MAX(from, 0); lines[i]; i++) {
        bool all = true;

        for (char **w = words; *w && all; w++) {
            all = strstr(lines[i], *w) != NULL;
        }
        if (all) {
            return i;
        }
    }
    return -1;
}

/* Wait until the trace has a line with what (after line from). */
static int trace_wait(Kt *t, int from, const char *what)
{
    for (int waited = 0; waited < TIMEOUT_MS; waited += 10) {
        g_auto(GStrv) lines = trace_lines(t);
        int i = trace_find(lines, from, what);

        if (i >= 0) {
            return i;
        }
        g_usleep(10000);
    }
    g_error("the stand-in never served '%s'", what);
}

/* "key=0x..." or "key=N" of line. */
static uint64_t trace_value(const char *line, const char *key)
{
    g_autofree char *pat = g_strdup_printf(" %s=", key);
    const char *p = strstr(line, pat);

    g_assert_nonnull(p);
    return g_ascii_strtoull(p + strlen(pat), NULL, 0);
}

static unsigned trace_count(char **lines, int from, const char *what)
{
    unsigned n = 0;

    for (int i = trace_find(lines, from, what); i >= 0;
         i = trace_find(lines, i + 1, what)) {
        n++;
    }
    return n;
}

/* --- the checks ---------------------------------------------------------- */

/* Ring `index` (0 RX, 1 TX) was set up as the driver laid it out. */
static void check_ring(char **lines, int from, QVirtQueue *vq)
{
    g_autofree char *num = g_strdup_printf("SET_VRING_NUM index=%u num=%u",
                                           vq->index, vq->num);
    g_autofree char *base = g_strdup_printf("SET_VRING_BASE index=%u num=0",
                                            vq->index);
    g_autofree char *addr = g_strdup_printf("SET_VRING_ADDR index=%u ",
                                            vq->index);
    g_autofree char *kick = g_strdup_printf("SET_VRING_KICK index=%u "
                                            "(eventfd) -> 0", vq->index);
    g_autofree char *call = g_strdup_printf("SET_VRING_CALL index=%u "
                                            "(eventfd) -> 0", vq->index);
    int a = trace_find(lines, from, addr);

    g_assert_cmpint(trace_find(lines, from, num), >=, 0);
    g_assert_cmpint(trace_find(lines, from, base), >=, 0);
    g_assert_cmpint(a, >=, 0);
    /* Host addresses, laid out as the guest-physical ones. */
    g_assert_cmphex(trace_value(lines[a], "avail") -
                    trace_value(lines[a], "desc"), ==, vq->avail - vq->desc);
    g_assert_cmphex(trace_value(lines[a], "used") -
                    trace_value(lines[a], "desc"), ==, vq->used - vq->desc);
    g_assert_cmphex(trace_value(lines[a], "log"), ==, vq->used);
    g_assert_cmphex(trace_value(lines[a], "flags"), ==, 0);   /* no log */
    g_assert_cmpint(trace_find(lines, from, kick), >=, 0);
    g_assert_cmpint(trace_find(lines, from, call), >=, 0);
}

/* Both rings have their tap; return the line of the second attach. */
static int wait_attached(Kt *t, int from)
{
    trace_wait(t, from, "NET_SET_BACKEND index=0 (tap) -> 0");
    return trace_wait(t, from, "NET_SET_BACKEND index=1 (tap) -> 0");
}

/* The tap's host end up: a down tap refuses frames (EIO), as the
 * kernel's vhost-net then drops what the guest sends. */
static void tap_up(const char *name)
{
    struct ifreq ifr = { 0 };
    int s = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);

    g_assert_cmpint(s, >=, 0);
    g_strlcpy(ifr.ifr_name, name, sizeof(ifr.ifr_name));
    g_assert_cmpint(ioctl(s, SIOCGIFFLAGS, &ifr), ==, 0);
    ifr.ifr_flags |= IFF_UP;
    g_assert_cmpint(ioctl(s, SIOCSIFFLAGS, &ifr), ==, 0);
    close(s);
}

/* ETHTOOL_GTXCSUM / ETHTOOL_GTSO of a tap: what TUNSETOFFLOAD set. */
static bool tap_offload(const char *name, uint32_t cmd)
{
    struct ethtool_value v = { .cmd = cmd };
    struct ifreq ifr = { .ifr_data = (void *)&v };
    int s = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);

    g_assert_cmpint(s, >=, 0);
    g_strlcpy(ifr.ifr_name, name, sizeof(ifr.ifr_name));
    g_assert_cmpint(ioctl(s, SIOCETHTOOL, &ifr), ==, 0);
    close(s);
    return v.data;
}

/* One frame of len bytes on TX; the stand-in counts it. */
static void send_frame(Kt *t, size_t len)
{
    uint8_t buf[HDR_LEN + 64] = { 0 };
    uint64_t gpa = qguest_alloc(&t->alloc, sizeof(buf), 16);
    QVirtqBuf b = { .gpa = gpa, .len = HDR_LEN + len };
    uint32_t head, used_len;

    memset(buf + HDR_LEN, 0xff, 6);             /* broadcast */
    buf[HDR_LEN + 6] = 0x52;                    /* a local source */
    buf[HDR_LEN + 12] = 0x88;                   /* local experimental */
    buf[HDR_LEN + 13] = 0xb5;
    qvirtio_memwrite(&t->dev, gpa, buf, b.len);
    qvirtqueue_add(t->tx, &b, 1);
    qvirtqueue_kick(t->tx);
    g_assert_true(qvirtqueue_wait_used(t->tx, &head, &used_len,
                                       TIMEOUT_MS));
}

static void test_start_stop(void)
{
    Kt t;
    g_auto(GStrv) lines = NULL;
    g_autofree char *stats = NULL;
    int owner, feat, mem, attached, detach0, detach1, base0, base1;

    kt_start(&t, NULL);
    kt_driver_start(&t);
    attached = wait_attached(&t, 0);
    lines = trace_lines(&t);
    owner = trace_find(lines, 0, "SET_OWNER -> 0");
    feat = trace_find(lines, 0, "SET_FEATURES features=");
    mem = trace_find(lines, 0, "SET_MEM_TABLE nregions=1 [gpa=0x0 ");
    g_assert_cmpint(owner, >=, 0);
    g_assert_cmpint(trace_find(lines, owner, "GET_FEATURES"), >, owner);
    g_assert_cmpint(feat, >, owner);
    /* The driver's bits the kernel has a say in; nothing it did not
     * accept (MAC is the device's own, the offloads the tap's: offered,
     * accepted, set on the tap, not told to the kernel). */
    g_assert_cmphex(t.dev.features & OFFLOADS, ==, OFFLOADS);
    g_assert_cmphex(trace_value(lines[feat], "features"), ==,
                    t.dev.features & ~(BIT(VIRTIO_NET_F_MAC) | OFFLOADS));
    g_assert_true(tap_offload("kvt0", ETHTOOL_GTXCSUM));
    g_assert_true(tap_offload("kvt0", ETHTOOL_GTSO));
    g_assert_cmpint(mem, >, feat);
    g_assert_cmphex(trace_value(strstr(lines[mem], "["), "size"), ==,
                    (uint64_t)RAM_MIB << 20);
    check_ring(lines, mem, t.rx);
    check_ring(lines, mem, t.tx);
    g_assert_cmpint(trace_find(lines, 0, "SET_VRING_CALL index=1"), <,
                    trace_find(lines, 0, "NET_SET_BACKEND"));

    tap_up("kvt0");
    send_frame(&t, 60);
    kt_free_queues(&t);
    qvirtio_reset(&t.dev);
    base1 = trace_wait(&t, attached, "GET_VRING_BASE index=1");
    base0 = trace_wait(&t, attached, "GET_VRING_BASE index=0");
    g_strfreev(lines);
    lines = trace_lines(&t);
    detach0 = trace_find(lines, attached, "NET_SET_BACKEND index=0 fd=-1");
    detach1 = trace_find(lines, attached, "NET_SET_BACKEND index=1 fd=-1");
    g_assert_cmpint(detach0, >, attached);
    g_assert_cmpint(detach1, >, attached);
    g_assert_cmpint(MAX(detach0, detach1), <, MIN(base0, base1));
    g_assert_cmpuint(trace_value(lines[base1], "num"), ==, 1);
    kill(qtest_pid(t.qts), SIGUSR1);            /* stats now */
    for (int i = 0; i < 100 && !strstr(stats ? stats : "", "tx_frames=1 ");
         i++) {
        g_clear_pointer(&stats, g_free);
        g_usleep(10000);
        g_file_get_contents(t.stats, &stats, NULL, NULL);
    }
    if (!strstr(stats ? stats : "", "tx_frames=1 ")) {
        g_error("stand-in stats:\n%s", stats ? stats : "(none)");
    }
    kt_stop(&t);
}

/* One request refused on two starts in a row (the calls are counted
 * over the whole run: a start refused at ring 1 made the ring 0 call
 * too), then the third start goes through. */
typedef struct FailCase {
    const char *name;
    const char *knobs[3];       /* --fail NAME@N=ERRNO, NULL-terminated */
    const char *logged;         /* in kvmini's error line */
} FailCase;

static const FailCase fail_cases[] = {
    { "mem-table-efault",
      { "SET_MEM_TABLE@1=EFAULT", "SET_MEM_TABLE@2=EFAULT" },
      "VHOST_SET_MEM_TABLE: Bad address" },
    { "vring-num-enobufs",
      { "SET_VRING_NUM@1=ENOBUFS", "SET_VRING_NUM@2=ENOBUFS" },
      "VHOST_SET_VRING_NUM (queue 0): No buffer space available" },
    { "vring-addr-efault",
      { "SET_VRING_ADDR@2=EFAULT", "SET_VRING_ADDR@4=EFAULT" },
      "VHOST_SET_VRING_ADDR (queue 1): Bad address" },
    /* Ring 0 attached, ring 1 refused, both detached: 4 calls a start. */
    { "set-backend-eperm",
      { "NET_SET_BACKEND@2=EPERM", "NET_SET_BACKEND@6=EPERM" },
      "VHOST_NET_SET_BACKEND (queue 1): Operation not permitted" },
};

/* Wait until kvmini's stderr has n lines containing text. */
static void wait_stderr(Kt *t, const char *text, unsigned n)
{
    for (int waited = 0; waited < TIMEOUT_MS; waited += 10) {
        g_autofree char *err = kt_stderr(t);
        g_auto(GStrv) lines = g_strsplit(err, "\n", -1);
        unsigned found = 0;

        for (char **l = lines; *l; l++) {
            found += strstr(*l, text) != NULL;
        }
        if (found >= n) {
            g_test_message("kvmini: %s", err);
            return;
        }
        g_usleep(10000);
    }
    g_error("kvmini never logged '%s' %u times; stderr:\n%s", text, n,
            kt_stderr(t));
}

/* Every ring that got the tap lost it again. */
static void check_detached(Kt *t)
{
    g_auto(GStrv) lines = trace_lines(t);

    g_assert_cmpuint(trace_count(lines, 0, "NET_SET_BACKEND (tap) -> 0"),
                     <=, trace_count(lines, 0, "NET_SET_BACKEND fd=-1"));
}

static int trace_len(Kt *t)
{
    g_auto(GStrv) lines = trace_lines(t);

    return (int)g_strv_length(lines);
}

/* A refused start is logged, leaves no ring attached and no fd behind
 * (a second refusal leaves as many fds as the first; after a start that
 * goes through and a reset, too); kvmini runs on. */
static void test_fail_reply(gconstpointer data)
{
    const FailCase *c = data;
    unsigned fds;
    int mark;
    Kt t;

    kt_start(&t, c->knobs);
    kt_driver_start(&t);
    wait_stderr(&t, c->logged, 1);
    g_assert_cmphex(qvirtio_readl(&t.dev, 0), ==, 0x74726976);  /* alive */
    check_detached(&t);
    fds = kt_open_fds(&t);

    kt_driver_start(&t);
    wait_stderr(&t, c->logged, 2);
    check_detached(&t);
    g_assert_cmpuint(kt_open_fds(&t), ==, fds);

    mark = trace_len(&t) - 1;
    kt_driver_start(&t);                        /* the knobs are spent */
    wait_attached(&t, mark);
    kt_free_queues(&t);
    qvirtio_reset(&t.dev);
    trace_wait(&t, mark, "GET_VRING_BASE index=0");
    check_detached(&t);
    g_assert_cmpuint(kt_open_fds(&t), ==, fds);
    kt_stop(&t);
}

/* SET_OWNER refused: the device cannot be created, kvmini exits 1 with
 * one line naming the request. */
static void test_owner_refused(void)
{
    g_autofree char *cmd = g_strdup_printf(
        "'%s' --fail SET_OWNER=EPERM -- '%s' -accel qtest "
        "-qtest unix:/nonexistent/kvmini.sock %s", standin(),
        qtest_kvmini_binary(), KT_NET_ARGS);
    g_auto(GStrv) argv = NULL;
    g_autofree char *out = NULL, *err = NULL;
    g_autoptr(GError) error = NULL;
    int wstatus;

    g_assert_true(g_shell_parse_argv(cmd, NULL, &argv, &error));
    g_assert_true(g_spawn_sync(NULL, argv, NULL, G_SPAWN_DEFAULT, NULL,
                               NULL, &out, &err, &wstatus, &error));
    g_test_message("%s -> %d: %s", cmd, wstatus, err);
    g_assert_true(WIFEXITED(wstatus));
    g_assert_cmpint(WEXITSTATUS(wstatus), ==, 1);
    g_assert_true(g_str_has_prefix(err, "kvmini: "));
    g_assert_true(strchr(err, '\n') == err + strlen(err) - 1);
    g_assert_nonnull(strstr(err, "VHOST_SET_OWNER: Operation not "
                                 "permitted"));
}

/* announce-self: a RARP frame with the device's MAC comes out of the tap
 * (kvmini writes it; vhost-net has no way to send one). */
static void test_announce(void)
{
    static const uint8_t mac[6] = { 0x52, 0x54, 0x00, 0xaa, 0xbb, 0xcc };
    struct sockaddr_ll sll = {
        .sll_family = AF_PACKET, .sll_protocol = htons(ETH_P_RARP),
    };
    uint8_t f[128];
    QmpClient *c;
    ssize_t n;
    int s;
    Kt t;

    kt_start(&t, NULL);
    tap_up("kvt0");
    s = socket(AF_PACKET, SOCK_RAW | SOCK_CLOEXEC, htons(ETH_P_RARP));
    g_assert_cmpint(s, >=, 0);
    sll.sll_ifindex = if_nametoindex("kvt0");
    g_assert_cmpint(bind(s, (struct sockaddr *)&sll, sizeof(sll)), ==, 0);
    c = qmp_connect(t.qmp_path);
    qmp_negotiate(c);
    json_node_unref(qmp_cmd_ok(c, "{\"execute\": \"announce-self\"}"));
    g_assert_true(poll(&(struct pollfd) { .fd = s, .events = POLLIN }, 1,
                       TIMEOUT_MS) == 1);
    n = recv(s, f, sizeof(f), 0);
    g_assert_cmpint(n, ==, 60);
    g_assert_cmpmem(f + 6, 6, mac, 6);                  /* source */
    g_assert_cmphex(f[12] << 8 | f[13], ==, ETH_P_RARP);
    g_assert_cmphex(f[21], ==, 3);                      /* reverse request */
    g_assert_cmpmem(f + 22, 6, mac, 6);                 /* sender */
    g_assert_cmpmem(f + 32, 6, mac, 6);                 /* target */
    close(s);
    qmp_close(c);
    kt_stop(&t);
}

int main(int argc, char **argv)
{
    g_test_init(&argc, &argv, NULL);
    if (!qtest_enter_netns()) {
        return 77;
    }
    g_test_add_func("/vhost-kernel/start-stop", test_start_stop);
    g_test_add_func("/vhost-kernel/owner-refused", test_owner_refused);
    g_test_add_func("/vhost-kernel/announce", test_announce);
    for (size_t i = 0; i < G_N_ELEMENTS(fail_cases); i++) {
        g_autofree char *path = g_strdup_printf("/vhost-kernel/fail/%s",
                                                fail_cases[i].name);

        g_test_add_data_func(path, &fail_cases[i], test_fail_reply);
    }
    return g_test_run();
}
