/* SPDX-License-Identifier: MIT */
/*
 * Debug logging behind `-d` categories, off by default.  The mask is set
 * once from the command line before any thread starts and is read-only
 * afterwards.
 */
#ifndef QEMU_LOG_H
#define QEMU_LOG_H

#include <stdbool.h>
#include "qemu/error.h"

enum {
    LOG_GUEST_ERROR = 1 << 0,   /* guest did something invalid */
    LOG_UNIMP       = 1 << 1,   /* guest used an unimplemented feature */
    LOG_VHOST       = 1 << 2,   /* vhost messages */
    LOG_KVM         = 1 << 3,   /* KVM exits */
};

/* Parse "guest_errors,unimp,..." into the active mask. */
bool qemu_log_set_categories(const char *list, Error **errp);
/* Help text listing the categories. */
const char *qemu_log_help(void);
bool qemu_loglevel_mask(int mask);
void qemu_log_mask(int mask, const char *fmt, ...) G_GNUC_PRINTF(2, 3);

#endif
