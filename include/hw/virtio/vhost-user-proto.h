/* SPDX-License-Identifier: MIT */
/*
 * The vhost-user wire format: the one definition shared by the frontend
 * (hw/virtio/vhost-user*.c), the test backend and the tests.
 *
 * A message is a 12-byte header (request, flags, size) followed by `size`
 * bytes of payload; file descriptors travel as SCM_RIGHTS ancillary data
 * with the header.  All integers are little-endian (host order on x86).
 * Facts from the vhost-user specification (QEMU docs/interop/vhost-user.rst).
 */
#ifndef HW_VIRTIO_VHOST_USER_PROTO_H
#define HW_VIRTIO_VHOST_USER_PROTO_H

#include <stddef.h>
#include <stdint.h>

/* Frontend -> backend requests. */
typedef enum VhostUserRequest {
    VHOST_USER_NONE = 0,
    VHOST_USER_GET_FEATURES = 1,
    VHOST_USER_SET_FEATURES = 2,
    VHOST_USER_SET_OWNER = 3,
    VHOST_USER_RESET_OWNER = 4,
    VHOST_USER_SET_MEM_TABLE = 5,
    VHOST_USER_SET_LOG_BASE = 6,
    VHOST_USER_SET_LOG_FD = 7,
    VHOST_USER_SET_VRING_NUM = 8,
    VHOST_USER_SET_VRING_ADDR = 9,
    VHOST_USER_SET_VRING_BASE = 10,
    VHOST_USER_GET_VRING_BASE = 11,
    VHOST_USER_SET_VRING_KICK = 12,
    VHOST_USER_SET_VRING_CALL = 13,
    VHOST_USER_SET_VRING_ERR = 14,
    VHOST_USER_GET_PROTOCOL_FEATURES = 15,
    VHOST_USER_SET_PROTOCOL_FEATURES = 16,
    VHOST_USER_GET_QUEUE_NUM = 17,
    VHOST_USER_SET_VRING_ENABLE = 18,
    VHOST_USER_SEND_RARP = 19,
    VHOST_USER_NET_SET_MTU = 20,
    VHOST_USER_SET_BACKEND_REQ_FD = 21,
    VHOST_USER_IOTLB_MSG = 22,
    VHOST_USER_SET_VRING_ENDIAN = 23,
    VHOST_USER_GET_CONFIG = 24,
    VHOST_USER_SET_CONFIG = 25,
    VHOST_USER_CREATE_CRYPTO_SESSION = 26,
    VHOST_USER_CLOSE_CRYPTO_SESSION = 27,
    VHOST_USER_POSTCOPY_ADVISE = 28,
    VHOST_USER_POSTCOPY_LISTEN = 29,
    VHOST_USER_POSTCOPY_END = 30,
    VHOST_USER_GET_INFLIGHT_FD = 31,
    VHOST_USER_SET_INFLIGHT_FD = 32,
    VHOST_USER_GPU_SET_SOCKET = 33,
    VHOST_USER_RESET_DEVICE = 34,
    VHOST_USER_GET_MAX_MEM_SLOTS = 36,
    VHOST_USER_ADD_MEM_REG = 37,
    VHOST_USER_REM_MEM_REG = 38,
    VHOST_USER_SET_STATUS = 39,
    VHOST_USER_GET_STATUS = 40,
    VHOST_USER_MAX
} VhostUserRequest;

/* Backend -> frontend requests (on the SET_BACKEND_REQ_FD channel). */
typedef enum VhostUserBackendRequest {
    VHOST_USER_BACKEND_NONE = 0,
    VHOST_USER_BACKEND_IOTLB_MSG = 1,
    VHOST_USER_BACKEND_CONFIG_CHANGE_MSG = 2,
    VHOST_USER_BACKEND_VRING_HOST_NOTIFIER_MSG = 3,
    VHOST_USER_BACKEND_MAX
} VhostUserBackendRequest;

/* Protocol feature bits (GET/SET_PROTOCOL_FEATURES). */
enum {
    VHOST_USER_PROTOCOL_F_MQ = 0,
    VHOST_USER_PROTOCOL_F_LOG_SHMFD = 1,
    VHOST_USER_PROTOCOL_F_RARP = 2,
    VHOST_USER_PROTOCOL_F_REPLY_ACK = 3,
    VHOST_USER_PROTOCOL_F_NET_MTU = 4,
    VHOST_USER_PROTOCOL_F_BACKEND_REQ = 5,
    VHOST_USER_PROTOCOL_F_CROSS_ENDIAN = 6,
    VHOST_USER_PROTOCOL_F_CRYPTO_SESSION = 7,
    VHOST_USER_PROTOCOL_F_PAGEFAULT = 8,
    VHOST_USER_PROTOCOL_F_CONFIG = 9,
    VHOST_USER_PROTOCOL_F_BACKEND_SEND_FD = 10,
    VHOST_USER_PROTOCOL_F_HOST_NOTIFIER = 11,
    VHOST_USER_PROTOCOL_F_INFLIGHT_SHMFD = 12,
    VHOST_USER_PROTOCOL_F_RESET_DEVICE = 13,
    VHOST_USER_PROTOCOL_F_INBAND_NOTIFICATIONS = 14,
    VHOST_USER_PROTOCOL_F_CONFIGURE_MEM_SLOTS = 15,
    VHOST_USER_PROTOCOL_F_STATUS = 16,
};

/* Virtio feature bit 30 announces GET_PROTOCOL_FEATURES. */
#define VHOST_USER_F_PROTOCOL_FEATURES 30
/* VHOST_F_LOG_ALL: feature bit 26 asks the backend to log its writes. */
#define VHOST_USER_F_LOG_ALL 26

/* Header flags. */
#define VHOST_USER_VERSION       0x1
#define VHOST_USER_VERSION_MASK  0x3
#define VHOST_USER_REPLY_MASK    (1u << 2)
#define VHOST_USER_NEED_REPLY    (1u << 3)

/* Vring-file payload (SET_VRING_KICK/CALL/ERR): index in bits 0-7, bit 8
 * means "no fd" (polling mode). */
#define VHOST_USER_VRING_IDX_MASK   0xffu
#define VHOST_USER_VRING_NOFD_MASK  (1u << 8)

/* SET_MEM_TABLE carries at most this many regions. */
#define VHOST_USER_MAX_RAM_SLOTS    8
/* Largest number of fds one message may carry. */
#define VHOST_USER_MAX_FDS          8

/* SET_VRING_ADDR flags: log the used ring. */
#define VHOST_VRING_F_LOG 0

typedef struct __attribute__((packed)) VhostUserHeader {
    uint32_t request;
    uint32_t flags;
    uint32_t size;          /* payload bytes that follow */
} VhostUserHeader;

#define VHOST_USER_HDR_SIZE sizeof(VhostUserHeader)

typedef struct __attribute__((packed)) VhostUserVringState {
    uint32_t index;
    uint32_t num;
} VhostUserVringState;

typedef struct __attribute__((packed)) VhostUserVringAddr {
    uint32_t index;
    uint32_t flags;
    uint64_t desc_user_addr;
    uint64_t used_user_addr;
    uint64_t avail_user_addr;
    uint64_t log_guest_addr;
} VhostUserVringAddr;

typedef struct __attribute__((packed)) VhostUserMemoryRegion {
    uint64_t guest_phys_addr;
    uint64_t memory_size;
    uint64_t userspace_addr;
    uint64_t mmap_offset;
} VhostUserMemoryRegion;

typedef struct __attribute__((packed)) VhostUserMemory {
    uint32_t nregions;
    uint32_t padding;
    VhostUserMemoryRegion regions[VHOST_USER_MAX_RAM_SLOTS];
} VhostUserMemory;

/* ADD_MEM_REG / REM_MEM_REG */
typedef struct __attribute__((packed)) VhostUserMemRegMsg {
    uint64_t padding;
    VhostUserMemoryRegion region;
} VhostUserMemRegMsg;

typedef struct __attribute__((packed)) VhostUserLog {
    uint64_t mmap_size;
    uint64_t mmap_offset;
} VhostUserLog;

#define VHOST_USER_CONFIG_HDR_SIZE 12
#define VHOST_USER_MAX_CONFIG_SIZE 256
#define VHOST_SET_CONFIG_TYPE_FRONTEND  0
#define VHOST_SET_CONFIG_TYPE_MIGRATION 1

typedef struct __attribute__((packed)) VhostUserConfig {
    uint32_t offset;
    uint32_t size;
    uint32_t flags;
    uint8_t region[VHOST_USER_MAX_CONFIG_SIZE];
} VhostUserConfig;

typedef struct __attribute__((packed)) VhostUserInflight {
    uint64_t mmap_size;
    uint64_t mmap_offset;
    uint16_t num_queues;
    uint16_t queue_size;
} VhostUserInflight;

typedef struct __attribute__((packed)) VhostUserVringArea {
    uint64_t u64;           /* index in bits 0-7, bit 8 = no fd */
    uint64_t size;
    uint64_t offset;
} VhostUserVringArea;

/* IOTLB message (struct vhost_iotlb_msg layout). */
typedef struct __attribute__((packed)) VhostUserIotlb {
    uint64_t iova;
    uint64_t size;
    uint64_t uaddr;
    uint8_t perm;
    uint8_t type;
    uint8_t padding[6];
} VhostUserIotlb;

/* Every payload a message can carry. */
typedef union VhostUserPayload {
    uint64_t u64;
    VhostUserVringState state;
    VhostUserVringAddr addr;
    VhostUserMemory memory;
    VhostUserMemRegMsg mem_reg;
    VhostUserLog log;
    VhostUserConfig config;
    VhostUserInflight inflight;
    VhostUserVringArea area;
    VhostUserIotlb iotlb;
} VhostUserPayload;

typedef struct __attribute__((packed)) VhostUserMsg {
    VhostUserHeader hdr;
    VhostUserPayload payload;
} VhostUserMsg;

#define VHOST_USER_PAYLOAD_MAX sizeof(VhostUserPayload)

/* Name of a request for messages ("SET_VRING_ADDR"); "UNKNOWN" if out of
 * range.  Defined in hw/virtio/vhost-user-proto.c. */
const char *vhost_user_request_name(uint32_t request);
const char *vhost_user_backend_request_name(uint32_t request);

#endif
