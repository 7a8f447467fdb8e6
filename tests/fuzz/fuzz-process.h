/* SPDX-License-Identifier: MIT */
/*
 * What the fuzz targets that build a whole machine in-process share
 * (fuzz-qtest, fuzz-qmp, fuzz-cmdline): a private working directory that
 * the process moves into while an input runs, so that every relative
 * path an input names (sockets, files of chardevs and memory backends, a
 * dumped device tree) lands there and nowhere else, emptied after each
 * input; a command line parsed as main() parses it; glib's messages on
 * fd 2 (a failed check shows while kvmini's stderr is quieted); the
 * checks after an input: as many fds open as before, no main-loop source
 * attached meanwhile still there (fuzz-vhost-user-channel uses these
 * too); and, in libFuzzer builds, its paths made absolute.
 *
 * Header-only and static inline, as fuzz-common.h (but for
 * LLVMFuzzerInitialize, defined once per program).
 */
#ifndef TESTS_FUZZ_FUZZ_PROCESS_H
#define TESTS_FUZZ_FUZZ_PROCESS_H

#include "sysemu/sysemu.h"

#include <fcntl.h>
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
    g_rmdir(fuzz_workdir_path);
}

/* The directory (created once, removed at exit). */
static inline const char *fuzz_workdir(const char *name)
{
    if (!fuzz_workdir_path) {
        g_autofree char *tmpl = g_strdup_printf("%s-XXXXXX", name);

        fuzz_workdir_path = g_dir_make_tmp(tmpl, NULL);
        g_assert_nonnull(fuzz_workdir_path);
        atexit(fuzz_workdir_remove);
    }
    return fuzz_workdir_path;
}

/* Where the process was, for fuzz_workdir_leave (open for the run). */
static int fuzz_saved_cwd = -1;

/* Into the directory, for one input (after fuzz_warm_up). */
static inline void fuzz_workdir_enter(void)
{
    g_assert_cmpint(chdir(fuzz_workdir_path), ==, 0);
}

/* Back where the program was started (files named on its command line
 * are found again). */
static inline void fuzz_workdir_leave(void)
{
    g_assert_cmpint(fchdir(fuzz_saved_cwd), ==, 0);
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
    fuzz_saved_cwd = open(".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    g_assert_cmpint(fuzz_saved_cwd, >=, 0);
    g_set_printerr_handler(fuzz_write2);
    g_log_set_writer_func(fuzz_glib_writer, NULL, NULL);
    g_main_context_iteration(NULL, FALSE);
}

#ifdef KVMINI_LIBFUZZER
/*
 * A target runs an input in its private directory, and libFuzzer writes
 * the crash file of an input that failed, and new corpus entries,
 * relative to the current directory: the paths it is given are made
 * absolute first (and crash files go where it was started), or they
 * would land in the directory and go with it.  One definition per program: each target
 * includes this header in one file.
 */
int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    g_autofree char *cwd = g_get_current_dir();
    char **args = g_new0(char *, *argc + 2);    /* for the whole run */
    bool prefix = false;
    int n = 0;

    for (int i = 0; i < *argc; i++) {
        const char *a = (*argv)[i];

        prefix |= g_str_has_prefix(a, "-artifact_prefix=");
        args[n++] = i && a[0] != '-' && !g_path_is_absolute(a) ?
                    g_build_filename(cwd, a, NULL) : (char *)a;
    }
    if (!prefix) {
        args[n++] = g_strdup_printf("-artifact_prefix=%s/", cwd);
    }
    *argc = n;
    *argv = args;
    return 0;
}
#endif

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
