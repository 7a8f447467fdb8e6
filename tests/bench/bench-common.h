/* SPDX-License-Identifier: MIT */
/* Small helpers shared by the benchmarks: spawning with output capture,
 * medians, and picking numbers out of guest and kvmini output. */
#ifndef TESTS_BENCH_COMMON_H
#define TESTS_BENCH_COMMON_H

#include <stddef.h>
#include <sys/types.h>

/* Run argv with stdin from /dev/null, stdout+stderr into out (NUL
 * terminated, at most n - 1 bytes); returns the exit status. */
int bench_run_capture(char *const argv[], char *out, size_t n);
/* Start argv in the background with output to /dev/null (or log_path). */
pid_t bench_spawn(char *const argv[], const char *log_path);
/* Wait up to timeout_ms for path to exist. */
int bench_wait_path(const char *path, int timeout_ms);
/* SIGTERM, wait; SIGKILL after 5 s. */
void bench_stop(pid_t pid, int sig);
/* Median of v[0..n) (v is sorted in place). */
double bench_median(double *v, int n);
/* The number after the first occurrence of key in text, or -1. */
double bench_number_after(const char *text, const char *key);

#endif
