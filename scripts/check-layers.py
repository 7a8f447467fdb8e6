#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""Check kvmini's include layers; optionally print its import circles.

Every git-tracked .c/.h file outside tests/ belongs to exactly one module
of LAYERS below (the most specific pattern wins; a file no pattern names
is an error, so the table stays current).  The rule (docs/architecture.md):
a file may include a header of its own module or of a module on a lower
layer, never one on the same or a higher layer.  Each `#include "..."` is
resolved against the including file's folder, then include/; includes that
resolve to no tracked file (system headers) are not checked.

    scripts/check-layers.py [--root DIR]            the check (meson test
                                                    check-layers, suite unit)
    scripts/check-layers.py [--root DIR] --circles  import circles, for people

Exit status 1 if an include breaks the rule, a file has no module or a
KNOWN_VIOLATIONS entry no longer occurs (then delete it).
"""
import argparse
import fnmatch
import os
import re
import subprocess
import sys

# (layer, module, patterns), bottom to top.  A pattern is a folder prefix
# ("util/"), a glob ("system/memory*.c") or an exact file; an exact file
# beats a glob, a glob beats a folder, and a longer pattern of the same
# kind beats a shorter one.  Rows may name files that do not exist yet.
LAYERS = [
    (0, 'util', ['util/', 'include/qemu/']),
    (1, 'memory', ['system/memory*.c', 'system/memory-internal.h',
                   'include/exec/']),
    (1, 'chardev', ['chardev/', 'include/chardev/']),
    (1, 'stream', ['migration/stream.c', 'include/migration/stream.h']),
    (1, 'os', ['system/os-posix.c', 'include/sysemu/os-posix.h']),
    # The syscall filter (-sandbox); MachineState holds its config.
    (1, 'sandbox', ['system/seccomp.c', 'include/sysemu/seccomp.h']),
    # The event bus (no MachineState).
    (2, 'event', ['qapi/event.c', 'include/qapi/event.h']),
    # Services only (irq, shutdown request, mmio slots, pause/resume, e820,
    # cmdline), -object memory-backend-*, the savevm section registry.
    (3, 'machine', ['include/hw/boards.h', 'system/machine.c',
                    'system/memory-backend.c', 'migration/register.c',
                    'include/migration/register.h']),
    (4, 'qmp-command', ['include/qapi/qmp-command.h']),
    (5, 'accel', ['accel/', 'include/sysemu/kvm.h', 'include/sysemu/qtest.h',
                  'include/sysemu/accel.h']),
    (6, 'hw-core', ['hw/core/', 'hw/char/', 'include/hw/core/',
                    'include/hw/char/', 'include/hw/qdev.h']),
    (7, 'virtio', ['hw/virtio/virtio*.c', 'hw/virtio/vhost.c',
                   'hw/virtio/vhost-mem.c', 'hw/virtio/vhost-log.c',
                   'hw/virtio/vhost-internal.h', 'hw/virtio/vhost-conn.c',
                   'hw/virtio/vhost-worker.c',
                   'include/hw/virtio/vhost-worker.h',
                   'include/hw/virtio/virtio.h',
                   'include/hw/virtio/virtio-mmio.h',
                   'include/hw/virtio/virtio-migration.h',
                   'include/hw/virtio/vhost.h',
                   'include/hw/virtio/vhost-backend.h',
                   'include/hw/virtio/vhost-conn.h']),
    # Not the device (vhost-user-device.c is in 'devices').
    (8, 'vhost-user', ['hw/virtio/vhost-user*.c', 'hw/virtio/vhost-user*.h',
                       'include/hw/virtio/vhost-user*.h']),
    (8, 'vhost-kernel', ['hw/virtio/vhost-kernel.c',
                         'include/hw/virtio/vhost-kernel.h']),
    (8, 'memory-device', ['hw/mem/memory-device.c',
                          'include/hw/mem/memory-device.h']),
    # The backend-neutral device life cycle.
    (9, 'vhost-device', ['hw/virtio/vhost-device.c',
                         'include/hw/virtio/vhost-device.h']),
    (9, 'net', ['net/', 'include/net/']),
    (10, 'devices', ['hw/block/', 'hw/net/', 'hw/mem/pc-dimm.c',
                     'hw/virtio/vhost-user-device.c',
                     'include/hw/mem/pc-dimm.h',
                     'include/hw/virtio/vhost-user-blk.h',
                     'include/hw/virtio/virtio-net.h',
                     'include/hw/virtio/vhost-user-device.h']),
    # The engine (not stream.c or register.c).
    (11, 'migration', ['migration/', 'include/migration/migration.h']),
    (12, 'monitor', ['monitor/', 'include/monitor/']),
    # The composition root: build, run and free a machine.
    (13, 'root', ['system/vl.c', 'system/main.c', 'system/machine-build.c',
                  'include/sysemu/sysemu.h']),
]

# Includes allowed to break the rule, each "includer -> included", with a
# comment saying why and until when.  None today; an entry that no longer
# occurs fails the check.  They are printed as "known" on every run so
# that they stay in sight.
KNOWN_VIOLATIONS = set()

INCLUDE_RE = re.compile(r'^\s*#\s*include\s+"([^"]+)"')


def pattern_rank(pattern):
    """Sort key: higher is more specific."""
    kind = 0 if pattern.endswith('/') else 1 if '*' in pattern else 2
    return (kind, len(pattern))


def pattern_matches(pattern, path):
    if pattern.endswith('/'):
        return path.startswith(pattern)
    if '*' in pattern:
        return fnmatch.fnmatchcase(path, pattern)
    return path == pattern


def module_of(path):
    """(layer, module) of path, or None if no pattern names it."""
    best = None
    for layer, module, patterns in LAYERS:
        for p in patterns:
            if pattern_matches(p, path) and \
               (best is None or pattern_rank(p) > best[0]):
                best = (pattern_rank(p), layer, module)
    return best[1:] if best else None


def tracked_sources(root):
    out = subprocess.check_output(['git', '-C', root, 'ls-files', '*.c',
                                   '*.h'], text=True)
    return [f for f in out.split() if not f.startswith('tests/')]


def resolve(path, name, files):
    for cand in (os.path.join(os.path.dirname(path), name),
                 os.path.join('include', name)):
        cand = os.path.normpath(cand)
        if cand in files:
            return cand
    return None


def includes(root, path, files):
    """(line number, resolved target) of each tracked include in path."""
    with open(os.path.join(root, path), errors='replace') as f:
        for n, line in enumerate(f, 1):
            m = INCLUDE_RE.match(line)
            target = m and resolve(path, m.group(1), files)
            if target:
                yield n, target


def check(root):
    files = set(tracked_sources(root))
    modules = {f: module_of(f) for f in files}
    bad = 0
    for f in sorted(f for f, m in modules.items() if m is None):
        print(f'{f}: no module in the LAYERS table of scripts/check-layers.py')
        bad += 1
    seen = set()
    for f in sorted(f for f, m in modules.items() if m):
        layer, module = modules[f]
        for n, target in includes(root, f, files):
            tlayer, tmodule = modules[target] or (None, None)
            if tmodule is None or tmodule == module or tlayer < layer:
                continue
            msg = (f'{f}:{n}: includes {target} (module {tmodule}, layer '
                   f'{tlayer}) from module {module} (layer {layer})')
            key = f'{f} -> {target}'
            seen.add(key)
            if key in KNOWN_VIOLATIONS:
                print('known: ' + msg)
            else:
                print(msg)
                bad += 1
    for key in sorted(set(KNOWN_VIOLATIONS) - seen):
        print(f'{key}: no longer occurs: delete it from KNOWN_VIOLATIONS')
        bad += 1
    print(f'check-layers: {len(files)} files, {bad} problem(s), '
          f'{len(seen & set(KNOWN_VIOLATIONS))} known violation(s)')
    return 1 if bad else 0


# --- import circles -------------------------------------------------------

# Non-static function and variable definitions at the start of a line.
FUNC_DEF_RE = re.compile(r'^(?!static\b|typedef\b|extern\b)'
                         r'[A-Za-z_][^;{}()=]*?\b(\w+)\s*\([^;]*?\)\s*\n\{',
                         re.M)
VAR_DEF_RE = re.compile(r'^(?!static\b|typedef\b|extern\b)'
                        r'[A-Za-z_][\w \t*]*?\b(\w+)\s*(?:\[\w*\])?\s*=', re.M)
# Comments and string and character literals: no uses in there.
NOT_CODE_RE = re.compile(r'/\*.*?\*/|//[^\n]*|"(?:\\.|[^"\\\n])*"'
                         r"|'(?:\\.|[^'\\\n])*'", re.S)
IDENT_RE = re.compile(r'\b[A-Za-z_]\w*\b')


def uses_graph(root):
    """.c file -> the other .c files defining what it uses."""
    sources = [f for f in tracked_sources(root) if f.endswith('.c')]
    text = {}
    for f in sources:
        with open(os.path.join(root, f), errors='replace') as fh:
            text[f] = NOT_CODE_RE.sub(' ', fh.read())
    defined_in = {}
    for f in sources:
        for regex in (FUNC_DEF_RE, VAR_DEF_RE):
            for name in regex.findall(text[f]):
                defined_in.setdefault(name, set()).add(f)
    graph = {}
    for f in sources:
        names = set(IDENT_RE.findall(text[f]))
        graph[f] = set().union(*(defined_in.get(n, set()) for n in names))
        graph[f].discard(f)
    return graph


def strongly_connected(graph):
    """Tarjan's algorithm: the components of graph, each a sorted list."""
    index, low, stack, on_stack, found = {}, {}, [], set(), []

    def visit(v):
        index[v] = low[v] = len(index)
        stack.append(v)
        on_stack.add(v)
        for w in sorted(graph[v]):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on_stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            comp = []
            while not comp or comp[-1] != v:
                comp.append(stack.pop())
                on_stack.discard(comp[-1])
            found.append(sorted(comp))

    sys.setrecursionlimit(max(1000, 4 * len(graph)))
    for v in sorted(graph):
        if v not in index:
            visit(v)
    return found


def circles(root):
    comps = [c for c in strongly_connected(uses_graph(root)) if len(c) > 1]
    comps.sort(key=lambda c: (-len(c), c))
    print(f'import circles: {len(comps)}, sizes '
          f'{[len(c) for c in comps]}')
    for c in comps:
        folders = sorted({os.path.dirname(f) for f in c})
        print(f'  {len(c)} files in {", ".join(folders)}: {" ".join(c)}')
    return 0


def main():
    ap = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    ap.add_argument('--root', default=os.path.join(
        os.path.dirname(os.path.abspath(__file__)), '..'),
        help='the repository (default: the one holding this script)')
    ap.add_argument('--circles', action='store_true',
                    help='print import circles instead of checking')
    args = ap.parse_args()
    root = os.path.normpath(args.root)
    return circles(root) if args.circles else check(root)


if __name__ == '__main__':
    sys.exit(main())
