/* SPDX-License-Identifier: MIT */
/*
 * The qtest protocol server: a line protocol (QEMU's qtest) that lets a
 * test program read and write guest memory, MMIO and port I/O, watch
 * interrupt lines and drive a virtual clock, without any guest CPU.
 *
 * The server is transport-free so that it can be unit-tested and fuzzed:
 * bytes go in through qtest_server_feed() (or whole lines through
 * qtest_server_process_line()) and every reply, and every asynchronous
 * "IRQ raise/lower N" line, goes out through the QTestReplyFn given at
 * creation.  The qtest accelerator (accel/qtest/qtest.c) connects it to a
 * chardev.
 *
 * Threading: main loop only.  Commands that touch memory or devices take
 * ms->lock around the access; qtest_server_set_irq() is called with it held
 * (from device code).
 */
#ifndef SYSEMU_QTEST_H
#define SYSEMU_QTEST_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "qemu/error.h"

typedef struct MachineState MachineState;
typedef struct AccelOps AccelOps;
typedef struct QTestServer QTestServer;

/* The qtest accelerator (accel/qtest/qtest.c): the server on the
 * -qtest chardev, no vCPU.  Picked by name in system/vl.c
 * (sysemu/accel.h). */
extern const AccelOps qtest_accel_ops;

/* Largest transfer of read/write/b64read/b64write/memset, in bytes. */
#define QTEST_MAX_XFER   (16u * 1024 * 1024)
/* Longest accepted command line; longer lines are dropped with a FAIL. */
#define QTEST_MAX_LINE   (2 * QTEST_MAX_XFER + 256)
/* Interrupt lines the server tracks (GSIs 0..QTEST_MAX_GSI-1). */
#define QTEST_MAX_GSI    256

/* Send len bytes of one or more complete "\n"-terminated lines. */
typedef void QTestReplyFn(void *opaque, const char *buf, size_t len);

/* Create a server for ms (which must outlive it).  reply may be NULL
 * (output dropped).  Returns a new server; free with qtest_server_free(). */
QTestServer *qtest_server_new(MachineState *ms, QTestReplyFn *reply,
                              void *opaque);
/* Free the server and close its log; NULL is a no-op. */
void qtest_server_free(QTestServer *s);

/* Log every command and reply (with a timestamp) to path, created or
 * truncated.  Returns false and sets errp if it cannot be opened. */
bool qtest_server_set_log(QTestServer *s, const char *path, Error **errp);

/* Append received bytes; every complete line is executed in order. */
void qtest_server_feed(QTestServer *s, const uint8_t *buf, size_t len);
/* Execute one command line (without its "\n"; a trailing "\r" is ignored)
 * and send exactly one reply line. */
void qtest_server_process_line(QTestServer *s, const char *line);
/* Forget any partial line (the peer went away). */
void qtest_server_reset_input(QTestServer *s);

/* An interrupt line changed (ms->lock held).  When interception is on and
 * the level differs from the last one, "IRQ raise N" or "IRQ lower N" is
 * sent.  Lines >= QTEST_MAX_GSI are ignored. */
void qtest_server_set_irq(QTestServer *s, unsigned gsi, int level);

#endif
