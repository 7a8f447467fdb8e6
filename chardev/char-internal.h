/* SPDX-License-Identifier: MIT */
/* Private interface between the chardev core and its backends. */
#ifndef CHARDEV_CHAR_INTERNAL_H
#define CHARDEV_CHAR_INTERNAL_H

#include "chardev/char.h"

extern const ChardevClass chardev_stdio_class;
extern const ChardevClass chardev_file_class;
extern const ChardevClass chardev_socket_class;
extern const ChardevClass chardev_null_class;

/* Watch chr->fd_in on the main loop and feed the frontend. */
void chardev_start_fd_input(Chardev *chr);
void chardev_stop_input(Chardev *chr);
/* Stop input and tell the frontend the peer went away. */
void chardev_notify_closed(Chardev *chr);
/* write(2) to fd_out; fds are not supported. */
ssize_t chardev_fd_write(Chardev *chr, const uint8_t *buf, size_t len,
                         const int *fds, size_t nfds);
void chardev_drop_fds(Chardev *chr);

#endif
