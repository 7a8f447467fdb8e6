/* SPDX-License-Identifier: MIT */
/*
 * QEMU-style option strings: "value,key=value,flag=on" with ",," standing
 * for a literal comma.  The optional first bare word is stored under an
 * implied key (e.g. the backend type of -chardev).
 */
#ifndef QEMU_OPTION_H
#define QEMU_OPTION_H

#include <stdbool.h>
#include <stdint.h>
#include <glib.h>
#include "qemu/error.h"

/* Parse into a table key -> value (both g_malloc'ed).  A bare word other
 * than the first, or a repeated key, is an error. */
GHashTable *qemu_opts_parse(const char *str, const char *implied_key,
                            Error **errp);

/* Typed look-ups.  Missing keys give the default; malformed values fail
 * with "Parameter 'KEY' expects ...". */
const char *qemu_opt_get(GHashTable *opts, const char *key);
bool qemu_opt_get_bool(GHashTable *opts, const char *key, bool def,
                       bool *out, Error **errp);
bool qemu_opt_get_number(GHashTable *opts, const char *key, uint64_t def,
                         uint64_t *out, Error **errp);
bool qemu_opt_get_size(GHashTable *opts, const char *key, uint64_t def,
                       uint64_t *out, Error **errp);
/* Fail if opts holds a key not in the NULL-terminated list allowed. */
bool qemu_opts_check_keys(GHashTable *opts, const char *const *allowed,
                          Error **errp);

/* Sizes: "512", "64M", "5G", "1T", "4k" (binary units, default MiB when
 * default_suffix is 'M', bytes when 'B').  Returns -EINVAL or -ERANGE. */
int qemu_strtosz(const char *str, char default_suffix, uint64_t *out);
/* Unsigned number, base 0 (0x.. hex), whole string. */
int qemu_strtou64(const char *str, uint64_t *out);

#endif
