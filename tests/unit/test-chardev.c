/* SPDX-License-Identifier: MIT */
/*
 * The chardev layer in chardev/ without /dev/kvm: the test plays the
 * peer of unix sockets in a temporary directory and drives the glib main
 * loop itself (g_main_context_iteration), so every event is checked for
 * when it arrives as well as what it carries.  Covered here: the server
 * socket (mode 0600, OPENED/CLOSED, data both ways, one peer at a time, a
 * new peer after a hang-up), SCM_RIGHTS in both directions, synchronous
 * reads with a timeout, the hang-up-only watch of event-only frontends
 * (also for a half-closed peer), qemu_chr_fe_disconnect() delivering
 * CLOSED later, and fd leaks over the whole run.  test-chardev-connect.c,
 * linked into the same executable, covers connecting and the other
 * backends; chardev-peer.c holds the fixture and socket helpers.
 */
#include "chardev-peer.h"

#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

static unsigned initial_fds;

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

/* A thread that takes the frontend's lock once, while the test waits. */
typedef struct LockTaker {
    GMutex *lock;
    int took;                   /* atomic */
} LockTaker;

static gpointer take_lock(gpointer opaque)
{
    LockTaker *t = opaque;

    g_mutex_lock(t->lock);
    g_atomic_int_set(&t->took, 1);
    g_mutex_unlock(t->lock);
    return NULL;
}

/* A peer that reads nothing: the socket fills, the write waits for room
 * until its timeout, with the frontend's lock released meanwhile; once
 * the peer reads, the rest goes out. */
static void test_write_timeout(Fixture *f, gconstpointer data)
{
    int cfd = server_with_client(f, true);
    size_t len = 8 << 20, got = 0;
    g_autofree uint8_t *buf = g_malloc0(len);
    LockTaker t = { .lock = g_new(GMutex, 1) };
    GThread *thread;
    gint64 t0, ms;
    ssize_t r;

    g_mutex_init(t.lock);
    qemu_chr_fe_set_lock(f->chr, t.lock);
    g_mutex_lock(t.lock);
    thread = g_thread_new("taker", take_lock, &t);
    t0 = g_get_monotonic_time();
    r = qemu_chr_write_all_timeout(f->chr, buf, len, NULL, 0, 200);
    ms = (g_get_monotonic_time() - t0) / 1000;
    g_assert_cmpint(r, ==, -ETIMEDOUT);
    g_assert_cmpint(ms, >=, 195);
    g_assert_cmpint(ms, <, 1000);
    g_mutex_unlock(t.lock);
    g_thread_join(thread);
    g_assert_true(g_atomic_int_get(&t.took));

    /* Drained, a small write goes out at once. */
    while (recv(cfd, buf, len, MSG_DONTWAIT) > 0) {
    }
    g_mutex_lock(t.lock);
    g_assert_cmpint(qemu_chr_write_all_timeout(f->chr, (const uint8_t *)"ok",
                                               2, NULL, 0, 200), ==, 2);
    g_mutex_unlock(t.lock);
    while (got < 2) {
        ssize_t n = recv(cfd, buf + got, 2 - got, 0);

        g_assert_cmpint(n, >, 0);
        got += n;
    }
    g_assert_cmpmem(buf, 2, "ok", 2);
    qemu_chr_fe_set_lock(f->chr, NULL);
    g_mutex_clear(t.lock);
    g_free(t.lock);
    close(cfd);
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

/* Last: everything above closed what it opened. */
static void test_no_fd_leaks(void)
{
    g_assert_cmpuint(count_fds(), ==, initial_fds);
}

int main(int argc, char **argv)
{
    static const ChardevTest tests[] = {
        { "/chardev/socket-server", test_server_basic },
        { "/chardev/socket-one-peer", test_server_one_peer },
        { "/chardev/socket-fds-to-peer", test_fds_to_peer },
        { "/chardev/socket-fds-from-peer", test_fds_from_peer },
        { "/chardev/socket-read-timeout", test_read_timeout },
        { "/chardev/socket-write-timeout", test_write_timeout },
        { "/chardev/socket-hup-watch", test_hup_watch },
        { "/chardev/socket-hup-watch-half-close", test_hup_watch_half_close },
        { "/chardev/socket-switch-to-event-only", test_switch_to_event_only },
        { "/chardev/socket-fe-disconnect", test_fe_disconnect },
        { "/chardev/socket-fe-disconnect-next-waiting",
          test_fe_disconnect_next_waiting },
        { "/chardev/socket-fe-disconnect-then-free",
          test_fe_disconnect_then_free },
    };

    g_test_init(&argc, &argv, NULL);
    /* The main context's own wakeup fd exists before the first count. */
    g_main_context_iteration(NULL, FALSE);
    initial_fds = count_fds();
    chardev_tests_add(tests, G_N_ELEMENTS(tests));
    /* Then test-chardev-connect.c's, and last the leak check. */
    chardev_connect_tests_add();
    g_test_add_func("/chardev/zz-no-fd-leaks", test_no_fd_leaks);
    return g_test_run();
}
