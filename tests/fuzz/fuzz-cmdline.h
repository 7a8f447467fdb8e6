/* SPDX-License-Identifier: MIT */
/*
 * What the two files of the fuzz-cmdline target share: the harness
 * (fuzz-cmdline.c: the options an input picks from, the command line it
 * becomes, the parse, the build, the checks; all a libFuzzer build
 * needs) and the standalone campaign (fuzz-cmdline-seeds.c: command
 * lines users write, as inputs; main()).
 *
 * An input is a list of options (at most FCL_MAX_OPTS).  Each is an
 * option byte (an index into fcl_options: kvmini's options, and some it
 * does not have) and, for an option that takes an argument, a kind byte
 * and its bytes:
 *   FCL_ARG_TEMPLATE  u8: one of the option's values (fcl_options)
 *   FCL_ARG_RAW       u8 n, n bytes as they are
 *   FCL_ARG_EXTRA     u8 template, u8 key, u8 name: ",KEY=NAME" added
 *   FCL_ARG_CHANGE    u8 template, u8 position, u8 byte: one byte changed
 * An input that ends where an argument should be leaves it out.
 */
#ifndef TESTS_FUZZ_FUZZ_CMDLINE_H
#define TESTS_FUZZ_FUZZ_CMDLINE_H

#include "fuzz-common.h"

enum { FCL_ARG_TEMPLATE, FCL_ARG_RAW, FCL_ARG_EXTRA, FCL_ARG_CHANGE,
       FCL_ARG_COUNT };

#define FCL_MAX_OPTS    32
#define FCL_MAX_INPUT   1024
#define FCL_TEMPLATES   8

typedef struct FclOption {
    const char *name;           /* "-m" */
    bool has_arg;
    const char *values[FCL_TEMPLATES];      /* NULL-terminated if fewer */
} FclOption;

extern const FclOption fcl_options[];
extern const unsigned fcl_n_options;

typedef struct FclStats {
    unsigned parsed, parse_errors, exits, built, build_errors;
    unsigned unsafe, kernels_loaded, options;
} FclStats;

extern FclStats fcl_stats;

/* Run one input; true if the command line parsed and the machine was
 * built. */
bool fcl_fuzz_one(const uint8_t *data, size_t size);
/* The error of the last input that was not accepted. */
const char *fcl_last_error(void);

#endif
