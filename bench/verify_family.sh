#!/usr/bin/env bash
# pot verify over the forged family: for every pair, RUNS runs with fresh keys (so different challenges),
# printing the decisions, the median challenges to a decision and the median time. Goal (issue 5), at
# alpha = beta = 0.01 (mode audit): median <= 16 challenges for SAME, <= 32 for DIFFERENT.
# usage: bench/verify_family.sh [MODE] [RUNS] [extra pot verify options...]   (defaults audit, 5)
set -euo pipefail
source "$(dirname "$0")/common.sh"
mode="${1:-audit}"
runs="${2:-5}"
shift $(($# > 2 ? 2 : $#))
family="${POT_TESTBED_DIR:-$HOME/.cache/pot/testbed-seed1}"
[[ -f "$family/base.gguf" ]] || { echo "bench: $family missing; run scripts/demo.sh first" >&2; exit 2; }

pairs=("base-copy|base-copy|" "base, micro-batch 7|base|--cand-ubatch 7" "base, flash attention|base|--cand-flash-attn"
       "base-q8_0|base-q8_0|" "base-q4_0|base-q4_0|" "finetune|finetune|" "sibling|sibling|" "scale|scale|"
       "distilled|distilled|")
printf '| candidate (reference: base) | decisions | median n | median seconds | mean score |\n|---|---|---|---|---|\n'
for pair in "${pairs[@]}"; do
  IFS='|' read -r label cand extra <<<"$pair"
  results=()
  for ((r = 0; r < runs; r++)); do
    out="$work/family-run"
    rm -rf "$out"
    # shellcheck disable=SC2086
    results+=("$("$pot" verify --ref "$family/base.gguf" --cand "$family/$cand.gguf" --mode "$mode" --json --quiet \
      -o "$out" $extra "$@" 2>/dev/null || true)")
  done
  printf '%s\n' "${results[@]}" > "$work/family-results.json"
  python3 - "$label" "$work/family-results.json" <<'PY'
import collections, json, statistics, sys
text, dec, objs, i = open(sys.argv[2]).read(), json.JSONDecoder(), [], 0
while i < len(text):  # the runs' JSON objects, one after another
    if text[i].isspace():
        i += 1
        continue
    o, i = dec.raw_decode(text, i)
    objs.append(o)
decisions = dict(collections.Counter(o["decision"] for o in objs))
med = lambda key: statistics.median(o[key] for o in objs)
score = statistics.mean(o["mean_score"] for o in objs)
print(f"| {sys.argv[1]} | {decisions} | {med('n_used'):.0f} | {med('seconds'):.2f} | {score:.2g} |")
PY
done
