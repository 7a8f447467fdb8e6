/* SPDX-License-Identifier: MIT */
/*
 * The qtest protocol server: line buffering, command parsing and dispatch,
 * interrupt interception and the virtual clock.  It speaks QEMU's qtest
 * protocol with the same reply formats, so QEMU's libqtest habits carry
 * over.  Every command line gets exactly one reply line ("OK[ value]" or
 * "FAIL reason"); "IRQ raise N" / "IRQ lower N" lines may come before it.
 *
 * Input is untrusted: numbers are fully validated, transfers are bounded
 * by QTEST_MAX_XFER, over-long lines are dropped, and no input can crash
 * the server.  It has no transport of its own (see include/sysemu/qtest.h).
 */
#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "hw/boards.h"
#include "sysemu/qtest.h"

#define QTEST_MAX_WORDS    5      /* command + 3 arguments + 1 for "too many" */
#define QTEST_ECHO_MAX     "128"  /* user text echoed in a FAIL, at most */
#define QTEST_MEMSET_CHUNK 65536

struct QTestServer {
    MachineState *ms;
    QTestReplyFn *reply;
    void *opaque;
    GString *inbuf;               /* partial line */
    bool discarding;              /* dropping an over-long line */
    bool intercepting;            /* irq_intercept_in/out done */
    uint8_t irq_level[QTEST_MAX_GSI];
    int64_t clock_ns;
    FILE *log;
    int64_t log_start_us;
};

typedef struct QTestCmd {
    const char *name;
    unsigned min_args;
    unsigned max_args;
    void (*handler)(QTestServer *s, char **args, const struct QTestCmd *cmd);
    unsigned width;               /* bytes, for the fixed-width accesses */
} QTestCmd;

/* --- output ------------------------------------------------------------ */

static void qtest_log_line(QTestServer *s, char dir, const char *line,
                           size_t len)
{
    double t;

    if (!s->log) {
        return;
    }
    t = (g_get_monotonic_time() - s->log_start_us) / 1e6;
    fprintf(s->log, "[%c +%f] %.*s", dir, t, (int)len, line);
    if (len == 0 || line[len - 1] != '\n') {
        fputc('\n', s->log);
    }
    fflush(s->log);
}

static void qtest_send_str(QTestServer *s, const char *str, size_t len)
{
    qtest_log_line(s, 'S', str, len);
    if (s->reply) {
        s->reply(s->opaque, str, len);
    }
}

static void G_GNUC_PRINTF(2, 3) qtest_sendf(QTestServer *s,
                                             const char *fmt, ...)
{
    va_list ap;
    g_autofree char *str = NULL;

    va_start(ap, fmt);
    str = g_strdup_vprintf(fmt, ap);
    va_end(ap);
    qtest_send_str(s, str, strlen(str));
}

#define qtest_ok(s)  qtest_sendf(s, "OK\n")

/* --- argument parsing -------------------------------------------------- */

/* Parse a number as strtoull(base 0) would, but reject signs, spaces,
 * trailing junk and overflow; values above max are out of range.  Replies
 * FAIL and returns false on error. */
static bool qtest_parse_u64(QTestServer *s, const char *what,
                            const char *str, uint64_t max, uint64_t *out)
{
    char *end;
    unsigned long long v;

    if (!g_ascii_isdigit(str[0])) {
        qtest_sendf(s, "FAIL invalid %s '%." QTEST_ECHO_MAX "s'\n",
                    what, str);
        return false;
    }
    errno = 0;
    v = strtoull(str, &end, 0);
    if (errno != 0 || *end != '\0' || end == str) {
        qtest_sendf(s, "FAIL invalid %s '%." QTEST_ECHO_MAX "s'\n",
                    what, str);
        return false;
    }
    if (v > max) {
        qtest_sendf(s, "FAIL %s out of range '%." QTEST_ECHO_MAX "s'\n",
                    what, str);
        return false;
    }
    *out = v;
    return true;
}

/* ADDR and SIZE of a bulk transfer: bounded and not wrapping. */
static bool qtest_parse_range(QTestServer *s, char **args, uint64_t *addr,
                              uint64_t *size)
{
    if (!qtest_parse_u64(s, "address", args[0], UINT64_MAX, addr) ||
        !qtest_parse_u64(s, "size", args[1], UINT64_MAX, size)) {
        return false;
    }
    if (*size > QTEST_MAX_XFER) {
        qtest_sendf(s, "FAIL size too large (max %u)\n", QTEST_MAX_XFER);
        return false;
    }
    if (*size && *addr + (*size - 1) < *addr) {
        qtest_sendf(s, "FAIL address range wraps around\n");
        return false;
    }
    return true;
}

static uint64_t width_max(unsigned width)
{
    return width >= 8 ? UINT64_MAX : (1ULL << (8 * width)) - 1;
}

/* --- memory and I/O access ----------------------------------------------- */

static void qtest_as_read(QTestServer *s, AddressSpace *as, uint64_t addr,
                          void *buf, uint64_t len)
{
    g_mutex_lock(&s->ms->lock);
    address_space_read(as, addr, buf, len);
    g_mutex_unlock(&s->ms->lock);
}

static void qtest_as_write(QTestServer *s, AddressSpace *as, uint64_t addr,
                           const void *buf, uint64_t len)
{
    g_mutex_lock(&s->ms->lock);
    address_space_write(as, addr, buf, len);
    g_mutex_unlock(&s->ms->lock);
}

static uint64_t le_load(const uint8_t *buf, unsigned width)
{
    uint64_t v = 0;

    for (unsigned i = 0; i < width; i++) {
        v |= (uint64_t)buf[i] << (8 * i);
    }
    return v;
}

static void le_store(uint8_t *buf, uint64_t v, unsigned width)
{
    for (unsigned i = 0; i < width; i++) {
        buf[i] = v >> (8 * i);
    }
}

/* readb/readw/readl/readq ADDR */
static void cmd_readn(QTestServer *s, char **args, const QTestCmd *cmd)
{
    uint64_t addr;
    uint8_t buf[8];

    if (!qtest_parse_u64(s, "address", args[0],
                         UINT64_MAX - (cmd->width - 1), &addr)) {
        return;
    }
    qtest_as_read(s, &s->ms->address_space_memory, addr, buf, cmd->width);
    qtest_sendf(s, "OK 0x%016" PRIx64 "\n", le_load(buf, cmd->width));
}

/* writeb/writew/writel/writeq ADDR VALUE */
static void cmd_writen(QTestServer *s, char **args, const QTestCmd *cmd)
{
    uint64_t addr, value;
    uint8_t buf[8];

    if (!qtest_parse_u64(s, "address", args[0],
                         UINT64_MAX - (cmd->width - 1), &addr) ||
        !qtest_parse_u64(s, "value", args[1], width_max(cmd->width),
                         &value)) {
        return;
    }
    le_store(buf, value, cmd->width);
    qtest_as_write(s, &s->ms->address_space_memory, addr, buf, cmd->width);
    qtest_ok(s);
}

/* inb/inw/inl PORT */
static void cmd_in(QTestServer *s, char **args, const QTestCmd *cmd)
{
    uint64_t port;
    uint8_t buf[4];

    if (!qtest_parse_u64(s, "port", args[0], 0x10000 - cmd->width, &port)) {
        return;
    }
    qtest_as_read(s, &s->ms->address_space_io, port, buf, cmd->width);
    qtest_sendf(s, "OK 0x%04" PRIx64 "\n", le_load(buf, cmd->width));
}

/* outb/outw/outl PORT VALUE */
static void cmd_out(QTestServer *s, char **args, const QTestCmd *cmd)
{
    uint64_t port, value;
    uint8_t buf[4];

    if (!qtest_parse_u64(s, "port", args[0], 0x10000 - cmd->width, &port) ||
        !qtest_parse_u64(s, "value", args[1], width_max(cmd->width),
                         &value)) {
        return;
    }
    le_store(buf, value, cmd->width);
    qtest_as_write(s, &s->ms->address_space_io, port, buf, cmd->width);
    qtest_ok(s);
}

/* read ADDR SIZE -> OK 0x<hex> */
static void cmd_read(QTestServer *s, char **args, const QTestCmd *cmd)
{
    static const char hex[] = "0123456789abcdef";
    uint64_t addr, size;
    g_autofree uint8_t *buf = NULL;
    g_autoptr(GString) out = NULL;

    if (!qtest_parse_range(s, args, &addr, &size)) {
        return;
    }
    buf = g_malloc(size ? size : 1);
    qtest_as_read(s, &s->ms->address_space_memory, addr, buf, size);
    out = g_string_sized_new(2 * size + 8);
    g_string_append(out, "OK 0x");
    for (uint64_t i = 0; i < size; i++) {
        g_string_append_c(out, hex[buf[i] >> 4]);
        g_string_append_c(out, hex[buf[i] & 0xf]);
    }
    g_string_append_c(out, '\n');
    qtest_send_str(s, out->str, out->len);
}

/* Decode "0x<hex>" into size bytes, zero-padding a short value as QEMU
 * does.  Replies FAIL and returns false on bad input. */
static bool qtest_decode_hex(QTestServer *s, const char *str, uint8_t *buf,
                             uint64_t size)
{
    size_t len;

    if (str[0] != '0' || (str[1] != 'x' && str[1] != 'X')) {
        qtest_sendf(s, "FAIL data must start with 0x\n");
        return false;
    }
    str += 2;
    len = strlen(str);
    if (len % 2 || len / 2 > size) {
        qtest_sendf(s, "FAIL data length does not fit size %" PRIu64 "\n",
                    size);
        return false;
    }
    for (size_t i = 0; i < len; i++) {
        int nib = g_ascii_xdigit_value(str[i]);

        if (nib < 0) {
            qtest_sendf(s, "FAIL invalid hex digit in data\n");
            return false;
        }
        buf[i / 2] |= nib << (i % 2 ? 0 : 4);
    }
    return true;
}

/* write ADDR SIZE 0xHEX */
static void cmd_write(QTestServer *s, char **args, const QTestCmd *cmd)
{
    uint64_t addr, size;
    g_autofree uint8_t *buf = NULL;

    if (!qtest_parse_range(s, args, &addr, &size)) {
        return;
    }
    buf = g_malloc0(size ? size : 1);
    if (!qtest_decode_hex(s, args[2], buf, size)) {
        return;
    }
    qtest_as_write(s, &s->ms->address_space_memory, addr, buf, size);
    qtest_ok(s);
}

/* b64read ADDR SIZE -> OK <base64> */
static void cmd_b64read(QTestServer *s, char **args, const QTestCmd *cmd)
{
    uint64_t addr, size;
    g_autofree uint8_t *buf = NULL;
    g_autofree char *enc = NULL;

    if (!qtest_parse_range(s, args, &addr, &size)) {
        return;
    }
    buf = g_malloc(size ? size : 1);
    qtest_as_read(s, &s->ms->address_space_memory, addr, buf, size);
    enc = g_base64_encode(buf, size);
    qtest_sendf(s, "OK %s\n", enc);
}

/* Strict base64: alphabet, length a multiple of 4, '=' only as the last
 * one or two characters. */
static bool qtest_b64_valid(const char *str)
{
    size_t len = strlen(str), pad = 0;

    if (len % 4) {
        return false;
    }
    while (pad < 2 && pad < len && str[len - 1 - pad] == '=') {
        pad++;
    }
    for (size_t i = 0; i < len - pad; i++) {
        if (!g_ascii_isalnum(str[i]) && str[i] != '+' && str[i] != '/') {
            return false;
        }
    }
    return true;
}

/* b64write ADDR SIZE B64: short data is zero-padded to SIZE. */
static void cmd_b64write(QTestServer *s, char **args, const QTestCmd *cmd)
{
    uint64_t addr, size;
    gsize dlen;
    g_autofree uint8_t *data = NULL;
    g_autofree uint8_t *buf = NULL;

    if (!qtest_parse_range(s, args, &addr, &size)) {
        return;
    }
    if (!qtest_b64_valid(args[2])) {
        qtest_sendf(s, "FAIL invalid base64 data\n");
        return;
    }
    data = g_base64_decode(args[2], &dlen);
    if (dlen > size) {
        qtest_sendf(s, "FAIL data length %zu exceeds size %" PRIu64 "\n",
                    (size_t)dlen, size);
        return;
    }
    buf = g_malloc0(size ? size : 1);
    memcpy(buf, data, dlen);
    qtest_as_write(s, &s->ms->address_space_memory, addr, buf, size);
    qtest_ok(s);
}

/* memset ADDR SIZE VALUE, in bounded chunks */
static void cmd_memset(QTestServer *s, char **args, const QTestCmd *cmd)
{
    uint64_t addr, size, value;
    g_autofree uint8_t *buf = NULL;

    if (!qtest_parse_range(s, args, &addr, &size) ||
        !qtest_parse_u64(s, "value", args[2], 0xff, &value)) {
        return;
    }
    buf = g_malloc(MIN(size, QTEST_MEMSET_CHUNK) + 1);
    memset(buf, value, MIN(size, QTEST_MEMSET_CHUNK));
    for (uint64_t done = 0; done < size;) {
        uint64_t n = MIN(size - done, QTEST_MEMSET_CHUNK);

        qtest_as_write(s, &s->ms->address_space_memory, addr + done, buf, n);
        done += n;
    }
    qtest_ok(s);
}

/* --- interrupts and clock ------------------------------------------------ */

/* irq_intercept_in/out NAME: any device name is accepted (kvmini has one
 * interrupt controller); lines already high are announced at once so the
 * client's view starts in sync. */
static void cmd_irq_intercept(QTestServer *s, char **args,
                              const QTestCmd *cmd)
{
    if (s->intercepting) {
        qtest_sendf(s, "FAIL Interception already enabled\n");
        return;
    }
    s->intercepting = true;
    for (unsigned i = 0; i < QTEST_MAX_GSI; i++) {
        if (s->irq_level[i]) {
            qtest_sendf(s, "IRQ raise %u\n", i);
        }
    }
    qtest_ok(s);
}

/* clock_step [NS]: kvmini has no timers, so without NS the next deadline
 * is "now" and the clock does not move. */
static void cmd_clock_step(QTestServer *s, char **args, const QTestCmd *cmd)
{
    uint64_t ns = 0;

    if (args[0] && !qtest_parse_u64(s, "time", args[0],
                                    INT64_MAX - s->clock_ns, &ns)) {
        return;
    }
    s->clock_ns += ns;
    qtest_sendf(s, "OK %" PRIi64 "\n", s->clock_ns);
}

/* clock_set NS: the clock only moves forward (as QEMU's clock warp). */
static void cmd_clock_set(QTestServer *s, char **args, const QTestCmd *cmd)
{
    uint64_t ns;

    if (!qtest_parse_u64(s, "time", args[0], INT64_MAX, &ns)) {
        return;
    }
    if ((int64_t)ns > s->clock_ns) {
        s->clock_ns = ns;
    }
    qtest_sendf(s, "OK %" PRIi64 "\n", s->clock_ns);
}

static void cmd_endianness(QTestServer *s, char **args, const QTestCmd *cmd)
{
    qtest_sendf(s, "OK little\n");
}

/* --- dispatch ------------------------------------------------------------ */

static const QTestCmd qtest_cmds[] = {
    { "readb", 1, 1, cmd_readn, 1 },
    { "readw", 1, 1, cmd_readn, 2 },
    { "readl", 1, 1, cmd_readn, 4 },
    { "readq", 1, 1, cmd_readn, 8 },
    { "writeb", 2, 2, cmd_writen, 1 },
    { "writew", 2, 2, cmd_writen, 2 },
    { "writel", 2, 2, cmd_writen, 4 },
    { "writeq", 2, 2, cmd_writen, 8 },
    { "inb", 1, 1, cmd_in, 1 },
    { "inw", 1, 1, cmd_in, 2 },
    { "inl", 1, 1, cmd_in, 4 },
    { "outb", 2, 2, cmd_out, 1 },
    { "outw", 2, 2, cmd_out, 2 },
    { "outl", 2, 2, cmd_out, 4 },
    { "read", 2, 2, cmd_read, 0 },
    { "write", 3, 3, cmd_write, 0 },
    { "b64read", 2, 2, cmd_b64read, 0 },
    { "b64write", 3, 3, cmd_b64write, 0 },
    { "memset", 3, 3, cmd_memset, 0 },
    { "irq_intercept_in", 1, 1, cmd_irq_intercept, 0 },
    { "irq_intercept_out", 1, 1, cmd_irq_intercept, 0 },
    { "clock_step", 0, 1, cmd_clock_step, 0 },
    { "clock_set", 1, 1, cmd_clock_set, 0 },
    { "endianness", 0, 0, cmd_endianness, 0 },
};

/* Split line in place at runs of spaces/tabs; returns the word count,
 * which may exceed max (the extra words are not stored). */
static unsigned qtest_split(char *line, char **words, unsigned max)
{
    unsigned n = 0;
    char *p = line;

    for (;;) {
        while (*p == ' ' || *p == '\t') {
            *p++ = '\0';
        }
        if (!*p) {
            return n;
        }
        if (n < max) {
            words[n] = p;
        }
        n++;
        while (*p && *p != ' ' && *p != '\t') {
            p++;
        }
    }
}

static const QTestCmd *qtest_find_cmd(const char *name)
{
    for (size_t i = 0; i < G_N_ELEMENTS(qtest_cmds); i++) {
        if (strcmp(qtest_cmds[i].name, name) == 0) {
            return &qtest_cmds[i];
        }
    }
    return NULL;
}

static void qtest_dispatch(QTestServer *s, char *line)
{
    char *words[QTEST_MAX_WORDS + 1] = { NULL };
    unsigned n = qtest_split(line, words, QTEST_MAX_WORDS);
    const QTestCmd *cmd;

    if (n == 0) {
        qtest_sendf(s, "FAIL empty command\n");
        return;
    }
    cmd = qtest_find_cmd(words[0]);
    if (!cmd) {
        qtest_sendf(s, "FAIL Unknown command '%." QTEST_ECHO_MAX "s'\n",
                    words[0]);
        return;
    }
    if (n - 1 < cmd->min_args || n - 1 > cmd->max_args) {
        qtest_sendf(s, "FAIL wrong number of arguments for '%s' "
                    "(expected %s%u, got %u)\n", cmd->name,
                    cmd->min_args != cmd->max_args ? "at most " : "",
                    cmd->max_args, n - 1);
        return;
    }
    cmd->handler(s, words + 1, cmd);
}

/* One line of len bytes (no "\n"); it may contain anything. */
static void qtest_process_bytes(QTestServer *s, const char *line, size_t len)
{
    g_autofree char *copy = NULL;

    if (len && line[len - 1] == '\r') {
        len--;
    }
    qtest_log_line(s, 'R', line, len);
    if (memchr(line, '\0', len)) {
        qtest_sendf(s, "FAIL NUL byte in command\n");
        return;
    }
    copy = g_strndup(line, len);
    qtest_dispatch(s, copy);
}

void qtest_server_process_line(QTestServer *s, const char *line)
{
    qtest_process_bytes(s, line, strlen(line));
}

/* --- input buffering ----------------------------------------------------- */

/* Add one piece of a line; returns false once the line became too long. */
static bool qtest_append(QTestServer *s, const uint8_t *buf, size_t len)
{
    if (s->discarding) {
        return false;
    }
    if (s->inbuf->len + len > QTEST_MAX_LINE) {
        s->discarding = true;
        g_string_truncate(s->inbuf, 0);
        return false;
    }
    g_string_append_len(s->inbuf, (const char *)buf, len);
    return true;
}

static void qtest_end_line(QTestServer *s)
{
    if (s->discarding) {
        s->discarding = false;
        qtest_sendf(s, "FAIL line too long (max %u bytes)\n", QTEST_MAX_LINE);
        return;
    }
    qtest_process_bytes(s, s->inbuf->str, s->inbuf->len);
    g_string_truncate(s->inbuf, 0);
}

void qtest_server_feed(QTestServer *s, const uint8_t *buf, size_t len)
{
    while (len > 0) {
        const uint8_t *nl = memchr(buf, '\n', len);
        size_t piece = nl ? (size_t)(nl - buf) : len;

        qtest_append(s, buf, piece);
        if (!nl) {
            return;
        }
        qtest_end_line(s);
        buf += piece + 1;
        len -= piece + 1;
    }
}

void qtest_server_reset_input(QTestServer *s)
{
    g_string_truncate(s->inbuf, 0);
    s->discarding = false;
}

/* --- life cycle and accelerator hooks ------------------------------------ */

QTestServer *qtest_server_new(MachineState *ms, QTestReplyFn *reply,
                              void *opaque)
{
    QTestServer *s = g_new0(QTestServer, 1);

    s->ms = ms;
    s->reply = reply;
    s->opaque = opaque;
    s->inbuf = g_string_new(NULL);
    return s;
}

void qtest_server_free(QTestServer *s)
{
    if (!s) {
        return;
    }
    if (s->log) {
        fclose(s->log);
    }
    g_string_free(s->inbuf, TRUE);
    g_free(s);
}

bool qtest_server_set_log(QTestServer *s, const char *path, Error **errp)
{
    FILE *f = fopen(path, "we");   /* "e": O_CLOEXEC */

    if (!f) {
        error_setg_errno(errp, errno, "-qtest-log %s", path);
        return false;
    }
    if (s->log) {
        fclose(s->log);
    }
    s->log = f;
    s->log_start_us = g_get_monotonic_time();
    return true;
}

void qtest_server_set_irq(QTestServer *s, unsigned gsi, int level)
{
    uint8_t l = level != 0;

    if (gsi >= QTEST_MAX_GSI || s->irq_level[gsi] == l) {
        return;
    }
    s->irq_level[gsi] = l;
    if (s->intercepting) {
        qtest_sendf(s, "IRQ %s %u\n", l ? "raise" : "lower", gsi);
    }
}
