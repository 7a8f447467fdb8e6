/* SPDX-License-Identifier: MIT */
/*
 * `-d` debug categories.  The mask is written once by main() while the
 * process is single threaded, then only read: it is configuration, not
 * shared mutable state.
 */
#include "qemu/log.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

static int log_mask;

static const struct {
    const char *name;
    int mask;
} log_categories[] = {
    { "guest_errors", LOG_GUEST_ERROR },
    { "unimp", LOG_UNIMP },
    { "vhost", LOG_VHOST },
    { "kvm", LOG_KVM },
};

bool qemu_log_set_categories(const char *list, Error **errp)
{
    g_auto(GStrv) names = g_strsplit(list, ",", -1);
    int mask = 0;

    for (int i = 0; names[i]; i++) {
        size_t j;

        for (j = 0; j < G_N_ELEMENTS(log_categories); j++) {
            if (!strcmp(names[i], log_categories[j].name)) {
                mask |= log_categories[j].mask;
                break;
            }
        }
        if (j == G_N_ELEMENTS(log_categories)) {
            error_setg(errp, "unknown log category '%s' (try -d help)", names[i]);
            return false;
        }
    }
    log_mask = mask;
    return true;
}

const char *qemu_log_help(void)
{
    return "Log items (comma separated):\n"
           "guest_errors  log when the guest does something invalid\n"
           "unimp         log unimplemented functionality\n"
           "vhost         log vhost backend traffic\n"
           "kvm           log KVM exits\n";
}

bool qemu_loglevel_mask(int mask)
{
    return (log_mask & mask) != 0;
}

void qemu_log_mask(int mask, const char *fmt, ...)
{
    va_list ap;

    if (!(log_mask & mask)) {
        return;
    }
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
}
