#!/usr/bin/env bash
# Builds the GGUF reader fuzzer (clang, libFuzzer, ASan, UBSan) into BUILD_DIR and runs it for SECONDS.
# Exit status is non-zero on any finding; the crashing input is left in BUILD_DIR/findings.
# usage: scripts/fuzz.sh [BUILD_DIR] [SECONDS]
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
build="${1:-$root/build/fuzz}"
seconds="${2:-60}"
log="$build.log"
if ! { cmake -S "$root/tests/fuzz" -B "$build" -G Ninja -DCMAKE_C_COMPILER=clang -DCMAKE_CXX_COMPILER=clang++ &&
       cmake --build "$build"; } >"$log" 2>&1; then
  tail -n 30 "$log" >&2
  echo "fuzz.sh: building the fuzzer failed (full log: $log)" >&2
  exit 1
fi
mkdir -p "$build/corpus" "$build/findings"
"$build/gguf_seed_corpus" "$build/corpus"
# -rss_limit_mb bounds the reader's allocations: a hostile count must never turn into a huge buffer.
"$build/gguf_reader_fuzz" "$build/corpus" -max_total_time="$seconds" -rss_limit_mb=512 -max_len=4096 \
  -artifact_prefix="$build/findings/" -print_final_stats=1 2>&1 | tail -n 15
