/* SPDX-License-Identifier: MIT */
/*
 * A small printf: one formatter writing through a sink callback, used by
 * printf() (serial port) and snprintf() (buffer).  Supports flags '-' and
 * '0', width, precision (strings only; also '*'), length modifiers
 * hh h l ll z, and the conversions d i u x X c s p %.
 */
#include "guest.h"

struct sink {
    void (*put)(struct sink *s, char c);
    char *buf;
    size_t size;
    size_t len;        /* characters produced so far */
};

static void emit(struct sink *s, char c)
{
    s->put(s, c);
    s->len++;
}

static void emit_pad(struct sink *s, char c, int n)
{
    while (n-- > 0) {
        emit(s, c);
    }
}

/* Emit prefix+digits padded to width; zero padding goes after the prefix. */
static void emit_field(struct sink *s, const char *prefix, const char *body,
                       int len, int width, bool left, bool zero)
{
    int plen = (int)strlen(prefix);
    int pad = width - plen - len;

    if (!left && !zero) {
        emit_pad(s, ' ', pad);
    }
    while (*prefix) {
        emit(s, *prefix++);
    }
    if (!left && zero) {
        emit_pad(s, '0', pad);
    }
    while (len--) {
        emit(s, *body++);
    }
    if (left) {
        emit_pad(s, ' ', pad);
    }
}

/* One conversion specification: %[-0][width][.prec][hh|h|l|ll|z]conv. */
struct spec {
    bool left, zero;
    int width, prec;    /* prec -1: none given */
    int lng, shrt;      /* how many 'l'/'z' and 'h' */
    char conv;
};

/* A decimal number, or '*' taking it from the arguments, into *n. */
static const char *parse_num(const char *fmt, int *n, va_list *ap)
{
    if (*fmt == '*') {
        *n = va_arg(*ap, int);
        return fmt + 1;
    }
    while (*fmt >= '0' && *fmt <= '9') {
        *n = *n * 10 + (*fmt++ - '0');
    }
    return fmt;
}

/* The specification starting just after a '%'; returns the position of
 * its conversion character (sp->conv, '\0' for a stray '%' at the end). */
static const char *parse_spec(const char *fmt, struct spec *sp, va_list *ap)
{
    *sp = (struct spec) { .prec = -1 };
    for (;; fmt++) {
        if (*fmt == '-') {
            sp->left = true;
        } else if (*fmt == '0') {
            sp->zero = true;
        } else {
            break;
        }
    }
    fmt = parse_num(fmt, &sp->width, ap);
    if (*fmt == '.') {
        sp->prec = 0;
        fmt = parse_num(fmt + 1, &sp->prec, ap);
    }
    while (*fmt == 'l' || *fmt == 'h' || *fmt == 'z') {
        if (*fmt == 'h') {
            sp->shrt++;
        } else {
            sp->lng++;
        }
        fmt++;
    }
    sp->conv = *fmt;
    return fmt;
}

/* The argument of an integer conversion widened to 64 bits; for a
 * negative signed one, its magnitude with *neg set. */
static uint64_t int_arg(const struct spec *sp, bool is_signed, va_list *ap,
                        bool *neg)
{
    uint64_t v;

    if (sp->conv == 'p') {
        v = (uint64_t)(uintptr_t)va_arg(*ap, void *);
    } else if (sp->lng) {
        v = va_arg(*ap, uint64_t);  /* long and long long: 64 bits */
    } else {
        v = va_arg(*ap, unsigned int);
        if (sp->shrt && is_signed) {
            v = (uint32_t)(sp->shrt == 1 ? (int32_t)(int16_t)v
                                         : (int32_t)(int8_t)v);
        } else if (sp->shrt) {
            v = sp->shrt == 1 ? (uint16_t)v : (uint8_t)v;
        }
    }
    *neg = false;
    if (is_signed) {
        int64_t sv = sp->lng ? (int64_t)v : (int64_t)(int32_t)v;
        if (sv < 0) {
            *neg = true;
            v = (uint64_t)0 - (uint64_t)sv;
        }
    }
    return v;
}

/* d i u x X p: the digits, after "-" (negative) or "0x" (%p). */
static void emit_int(struct sink *s, const struct spec *sp, va_list *ap)
{
    static const char lower[] = "0123456789abcdef";
    static const char upper[] = "0123456789ABCDEF";
    bool is_signed = sp->conv == 'd' || sp->conv == 'i';
    unsigned base = is_signed || sp->conv == 'u' ? 10 : 16;
    const char *dig = sp->conv == 'X' ? upper : lower;
    const char *prefix = sp->conv == 'p' ? "0x" : "";
    char digits[24], *p = digits + sizeof(digits);
    bool neg;
    uint64_t v = int_arg(sp, is_signed, ap, &neg);

    if (neg) {
        prefix = "-";
    }
    do {
        *--p = dig[v % base];
        v /= base;
    } while (v);
    emit_field(s, prefix, p, (int)(digits + sizeof(digits) - p),
               sp->width, sp->left, sp->zero);
}

/* Emit one conversion; false for a stray '%' at the end of the format. */
static bool convert(struct sink *s, const struct spec *sp, va_list *ap)
{
    const char *str;
    char c;

    switch (sp->conv) {
    case 'c':
        c = (char)va_arg(*ap, int);
        emit_field(s, "", &c, 1, sp->width, sp->left, false);
        return true;
    case 's':
        str = va_arg(*ap, const char *);
        if (!str) {
            str = "(null)";
        }
        emit_field(s, "", str, (int)(sp->prec >= 0 ?
                                     strnlen(str, (size_t)sp->prec) :
                                     strlen(str)),
                   sp->width, sp->left, false);
        return true;
    case 'd': case 'i': case 'u': case 'x': case 'X': case 'p':
        emit_int(s, sp, ap);
        return true;
    case '%':
        emit(s, '%');
        return true;
    case '\0':
        return false;
    default:
        emit(s, '%');
        emit(s, sp->conv);
        return true;
    }
}

static int format(struct sink *s, const char *fmt, va_list ap)
{
    va_list aq;     /* a va_list parameter cannot be passed on by address */

    va_copy(aq, ap);
    for (; *fmt; fmt++) {
        struct spec sp;

        if (*fmt != '%') {
            emit(s, *fmt);
            continue;
        }
        fmt = parse_spec(fmt + 1, &sp, &aq);
        if (!convert(s, &sp, &aq)) {
            fmt--;          /* stray '%' at the end: stop at the '\0' */
        }
    }
    va_end(aq);
    return (int)s->len;
}

static void put_serial(struct sink *s, char c)
{
    (void)s;
    serial_putc(c);
}

static void put_buf(struct sink *s, char c)
{
    if (s->len + 1 < s->size) {
        s->buf[s->len] = c;
    }
}

int vprintf(const char *fmt, va_list ap)
{
    struct sink s = { .put = put_serial };

    return format(&s, fmt, ap);
}

int printf(const char *fmt, ...)
{
    va_list ap;
    int n;

    va_start(ap, fmt);
    n = vprintf(fmt, ap);
    va_end(ap);
    return n;
}

int vsnprintf(char *buf, size_t size, const char *fmt, va_list ap)
{
    struct sink s = { .put = put_buf, .buf = buf, .size = size };
    int n = format(&s, fmt, ap);

    if (size) {
        buf[s.len < size ? s.len : size - 1] = '\0';
    }
    return n;
}

int snprintf(char *buf, size_t size, const char *fmt, ...)
{
    va_list ap;
    int n;

    va_start(ap, fmt);
    n = vsnprintf(buf, size, fmt, ap);
    va_end(ap);
    return n;
}
