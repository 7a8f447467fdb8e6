/* SPDX-License-Identifier: MIT */
/*
 * What fuzz-qtest checks in every reply, from the line it answers and
 * what came before (an independent reading of the protocol, not the
 * server's code): "OK" or "FAIL reason"; FAIL for an empty line, a NUL
 * byte, a line over QTEST_MAX_LINE, an unknown command or a wrong
 * argument count; per command the shape of its OK (readb..readq: 16 hex
 * digits; inb..inl: the port's width; read: two digits per byte;
 * b64read: base64 of SIZE bytes; endianness: little; clock_step /
 * clock_set: the clock as the model moves it; the rest a bare OK); what
 * reads return against a model of guest RAM and the hot-plugged DIMM
 * (only qtest writes them: written bytes read back, never-written ones
 * zero) and all-ones where nothing is mapped, also for port reads;
 * irq_intercept_in/out accepted once; "IRQ raise/lower N" only after
 * interception (a line already high is raised right before its OK), for
 * N < QTEST_MAX_GSI, each a change of that line.
 */
#include "fuzz-qtest.h"
#include "hw/boards.h"

#include <errno.h>

void fq_model_init(FqModel *m, uint64_t dimm)
{
    memset(m, 0, sizeof(*m));
    m->dimm = dimm;
    m->ram = g_malloc0(FQ_RAM_SIZE);
    m->dimm_ram = g_malloc0(FQ_DIMM_SIZE);
}

void fq_model_free(FqModel *m)
{
    g_free(m->ram);
    g_free(m->dimm_ram);
}

static G_NORETURN void G_GNUC_PRINTF(3, 4) fq_fail(const GString *line,
                                        const char *reply,
                                        const char *fmt, ...)
{
    g_autofree char *why = NULL;
    va_list ap;

    va_start(ap, fmt);
    why = g_strdup_vprintf(fmt, ap);
    va_end(ap);
    g_error("fuzz-qtest: line '%.120s' (%zu bytes), reply '%.120s': %s",
            g_strescape(line->str, NULL), line->len, reply, why);
}

/* --- guest memory as the model has it ------------------------------------ */

/* Where byte a of guest memory is: in the model (*p), in a device (no
 * model: NULL, true) or nowhere (all-ones: NULL, false). */
static bool fq_mem_byte(FqModel *m, uint64_t a, uint8_t **p)
{
    *p = NULL;
    if (a < FQ_RAM_SIZE) {
        *p = &m->ram[a];
    } else if (a >= m->dimm && a - m->dimm < FQ_DIMM_SIZE) {
        *p = &m->dimm_ram[a - m->dimm];
    } else if (a >= VIRTIO_MMIO_BASE &&
               a < VIRTIO_MMIO_BASE + VIRTIO_MMIO_SLOT_SIZE) {
        return true;
    }
    return *p != NULL;
}

static void fq_mem_write(FqModel *m, uint64_t addr, const uint8_t *buf,
                         uint64_t len)
{
    for (uint64_t i = 0; i < len; i++) {
        uint8_t *p;

        if (fq_mem_byte(m, addr + i, &p) && p) {
            *p = buf[i];
        }
    }
}

static void fq_mem_check(FqModel *m, const GString *line, const char *reply,
                         uint64_t addr, const uint8_t *buf, uint64_t len)
{
    for (uint64_t i = 0; i < len; i++) {
        uint8_t *p;
        bool mapped = fq_mem_byte(m, addr + i, &p);

        if (p && *p != buf[i]) {
            fq_fail(line, reply, "byte at 0x%" PRIx64 " is 0x%02x, RAM "
                    "holds 0x%02x", addr + i, buf[i], *p);
        }
        if (!mapped && buf[i] != 0xff) {
            fq_fail(line, reply, "unassigned byte at 0x%" PRIx64 " reads "
                    "0x%02x, not all-ones", addr + i, buf[i]);
        }
        fq_stats.ram_bytes_checked += p != NULL;
    }
}

/* Ports with a device: the serial port, the exit ports. */
static bool fq_port_mapped(uint64_t port)
{
    return (port >= MACHINE_SERIAL_PORT && port < MACHINE_SERIAL_PORT + 8) ||
           port == MACHINE_DEBUG_EXIT_PORT || port == MACHINE_I8042_PORT;
}

/* --- the words of a line, as the protocol splits them --------------------- */

#define FQ_WORDS 6

typedef struct FqLine {
    char *words[FQ_WORDS];
    unsigned n;                 /* may exceed FQ_WORDS */
    char *copy;
} FqLine;

static void fq_split(const GString *line, FqLine *l)
{
    size_t len = line->len;
    char *p;

    if (len && line->str[len - 1] == '\r') {
        len--;
    }
    l->copy = g_strndup(line->str, len);
    l->n = 0;
    p = l->copy;
    for (;;) {
        while (*p == ' ' || *p == '\t') {
            *p++ = '\0';
        }
        if (!*p) {
            return;
        }
        if (l->n < FQ_WORDS) {
            l->words[l->n] = p;
        }
        l->n++;
        p += strcspn(p, " \t");
    }
}

/* A number the server accepted (its OK says so). */
static uint64_t fq_num(const char *s)
{
    return g_ascii_strtoull(s, NULL, 0);
}

static void fq_hex_decode(const char *hex, uint8_t *buf, uint64_t size)
{
    size_t n = strlen(hex + 2);

    memset(buf, 0, size);
    for (size_t i = 0; i < n; i++) {
        buf[i / 2] |= g_ascii_xdigit_value(hex[2 + i]) << (i % 2 ? 0 : 4);
    }
}

/* --- per command ---------------------------------------------------------- */

typedef struct FqCmd {
    const char *name;
    unsigned min, max, width;
} FqCmd;

static const FqCmd fq_cmds[] = {
    { "readb", 1, 1, 1 }, { "readw", 1, 1, 2 }, { "readl", 1, 1, 4 },
    { "readq", 1, 1, 8 }, { "writeb", 2, 2, 1 }, { "writew", 2, 2, 2 },
    { "writel", 2, 2, 4 }, { "writeq", 2, 2, 8 }, { "inb", 1, 1, 1 },
    { "inw", 1, 1, 2 }, { "inl", 1, 1, 4 }, { "outb", 2, 2, 1 },
    { "outw", 2, 2, 2 }, { "outl", 2, 2, 4 }, { "read", 2, 2 },
    { "write", 3, 3 }, { "b64read", 2, 2 }, { "b64write", 3, 3 },
    { "memset", 3, 3 }, { "irq_intercept_in", 1, 1 },
    { "irq_intercept_out", 1, 1 }, { "clock_step", 0, 1 },
    { "clock_set", 1, 1 }, { "endianness", 0, 0 },
};

static const FqCmd *fq_find(const char *name)
{
    for (size_t i = 0; i < G_N_ELEMENTS(fq_cmds); i++) {
        if (!strcmp(fq_cmds[i].name, name)) {
            return &fq_cmds[i];
        }
    }
    return NULL;
}

/* "OK 0x" and exactly digits lowercase hex digits (0: any number >= 1);
 * the value in *v (the first 8 bytes' worth). */
static bool fq_ok_hex(const char *reply, size_t digits, uint64_t *v)
{
    const char *h = reply + 5;
    size_t n = strspn(h, "0123456789abcdef");

    if (!g_str_has_prefix(reply, "OK 0x") || h[n] || !n ||
        (digits && n != digits)) {
        return false;
    }
    *v = n <= 16 ? g_ascii_strtoull(h, NULL, 16) : 0;
    return true;
}

static void fq_check_read(FqModel *m, const GString *line, const char *reply,
                          const FqLine *l, const FqCmd *c)
{
    uint64_t addr = fq_num(l->words[1]), v = 0;
    uint8_t buf[8];

    if (!fq_ok_hex(reply, 16, &v)) {
        fq_fail(line, reply, "not OK 0x + 16 hex digits");
    }
    if (c->width < 8 && v >> (8 * c->width)) {
        fq_fail(line, reply, "value wider than %u bytes", c->width);
    }
    fuzz_store(buf, v, c->width, false);
    fq_mem_check(m, line, reply, addr, buf, c->width);
}

static void fq_check_in(const GString *line, const char *reply,
                        const FqLine *l, const FqCmd *c)
{
    uint64_t port = fq_num(l->words[1]), v = 0;
    bool mapped = false;

    if (!fq_ok_hex(reply, 0, &v) || strlen(reply) < 9) {
        fq_fail(line, reply, "not OK 0x + at least 4 hex digits");
    }
    if (v >> (8 * c->width)) {
        fq_fail(line, reply, "value wider than %u bytes", c->width);
    }
    for (unsigned i = 0; i < c->width; i++) {
        mapped |= fq_port_mapped(port + i);
    }
    if (!mapped && v != (1ULL << (8 * c->width)) - 1) {
        fq_fail(line, reply, "unassigned port reads not all-ones");
    }
}

static void fq_check_bulk_read(FqModel *m, const GString *line,
                               const char *reply, const FqLine *l, bool b64)
{
    uint64_t addr = fq_num(l->words[1]), size = fq_num(l->words[2]);
    g_autofree uint8_t *buf = NULL;
    const char *h = reply + 5;
    gsize n;

    if (b64) {
        if (!g_str_has_prefix(reply, "OK ")) {
            fq_fail(line, reply, "not OK + base64");
        }
        buf = g_base64_decode(reply + 3, &n);
    } else {
        if (!g_str_has_prefix(reply, "OK 0x") || strlen(h) != 2 * size ||
            strspn(h, "0123456789abcdef") != 2 * size) {
            fq_fail(line, reply, "not OK 0x + %" PRIu64 " hex digits",
                    2 * size);
        }
        buf = g_malloc(size + 1);
        fq_hex_decode(reply + 3, buf, size);
        n = size;
    }
    if (n != size) {
        fq_fail(line, reply, "%zu bytes, not %" PRIu64, (size_t)n, size);
    }
    fq_mem_check(m, line, reply, addr, buf, size);
}

/* A write the server took: the model learns it. */
static void fq_learn_write(FqModel *m, const FqLine *l, const FqCmd *c)
{
    uint64_t addr = fq_num(l->words[1]), size;
    g_autofree uint8_t *buf = NULL;
    gsize n;

    if (c->width) {
        uint8_t b[8];

        fuzz_store(b, fq_num(l->words[2]), c->width, false);
        fq_mem_write(m, addr, b, c->width);
        return;
    }
    size = fq_num(l->words[2]);
    if (!strcmp(c->name, "memset")) {
        buf = g_malloc(size + 1);
        memset(buf, fq_num(l->words[3]), size);
    } else if (!strcmp(c->name, "write")) {
        buf = g_malloc(size + 1);
        fq_hex_decode(l->words[3], buf, size);
    } else {
        g_autofree uint8_t *data = g_base64_decode(l->words[3], &n);

        buf = g_malloc0(size + 1);
        memcpy(buf, data, MIN(n, size));
    }
    fq_mem_write(m, addr, buf, size);
}

static void fq_check_clock(FqModel *m, const GString *line,
                           const char *reply, const FqLine *l, bool set)
{
    int64_t want = m->clock, got;
    char *end;

    if (set) {
        want = MAX(m->clock, (int64_t)fq_num(l->words[1]));
    } else if (l->n == 2) {
        want = m->clock + (int64_t)fq_num(l->words[1]);
    }
    errno = 0;
    got = g_ascii_strtoll(reply + 3, &end, 10);
    if (!g_str_has_prefix(reply, "OK ") || *end || errno || got != want) {
        fq_fail(line, reply, "the clock should read %" PRId64, want);
    }
    m->clock = got;
}

/* An OK to a command the model knows. */
static void fq_check_ok(FqModel *m, const GString *line, const char *reply,
                        const FqLine *l, const FqCmd *c)
{
    const char *n = c->name;

    if (g_str_has_prefix(n, "read") && c->width) {
        fq_check_read(m, line, reply, l, c);
    } else if (g_str_has_prefix(n, "in")) {
        fq_check_in(line, reply, l, c);
    } else if (!strcmp(n, "read") || !strcmp(n, "b64read")) {
        fq_check_bulk_read(m, line, reply, l, n[0] == 'b');
    } else if (g_str_has_prefix(n, "clock_")) {
        fq_check_clock(m, line, reply, l, !strcmp(n, "clock_set"));
    } else if (!strcmp(n, "endianness")) {
        if (strcmp(reply, "OK little")) {
            fq_fail(line, reply, "not OK little");
        }
    } else if (strcmp(reply, "OK")) {
        fq_fail(line, reply, "not a bare OK");
    } else if (g_str_has_prefix(n, "irq_intercept")) {
        if (m->intercepting) {
            fq_fail(line, reply, "interception enabled twice");
        }
        m->intercepting = true;
    } else if (!g_str_has_prefix(n, "out")) {
        fq_learn_write(m, l, c);
    }
}

/* Replies a line must get whatever its arguments: NULL if it depends. */
static const char *fq_must_fail(const GString *line, const FqLine *l,
                                const FqCmd **c)
{
    *c = NULL;
    if (line->len > QTEST_MAX_LINE) {
        return "FAIL line too long";
    }
    if (memchr(line->str, '\0', line->len - (line->len &&
                                             line->str[line->len - 1] ==
                                             '\r'))) {
        return "FAIL NUL byte in command";
    }
    if (!l->n) {
        return "FAIL empty command";
    }
    *c = fq_find(l->words[0]);
    if (!*c) {
        return "FAIL Unknown command";
    }
    if (l->n - 1 < (*c)->min || l->n - 1 > (*c)->max) {
        return "FAIL wrong number of arguments";
    }
    return NULL;
}

void fq_check_reply(FqModel *m, const GString *line, const char *reply)
{
    FqLine l = { { NULL } };
    const FqCmd *c;
    const char *must;

    if (strcmp(reply, "OK") && !g_str_has_prefix(reply, "OK ") &&
        !(g_str_has_prefix(reply, "FAIL ") && reply[5])) {
        fq_fail(line, reply, "neither OK nor FAIL reason");
    }
    fq_split(line, &l);
    must = fq_must_fail(line, &l, &c);
    if (must && !g_str_has_prefix(reply, must)) {
        fq_fail(line, reply, "expected %s", must);
    }
    if (g_str_has_prefix(reply, "OK")) {
        fq_stats.ok++;
        m->oks++;
        fq_check_ok(m, line, reply, &l, c);
    } else {
        fq_stats.fail++;
        m->all_ok = false;
        if (!must && g_str_has_prefix(c->name, "irq_intercept") &&
            !m->intercepting) {
            fq_fail(line, reply, "interception refused the first time");
        }
    }
    g_free(l.copy);
}

/* Is line the command that turns interception on (its OK is owed)?
 * Lines already high are announced right before that OK. */
static bool fq_intercepts(FqModel *m, const GString *line)
{
    FqLine l = { { NULL } };
    const FqCmd *c;
    bool yes;

    if (!line || m->intercepting) {
        return false;
    }
    fq_split(line, &l);
    yes = !fq_must_fail(line, &l, &c) &&
          g_str_has_prefix(c->name, "irq_intercept");
    g_free(l.copy);
    return yes;
}

void fq_check_irq_line(FqModel *m, const char *line, const GString *next)
{
    bool raise = g_str_has_prefix(line, "IRQ raise ");
    const char *num = line + strlen("IRQ raise ");
    bool on = m->intercepting || (raise && fq_intercepts(m, next));
    char *end;
    uint64_t gsi;

    if (!raise && !g_str_has_prefix(line, "IRQ lower ")) {
        g_error("fuzz-qtest: '%s' is no IRQ line", line);
    }
    gsi = g_ascii_strtoull(num, &end, 10);
    if (!on || *end || end == num || gsi >= QTEST_MAX_GSI) {
        g_error("fuzz-qtest: '%s' (intercepting: %d)", line,
                m->intercepting);
    }
    if (m->irq[gsi] == raise) {
        g_error("fuzz-qtest: '%s' does not change the line", line);
    }
    m->irq[gsi] = raise;
}
