/* SPDX-License-Identifier: MIT */
/*
 * What the files of the fuzz-qtest target share: the harness
 * (fuzz-qtest.c: the machine, the socket, the operations an input is
 * decoded into), the checks of every reply (fuzz-qtest-oracle.c: the
 * protocol's reply per line, a model of guest RAM, the interrupt lines,
 * the clock) — all a libFuzzer build needs — and the standalone campaign
 * (fuzz-qtest-seeds.c: seeds written as operations, main()).
 *
 * An input is a list of operations whose first byte (modulo FQ_OP_COUNT)
 * picks one:
 *   FQ_OP_CMD   a command line from parts: a name byte (a command of the
 *               protocol, or one it does not have), an argument count,
 *               each argument from a kind byte and its bytes (an address
 *               of the machine's map, a port, a value, a transfer size,
 *               hex or base64 data, raw bytes, a malformed number) and a
 *               format byte, then how the line ends (\n, \r\n, spaces, or
 *               not at all: the next operation continues it);
 *   FQ_OP_RAW   up to 255 bytes as they are (newlines, NULs, anything);
 *   FQ_OP_LONG  a line of 'a's, 256 bytes to 64 KiB, or past QTEST_MAX_LINE;
 *   FQ_OP_SYNC  wait for every reply owed so far;
 *   FQ_OP_IRQFD u8: one of the irqfds the harness registered with the
 *               accelerator (GSIs 5, 9, 200) is signalled: the main loop
 *               pulses its line, as KVM's irqfd does.
 * After the operations the harness ends a partial line, and a final
 * check (known-good commands, RAM and hot-plugged RAM written and read
 * back) must answer as the protocol says.
 */
#ifndef TESTS_FUZZ_FUZZ_QTEST_H
#define TESTS_FUZZ_FUZZ_QTEST_H

#include "fuzz-common.h"
#include "sysemu/qtest.h"

enum {
    FQ_OP_CMD, FQ_OP_RAW, FQ_OP_LONG, FQ_OP_SYNC, FQ_OP_IRQFD, FQ_OP_COUNT
};

/* Argument kinds (the kind byte modulo FQ_ARG_COUNT). */
enum {
    FQ_ARG_ADDR,        /* u8 index into the address table, u8 format */
    FQ_ARG_PORT,        /* u8 index into the port table, u8 format */
    FQ_ARG_VALUE,       /* u64, u8 format */
    FQ_ARG_SIZE,        /* u8 index into the size table, u8 format */
    FQ_ARG_HEX,         /* u8 n, n bytes, u8 format: "0x" + hex */
    FQ_ARG_B64,         /* u8 n, n bytes, u8 format: base64 */
    FQ_ARG_RAW,         /* u8 n, n bytes as they are */
    FQ_ARG_ODD,         /* u8 index into numbers the parser must refuse */
    FQ_ARG_COUNT
};

/* How a command line ends (the end byte modulo FQ_END_COUNT). */
enum { FQ_END_LF, FQ_END_CRLF, FQ_END_SPACES, FQ_END_NONE, FQ_END_COUNT };

/* The machine: 1 MiB of RAM at 0, 1 MiB hot-plugged (pc-dimm) in the
 * device-memory area, the serial port, the exit ports, and a virtio-mmio
 * device in slot 0 (GSI 5) that raises its interrupt on every kick. */
#define FQ_RAM_SIZE     (1 * FUZZ_MiB)
#define FQ_DIMM_SIZE    (1 * FUZZ_MiB)
#define FQ_MAX_OPS      256
#define FQ_IRQFDS       3
#define FQ_MAX_INPUT    8192

/* Index bytes at or above this pick the transfers near QTEST_MAX_XFER
 * (slow: tens of MiB on the socket); below it the small sizes. */
#define FQ_SIZE_BIG_FROM 252

typedef struct FqStats {
    unsigned lines, ok, fail, irq_lines, long_lines, partial_ends;
    unsigned ram_bytes_checked;
} FqStats;

extern FqStats fq_stats;

/* The line names the name byte picks from (modulo the count). */
extern const char *const fq_names[];
extern const unsigned fq_n_names;

/* Run one input; true if every command line it sent got "OK". */
bool fq_fuzz_one(const uint8_t *data, size_t size);

/* --- fuzz-qtest-oracle.c --- */

/* What the checks know about the machine and have seen so far. */
typedef struct FqModel {
    uint64_t dimm;              /* guest-physical base of the DIMM */
    uint8_t *ram, *dimm_ram;    /* what RAM must hold: only qtest writes */
    bool intercepting;
    uint8_t irq[QTEST_MAX_GSI];
    int64_t clock;
    bool all_ok;                /* every reply was OK */
    unsigned oks;               /* OK replies so far */
} FqModel;

void fq_model_init(FqModel *m, uint64_t dimm);
void fq_model_free(FqModel *m);
/* Check the reply (without "\n") to the command line (without "\n") and
 * learn from it (RAM written, interception, clock). */
void fq_check_reply(FqModel *m, const GString *line, const char *reply);
/* Check an "IRQ raise N" / "IRQ lower N" line; next is the first line
 * not answered yet (NULL if none). */
void fq_check_irq_line(FqModel *m, const char *line, const GString *next);

#endif
