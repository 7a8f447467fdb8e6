/* SPDX-License-Identifier: MIT */
/* stdio and null backends: the process's stdin/stdout, or nothing. */
#include "char-internal.h"

#include <unistd.h>

static bool stdio_open(Chardev *chr, GHashTable *opts, Error **errp)
{
    chr->fd_in = STDIN_FILENO;
    chr->fd_out = STDOUT_FILENO;
    chr->connected = true;
    return true;
}

static void stdio_close(Chardev *chr)
{
    /* stdin/stdout belong to the process: never close them. */
    chr->fd_in = chr->fd_out = -1;
}

const ChardevClass chardev_stdio_class = {
    .type = "stdio",
    .open = stdio_open,
    .write = chardev_fd_write,
    .close = stdio_close,
    .start_input = chardev_start_fd_input,
};

static bool null_open(Chardev *chr, GHashTable *opts, Error **errp)
{
    chr->connected = true;
    return true;
}

const ChardevClass chardev_null_class = {
    .type = "null",
    .open = null_open,
    .write = chardev_fd_write,
};
