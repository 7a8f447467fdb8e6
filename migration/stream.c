/* SPDX-License-Identifier: MIT */
/*
 * Encoding helpers for migration state (include/migration/stream.h):
 * big-endian integers and strings into a GByteArray, and the reader that
 * decodes them without ever reading past its buffer.
 */
#include "migration/stream.h"

#include <string.h>

void mig_put_u8(GByteArray *b, uint8_t v)
{
    g_byte_array_append(b, &v, 1);
}

void mig_put_be16(GByteArray *b, uint16_t v)
{
    uint16_t be = GUINT16_TO_BE(v);

    g_byte_array_append(b, (const guint8 *)&be, sizeof(be));
}

void mig_put_be32(GByteArray *b, uint32_t v)
{
    uint32_t be = GUINT32_TO_BE(v);

    g_byte_array_append(b, (const guint8 *)&be, sizeof(be));
}

void mig_put_be64(GByteArray *b, uint64_t v)
{
    uint64_t be = GUINT64_TO_BE(v);

    g_byte_array_append(b, (const guint8 *)&be, sizeof(be));
}

void mig_put_bytes(GByteArray *b, const void *p, size_t len)
{
    g_byte_array_append(b, p, len);
}

void mig_put_str(GByteArray *b, const char *s)
{
    size_t n = strlen(s);

    g_assert(n <= UINT16_MAX);
    mig_put_be16(b, n);
    mig_put_bytes(b, s, n);
}

void mig_reader_init(MigReader *r, const uint8_t *buf, size_t len)
{
    *r = (MigReader){ .buf = buf, .len = len };
}

const uint8_t *mig_get_bytes(MigReader *r, size_t len)
{
    const uint8_t *p;

    if (r->error || len > r->len - r->pos) {
        r->error = true;
        return NULL;
    }
    p = r->buf + r->pos;
    r->pos += len;
    return p;
}

void mig_get_copy(MigReader *r, void *dst, size_t len)
{
    const uint8_t *p = mig_get_bytes(r, len);

    if (p) {
        memcpy(dst, p, len);
    } else if (len) {
        memset(dst, 0, len);
    }
}

static uint64_t get_be(MigReader *r, unsigned n)
{
    const uint8_t *p = mig_get_bytes(r, n);
    uint64_t v = 0;

    for (unsigned i = 0; p && i < n; i++) {
        v = (v << 8) | p[i];
    }
    return v;
}

uint8_t mig_get_u8(MigReader *r)
{
    return get_be(r, 1);
}

uint16_t mig_get_be16(MigReader *r)
{
    return get_be(r, 2);
}

uint32_t mig_get_be32(MigReader *r)
{
    return get_be(r, 4);
}

uint64_t mig_get_be64(MigReader *r)
{
    return get_be(r, 8);
}

char *mig_get_str(MigReader *r)
{
    uint16_t n = mig_get_be16(r);
    const uint8_t *p = mig_get_bytes(r, n);

    return p ? g_strndup((const char *)p, n) : NULL;
}

bool mig_reader_check(MigReader *r, const char *what, Error **errp)
{
    if (r->error || r->pos != r->len) {
        error_setg(errp, "%s: truncated or corrupt (%zu of %zu bytes used)",
                   what, r->pos, r->len);
        return false;
    }
    return true;
}

bool mig_reader_check_short(const MigReader *r, Error **errp)
{
    if (r->error) {
        error_setg(errp, "truncated (%zu bytes)", r->len);
        return false;
    }
    return true;
}
