/* SPDX-License-Identifier: MIT */
/* The soak tests' cycle counts, randomness and /proc readings
 * (soak-common.h). */
#include "soak-common.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

unsigned soak_cycles(unsigned ci_default)
{
    const char *env = g_getenv("KVMINI_SOAK_CYCLES");
    guint64 n;

    if (!env || !*env) {
        return ci_default;
    }
    if (!g_ascii_string_to_unsigned(env, 10, 1, G_MAXUINT, &n, NULL)) {
        g_error("KVMINI_SOAK_CYCLES=%s: expected a positive number", env);
    }
    return n;
}

GRand *soak_rand(void)
{
    const char *env = g_getenv("KVMINI_SOAK_SEED");
    guint32 seed = env && *env ? (guint32)g_ascii_strtoull(env, NULL, 0)
                               : 0x6b766d69;    /* "kvmi" */

    soak_log("random seed %u (KVMINI_SOAK_SEED)", seed);
    return g_rand_new_with_seed(seed);
}

unsigned soak_proc_fds(int pid)
{
    g_autofree char *path = g_strdup_printf("/proc/%d/fd", pid);
    g_autoptr(GDir) d = g_dir_open(path, 0, NULL);
    unsigned n = 0;

    g_assert_nonnull(d);
    while (g_dir_read_name(d)) {
        n++;
    }
    return n;
}

unsigned soak_proc_fds_settled(int pid)
{
    unsigned fds = soak_proc_fds(pid);

    for (int i = 0; i < 10; i++) {
        g_usleep(20000);
        fds = MIN(fds, soak_proc_fds(pid));
    }
    return fds;
}

static gint cmp_str(gconstpointer a, gconstpointer b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

char *soak_proc_fd_list(int pid)
{
    g_autofree char *path = g_strdup_printf("/proc/%d/fd", pid);
    g_autoptr(GDir) d = g_dir_open(path, 0, NULL);
    g_autoptr(GPtrArray) lines = g_ptr_array_new_with_free_func(g_free);
    GString *out = g_string_new(NULL);
    const char *name;

    while (d && (name = g_dir_read_name(d))) {
        g_autofree char *link = g_build_filename(path, name, NULL);
        g_autofree char *target = g_file_read_link(link, NULL);

        g_ptr_array_add(lines, g_strdup_printf("%s -> %s", name,
                                               target ? target : "?"));
    }
    g_ptr_array_sort(lines, cmp_str);
    for (guint i = 0; i < lines->len; i++) {
        g_string_append_printf(out, "%s\n", (char *)lines->pdata[i]);
    }
    return g_string_free(out, FALSE);
}

uint64_t soak_proc_status_kib(int pid, const char *key)
{
    g_autofree char *path = g_strdup_printf("/proc/%d/status", pid);
    g_autofree char *line = g_strdup_printf("\n%s:", key);
    g_autofree char *text = NULL;
    const char *p;

    g_assert_true(g_file_get_contents(path, &text, NULL, NULL));
    p = strstr(text, line);
    if (!p) {
        g_error("%s has no %s line", path, key);
    }
    return g_ascii_strtoull(p + strlen(line), NULL, 10);
}

uint64_t soak_proc_rss_kib(int pid)
{
    return soak_proc_status_kib(pid, "VmRSS");
}

unsigned soak_count(const char *text, const char *needle)
{
    unsigned n = 0;

    for (const char *p = text; (p = strstr(p, needle)); p += strlen(needle)) {
        n++;
    }
    return n;
}

void soak_log(const char *fmt, ...)
{
    g_autofree char *text = NULL;
    va_list ap;

    va_start(ap, fmt);
    text = g_strdup_vprintf(fmt, ap);
    va_end(ap);
    fprintf(stderr, "soak: %s\n", text);
}

double soak_seconds(gint64 t0)
{
    return (g_get_monotonic_time() - t0) / 1e6;
}
