/* SPDX-License-Identifier: MIT */
/*
 * The chardev layer in chardev/ without /dev/kvm: the test plays the
 * peer of unix sockets in a temporary directory and drives the glib main
 * loop itself (g_main_context_iteration), so every event is checked for
 * when it arrives as well as what it carries.  Covered: the server socket
 * (mode 0600, OPENED/CLOSED, data both ways, one peer at a time, a new
 * peer after a hang-up), SCM_RIGHTS in both directions, synchronous reads
 * with a timeout, the hang-up-only watch of event-only frontends (also
 * for a half-closed peer), a dial to a server whose queue is full,
 * qemu_chr_fe_disconnect() delivering CLOSED later, client reconnect,
 * qemu_chr_wait_connected(), option errors, the file backend and fd leaks.
 */
#include "chardev/char.h"

#include <errno.h>
#include <fcntl.h>
#include <glib/gstdio.h>
#include <poll.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#define WAIT_MS 2000

/* Run the main loop until cond holds or ms pass. */
#define PUMP_UNTIL(cond, ms)                                               \
    do {                                                                   \
        gint64 end_ = g_get_monotonic_time() + (gint64)(ms) * 1000;        \
        while (!(cond) && g_get_monotonic_time() < end_) {                 \
            if (!g_main_context_iteration(NULL, FALSE)) {                  \
                g_usleep(1000);                                            \
            }                                                              \
        }                                                                  \
    } while (0)

static unsigned initial_fds;

typedef struct Fixture {
    char *dir;
    char *path;             /* dir/chr.sock */
    Chardev *chr;
    GString *events;        /* 'O' per OPENED, 'C' per CLOSED, in order */
    GByteArray *rx;         /* bytes through the receive callback */
    bool in_call;           /* inside a chardev call that must not notify */
    unsigned events_in_call;
} Fixture;

static void fe_receive(void *opaque, const uint8_t *buf, size_t len)
{
    Fixture *f = opaque;

    g_byte_array_append(f->rx, buf, len);
}

static void fe_event(void *opaque, ChrEvent event)
{
    Fixture *f = opaque;

    g_string_append_c(f->events, event == CHR_EVENT_OPENED ? 'O' : 'C');
    if (f->in_call) {
        f->events_in_call++;
    }
}

static void fixture_setup(Fixture *f, gconstpointer data)
{
    f->dir = g_dir_make_tmp("test-chardev-XXXXXX", NULL);
    g_assert_nonnull(f->dir);
    f->path = g_build_filename(f->dir, "chr.sock", NULL);
    f->events = g_string_new("");
    f->rx = g_byte_array_new();
}

static void fixture_teardown(Fixture *f, gconstpointer data)
{
    g_autoptr(GDir) dir = g_dir_open(f->dir, 0, NULL);
    const char *name;

    qemu_chr_free(f->chr);
    while (dir && (name = g_dir_read_name(dir))) {
        g_autofree char *p = g_build_filename(f->dir, name, NULL);
        g_unlink(p);
    }
    g_rmdir(f->dir);
    g_free(f->dir);
    g_free(f->path);
    g_string_free(f->events, TRUE);
    g_byte_array_unref(f->rx);
    /* Nothing of a freed chardev may stay on the main loop. */
    g_assert_false(g_main_context_pending(NULL));
}

/* --- helpers ------------------------------------------------------------ */

static Chardev *chr_new(const char *fmt, const char *path)
{
    g_autofree char *opts = g_strdup_printf(fmt, path);
    Error *err = NULL;
    Chardev *chr = qemu_chr_new_from_opts(opts, NULL, &err);

    g_assert_null(err);
    g_assert_nonnull(chr);
    return chr;
}

/* The error message of a chardev that must fail to open. */
static char *chr_new_error(const char *fmt, const char *path)
{
    g_autofree char *opts = g_strdup_printf(fmt, path);
    Error *err = NULL;

    g_assert_null(qemu_chr_new_from_opts(opts, NULL, &err));
    g_assert_nonnull(err);
    char *msg = g_strdup(error_get_pretty(err));
    error_free(err);
    return msg;
}

static void fill_sa(struct sockaddr_un *sa, const char *path)
{
    memset(sa, 0, sizeof(*sa));
    sa->sun_family = AF_UNIX;
    g_assert_cmpuint(strlen(path), <, sizeof(sa->sun_path));
    strcpy(sa->sun_path, path);
}

static int unix_connect(const char *path)
{
    struct sockaddr_un sa;
    int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);

    fill_sa(&sa, path);
    g_assert_cmpint(fd, >=, 0);
    g_assert_cmpint(connect(fd, (struct sockaddr *)&sa, sizeof(sa)), ==, 0);
    return fd;
}

static int unix_listen(const char *path)
{
    struct sockaddr_un sa;
    int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);

    fill_sa(&sa, path);
    g_assert_cmpint(fd, >=, 0);
    g_assert_cmpint(bind(fd, (struct sockaddr *)&sa, sizeof(sa)), ==, 0);
    g_assert_cmpint(listen(fd, 4), ==, 0);
    return fd;
}

/* Non-blocking accept for PUMP_UNTIL: true once *afd is a connection. */
static bool try_accept(int lfd, int *afd)
{
    if (*afd < 0) {
        *afd = accept4(lfd, NULL, NULL, SOCK_CLOEXEC);
    }
    return *afd >= 0;
}

/* The peer of fd closed its end (EOF without blocking). */
static bool peer_closed(int fd)
{
    char c;

    return recv(fd, &c, 1, MSG_DONTWAIT | MSG_PEEK) == 0;
}

/* Read exactly len bytes from the test's end, at most WAIT_MS. */
static void read_exact(int fd, void *buf, size_t len)
{
    size_t done = 0;

    while (done < len) {
        struct pollfd pfd = { .fd = fd, .events = POLLIN };

        g_assert_cmpint(poll(&pfd, 1, WAIT_MS), ==, 1);
        ssize_t n = read(fd, (char *)buf + done, len - done);
        g_assert_cmpint(n, >, 0);
        done += n;
    }
}

static void send_str(int fd, const char *s)
{
    g_assert_cmpint(write(fd, s, strlen(s)), ==, strlen(s));
}

/* kvmini -> test and test -> kvmini over connection cfd. */
static void check_data_both_ways(Fixture *f, int cfd, const char *out,
                                 const char *in)
{
    char buf[64] = "";

    g_assert_cmpint(qemu_chr_write_all(f->chr, (const uint8_t *)out,
                                       strlen(out)), ==, strlen(out));
    read_exact(cfd, buf, strlen(out));
    g_assert_cmpstr(buf, ==, out);

    g_byte_array_set_size(f->rx, 0);
    send_str(cfd, in);
    PUMP_UNTIL(f->rx->len >= strlen(in), WAIT_MS);
    g_assert_cmpmem(f->rx->data, f->rx->len, in, strlen(in));
}

/* A server chardev at f->path with a connected client, both handlers
 * set unless event_only; returns the client's end. */
static int server_with_client(Fixture *f, bool event_only)
{
    f->chr = chr_new("socket,id=s,path=%s,server=on,wait=off", f->path);
    qemu_chr_fe_set_handlers(f->chr, event_only ? NULL : fe_receive,
                             fe_event, f);
    int cfd = unix_connect(f->path);
    PUMP_UNTIL(f->events->len == 1, WAIT_MS);
    g_assert_cmpstr(f->events->str, ==, "O");
    g_assert_true(qemu_chr_is_connected(f->chr));
    return cfd;
}

static void eventfds_new(int *fds, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        fds[i] = eventfd(0, EFD_CLOEXEC);
        g_assert_cmpint(fds[i], >=, 0);
    }
}

static void fds_close(int *fds, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        close(fds[i]);
    }
}

/* a[i] and b[i] are the same eventfd: a count written through one is
 * read through the other. */
static void check_same_eventfds(const int *a, const int *b, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        uint64_t v = 100 + i, got = 0;

        g_assert_cmpint(a[i], !=, b[i]);
        g_assert_cmpint(write(a[i], &v, 8), ==, 8);
        g_assert_cmpint(read(b[i], &got, 8), ==, 8);
        g_assert_cmpuint(got, ==, 100 + i);
    }
}

static unsigned count_fds(void)
{
    g_autoptr(GDir) dir = g_dir_open("/proc/self/fd", 0, NULL);
    unsigned n = 0;

    g_assert_nonnull(dir);
    while (g_dir_read_name(dir)) {
        n++;
    }
    return n;
}

/* --- server socket ------------------------------------------------------- */

static void test_server_basic(Fixture *f, gconstpointer data)
{
    struct stat st;

    f->chr = chr_new("socket,id=s,path=%s,server=on,wait=off", f->path);
    g_assert_cmpint(stat(f->path, &st), ==, 0);
    g_assert_true(S_ISSOCK(st.st_mode));
    g_assert_cmpint(st.st_mode & 07777, ==, 0600);
    g_assert_false(qemu_chr_is_connected(f->chr));
    qemu_chr_fe_set_handlers(f->chr, fe_receive, fe_event, f);
    g_assert_cmpstr(f->events->str, ==, "");

    /* OPENED comes from the main loop, not from connect(). */
    int cfd = unix_connect(f->path);
    g_assert_cmpstr(f->events->str, ==, "");
    PUMP_UNTIL(f->events->len == 1, WAIT_MS);
    g_assert_cmpstr(f->events->str, ==, "O");
    g_assert_true(qemu_chr_is_connected(f->chr));
    check_data_both_ways(f, cfd, "hello", "ping");

    /* Writing to a peer that just left fails with EPIPE (no SIGPIPE);
     * the hang-up itself is noticed on the main loop. */
    close(cfd);
    g_assert_cmpint(qemu_chr_write_all(f->chr, (const uint8_t *)"x", 1),
                    ==, -EPIPE);
    PUMP_UNTIL(f->events->len == 2, WAIT_MS);
    g_assert_cmpstr(f->events->str, ==, "OC");
    g_assert_false(qemu_chr_is_connected(f->chr));
    g_assert_cmpint(qemu_chr_write_all(f->chr, (const uint8_t *)"x", 1),
                    ==, -ENOTCONN);

    /* The next client is served. */
    cfd = unix_connect(f->path);
    PUMP_UNTIL(f->events->len == 3, WAIT_MS);
    g_assert_cmpstr(f->events->str, ==, "OCO");
    check_data_both_ways(f, cfd, "again", "pong");
    close(cfd);
    PUMP_UNTIL(f->events->len == 4, WAIT_MS);
    g_assert_cmpstr(f->events->str, ==, "OCOC");

    /* Closing the server removes its socket file. */
    qemu_chr_free(f->chr);
    f->chr = NULL;
    g_assert_cmpint(stat(f->path, &st), ==, -1);
    g_assert_cmpint(errno, ==, ENOENT);
}

static void test_server_one_peer(Fixture *f, gconstpointer data)
{
    int c1 = server_with_client(f, false);
    int c2 = unix_connect(f->path);

    /* kvmini accepts and closes the second; the first is undisturbed. */
    PUMP_UNTIL(peer_closed(c2), WAIT_MS);
    g_assert_true(peer_closed(c2));
    g_assert_cmpstr(f->events->str, ==, "O");
    g_assert_true(qemu_chr_is_connected(f->chr));
    check_data_both_ways(f, c1, "first", "still here");
    close(c2);

    close(c1);
    PUMP_UNTIL(f->events->len == 2, WAIT_MS);
    g_assert_cmpstr(f->events->str, ==, "OC");
}

/* --- fd passing ---------------------------------------------------------- */

/* Receive one message with up to 16 fds; returns the fd count. */
static size_t recv_with_fds(int fd, char *buf, size_t len, ssize_t *n,
                            int *fds)
{
    char control[CMSG_SPACE(sizeof(int) * 16)];
    struct iovec iov = { .iov_base = buf, .iov_len = len };
    struct msghdr msg = {
        .msg_iov = &iov, .msg_iovlen = 1,
        .msg_control = control, .msg_controllen = sizeof(control),
    };
    size_t nfds = 0;

    *n = recvmsg(fd, &msg, MSG_CMSG_CLOEXEC);
    g_assert_false(msg.msg_flags & MSG_CTRUNC);
    for (struct cmsghdr *c = CMSG_FIRSTHDR(&msg); c; c = CMSG_NXTHDR(&msg, c)) {
        g_assert_cmpint(c->cmsg_level, ==, SOL_SOCKET);
        g_assert_cmpint(c->cmsg_type, ==, SCM_RIGHTS);
        size_t k = (c->cmsg_len - CMSG_LEN(0)) / sizeof(int);
        memcpy(fds + nfds, CMSG_DATA(c), k * sizeof(int));
        nfds += k;
    }
    return nfds;
}

static void send_with_fds(int fd, const char *s, const int *fds, size_t nfds)
{
    char control[CMSG_SPACE(sizeof(int) * 16)] = { 0 };
    struct iovec iov = { .iov_base = (void *)s, .iov_len = strlen(s) };
    struct msghdr msg = {
        .msg_iov = &iov, .msg_iovlen = 1,
        .msg_control = control,
        .msg_controllen = CMSG_SPACE(sizeof(int) * nfds),
    };
    struct cmsghdr *c = CMSG_FIRSTHDR(&msg);

    c->cmsg_level = SOL_SOCKET;
    c->cmsg_type = SCM_RIGHTS;
    c->cmsg_len = CMSG_LEN(sizeof(int) * nfds);
    memcpy(CMSG_DATA(c), fds, sizeof(int) * nfds);
    g_assert_cmpint(sendmsg(fd, &msg, 0), ==, strlen(s));
}

static void test_fds_to_peer(Fixture *f, gconstpointer data)
{
    int cfd = server_with_client(f, true);
    int mine[10], got[16];
    char buf[16] = "";
    ssize_t n;

    eventfds_new(mine, 10);
    g_assert_cmpint(qemu_chr_write_all_fds(f->chr, (const uint8_t *)"FDS!", 4,
                                           mine, 10), ==, 4);
    g_assert_cmpuint(recv_with_fds(cfd, buf, sizeof(buf), &n, got), ==, 10);
    g_assert_cmpint(n, ==, 4);
    g_assert_cmpstr(buf, ==, "FDS!");
    check_same_eventfds(got, mine, 10);     /* peer writes, we read */
    check_same_eventfds(mine, got, 10);     /* and the other way */
    fds_close(got, 10);

    /* More than one message can carry (32) is refused, nothing sent. */
    int many[33];
    for (size_t i = 0; i < G_N_ELEMENTS(many); i++) {
        many[i] = mine[0];
    }
    g_assert_cmpint(qemu_chr_write_all_fds(f->chr, (const uint8_t *)"!", 1,
                                           many, 33), ==, -EINVAL);
    g_assert_false(peer_closed(cfd));
    g_assert_cmpint(recv(cfd, buf, 1, MSG_DONTWAIT), ==, -1);
    g_assert_cmpint(errno, ==, EAGAIN);
    fds_close(mine, 10);
    close(cfd);
}

static void test_fds_from_peer(Fixture *f, gconstpointer data)
{
    int cfd = server_with_client(f, true);
    int theirs[9], got[9];
    uint8_t buf[8] = "";

    eventfds_new(theirs, 9);
    send_with_fds(cfd, "nine", theirs, 9);
    g_assert_cmpint(qemu_chr_read_all_timeout(f->chr, buf, 4, WAIT_MS), ==, 4);
    g_assert_cmpmem(buf, 4, "nine", 4);
    for (size_t i = 0; i < 9; i++) {
        got[i] = qemu_chr_get_msgfd(f->chr);
        g_assert_cmpint(got[i], >=, 0);
        g_assert_cmpint(fcntl(got[i], F_GETFD), ==, FD_CLOEXEC);
    }
    g_assert_cmpint(qemu_chr_get_msgfd(f->chr), ==, -1);
    check_same_eventfds(theirs, got, 9);    /* in the order they were sent */

    /* fds never taken are closed by qemu_chr_drop_msgfds(). */
    send_with_fds(cfd, "more", theirs, 3);
    g_assert_cmpint(qemu_chr_read_all_timeout(f->chr, buf, 4, WAIT_MS), ==, 4);
    qemu_chr_drop_msgfds(f->chr);
    g_assert_cmpint(qemu_chr_get_msgfd(f->chr), ==, -1);

    fds_close(got, 9);
    fds_close(theirs, 9);
    close(cfd);
}

/* --- synchronous reads, hang-up watch, disconnect ------------------------ */

static void test_read_timeout(Fixture *f, gconstpointer data)
{
    int cfd = server_with_client(f, true);
    uint8_t buf[4];
    gint64 t0 = g_get_monotonic_time();

    g_assert_cmpint(qemu_chr_read_all_timeout(f->chr, buf, 4, 100), ==,
                    -ETIMEDOUT);
    gint64 ms = (g_get_monotonic_time() - t0) / 1000;
    g_assert_cmpint(ms, >=, 95);
    g_assert_cmpint(ms, <, 1000);

    /* A reply in pieces is put together. */
    send_str(cfd, "ab");
    send_str(cfd, "cd");
    g_assert_cmpint(qemu_chr_read_all_timeout(f->chr, buf, 4, WAIT_MS), ==, 4);
    g_assert_cmpmem(buf, 4, "abcd", 4);

    /* Peer gone: 0, then CLOSED from the main loop. */
    close(cfd);
    g_assert_cmpint(qemu_chr_read_all_timeout(f->chr, buf, 4, WAIT_MS), ==, 0);
    g_assert_cmpstr(f->events->str, ==, "O");
    PUMP_UNTIL(f->events->len == 2, WAIT_MS);
    g_assert_cmpstr(f->events->str, ==, "OC");
    g_assert_cmpint(qemu_chr_read_all_timeout(f->chr, buf, 4, 100), ==,
                    -ENOTCONN);
}

static void test_hup_watch(Fixture *f, gconstpointer data)
{
    int cfd = server_with_client(f, true);
    int fds[2];
    unsigned wakeups = 0;

    /* Unread data (with fds) must not wake an event-only frontend. */
    eventfds_new(fds, 2);
    send_with_fds(cfd, "unread", fds, 2);
    fds_close(fds, 2);
    for (int i = 0; i < 100; i++) {
        wakeups += g_main_context_iteration(NULL, FALSE);
        g_usleep(500);
    }
    g_assert_cmpuint(wakeups, ==, 0);
    g_assert_cmpstr(f->events->str, ==, "O");

    close(cfd);
    PUMP_UNTIL(f->events->len == 2, WAIT_MS);
    g_assert_cmpstr(f->events->str, ==, "OC");
    g_assert_false(qemu_chr_is_connected(f->chr));
    g_assert_cmpint(qemu_chr_get_msgfd(f->chr), ==, -1);
}

/* A peer that only shuts its sending side down is gone for an
 * event-only frontend too (nothing more can come from it). */
static void test_hup_watch_half_close(Fixture *f, gconstpointer data)
{
    int cfd = server_with_client(f, true);

    g_assert_cmpint(shutdown(cfd, SHUT_WR), ==, 0);
    PUMP_UNTIL(f->events->len == 2, WAIT_MS);
    g_assert_cmpstr(f->events->str, ==, "OC");
    g_assert_false(qemu_chr_is_connected(f->chr));
    close(cfd);
}

/* A frontend that switches from a receive callback to event-only reads
 * synchronously: the main loop must not eat its replies. */
static void test_switch_to_event_only(Fixture *f, gconstpointer data)
{
    int cfd = server_with_client(f, false);
    uint8_t buf[5];

    qemu_chr_fe_set_handlers(f->chr, NULL, fe_event, f);
    send_str(cfd, "reply");
    for (int i = 0; i < 20; i++) {
        g_main_context_iteration(NULL, FALSE);
        g_usleep(500);
    }
    g_assert_cmpuint(f->rx->len, ==, 0);
    g_assert_cmpint(qemu_chr_read_all_timeout(f->chr, buf, 5, WAIT_MS), ==, 5);
    g_assert_cmpmem(buf, 5, "reply", 5);
    g_assert_cmpstr(f->events->str, ==, "O");
    close(cfd);
    PUMP_UNTIL(f->events->len == 2, WAIT_MS);
    g_assert_cmpstr(f->events->str, ==, "OC");
}

static void fe_disconnect_checked(Fixture *f)
{
    f->in_call = true;
    qemu_chr_fe_disconnect(f->chr);
    f->in_call = false;
    g_assert_cmpuint(f->events_in_call, ==, 0);
}

static void test_fe_disconnect(Fixture *f, gconstpointer data)
{
    int cfd = server_with_client(f, false);

    fe_disconnect_checked(f);
    g_assert_false(qemu_chr_is_connected(f->chr));
    g_assert_true(peer_closed(cfd));    /* dropped at once... */
    g_assert_cmpstr(f->events->str, ==, "O");
    fe_disconnect_checked(f);           /* twice: one CLOSED */
    PUMP_UNTIL(f->events->len == 2, WAIT_MS);   /* ...notified later */
    g_assert_cmpstr(f->events->str, ==, "OC");
    for (int i = 0; i < 10; i++) {
        g_main_context_iteration(NULL, FALSE);
    }
    g_assert_cmpstr(f->events->str, ==, "OC");
    fe_disconnect_checked(f);           /* not connected: nothing */
    close(cfd);

    cfd = unix_connect(f->path);
    PUMP_UNTIL(f->events->len == 3, WAIT_MS);
    g_assert_cmpstr(f->events->str, ==, "OCO");
    check_data_both_ways(f, cfd, "new", "peer");
    close(cfd);
    PUMP_UNTIL(f->events->len == 4, WAIT_MS);
    g_assert_cmpstr(f->events->str, ==, "OCOC");
}

/* The next peer is already waiting when the frontend disconnects: the
 * frontend must still see CLOSED for the old connection before OPENED. */
static void test_fe_disconnect_next_waiting(Fixture *f, gconstpointer data)
{
    int c1 = server_with_client(f, false);
    int c2 = unix_connect(f->path);     /* queued, not accepted yet */

    fe_disconnect_checked(f);
    PUMP_UNTIL(f->events->len == 3, WAIT_MS);
    g_assert_cmpstr(f->events->str, ==, "OCO");
    g_assert_true(peer_closed(c1));
    check_data_both_ways(f, c2, "second", "served");
    close(c1);
    close(c2);
    PUMP_UNTIL(f->events->len == 4, WAIT_MS);
    g_assert_cmpstr(f->events->str, ==, "OCOC");
}

/* Freed with the CLOSED of a disconnect still pending: nothing fires. */
static void test_fe_disconnect_then_free(Fixture *f, gconstpointer data)
{
    int cfd = server_with_client(f, false);

    qemu_chr_fe_disconnect(f->chr);
    g_assert_true(g_main_context_pending(NULL));
    qemu_chr_free(f->chr);
    f->chr = NULL;
    g_assert_false(g_main_context_pending(NULL));
    g_assert_cmpstr(f->events->str, ==, "O");
    close(cfd);
}

/* --- client reconnect ---------------------------------------------------- */

/* Listen at f->path and wait for the chardev to dial in (~2 s). */
static int accept_redial(Fixture *f, int lfd, const char *want)
{
    gint64 t0 = g_get_monotonic_time();
    int afd = -1;

    PUMP_UNTIL(try_accept(lfd, &afd) && f->events->len == strlen(want), 3000);
    g_assert_cmpint(afd, >=, 0);
    g_assert_cmpstr(f->events->str, ==, want);
    g_assert_cmpint(g_get_monotonic_time() - t0, <, 2500 * 1000);
    g_assert_true(qemu_chr_is_connected(f->chr));
    return afd;
}

static void test_reconnect(Fixture *f, gconstpointer data)
{
    f->chr = chr_new("socket,id=r,path=%s,reconnect=1", f->path);
    qemu_chr_fe_set_handlers(f->chr, fe_receive, fe_event, f);
    g_assert_false(qemu_chr_is_connected(f->chr));
    PUMP_UNTIL(false, 200);
    g_assert_cmpstr(f->events->str, ==, "");

    int lfd = unix_listen(f->path);
    int afd = accept_redial(f, lfd, "O");
    check_data_both_ways(f, afd, "dialled", "welcome");

    close(afd);
    PUMP_UNTIL(f->events->len == 2, WAIT_MS);
    g_assert_cmpstr(f->events->str, ==, "OC");
    g_assert_false(qemu_chr_is_connected(f->chr));
    afd = accept_redial(f, lfd, "OCO");
    check_data_both_ways(f, afd, "back", "again");

    /* The frontend drops the backend (protocol error): CLOSED later, then
     * kvmini dials again by itself. */
    fe_disconnect_checked(f);
    g_assert_true(peer_closed(afd));
    close(afd);
    g_assert_cmpstr(f->events->str, ==, "OCO");
    afd = accept_redial(f, lfd, "OCOCO");

    qemu_chr_free(f->chr);
    f->chr = NULL;
    g_assert_true(peer_closed(afd));
    close(afd);
    close(lfd);
}

/* A server that never accepts, its listen queue full: connecting fails
 * at once with the reason instead of blocking the main loop. */
static void test_connect_queue_full(Fixture *f, gconstpointer data)
{
    struct sockaddr_un sa;
    int lfd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    int queued[4];
    unsigned n = 0;
    g_autofree char *err = NULL;
    gint64 t0;

    fill_sa(&sa, f->path);
    g_assert_cmpint(bind(lfd, (struct sockaddr *)&sa, sizeof(sa)), ==, 0);
    g_assert_cmpint(listen(lfd, 0), ==, 0);
    /* Fill the queue with non-blocking clients until one is refused. */
    for (; n < G_N_ELEMENTS(queued); n++) {
        queued[n] = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC |
                           SOCK_NONBLOCK, 0);
        if (connect(queued[n], (struct sockaddr *)&sa, sizeof(sa)) < 0) {
            g_assert_cmpint(errno, ==, EAGAIN);
            close(queued[n]);
            break;
        }
    }
    g_assert_cmpuint(n, <, G_N_ELEMENTS(queued));
    t0 = g_get_monotonic_time();
    err = chr_new_error("socket,id=q,path=%s", f->path);
    g_assert_cmpint(g_get_monotonic_time() - t0, <, 1000 * 1000);
    g_assert_nonnull(strstr(err, "the server does not accept connections"));
    for (unsigned i = 0; i < n; i++) {
        close(queued[i]);
    }
    close(lfd);
}

/* --- wait_connected, errors, file backend -------------------------------- */

static gpointer connect_later(gpointer path)
{
    g_usleep(100 * 1000);
    return GINT_TO_POINTER(unix_connect(path));
}

static void test_wait_connected(Fixture *f, gconstpointer data)
{
    char buf[8] = "";
    Error *err = NULL;

    f->chr = chr_new("socket,id=w,path=%s,server=on,wait=off", f->path);
    qemu_chr_fe_set_handlers(f->chr, NULL, fe_event, f);
    GThread *th = g_thread_new("connect", connect_later, f->path);
    gint64 t0 = g_get_monotonic_time();

    g_assert_true(qemu_chr_wait_connected(f->chr, &err));
    g_assert_null(err);
    g_assert_cmpint(g_get_monotonic_time() - t0, >=, 90 * 1000);
    g_assert_true(qemu_chr_is_connected(f->chr));
    g_assert_cmpstr(f->events->str, ==, "O");
    int cfd = GPOINTER_TO_INT(g_thread_join(th));
    g_assert_cmpint(qemu_chr_write_all(f->chr, (const uint8_t *)"up", 2), ==, 2);
    read_exact(cfd, buf, 2);
    g_assert_cmpstr(buf, ==, "up");
    /* Already connected: returns at once. */
    g_assert_true(qemu_chr_wait_connected(f->chr, &err));
    close(cfd);
    PUMP_UNTIL(f->events->len == 2, WAIT_MS);
    g_assert_cmpstr(f->events->str, ==, "OC");
}

/* server=on without wait=off: creation blocks until the first peer. */
static void test_server_wait_on(Fixture *f, gconstpointer data)
{
    GThread *th = g_thread_new("connect", connect_later, f->path);
    gint64 t0 = g_get_monotonic_time();

    /* connect_later() dials after 100 ms, long after the bind below. */
    f->chr = chr_new("socket,id=w,path=%s,server=on", f->path);
    g_assert_cmpint(g_get_monotonic_time() - t0, >=, 90 * 1000);
    g_assert_true(qemu_chr_is_connected(f->chr));
    int cfd = GPOINTER_TO_INT(g_thread_join(th));
    qemu_chr_fe_set_handlers(f->chr, fe_receive, fe_event, f);
    g_assert_cmpstr(f->events->str, ==, "O");
    check_data_both_ways(f, cfd, "waited", "for you");
    close(cfd);
    PUMP_UNTIL(f->events->len == 2, WAIT_MS);
    g_assert_cmpstr(f->events->str, ==, "OC");
}

/* -qtest/-qmp short form: unix:PATH,server=on,wait=off. */
static void test_simple_unix(Fixture *f, gconstpointer data)
{
    g_autofree char *spec = g_strdup_printf("unix:%s,server=on,wait=off",
                                            f->path);
    Error *err = NULL;

    f->chr = qemu_chr_new_simple("q", spec, NULL, &err);
    g_assert_null(err);
    g_assert_cmpstr(f->chr->id, ==, "q");
    qemu_chr_fe_set_handlers(f->chr, fe_receive, fe_event, f);
    int cfd = unix_connect(f->path);
    PUMP_UNTIL(f->events->len == 1, WAIT_MS);
    g_assert_cmpstr(f->events->str, ==, "O");
    check_data_both_ways(f, cfd, "qtest", "reply");
    close(cfd);
    PUMP_UNTIL(f->events->len == 2, WAIT_MS);

    g_assert_null(qemu_chr_new_simple("q", "tcp:1234", NULL, &err));
    g_assert_cmpstr(error_get_pretty(err), ==,
                    "unknown character device 'tcp:1234'");
    error_free(err);
}

static void check_error(const char *fmt, const char *path, const char *want)
{
    g_autofree char *msg = chr_new_error(fmt, path);
    g_autofree char *expect = g_strdup_printf(want, path);

    g_assert_cmpstr(msg, ==, expect);
}

static void test_errors(Fixture *f, gconstpointer data)
{
    g_autofree char *longpath = g_strnfill(120, 'x');

    check_error("socket,id=c,path=%s", f->path,
                "Failed to connect to '%s': No such file or directory");
    check_error("socket,id=c,path=%s,server=on,reconnect=1", f->path,
                "'reconnect' option is incompatible with 'server=on'");
    check_error("socket,id=c,path=%s,x=1", f->path, "Invalid parameter 'x'");
    check_error("socket,id=c,path=%s,server=maybe", f->path,
                "Parameter 'server' expects 'on' or 'off'");
    check_error("socket,path=%s", f->path, "chardev: no id specified");
    check_error("socket,id=c%s", "", "chardev: socket: no path given (only "
                "unix sockets are supported)");
    check_error("serial,id=c%s", "", "'serial' is not a valid char driver "
                "name");
    check_error("socket,id=c,path=%s,server=on", longpath,
                "UNIX socket path '%s' is too long");
    check_error("socket,id=c,path=%s/no/dir/s,server=on,wait=off", f->dir,
                "Failed to bind socket to '%s/no/dir/s': No such file or "
                "directory");
    check_error("file,id=c,path=%s/no/such/dir", f->dir,
                "Could not open '%s/no/such/dir': No such file or directory");
    /* A socket file nobody listens on: refused, not left half-open. */
    int fd = unix_listen(f->path);
    close(fd);
    check_error("socket,id=c,path=%s", f->path,
                "Failed to connect to '%s': Connection refused");
}

static char *file_contents(const char *path)
{
    char *s = NULL;

    g_assert_true(g_file_get_contents(path, &s, NULL, NULL));
    return s;
}

static void file_write(const char *optfmt, const char *path, const char *s)
{
    Chardev *chr = chr_new(optfmt, path);

    g_assert_cmpint(qemu_chr_write_all(chr, (const uint8_t *)s, strlen(s)),
                    ==, strlen(s));
    qemu_chr_free(chr);
}

static void test_file(Fixture *f, gconstpointer data)
{
    g_autofree char *out = g_build_filename(f->dir, "out.txt", NULL);
    g_autofree char *in = g_build_filename(f->dir, "in.txt", NULL);
    g_autofree char *comma = g_build_filename(f->dir, "a,b", NULL);
    g_autofree char *spec = g_strdup_printf("file:%s", comma);
    g_autofree char *s1 = NULL, *s2 = NULL, *s3 = NULL, *s4 = NULL;

    file_write("file,id=f,path=%s", out, "abc");
    g_assert_cmpstr((s1 = file_contents(out)), ==, "abc");
    file_write("file,id=f,path=%s,append=on", out, "def");
    g_assert_cmpstr((s2 = file_contents(out)), ==, "abcdef");
    file_write("file,id=f,path=%s", out, "x");
    g_assert_cmpstr((s3 = file_contents(out)), ==, "x");

    /* -serial file:PATH takes the path literally, commas included. */
    Chardev *chr = qemu_chr_new_simple("f", spec, NULL, NULL);
    g_assert_nonnull(chr);
    g_assert_cmpint(qemu_chr_write_all(chr, (const uint8_t *)"comma", 5),
                    ==, 5);
    qemu_chr_free(chr);
    g_assert_cmpstr((s4 = file_contents(comma)), ==, "comma");

    /* in=: the frontend reads the file, then gets CLOSED at its end. */
    g_assert_true(g_file_set_contents(in, "input", -1, NULL));
    g_autofree char *opts = g_strdup_printf("file,id=f,path=%s,in=%s",
                                            out, in);
    f->chr = qemu_chr_new_from_opts(opts, NULL, NULL);
    g_assert_nonnull(f->chr);
    qemu_chr_fe_set_handlers(f->chr, fe_receive, fe_event, f);
    PUMP_UNTIL(f->events->len == 1, WAIT_MS);
    g_assert_cmpstr(f->events->str, ==, "C");
    g_assert_cmpmem(f->rx->data, f->rx->len, "input", 5);
}

static void test_null(Fixture *f, gconstpointer data)
{
    f->chr = qemu_chr_new_simple("n", "null", NULL, NULL);
    g_assert_nonnull(f->chr);
    g_assert_true(qemu_chr_is_connected(f->chr));
    g_assert_cmpint(qemu_chr_write_all(f->chr, (const uint8_t *)"gone", 4),
                    ==, 4);
    g_assert_cmpint(qemu_chr_get_msgfd(f->chr), ==, -1);
}

/* Last: everything above closed what it opened. */
static void test_no_fd_leaks(void)
{
    g_assert_cmpuint(count_fds(), ==, initial_fds);
}

int main(int argc, char **argv)
{
    static const struct {
        const char *path;
        void (*fn)(Fixture *, gconstpointer);
    } tests[] = {
        { "/chardev/socket-server", test_server_basic },
        { "/chardev/socket-one-peer", test_server_one_peer },
        { "/chardev/socket-fds-to-peer", test_fds_to_peer },
        { "/chardev/socket-fds-from-peer", test_fds_from_peer },
        { "/chardev/socket-read-timeout", test_read_timeout },
        { "/chardev/socket-hup-watch", test_hup_watch },
        { "/chardev/socket-hup-watch-half-close", test_hup_watch_half_close },
        { "/chardev/socket-switch-to-event-only", test_switch_to_event_only },
        { "/chardev/socket-fe-disconnect", test_fe_disconnect },
        { "/chardev/socket-fe-disconnect-next-waiting",
          test_fe_disconnect_next_waiting },
        { "/chardev/socket-fe-disconnect-then-free",
          test_fe_disconnect_then_free },
        { "/chardev/socket-reconnect", test_reconnect },
        { "/chardev/socket-connect-queue-full", test_connect_queue_full },
        { "/chardev/socket-wait-connected", test_wait_connected },
        { "/chardev/socket-server-wait-on", test_server_wait_on },
        { "/chardev/socket-simple-unix", test_simple_unix },
        { "/chardev/errors", test_errors },
        { "/chardev/file", test_file },
        { "/chardev/null", test_null },
    };

    g_test_init(&argc, &argv, NULL);
    /* The main context's own wakeup fd exists before the first count. */
    g_main_context_iteration(NULL, FALSE);
    initial_fds = count_fds();
    for (size_t i = 0; i < G_N_ELEMENTS(tests); i++) {
        g_test_add(tests[i].path, Fixture, NULL, fixture_setup, tests[i].fn,
                   fixture_teardown);
    }
    g_test_add_func("/chardev/zz-no-fd-leaks", test_no_fd_leaks);
    return g_test_run();
}
