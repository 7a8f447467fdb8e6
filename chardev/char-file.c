/* SPDX-License-Identifier: MIT */
/* file backend: output appended/truncated to path=, optional input file. */
#include "char-internal.h"
#include "qemu/option.h"

#include <errno.h>
#include <fcntl.h>
#include <unistd.h>

static bool file_open(Chardev *chr, GHashTable *opts, Error **errp)
{
    static const char *const keys[] = { "backend", "id", "path", "append",
                                        "in", NULL };
    const char *path = qemu_opt_get(opts, "path");
    const char *in = qemu_opt_get(opts, "in");
    bool append;

    if (!qemu_opts_check_keys(opts, keys, errp) ||
        !qemu_opt_get_bool(opts, "append", false, &append, errp)) {
        return false;
    }
    if (!path) {
        error_setg(errp, "chardev: file: no filename given");
        return false;
    }
    int flags = O_WRONLY | O_CREAT | O_CLOEXEC | (append ? O_APPEND : O_TRUNC);
    chr->fd_out = open(path, flags, 0666);
    if (chr->fd_out < 0) {
        error_setg_errno(errp, errno, "Could not open '%s'", path);
        return false;
    }
    if (in) {
        chr->fd_in = open(in, O_RDONLY | O_CLOEXEC);
        if (chr->fd_in < 0) {
            error_setg_errno(errp, errno, "Could not open '%s'", in);
            return false;
        }
    }
    chr->connected = true;
    return true;
}

static void file_close(Chardev *chr)
{
    if (chr->fd_out >= 0) {
        close(chr->fd_out);
    }
    if (chr->fd_in >= 0) {
        close(chr->fd_in);
    }
    chr->fd_in = chr->fd_out = -1;
}

const ChardevClass chardev_file_class = {
    .type = "file",
    .open = file_open,
    .write = chardev_fd_write,
    .close = file_close,
    .start_input = chardev_start_fd_input,
};
