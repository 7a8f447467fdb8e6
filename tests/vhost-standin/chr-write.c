/* SPDX-License-Identifier: MIT */
/*
 * write() on the device fd: vhost_chr_write_iter().  The message type
 * word picks the layout (V1 has a hole after it, V2 an ASID word, which
 * vhost-net does not offer), a short message is EINVAL, an UPDATE or
 * INVALIDATE of size 0 is EINVAL, and every other failure of the message
 * handler is reported as EFAULT.  Without ACCESS_PLATFORM (not offered
 * here) the device has no IOTLB, so UPDATE and INVALIDATE fail with EFAULT
 * and any other type with EFAULT too, as in the kernel.
 */
#include "standin.h"

#include <errno.h>
#include <string.h>

long standin_chr_write(StandinDevice *d, const uint8_t *buf, size_t len)
{
    struct vhost_iotlb_msg msg;
    uint32_t type;
    size_t off = offsetof(struct vhost_msg, iotlb);

    if (len < sizeof(type)) {
        return -EINVAL;
    }
    memcpy(&type, buf, sizeof(type));
    if (type != VHOST_IOTLB_MSG && type != VHOST_IOTLB_MSG_V2) {
        return -EINVAL;
    }
    if (type == VHOST_IOTLB_MSG_V2) {
        off = offsetof(struct vhost_msg_v2, iotlb);
    }
    if (len < off + sizeof(msg)) {
        return -EINVAL;
    }
    memcpy(&msg, buf + off, sizeof(msg));
    if ((msg.type == VHOST_IOTLB_UPDATE ||
         msg.type == VHOST_IOTLB_INVALIDATE) && msg.size == 0) {
        return -EINVAL;
    }
    /* vhost_process_iotlb_msg(): no IOTLB -> EFAULT for UPDATE and
     * INVALIDATE, EINVAL for other types; both come back as EFAULT. */
    return -EFAULT;
}
