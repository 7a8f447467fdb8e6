/* SPDX-License-Identifier: MIT */
/*
 * Chardev unit tests, part two (linked into test-chardev, whose main()
 * registers these after its own and before the fd-leak check): a client
 * socket dialing and redialing, a dial to a server whose queue is full,
 * qemu_chr_wait_connected(), a server that waits for its first peer, the
 * unix: short form, option errors, and the file and null backends.
 */
#include "chardev-peer.h"

#include <errno.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

/* --- client reconnect --------------------------------------------------- */

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

/* reconnect-ms= (QEMU 9.2): the same with a sub-second interval; a
 * dropped peer is dialled again well within a second. */
static void test_reconnect_ms(Fixture *f, gconstpointer data)
{
    int lfd, afd = -1;
    gint64 t0;

    f->chr = chr_new("socket,id=r,path=%s,reconnect-ms=20", f->path);
    qemu_chr_fe_set_handlers(f->chr, fe_receive, fe_event, f);
    lfd = unix_listen(f->path);
    PUMP_UNTIL(try_accept(lfd, &afd) && f->events->len == 1, WAIT_MS);
    g_assert_cmpstr(f->events->str, ==, "O");
    for (unsigned i = 0; i < 5; i++) {
        close(afd);
        afd = -1;
        t0 = g_get_monotonic_time();
        PUMP_UNTIL(try_accept(lfd, &afd) &&
                   f->events->len == 3 + 2 * i, WAIT_MS);
        g_assert_cmpint(g_get_monotonic_time() - t0, <, 500 * 1000);
        g_assert_true(qemu_chr_is_connected(f->chr));
    }
    g_assert_cmpstr(f->events->str, ==, "OCOCOCOCOCO");
    qemu_chr_free(f->chr);
    f->chr = NULL;
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
    check_error("socket,id=c,path=%s,server=on,reconnect-ms=10", f->path,
                "'reconnect-ms' option is incompatible with 'server=on'");
    check_error("socket,id=c,path=%s,reconnect=1,reconnect-ms=10", f->path,
                "'reconnect' and 'reconnect-ms' are mutually exclusive");
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

void chardev_connect_tests_add(void)
{
    static const ChardevTest tests[] = {
        { "/chardev/socket-reconnect", test_reconnect },
        { "/chardev/socket-reconnect-ms", test_reconnect_ms },
        { "/chardev/socket-connect-queue-full", test_connect_queue_full },
        { "/chardev/socket-wait-connected", test_wait_connected },
        { "/chardev/socket-server-wait-on", test_server_wait_on },
        { "/chardev/socket-simple-unix", test_simple_unix },
        { "/chardev/errors", test_errors },
        { "/chardev/file", test_file },
        { "/chardev/null", test_null },
    };

    chardev_tests_add(tests, G_N_ELEMENTS(tests));
}
