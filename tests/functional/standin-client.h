/* SPDX-License-Identifier: MIT */
/*
 * standin-client.c: what standin-test runs as a client of /dev/vhost-net
 * ("standin-test --client MODE", under the stand-in or against the real
 * device).  Modes: "errors" (the kernel's error codes), "fail" (run with
 * --fail GET_FEATURES@2=ENOMEM), "datapath-private" and
 * "datapath-shared" (rings and buffers of its own in private or memfd
 * memory, a tap of its own: TX with indirect descriptors, mergeable RX,
 * EVENT_IDX suppression, the dirty log bit by bit), "datapath-vhost-hdr"
 * (VHOST_NET_F_VIRTIO_NET_HDR: vhost adds and strips the header).  Prints "ok ..." and
 * "FAIL ..." lines; exits 0 when all passed.
 */
#ifndef TESTS_FUNCTIONAL_STANDIN_CLIENT_H
#define TESTS_FUNCTIONAL_STANDIN_CLIENT_H

int standin_client_main(const char *mode);

#endif
