/* SPDX-License-Identifier: MIT */
/*
 * What the fuzz targets that build a whole machine in-process share
 * (fuzz-qtest, fuzz-qmp, fuzz-cmdline): a private working directory that
 * the process moves into, so that every relative path an input names
 * (sockets, files of chardevs and memory backends, a dumped device tree)
 * lands there and nowhere else, emptied after each input; a machine
 * built from a command line as kvmini builds it (kvmini_parse_args,
 * machine_build) and freed again; and the checks after an input: as
 * many fds open as before, no main-loop source left ready.
 *
 * Header-only and static inline, as fuzz-common.h.
 */
#ifndef TESTS_FUZZ_FUZZ_PROCESS_H
#define TESTS_FUZZ_FUZZ_PROCESS_H

#include "sysemu/sysemu.h"

#include <glib/gstdio.h>
#include <unistd.h>

static char *fuzz_workdir_path;

/* Remove what an input left there, except the files named in keep
 * (NULL-terminated, or NULL). */
static inline void fuzz_workdir_clean(const char *const *keep)
{
    g_autoptr(GDir) d = g_dir_open(fuzz_workdir_path, 0, NULL);
    const char *name;

    while (d && (name = g_dir_read_name(d))) {
        g_autofree char *p = g_build_filename(fuzz_workdir_path, name, NULL);

        if (!keep || !g_strv_contains(keep, name)) {
            g_unlink(p);
        }
    }
}

static inline void fuzz_workdir_empty(void)
{
    fuzz_workdir_clean(NULL);
}

static inline void fuzz_workdir_remove(void)
{
    fuzz_workdir_empty();
    if (chdir("/") == 0) {
        g_rmdir(fuzz_workdir_path);
    }
}

/* The directory (created once, removed at exit); the process runs in
 * it from the first call on. */
static inline const char *fuzz_workdir(const char *name)
{
    if (!fuzz_workdir_path) {
        g_autofree char *tmpl = g_strdup_printf("%s-XXXXXX", name);

        fuzz_workdir_path = g_dir_make_tmp(tmpl, NULL);
        g_assert_nonnull(fuzz_workdir_path);
        g_assert_cmpint(chdir(fuzz_workdir_path), ==, 0);
        atexit(fuzz_workdir_remove);
    }
    return fuzz_workdir_path;
}

/* --- glib's messages go to fd 2 ------------------------------------------- */

/* A failed check must be seen even while FuzzQuiet points stderr at
 * /dev/null: glib's messages are written to fd 2 directly, as the
 * sanitizers' reports are. */
static inline void fuzz_write2(const char *s)
{
    ssize_t n = write(2, s, strlen(s));

    (void)n;
}

static inline GLogWriterOutput fuzz_glib_writer(GLogLevelFlags level,
                                                const GLogField *fields,
                                                gsize n, gpointer data)
{
    g_autofree char *s = NULL;

    if (level & (G_LOG_LEVEL_DEBUG | G_LOG_LEVEL_INFO)) {
        return G_LOG_WRITER_HANDLED;
    }
    s = g_log_writer_format_fields(level, fields, n, FALSE);
    fuzz_write2(s);
    fuzz_write2("\n");
    return G_LOG_WRITER_HANDLED;
}

/* Once per process, before the first fd count: the directory, glib's
 * messages, and what glib opens on first use (the main context's wakeup
 * fd). */
static inline void fuzz_warm_up(const char *name)
{
    static bool done;

    if (done) {
        return;
    }
    done = true;
    fuzz_workdir(name);
    g_set_printerr_handler(fuzz_write2);
    g_log_set_writer_func(fuzz_glib_writer, NULL, NULL);
    g_main_context_iteration(NULL, FALSE);
}

/* --- a machine from a command line --------------------------------------- */

/* Parse "kvmini ARGS" (argv[0] added here) as main() does. */
static inline MachineState *fuzz_parse(char **args, int n, Error **errp)
{
    g_autofree char **argv = g_new0(char *, n + 2);
    bool exit_now = false;
    int status = 0;

    argv[0] = (char *)"kvmini";
    memcpy(argv + 1, args, n * sizeof(*args));
    return kvmini_parse_args(n + 1, argv, &exit_now, &status, errp);
}

/* --- the process after an input ------------------------------------------ */

static inline unsigned fuzz_count_fds(void)
{
    g_autoptr(GDir) d = g_dir_open("/proc/self/fd", 0, NULL);
    unsigned n = 0;

    g_assert_nonnull(d);
    while (g_dir_read_name(d)) {
        n++;
    }
    return n;
}

/* Fail, listing the fds, if there are not as many as before. */
static inline void fuzz_check_fds(const char *who, unsigned before)
{
    g_autoptr(GDir) d = NULL;
    unsigned now = fuzz_count_fds();
    const char *name;

    if (now == before) {
        return;
    }
    d = g_dir_open("/proc/self/fd", 0, NULL);
    while (d && (name = g_dir_read_name(d))) {
        g_autofree char *p = g_strdup_printf("/proc/self/fd/%s", name);
        g_autofree char *t = g_file_read_link(p, NULL);

        g_printerr("fd %s -> %s\n", name, t ? t : "?");
    }
    g_error("%s: %u fds open after the input, %u before", who, now, before);
}

static inline gboolean fuzz_source_nop(gpointer opaque)
{
    return G_SOURCE_REMOVE;
}

/* The id the next main-loop source gets (glib numbers them in order). */
static inline guint fuzz_source_mark(void)
{
    guint id = g_idle_add(fuzz_source_nop, NULL);

    g_source_remove(id);
    return id + 1;
}

/* Fail if a main-loop source attached since mark (an fd watch, a timer,
 * an idle callback) is still there, or one is ready, once the machine is
 * gone. */
static inline void fuzz_check_sources(const char *who, guint mark)
{
    guint end = fuzz_source_mark() - 1;

    for (guint id = mark; id < end; id++) {
        GSource *s = g_main_context_find_source_by_id(NULL, id);

        if (s) {
            g_error("%s: main-loop source %u (%s) outlived the machine", who,
                    id, g_source_get_name(s) ? g_source_get_name(s) : "?");
        }
    }
    if (g_main_context_iteration(NULL, FALSE)) {
        g_error("%s: a main-loop source outlived the machine", who);
    }
}

#endif
