/* SPDX-License-Identifier: MIT */
/*
 * test=fault: executes UD2 to check the exception path end to end.  The
 * expected result is the line "exception 6 at RIP 0x..." and exit code
 * 0x7f (status 255); reaching the return means #UD was not delivered.
 */
#include "guest.h"

#define FAULT_TEST_FAIL 4

int test_fault(void)
{
    printf("fault: executing ud2\n");
    __asm__ volatile("ud2");
    return test_fail(FAULT_TEST_FAIL, "ud2 did not fault");
}
