#!/bin/sh
# SPDX-License-Identifier: MIT
# Build kvmini and run the whole test suite: unit, qtest, functional,
# fuzz and soak in the normal build, then unit, qtest and fuzz again under
# AddressSanitizer + UBSan.  Installs missing Debian packages first.
# Each pass keeps its logs in its build directory (DIR/run-tests.*.log).
# Last, the run must have left the git checkout as it found it (clean
# under CI=true): that check counts as one test.
# The last line is "N passed, N failed, N skipped".
#   KVMINI_SKIP_ASAN=1   skip the sanitizer pass (local quick runs only)
set -u

srcdir=$(cd "$(dirname "$0")/.." && pwd)
cd "$srcdir"
# CI may start us with stdin closed: give every test and peer a real one.
exec </dev/null

"$srcdir/scripts/install-deps.sh" || { echo "0 passed, 1 failed, 0 skipped"; exit 1; }

passed=0 failed=0 skipped=0
# What git reports before the run: a developer's own edits are theirs.
tree_before=$(git status --porcelain 2>/dev/null)

run_suite() {  # builddir, configure-args, suites...
    dir=$1; shift
    args=$1; shift
    log=$dir/run-tests
    # The configure log lives in the build directory, which meson setup
    # accepts non-empty (it only refuses one configured already, and
    # configure reconfigures those): create it first.
    mkdir -p "$dir"
    # shellcheck disable=SC2086
    if ! ./configure --builddir="$dir" $args >"$log.configure.log" 2>&1; then
        cat "$log.configure.log"; failed=$((failed + 1)); return
    fi
    if ! ninja -C "$dir" >"$log.build.log" 2>&1; then
        tail -50 "$log.build.log"; failed=$((failed + 1)); return
    fi
    suites=""
    for s in "$@"; do suites="$suites --suite $s"; done
    # shellcheck disable=SC2086
    meson test -C "$dir" --print-errorlogs --num-processes 2 $suites \
        2>&1 | tee "$log.test.log"
    ok=$(sed -n 's/^Ok: *\([0-9]*\).*/\1/p' "$log.test.log" | tail -1)
    fail=$(sed -n 's/^Fail: *\([0-9]*\).*/\1/p' "$log.test.log" | tail -1)
    skip=$(sed -n 's/^Skipped: *\([0-9]*\).*/\1/p' "$log.test.log" | tail -1)
    tmo=$(sed -n 's/^Timeout: *\([0-9]*\).*/\1/p' "$log.test.log" | tail -1)
    xpass=$(sed -n 's/^Unexpected Pass: *\([0-9]*\).*/\1/p' "$log.test.log" | tail -1)
    if [ -z "$ok" ]; then
        failed=$((failed + 1)); return
    fi
    passed=$((passed + ok))
    failed=$((failed + ${fail:-0} + ${tmo:-0} + ${xpass:-0}))
    skipped=$((skipped + ${skip:-0}))
}

run_suite build "" unit qtest functional fuzz soak
if [ "${KVMINI_SKIP_ASAN:-0}" != 1 ]; then
    ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 \
    UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1 \
        run_suite build-asan "--enable-sanitizers -Dguest=false" unit qtest fuzz
fi

# Every file a build, test or this script writes belongs under a build
# directory or $TMPDIR (.gitignore): a run that adds, changes or deletes
# anything git sees fails.  CI runs in a fresh clone, so there the tree
# must be clean; elsewhere it must be as it was before the run.
check_tree() {
    if ! git rev-parse --is-inside-work-tree >/dev/null 2>&1; then
        echo "run-tests: not a git checkout, cannot check the tree"
        # Like a test whose prerequisite is missing: CI must run it.
        if [ "${CI:-}" = true ]; then
            failed=$((failed + 1))
        else
            skipped=$((skipped + 1))
        fi
        return
    fi
    expect=$tree_before
    [ "${CI:-}" = true ] && expect=""
    now=$(git status --porcelain)
    if [ "$now" = "$expect" ]; then
        passed=$((passed + 1)); return
    fi
    echo "run-tests: the run left the tree dirty; git status --porcelain:"
    echo "$now"
    failed=$((failed + 1))
}
check_tree

echo "$passed passed, $failed failed, $skipped skipped"
[ "$failed" -eq 0 ]
