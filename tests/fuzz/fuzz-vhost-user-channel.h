/* SPDX-License-Identifier: MIT */
/*
 * What the files of the fuzz-vhost-user-channel target share: the
 * harness (fuzz-vhost-user-channel.c: the connection, the operations an
 * input is decoded into, the model of what the frontend must do with the
 * bytes and fds on the channel, the checks) — all a libFuzzer build needs,
 * with fuzz-vhost-user's peer and log/fd helpers — and the standalone
 * campaign (fuzz-vhost-user-channel-seeds.c: seeds, main()).
 *
 * An input is a configuration byte, then operations whose first byte
 * (modulo FVC_OP_COUNT) picks one:
 *   FVC_OP_RAW       a message on the channel as fuzz-vhost-user encodes
 *                    one (fvu_get_msg: any header, payload bytes cut short
 *                    or too long, fds of any kind and number);
 *   FVC_OP_NOTIFIER  VRING_HOST_NOTIFIER_MSG: u8 flags (NEED_REPLY,
 *                    NOFD), u8 queue, u8 size index, u8 offset index,
 *                    u8 fds (FVU_FDS: kind and count);
 *   FVC_OP_CONFIG    CONFIG_CHANGE_MSG: u8 flags, u8 payload bytes, u8 fds;
 *   FVC_OP_SPLIT     a raw message written in two pieces (u8 where), the
 *                    fds with the first or the second (bit 7);
 *   FVC_OP_LOOP      the main loop runs: the frontend handles what is
 *                    there, and the checks run;
 *   FVC_OP_HANGUP    the backend shuts the channel's write side down;
 *   FVC_OP_CLOSE     the backend closes the channel (replies to come
 *                    cannot be sent).
 * The frontend handles the channel only when the main loop runs, and
 * everything written is in the socket by then: what it must do is a
 * function of the bytes and fds (fvc_model).
 */
#ifndef TESTS_FUZZ_FUZZ_VHOST_USER_CHANNEL_H
#define TESTS_FUZZ_FUZZ_VHOST_USER_CHANNEL_H

#include "fuzz-vhost-user.h"

enum {
    FVC_OP_RAW, FVC_OP_NOTIFIER, FVC_OP_CONFIG, FVC_OP_SPLIT, FVC_OP_LOOP,
    FVC_OP_HANGUP, FVC_OP_CLOSE, FVC_OP_COUNT
};

/* The configuration byte: a second vhost_dev on the connection (queues
 * 2-3) and which protocol features the backend offers besides
 * BACKEND_REQ. */
#define FVC_CFG_TWO_DEVS        0x01
#define FVC_CFG_CONFIG          0x02
#define FVC_CFG_HOST_NOTIFIER   0x04
#define FVC_CFG_REPLY_ACK       0x08
#define FVC_CFG_MQ              0x10

/* Flags bits of FVC_OP_NOTIFIER / FVC_OP_CONFIG. */
#define FVC_F_NEED_REPLY        0x01
#define FVC_F_NOFD              0x02

#define FVC_MAX_OPS             128
#define FVC_MAX_INPUT           8192

typedef struct FvcStats {
    unsigned messages, handled, ok, refused, malformed, quiet_closes;
    unsigned replies, mapped, recovered;
} FvcStats;

extern FvcStats fvc_stats;

/* Run one input; true if the backend was never dropped. */
bool fvc_fuzz_one(const uint8_t *data, size_t size);
/* The first error kvmini logged for the last input, if any. */
const char *fvc_last_error(void);

#endif
