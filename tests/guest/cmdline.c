/* SPDX-License-Identifier: MIT */
/*
 * Kernel command line: a private copy of the string, split into
 * whitespace-separated tokens of the form "key=value" or "key".  Entries
 * "virtio_mmio.device=SIZE@BASE:IRQ[:ID]" (the Linux / QEMU microvm /
 * Firecracker convention; SIZE may carry a K/M/G suffix) are collected
 * into a table of virtio-mmio devices.
 */
#include "guest.h"

#define CMDLINE_ARGS_MAX 64

struct arg {
    const char *key;
    const char *val;       /* "" for a bare key */
};

static char raw[CMDLINE_MAX];
static char tokens[CMDLINE_MAX];
static struct arg args[CMDLINE_ARGS_MAX];
static unsigned nargs;
static struct virtio_mmio_desc vmmio[VIRTIO_MMIO_MAX];
static unsigned nvmmio;

static bool is_space(char c)
{
    return c == ' ' || c == '\t' || c == '\n' || c == '\r';
}

/* Linux memparse(): number with an optional K/M/G suffix. */
static uint64_t parse_size(const char *s, const char **end)
{
    uint64_t v = strtou64(s, end, 0);

    switch (**end) {
    case 'G': case 'g':
        v <<= 10;
        /* fall through */
    case 'M': case 'm':
        v <<= 10;
        /* fall through */
    case 'K': case 'k':
        v <<= 10;
        (*end)++;
        break;
    }
    return v;
}

static bool parse_virtio_mmio(const char *val, struct virtio_mmio_desc *d)
{
    const char *p, *q;

    d->size = (uint32_t)parse_size(val, &p);
    if (p == val || *p != '@') {
        return false;
    }
    q = p + 1;
    d->base = strtou64(q, &p, 0);
    if (p == q || *p != ':') {
        return false;
    }
    q = p + 1;
    d->irq = (uint32_t)strtou64(q, &p, 0);
    return p != q && (*p == '\0' || *p == ':');
}

static void add_arg(char *tok)
{
    char *eq = strchr(tok, '=');
    struct arg *a;

    if (nargs == CMDLINE_ARGS_MAX) {
        return;
    }
    a = &args[nargs++];
    a->key = tok;
    a->val = "";
    if (eq) {
        *eq = '\0';
        a->val = eq + 1;
    }
    if (!strcmp(a->key, "virtio_mmio.device")) {
        struct virtio_mmio_desc d;

        if (nvmmio < VIRTIO_MMIO_MAX && parse_virtio_mmio(a->val, &d)) {
            vmmio[nvmmio++] = d;
        } else {
            printf("cmdline: ignoring virtio_mmio.device=%s\n", a->val);
        }
    }
}

void cmdline_init(const char *src)
{
    size_t n = 0;

    while (n < CMDLINE_MAX - 1 && src[n]) {
        raw[n] = src[n];
        n++;
    }
    raw[n] = '\0';
}

void cmdline_parse(void)
{
    char *p;

    memcpy(tokens, raw, strlen(raw) + 1);
    nargs = 0;
    nvmmio = 0;
    for (p = tokens; *p;) {
        char *tok;

        while (is_space(*p)) {
            p++;
        }
        if (!*p) {
            break;
        }
        tok = p;
        while (*p && !is_space(*p)) {
            p++;
        }
        if (*p) {
            *p++ = '\0';
        }
        add_arg(tok);
    }
}

const char *cmdline(void)
{
    return raw;
}

const char *cmdline_get(const char *key)
{
    unsigned i;

    for (i = nargs; i-- > 0;) {
        if (!strcmp(args[i].key, key)) {
            return args[i].val;
        }
    }
    return NULL;
}

uint64_t cmdline_get_u64(const char *key, uint64_t dflt)
{
    const char *v = cmdline_get(key);
    const char *end;
    uint64_t n;

    if (!v || !*v) {
        return dflt;
    }
    n = strtou64(v, &end, 0);
    return end == v ? dflt : n;
}

unsigned virtio_mmio_count(void)
{
    return nvmmio;
}

const struct virtio_mmio_desc *virtio_mmio_get(unsigned i)
{
    return i < nvmmio ? &vmmio[i] : NULL;
}
