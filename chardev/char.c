/* SPDX-License-Identifier: MIT */
/*
 * Chardev core: option parsing, the backend table, the frontend API and
 * the main-loop input watch shared by all fd-based backends.
 */
#include "char-internal.h"
#include "qemu/option.h"

#include <errno.h>
#include <string.h>
#include <unistd.h>
#include <glib-unix.h>

static const ChardevClass *const chardev_classes[] = {
    &chardev_stdio_class,
    &chardev_file_class,
    &chardev_socket_class,
    &chardev_null_class,
};

static const ChardevClass *chardev_class_find(const char *type)
{
    for (size_t i = 0; i < G_N_ELEMENTS(chardev_classes); i++) {
        if (!strcmp(chardev_classes[i]->type, type)) {
            return chardev_classes[i];
        }
    }
    return NULL;
}

static Chardev *chardev_open(const char *id, const char *label,
                             GHashTable *opts, const WaitCancel *cancel,
                             Error **errp)
{
    const char *type = qemu_opt_get(opts, "backend");
    const ChardevClass *cls = type ? chardev_class_find(type) : NULL;

    if (!cls) {
        error_setg(errp, "'%s' is not a valid char driver name",
                   type ? type : "");
        return NULL;
    }
    Chardev *chr = g_new0(Chardev, 1);
    chr->id = g_strdup(id);
    chr->label = g_strdup(label);
    chr->cls = cls;
    chr->fd_in = chr->fd_out = -1;
    chr->recv_fds = g_queue_new();
    chr->cancel = cancel;
    if (!cls->open(chr, opts, errp)) {
        qemu_chr_free(chr);
        return NULL;
    }
    return chr;
}

Chardev *qemu_chr_new_from_opts(const char *optstr, const WaitCancel *cancel,
                                Error **errp)
{
    g_autoptr(GHashTable) opts = qemu_opts_parse(optstr, "backend", errp);

    if (!opts) {
        return NULL;
    }
    const char *id = qemu_opt_get(opts, "id");
    if (!id || !*id) {
        error_setg(errp, "chardev: no id specified");
        return NULL;
    }
    return chardev_open(id, optstr, opts, cancel, errp);
}

/* Turn "file:PATH" / "unix:PATH,opts" / "stdio" into backend options. */
static GHashTable *simple_spec_to_opts(const char *spec, Error **errp)
{
    g_autofree char *optstr = NULL;

    if (g_str_has_prefix(spec, "file:")) {
        g_autofree char *path = g_strdup(spec + 5);
        g_autofree char *escaped = NULL;
        g_auto(GStrv) parts = g_strsplit(path, ",", -1);
        escaped = g_strjoinv(",,", parts);
        optstr = g_strdup_printf("file,path=%s", escaped);
    } else if (g_str_has_prefix(spec, "unix:")) {
        optstr = g_strdup_printf("socket,path=%s", spec + 5);
    } else if (!strcmp(spec, "stdio") || !strcmp(spec, "null")) {
        optstr = g_strdup(spec);
    } else {
        error_setg(errp, "unknown character device '%s'", spec);
        return NULL;
    }
    return qemu_opts_parse(optstr, "backend", errp);
}

Chardev *qemu_chr_new_simple(const char *id, const char *spec,
                             const WaitCancel *cancel, Error **errp)
{
    g_autoptr(GHashTable) opts = simple_spec_to_opts(spec, errp);

    return opts ? chardev_open(id, spec, opts, cancel, errp) : NULL;
}

void qemu_chr_free(Chardev *chr)
{
    if (!chr) {
        return;
    }
    chardev_stop_input(chr);
    if (chr->cls && chr->cls->close) {
        chr->cls->close(chr);
    }
    chardev_drop_fds(chr);
    g_queue_free(chr->recv_fds);
    g_free(chr->id);
    g_free(chr->label);
    g_free(chr->fe_owner);
    g_free(chr);
}

bool qemu_chr_fe_claim(Chardev *chr, const char *owner, Error **errp)
{
    if (chr->fe_owner) {
        error_setg(errp, "chardev '%s' is already in use by %s", chr->id,
                   chr->fe_owner);
        return false;
    }
    chr->fe_owner = g_strdup(owner);
    return true;
}

char *qemu_chr_socket_path(const Chardev *chr)
{
    g_autoptr(GHashTable) opts = NULL;

    if (!chr || strcmp(chr->cls->type, "socket") || !chr->label) {
        return NULL;
    }
    if (g_str_has_prefix(chr->label, "unix:")) {
        opts = qemu_opts_parse(chr->label + 5, "path", NULL);
    } else {
        opts = qemu_opts_parse(chr->label, "backend", NULL);
    }
    return opts ? g_strdup(qemu_opt_get(opts, "path")) : NULL;
}

void qemu_chr_fe_set_lock(Chardev *chr, GMutex *lock)
{
    chr->fe_lock = lock;
}

void qemu_chr_fe_set_handlers(Chardev *chr, ChrReceiveFn *receive,
                              ChrEventFn *event, void *opaque)
{
    chr->fe_receive = receive;
    chr->fe_event = event;
    chr->fe_opaque = opaque;
    /* Re-arm: the kind of watch depends on the handlers (a receive watch
     * left behind for an event-only frontend would read and drop the
     * replies it waits for in qemu_chr_read_all_timeout()). */
    chardev_stop_input(chr);
    if (!receive && !event) {
        return;
    }
    if (chr->cls->start_input) {
        chr->cls->start_input(chr);
    }
}

ssize_t qemu_chr_write_all_timeout(Chardev *chr, const uint8_t *buf,
                                   size_t len, const int *fds, size_t nfds,
                                   int timeout_ms)
{
    gint64 deadline = qemu_deadline_ms(timeout_ms);
    size_t done = 0;

    while (done < len) {
        const int *f = done ? NULL : fds;
        size_t n = done ? 0 : nfds;
        ssize_t r = chr->cls->write_sync ?
            chr->cls->write_sync(chr, buf + done, len - done, f, n, deadline) :
            chr->cls->write(chr, buf + done, len - done, f, n);

        if (r < 0) {
            if (r == -EINTR) {
                continue;
            }
            return r;
        }
        done += r;
    }
    return done;
}

ssize_t qemu_chr_write_all_fds(Chardev *chr, const uint8_t *buf, size_t len,
                               const int *fds, size_t nfds)
{
    return qemu_chr_write_all_timeout(chr, buf, len, fds, nfds, -1);
}

ssize_t qemu_chr_write_all(Chardev *chr, const uint8_t *buf, size_t len)
{
    return qemu_chr_write_all_fds(chr, buf, len, NULL, 0);
}

ssize_t qemu_chr_write_nonblock(Chardev *chr, const uint8_t *buf, size_t len)
{
    ssize_t r;

    if (!chr->cls->write_nonblock) {
        return qemu_chr_write_all(chr, buf, len);
    }
    do {
        r = chr->cls->write_nonblock(chr, buf, len);
    } while (r == -EINTR);
    return r == -EWOULDBLOCK ? -EAGAIN : r;
}

typedef struct ChrOutWatch {
    GSourceFunc fn;
    void *opaque;
} ChrOutWatch;

static gboolean chardev_out_ready(gint fd, GIOCondition cond, gpointer data)
{
    ChrOutWatch *w = data;

    return w->fn(w->opaque);
}

guint qemu_chr_add_out_watch(Chardev *chr, GSourceFunc fn, void *opaque)
{
    ChrOutWatch *w;

    if (chr->fd_out < 0) {
        return 0;
    }
    w = g_new(ChrOutWatch, 1);
    w->fn = fn;
    w->opaque = opaque;
    return g_unix_fd_add_full(G_PRIORITY_DEFAULT, chr->fd_out, G_IO_OUT,
                              chardev_out_ready, w, g_free);
}

int qemu_chr_get_msgfd(Chardev *chr)
{
    if (g_queue_is_empty(chr->recv_fds)) {
        return -1;
    }
    return GPOINTER_TO_INT(g_queue_pop_head(chr->recv_fds));
}

void qemu_chr_drop_msgfds(Chardev *chr)
{
    chardev_drop_fds(chr);
}

bool qemu_chr_is_connected(const Chardev *chr)
{
    return chr->connected;
}

bool qemu_chr_wait_connected(Chardev *chr, Error **errp)
{
    if (chr->cls->wait_connected) {
        /* Also when connected: the backend checks the peer is still
         * there (nobody watches a connection without a frontend). */
        return chr->cls->wait_connected(chr, errp);
    }
    if (!chr->connected) {
        error_setg(errp, "chardev '%s' is not connected", chr->id);
        return false;
    }
    return true;
}

bool qemu_chr_reconnects(const Chardev *chr)
{
    return chr->cls->reconnects && chr->cls->reconnects(chr);
}

void qemu_chr_fe_disconnect(Chardev *chr)
{
    if (chr->cls->disconnect) {
        chr->cls->disconnect(chr);
    }
}

ssize_t qemu_chr_read_all_timeout(Chardev *chr, uint8_t *buf, size_t len,
                                  int timeout_ms)
{
    gint64 deadline = qemu_deadline_ms(timeout_ms);
    size_t done = 0;

    if (!chr->cls->read_sync) {
        return -ENOTSUP;
    }
    while (done < len) {
        ssize_t r = chr->cls->read_sync(chr, buf + done, len - done,
                                        deadline);
        if (r <= 0) {
            return r;
        }
        done += r;
    }
    return done;
}

void chardev_drop_fds(Chardev *chr)
{
    while (!g_queue_is_empty(chr->recv_fds)) {
        close(GPOINTER_TO_INT(g_queue_pop_head(chr->recv_fds)));
    }
}

/* --- shared fd input watch ------------------------------------------- */

void chardev_notify_closed(Chardev *chr)
{
    chardev_stop_input(chr);
    chr->connected = false;
    if (chr->fe_event) {
        chr->fe_event(chr->fe_opaque, CHR_EVENT_CLOSED);
    }
}

static gboolean chardev_fd_readable(gint fd, GIOCondition cond, gpointer data)
{
    Chardev *chr = data;
    uint8_t buf[4096];
    ssize_t n = read(fd, buf, sizeof(buf));

    if (n < 0 && (errno == EAGAIN || errno == EINTR)) {
        return G_SOURCE_CONTINUE;
    }
    if (n <= 0) {
        chr->in_watch = 0;      /* returning REMOVE drops the source */
        chardev_notify_closed(chr);
        return G_SOURCE_REMOVE;
    }
    if (chr->fe_receive) {
        chr->fe_receive(chr->fe_opaque, buf, n);
    }
    return G_SOURCE_CONTINUE;
}

void chardev_start_fd_input(Chardev *chr)
{
    if (chr->fd_in >= 0 && !chr->in_watch && chr->fe_receive) {
        chr->in_watch = g_unix_fd_add(chr->fd_in,
                                      G_IO_IN | G_IO_HUP | G_IO_ERR,
                                      chardev_fd_readable, chr);
    }
}

void chardev_stop_input(Chardev *chr)
{
    if (chr->in_watch) {
        g_source_remove(chr->in_watch);
        chr->in_watch = 0;
    }
}

ssize_t chardev_fd_write(Chardev *chr, const uint8_t *buf, size_t len,
                         const int *fds, size_t nfds)
{
    if (chr->fd_out < 0) {
        return len;     /* nothing attached: drop, as QEMU's null */
    }
    if (nfds) {
        return -ENOTSUP;
    }
    ssize_t r = write(chr->fd_out, buf, len);
    return r < 0 ? -errno : r;
}
