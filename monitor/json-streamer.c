/* SPDX-License-Identifier: MIT */
/*
 * The JSON stream splitter of the QMP monitor (see qmp-internal.h): QEMU's
 * JSON lexer lets a client send an object in pieces or several objects in
 * one write, with or without newlines in between; this finds where each
 * top-level value ends so that json-glib can parse it whole.
 */
#include "qmp-internal.h"

#include <string.h>

void json_streamer_init(JsonStreamer *js, JsonStreamerFn *emit, void *opaque)
{
    memset(js, 0, sizeof(*js));
    js->buf = g_string_new(NULL);
    js->emit = emit;
    js->opaque = opaque;
}

void json_streamer_reset(JsonStreamer *js)
{
    g_string_truncate(js->buf, 0);
    js->depth = 0;
    js->in_string = js->escape = js->in_word = false;
}

void json_streamer_destroy(JsonStreamer *js)
{
    if (js->buf) {
        g_string_free(js->buf, TRUE);
        js->buf = NULL;
    }
}

/* Hand the value collected so far on and start afresh.  The buffer is
 * detached first: emit may run a command that feeds nothing here, but it
 * must see a clean splitter if it does. */
static void js_emit(JsonStreamer *js)
{
    g_autofree char *text = g_strdup(js->buf->str);

    json_streamer_reset(js);
    js->emit(js->opaque, text, NULL);
}

static void js_fail(JsonStreamer *js, const char *why)
{
    json_streamer_reset(js);
    js->emit(js->opaque, NULL, why);
}

static bool is_space(uint8_t c)
{
    return c == ' ' || c == '\t' || c == '\n' || c == '\r';
}

static bool ends_word(uint8_t c)
{
    return is_space(c) || strchr("{}[]\"", c) != NULL;
}

/* A byte outside any value: white space, or the start of one. */
static void js_start(JsonStreamer *js, uint8_t c)
{
    if (is_space(c)) {
        return;
    }
    g_string_append_c(js->buf, c);
    if (c == '{' || c == '[') {
        js->depth = 1;
    } else if (c == '"') {
        js->in_string = true;
    } else if (c == '}' || c == ']') {
        js_emit(js);            /* a stray closer: let the parser say so */
    } else {
        js->in_word = true;
    }
}

/* Inside a string: only an unescaped quote ends it. */
static void js_string(JsonStreamer *js, uint8_t c)
{
    g_string_append_c(js->buf, c);
    if (js->escape) {
        js->escape = false;
    } else if (c == '\\') {
        js->escape = true;
    } else if (c == '"') {
        js->in_string = false;
        if (!js->depth) {
            js_emit(js);
        }
    }
}

/* Inside {} / [] and outside strings. */
static void js_nested(JsonStreamer *js, uint8_t c)
{
    g_string_append_c(js->buf, c);
    if (c == '"') {
        js->in_string = true;
    } else if (c == '{' || c == '[') {
        if (++js->depth > JSON_MAX_NESTING) {
            js_fail(js, "JSON parse error, nesting too deep");
        }
    } else if (c == '}' || c == ']') {
        if (!--js->depth) {
            js_emit(js);
        }
    }
}

static void js_byte(JsonStreamer *js, uint8_t c)
{
    if (js->in_word) {
        if (!ends_word(c)) {
            g_string_append_c(js->buf, c);
            return;
        }
        js_emit(js);
        js_start(js, c);
    } else if (js->in_string) {
        js_string(js, c);
    } else if (js->depth) {
        js_nested(js, c);
    } else {
        js_start(js, c);
    }
}

void json_streamer_feed(JsonStreamer *js, const uint8_t *buf, size_t len)
{
    for (size_t i = 0; i < len; i++) {
        js_byte(js, buf[i]);
        if (js->buf->len > JSON_MAX_TOKEN_SIZE) {
            js_fail(js, "JSON parse error, token size limit exceeded");
        }
    }
}
