/* SPDX-License-Identifier: MIT */
/* Small language helpers. */
#ifndef QEMU_COMPILER_H
#define QEMU_COMPILER_H

#include <stddef.h>

#ifndef container_of
/* The struct that embeds member at ptr. */
#define container_of(ptr, type, member) \
    ((type *)((char *)(ptr) - offsetof(type, member)))
#endif

#endif
