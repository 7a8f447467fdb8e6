/* SPDX-License-Identifier: MIT */
/*
 * libqtest: start kvmini under the qtest accelerator and drive it over the
 * qtest line protocol (see libqtest.h).
 *
 * The test listens on a unix socket in a private temporary directory and
 * kvmini connects to it.  Replies are read with a blocking poll and a
 * timeout; asynchronous "IRQ raise/lower N" lines are recorded whenever
 * they are met.  A handler for SIGABRT/SIGTRAP/SIGSEGV kills live
 * children so that a failed assertion never leaves a kvmini behind.
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <poll.h>
#include <sched.h>
#include <stdarg.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>
#include <glib/gstdio.h>

#include "libqtest.h"

#define QTEST_MAX_IRQ        256
#define QTEST_MAX_CHILDREN   64
#define QTEST_CONNECT_MS     30000
#define QTEST_REPLY_MS       60000
#define QTEST_EXIT_MS        60000
#define QTEST_RUN_SECONDS    60

struct QTestState {
    int fd;                      /* protocol socket, -1 once closed */
    pid_t pid;
    bool exited;
    int status;                  /* exit code or 128 + signal */
    char *tmpdir;
    char *sock_path;
    char *stdout_path;
    char *stderr_path;
    GString *rx;                 /* received bytes not yet consumed */
    bool irq_level[QTEST_MAX_IRQ];
};

/* Children to SIGKILL if the test aborts or traps; read from a signal
 * handler, so a plain array of pids. */
static volatile pid_t live_children[QTEST_MAX_CHILDREN];

/* --- children ------------------------------------------------------------- */

static void qtest_abort_handler(int sig)
{
    for (int i = 0; i < QTEST_MAX_CHILDREN; i++) {
        if (live_children[i] > 0) {
            kill(live_children[i], SIGKILL);
        }
    }
    /* SA_RESETHAND restored the default action; the signal is delivered
     * again when the handler returns (g_error() would spin otherwise). */
    raise(sig);
}

static void qtest_track_child(pid_t pid, bool add)
{
    static bool installed;

    if (!installed) {
        /* g_assert() aborts, g_error() traps: kill children on both. */
        struct sigaction sa = { .sa_handler = qtest_abort_handler,
                                .sa_flags = SA_RESETHAND };

        sigemptyset(&sa.sa_mask);
        sigaction(SIGABRT, &sa, NULL);
        sigaction(SIGTRAP, &sa, NULL);
        sigaction(SIGSEGV, &sa, NULL);
        installed = true;
    }
    for (int i = 0; i < QTEST_MAX_CHILDREN; i++) {
        if (add ? live_children[i] == 0 : live_children[i] == pid) {
            live_children[i] = add ? pid : 0;
            return;
        }
    }
    g_assert(!add);   /* too many live children */
}

static int qtest_decode_status(int wstatus)
{
    if (WIFEXITED(wstatus)) {
        return WEXITSTATUS(wstatus);
    }
    return WIFSIGNALED(wstatus) ? 128 + WTERMSIG(wstatus) : 255;
}

/* Reap s's child if it has exited; waits up to timeout_ms.  True if it
 * is gone. */
static bool qtest_reap(QTestState *s, int timeout_ms)
{
    gint64 deadline = g_get_monotonic_time() + timeout_ms * 1000LL;
    int wstatus;

    while (!s->exited) {
        pid_t r = waitpid(s->pid, &wstatus, WNOHANG);

        if (r == s->pid || (r < 0 && errno != EINTR)) {
            s->exited = true;
            s->status = r == s->pid ? qtest_decode_status(wstatus) : 255;
            qtest_track_child(s->pid, false);
            break;
        }
        if (g_get_monotonic_time() >= deadline) {
            return false;
        }
        g_usleep(5000);
    }
    return true;
}

const char *qtest_kvmini_binary(void)
{
    static char *binary;
    const char *env = getenv("KVMINI_BINARY");

    if (env && *env) {
        return env;
    }
    if (!binary) {
        g_autofree char *self = g_file_read_link("/proc/self/exe", NULL);
        g_autofree char *dir = g_path_get_dirname(self ? self : ".");

        binary = g_build_filename(dir, "..", "..", "kvmini", NULL);
    }
    return binary;
}

/* --- failure reporting ---------------------------------------------------- */

static void qtest_dump_file(const char *what, const char *path)
{
    g_autofree char *text = NULL;

    if (path && g_file_get_contents(path, &text, NULL, NULL) && *text) {
        g_printerr("---- kvmini %s ----\n%s%s---- end ----\n", what, text,
                   g_str_has_suffix(text, "\n") ? "" : "\n");
    }
}

/* Print what is known about kvmini and fail the test (aborts). */
static void G_GNUC_PRINTF(2, 3) G_GNUC_NORETURN
qtest_fail(QTestState *s, const char *fmt, ...)
{
    va_list ap;
    g_autofree char *msg = NULL;

    va_start(ap, fmt);
    msg = g_strdup_vprintf(fmt, ap);
    va_end(ap);
    qtest_reap(s, 200);
    qtest_dump_file("stderr", s->stderr_path);
    if (s->exited) {
        g_error("%s (kvmini exited with status %d)", msg, s->status);
    }
    g_error("%s (kvmini pid %d still running)", msg, (int)s->pid);
}

/* --- start-up ------------------------------------------------------------- */

static int qtest_listen(const char *path)
{
    struct sockaddr_un addr = { .sun_family = AF_UNIX };
    int fd;

    g_assert(strlen(path) < sizeof(addr.sun_path));
    strcpy(addr.sun_path, path);
    fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    g_assert(fd >= 0);
    if (bind(fd, (struct sockaddr *)&addr, sizeof(addr)) < 0 ||
        listen(fd, 1) < 0) {
        g_error("qtest: cannot listen on %s: %s", path, g_strerror(errno));
    }
    return fd;
}

/* $KVMINI_EXTRA_ARGS (shell words), e.g. '-sandbox on', go right after
 * the binary of every kvmini that qtest_init() starts. */
static void qtest_add_env_args(GPtrArray *argv)
{
    const char *env = getenv("KVMINI_EXTRA_ARGS");
    g_auto(GStrv) words = NULL;
    g_autoptr(GError) err = NULL;

    if (!env || !*env) {
        return;
    }
    if (!g_shell_parse_argv(env, NULL, &words, &err)) {
        g_error("qtest: KVMINI_EXTRA_ARGS: %s", err->message);
    }
    for (char **p = words; *p; p++) {
        g_ptr_array_add(argv, g_strdup(*p));
    }
}

/* The argument vector: wrapper (NULL: none), binary, $KVMINI_EXTRA_ARGS,
 * qtest options, defaults, extra args. */
static char **qtest_build_argv(QTestState *s, const char *const *wrapper,
                               const char *extra_args)
{
    g_autoptr(GPtrArray) argv = g_ptr_array_new();
    g_auto(GStrv) extra = NULL;
    g_autoptr(GError) err = NULL;
    const char *log = getenv("QTEST_LOG");

    if (extra_args && *extra_args &&
        !g_shell_parse_argv(extra_args, NULL, &extra, &err)) {
        g_error("qtest: bad arguments '%s': %s", extra_args, err->message);
    }
    for (const char *const *w = wrapper; w && *w; w++) {
        g_ptr_array_add(argv, g_strdup(*w));
    }
    g_ptr_array_add(argv, g_strdup(qtest_kvmini_binary()));
    qtest_add_env_args(argv);
    g_ptr_array_add(argv, g_strdup("-accel"));
    g_ptr_array_add(argv, g_strdup("qtest"));
    g_ptr_array_add(argv, g_strdup("-qtest"));
    g_ptr_array_add(argv, g_strdup_printf("unix:%s", s->sock_path));
    if (log && *log) {
        g_ptr_array_add(argv, g_strdup("-qtest-log"));
        g_ptr_array_add(argv, g_strdup(log));
    }
    if (!extra || !g_strv_contains((const char *const *)extra, "-serial")) {
        g_ptr_array_add(argv, g_strdup("-serial"));
        g_ptr_array_add(argv, g_strdup("null"));
    }
    for (char **p = extra; p && *p; p++) {
        g_ptr_array_add(argv, g_strdup(*p));
    }
    g_ptr_array_add(argv, NULL);
    return (char **)g_ptr_array_free(g_steal_pointer(&argv), FALSE);
}

static int qtest_open_file(const char *path, int flags)
{
    int fd = open(path, flags | O_CLOEXEC, 0600);

    if (fd < 0) {
        g_error("qtest: cannot open %s: %s", path, g_strerror(errno));
    }
    return fd;
}

/* In the child: die with the test, redirect stdio, exec.  Only
 * async-signal-safe calls. */
static G_GNUC_NORETURN void qtest_exec_child(char **argv, pid_t parent,
                                             int in, int out, int err)
{
    prctl(PR_SET_PDEATHSIG, SIGKILL);
    if (getppid() != parent) {
        _exit(127);
    }
    if (dup2(in, 0) < 0 || dup2(out, 1) < 0 || dup2(err, 2) < 0) {
        _exit(127);
    }
    execv(argv[0], argv);
    (void)!write(2, "qtest: exec failed\n", 19);
    _exit(127);
}

static void qtest_spawn(QTestState *s, char **argv)
{
    int in = qtest_open_file("/dev/null", O_RDONLY);
    int out = qtest_open_file(s->stdout_path, O_WRONLY | O_CREAT | O_TRUNC);
    int err = qtest_open_file(s->stderr_path, O_WRONLY | O_CREAT | O_TRUNC);
    pid_t parent = getpid();

    fflush(stdout);
    fflush(stderr);
    s->pid = fork();
    g_assert(s->pid >= 0);
    if (s->pid == 0) {
        qtest_exec_child(argv, parent, in, out, err);
    }
    qtest_track_child(s->pid, true);
    close(in);
    close(out);
    close(err);
}

/* Accept kvmini's connection, failing if it exits or times out first. */
static void qtest_accept(QTestState *s, int lfd)
{
    gint64 deadline = g_get_monotonic_time() + QTEST_CONNECT_MS * 1000LL;

    for (;;) {
        struct pollfd pfd = { .fd = lfd, .events = POLLIN };

        if (poll(&pfd, 1, 50) > 0) {
            s->fd = accept4(lfd, NULL, NULL, SOCK_CLOEXEC);
            if (s->fd >= 0) {
                return;
            }
        }
        if (qtest_reap(s, 0)) {
            qtest_fail(s, "kvmini exited before connecting to %s",
                       s->sock_path);
        }
        if (g_get_monotonic_time() > deadline) {
            qtest_fail(s, "kvmini did not connect to %s within %d ms",
                       s->sock_path, QTEST_CONNECT_MS);
        }
    }
}

QTestState *qtest_init(const char *extra_args)
{
    return qtest_init_wrapped(NULL, extra_args);
}

QTestState *qtest_init_wrapped(const char *const *wrapper,
                               const char *extra_args)
{
    QTestState *s = g_new0(QTestState, 1);
    g_autoptr(GError) err = NULL;
    g_auto(GStrv) argv = NULL;
    int lfd;

    s->fd = -1;
    s->rx = g_string_new(NULL);
    s->tmpdir = g_dir_make_tmp("kvmini-qtest-XXXXXX", &err);
    g_assert_no_error(err);
    s->sock_path = g_build_filename(s->tmpdir, "qtest.sock", NULL);
    s->stdout_path = g_build_filename(s->tmpdir, "stdout.log", NULL);
    s->stderr_path = g_build_filename(s->tmpdir, "stderr.log", NULL);
    argv = qtest_build_argv(s, wrapper, extra_args);
    lfd = qtest_listen(s->sock_path);
    qtest_spawn(s, argv);
    qtest_accept(s, lfd);
    close(lfd);
    g_unlink(s->sock_path);
    return s;
}

QTestState *qtest_initf(const char *fmt, ...)
{
    va_list ap;
    g_autofree char *args = NULL;

    va_start(ap, fmt);
    args = g_strdup_vprintf(fmt, ap);
    va_end(ap);
    return qtest_init(args);
}

/* --- shutdown ------------------------------------------------------------- */

int qtest_wait_exit(QTestState *s)
{
    if (!qtest_reap(s, QTEST_EXIT_MS)) {
        kill(s->pid, SIGKILL);
        qtest_fail(s, "kvmini did not exit within %d ms", QTEST_EXIT_MS);
    }
    return s->status;
}

static void qtest_remove_tmpdir(const char *dir)
{
    GDir *d = g_dir_open(dir, 0, NULL);
    const char *name;

    while (d && (name = g_dir_read_name(d))) {
        g_autofree char *path = g_build_filename(dir, name, NULL);

        g_unlink(path);
    }
    if (d) {
        g_dir_close(d);
    }
    g_rmdir(dir);
}

int qtest_quit_status(QTestState *s)
{
    int status;

    if (s->fd >= 0) {
        close(s->fd);
        s->fd = -1;
    }
    status = qtest_wait_exit(s);
    qtest_dump_file("stderr", s->stderr_path);
    qtest_remove_tmpdir(s->tmpdir);
    g_string_free(s->rx, TRUE);
    g_free(s->tmpdir);
    g_free(s->sock_path);
    g_free(s->stdout_path);
    g_free(s->stderr_path);
    g_free(s);
    return status;
}

void qtest_quit(QTestState *s)
{
    int status = qtest_quit_status(s);

    if (status != 0) {
        g_error("kvmini exited with status %d (expected 0)", status);
    }
}

int qtest_pid(QTestState *s)
{
    return s->pid;
}

const char *qtest_tmpdir(QTestState *s)
{
    return s->tmpdir;
}

/* --- the line protocol ---------------------------------------------------- */

void qtest_send_raw(QTestState *s, const void *buf, size_t len)
{
    const char *p = buf;

    while (len > 0) {
        ssize_t n = send(s->fd, p, len, MSG_NOSIGNAL);

        if (n < 0 && errno == EINTR) {
            continue;
        }
        if (n <= 0) {
            qtest_fail(s, "qtest: send failed: %s", g_strerror(errno));
        }
        p += n;
        len -= n;
    }
}

/* Read more bytes into s->rx, waiting up to the reply timeout. */
static void qtest_fill(QTestState *s)
{
    char buf[65536];
    struct pollfd pfd = { .fd = s->fd, .events = POLLIN };
    ssize_t n;
    int r;

    do {
        r = poll(&pfd, 1, QTEST_REPLY_MS);
    } while (r < 0 && errno == EINTR);
    if (r == 0) {
        qtest_fail(s, "no reply from kvmini within %d ms", QTEST_REPLY_MS);
    }
    do {
        n = recv(s->fd, buf, sizeof(buf), 0);
    } while (n < 0 && errno == EINTR);
    if (n <= 0) {
        qtest_fail(s, "kvmini closed the qtest connection");
    }
    g_string_append_len(s->rx, buf, n);
}

/* Record "IRQ raise N" / "IRQ lower N"; false if line is something else. */
static bool qtest_handle_irq_line(QTestState *s, const char *line)
{
    unsigned long n;
    char *end;
    bool raise;

    if (g_str_has_prefix(line, "IRQ raise ")) {
        raise = true;
    } else if (g_str_has_prefix(line, "IRQ lower ")) {
        raise = false;
    } else {
        return false;
    }
    n = strtoul(line + 10, &end, 10);
    if (*end || n >= QTEST_MAX_IRQ) {
        qtest_fail(s, "bad IRQ line from kvmini: '%s'", line);
    }
    s->irq_level[n] = raise;
    return true;
}

char *qtest_recv_any_line(QTestState *s)
{
    char *nl, *line;

    while (!(nl = memchr(s->rx->str, '\n', s->rx->len))) {
        qtest_fill(s);
    }
    line = g_strndup(s->rx->str, nl - s->rx->str);
    g_string_erase(s->rx, 0, nl - s->rx->str + 1);
    qtest_handle_irq_line(s, line);
    return line;
}

char *qtest_recv_line(QTestState *s)
{
    for (;;) {
        char *line = qtest_recv_any_line(s);

        if (!g_str_has_prefix(line, "IRQ ")) {
            return line;
        }
        g_free(line);
    }
}

char *qtest_rsp_raw(QTestState *s, const char *cmd)
{
    qtest_send_raw(s, cmd, strlen(cmd));
    qtest_send_raw(s, "\n", 1);
    return qtest_recv_line(s);
}

char *qtest_rspf(QTestState *s, const char *fmt, ...)
{
    va_list ap;
    g_autofree char *cmd = NULL;

    va_start(ap, fmt);
    cmd = g_strdup_vprintf(fmt, ap);
    va_end(ap);
    return qtest_rsp_raw(s, cmd);
}

/* Send a command and insist on "OK"; returns the reply. */
static char *G_GNUC_PRINTF(2, 3) qtest_ok(QTestState *s, const char *fmt,
                                          ...)
{
    va_list ap;
    g_autofree char *cmd = NULL;
    char *rsp;

    va_start(ap, fmt);
    cmd = g_strdup_vprintf(fmt, ap);
    va_end(ap);
    rsp = qtest_rsp_raw(s, cmd);
    if (strcmp(rsp, "OK") != 0 && !g_str_has_prefix(rsp, "OK ")) {
        qtest_fail(s, "'%.200s' got '%.200s'", cmd, rsp);
    }
    return rsp;
}

/* "OK <number>" -> number */
static uint64_t qtest_ok_value(QTestState *s, char *rsp)
{
    char *end;
    uint64_t v;

    errno = 0;
    v = g_ascii_strtoull(rsp + 3, &end, 0);
    if (rsp[2] != ' ' || errno || *end || end == rsp + 3) {
        qtest_fail(s, "bad numeric reply '%s'", rsp);
    }
    g_free(rsp);
    return v;
}

/* --- typed accessors ------------------------------------------------------ */

uint8_t qtest_readb(QTestState *s, uint64_t addr)
{
    return qtest_ok_value(s, qtest_ok(s, "readb 0x%" PRIx64, addr));
}

uint16_t qtest_readw(QTestState *s, uint64_t addr)
{
    return qtest_ok_value(s, qtest_ok(s, "readw 0x%" PRIx64, addr));
}

uint32_t qtest_readl(QTestState *s, uint64_t addr)
{
    return qtest_ok_value(s, qtest_ok(s, "readl 0x%" PRIx64, addr));
}

uint64_t qtest_readq(QTestState *s, uint64_t addr)
{
    return qtest_ok_value(s, qtest_ok(s, "readq 0x%" PRIx64, addr));
}

static void qtest_write_n(QTestState *s, char w, uint64_t addr, uint64_t v)
{
    g_free(qtest_ok(s, "write%c 0x%" PRIx64 " 0x%" PRIx64, w, addr, v));
}

void qtest_writeb(QTestState *s, uint64_t addr, uint8_t value)
{
    qtest_write_n(s, 'b', addr, value);
}

void qtest_writew(QTestState *s, uint64_t addr, uint16_t value)
{
    qtest_write_n(s, 'w', addr, value);
}

void qtest_writel(QTestState *s, uint64_t addr, uint32_t value)
{
    qtest_write_n(s, 'l', addr, value);
}

void qtest_writeq(QTestState *s, uint64_t addr, uint64_t value)
{
    qtest_write_n(s, 'q', addr, value);
}

uint8_t qtest_inb(QTestState *s, uint16_t port)
{
    return qtest_ok_value(s, qtest_ok(s, "inb 0x%x", port));
}

uint16_t qtest_inw(QTestState *s, uint16_t port)
{
    return qtest_ok_value(s, qtest_ok(s, "inw 0x%x", port));
}

uint32_t qtest_inl(QTestState *s, uint16_t port)
{
    return qtest_ok_value(s, qtest_ok(s, "inl 0x%x", port));
}

void qtest_outb(QTestState *s, uint16_t port, uint8_t value)
{
    g_free(qtest_ok(s, "outb 0x%x 0x%x", port, value));
}

void qtest_outw(QTestState *s, uint16_t port, uint16_t value)
{
    g_free(qtest_ok(s, "outw 0x%x 0x%x", port, value));
}

void qtest_outl(QTestState *s, uint16_t port, uint32_t value)
{
    g_free(qtest_ok(s, "outl 0x%x 0x%x", port, value));
}

/* --- bulk access ---------------------------------------------------------- */

void qtest_memread(QTestState *s, uint64_t addr, void *buf, size_t size)
{
    g_autofree char *rsp = qtest_ok(s, "read 0x%" PRIx64 " 0x%zx", addr,
                                    size);
    uint8_t *out = buf;

    if (!g_str_has_prefix(rsp, "OK 0x") || strlen(rsp) != 5 + 2 * size) {
        qtest_fail(s, "bad read reply '%.200s'", rsp);
    }
    for (size_t i = 0; i < size; i++) {
        int hi = g_ascii_xdigit_value(rsp[5 + 2 * i]);
        int lo = g_ascii_xdigit_value(rsp[6 + 2 * i]);

        if (hi < 0 || lo < 0) {
            qtest_fail(s, "bad hex in read reply");
        }
        out[i] = hi << 4 | lo;
    }
}

void qtest_memwrite(QTestState *s, uint64_t addr, const void *buf,
                    size_t size)
{
    const uint8_t *in = buf;
    g_autoptr(GString) hex = g_string_sized_new(2 * size + 1);

    for (size_t i = 0; i < size; i++) {
        g_string_append_printf(hex, "%02x", in[i]);
    }
    g_free(qtest_ok(s, "write 0x%" PRIx64 " 0x%zx 0x%s", addr, size,
                    hex->str));
}

void qtest_bufread(QTestState *s, uint64_t addr, void *buf, size_t size)
{
    g_autofree char *rsp = qtest_ok(s, "b64read 0x%" PRIx64 " 0x%zx", addr,
                                    size);
    g_autofree guchar *data = NULL;
    gsize len = 0;

    if (rsp[2] == ' ') {
        data = g_base64_decode(rsp + 3, &len);
    }
    if (len != size) {
        qtest_fail(s, "b64read returned %zu bytes, wanted %zu",
                   (size_t)len, size);
    }
    memcpy(buf, data, size);
}

void qtest_bufwrite(QTestState *s, uint64_t addr, const void *buf,
                    size_t size)
{
    g_autofree char *enc = NULL;

    if (size == 0) {
        return;
    }
    enc = g_base64_encode(buf, size);
    g_free(qtest_ok(s, "b64write 0x%" PRIx64 " 0x%zx %s", addr, size, enc));
}

void qtest_memset(QTestState *s, uint64_t addr, uint8_t value, size_t size)
{
    g_free(qtest_ok(s, "memset 0x%" PRIx64 " 0x%zx 0x%02x", addr, size,
                    value));
}

/* --- interrupts and clock ------------------------------------------------- */

void qtest_irq_intercept_in(QTestState *s, const char *name)
{
    g_free(qtest_ok(s, "irq_intercept_in %s", name));
}

void qtest_irq_intercept_out(QTestState *s, const char *name)
{
    g_free(qtest_ok(s, "irq_intercept_out %s", name));
}

bool qtest_get_irq(QTestState *s, unsigned n)
{
    g_assert(n < QTEST_MAX_IRQ);
    /* Any reply comes after the IRQ lines sent before it. */
    g_free(qtest_ok(s, "endianness"));
    return s->irq_level[n];
}

int64_t qtest_clock_step(QTestState *s, int64_t ns)
{
    return qtest_ok_value(s, qtest_ok(s, "clock_step %" PRIi64, ns));
}

int64_t qtest_clock_step_next(QTestState *s)
{
    return qtest_ok_value(s, qtest_ok(s, "clock_step"));
}

int64_t qtest_clock_set(QTestState *s, int64_t ns)
{
    return qtest_ok_value(s, qtest_ok(s, "clock_set %" PRIi64, ns));
}

/* --- running kvmini directly ---------------------------------------------- */

static void qtest_run_child_setup(gpointer data)
{
    int null = open("/dev/null", O_RDONLY);

    prctl(PR_SET_PDEATHSIG, SIGKILL);
    if (null >= 0) {
        dup2(null, 0);
        close(null);
    }
    alarm(QTEST_RUN_SECONDS);   /* survives exec: kills a hung kvmini */
}

void qtest_run_kvmini(const char *args, char **out, char **err, int *status)
{
    g_autoptr(GPtrArray) argv = g_ptr_array_new_with_free_func(g_free);
    g_auto(GStrv) extra = NULL;
    g_autoptr(GError) error = NULL;
    int wstatus = 0;

    if (args && *args && !g_shell_parse_argv(args, NULL, &extra, &error)) {
        g_error("qtest: bad arguments '%s': %s", args, error->message);
    }
    g_ptr_array_add(argv, g_strdup(qtest_kvmini_binary()));
    for (char **p = extra; p && *p; p++) {
        g_ptr_array_add(argv, g_strdup(*p));
    }
    g_ptr_array_add(argv, NULL);
    if (!g_spawn_sync(NULL, (char **)argv->pdata, NULL, G_SPAWN_DEFAULT,
                      qtest_run_child_setup, NULL, out, err, &wstatus,
                      &error)) {
        g_error("qtest: cannot run %s: %s", qtest_kvmini_binary(),
                error->message);
    }
    *status = qtest_decode_status(wstatus);
}

bool qtest_enter_netns(void)
{
    if (unshare(CLONE_NEWNET) == 0) {
        return true;
    }
    if (g_strcmp0(g_getenv("CI"), "true") == 0) {
        g_error("unshare(CLONE_NEWNET): %s (the test needs root)",
                g_strerror(errno));
    }
    g_printerr("skipping: unshare(CLONE_NEWNET): %s\n", g_strerror(errno));
    return false;
}
