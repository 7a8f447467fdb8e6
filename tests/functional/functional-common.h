/* SPDX-License-Identifier: MIT */
/*
 * Helpers for functional tests: locate kvmini, the test guest and peer
 * programs; run a command with a time limit and capture what it printed.
 * A missing prerequisite skips the test with a message, except under
 * CI=true, where it fails: CI must run everything.
 */
#ifndef TESTS_FUNCTIONAL_COMMON_H
#define TESTS_FUNCTIONAL_COMMON_H

#include <glib.h>
#include <stdbool.h>
#include <stdint.h>

typedef struct RunResult {
    char *out;          /* stdout */
    char *err;          /* stderr */
    int status;         /* exit status, or 128 + signal */
    bool timed_out;
} RunResult;

/* Diagnostics (program output, counters) go to stderr, which meson shows
 * for a failing test, also in CI; g_test_message would hide them in the
 * TAP stream. */
void test_log(const char *fmt, ...) G_GNUC_PRINTF(1, 2);

/* Skip (or fail under CI=true) unless the thing is there. */
bool require_kvm(void);
bool require_program(const char *name);
/* Skip (or fail under CI=true) because what is missing; returns false.
 * For prerequisites the two above do not cover. */
bool require_failed(const char *what);

const char *kvmini_binary(void);
const char *guest_elf(void);

/* Run argv (NULL-terminated) with a time limit in seconds.  Here and in
 * peer_start(), a kvmini command gets $KVMINI_EXTRA_ARGS (shell words)
 * right after the binary: meson runs the suite once more with
 * '-sandbox on,...' that way. */
void run_command(const char *const *argv, unsigned timeout_s, RunResult *r);
/* Run kvmini with "-kernel GUEST -serial stdio" + the args given in a
 * shell-like string. */
void run_kvmini_guest(const char *args, unsigned timeout_s, RunResult *r);
void run_result_clear(RunResult *r);

/* A peer program running in the background (qemu-storage-daemon, ...). */
typedef struct Peer {
    GPid pid;
    char *log_path;     /* its stdout+stderr */
} Peer;

/* Start argv; wait up to 10 s for wait_path to exist (a socket it
 * creates; NULL: don't wait).  Fails the test if it dies or the path
 * never appears. */
void peer_start(Peer *p, const char *const *argv, const char *wait_path);
/* SIGTERM (then SIGKILL after 5 s), reap, print its log on failure. */
void peer_stop(Peer *p);
/* SIGKILL now, reap (simulates a crashed backend). */
void peer_kill(Peer *p);
/* As peer_stop, returning everything the peer printed (g_free it). */
char *peer_stop_log(Peer *p);

/* dpdk-testpmd with a vhost-user port in macswap mode on sock, `queues`
 * queue pairs; client=true makes it dial a listening kvmini. */
void testpmd_start(Peer *p, const char *sock, unsigned queues, bool client);
/* The same with DPDK file prefix kvmini-ft-<pid>-<tag> (NULL: none), so
 * that several instances can run at once. */
void testpmd_start_named(Peer *p, const char *sock, unsigned queues,
                         bool client, const char *tag);
/* Sum of "<key> <N>" counters in testpmd's final port statistics. */
uint64_t testpmd_counter(const char *log, const char *key);

/* Wait up to timeout_s for the peer to exit by itself; r gets its output
 * (stdout and stderr together, in r->out) and status. */
void peer_wait_exit(Peer *p, unsigned timeout_s, RunResult *r);
/* Wait up to timeout_s until the peer's output contains text (0: look
 * once). */
bool peer_wait_output(Peer *p, const char *text, unsigned timeout_s);

/* qemu-storage-daemon exporting image as vhost-user-blk on sock. */
void qsd_start(Peer *p, const char *image, const char *sock,
               unsigned num_queues);

/* A private temporary directory, removed with its files by
 * tmpdir_remove(). */
char *tmpdir_new(void);
void tmpdir_remove(const char *dir);

/* The test guest's "net: warm-up: sent W, echoed E" line in out
 * (test=net with net_warmup_ms=); fails the test if it is missing or no
 * warm-up frame came back. */
void net_warmup_counts(const char *out, uint64_t *sent, uint64_t *echoed);

/* vhost-net: the kernel's /dev/vhost-net where the host has it, else the
 * stand-in (tests/vhost-standin, path in $VHOST_STANDIN). */
bool vhost_net_is_real(void);
/* Skip (fail under CI=true) unless one of them is there. */
bool require_vhost_net(void);
/* cmd as it must run to reach vhost-net: itself with the real device,
 * else under the stand-in (trace, stats: its --trace/--stats files, NULL
 * for none).  Logs which one once.  Free with g_strfreev. */
char **vhost_net_command(const char *const *cmd, const char *trace,
                         const char *stats);

/* From the stand-in's --stats text: "key=N" of device dev ("dev1");
 * fails the test if it is not there. */
uint64_t standin_stat(const char *stats, const char *dev, const char *key);

/* Number of lines of text starting with prefix. */
unsigned count_lines_with_prefix(const char *text, const char *prefix);

#endif
