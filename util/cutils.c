/* SPDX-License-Identifier: MIT */
/* Number and size parsing with full validation (no trailing garbage). */
#include "qemu/option.h"

#include <errno.h>
#include <stdlib.h>

int qemu_strtou64(const char *str, uint64_t *out)
{
    char *end;
    unsigned long long v;

    if (!str || !*str || *str == '-' || g_ascii_isspace(*str)) {
        return -EINVAL;
    }
    errno = 0;
    v = strtoull(str, &end, 0);
    if (errno) {
        return -errno;
    }
    if (*end) {
        return -EINVAL;
    }
    *out = v;
    return 0;
}

static int suffix_shift(char c)
{
    switch (g_ascii_toupper(c)) {
    case 'B': return 0;
    case 'K': return 10;
    case 'M': return 20;
    case 'G': return 30;
    case 'T': return 40;
    case 'P': return 50;
    default: return -1;
    }
}

int qemu_strtosz(const char *str, char default_suffix, uint64_t *out)
{
    char *end;
    unsigned long long v;
    int shift;

    if (!str || !g_ascii_isdigit(*str)) {
        return -EINVAL;
    }
    errno = 0;
    v = strtoull(str, &end, 10);
    if (errno) {
        return -errno;
    }
    if (*end == '\0') {
        shift = suffix_shift(default_suffix);
    } else if (end[1] == '\0' || (g_ascii_toupper(end[1]) == 'B' && !end[2])) {
        shift = suffix_shift(*end);
    } else {
        return -EINVAL;
    }
    if (shift < 0) {
        return -EINVAL;
    }
    if (shift && v > (UINT64_MAX >> shift)) {
        return -ERANGE;
    }
    *out = (uint64_t)v << shift;
    return 0;
}
