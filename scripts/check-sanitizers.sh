#!/usr/bin/env bash
# Builds the whole tree with AddressSanitizer (with LeakSanitizer) and
# UndefinedBehaviorSanitizer in its own build directory and runs the whole
# test suite there. Fails on any sanitizer report, including reports from
# the processes the tests start (the CLI, the torture writer, the examples):
# a report aborts the process, and the reports ASan and LSan write to the
# report directory fail the run even where a test expected its child to
# fail.
#
# Usage: scripts/check-sanitizers.sh [BUILD_DIR]   (default: build-asan)
set -euo pipefail
cd "$(dirname "$0")/.."
root=$(pwd)
dir=${1:-build-asan}
reports="$root/$dir/sanitizer-reports"

cmake -S . -B "$dir" -G Ninja -DCMAKE_BUILD_TYPE=Debug -DEVENTACTORS_SANITIZE=ON
cmake --build "$dir"

rm -rf "$reports"
mkdir -p "$reports"
# A report ends the process with SIGABRT (abort_on_error), which no test
# expects from a process it starts: it fails. ASan and LSan also write their
# reports to files here; UBSan (GCC's runtime, combined with ASan) writes
# only to stderr, which the failing test shows. The suppressions name one
# CAF header, see scripts/ubsan.supp; the LSan suppressions three CAF
# functions, see scripts/lsan.supp.
export ASAN_OPTIONS="detect_leaks=1:halt_on_error=1:abort_on_error=1:log_path=$reports/asan:strict_string_checks=1:detect_stack_use_after_return=1"
export UBSAN_OPTIONS="halt_on_error=1:abort_on_error=1:print_stacktrace=1:suppressions=$root/scripts/ubsan.supp"
export LSAN_OPTIONS="log_path=$reports/lsan:suppressions=$root/scripts/lsan.supp:print_suppressions=0"

# The property tests run fewer seeds here (ten times slower code); the
# main build runs all of them.
export EVENTACTORS_PROPERTY_SEEDS=${EVENTACTORS_PROPERTY_SEEDS:-20}
export EVENTACTORS_PROPERTY_CONCURRENT_SEEDS=${EVENTACTORS_PROPERTY_CONCURRENT_SEEDS:-5}
# Creates per process of the multi-process test (500 in the main build).
export EVENTACTORS_MULTI_PROCESS_CREATES=${EVENTACTORS_MULTI_PROCESS_CREATES:-100}
# Calls per remote caller actor of the node process tests (200 for the
# lost-updates test and 40 for the others in the main build).
export EVENTACTORS_NODE_PROCESS_CALLS=${EVENTACTORS_NODE_PROCESS_CALLS:-20}

status=0
ctest --test-dir "$dir" --output-on-failure -j2 || status=$?

shopt -s nullglob
found=("$reports"/*)
if [ ${#found[@]} -ne 0 ]; then
  echo "sanitizers: ${#found[@]} report(s):" >&2
  for f in "${found[@]}"; do
    echo "---- $f" >&2
    head -n 60 "$f" >&2
  done
  exit 1
fi
if [ "$status" -ne 0 ]; then
  echo "sanitizers: tests failed (exit $status)" >&2
  exit "$status"
fi
echo "sanitizers: whole suite passed, no report"
