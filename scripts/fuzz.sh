#!/usr/bin/env bash
# Runs every libFuzzer target (tests/fuzz/*_fuzz.cpp: one per parser of untrusted input) for SECONDS each,
# after building them with clang, ASan and UBSan into BUILD_DIR (scripts/sanitize.sh --build-only). Each
# target starts from a seed corpus of valid files written by pot's own writers, kept and grown in
# BUILD_DIR/fuzz/corpus/TARGET. Exit status is non-zero on any finding; the input that triggered it is left
# in BUILD_DIR/fuzz/findings and the target's log in BUILD_DIR/fuzz/logs.
# usage: scripts/fuzz.sh [BUILD_DIR] [SECONDS] [TARGET...]
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
build="${1:-$root/build/asan}"
seconds="${2:-60}"
shift $(( $# < 2 ? $# : 2 ))
targets=("$@")
[ ${#targets[@]} -gt 0 ] || mapfile -t targets < <(cd "$root/tests/fuzz" && ls -- *_fuzz.cpp | sed 's/\.cpp$//')
bash "$root/scripts/sanitize.sh" "$build" --build-only
work="$build/fuzz"
mkdir -p "$work/corpus" "$work/findings" "$work/logs"
"$build/tests/fuzz/fuzz_seed_corpus" "$work/corpus"
failed=()
for target in "${targets[@]}"; do
  log="$work/logs/$target.log"
  dict=()
  [ "$target" = gguf_reader_fuzz ] || dict=(-dict="$root/tests/fuzz/json.dict")  # every other format is or holds JSON
  # -rss_limit_mb bounds the parsers' allocations: a hostile count must never turn into a huge buffer.
  if "$build/tests/fuzz/$target" "$work/corpus/$target" -max_total_time="$seconds" -rss_limit_mb=512 "${dict[@]}" \
       -artifact_prefix="$work/findings/$target-" -print_final_stats=1 >"$log" 2>&1; then
    echo "$target: $(grep -o 'stat::number_of_executed_units: *[0-9]*' "$log" | grep -o '[0-9]*$') runs," \
         "$(grep -o 'cov: [0-9]*' "$log" | tail -n 1), no finding"
  else
    echo "$target: FINDING (log: $log)" >&2
    tail -n 40 "$log" >&2
    failed+=("$target")
  fi
done
if [ ${#failed[@]} -gt 0 ]; then
  echo "fuzz.sh: findings in ${failed[*]} (inputs in $work/findings)" >&2
  exit 1
fi
