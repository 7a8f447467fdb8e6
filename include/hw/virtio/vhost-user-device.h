/* SPDX-License-Identifier: MIT */
/*
 * The generic vhost-user device, as QEMU's vhost-user-device:
 *
 *   -chardev socket,id=c0,path=/tmp/vu.sock[,reconnect=1]
 *   -device vhost-user-device,chardev=c0,virtio-id=N,num_vqs=N
 *           [,vq_size=N][,config_size=N][,id=ID]
 *
 * Everything about the device comes from the backend: the features it
 * offers (GET_FEATURES, minus the vhost-user bits and the transport bits
 * kvmini cannot provide), the config space (config_size bytes, GET_CONFIG
 * at connect and on the backend's config-change message, SET_CONFIG for
 * each guest write).  kvmini provides the virtio-mmio slot with DeviceID
 * virtio-id, guest memory and the notifiers; the life cycle (connect,
 * start, stop, reconnect) is VhostDevice's
 * (include/hw/virtio/vhost-device.h), with one vhost_dev for all queues.
 *
 * Threading: everything runs with the machine lock held.
 */
#ifndef HW_VIRTIO_VHOST_USER_DEVICE_H
#define HW_VIRTIO_VHOST_USER_DEVICE_H

#include "hw/virtio/vhost-device.h"
#include "hw/virtio/vhost-user-proto.h"

#define VHOST_USER_DEVICE_DEFAULT_VQ_SIZE 256
#define VHOST_USER_DEVICE_MAX_VQ_SIZE     1024

typedef struct VHostUserDevice {
    VhostDevice parent;
    /* Per device: the DeviceID is the virtio-id= property. */
    VirtioDeviceClass cls;
    uint16_t nvqs;                  /* num_vqs= */
    uint16_t vq_size;               /* vq_size= */
    uint32_t config_size;           /* 0: no config space */
    /* The backend's features at the last connect (offered to the guest,
     * filtered, also while the backend is away). */
    uint64_t backend_features;
    /* The config as the backend last reported it. */
    uint8_t config[VHOST_USER_MAX_CONFIG_SIZE];
    bool have_config;
} VHostUserDevice;

#endif
