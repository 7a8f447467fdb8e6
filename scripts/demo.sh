#!/bin/sh
# SPDX-License-Identifier: MIT
# The main job: install what is missing, build, and boot the bundled test
# guest under KVM.  Prints what the guest printed and kvmini's exit status.
set -eu

srcdir=$(cd "$(dirname "$0")/.." && pwd)
cd "$srcdir"

./scripts/install-deps.sh
[ -d build/meson-private ] || ./configure >/dev/null
ninja -C build >/dev/null

echo "== kvmini: booting tests/guest (test=hello, then test=irq) under KVM"
set -x
./build/kvmini -m 512M -kernel build/tests/guest/guest.elf -serial stdio \
    -append "test=hello"
./build/kvmini -kernel build/tests/guest/guest.elf -serial stdio \
    -append "test=irq"
set +x
echo "== done: both guests exited with status 0"
