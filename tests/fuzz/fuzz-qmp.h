/* SPDX-License-Identifier: MIT */
/*
 * What the files of the fuzz-qmp target share: the harness (fuzz-qmp.c:
 * the machine, the client socket, the operations an input is decoded
 * into), the checks (fuzz-qmp-oracle.c: what the client must receive for
 * what it sent) — all a libFuzzer build needs — and the standalone
 * campaign (fuzz-qmp-seeds.c: seeds written as operations, main()).
 *
 * An input is a list of operations whose first byte (modulo FQM_OP_COUNT)
 * picks one:
 *   FQM_OP_CMD     a request from parts: a command name byte (the
 *                  documented commands and some kvmini does not have), an
 *                  id kind, shape flags (execute misspelt, an unexpected
 *                  member, arguments that are no object), up to 7
 *                  arguments (a key byte, a value kind byte and its
 *                  bytes: names the machine knows, raw bytes as a JSON
 *                  string, numbers, booleans, null, lists, objects), and
 *                  how it ends (nothing, \n, \r\n, blanks);
 *   FQM_OP_RAW     up to 255 bytes as they are;
 *   FQM_OP_DEEP    up to 2047 opening brackets (arrays or objects),
 *                  closed again or not;
 *   FQM_OP_HUGE    a request whose id is a string of 64 bytes to 252 KiB
 *                  (fqm_huge_len), or past the 64 MiB limit, ended or
 *                  not;
 *   FQM_OP_MANY    up to 63 requests in one write, without separators;
 *   FQM_OP_FD      getfd with a memfd attached, closefd, or a request
 *                  with an fd nobody asked for;
 *   FQM_OP_SYNC    wait for every reply owed so far;
 *   FQM_OP_RECONNECT  wait for the replies, hang up, connect again.
 * Before anything is sent the whole input is split into values with the
 * monitor's own splitter and parsed as the monitor does: an input that
 * would name a path outside the private directory or start a migration
 * is skipped (kvmini would do what it is told: write or connect there).
 */
#ifndef TESTS_FUZZ_FUZZ_QMP_H
#define TESTS_FUZZ_FUZZ_QMP_H

#include "fuzz-common.h"

#include <json-glib/json-glib.h>

enum {
    FQM_OP_CMD, FQM_OP_RAW, FQM_OP_DEEP, FQM_OP_HUGE, FQM_OP_MANY,
    FQM_OP_FD, FQM_OP_SYNC, FQM_OP_RECONNECT, FQM_OP_COUNT
};

/* Value kinds of an argument (the kind byte modulo FQM_V_COUNT). */
enum {
    FQM_V_NAME,     /* u8: a string from the table of names */
    FQM_V_BYTES,    /* u8 n, n bytes: a JSON string of them */
    FQM_V_INT,      /* u64 */
    FQM_V_BOOL,     /* u8 */
    FQM_V_NULL,
    FQM_V_DOUBLE,   /* u8 */
    FQM_V_LIST,     /* u8 n: n names */
    FQM_V_OBJECT,   /* u8 n: n members, a key byte and a value each */
    FQM_V_COUNT
};

/* Shape flags of FQM_OP_CMD. */
#define FQM_SHAPE_EXEC_TYPO     0x01    /* "exec" instead of "execute" */
#define FQM_SHAPE_EXTRA         0x02    /* "control": {} */
#define FQM_SHAPE_ARGS_LIST     0x04    /* "arguments": [] */
#define FQM_SHAPE_ID_FIRST      0x08
#define FQM_SHAPE_NO_ARGS       0x10    /* no "arguments" member */

#define FQM_MAX_OPS             128
#define FQM_MAX_INPUT           8192

extern const char *const fqm_commands[];
extern const unsigned fqm_n_commands;
extern const char *const fqm_keys[];
extern const unsigned fqm_n_keys;
extern const char *const fqm_names[];
extern const unsigned fqm_n_names;

typedef struct FqmStats {
    unsigned values, replies, errors, events, reconnects, skipped_unsafe;
    unsigned fds_sent, huge, negotiated;
} FqmStats;

extern FqmStats fqm_stats;

/* Run one input; true if it ran and every request got "return". */
bool fqm_fuzz_one(const uint8_t *data, size_t size);

/* --- fuzz-qmp-oracle.c --- */

/* What the client expects on one connection. */
typedef struct FqmModel {
    GQueue owed;            /* FqmOwed *: a reply for each value sent */
    bool greeted, negotiated, paused;
    GPtrArray *events;      /* names of events since the last reply */
} FqmModel;

void fqm_model_init(FqmModel *m, bool paused);
void fqm_model_free(FqmModel *m);
/* A value the monitor will answer: its text (NULL with the splitter's
 * error); takes a copy. */
void fqm_model_expect(FqmModel *m, const char *text);
/* Check one line kvmini wrote (without "\r\n"). */
void fqm_model_line(FqmModel *m, const char *line);
/* Is text a request the harness must not send (a path outside the
 * private directory, a migration)? */
bool fqm_unsafe(const char *text);

#endif
