/* SPDX-License-Identifier: MIT */
/*
 * libqmp: a QMP client for tests, over a unix socket, with json-glib.
 *
 * The server's output is read as lines (kvmini ends every reply and event
 * with "\r\n", as QEMU does) and each line is parsed as one JSON object.
 * Events met while waiting for a reply are queued, in order, for
 * qmp_wait_event() / qmp_next_event().  Functions fail the test (g_error)
 * on a timeout, a closed connection or a line that is not JSON, unless
 * they say otherwise.  Not thread-safe: one thread per QmpClient.
 */
#ifndef TESTS_QTEST_LIBQMP_H
#define TESTS_QTEST_LIBQMP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <json-glib/json-glib.h>

#define QMP_TIMEOUT_MS 10000

typedef struct QmpClient QmpClient;

/* Connect to the QMP socket at path (retrying while it does not exist or
 * refuses, up to QMP_TIMEOUT_MS) and read the greeting. */
QmpClient *qmp_connect(const char *path);
/* Connect without reading anything; NULL if the connection failed. */
QmpClient *qmp_connect_raw(const char *path);
/* The greeting object ({"QMP": ...}), owned by c. */
JsonObject *qmp_greeting(QmpClient *c);
/* Close the socket, free queued events and c. */
void qmp_close(QmpClient *c);

/* Send bytes as they are. */
void qmp_send_raw(QmpClient *c, const void *buf, size_t len);
/* The next message, event or not; NULL on timeout or when the server
 * closed the connection (qmp_eof() tells which).  Caller unrefs. */
JsonNode *qmp_recv(QmpClient *c, int timeout_ms);
/* True once the server closed the connection. */
bool qmp_eof(QmpClient *c);
/* Wait up to timeout_ms for the server to close the connection. */
bool qmp_wait_eof(QmpClient *c, int timeout_ms);

/* Send the printf-formatted JSON text and return the next message that is
 * not an event (queuing the events before it).  Caller unrefs. */
JsonNode *qmp_cmd(QmpClient *c, const char *fmt, ...) G_GNUC_PRINTF(2, 3);
/* qmp_cmd() that must succeed: a copy of its "return" value. */
JsonNode *qmp_cmd_ok(QmpClient *c, const char *fmt, ...) G_GNUC_PRINTF(2, 3);
/* Send {"execute": "qmp_capabilities"} and check the reply is {}. */
void qmp_negotiate(QmpClient *c);

/* reply must be {"error": {"class": cls, "desc": ...}}; returns desc
 * (valid while reply lives). */
const char *qmp_expect_error(JsonNode *reply, const char *cls);
/* The reply's "return" member (borrowed); fails if there is none. */
JsonNode *qmp_return(JsonNode *reply);

/* The first queued or new event called name (events before it stay
 * queued); NULL on timeout.  Caller unrefs. */
JsonNode *qmp_wait_event(QmpClient *c, const char *name, int timeout_ms);
/* Poll query-migrate (every 10 ms) until the migration ends (completed,
 * failed or cancelled) and return that status (g_free it); *error gets
 * "error-desc" if present, else NULL.  Fails the test after timeout_ms. */
char *qmp_wait_migration_end(QmpClient *c, int timeout_ms, char **error);
/* Poll query-migrate (every 10 ms) until "status" is want and return
 * that reply's return value (caller unrefs).  Fails the test (g_error
 * naming the status and "error-desc") if the migration reaches another
 * final status (completed, failed, cancelled) first, or after
 * timeout_ms. */
JsonNode *qmp_wait_migration_status(QmpClient *c, const char *want,
                                    int timeout_ms);
/* Poll query-migrate (every 10 ms) until the counter "ram"."stat" is
 * at least min and return that reply's return value (caller unrefs).
 * With during set, every reply (that one included) must have status
 * during; otherwise a final status first fails the test.  So does
 * timeout_ms. */
JsonNode *qmp_wait_migration_ram(QmpClient *c, const char *stat,
                                 int64_t min, const char *during,
                                 int timeout_ms);
/* The oldest queued event, or the next to arrive within timeout_ms;
 * NULL if none.  Caller unrefs. */
JsonNode *qmp_next_event(QmpClient *c, int timeout_ms);

/* Compact JSON text of node (json-glib's generator); caller frees. */
char *qmp_to_string(JsonNode *node);

#endif
