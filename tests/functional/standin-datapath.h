/* SPDX-License-Identifier: MIT */
/*
 * What the clients of standin-test share (standin-client.c and
 * standin-datapath.c): result lines and the data-path client.
 */
#ifndef TESTS_FUNCTIONAL_STANDIN_DATAPATH_H
#define TESTS_FUNCTIONAL_STANDIN_DATAPATH_H

#include <glib.h>
#include <stdbool.h>

/* Failed checks so far. */
extern int client_failures;
/* Print "ok WHAT: ..." if the call gave want (0: success, else its errno)
 * and "FAIL WHAT: got ..., want ..." otherwise.  ret < 0 means failed
 * with errno. */
void client_expect(const char *what, int ret, int want);
/* Print "ok WHAT" or "FAIL WHAT" for a condition. */
void client_check(const char *what, bool ok);
/* Drive the data path of the open /dev/vhost-net fd (shared: memfd
 * memory, else private; vhost_hdr: VHOST_NET_F_VIRTIO_NET_HDR with a tap
 * without vnet header) and check it; failures counted. */
void standin_datapath(int vhost_fd, bool shared, bool vhost_hdr);

#endif
