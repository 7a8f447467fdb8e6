/* SPDX-License-Identifier: MIT */
/*
 * vhost-standin [--trace FILE] [--stats FILE] [--fail NAME[@N]=ERRNO]...
 *               -- PROGRAM ARGS...
 *
 * Runs PROGRAM under a seccomp filter and serves /dev/vhost-net to it as
 * Linux 6.1 does (a test instrument for hosts without vhost modules; see
 * README.md).  Exits with PROGRAM's status (128 + signal if it was
 * killed); SIGTERM and SIGINT are forwarded to it; SIGUSR1 rewrites the
 * statistics file.
 *
 *   --trace FILE   one line per served request: "devN NAME key=value ...
 *                  -> RESULT" (RESULT: a value, or -ERRNAME)
 *   --stats FILE   ioctl counts and per-device data-path counters, written
 *                  at exit and on SIGUSR1
 *   --fail NAME[@N]=ERRNO
 *                  test knob: the Nth call (1-based; every call without
 *                  @N) of ioctl NAME (as in the trace, e.g. SET_MEM_TABLE)
 *                  fails with ERRNO (EPERM, EFAULT, ENOBUFS, ... or a
 *                  number) and has no side effect.  Not kernel behaviour:
 *                  it checks how the VMM handles a failure reply.
 */
#include "standin.h"

#include <errno.h>
#include <linux/seccomp.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

static void usage(void)
{
    fprintf(stderr, "usage: vhost-standin [--trace FILE] [--stats FILE] "
            "[--fail NAME[@N]=ERRNO]... -- PROGRAM ARGS...\n");
}

/* Options up to "--"; returns the index of PROGRAM or -1. */
static int parse_args(Standin *s, int argc, char **argv)
{
    int i;

    for (i = 1; i < argc && strcmp(argv[i], "--") != 0; i++) {
        const char *val = i + 1 < argc ? argv[i + 1] : NULL;

        if (!val) {
            return -1;
        }
        if (strcmp(argv[i], "--trace") == 0) {
            s->trace = fopen(val, "we");
            if (!s->trace) {
                fprintf(stderr, "vhost-standin: %s: %s\n", val,
                        strerror(errno));
                return -1;
            }
        } else if (strcmp(argv[i], "--stats") == 0) {
            s->stats_path = g_strdup(val);
        } else if (strcmp(argv[i], "--fail") == 0) {
            if (!standin_fail_parse(s, val)) {
                fprintf(stderr, "vhost-standin: bad --fail %s\n", val);
                return -1;
            }
        } else {
            return -1;
        }
        i++;
    }
    return i + 1 < argc ? i + 1 : -1;
}

static void standin_init(Standin *s)
{
    memset(s, 0, sizeof(*s));
    s->listener = -1;
    s->sigfd = -1;
    pthread_mutex_init(&s->trace_lock, NULL);
    pthread_mutex_init(&s->log_lock, NULL);
    s->devices = g_ptr_array_new();
    s->history = g_ptr_array_new_with_free_func(g_free);
    s->fails = g_array_new(FALSE, TRUE, sizeof(StandinFail));
    s->ioctl_counts = g_hash_table_new_full(g_str_hash, g_str_equal, g_free,
                                            NULL);
    s->sizes = g_new0(struct seccomp_notif_sizes, 1);
}

static void standin_cleanup(Standin *s)
{
    for (guint i = 0; i < s->fails->len; i++) {
        g_free(g_array_index(s->fails, StandinFail, i).name);
    }
    g_array_free(s->fails, TRUE);
    g_ptr_array_free(s->devices, TRUE);
    g_ptr_array_free(s->history, TRUE);
    g_hash_table_destroy(s->ioctl_counts);
    g_free(s->sizes);
    g_free(s->stats_path);
    if (s->trace) {
        fclose(s->trace);
    }
}

int main(int argc, char **argv)
{
    Standin s;
    int prog, status;

    standin_init(&s);
    prog = parse_args(&s, argc, argv);
    if (prog < 0) {
        usage();
        standin_cleanup(&s);
        return 125;
    }
    if (syscall(__NR_seccomp, SECCOMP_GET_NOTIF_SIZES, 0, s.sizes) < 0) {
        fprintf(stderr, "vhost-standin: seccomp notification sizes: %s\n",
                strerror(errno));
        standin_cleanup(&s);
        return 125;
    }
    /* Our buffers are the size of our headers' structs at least. */
    s.sizes->seccomp_notif = MAX(s.sizes->seccomp_notif,
                                 sizeof(struct seccomp_notif));
    status = standin_run(&s, (const char *const *)argv + prog);
    standin_cleanup(&s);
    return status;
}
