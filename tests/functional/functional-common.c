/* SPDX-License-Identifier: MIT */
/* Process helpers for the functional tests (see the header). */
#include "functional-common.h"

#include <fcntl.h>
#include <inttypes.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

static bool in_ci(void)
{
    const char *ci = g_getenv("CI");

    return ci && *ci && strcmp(ci, "0") && strcmp(ci, "false");
}

void test_log(const char *fmt, ...)
{
    g_autofree char *text = NULL;
    va_list ap;

    va_start(ap, fmt);
    text = g_strdup_vprintf(fmt, ap);
    va_end(ap);
    fprintf(stderr, "%s\n", text);
}

static bool missing(const char *what)
{
    if (in_ci()) {
        test_log("CI=true and %s is missing", what);
        g_test_fail();
    } else {
        g_autofree char *msg = g_strdup_printf("%s is missing", what);
        g_test_skip(msg);
    }
    return false;
}

bool require_failed(const char *what)
{
    return missing(what);
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

/* argv with $KVMINI_EXTRA_ARGS (shell words) right after kvmini's
 * binary when argv runs kvmini (itself, or under a wrapper such as the
 * vhost stand-in), e.g. KVMINI_EXTRA_ARGS='-sandbox on' runs every
 * test's kvmini in the sandbox; argv itself otherwise.  Free with
 * g_strfreev. */
static char **with_extra_args(const char *const *argv)
{
    const char *extra = g_getenv("KVMINI_EXTRA_ARGS");
    g_auto(GStrv) words = NULL;
    g_autoptr(GError) err = NULL;
    GPtrArray *out = g_ptr_array_new();

    if (extra && *extra &&
        !g_shell_parse_argv(extra, NULL, &words, &err)) {
        g_error("KVMINI_EXTRA_ARGS: %s", err->message);
    }
    for (int i = 0; argv[i]; i++) {
        g_ptr_array_add(out, g_strdup(argv[i]));
        if (words && !strcmp(argv[i], kvmini_binary())) {
            for (int w = 0; words[w]; w++) {
                g_ptr_array_add(out, g_strdup(words[w]));
            }
            g_clear_pointer(&words, g_strfreev);    /* once */
        }
    }
    g_ptr_array_add(out, NULL);
    return (char **)g_ptr_array_free(out, FALSE);
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

/* Make sure fds 0-2 exist before the harness opens files, so no temp
 * file lands on fd 0 and is handed to children as their stdin. */
static int null_stdin(void)
{
    for (int fd = 0; fd <= 2; fd++) {
        if (fcntl(fd, F_GETFD) < 0) {
            (void)open("/dev/null", O_RDWR);    /* lands on fd */
        }
    }
    return open("/dev/null", O_RDONLY | O_CLOEXEC);
}

/* Output goes to temp files so a chatty child can never block on a pipe. */
void run_command(const char *const *argv, unsigned timeout_s, RunResult *r)
{
    int fd_in = null_stdin();
    g_autoptr(GError) err = NULL;
    char tmpl_out[] = "/tmp/kvmini-out-XXXXXX", tmpl_err[] = "/tmp/kvmini-err-XXXXXX";
    int fd_out = g_mkstemp_full(tmpl_out, O_RDWR | O_CLOEXEC, 0600);
    int fd_err = g_mkstemp_full(tmpl_err, O_RDWR | O_CLOEXEC, 0600);
    RunCtx ctx = { .loop = g_main_loop_new(NULL, FALSE) };
    g_auto(GStrv) full = with_extra_args(argv);
    GPid pid;

    g_assert_cmpint(fd_out, >=, 0);
    g_assert_cmpint(fd_err, >=, 0);
    unlink(tmpl_out);
    unlink(tmpl_err);
    gboolean ok = g_spawn_async_with_fds(NULL, full, NULL,
                                         G_SPAWN_DO_NOT_REAP_CHILD |
                                         G_SPAWN_SEARCH_PATH,
                                         NULL, NULL, &pid, fd_in, fd_out,
                                         fd_err, &err);
    close(fd_in);
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
    test_log("$ %s%s%s\n--- stdout:\n%s--- stderr:\n%s--- status %d%s",
                   cmd, g_getenv("KVMINI_EXTRA_ARGS") ? "  # and " : "",
                   g_getenv("KVMINI_EXTRA_ARGS") ?: "", r->out, r->err,
                   r->status, r->timed_out ? " (timed out)" : "");
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

/* --- peers ------------------------------------------------------------- */

/* Peers still running, killed if an assertion aborts the test so that no
 * daemon outlives it (test-process bookkeeping, as libqtest keeps). */
#define MAX_PEERS 16
static volatile pid_t live_peers[MAX_PEERS];

static void kill_live_peers(int sig)
{
    for (int i = 0; i < MAX_PEERS; i++) {
        if (live_peers[i] > 0) {
            kill(live_peers[i], SIGKILL);
        }
    }
    signal(sig, SIG_DFL);
    raise(sig);
}

static void track_peer(pid_t pid, bool add)
{
    static bool installed;

    if (!installed) {
        signal(SIGABRT, kill_live_peers);
        signal(SIGTRAP, kill_live_peers);
        installed = true;
    }
    for (int i = 0; i < MAX_PEERS; i++) {
        if (add ? live_peers[i] == 0 : live_peers[i] == pid) {
            live_peers[i] = add ? pid : 0;
            return;
        }
    }
}

static bool wait_for_path(const char *path, GPid pid, unsigned timeout_ms)
{
    for (unsigned waited = 0; waited < timeout_ms; waited += 10) {
        int status;

        if (g_file_test(path, G_FILE_TEST_EXISTS)) {
            return true;
        }
        if (waitpid(pid, &status, WNOHANG) == pid) {
            return false;
        }
        g_usleep(10000);
    }
    return false;
}

void peer_start(Peer *p, const char *const *argv, const char *wait_path)
{
    g_autoptr(GError) err = NULL;
    g_auto(GStrv) full = with_extra_args(argv);
    int fd_in = null_stdin();
    int fd;

    p->log_path = g_strdup_printf("/tmp/kvmini-peer-%d-XXXXXX", getpid());
    fd = g_mkstemp_full(p->log_path, O_RDWR | O_CLOEXEC, 0600);
    g_assert_cmpint(fd, >=, 0);
    g_assert_true(g_spawn_async_with_fds(NULL, full, NULL,
                                         G_SPAWN_DO_NOT_REAP_CHILD |
                                         G_SPAWN_SEARCH_PATH,
                                         NULL, NULL, &p->pid, fd_in, fd, fd,
                                         &err));
    close(fd);
    close(fd_in);
    track_peer(p->pid, true);
    if (wait_path && !wait_for_path(wait_path, p->pid, 10000)) {
        g_autofree char *log = NULL;
        g_file_get_contents(p->log_path, &log, NULL, NULL);
        g_error("%s did not create %s:\n%s", argv[0], wait_path,
                log ? log : "");
    }
}

static void peer_reap_log(Peer *p, int sig, unsigned grace_ms, char **log)
{
    int status;

    if (log) {
        *log = NULL;
    }
    if (!p->pid) {
        return;
    }
    kill(p->pid, sig);
    for (unsigned waited = 0; waitpid(p->pid, &status, WNOHANG) == 0;
         waited += 10) {
        if (waited >= grace_ms) {
            kill(p->pid, SIGKILL);
            waitpid(p->pid, &status, 0);
            break;
        }
        g_usleep(10000);
    }
    if (g_test_failed()) {
        g_autofree char *text = NULL;
        g_file_get_contents(p->log_path, &text, NULL, NULL);
        test_log("peer log:\n%s", text ? text : "");
    }
    if (log) {
        g_file_get_contents(p->log_path, log, NULL, NULL);
    }
    track_peer(p->pid, false);
    unlink(p->log_path);
    g_free(p->log_path);
    p->log_path = NULL;
    p->pid = 0;
}

static void peer_reap(Peer *p, int sig, unsigned grace_ms)
{
    peer_reap_log(p, sig, grace_ms, NULL);
}

void peer_stop(Peer *p)
{
    peer_reap(p, SIGTERM, 5000);
}

char *peer_stop_log(Peer *p)
{
    char *log;

    peer_reap_log(p, SIGINT, 5000, &log);
    return log;
}

void peer_kill(Peer *p)
{
    peer_reap(p, SIGKILL, 5000);
}

void testpmd_start(Peer *p, const char *sock, unsigned queues, bool client)
{
    testpmd_start_named(p, sock, queues, client, NULL);
}

void testpmd_start_named(Peer *p, const char *sock, unsigned queues,
                         bool client, const char *tag)
{
    g_autofree char *vdev = g_strdup_printf(
        "net_vhost0,iface=%s,queues=%u%s", sock, queues,
        client ? ",client=1" : "");
    g_autofree char *prefix = g_strdup_printf("--file-prefix=kvmini-ft-%d%s%s",
                                              getpid(), tag ? "-" : "",
                                              tag ? tag : "");
    g_autofree char *rxq = g_strdup_printf("--rxq=%u", queues);
    g_autofree char *txq = g_strdup_printf("--txq=%u", queues);
    const char *argv[] = {
        "dpdk-testpmd", "-l", "0,1", "--no-huge", "-m", "1024", "--no-pci",
        prefix, "--vdev", vdev, "--", "--no-mlockall",
        "--total-num-mbufs=8192", "--forward-mode=macswap",
        "--stats-period", "1", rxq, txq, NULL };

    peer_start(p, argv, client ? NULL : sock);
}

uint64_t testpmd_counter(const char *log, const char *key)
{
    const char *last = NULL;

    /* The final statistics block is printed last: take the last match. */
    for (const char *q = log; (q = strstr(q, key)); q += strlen(key)) {
        last = q;
    }
    return last ? g_ascii_strtoull(last + strlen(key), NULL, 10) : 0;
}

void qsd_start(Peer *p, const char *image, const char *sock,
               unsigned num_queues)
{
    g_autofree char *blockdev = g_strdup_printf(
        "driver=file,node-name=disk,filename=%s", image);
    g_autofree char *export = g_strdup_printf(
        "type=vhost-user-blk,id=exp0,node-name=disk,addr.type=unix,"
        "addr.path=%s,writable=on,num-queues=%u", sock, num_queues);
    const char *argv[] = { "qemu-storage-daemon", "--blockdev", blockdev,
                           "--export", export, NULL };

    peer_start(p, argv, sock);
}

char *tmpdir_new(void)
{
    char *dir = g_dir_make_tmp("kvmini-test-XXXXXX", NULL);

    g_assert_nonnull(dir);
    return dir;
}

void tmpdir_remove(const char *dir)
{
    g_autoptr(GDir) d = g_dir_open(dir, 0, NULL);
    const char *name;

    while (d && (name = g_dir_read_name(d))) {
        g_autofree char *path = g_build_filename(dir, name, NULL);
        unlink(path);
    }
    rmdir(dir);
}

void peer_wait_exit(Peer *p, unsigned timeout_s, RunResult *r)
{
    int status = 0;
    unsigned waited = 0;

    while (waitpid(p->pid, &status, WNOHANG) == 0) {
        if (waited >= timeout_s * 1000) {
            r->timed_out = true;
            kill(p->pid, SIGKILL);
            waitpid(p->pid, &status, 0);
            break;
        }
        g_usleep(10000);
        waited += 10;
    }
    r->status = WIFEXITED(status) ? WEXITSTATUS(status)
                                  : 128 + WTERMSIG(status);
    track_peer(p->pid, false);
    g_file_get_contents(p->log_path, &r->out, NULL, NULL);
    r->err = g_strdup("");
    test_log("output:\n%s--- status %d%s", r->out ? r->out : "",
                   r->status, r->timed_out ? " (timed out)" : "");
    unlink(p->log_path);
    g_clear_pointer(&p->log_path, g_free);
    p->pid = 0;
}

bool peer_wait_output(Peer *p, const char *text, unsigned timeout_s)
{
    for (unsigned waited = 0;; waited += 10) {
        g_autofree char *log = NULL;

        if (g_file_get_contents(p->log_path, &log, NULL, NULL) &&
            strstr(log, text)) {
            return true;
        }
        if (waited >= timeout_s * 1000) {
            return false;
        }
        g_usleep(10000);
    }
}

void net_warmup_counts(const char *out, uint64_t *sent, uint64_t *echoed)
{
    const char *line = strstr(out, "net: warm-up: sent ");

    g_assert_nonnull(line);
    g_assert_cmpint(sscanf(line, "net: warm-up: sent %" SCNu64 ", echoed %"
                           SCNu64, sent, echoed), ==, 2);
    g_assert_cmpuint(*echoed, >=, 1);
}

/* --- vhost-net ------------------------------------------------------------ */

bool vhost_net_is_real(void)
{
    return access("/dev/vhost-net", F_OK) == 0;
}

bool require_vhost_net(void)
{
    const char *standin = g_getenv("VHOST_STANDIN");

    if (vhost_net_is_real()) {
        return true;
    }
    if (!standin || access(standin, X_OK) != 0) {
        return require_failed("no /dev/vhost-net and no vhost-standin "
                              "($VHOST_STANDIN)");
    }
    return true;
}

char **vhost_net_command(const char *const *cmd, const char *trace,
                         const char *stats)
{
    GPtrArray *out = g_ptr_array_new();
    static gsize said;

    if (g_once_init_enter(&said)) {
        test_log("vhost-net: %s", vhost_net_is_real()
                 ? "the kernel's /dev/vhost-net" : "vhost-standin");
        g_once_init_leave(&said, 1);
    }
    if (!vhost_net_is_real()) {
        g_ptr_array_add(out, g_strdup(g_getenv("VHOST_STANDIN")));
        if (trace) {
            g_ptr_array_add(out, g_strdup("--trace"));
            g_ptr_array_add(out, g_strdup(trace));
        }
        if (stats) {
            g_ptr_array_add(out, g_strdup("--stats"));
            g_ptr_array_add(out, g_strdup(stats));
        }
        g_ptr_array_add(out, g_strdup("--"));
    }
    for (int i = 0; cmd[i]; i++) {
        g_ptr_array_add(out, g_strdup(cmd[i]));
    }
    g_ptr_array_add(out, NULL);
    return (char **)g_ptr_array_free(out, FALSE);
}

uint64_t standin_stat(const char *stats, const char *dev, const char *key)
{
    g_autofree char *head = g_strdup_printf("%s ", dev);
    g_autofree char *pat = g_strdup_printf(" %s=", key);
    const char *line = strstr(stats, head);
    const char *end = line ? strchr(line, '\n') : NULL;
    const char *p = line ? strstr(line, pat) : NULL;

    if (!p || (end && p > end)) {
        g_error("no %s=N for %s in the stand-in's stats:\n%s", key, dev,
                stats);
    }
    return g_ascii_strtoull(p + strlen(pat), NULL, 10);
}
