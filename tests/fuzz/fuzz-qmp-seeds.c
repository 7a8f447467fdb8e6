/* SPDX-License-Identifier: MIT */
/*
 * The standalone campaign of fuzz-qmp (the harness is in fuzz-qmp.c, the
 * checks in fuzz-qmp-oracle.c): its seeds, clients written as operations
 * — negotiation and every query; stop / cont / system_reset / quit;
 * memory backends and pc-dimms added and removed, flat and with props;
 * migration parameters and capabilities; getfd / closefd with fds; many
 * requests in one write, a request in pieces, deep nesting, a large id,
 * a hang-up and a new client — and main() (see fuzz-common.h for the
 * environment and arguments).  Every request of a seed gets "return";
 * the mutations make the rest.
 */
#include "fuzz-qmp.h"

/* --- writing operations ----------------------------------------------------- */

static void put(GByteArray *b, uint64_t v, unsigned n)
{
    for (unsigned i = 0; i < n; i++) {
        uint8_t c = v >> (8 * i);

        g_byte_array_append(b, &c, 1);
    }
}

static unsigned find(const char *const *table, unsigned n, const char *s)
{
    for (unsigned i = 0; i < n; i++) {
        if (!strcmp(table[i], s)) {
            return i;
        }
    }
    g_error("fuzz-qmp: '%s' is not in the table", s);
}

/* FQM_OP_CMD head: command, an id (0: none), shape, argument count; the
 * arguments follow (arg_*), then end(). */
static void cmd(GByteArray *b, const char *name, uint8_t id, unsigned argc)
{
    put(b, FQM_OP_CMD, 1);
    put(b, find(fqm_commands, fqm_n_commands, name), 1);
    put(b, id, 1);
    put(b, argc ? 0 : FQM_SHAPE_NO_ARGS, 1);
    put(b, argc, 1);
}

static void end(GByteArray *b, uint8_t how)
{
    put(b, how, 1);
}

static void key(GByteArray *b, const char *k)
{
    put(b, find(fqm_keys, fqm_n_keys, k), 1);
}

static void arg_name(GByteArray *b, const char *k, const char *v)
{
    key(b, k);
    put(b, FQM_V_NAME, 1);
    put(b, find(fqm_names, fqm_n_names, v), 1);
}

static void arg_int(GByteArray *b, const char *k, uint64_t v)
{
    key(b, k);
    put(b, FQM_V_INT, 1);
    put(b, v, 8);
}

static void arg_bool(GByteArray *b, const char *k, bool v)
{
    key(b, k);
    put(b, FQM_V_BOOL, 1);
    put(b, v, 1);
}

/* A simple command that returns, with id kind id (0: none). */
static void simple(GByteArray *b, const char *name, uint8_t id)
{
    cmd(b, name, id, 0);
    end(b, 1);
}

static void negotiate(GByteArray *b)
{
    simple(b, "qmp_capabilities", 0x80);
}

/* --- seeds ------------------------------------------------------------------- */

/* Every query, with ids of every kind. */
static GByteArray *seed_queries(void)
{
    static const char *const queries[] = {
        "query-version", "query-commands", "query-kvm", "query-status",
        "query-name", "query-chardev", "query-memory-devices",
        "x-query-vhost", "query-migrate", "query-migrate-parameters",
        "query-migrate-capabilities",
    };
    GByteArray *b = g_byte_array_new();

    negotiate(b);
    for (unsigned i = 0; i < G_N_ELEMENTS(queries); i++) {
        simple(b, queries[i], 0x80 | (i * 9));
    }
    put(b, FQM_OP_SYNC, 1);
    return b;
}

/* The run state, and a reset, announce, quit. */
static GByteArray *seed_run_state(void)
{
    GByteArray *b = g_byte_array_new();

    negotiate(b);
    simple(b, "stop", 0x81);
    simple(b, "query-status", 0);
    simple(b, "stop", 0);
    simple(b, "cont", 0x82);
    simple(b, "query-status", 0);
    simple(b, "system_reset", 0);
    put(b, FQM_OP_SYNC, 1);
    simple(b, "announce-self", 0);
    simple(b, "migrate_cancel", 0);
    simple(b, "quit", 0);
    return b;
}

/* Memory backends and pc-dimms: added, plugged, unplugged, deleted. */
static GByteArray *seed_memory(void)
{
    GByteArray *b = g_byte_array_new();

    negotiate(b);
    cmd(b, "object-add", 0x83, 4);
    arg_name(b, "qom-type", "memory-backend-memfd");
    arg_name(b, "id", "m2");
    arg_int(b, "size", 2 * FUZZ_MiB);
    arg_bool(b, "share", true);
    end(b, 1);
    cmd(b, "object-add", 0, 3);     /* the older form: props */
    arg_name(b, "qom-type", "memory-backend-file");
    arg_name(b, "id", "d0");
    key(b, "props");
    put(b, FQM_V_OBJECT, 1);
    put(b, 2, 1);
    key(b, "size");
    put(b, FQM_V_NAME, 1);
    put(b, find(fqm_names, fqm_n_names, "2M"), 1);
    key(b, "mem-path");
    put(b, FQM_V_NAME, 1);
    put(b, find(fqm_names, fqm_n_names, "ramfile"), 1);
    end(b, 2);
    cmd(b, "device_add", 0, 3);
    arg_name(b, "driver", "pc-dimm");
    arg_name(b, "id", "d1");
    arg_name(b, "memdev", "m1");
    end(b, 1);
    simple(b, "query-memory-devices", 0);
    cmd(b, "device_del", 0, 1);
    arg_name(b, "id", "d1");
    end(b, 1);
    cmd(b, "object-del", 0, 1);
    arg_name(b, "id", "m2");
    end(b, 3);
    cmd(b, "object-del", 0, 1);
    arg_name(b, "id", "d0");
    end(b, 1);
    return b;
}

/* Migration's parameters and capabilities, getfd / closefd. */
static GByteArray *seed_migration(void)
{
    GByteArray *b = g_byte_array_new();

    negotiate(b);
    cmd(b, "migrate-set-parameters", 0, 2);
    arg_int(b, "downtime-limit", 300);
    arg_int(b, "max-bandwidth", 1 << 20);
    end(b, 1);
    cmd(b, "migrate-set-capabilities", 0, 1);
    key(b, "capabilities");
    put(b, FQM_V_LIST, 1);
    put(b, 0, 1);
    end(b, 1);
    put(b, FQM_OP_FD, 1);
    put(b, 0, 1);                   /* getfd fd1 */
    put(b, 1, 1);
    put(b, FQM_OP_FD, 1);
    put(b, 1, 1);                   /* closefd fd1 */
    put(b, 1, 1);
    put(b, FQM_OP_FD, 1);
    put(b, 2, 1);                   /* query-status with an fd */
    put(b, 0, 1);
    put(b, FQM_OP_FD, 1);
    put(b, 0, 1);                   /* getfd fd2, left to the teardown */
    put(b, 2, 1);
    return b;
}

/* Many requests in one write; one in pieces across writes; nesting just
 * under the limit; a 64 KiB id; a new client that negotiates again. */
static GByteArray *seed_stream(void)
{
    static const char piece1[] = "{\"execute\":";
    static const char piece2[] = " \"query-name\", \"id\": [1, {\"a\": 2}]}";
    static const char deep_ok[] = "{\"execute\": \"query-status\", "
                                  "\"arguments\": {}, \"id\": ";
    GByteArray *b = g_byte_array_new();

    negotiate(b);
    put(b, FQM_OP_MANY, 1);
    put(b, 40, 1);
    put(b, 0, 1);
    put(b, FQM_OP_RAW, 1);
    put(b, strlen(piece1), 1);
    g_byte_array_append(b, (const uint8_t *)piece1, strlen(piece1));
    put(b, FQM_OP_RAW, 1);
    put(b, strlen(piece2), 1);
    g_byte_array_append(b, (const uint8_t *)piece2, strlen(piece2));
    put(b, FQM_OP_RAW, 1);
    put(b, strlen(deep_ok), 1);
    g_byte_array_append(b, (const uint8_t *)deep_ok, strlen(deep_ok));
    put(b, FQM_OP_DEEP, 1);
    put(b, 1000, 2);
    put(b, 2 | 1 << 2 | 0 << 0, 1); /* arrays, closed */
    put(b, FQM_OP_RAW, 1);
    put(b, 2, 1);
    g_byte_array_append(b, (const uint8_t *)"}\n", 2);
    put(b, FQM_OP_HUGE, 1);
    put(b, 207, 1);                 /* 64 KiB */
    put(b, 1 | 1 << 1, 1);          /* closed, "\n" */
    put(b, FQM_OP_RECONNECT, 1);
    negotiate(b);
    simple(b, "query-status", 0x84);
    return b;
}

static GPtrArray *fqm_make_seeds(void)
{
    GPtrArray *seeds = g_ptr_array_new_with_free_func(
        (GDestroyNotify)g_byte_array_unref);

    g_ptr_array_add(seeds, seed_queries());
    g_ptr_array_add(seeds, seed_run_state());
    g_ptr_array_add(seeds, seed_memory());
    g_ptr_array_add(seeds, seed_migration());
    g_ptr_array_add(seeds, seed_stream());
    return seeds;
}

/* --- main ---------------------------------------------------------------------- */

static void fqm_summary(GString *out)
{
    g_string_append_printf(out, "; %u values, %u replies (%u errors), %u "
                           "events, %u negotiations, %u reconnects, %u fds "
                           "sent, %u huge values, %u inputs skipped as "
                           "unsafe", fqm_stats.values, fqm_stats.replies,
                           fqm_stats.errors, fqm_stats.events,
                           fqm_stats.negotiated, fqm_stats.reconnects,
                           fqm_stats.fds_sent, fqm_stats.huge,
                           fqm_stats.skipped_unsafe);
}

int main(int argc, char **argv)
{
    static const FuzzTarget target = {
        .name = "fuzz-qmp",
        .iterations = 600,
        .max_input = FQM_MAX_INPUT,
        .make_seeds = fqm_make_seeds,
        .run = fqm_fuzz_one,
        .summary = fqm_summary,
    };

    return fuzz_main(&target, argc, argv);
}
