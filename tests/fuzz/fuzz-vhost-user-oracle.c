/* SPDX-License-Identifier: MIT */
/*
 * What fuzz-vhost-user checks outside the device: kvmini's log (its
 * stderr, captured while an input runs: a device that loses its backend
 * must say so, an input is "accepted" when nothing was logged as an
 * error), the process's open fds (as many after an input as before) and
 * the main loop (nothing left on it once the machine is gone).
 *
 * glib's own messages, a failed check among them, go to fd 2 directly, as
 * the sanitizers' reports do, after what kvmini logged for the input.
 */
#include "fuzz-vhost-user.h"

#include <dirent.h>
#include <unistd.h>

static struct {
    FILE *saved, *mem;
    char *buf;
    size_t len;
} fvu_log;

void fvu_log_begin(void)
{
    fflush(stderr);
    fvu_log.saved = stderr;
    fvu_log.mem = open_memstream(&fvu_log.buf, &fvu_log.len);
    g_assert_nonnull(fvu_log.mem);
    stderr = fvu_log.mem;
}

size_t fvu_log_size(void)
{
    fflush(fvu_log.mem);
    return fvu_log.len;
}

const char *fvu_log_since(size_t offset)
{
    fflush(fvu_log.mem);
    return fvu_log.buf + offset;
}

/* FUZZ_VERBOSE=1 prints the log of each input after it. */
void fvu_log_end(void)
{
    const char *v = getenv("FUZZ_VERBOSE");

    fclose(fvu_log.mem);
    fvu_log.mem = NULL;
    stderr = fvu_log.saved;
    if (v && *v && strcmp(v, "0")) {
        fputs(fvu_log.buf, stderr);
    }
    free(fvu_log.buf);
    fvu_log.buf = NULL;
}

static bool fvu_is_error(const char *line)
{
    return g_str_has_prefix(line, "kvmini: ") &&
           !g_str_has_prefix(line, "kvmini: warning: ") &&
           !g_str_has_suffix(line, ": backend disconnected");
}

char *fvu_log_first_error(const char *text)
{
    g_auto(GStrv) lines = g_strsplit(text, "\n", -1);

    for (unsigned i = 0; lines[i]; i++) {
        if (fvu_is_error(lines[i])) {
            return g_strdup(lines[i] + strlen("kvmini: "));
        }
    }
    return NULL;
}

unsigned fvu_log_count(const char *text, const char *what)
{
    unsigned n = 0;

    for (const char *p = text; (p = strstr(p, what)); p += strlen(what)) {
        n++;
    }
    return n;
}

/* --- glib's messages ----------------------------------------------------- */

static void fvu_write2(const char *s)
{
    ssize_t n = write(2, s, strlen(s));

    (void)n;
}

/* A message from glib is a failed check: kvmini's log for the input
 * first, then the message. */
static void fvu_glib_says(const char *s)
{
    if (fvu_log.mem && !fflush(fvu_log.mem)) {
        fvu_write2("--- kvmini's log for this input ---\n");
        fvu_write2(fvu_log.buf);
        fvu_write2("---\n");
    }
    fvu_write2(s);
}

static GLogWriterOutput fvu_glib_writer(GLogLevelFlags level,
                                        const GLogField *fields, gsize n,
                                        gpointer data)
{
    g_autofree char *s = NULL;

    if (level & (G_LOG_LEVEL_DEBUG | G_LOG_LEVEL_INFO)) {
        return G_LOG_WRITER_HANDLED;
    }
    s = g_log_writer_format_fields(level, fields, n, FALSE);
    fvu_glib_says(s);
    fvu_write2("\n");
    return G_LOG_WRITER_HANDLED;
}

void fvu_log_setup(void)
{
    g_log_set_always_fatal(G_LOG_LEVEL_CRITICAL | G_LOG_LEVEL_WARNING);
    g_set_printerr_handler(fvu_glib_says);
    g_log_set_writer_func(fvu_glib_writer, NULL, NULL);
}

/* --- the process --------------------------------------------------------- */

/* FUZZ_VHOST_USER_LAST=FILE: each input is written there before it
 * runs, so that the one that failed can be replayed. */
void fvu_save_input(const uint8_t *data, size_t size)
{
    const char *path = getenv("FUZZ_VHOST_USER_LAST");

    if (path && *path) {
        g_assert_true(g_file_set_contents(path, (const char *)data, size,
                                          NULL));
    }
}

unsigned fvu_count_fds(void)
{
    DIR *d = opendir("/proc/self/fd");
    unsigned n = 0;

    g_assert_nonnull(d);
    while (readdir(d)) {
        n++;
    }
    closedir(d);
    return n;
}

void fvu_check_fds(unsigned before)
{
    g_autoptr(GDir) d = NULL;
    unsigned now = fvu_count_fds();
    const char *name;

    if (now == before) {
        return;
    }
    d = g_dir_open("/proc/self/fd", 0, NULL);
    while (d && (name = g_dir_read_name(d))) {
        g_autofree char *p = g_strdup_printf("/proc/self/fd/%s", name);
        g_autofree char *t = g_file_read_link(p, NULL);
        g_autofree char *line = g_strdup_printf("fd %s -> %s\n", name,
                                                t ? t : "?");

        fvu_write2(line);
    }
    g_error("fuzz-vhost-user: %u fds open after the input, %u before", now,
            before);
}

void fvu_check_settled(void)
{
    if (g_main_context_iteration(NULL, FALSE)) {
        g_error("fuzz-vhost-user: a main-loop source outlived the machine");
    }
}
