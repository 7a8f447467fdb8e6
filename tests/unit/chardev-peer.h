/* SPDX-License-Identifier: MIT */
/*
 * What the chardev unit tests (test-chardev.c, test-chardev-connect.c)
 * share: the fixture (a temporary directory for the socket, a frontend
 * that records its events and the bytes it receives) and the test's side
 * of a unix socket connection, with the glib main loop driven by the test
 * itself (PUMP_UNTIL).
 */
#ifndef TESTS_UNIT_CHARDEV_PEER_H
#define TESTS_UNIT_CHARDEV_PEER_H

#include "chardev/char.h"

#include <sys/un.h>

#define WAIT_MS 2000

/* Run the main loop until cond holds or ms pass. */
#define PUMP_UNTIL(cond, ms)                                               \
    do {                                                                   \
        gint64 end_ = g_get_monotonic_time() + (gint64)(ms) * 1000;        \
        while (!(cond) && g_get_monotonic_time() < end_) {                 \
            if (!g_main_context_iteration(NULL, FALSE)) {                  \
                g_usleep(1000);                                            \
            }                                                              \
        }                                                                  \
    } while (0)

typedef struct Fixture {
    char *dir;
    char *path;             /* dir/chr.sock */
    Chardev *chr;
    GString *events;        /* 'O' per OPENED, 'C' per CLOSED, in order */
    GByteArray *rx;         /* bytes through the receive callback */
    bool in_call;           /* inside a chardev call that must not notify */
    unsigned events_in_call;
} Fixture;

/* A fixture test and its gtest path. */
typedef struct ChardevTest {
    const char *path;
    void (*fn)(Fixture *, gconstpointer);
} ChardevTest;

/* Register tests[0..n) with the fixture, in order. */
void chardev_tests_add(const ChardevTest *tests, size_t n);

/* The frontend handlers: bytes into f->rx, events into f->events. */
void fe_receive(void *opaque, const uint8_t *buf, size_t len);
void fe_event(void *opaque, ChrEvent event);

/* qemu_chr_new_from_opts() of fmt with path; must succeed. */
Chardev *chr_new(const char *fmt, const char *path);
/* The error message of a chardev that must fail to open. */
char *chr_new_error(const char *fmt, const char *path);

void fill_sa(struct sockaddr_un *sa, const char *path);
/* A blocking client connected to path. */
int unix_connect(const char *path);
/* The peer of fd closed its end (EOF without blocking). */
bool peer_closed(int fd);
/* Read exactly len bytes from the test's end, at most WAIT_MS. */
void read_exact(int fd, void *buf, size_t len);
void send_str(int fd, const char *s);
/* kvmini -> test and test -> kvmini over connection cfd. */
void check_data_both_ways(Fixture *f, int cfd, const char *out,
                          const char *in);
/* A server chardev at f->path with a connected client, both handlers
 * set unless event_only; returns the client's end. */
int server_with_client(Fixture *f, bool event_only);
/* qemu_chr_fe_disconnect() that must not notify from inside. */
void fe_disconnect_checked(Fixture *f);

/* test-chardev-connect.c's tests; test-chardev.c's main() registers them
 * after its own and before its fd-leak check. */
void chardev_connect_tests_add(void);

#endif
