/* SPDX-License-Identifier: MIT */
/*
 * Error objects and the single reporting path to stderr.  Every message a
 * user sees starts with "kvmini: " so scripts can grep for it.
 */
#include "qemu/error.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

struct Error {
    char *msg;
};

static void error_setv(Error **errp, const char *fmt, va_list ap,
                       const char *suffix)
{
    if (!errp) {
        return;
    }
    g_assert(*errp == NULL);
    g_autofree char *msg = g_strdup_vprintf(fmt, ap);
    Error *err = g_new0(Error, 1);
    err->msg = suffix ? g_strconcat(msg, ": ", suffix, NULL) : g_steal_pointer(&msg);
    *errp = err;
}

void error_setg(Error **errp, const char *fmt, ...)
{
    va_list ap;

    va_start(ap, fmt);
    error_setv(errp, fmt, ap, NULL);
    va_end(ap);
}

void error_setg_errno(Error **errp, int os_errno, const char *fmt, ...)
{
    va_list ap;

    va_start(ap, fmt);
    error_setv(errp, fmt, ap, g_strerror(os_errno));
    va_end(ap);
}

void error_prepend(Error **errp, const char *fmt, ...)
{
    va_list ap;

    if (!errp || !*errp) {
        return;
    }
    va_start(ap, fmt);
    g_autofree char *prefix = g_strdup_vprintf(fmt, ap);
    va_end(ap);
    char *msg = g_strconcat(prefix, (*errp)->msg, NULL);
    g_free((*errp)->msg);
    (*errp)->msg = msg;
}

void error_propagate(Error **dst, Error *local_err)
{
    if (!local_err) {
        return;
    }
    if (dst && !*dst) {
        *dst = local_err;
    } else {
        error_free(local_err);
    }
}

const char *error_get_pretty(const Error *err)
{
    return err->msg;
}

void error_free(Error *err)
{
    if (err) {
        g_free(err->msg);
        g_free(err);
    }
}

static void report(const char *kind, const char *fmt, va_list ap)
{
    g_autofree char *msg = g_strdup_vprintf(fmt, ap);

    fprintf(stderr, "kvmini: %s%s\n", kind, msg);
}

void error_report(const char *fmt, ...)
{
    va_list ap;

    va_start(ap, fmt);
    report("", fmt, ap);
    va_end(ap);
}

void warn_report(const char *fmt, ...)
{
    va_list ap;

    va_start(ap, fmt);
    report("warning: ", fmt, ap);
    va_end(ap);
}

void error_report_err(Error *err)
{
    error_report("%s", err->msg);
    error_free(err);
}
