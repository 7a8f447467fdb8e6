/* SPDX-License-Identifier: MIT */
/*
 * What the soak tests (suite 'soak') share: how many cycles to run — a
 * default sized so that the whole suite stays within a few minutes in CI,
 * or KVMINI_SOAK_CYCLES=N for the longer runs by hand (docs/testing.md) —
 * a seeded random source (KVMINI_SOAK_SEED), a process's open fds and
 * resident memory read from /proc, and the figure lines each test prints
 * on stderr ("soak: ...") for the record.
 */
#ifndef TESTS_SOAK_SOAK_COMMON_H
#define TESTS_SOAK_SOAK_COMMON_H

#include <glib.h>
#include <stdint.h>

/* ci_default, or KVMINI_SOAK_CYCLES if set (a positive number; anything
 * else fails the test). */
unsigned soak_cycles(unsigned ci_default);
/* A random source seeded with KVMINI_SOAK_SEED, else a fixed seed, so
 * that a run can be repeated; the seed is printed.  g_rand_free it. */
GRand *soak_rand(void);

/* Entries in /proc/PID/fd. */
unsigned soak_proc_fds(int pid);
/* The count at rest: the fewest of several readings 20 ms apart.  While
 * kvmini's worker waits for a backend's reply it holds a duplicate of the
 * socket (chardev/char-socket.c), and a reply (an ack) may still be on
 * its way after the ring already runs; a leaked fd is in every reading. */
unsigned soak_proc_fds_settled(int pid);
/* A "Key:   N kB" line of /proc/PID/status (VmRSS, RssAnon, ...), in
 * KiB. */
uint64_t soak_proc_status_kib(int pid, const char *key);
/* VmRSS, in KiB. */
uint64_t soak_proc_rss_kib(int pid);
/* The targets of /proc/PID/fd, one per line, sorted (for a failure
 * message that shows what leaked).  Caller frees. */
char *soak_proc_fd_list(int pid);

/* How many times needle occurs in text. */
unsigned soak_count(const char *text, const char *needle);

/* One line on stderr, prefixed "soak: " (meson keeps it in the test
 * log; `meson test -v` shows it). */
void soak_log(const char *fmt, ...) G_GNUC_PRINTF(1, 2);
/* Seconds since t0 (g_get_monotonic_time()). */
double soak_seconds(gint64 t0);

#endif
