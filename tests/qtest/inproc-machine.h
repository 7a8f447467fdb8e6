/* SPDX-License-Identifier: MIT */
/*
 * A kvmini machine built in the test's own process, for tests whose
 * threads stand in for vCPUs: the command line is parsed and the machine
 * built as main() does (under -accel qtest, with a -qtest socket that is
 * never started, so the test is the only "guest"), and guest accesses
 * are made as accel/kvm dispatches an MMIO exit — with the machine lock
 * held.  The test's main thread runs the glib main loop itself.
 */
#ifndef TESTS_QTEST_INPROC_MACHINE_H
#define TESTS_QTEST_INPROC_MACHINE_H

#include "sysemu/sysemu.h"

/* "-accel qtest -qtest unix:DIR/unused -serial none " + args, built;
 * the test fails if it does not build.  Free with machine_free(). */
MachineState *inproc_machine_new(const char *dir, const char *args);

/* size (1, 2, 4 or 8) bytes at guest-physical addr, little-endian, with
 * the machine lock held. */
void inproc_write(MachineState *ms, hwaddr addr, uint64_t val,
                  unsigned size);
uint64_t inproc_read(MachineState *ms, hwaddr addr, unsigned size);

#endif
