/* SPDX-License-Identifier: MIT */
/*
 * JSON output byte for byte as QEMU's monitor writes it, for the scripts
 * that match on text such as {"return": {}}: ", " between members and
 * ": " after keys (json-glib's generator writes neither), strings with
 * everything outside printable ASCII escaped (\uXXXX, surrogate pairs
 * beyond the BMP), and with pretty=on one member per line indented by
 * four spaces.
 */
#include "qmp-internal.h"

#include <string.h>

static void append_char(GString *out, gunichar c)
{
    switch (c) {
    case '"':
        g_string_append(out, "\\\"");
        break;
    case '\\':
        g_string_append(out, "\\\\");
        break;
    case '\b':
        g_string_append(out, "\\b");
        break;
    case '\f':
        g_string_append(out, "\\f");
        break;
    case '\n':
        g_string_append(out, "\\n");
        break;
    case '\r':
        g_string_append(out, "\\r");
        break;
    case '\t':
        g_string_append(out, "\\t");
        break;
    default:
        if (c >= 0x20 && c < 0x7f) {
            g_string_append_c(out, c);
        } else if (c < 0x10000) {
            g_string_append_printf(out, "\\u%04X", c);
        } else {
            c -= 0x10000;
            g_string_append_printf(out, "\\u%04X\\u%04X",
                                   0xd800 | (c >> 10), 0xdc00 | (c & 0x3ff));
        }
    }
}

static void append_string(GString *out, const char *s)
{
    const char *p = s;

    g_string_append_c(out, '"');
    while (*p) {
        gunichar c = g_utf8_get_char_validated(p, -1);

        if (c == (gunichar)-1 || c == (gunichar)-2) {
            g_string_append(out, "\\uFFFD");  /* invalid UTF-8 byte */
            p++;
            continue;
        }
        append_char(out, c);
        p = g_utf8_next_char(p);
    }
    g_string_append_c(out, '"');
}

static void append_value(GString *out, JsonNode *node)
{
    GType t = json_node_get_value_type(node);

    if (t == G_TYPE_INT64) {
        g_string_append_printf(out, "%" G_GINT64_FORMAT,
                               json_node_get_int(node));
    } else if (t == G_TYPE_DOUBLE) {
        char buf[G_ASCII_DTOSTR_BUF_SIZE];

        g_string_append(out, g_ascii_dtostr(buf, sizeof(buf),
                                            json_node_get_double(node)));
    } else if (t == G_TYPE_BOOLEAN) {
        g_string_append(out, json_node_get_boolean(node) ? "true" : "false");
    } else {
        append_string(out, json_node_get_string(node));
    }
}

/* Before an element: the comma after the previous one, then a space or
 * (pretty) a new line with indentation. */
static void separate(GString *out, bool first, bool pretty, unsigned depth)
{
    if (!first) {
        g_string_append_c(out, ',');
    }
    if (pretty) {
        g_string_append_c(out, '\n');
        for (unsigned i = 0; i < depth; i++) {
            g_string_append(out, "    ");
        }
    } else if (!first) {
        g_string_append_c(out, ' ');
    }
}

static void append_node(GString *out, JsonNode *node, bool pretty,
                        unsigned depth);

static void append_object(GString *out, JsonObject *o, bool pretty,
                          unsigned depth)
{
    g_autoptr(GList) members = json_object_get_members(o);

    g_string_append_c(out, '{');
    for (GList *m = members; m; m = m->next) {
        separate(out, m == members, pretty, depth + 1);
        append_string(out, m->data);
        g_string_append(out, ": ");
        append_node(out, json_object_get_member(o, m->data), pretty,
                    depth + 1);
    }
    if (pretty && members) {
        separate(out, true, pretty, depth);
    }
    g_string_append_c(out, '}');
}

static void append_array(GString *out, JsonArray *a, bool pretty,
                         unsigned depth)
{
    guint n = json_array_get_length(a);

    g_string_append_c(out, '[');
    for (guint i = 0; i < n; i++) {
        separate(out, i == 0, pretty, depth + 1);
        append_node(out, json_array_get_element(a, i), pretty, depth + 1);
    }
    if (pretty && n) {
        separate(out, true, pretty, depth);
    }
    g_string_append_c(out, ']');
}

static void append_node(GString *out, JsonNode *node, bool pretty,
                        unsigned depth)
{
    switch (json_node_get_node_type(node)) {
    case JSON_NODE_OBJECT:
        append_object(out, json_node_get_object(node), pretty, depth);
        break;
    case JSON_NODE_ARRAY:
        append_array(out, json_node_get_array(node), pretty, depth);
        break;
    case JSON_NODE_VALUE:
        append_value(out, node);
        break;
    case JSON_NODE_NULL:
        g_string_append(out, "null");
        break;
    }
}

char *qmp_json_to_string(JsonNode *node, bool pretty)
{
    GString *out = g_string_new(NULL);

    append_node(out, node, pretty, 0);
    return g_string_free(out, FALSE);
}
