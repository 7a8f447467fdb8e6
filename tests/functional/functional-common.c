/* SPDX-License-Identifier: MIT */
/* Process helpers for the functional tests (see the header). */
#include "functional-common.h"

#include <fcntl.h>
#include <signal.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

static bool in_ci(void)
{
    const char *ci = g_getenv("CI");

    return ci && *ci && strcmp(ci, "0") && strcmp(ci, "false");
}

static bool missing(const char *what)
{
    if (in_ci()) {
        g_test_message("CI=true and %s is missing", what);
        g_test_fail();
    } else {
        g_autofree char *msg = g_strdup_printf("%s is missing", what);
        g_test_skip(msg);
    }
    return false;
}

bool require_kvm(void)
{
    int fd = open("/dev/kvm", O_RDWR | O_CLOEXEC);

    if (fd < 0) {
        return missing("/dev/kvm");
    }
    close(fd);
    return true;
}

bool require_program(const char *name)
{
    g_autofree char *path = g_find_program_in_path(name);

    return path ? true : missing(name);
}

const char *kvmini_binary(void)
{
    const char *p = g_getenv("KVMINI_BINARY");

    g_assert_nonnull(p);
    return p;
}

const char *guest_elf(void)
{
    const char *p = g_getenv("KVMINI_GUEST");

    g_assert_nonnull(p);
    return p;
}

typedef struct RunCtx {
    GMainLoop *loop;
    int status;
    bool exited;
} RunCtx;

static void child_exited(GPid pid, gint status, gpointer data)
{
    RunCtx *ctx = data;

    ctx->status = WIFEXITED(status) ? WEXITSTATUS(status)
                                    : 128 + WTERMSIG(status);
    ctx->exited = true;
    g_spawn_close_pid(pid);
    g_main_loop_quit(ctx->loop);
}

static gboolean run_timeout(gpointer data)
{
    g_main_loop_quit(((RunCtx *)data)->loop);
    return G_SOURCE_REMOVE;
}

static char *read_all_fd(int fd)
{
    GString *s = g_string_new(NULL);
    char buf[4096];
    ssize_t n;

    while ((n = read(fd, buf, sizeof(buf))) > 0) {
        g_string_append_len(s, buf, n);
    }
    close(fd);
    return g_string_free(s, FALSE);
}

/* Output goes to temp files so a chatty child can never block on a pipe. */
void run_command(const char *const *argv, unsigned timeout_s, RunResult *r)
{
    g_autoptr(GError) err = NULL;
    char tmpl_out[] = "/tmp/kvmini-out-XXXXXX", tmpl_err[] = "/tmp/kvmini-err-XXXXXX";
    int fd_out = g_mkstemp_full(tmpl_out, O_RDWR | O_CLOEXEC, 0600);
    int fd_err = g_mkstemp_full(tmpl_err, O_RDWR | O_CLOEXEC, 0600);
    RunCtx ctx = { .loop = g_main_loop_new(NULL, FALSE) };
    GPid pid;

    g_assert_cmpint(fd_out, >=, 0);
    g_assert_cmpint(fd_err, >=, 0);
    unlink(tmpl_out);
    unlink(tmpl_err);
    gboolean ok = g_spawn_async_with_fds(NULL, (char **)argv, NULL,
                                         G_SPAWN_DO_NOT_REAP_CHILD |
                                         G_SPAWN_SEARCH_PATH,
                                         NULL, NULL, &pid, -1, fd_out, fd_err,
                                         &err);
    g_assert_no_error(err);
    g_assert_true(ok);
    g_child_watch_add(pid, child_exited, &ctx);
    guint timer = g_timeout_add_seconds(timeout_s, run_timeout, &ctx);
    g_main_loop_run(ctx.loop);
    if (!ctx.exited) {
        r->timed_out = true;
        kill(pid, SIGKILL);
        while (!ctx.exited) {
            g_main_context_iteration(NULL, TRUE);
        }
    } else {
        g_source_remove(timer);
    }
    g_main_loop_unref(ctx.loop);
    r->status = ctx.status;
    lseek(fd_out, 0, SEEK_SET);
    lseek(fd_err, 0, SEEK_SET);
    r->out = read_all_fd(fd_out);
    r->err = read_all_fd(fd_err);
}

void run_kvmini_guest(const char *args, unsigned timeout_s, RunResult *r)
{
    g_autofree char *cmd = g_strdup_printf("%s -kernel %s -serial stdio %s",
                                           kvmini_binary(), guest_elf(), args);
    g_auto(GStrv) argv = NULL;
    g_autoptr(GError) err = NULL;

    g_assert_true(g_shell_parse_argv(cmd, NULL, &argv, &err));
    run_command((const char *const *)argv, timeout_s, r);
    g_test_message("$ %s\n--- stdout:\n%s--- stderr:\n%s--- status %d%s",
                   cmd, r->out, r->err, r->status,
                   r->timed_out ? " (timed out)" : "");
}

void run_result_clear(RunResult *r)
{
    g_free(r->out);
    g_free(r->err);
    memset(r, 0, sizeof(*r));
}

unsigned count_lines_with_prefix(const char *text, const char *prefix)
{
    g_auto(GStrv) lines = g_strsplit(text, "\n", -1);
    unsigned n = 0;

    for (int i = 0; lines[i]; i++) {
        n += g_str_has_prefix(lines[i], prefix);
    }
    return n;
}
