/* SPDX-License-Identifier: MIT */
/*
 * The fixture of the chardev unit tests and the test's side of a unix
 * socket connection (see chardev-peer.h).
 */
#include "chardev-peer.h"

#include <glib/gstdio.h>
#include <poll.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

/* --- the fixture -------------------------------------------------------- */

void fe_receive(void *opaque, const uint8_t *buf, size_t len)
{
    Fixture *f = opaque;

    g_byte_array_append(f->rx, buf, len);
}

void fe_event(void *opaque, ChrEvent event)
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

void chardev_tests_add(const ChardevTest *tests, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        g_test_add(tests[i].path, Fixture, NULL, fixture_setup, tests[i].fn,
                   fixture_teardown);
    }
}

/* --- helpers ------------------------------------------------------------ */

Chardev *chr_new(const char *fmt, const char *path)
{
    g_autofree char *opts = g_strdup_printf(fmt, path);
    Error *err = NULL;
    Chardev *chr = qemu_chr_new_from_opts(opts, NULL, &err);

    g_assert_null(err);
    g_assert_nonnull(chr);
    return chr;
}

char *chr_new_error(const char *fmt, const char *path)
{
    g_autofree char *opts = g_strdup_printf(fmt, path);
    Error *err = NULL;

    g_assert_null(qemu_chr_new_from_opts(opts, NULL, &err));
    g_assert_nonnull(err);
    char *msg = g_strdup(error_get_pretty(err));
    error_free(err);
    return msg;
}

void fill_sa(struct sockaddr_un *sa, const char *path)
{
    memset(sa, 0, sizeof(*sa));
    sa->sun_family = AF_UNIX;
    g_assert_cmpuint(strlen(path), <, sizeof(sa->sun_path));
    strcpy(sa->sun_path, path);
}

int unix_connect(const char *path)
{
    struct sockaddr_un sa;
    int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);

    fill_sa(&sa, path);
    g_assert_cmpint(fd, >=, 0);
    g_assert_cmpint(connect(fd, (struct sockaddr *)&sa, sizeof(sa)), ==, 0);
    return fd;
}

bool peer_closed(int fd)
{
    char c;

    return recv(fd, &c, 1, MSG_DONTWAIT | MSG_PEEK) == 0;
}

void read_exact(int fd, void *buf, size_t len)
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

void send_str(int fd, const char *s)
{
    g_assert_cmpint(write(fd, s, strlen(s)), ==, strlen(s));
}

void check_data_both_ways(Fixture *f, int cfd, const char *out,
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

int server_with_client(Fixture *f, bool event_only)
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

void fe_disconnect_checked(Fixture *f)
{
    f->in_call = true;
    qemu_chr_fe_disconnect(f->chr);
    f->in_call = false;
    g_assert_cmpuint(f->events_in_call, ==, 0);
}
