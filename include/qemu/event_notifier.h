/* SPDX-License-Identifier: MIT */
/*
 * EventNotifier: an eventfd used as a doorbell between kvmini, KVM
 * (ioeventfd/irqfd) and vhost backends.
 */
#ifndef QEMU_EVENT_NOTIFIER_H
#define QEMU_EVENT_NOTIFIER_H

#include <stdbool.h>
#include "qemu/error.h"

typedef struct EventNotifier {
    int fd;           /* -1 when not initialised */
} EventNotifier;

/* Create a non-blocking, close-on-exec eventfd, signalled if active. */
bool event_notifier_init(EventNotifier *e, bool active, Error **errp);
/* Close the fd; safe on a never-initialised (fd == -1 or zeroed) notifier
 * only if it was set to -1 with event_notifier_init_fd(e, -1). */
void event_notifier_cleanup(EventNotifier *e);
/* Adopt an existing fd (ownership moves to e). */
void event_notifier_init_fd(EventNotifier *e, int fd);
int event_notifier_get_fd(const EventNotifier *e);
/* Signal; returns 0 or -errno. */
int event_notifier_set(EventNotifier *e);
/* Consume a pending signal; true if one was pending. */
bool event_notifier_test_and_clear(EventNotifier *e);

#endif
