/* SPDX-License-Identifier: MIT */
/*
 * Parsing of comma-separated option strings as the QEMU command line uses
 * them (-object, -chardev, -device, -machine ...).
 */
#include "qemu/option.h"

#include <string.h>

/* Copy one element up to an unescaped ',' into out; ",," is a comma. */
static const char *next_element(const char *p, GString *out)
{
    while (*p) {
        if (*p == ',') {
            if (p[1] != ',') {
                return p + 1;
            }
            p++;
        }
        g_string_append_c(out, *p++);
    }
    return p;
}

static bool add_pair(GHashTable *opts, char *elem, bool first,
                     const char *implied_key, Error **errp)
{
    char *eq = strchr(elem, '=');
    const char *key = elem;
    const char *value;

    if (eq) {
        *eq = '\0';
        value = eq + 1;
    } else if (first && implied_key) {
        key = implied_key;
        value = elem;
    } else {
        error_setg(errp, "Invalid parameter '%s'", elem);
        return false;
    }
    if (!*key) {
        error_setg(errp, "Invalid parameter '=%s'", value);
        return false;
    }
    if (g_hash_table_contains(opts, key)) {
        error_setg(errp, "Parameter '%s' given more than once", key);
        return false;
    }
    g_hash_table_insert(opts, g_strdup(key), g_strdup(value));
    return true;
}

GHashTable *qemu_opts_parse(const char *str, const char *implied_key,
                            Error **errp)
{
    g_autoptr(GHashTable) opts =
        g_hash_table_new_full(g_str_hash, g_str_equal, g_free, g_free);
    const char *p = str;
    bool first = true;

    while (*p) {
        g_autoptr(GString) elem = g_string_new(NULL);

        p = next_element(p, elem);
        if (elem->len == 0) {
            continue;
        }
        if (!add_pair(opts, elem->str, first, implied_key, errp)) {
            return NULL;
        }
        first = false;
    }
    return g_steal_pointer(&opts);
}

const char *qemu_opt_get(GHashTable *opts, const char *key)
{
    return g_hash_table_lookup(opts, key);
}

bool qemu_opt_get_bool(GHashTable *opts, const char *key, bool def,
                       bool *out, Error **errp)
{
    const char *v = qemu_opt_get(opts, key);

    if (!v) {
        *out = def;
    } else if (!strcmp(v, "on") || !strcmp(v, "true") || !strcmp(v, "yes")) {
        *out = true;
    } else if (!strcmp(v, "off") || !strcmp(v, "false") || !strcmp(v, "no")) {
        *out = false;
    } else {
        error_setg(errp, "Parameter '%s' expects 'on' or 'off'", key);
        return false;
    }
    return true;
}

bool qemu_opt_get_number(GHashTable *opts, const char *key, uint64_t def,
                         uint64_t *out, Error **errp)
{
    const char *v = qemu_opt_get(opts, key);

    if (!v) {
        *out = def;
        return true;
    }
    if (qemu_strtou64(v, out) < 0) {
        error_setg(errp, "Parameter '%s' expects a number", key);
        return false;
    }
    return true;
}

bool qemu_opt_get_size(GHashTable *opts, const char *key, uint64_t def,
                       uint64_t *out, Error **errp)
{
    const char *v = qemu_opt_get(opts, key);

    if (!v) {
        *out = def;
        return true;
    }
    if (qemu_strtosz(v, 'B', out) < 0) {
        error_setg(errp, "Parameter '%s' expects a size", key);
        return false;
    }
    return true;
}

bool qemu_opts_check_keys(GHashTable *opts, const char *const *allowed,
                          Error **errp)
{
    GHashTableIter it;
    gpointer key;

    g_hash_table_iter_init(&it, opts);
    while (g_hash_table_iter_next(&it, &key, NULL)) {
        if (!g_strv_contains(allowed, key)) {
            error_setg(errp, "Invalid parameter '%s'", (const char *)key);
            return false;
        }
    }
    return true;
}
