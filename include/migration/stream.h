/* SPDX-License-Identifier: MIT */
/*
 * Encoding helpers for migration state: big-endian integers and
 * length-prefixed strings appended to a GByteArray, and a bounds-checked
 * reader for them.  The reader never reads past its buffer: a short or
 * malformed input sets `error` and every later get returns 0 / NULL, so
 * a loader checks once at the end (mig_reader_check).
 */
#ifndef MIGRATION_STREAM_H
#define MIGRATION_STREAM_H

#include <glib.h>
#include <stdbool.h>
#include <stdint.h>

#include "qemu/error.h"

void mig_put_u8(GByteArray *b, uint8_t v);
void mig_put_be16(GByteArray *b, uint16_t v);
void mig_put_be32(GByteArray *b, uint32_t v);
void mig_put_be64(GByteArray *b, uint64_t v);
void mig_put_bytes(GByteArray *b, const void *p, size_t len);
/* be16 length, then the bytes (no NUL); s must be < 64 KiB. */
void mig_put_str(GByteArray *b, const char *s);

typedef struct MigReader {
    const uint8_t *buf;
    size_t len;
    size_t pos;
    bool error;              /* ran past the end or bad data */
} MigReader;

void mig_reader_init(MigReader *r, const uint8_t *buf, size_t len);
uint8_t mig_get_u8(MigReader *r);
uint16_t mig_get_be16(MigReader *r);
uint32_t mig_get_be32(MigReader *r);
uint64_t mig_get_be64(MigReader *r);
/* Pointer to the next len bytes inside the buffer (NULL if short). */
const uint8_t *mig_get_bytes(MigReader *r, size_t len);
/* The next len bytes copied into dst (zeros if short). */
void mig_get_copy(MigReader *r, void *dst, size_t len);
/* A new NUL-terminated copy of a mig_put_str string (NULL if short). */
char *mig_get_str(MigReader *r);
/* False (errp: "WHAT: truncated or corrupt") if an error occurred or
 * bytes are left over. */
bool mig_reader_check(MigReader *r, const char *what, Error **errp);
/* False (errp: "truncated (LEN bytes)") if an error occurred; unlike
 * mig_reader_check, bytes left over are fine (a record read in parts,
 * the caller judges the rest itself). */
bool mig_reader_check_short(const MigReader *r, Error **errp);

#endif
