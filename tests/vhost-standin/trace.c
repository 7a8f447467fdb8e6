/* SPDX-License-Identifier: MIT */
/*
 * What the stand-in reports: the trace (one line per served request,
 * flushed as it happens), the statistics file (ioctl counts and per-device
 * data-path counters), and the --fail knob that makes chosen ioctl calls
 * fail with a chosen errno and no side effect.
 */
#include "standin.h"

#include <errno.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

static const struct { int err; const char *name; } errno_names[] = {
    { EPERM, "EPERM" }, { ENOENT, "ENOENT" }, { EINTR, "EINTR" },
    { EIO, "EIO" }, { ENXIO, "ENXIO" }, { E2BIG, "E2BIG" },
    { EBADF, "EBADF" }, { EAGAIN, "EAGAIN" }, { ENOMEM, "ENOMEM" },
    { EACCES, "EACCES" }, { EFAULT, "EFAULT" }, { EBUSY, "EBUSY" },
    { EEXIST, "EEXIST" }, { ENODEV, "ENODEV" }, { EINVAL, "EINVAL" },
    { EMFILE, "EMFILE" }, { ENOTTY, "ENOTTY" }, { ENOSPC, "ENOSPC" },
    { ENOSYS, "ENOSYS" }, { ENOTSOCK, "ENOTSOCK" },
    { EOPNOTSUPP, "EOPNOTSUPP" }, { ENOBUFS, "ENOBUFS" },
    { ETIMEDOUT, "ETIMEDOUT" }, { ECONNRESET, "ECONNRESET" },
};

const char *standin_errno_name(int err)
{
    static __thread char buf[16];

    for (size_t i = 0; i < G_N_ELEMENTS(errno_names); i++) {
        if (errno_names[i].err == err) {
            return errno_names[i].name;
        }
    }
    snprintf(buf, sizeof(buf), "%d", err);
    return buf;
}

/* "EPERM" or a number; 0 if neither. */
int standin_errno_parse(const char *name)
{
    char *end;
    long v;

    for (size_t i = 0; i < G_N_ELEMENTS(errno_names); i++) {
        if (strcmp(errno_names[i].name, name) == 0) {
            return errno_names[i].err;
        }
    }
    v = strtol(name, &end, 10);
    return (*end || v <= 0 || v > 4095) ? 0 : (int)v;
}

void standin_trace(Standin *s, const char *fmt, ...)
{
    va_list ap;

    if (!s->trace) {
        return;
    }
    pthread_mutex_lock(&s->trace_lock);
    va_start(ap, fmt);
    vfprintf(s->trace, fmt, ap);
    va_end(ap);
    fputc('\n', s->trace);
    fflush(s->trace);
    pthread_mutex_unlock(&s->trace_lock);
}

/* NAME[@N]=ERRNO */
bool standin_fail_parse(Standin *s, const char *spec)
{
    g_auto(GStrv) kv = g_strsplit(spec, "=", 2);
    g_auto(GStrv) at = NULL;
    StandinFail f = { 0 };

    if (!kv[0] || !kv[1]) {
        return false;
    }
    f.err = standin_errno_parse(kv[1]);
    at = g_strsplit(kv[0], "@", 2);
    if (!f.err || !at[0][0]) {
        return false;
    }
    if (at[1]) {
        char *end;

        f.nth = strtoul(at[1], &end, 10);
        if (*end || !f.nth) {
            return false;
        }
    }
    f.name = g_strdup(at[0]);
    g_array_append_val(s->fails, f);
    return true;
}

/* The errno to inject for the count-th call of name, or 0. */
int standin_fail_check(Standin *s, const char *name, unsigned count)
{
    for (guint i = 0; i < s->fails->len; i++) {
        StandinFail *f = &g_array_index(s->fails, StandinFail, i);

        if (strcmp(f->name, name) == 0 && (!f->nth || f->nth == count)) {
            return f->err;
        }
    }
    return 0;
}

/* Count one call of name; returns its 1-based number. */
unsigned standin_count_ioctl(Standin *s, const char *name)
{
    unsigned n = GPOINTER_TO_UINT(g_hash_table_lookup(s->ioctl_counts,
                                                      name)) + 1;

    g_hash_table_insert(s->ioctl_counts, g_strdup(name), GUINT_TO_POINTER(n));
    return n;
}

static void stats_device(FILE *f, const StandinDevice *d)
{
    const StandinStats *t = &d->stats;

    fprintf(f, "dev%u tx_frames=%" G_GUINT64_FORMAT
            " tx_send_errors=%" G_GUINT64_FORMAT
            " rx_frames=%" G_GUINT64_FORMAT
            " rx_stalls_no_buffers=%" G_GUINT64_FORMAT
            " rx_dropped_too_big=%" G_GUINT64_FORMAT
            " used_writes=%" G_GUINT64_FORMAT
            " log_bits=%" G_GUINT64_FORMAT " kicks=%" G_GUINT64_FORMAT
            " calls=%" G_GUINT64_FORMAT " vq_errors=%" G_GUINT64_FORMAT "\n",
            d->id, t->tx_frames, t->tx_send_errors, t->rx_frames,
            t->rx_stalls_no_buffers,
            t->rx_dropped_too_big, t->used_writes, t->log_bits, t->kicks,
            t->calls, t->errors);
}

/* Written whole to a temporary file, then renamed: a reader never sees
 * half of it. */
void standin_stats_write(Standin *s)
{
    g_autofree char *tmp = NULL;
    g_autoptr(GList) names = NULL;
    FILE *f;

    if (!s->stats_path) {
        return;
    }
    tmp = g_strdup_printf("%s.tmp", s->stats_path);
    f = fopen(tmp, "we");
    if (!f) {
        return;
    }
    names = g_list_sort(g_hash_table_get_keys(s->ioctl_counts),
                        (GCompareFunc)strcmp);
    for (GList *l = names; l; l = l->next) {
        fprintf(f, "ioctl %s %u\n", (char *)l->data,
                GPOINTER_TO_UINT(g_hash_table_lookup(s->ioctl_counts,
                                                     l->data)));
    }
    for (guint i = 0; i < s->history->len; i++) {
        stats_device(f, g_ptr_array_index(s->history, i));
    }
    fclose(f);
    rename(tmp, s->stats_path);
}
