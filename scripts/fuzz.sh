#!/usr/bin/env bash
# Builds the libFuzzer targets with clang (ASan, LSan, UBSan) in their own
# build directory and runs each for a while, one after the other, on a copy
# of its seed corpus (fuzz/corpus/<target>; new inputs go to the copy, never
# into the repository). Fails when any target reports a crash, a leak, a
# timeout, an out-of-memory or a sanitizer report, and prints where the
# reproducer is and how to run it. See fuzz/README.md.
#
# Usage: scripts/fuzz.sh [--seconds N] [--build-dir DIR] [--keep-corpus]
#                        [--no-build] [TARGET...]
#
#   --seconds N     run each target N seconds (default: $EVENTACTORS_FUZZ_SECONDS
#                   or 20)
#   --build-dir DIR the build directory (default: build-fuzz)
#   --keep-corpus   continue from the corpus an earlier run left in the build
#                   directory instead of starting again from the seeds
#   --no-build      use the targets as they are built
#   TARGET...       only these (default: fuzz_cast_input fuzz_load_app
#                   fuzz_event_rows fuzz_node_frames)
#
# Extra libFuzzer flags can be given in $EVENTACTORS_FUZZ_FLAGS.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$(pwd)

seconds=${EVENTACTORS_FUZZ_SECONDS:-20}
dir=build-fuzz
keep=0
build=1
targets=()
all_targets=(fuzz_cast_input fuzz_load_app fuzz_event_rows fuzz_node_frames)

usage() {
  sed -n '/^# Usage:/,/^# Extra/p' "$0" | sed 's/^# \{0,1\}//' >&2
  exit 2
}

while [ $# -gt 0 ]; do
  case "$1" in
    --seconds) [ $# -ge 2 ] || usage; seconds=$2; shift 2 ;;
    --seconds=*) seconds=${1#*=}; shift ;;
    --build-dir) [ $# -ge 2 ] || usage; dir=$2; shift 2 ;;
    --build-dir=*) dir=${1#*=}; shift ;;
    --keep-corpus) keep=1; shift ;;
    --no-build) build=0; shift ;;
    -h|--help) usage ;;
    -*) echo "fuzz: unknown option $1" >&2; usage ;;
    *) targets+=("$1"); shift ;;
  esac
done
case "$seconds" in
  ''|*[!0-9]*|0) echo "fuzz: --seconds needs a positive integer" >&2; exit 2 ;;
esac
if [ ${#targets[@]} -eq 0 ]; then
  targets=("${all_targets[@]}")
fi
for t in "${targets[@]}"; do
  case " ${all_targets[*]} " in
    *" $t "*) ;;
    *) echo "fuzz: unknown target $t (${all_targets[*]})" >&2; exit 2 ;;
  esac
done

# Per target: the longest input, in bytes. Seeds are far smaller; these
# leave room to grow without letting inputs become slow to run. The cast
# target's covers its runtime's max_input_bytes (64 KiB, fuzz/support.cpp)
# and the other fields of an input, so that inputs at and beyond the limit
# are reached; libFuzzer lengthens inputs gradually (-len_control), so a
# short run stays fast.
max_len() {
  case "$1" in
    fuzz_cast_input) echo 69632 ;;
    fuzz_load_app) echo 16384 ;;
    fuzz_event_rows) echo 8192 ;;
    fuzz_node_frames) echo 16384 ;;
  esac
}

if [ "$build" -eq 1 ]; then
  # Only what the targets need: no tests, examples or benchmarks.
  CC=clang CXX=clang++ cmake -S . -B "$dir" -G Ninja \
    -DCMAKE_BUILD_TYPE=RelWithDebInfo -DEVENTACTORS_FUZZ=ON \
    -DEVENTACTORS_BUILD_TESTS=OFF -DEVENTACTORS_BUILD_EXAMPLES=OFF \
    -DEVENTACTORS_BUILD_BENCH=OFF >/dev/null
  cmake --build "$dir" --target fuzz_targets
fi

# abort_on_error=0 and halt_on_error=1: a report ends the process through
# libFuzzer's death callback, which saves the input. UBSan is built with
# -fno-sanitize-recover, so every UBSan report is fatal too.
export ASAN_OPTIONS="detect_leaks=1:halt_on_error=1:abort_on_error=0:strict_string_checks=1:detect_stack_use_after_return=1:${ASAN_OPTIONS:-}"
export UBSAN_OPTIONS="halt_on_error=1:print_stacktrace=1:${UBSAN_OPTIONS:-}"
# One suppression, for glibc's bookkeeping of exiting threads: see the file.
export LSAN_OPTIONS="suppressions=$root/fuzz/lsan.supp:print_suppressions=0:${LSAN_OPTIONS:-}"

failed=()
summary=()
for t in "${targets[@]}"; do
  bin="$root/$dir/fuzz/$t"
  work="$root/$dir/fuzz-work/$t"
  corpus="$work/corpus"
  artifacts="$work/artifacts"
  log="$work/fuzz.log"
  if [ ! -x "$bin" ]; then
    echo "fuzz: $bin is not built" >&2
    exit 1
  fi
  if [ "$keep" -eq 0 ]; then
    rm -rf "$corpus"
  fi
  rm -rf "$artifacts" "$work/tmp"
  mkdir -p "$corpus" "$artifacts" "$work/tmp"
  cp "$root/fuzz/corpus/$t"/* "$corpus"/
  echo "fuzz: $t for ${seconds}s ($(ls "$corpus" | wc -l) inputs), log $log"
  status=0
  # The scratch databases go to the work directory (TMPDIR); -timeout is
  # per input and above the runtime's call timeout of the targets (20 s).
  # shellcheck disable=SC2086
  TMPDIR="$work/tmp" "$bin" "$corpus" \
    -max_total_time="$seconds" \
    -max_len="$(max_len "$t")" \
    -timeout=30 \
    -rss_limit_mb=3072 \
    -dict="$root/fuzz/dict/$t.dict" \
    -artifact_prefix="$artifacts/" \
    -print_final_stats=1 \
    ${EVENTACTORS_FUZZ_FLAGS:-} \
    >"$log" 2>&1 || status=$?
  rm -rf "$work/tmp"
  done_line=$(grep -E '^#[0-9]+[[:space:]]+DONE' "$log" | tail -n 1 || true)
  summary+=("$t: ${done_line:-no DONE line (exit $status)}")
  shopt -s nullglob
  # slow-unit-* files are reports of slow inputs, not failures.
  found=("$artifacts"/crash-* "$artifacts"/leak-* "$artifacts"/timeout-*
         "$artifacts"/oom-*)
  shopt -u nullglob
  if [ "$status" -ne 0 ] || [ ${#found[@]} -ne 0 ]; then
    failed+=("$t")
    echo "fuzz: $t FAILED (exit $status); the end of $log:" >&2
    tail -n 60 "$log" >&2
    for f in "${found[@]}"; do
      echo "fuzz: reproducer $f" >&2
      echo "fuzz:   run it: $dir/fuzz/$t $f" >&2
    done
  else
    echo "fuzz: $t ok: ${done_line}"
  fi
done

echo "fuzz: summary"
for line in "${summary[@]}"; do
  echo "  $line"
done
if [ ${#failed[@]} -ne 0 ]; then
  echo "fuzz: failed: ${failed[*]} (reproducers in $dir/fuzz-work/<target>/artifacts)" >&2
  exit 1
fi
echo "fuzz: no findings"
