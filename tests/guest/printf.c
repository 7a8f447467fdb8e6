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

static int format(struct sink *s, const char *fmt, va_list ap)
{
    static const char lower[] = "0123456789abcdef";
    static const char upper[] = "0123456789ABCDEF";

    for (; *fmt; fmt++) {
        char digits[24], *p;
        const char *str, *prefix = "";
        bool left = false, zero = false, is_signed = false;
        int width = 0, prec = -1, lng = 0, shrt = 0, base = 10, len;
        const char *dig = lower;
        uint64_t v;

        if (*fmt != '%') {
            emit(s, *fmt);
            continue;
        }
        fmt++;
        for (;; fmt++) {
            if (*fmt == '-') {
                left = true;
            } else if (*fmt == '0') {
                zero = true;
            } else {
                break;
            }
        }
        if (*fmt == '*') {
            width = va_arg(ap, int);
            fmt++;
        } else {
            while (*fmt >= '0' && *fmt <= '9') {
                width = width * 10 + (*fmt++ - '0');
            }
        }
        if (*fmt == '.') {
            fmt++;
            prec = 0;
            if (*fmt == '*') {
                prec = va_arg(ap, int);
                fmt++;
            } else {
                while (*fmt >= '0' && *fmt <= '9') {
                    prec = prec * 10 + (*fmt++ - '0');
                }
            }
        }
        while (*fmt == 'l' || *fmt == 'h' || *fmt == 'z') {
            if (*fmt == 'h') {
                shrt++;
            } else {
                lng++;
            }
            fmt++;
        }

        switch (*fmt) {
        case 'c':
            digits[0] = (char)va_arg(ap, int);
            emit_field(s, "", digits, 1, width, left, false);
            continue;
        case 's':
            str = va_arg(ap, const char *);
            if (!str) {
                str = "(null)";
            }
            len = (int)(prec >= 0 ? strnlen(str, (size_t)prec) : strlen(str));
            emit_field(s, "", str, len, width, left, false);
            continue;
        case 'd':
        case 'i':
            is_signed = true;
            break;
        case 'u':
            break;
        case 'X':
            dig = upper;
            /* fall through */
        case 'x':
            base = 16;
            break;
        case 'p':
            base = 16;
            lng = 1;
            prefix = "0x";
            break;
        case '%':
            emit(s, '%');
            continue;
        case '\0':
            fmt--;          /* stray '%' at the end */
            continue;
        default:
            emit(s, '%');
            emit(s, *fmt);
            continue;
        }

        if (*fmt == 'p') {
            v = (uint64_t)(uintptr_t)va_arg(ap, void *);
        } else if (lng) {
            v = va_arg(ap, uint64_t);   /* long and long long: 64 bits */
        } else {
            v = va_arg(ap, unsigned int);
            if (shrt && is_signed) {
                v = (uint32_t)(shrt == 1 ? (int32_t)(int16_t)v
                                         : (int32_t)(int8_t)v);
            } else if (shrt) {
                v = shrt == 1 ? (uint16_t)v : (uint8_t)v;
            }
        }
        if (is_signed) {
            int64_t sv = lng ? (int64_t)v : (int64_t)(int32_t)v;
            if (sv < 0) {
                prefix = "-";
                v = (uint64_t)0 - (uint64_t)sv;
            }
        }
        p = digits + sizeof(digits);
        do {
            *--p = dig[v % (unsigned)base];
            v /= (unsigned)base;
        } while (v);
        emit_field(s, prefix, p, (int)(digits + sizeof(digits) - p),
                   width, left, zero);
    }
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
