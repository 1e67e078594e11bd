#!/usr/bin/env bash
# Builds pot's unit tests and fuzz targets with clang, AddressSanitizer and UndefinedBehaviorSanitizer into
# BUILD_DIR (a tree of its own; the prebuilt llama.cpp libraries are linked uninstrumented), then runs
# test_unit and test_http (the HTTP client and its threaded loopback server) there. Any sanitizer report
# fails the run. --build-only stops after the build (scripts/fuzz.sh).
# usage: scripts/sanitize.sh [BUILD_DIR] [--build-only]
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
build="${1:-$root/build/asan}"
log="$build.log"
# fuzzer-no-link: libFuzzer's coverage instrumentation in every library, so the fuzz targets see the
# parsers' branches; the unit tests link no fuzzer runtime and are unaffected.
flags="-O1 -g -fno-omit-frame-pointer -fsanitize=address,undefined,fuzzer-no-link -fno-sanitize-recover=all"
mkdir -p "$(dirname "$build")"
if ! { cmake -S "$root" -B "$build" -G Ninja -DCMAKE_BUILD_TYPE=Sanitize -DPOT_FUZZ=ON \
         -DCMAKE_C_COMPILER=clang -DCMAKE_CXX_COMPILER=clang++ \
         -DCMAKE_C_FLAGS_SANITIZE="$flags" -DCMAKE_CXX_FLAGS_SANITIZE="$flags" &&
       cmake --build "$build" --target test_unit test_http fuzz_seed_corpus \
         $(cd "$root/tests/fuzz" && ls -- *_fuzz.cpp | sed 's/\.cpp$//'); } >"$log" 2>&1; then
  tail -n 30 "$log" >&2
  echo "sanitize.sh: the sanitized build failed (full log: $log)" >&2
  exit 1
fi
[ "${2:-}" = "--build-only" ] && exit 0
# halt_on_error and abort_on_error make any report a failing exit; detect_leaks is on by default.
export ASAN_OPTIONS="${ASAN_OPTIONS:-abort_on_error=1:strict_string_checks=1:detect_stack_use_after_return=1}"
export UBSAN_OPTIONS="${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}"
cd "$build/tests"
./test_unit --gtest_brief=1
./test_http --gtest_brief=1
