/* SPDX-License-Identifier: MIT */
/*
 * Migration channels: the URIs (unix:PATH, fd:NAME, file:PATH), the
 * descriptors passed with the QMP command getfd, and a buffered stream
 * over one descriptor with blocking reads and writes.
 *
 * Blocking I/O is fine because streams are only ever used by the
 * migration threads; the main thread interrupts them with
 * mig_channel_shutdown() (shutdown(2) on a socket wakes a blocked read or
 * write).  Socket writes use MSG_NOSIGNAL: a destination that goes away
 * must fail the migration, not kill kvmini with SIGPIPE.
 */
#include "migration-internal.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <sys/un.h>
#include <unistd.h>

#define MIG_BUF_SIZE (1u << 20)
#define MIG_IOV_MAX  1024     /* iovecs per sendmsg (IOV_MAX) */

/* --- buffered stream ----------------------------------------------------- */

MigChannel *mig_channel_new(int fd)
{
    MigChannel *ch = g_new0(MigChannel, 1);
    struct stat st;

    ch->fd = fd;
    ch->is_socket = fstat(fd, &st) == 0 && S_ISSOCK(st.st_mode);
    ch->cap = MIG_BUF_SIZE;
    ch->buf = g_malloc(ch->cap);
    ch->iov = g_new(struct iovec, MIG_IOV_MAX);
    return ch;
}

void mig_channel_free(MigChannel *ch)
{
    if (!ch) {
        return;
    }
    if (ch->fd >= 0) {
        close(ch->fd);
    }
    g_free(ch->buf);
    g_free(ch->iov);
    g_free(ch);
}

void mig_channel_shutdown(MigChannel *ch)
{
    if (ch && ch->is_socket) {
        shutdown(ch->fd, SHUT_RDWR);
    }
}

/* Output is a list of iovecs sent with one sendmsg / writev: pieces of
 * the buffer (headers, small sections) and, without a copy, guest pages
 * queued by reference (mig_channel_write_ref). */
static ssize_t channel_writev_once(MigChannel *ch, struct iovec *iov,
                                   unsigned n)
{
    struct msghdr msg = { .msg_iov = iov, .msg_iovlen = n };

    if (ch->is_socket) {
        return sendmsg(ch->fd, &msg, MSG_NOSIGNAL);
    }
    return writev(ch->fd, iov, n);
}

static bool channel_writev(MigChannel *ch, struct iovec *iov, unsigned n,
                           Error **errp)
{
    while (n) {
        ssize_t r = channel_writev_once(ch, iov, MIN(n, IOV_MAX));

        if (r < 0 && errno == EINTR) {
            continue;
        }
        if (r <= 0) {
            error_setg_errno(errp, r < 0 ? errno : EIO,
                             "Unable to write to the migration stream");
            return false;
        }
        ch->transferred += r;
        /* Skip what went out, then resume inside a partial iovec. */
        while (n && (size_t)r >= iov->iov_len) {
            r -= iov->iov_len;
            iov++;
            n--;
        }
        if (n) {
            iov->iov_base = (uint8_t *)iov->iov_base + r;
            iov->iov_len -= r;
        }
    }
    return true;
}

bool mig_channel_flush(MigChannel *ch, Error **errp)
{
    bool ok = channel_writev(ch, ch->iov, ch->niov, errp);

    ch->len = 0;
    ch->niov = 0;
    ch->queued = 0;
    return ok;
}

/* Append [p, p + n) to the iovecs, merging with the last one when it
 * continues it; flushes when the list is full. */
static bool channel_queue(MigChannel *ch, const void *p, size_t n,
                          Error **errp)
{
    struct iovec *last = ch->niov ? &ch->iov[ch->niov - 1] : NULL;

    if (last && (uint8_t *)last->iov_base + last->iov_len == p) {
        last->iov_len += n;
    } else {
        if (ch->niov == MIG_IOV_MAX && !mig_channel_flush(ch, errp)) {
            return false;
        }
        ch->iov[ch->niov++] = (struct iovec){ (void *)p, n };
    }
    ch->queued += n;
    return true;
}

uint8_t *mig_channel_reserve(MigChannel *ch, size_t n, Error **errp)
{
    uint8_t *p;

    g_assert(n <= ch->cap);
    if ((ch->len + n > ch->cap || ch->niov == MIG_IOV_MAX) &&
        !mig_channel_flush(ch, errp)) {
        return NULL;
    }
    p = ch->buf + ch->len;
    ch->len += n;
    return channel_queue(ch, p, n, errp) ? p : NULL;
}

bool mig_channel_write_ref(MigChannel *ch, const void *p, size_t n,
                           Error **errp)
{
    return channel_queue(ch, p, n, errp);
}

bool mig_channel_write(MigChannel *ch, const void *p, size_t n, Error **errp)
{
    uint8_t *dst;

    if (!n) {
        return true;
    }
    if (n > ch->cap / 2) {
        struct iovec one = { (void *)p, n };

        return mig_channel_flush(ch, errp) &&
               channel_writev(ch, &one, 1, errp);
    }
    dst = mig_channel_reserve(ch, n, errp);
    if (!dst) {
        return false;
    }
    memcpy(dst, p, n);
    return true;
}

uint64_t mig_channel_bytes(const MigChannel *ch)
{
    return ch->transferred + ch->queued;
}

static bool channel_fill(MigChannel *ch, Error **errp)
{
    ssize_t r;

    do {
        r = read(ch->fd, ch->buf, ch->cap);
    } while (r < 0 && errno == EINTR);
    if (r < 0) {
        error_setg_errno(errp, errno, "reading the migration stream");
        return false;
    }
    if (r == 0) {
        error_setg(errp, "unexpected end of the migration stream");
        return false;
    }
    ch->len = r;
    ch->pos = 0;
    ch->transferred += r;
    return true;
}

const uint8_t *mig_channel_peek(MigChannel *ch, size_t n, Error **errp)
{
    g_assert(n <= ch->cap);
    if (ch->len - ch->pos < n) {
        /* Keep what is left at the start, then top the buffer up. */
        memmove(ch->buf, ch->buf + ch->pos, ch->len - ch->pos);
        ch->len -= ch->pos;
        ch->pos = 0;
        while (ch->len < n) {
            ssize_t r = read(ch->fd, ch->buf + ch->len, ch->cap - ch->len);

            if (r < 0 && errno == EINTR) {
                continue;
            }
            if (r <= 0) {
                if (r < 0) {
                    error_setg_errno(errp, errno,
                                     "reading the migration stream");
                } else {
                    error_setg(errp, "unexpected end of the migration "
                               "stream");
                }
                return NULL;
            }
            ch->len += r;
            ch->transferred += r;
        }
    }
    return ch->buf + ch->pos;
}

size_t mig_channel_available(const MigChannel *ch)
{
    return ch->len - ch->pos;
}

void mig_channel_consume(MigChannel *ch, size_t n)
{
    g_assert(n <= ch->len - ch->pos);
    ch->pos += n;
}

bool mig_channel_read(MigChannel *ch, void *p, size_t n, Error **errp)
{
    uint8_t *dst = p;

    while (n) {
        size_t k;

        if (ch->pos == ch->len && !channel_fill(ch, errp)) {
            return false;
        }
        k = MIN(n, ch->len - ch->pos);
        memcpy(dst, ch->buf + ch->pos, k);
        ch->pos += k;
        dst += k;
        n -= k;
    }
    return true;
}

/* --- named fds (getfd / closefd) ----------------------------------------- */

bool mig_fd_add(MigrationState *mig, const char *name, int fd, Error **errp)
{
    if (g_ascii_isdigit(name[0])) {
        error_setg(errp, "Parameter 'fdname' must not start with a digit");
        return false;
    }
    /* As QEMU: a new fd under a known name replaces the old one. */
    mig_fd_close(mig, name, NULL);
    g_hash_table_insert(mig->fds, g_strdup(name), GINT_TO_POINTER(fd));
    return true;
}

/* Take fd NAME out of the table (the caller owns it), or -1. */
static int mig_fd_take(MigrationState *mig, const char *name)
{
    gpointer key, value;

    if (!g_hash_table_lookup_extended(mig->fds, name, &key, &value)) {
        return -1;
    }
    g_hash_table_steal(mig->fds, name);
    g_free(key);
    return GPOINTER_TO_INT(value);
}

bool mig_fd_close(MigrationState *mig, const char *name, Error **errp)
{
    int fd = mig_fd_take(mig, name);

    if (fd < 0) {
        error_setg(errp, "File descriptor named '%s' not found", name);
        return false;
    }
    close(fd);
    return true;
}

/* fd:NAME: a getfd name, or (incoming) an inherited descriptor number. */
static int mig_fd_param(MigrationState *mig, const char *name, bool numeric,
                        Error **errp)
{
    int fd = mig_fd_take(mig, name);
    char *end;
    long n;

    if (fd >= 0 || !numeric || !g_ascii_isdigit(name[0])) {
        if (fd < 0) {
            error_setg(errp, "File descriptor named '%s' has not been found",
                       name);
        }
        return fd;
    }
    n = strtol(name, &end, 10);
    if (*end || n < 0 || n > INT_MAX || fcntl(n, F_GETFD) < 0) {
        error_setg(errp, "fd:%s: not an open file descriptor", name);
        return -1;
    }
    fcntl(n, F_SETFD, FD_CLOEXEC);
    return n;
}

/* --- URIs ---------------------------------------------------------------- */

bool migration_uri_check(const char *uri, bool incoming, Error **errp)
{
    if ((incoming && !strcmp(uri, "defer")) ||
        (g_str_has_prefix(uri, "unix:") && uri[5]) ||
        (g_str_has_prefix(uri, "fd:") && uri[3]) ||
        (g_str_has_prefix(uri, "file:") && uri[5])) {
        return true;
    }
    error_setg(errp, "Migration URI '%s' is not supported: use unix:PATH, "
               "fd:%s or file:PATH%s", uri, incoming ? "N" : "NAME",
               incoming ? " (or defer)" : "");
    return false;
}

static bool unix_addr(const char *path, struct sockaddr_un *sa, Error **errp)
{
    memset(sa, 0, sizeof(*sa));
    sa->sun_family = AF_UNIX;
    if (strlen(path) >= sizeof(sa->sun_path)) {
        error_setg(errp, "socket path '%s' is too long", path);
        return false;
    }
    strcpy(sa->sun_path, path);
    return true;
}

static int unix_connect(const char *path, Error **errp)
{
    struct sockaddr_un sa;
    int fd;

    if (!unix_addr(path, &sa, errp)) {
        return -1;
    }
    fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0) {
        error_setg_errno(errp, errno, "socket");
        return -1;
    }
    if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
        error_setg_errno(errp, errno, "Failed to connect to '%s'", path);
        close(fd);
        return -1;
    }
    return fd;
}

static int unix_listen(const char *path, Error **errp)
{
    struct sockaddr_un sa;
    struct stat st;
    int fd;

    if (!unix_addr(path, &sa, errp)) {
        return -1;
    }
    /* A socket left by an earlier run would make bind fail. */
    if (lstat(path, &st) == 0 && S_ISSOCK(st.st_mode)) {
        unlink(path);
    }
    fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0) {
        error_setg_errno(errp, errno, "socket");
        return -1;
    }
    if (bind(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0 ||
        listen(fd, 1) < 0) {
        error_setg_errno(errp, errno, "Failed to listen on '%s'", path);
        close(fd);
        return -1;
    }
    return fd;
}

static int file_open(const char *path, bool writing, Error **errp)
{
    int flags = writing ? O_WRONLY | O_CREAT | O_TRUNC : O_RDONLY;
    int fd = open(path, flags | O_CLOEXEC, 0600);

    if (fd < 0) {
        error_setg_errno(errp, errno, "Could not open '%s'", path);
    }
    return fd;
}

int mig_uri_connect(MigrationState *mig, const char *uri, Error **errp)
{
    if (!migration_uri_check(uri, false, errp)) {
        return -1;
    }
    if (g_str_has_prefix(uri, "unix:")) {
        return unix_connect(uri + 5, errp);
    }
    if (g_str_has_prefix(uri, "fd:")) {
        return mig_fd_param(mig, uri + 3, false, errp);
    }
    return file_open(uri + 5, true, errp);
}

int mig_uri_listen(MigrationState *mig, const char *uri, bool *listening,
                   Error **errp)
{
    *listening = false;
    if (!migration_uri_check(uri, true, errp)) {
        return -1;
    }
    if (g_str_has_prefix(uri, "unix:")) {
        *listening = true;
        return unix_listen(uri + 5, errp);
    }
    if (g_str_has_prefix(uri, "fd:")) {
        return mig_fd_param(mig, uri + 3, true, errp);
    }
    return file_open(uri + 5, false, errp);
}
