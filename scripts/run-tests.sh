#!/bin/sh
# SPDX-License-Identifier: MIT
# Build kvmini and run the whole test suite: unit, qtest, functional and
# fuzz in the normal build, then unit, qtest and fuzz again under
# AddressSanitizer + UBSan.  Installs missing Debian packages first.
# The last line is "N passed, N failed, N skipped".
#   KVMINI_SKIP_ASAN=1   skip the sanitizer pass (local quick runs only)
set -u

srcdir=$(cd "$(dirname "$0")/.." && pwd)
cd "$srcdir"
# CI may start us with stdin closed: give every test and peer a real one.
exec </dev/null

"$srcdir/scripts/install-deps.sh" || { echo "0 passed, 1 failed"; exit 1; }

passed=0 failed=0 skipped=0

run_suite() {  # builddir, configure-args, suites...
    dir=$1; shift
    args=$1; shift
    # shellcheck disable=SC2086
    if ! ./configure --builddir="$dir" $args >"$dir.configure.log" 2>&1; then
        cat "$dir.configure.log"; failed=$((failed + 1)); return
    fi
    if ! ninja -C "$dir" >"$dir.build.log" 2>&1; then
        tail -50 "$dir.build.log"; failed=$((failed + 1)); return
    fi
    suites=""
    for s in "$@"; do suites="$suites --suite $s"; done
    # shellcheck disable=SC2086
    meson test -C "$dir" --print-errorlogs --num-processes 2 $suites \
        2>&1 | tee "$dir.test.log"
    ok=$(sed -n 's/^Ok: *\([0-9]*\).*/\1/p' "$dir.test.log" | tail -1)
    fail=$(sed -n 's/^Fail: *\([0-9]*\).*/\1/p' "$dir.test.log" | tail -1)
    skip=$(sed -n 's/^Skipped: *\([0-9]*\).*/\1/p' "$dir.test.log" | tail -1)
    tmo=$(sed -n 's/^Timeout: *\([0-9]*\).*/\1/p' "$dir.test.log" | tail -1)
    xpass=$(sed -n 's/^Unexpected Pass: *\([0-9]*\).*/\1/p' "$dir.test.log" | tail -1)
    if [ -z "$ok" ]; then
        failed=$((failed + 1)); return
    fi
    passed=$((passed + ok))
    failed=$((failed + ${fail:-0} + ${tmo:-0} + ${xpass:-0}))
    skipped=$((skipped + ${skip:-0}))
}

run_suite build "" unit qtest functional fuzz
if [ "${KVMINI_SKIP_ASAN:-0}" != 1 ]; then
    ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 \
    UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1 \
        run_suite build-asan "--enable-sanitizers -Dguest=false" unit qtest fuzz
fi

echo "$passed passed, $failed failed, $skipped skipped"
[ "$failed" -eq 0 ]
