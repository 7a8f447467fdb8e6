/* SPDX-License-Identifier: MIT */
/*
 * libqtest: the client side of the qtest protocol for tests.
 *
 * qtest_init() starts the kvmini binary ($KVMINI_BINARY) with
 * $KVMINI_EXTRA_ARGS if set (e.g. '-sandbox on') and
 * "-accel qtest -qtest unix:PATH" on a socket the test listens on, and the
 * returned QTestState then reads and writes guest memory and I/O ports as
 * a guest CPU would.  Every helper that expects "OK" fails the test (g_error,
 * which aborts) on any other reply, printing kvmini's stderr; use
 * qtest_rsp_raw() to check FAIL replies.
 *
 * kvmini's stdout and stderr go to files in a private directory and are
 * printed when the test fails or when kvmini wrote to stderr.  Children are
 * SIGKILLed when the test aborts (a failed assertion), and die with the
 * test process (PR_SET_PDEATHSIG) in any case.
 *
 * Not thread-safe: one thread per QTestState.
 */
#ifndef TESTS_QTEST_LIBQTEST_H
#define TESTS_QTEST_LIBQTEST_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <glib.h>

typedef struct QTestState QTestState;

/* Start kvmini with extra_args (shell syntax, may be NULL) appended to the
 * qtest options; "-serial null" is added unless extra_args has -serial.
 * Waits until kvmini connects; if it exits first, the test fails with its
 * stderr. */
QTestState *qtest_init(const char *extra_args);
/* printf-style variant of qtest_init(). */
QTestState *qtest_initf(const char *fmt, ...) G_GNUC_PRINTF(1, 2);
/* As qtest_init, kvmini run by the command wrapper (NULL-terminated
 * words before kvmini's binary, e.g. the vhost stand-in and its
 * options); qtest_pid() is then the wrapper's. */
QTestState *qtest_init_wrapped(const char *const *wrapper,
                               const char *extra_args);

/* Close the protocol socket, wait for kvmini to exit, assert that it
 * exited with status 0 (so sanitizer reports fail the test) and free s. */
void qtest_quit(QTestState *s);
/* As qtest_quit() but return the exit status instead of asserting it:
 * the exit code, or 128 + signal number if kvmini was killed. */
int qtest_quit_status(QTestState *s);
/* Wait (up to a timeout) for kvmini to exit on its own without closing the
 * socket, e.g. after a debug-exit write; returns the status as above.
 * s must still be freed with qtest_quit_status(). */
int qtest_wait_exit(QTestState *s);
/* kvmini's process id. */
int qtest_pid(QTestState *s);

/* Send one command line (no "\n") and return the reply line without "\n",
 * e.g. "OK 0x..." or "FAIL ..."; asynchronous IRQ lines are consumed on
 * the way.  The caller frees the result. */
char *qtest_rsp_raw(QTestState *s, const char *cmd);
char *qtest_rspf(QTestState *s, const char *fmt, ...) G_GNUC_PRINTF(2, 3);
/* Send raw bytes without reading any reply (for garbage tests). */
void qtest_send_raw(QTestState *s, const void *buf, size_t len);
/* Read one reply line (skipping IRQ lines), after qtest_send_raw(). */
char *qtest_recv_line(QTestState *s);
/* Read the next line whatever it is, IRQ lines included (they are still
 * recorded for qtest_get_irq()). */
char *qtest_recv_any_line(QTestState *s);

uint8_t qtest_readb(QTestState *s, uint64_t addr);
uint16_t qtest_readw(QTestState *s, uint64_t addr);
uint32_t qtest_readl(QTestState *s, uint64_t addr);
uint64_t qtest_readq(QTestState *s, uint64_t addr);
void qtest_writeb(QTestState *s, uint64_t addr, uint8_t value);
void qtest_writew(QTestState *s, uint64_t addr, uint16_t value);
void qtest_writel(QTestState *s, uint64_t addr, uint32_t value);
void qtest_writeq(QTestState *s, uint64_t addr, uint64_t value);

uint8_t qtest_inb(QTestState *s, uint16_t port);
uint16_t qtest_inw(QTestState *s, uint16_t port);
uint32_t qtest_inl(QTestState *s, uint16_t port);
void qtest_outb(QTestState *s, uint16_t port, uint8_t value);
void qtest_outw(QTestState *s, uint16_t port, uint16_t value);
void qtest_outl(QTestState *s, uint16_t port, uint32_t value);

/* Bulk access with "read"/"write" (hex). */
void qtest_memread(QTestState *s, uint64_t addr, void *buf, size_t size);
void qtest_memwrite(QTestState *s, uint64_t addr, const void *buf,
                    size_t size);
/* Bulk access with "b64read"/"b64write". */
void qtest_bufread(QTestState *s, uint64_t addr, void *buf, size_t size);
void qtest_bufwrite(QTestState *s, uint64_t addr, const void *buf,
                    size_t size);
void qtest_memset(QTestState *s, uint64_t addr, uint8_t value, size_t size);

/* Turn on interrupt interception (name: "ioapic" or a device path). */
void qtest_irq_intercept_in(QTestState *s, const char *name);
void qtest_irq_intercept_out(QTestState *s, const char *name);
/* Level of interrupt line n as last reported by kvmini (a no-op command
 * is sent first so that all pending IRQ lines have been read). */
bool qtest_get_irq(QTestState *s, unsigned n);

/* Advance the virtual clock by ns (or to the next deadline with
 * qtest_clock_step_next) / set it; return the new clock in ns. */
int64_t qtest_clock_step(QTestState *s, int64_t ns);
int64_t qtest_clock_step_next(QTestState *s);
int64_t qtest_clock_set(QTestState *s, int64_t ns);

/* Path of the private temporary directory of s (for output files); it is
 * removed with everything in it by qtest_quit(). */
const char *qtest_tmpdir(QTestState *s);

/* Run kvmini (not under qtest) with args (shell syntax) and wait for it
 * to exit (killed after 60 s).  *out and *err (may be NULL) get its
 * stdout/stderr, *status the exit code or 128 + signal.  stdin is
 * /dev/null. */
void qtest_run_kvmini(const char *args, char **out, char **err, int *status);

/* The kvmini binary ($KVMINI_BINARY, else ../../kvmini next to the test). */
const char *qtest_kvmini_binary(void);

/* Move the test process into a network namespace of its own (root), so
 * that the taps its kvmini makes live and die there.  False, with a
 * message, when it cannot; under CI=true that fails the test run
 * instead: CI must run everything. */
bool qtest_enter_netns(void);

#endif
