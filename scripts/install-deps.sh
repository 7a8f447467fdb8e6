#!/bin/sh
# SPDX-License-Identifier: MIT
# Install everything kvmini needs to build and to run its whole test suite:
# the build dependencies and the real peers the functional tests and
# benchmarks run against — qemu-storage-daemon (package qemu-utils),
# qemu-system-x86_64 (qemu-system-x86) and dpdk-testpmd (dpdk-dev) — and
# what the tap tests drive the host side with: ip (iproute2) and ping
# (iputils-ping); how the tests start them is in docs/testing.md and
# docs/user-guide.md.
# Debian packages only.
set -eu

PKGS="build-essential pkg-config meson ninja-build
      libglib2.0-dev libfdt-dev libjson-glib-dev libseccomp-dev linux-libc-dev
      device-tree-compiler socat
      qemu-utils qemu-system-x86 dpdk-dev
      iproute2 iputils-ping"

missing=""
for p in $PKGS; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "ok installed" ||
        missing="$missing $p"
done

if [ -z "$missing" ]; then
    echo "install-deps: all packages present"
    exit 0
fi

SUDO=""
[ "$(id -u)" -eq 0 ] || SUDO="sudo"
echo "install-deps: installing$missing"
$SUDO apt-get update -q
DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -q --no-install-recommends $missing
