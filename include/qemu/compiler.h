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

/*
 * Link-time registries: lists that files add themselves to, so that the
 * code reading a list names none of its entries (device models, QMP
 * command tables).
 *
 * KVMINI_REGISTER(registry, type, name, value) places one `type const`
 * (a pointer) holding value in the ELF section called registry; name
 * makes the entry's symbol unique.  The section name is a C identifier,
 * so the linker defines __start_<registry> and __stop_<registry> around
 * the entries, and AddressSanitizer (GCC's and clang's) puts no redzones
 * between globals in such a section: the entries stay one array.
 * KVMINI_REGISTRY_DECLARE(registry, type) declares the bounds (weak: a
 * program that links no entry has an empty list) and
 * KVMINI_REGISTRY_FOREACH(registry, type, var) walks the entries in link
 * order, var pointing at each.
 *
 * The entries are only in the program if their object files are: a
 * static library holding them is linked whole (meson link_whole).
 */
#define KVMINI_REGISTER(registry, type, name, value) \
    static type const kvmini_registry_##name \
    __attribute__((used, section(#registry), aligned(__alignof__(type)))) \
    = (value)

#define KVMINI_REGISTRY_DECLARE(registry, type) \
    extern type const __start_##registry[] __attribute__((weak)); \
    extern type const __stop_##registry[] __attribute__((weak))

#define KVMINI_REGISTRY_FOREACH(registry, type, var) \
    for (type const *var = __start_##registry; var < __stop_##registry; \
         var++)

#endif
