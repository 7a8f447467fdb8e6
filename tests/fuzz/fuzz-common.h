/* SPDX-License-Identifier: MIT */
/*
 * What the standalone fuzz programs share (all but fuzz-loader):
 * a bounded, deterministic campaign over seeds built in-process (after
 * the inputs in tests/fuzz/regressions that once found a bug), with
 * byte-level mutations (bit flips, boundary values in both byte orders,
 * arithmetic, truncation, growth, deletion, duplication, splices between
 * seeds) and an optional mutator of the target's own; the replay of
 * saved inputs; --write-seeds for a libFuzzer corpus; and a reader that
 * decodes operations from the input bytes (zero past the end).
 *
 * A target fills a FuzzTarget and calls fuzz_main() from main():
 *   FUZZ_ITERATIONS  inputs after the seeds (default: the target's)
 *   FUZZ_SEED        seed of the generator (default 1)
 *   FUZZ_LAST=FILE   write each input there before it runs
 *   FUZZ_VERBOSE=1   keep the product's stderr messages that a target
 *                    silences around calls known to warn (the targets
 *                    also log guest errors then, as -d guest_errors)
 *   PROGRAM FILE...  replay those inputs, one line each
 *   PROGRAM --write-seeds DIR
 * Everything here is header-only and static inline, so a target that
 * includes it under KVMINI_LIBFUZZER (where only the input reader, the
 * byte-order helpers and FuzzQuiet are used) does not trip
 * -Wunused-function.
 */
#ifndef TESTS_FUZZ_FUZZ_COMMON_H
#define TESTS_FUZZ_FUZZ_COMMON_H

#include <glib.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define FUZZ_KiB 1024ULL
#define FUZZ_MiB (1024ULL * 1024)

/* g_error() stops the program with SIGTRAP, which libFuzzer does not
 * catch: it would die without writing the input.  An abort() it does. */
static inline void fuzz_trap_to_abort(int sig)
{
    abort();
}

/* The libFuzzer entry point of a target whose one-input function is fn
 * (its result is the target's business, libFuzzer wants 0). */
#define FUZZ_LIBFUZZER_ENTRY(fn)                                        \
    int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);       \
    int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)        \
    {                                                                   \
        static bool trap_caught;                                        \
                                                                        \
        if (!trap_caught) {                                             \
            trap_caught = true;                                         \
            signal(SIGTRAP, fuzz_trap_to_abort);                        \
        }                                                               \
        (void)fn(data, size);                                           \
        return 0;                                                       \
    }

/* --- decoding operations from the input ---------------------------------- */

typedef struct FuzzInput {
    const uint8_t *data;
    size_t size;
    size_t pos;
} FuzzInput;

static inline bool fuzz_in_left(const FuzzInput *in)
{
    return in->pos < in->size;
}

/* Little-endian, n <= 8 bytes; the bytes past the end read as zero. */
static inline uint64_t fuzz_in_le(FuzzInput *in, unsigned n)
{
    uint64_t v = 0;

    for (unsigned i = 0; i < n; i++) {
        uint64_t b = in->pos < in->size ? in->data[in->pos++] : 0;

        v |= b << (8 * i);
    }
    return v;
}

static inline uint8_t fuzz_in_u8(FuzzInput *in)
{
    return fuzz_in_le(in, 1);
}

/* Up to n bytes in place (fewer at the end); *len gets how many. */
static inline const uint8_t *fuzz_in_bytes(FuzzInput *in, size_t n,
                                           size_t *len)
{
    const uint8_t *p = in->data + in->pos;

    *len = MIN(n, in->size - in->pos);
    in->pos += *len;
    return p;
}

/* v as width bytes at p, little- or big-endian. */
static inline void fuzz_store(uint8_t *p, uint64_t v, unsigned width,
                              bool big_endian)
{
    for (unsigned i = 0; i < width; i++) {
        p[big_endian ? width - 1 - i : i] = v >> (8 * i);
    }
}

static inline uint64_t fuzz_load(const uint8_t *p, unsigned width,
                                 bool big_endian)
{
    uint64_t v = 0;

    for (unsigned i = 0; i < width; i++) {
        v |= (uint64_t)p[big_endian ? width - 1 - i : i] << (8 * i);
    }
    return v;
}

#ifndef KVMINI_LIBFUZZER

/* --- the target ----------------------------------------------------------- */

typedef struct FuzzTarget {
    const char *name;
    unsigned iterations;            /* default FUZZ_ITERATIONS */
    size_t max_input;               /* mutations never grow past it */
    size_t hot_len;                 /* half the mutations hit [0, hot_len) */
    /* Valid inputs (GByteArray *); each must be accepted. */
    GPtrArray *(*make_seeds)(void);
    /* Run one input; true if the code under test accepted it. */
    bool (*run)(const uint8_t *data, size_t size);
    /* Optional: a structure-aware mutation, tried on half the inputs. */
    void (*mutate)(GRand *r, GByteArray *ba);
    /* Optional: a random input (default: random bytes). */
    GByteArray *(*random_input)(GRand *r);
    /* Optional: appended to the summary line ("..., N loads"). */
    void (*summary)(GString *out);
    /* Optional: why the last input was rejected (replay prints it). */
    const char *(*last_error)(void);
} FuzzTarget;

static inline unsigned fuzz_env_uint(const char *name, unsigned dflt)
{
    const char *s = getenv(name);

    return s && *s ? (unsigned)strtoul(s, NULL, 0) : dflt;
}

/* --- mutations ------------------------------------------------------------ */

/* Values that tend to sit on the boundaries of size and offset checks. */
static inline uint64_t fuzz_interesting(GRand *r)
{
    static const uint64_t values[] = {
        0, 1, 2, 3, 4, 7, 8, 0xf, 0x10, 0x3f, 0x40, 0x7f, 0x80, 0xff,
        0x100, 0x1ff, 0x200, 0xfff, 0x1000, 0x1001, 0x7fff, 0x8000, 0xffff,
        0x10000, 0x100000, 0x3ffffff, 0x4000000, 0x4000001, 0x7fffffff,
        0x80000000, 0xfffffff0, 0xfffff000, 0xffffffff, 0x100000000ULL,
        0x100001000ULL, 0x7fffffffffffffffULL, 0xfffffffffffff000ULL,
        UINT64_MAX,
    };

    return values[g_rand_int_range(r, 0, G_N_ELEMENTS(values))];
}

static inline size_t fuzz_pick_offset(GRand *r, size_t len, size_t hot)
{
    if (hot && len > hot && g_rand_boolean(r)) {
        return g_rand_int_range(r, 0, hot);
    }
    return g_rand_int_range(r, 0, len);
}

/* A boundary value or a small step of the value there, 1-8 bytes. */
static inline void fuzz_mutate_word(GRand *r, GByteArray *ba, size_t off)
{
    unsigned width = 1u << g_rand_int_range(r, 0, 4);
    bool be = g_rand_boolean(r);
    uint64_t v;

    if (off + width > ba->len) {
        return;
    }
    if (g_rand_boolean(r)) {
        v = fuzz_interesting(r);
    } else {
        v = fuzz_load(ba->data + off, width, be) +
            g_rand_int_range(r, -16, 17);
    }
    fuzz_store(ba->data + off, v, width, be);
}

/* Copy [from, from + n) of src over ba at off (growing it if needed). */
static inline void fuzz_splice(GByteArray *ba, size_t off,
                               const uint8_t *src, size_t n, size_t max)
{
    n = MIN(n, max - MIN(off, max));
    if (off + n > ba->len) {
        g_byte_array_set_size(ba, off + n);
    }
    memmove(ba->data + off, src, n);
}

static inline void fuzz_mutate_shape(GRand *r, GByteArray *ba, size_t off,
                                     size_t max, GPtrArray *seeds)
{
    size_t n = g_rand_int_range(r, 1, 257);

    switch (g_rand_int_range(r, 0, 5)) {
    case 0:
        g_byte_array_set_size(ba, off);
        break;
    case 1:
        n = MIN(ba->len + n, max);
        while (ba->len < n) {
            uint8_t b = g_rand_int(r);
            g_byte_array_append(ba, &b, 1);
        }
        break;
    case 2:
        g_byte_array_remove_range(ba, off, MIN(n, ba->len - off));
        break;
    case 3: {                       /* duplicate a chunk of itself */
        size_t from = g_rand_int_range(r, 0, ba->len);
        g_autofree uint8_t *chunk = g_memdup2(ba->data + from,
                                              MIN(n, ba->len - from));
        fuzz_splice(ba, off, chunk, MIN(n, ba->len - from), max);
        break;
    }
    default: {                      /* the tail of another seed */
        GByteArray *o = g_ptr_array_index(seeds,
                                          g_rand_int_range(r, 0, seeds->len));
        size_t from = o->len ? g_rand_int_range(r, 0, o->len) : 0;
        g_byte_array_set_size(ba, off);
        fuzz_splice(ba, off, o->data + from, o->len - from, max);
        break;
    }
    }
}

static inline void fuzz_mutate_once(const FuzzTarget *t, GRand *r,
                                    GByteArray *ba, GPtrArray *seeds)
{
    size_t off;

    if (ba->len == 0) {
        /* set_size leaves the new bytes as malloc left them: fill them,
         * or the campaign is not the same twice. */
        g_byte_array_set_size(ba, g_rand_int_range(r, 1, 64));
        for (size_t i = 0; i < ba->len; i++) {
            ba->data[i] = g_rand_int(r);
        }
        return;
    }
    off = fuzz_pick_offset(r, ba->len, t->hot_len);
    switch (g_rand_int_range(r, 0, 6)) {
    case 0:
        ba->data[off] ^= 1u << g_rand_int_range(r, 0, 8);
        break;
    case 1:
        ba->data[off] = g_rand_int(r);
        break;
    case 2:
    case 3:
        fuzz_mutate_word(r, ba, off);
        break;
    default:
        fuzz_mutate_shape(r, ba, off, t->max_input, seeds);
        break;
    }
}

static inline GByteArray *fuzz_random_bytes(GRand *r, size_t max)
{
    GByteArray *ba = g_byte_array_new();
    size_t len = g_rand_int_range(r, 0, MIN(max, 4096) + 1);

    g_byte_array_set_size(ba, len);
    for (size_t i = 0; i < len; i++) {
        ba->data[i] = g_rand_int(r);
    }
    return ba;
}

/* One input in ten random, else a seed with 1-8 mutations. */
static inline GByteArray *fuzz_next_input(const FuzzTarget *t, GRand *r,
                                          GPtrArray *seeds)
{
    GByteArray *seed, *ba;

    if (g_rand_int_range(r, 0, 10) == 0) {
        return t->random_input ? t->random_input(r)
                               : fuzz_random_bytes(r, t->max_input);
    }
    seed = g_ptr_array_index(seeds, g_rand_int_range(r, 0, seeds->len));
    ba = g_byte_array_sized_new(seed->len);
    g_byte_array_append(ba, seed->data, seed->len);
    if (t->mutate && g_rand_boolean(r)) {
        t->mutate(r, ba);
    }
    for (int n = g_rand_int_range(r, 1, 9); n > 0; n--) {
        fuzz_mutate_once(t, r, ba, seeds);
    }
    return ba;
}

/* --- the program ------------------------------------------------------------ */

static inline int fuzz_write_seeds(const FuzzTarget *t, const char *dir,
                                   GPtrArray *seeds)
{
    g_mkdir_with_parents(dir, 0755);
    for (unsigned i = 0; i < seeds->len; i++) {
        GByteArray *ba = g_ptr_array_index(seeds, i);
        g_autofree char *name = g_strdup_printf("%s/seed-%u", dir, i);
        g_autoptr(GError) err = NULL;

        if (!g_file_set_contents(name, (char *)ba->data, ba->len, &err)) {
            fprintf(stderr, "%s: %s\n", t->name, err->message);
            return 1;
        }
    }
    return 0;
}

static inline int fuzz_replay(const FuzzTarget *t, int argc, char **argv)
{
    for (int i = 1; i < argc; i++) {
        g_autofree char *data = NULL;
        g_autoptr(GError) err = NULL;
        gsize len;

        if (!g_file_get_contents(argv[i], &data, &len, &err)) {
            fprintf(stderr, "%s: %s\n", t->name, err->message);
            return 1;
        }
        if (t->run((uint8_t *)data, len)) {
            printf("%s: accepted\n", argv[i]);
        } else {
            const char *why = t->last_error ? t->last_error() : NULL;

            printf("%s: rejected%s%s\n", argv[i], why ? ": " : "",
                   why ? why : "");
        }
    }
    return 0;
}

static inline gint fuzz_strcmp(gconstpointer a, gconstpointer b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

/*
 * Inputs that once found a bug, FUZZ_REGRESSION_DIR/NAME-* (meson passes
 * tests/fuzz/regressions): each must run to its end, accepted or not.
 * Returns how many ran.
 */
static inline unsigned fuzz_regressions(const FuzzTarget *t)
{
#ifdef FUZZ_REGRESSION_DIR
    g_autoptr(GDir) dir = g_dir_open(FUZZ_REGRESSION_DIR, 0, NULL);
    g_autofree char *prefix = g_strdup_printf("%s-", t->name);
    g_autoptr(GPtrArray) names = g_ptr_array_new_with_free_func(g_free);
    const char *name;

    while (dir && (name = g_dir_read_name(dir))) {
        if (g_str_has_prefix(name, prefix)) {
            g_ptr_array_add(names, g_build_filename(FUZZ_REGRESSION_DIR,
                                                    name, NULL));
        }
    }
    g_ptr_array_sort(names, fuzz_strcmp);
    for (unsigned i = 0; i < names->len; i++) {
        g_autofree char *data = NULL;
        gsize len;

        if (!g_file_get_contents(g_ptr_array_index(names, i), &data, &len,
                                 NULL)) {
            g_error("%s: cannot read %s", t->name,
                    (char *)g_ptr_array_index(names, i));
        }
        t->run((uint8_t *)data, len);
    }
    return names->len;
#else
    return 0;
#endif
}

/* FUZZ_LAST=FILE: each input of the campaign is written there before it
 * runs, so that the one that failed can be replayed. */
static inline void fuzz_save_last(const GByteArray *ba)
{
    const char *path = getenv("FUZZ_LAST");

    if (path && *path &&
        !g_file_set_contents(path, (const char *)ba->data, ba->len, NULL)) {
        g_error("cannot write %s", path);
    }
}

static inline int fuzz_campaign(const FuzzTarget *t, GPtrArray *seeds)
{
    unsigned iterations = fuzz_env_uint("FUZZ_ITERATIONS", t->iterations);
    unsigned seed = fuzz_env_uint("FUZZ_SEED", 1);
    g_autoptr(GRand) r = g_rand_new_with_seed(seed);
    g_autoptr(GString) extra = g_string_new("");
    gint64 start = g_get_monotonic_time();
    unsigned accepted = 0, regressions;

    for (unsigned i = 0; i < seeds->len; i++) {
        GByteArray *ba = g_ptr_array_index(seeds, i);

        if (!t->run(ba->data, ba->len)) {
            const char *why = t->last_error ? t->last_error() : NULL;

            fprintf(stderr, "%s: seed %u is not accepted%s%s\n", t->name, i,
                    why ? ": " : "", why ? why : "");
            return 1;
        }
    }
    regressions = fuzz_regressions(t);
    for (unsigned i = 0; i < iterations; i++) {
        GByteArray *ba = fuzz_next_input(t, r, seeds);

        fuzz_save_last(ba);
        accepted += t->run(ba->data, ba->len);
        g_byte_array_unref(ba);
    }
    if (t->summary) {
        t->summary(extra);
    }
    printf("%s: seed %u, %u regression inputs, %u inputs, %u accepted, "
           "%u rejected%s, %.1f s\n", t->name, seed, regressions,
           iterations, accepted, iterations - accepted, extra->str,
           (g_get_monotonic_time() - start) / 1e6);
    return 0;
}

static inline int fuzz_main(const FuzzTarget *t, int argc, char **argv)
{
    g_autoptr(GPtrArray) seeds = t->make_seeds();

    /* A glib critical is a bug in the program: stop on it. */
    g_log_set_always_fatal(G_LOG_LEVEL_CRITICAL | G_LOG_LEVEL_WARNING);
    if (argc == 3 && !strcmp(argv[1], "--write-seeds")) {
        return fuzz_write_seeds(t, argv[2], seeds);
    }
    if (argc > 1) {
        return fuzz_replay(t, argc, argv);
    }
    return fuzz_campaign(t, seeds);
}

#endif /* !KVMINI_LIBFUZZER */

/* --- quieting the product's warnings -------------------------------------- */

/* Some calls print expected warnings for most fuzzed inputs (a device
 * that cannot announce after migration, ...).  They go through stdio's
 * stderr; the sanitizers write to fd 2 directly, so their reports stay
 * visible.  FUZZ_VERBOSE=1 keeps the warnings. */
typedef struct FuzzQuiet {
    FILE *saved;
} FuzzQuiet;

static inline void fuzz_quiet_begin(FuzzQuiet *q)
{
    static FILE *null;              /* opened once, kept for the run */
    const char *v = getenv("FUZZ_VERBOSE");

    q->saved = NULL;
    if (v && *v && strcmp(v, "0")) {
        return;
    }
    if (!null) {
        null = fopen("/dev/null", "w");
    }
    if (null) {
        fflush(stderr);
        q->saved = stderr;
        stderr = null;
    }
}

static inline void fuzz_quiet_end(FuzzQuiet *q)
{
    if (q->saved) {
        fflush(stderr);
        stderr = q->saved;
    }
}

#endif
