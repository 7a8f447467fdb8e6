/* SPDX-License-Identifier: MIT */
/*
 * A macswap peer for a tap interface: a thread with an AF_PACKET socket
 * bound to the interface returns every frame the guest sent with the
 * destination and source MAC addresses swapped (as dpdk-testpmd's macswap
 * does), so that the test guest's test=net can count its own replies.
 * Run it in a private network namespace: it brings the interface up.
 */
#ifndef TESTS_FUNCTIONAL_TAP_REFLECTOR_H
#define TESTS_FUNCTIONAL_TAP_REFLECTOR_H

#include <glib.h>
#include <stdint.h>

typedef struct TapReflector {
    char *ifname;
    GThread *thread;
    gint stop;
    uint64_t reflected;     /* frames sent back */
    uint64_t send_errors;
    gint up;                /* 1 once the interface is up and bound */
} TapReflector;

/* Start the thread: it waits (up to 60 s) for ifname to exist, brings it
 * up, binds to it and reflects until stopped. */
void tap_reflector_start(TapReflector *r, const char *ifname);
/* Stop and join the thread; r->reflected stays valid. */
void tap_reflector_stop(TapReflector *r);

#endif
