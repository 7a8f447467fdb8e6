#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""Boot benchmark: test=hello under kvmini and under QEMU microvm.

Runs both VMMs interleaved (N runs each, default 10) with the same guest
ELF on the same machine, and prints the median wall time to exit, the
median peak RSS (from wait4's rusage) and the kvmini/QEMU ratios.

    python3 tests/bench/boot.py [--runs N] [--build build]
"""
import argparse
import os
import shutil
import statistics
import subprocess
import sys
import time


def run_once(argv):
    """Run argv, return (seconds, peak RSS in KiB, exit status, stdout)."""
    start = time.monotonic()
    proc = subprocess.Popen(argv, stdin=subprocess.DEVNULL,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    out = proc.stdout.read()
    proc.stderr.read()
    _, status, usage = os.wait4(proc.pid, 0)
    elapsed = time.monotonic() - start
    proc.returncode = os.waitstatus_to_exitcode(status)
    return elapsed, usage.ru_maxrss, proc.returncode, out.decode(errors="replace")


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--runs", type=int, default=10)
    ap.add_argument("--build", default="build")
    args = ap.parse_args()

    guest = os.path.join(args.build, "tests/guest/guest.elf")
    kvmini = [os.path.join(args.build, "kvmini"), "-m", "256M",
              "-kernel", guest, "-append", "test=hello", "-serial", "stdio"]
    qemu = ["qemu-system-x86_64", "-M", "microvm", "-accel", "kvm",
            "-m", "256M", "-nodefaults", "-nographic", "-serial", "stdio",
            "-device", "isa-debug-exit,iobase=0xf4,iosize=4",
            "-kernel", guest, "-append", "test=hello"]
    if not shutil.which("qemu-system-x86_64"):
        sys.exit("qemu-system-x86_64 not found (scripts/install-deps.sh)")

    results = {"kvmini": [], "qemu": []}
    expected = {"kvmini": 0, "qemu": 1}   # QEMU exits via isa-debug-exit 0
    for _ in range(args.runs):
        for name, argv in (("kvmini", kvmini), ("qemu", qemu)):
            t, rss, status, out = run_once(argv)
            if status != expected[name] or "test hello: PASS" not in out:
                sys.exit(f"{name} run failed (status {status}):\n{out}")
            results[name].append((t, rss))

    med = {}
    for name, runs in results.items():
        med[name] = (statistics.median(r[0] for r in runs),
                     statistics.median(r[1] for r in runs))
        print(f"{name:7s} median wall {med[name][0] * 1000:8.1f} ms   "
              f"peak RSS {med[name][1] / 1024:6.1f} MiB   ({args.runs} runs)")
    print(f"ratio kvmini/qemu: wall {med['kvmini'][0] / med['qemu'][0]:.3f}   "
          f"RSS {med['kvmini'][1] / med['qemu'][1]:.3f}   (target <= 0.2)")


if __name__ == "__main__":
    main()
