/* SPDX-License-Identifier: MIT */
/*
 * What the two files of the fuzz-migration target share: the harness
 * (fuzz-migration.c: the destination machine, the entry points, the
 * checks; all a libFuzzer build needs) and the standalone campaign
 * (fuzz-migration-seeds.c: seeds made on a source machine, structure-
 * aware mutations, main()).
 */
#ifndef TESTS_FUZZ_FUZZ_MIGRATION_H
#define TESTS_FUZZ_FUZZ_MIGRATION_H

#include "../../migration/migration-internal.h"
#include "fuzz-common.h"
#include "fuzz-machine.h"
#include "fuzz-net.h"

#define MF_LOW_SIZE     (2 * FUZZ_MiB)
#define MF_HIGH_GPA     0x100000000ULL
#define MF_HIGH_SIZE    (64 * FUZZ_KiB)
#define MF_HIGH_FILL    0xa5
#define MF_PAGE         ((uint64_t)MIG_PAGE_SIZE)
#define MF_MAX_INPUT    (2 * FUZZ_MiB)

/* The first byte of an input (modulo MF_MODES). */
enum { MF_STREAM, MF_CONFIG, MF_RAM, MF_BLOB, MF_DEVICE, MF_MODES };

extern const char *const mf_mode_names[MF_MODES];

typedef struct MfStats {
    unsigned runs[MF_MODES], ok[MF_MODES];
    unsigned loads;                 /* device state loaded, guest kicked */
    unsigned answered;              /* control commands answered after it */
} MfStats;

extern MfStats mf_stats;

/* The destination, new for every input. */
typedef struct MigVM {
    MachineState *ms;
    FuzzAccel accel;
    FuzzNet net;
    uint8_t *high;                  /* malloc'd RAM at MF_HIGH_GPA */
    uint8_t *low;                   /* memfd RAM at 0 */
    int low_fd;
    RamState *rs;
    GByteArray *config;             /* the local configuration */
} MigVM;

/* A destination for one input; freed with mvm_free(). */
void mvm_init(MigVM *vm);
void mvm_free(MigVM *vm);
/* Run one input; true if the destination accepted it. */
bool mf_fuzz_one(const uint8_t *data, size_t size);
/* Why the last input was rejected (NULL: it was not). */
const char *mf_last_error_get(void);

#endif
