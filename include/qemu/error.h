/* SPDX-License-Identifier: MIT */
/*
 * Error reporting in the QEMU style.
 *
 * A function that can fail takes `Error **errp` as its last parameter, sets
 * it once at the place of failure with error_setg() and returns false (or a
 * negative errno).  The caller either propagates errp unchanged, adds context
 * with error_prepend(), or is the one place that reports it with
 * error_report_err().  errp may be NULL (caller not interested).
 */
#ifndef QEMU_ERROR_H
#define QEMU_ERROR_H

#include <glib.h>
#include <stdbool.h>

typedef struct Error Error;

/* Set *errp to a new error with a printf-style message; no-op if errp is NULL.
 * It is a programmer mistake to set an error twice. */
void error_setg(Error **errp, const char *fmt, ...) G_GNUC_PRINTF(2, 3);
/* As error_setg() with ": strerror(os_errno)" appended. */
void error_setg_errno(Error **errp, int os_errno, const char *fmt, ...)
    G_GNUC_PRINTF(3, 4);
/* Prefix the message of an error already set in *errp. */
void error_prepend(Error **errp, const char *fmt, ...) G_GNUC_PRINTF(2, 3);
/* Move local_err into *dst (or free it when dst is NULL). */
void error_propagate(Error **dst, Error *local_err);
/* The message; valid until error_free(). */
const char *error_get_pretty(const Error *err);
void error_free(Error *err);
G_DEFINE_AUTOPTR_CLEANUP_FUNC(Error, error_free)

/* Print "kvmini: MSG\n" to stderr. */
void error_report(const char *fmt, ...) G_GNUC_PRINTF(1, 2);
/* Print "kvmini: MSG\n" to stderr, "kvmini: warning: " for warnings. */
void warn_report(const char *fmt, ...) G_GNUC_PRINTF(1, 2);
/* Report err with error_report() and free it. */
void error_report_err(Error *err);

#endif
