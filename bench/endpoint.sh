#!/usr/bin/env bash
# pot verify --endpoint over the forged family served by real llama-server processes (one per member, on a
# loopback port, -t 1): for every member and score, KEYS runs with fresh keys, printing the decisions and the
# medians of challenges (= requests), generated tokens scored and wall time to a decision; then the
# calibration table (mean per-token score over 16 challenges that never stop early). Anchor: seeded-replay
# audits in the literature detect a 4-bit substitute within about 300 output tokens. Goal (issue 14): DIFFERENT
# for q4_0 within 300 generated tokens under greedy, every other different member within 100, at mode audit.
# usage: [SCORES="replay text"] bench/endpoint.sh [KEYS] [MEMBERS...]   (defaults 5; base base-q8_0 base-q4_0 finetune sibling distilled)
set -euo pipefail
source "$(dirname "$0")/common.sh"
keys="${1:-5}"
shift $(($# > 0 ? 1 : 0))
members=("$@")
[[ ${#members[@]} -gt 0 ]] || members=(base base-q8_0 base-q4_0 finetune sibling distilled)
family="${POT_TESTBED_DIR:-$HOME/.cache/pot/testbed-seed1}"
[[ -f "$family/base.gguf" ]] || { echo "bench: $family missing; run scripts/demo.sh first" >&2; exit 2; }

trap stop_server EXIT

printf '| served (reference: base) | score | decisions | median challenges | median tokens | median seconds |\n|---|---|---|---|---|---|\n'
calibration=()
for m in "${members[@]}"; do
  serve "$family/$m.gguf"
  for score in ${SCORES:-replay greedy logprobs text}; do
    : >"$work/endpoint-results.jsonl"
    for ((k = 0; k < keys; k++)); do
      rm -rf "$work/endpoint-run"
      "$pot" verify --ref "$family/base.gguf" --endpoint "$url" --api llama-server --score "$score" --mode audit \
        --threads 1 --quiet --json -o "$work/endpoint-run" 2>>"$work/endpoint-errors.log" >>"$work/endpoint-results.jsonl" || true
    done
    python3 - "$m" "$score" "$work/endpoint-results.jsonl" <<'PY'
import collections, json, statistics, sys
m, score, path = sys.argv[1:4]
rs = []
text = open(path).read()
dec = json.JSONDecoder(); i = 0
while i < len(text):
    while i < len(text) and text[i].isspace(): i += 1
    if i >= len(text): break
    obj, i = dec.raw_decode(text, i); rs.append(obj)
c = collections.Counter(r["decision"] for r in rs)
med = lambda k: statistics.median(k) if k else float("nan")
print(f"| {m} | {score} | {', '.join(f'{v} {d}' for d, v in c.most_common())} | {med([r['n_used'] for r in rs]):g} | "
      f"{med([r['endpoint']['tokens_scored'] for r in rs]):g} | {med([r['seconds'] for r in rs]):.1f} |")
PY
    rm -rf "$work/endpoint-cal"
    "$pot" verify --ref "$family/base.gguf" --endpoint "$url" --api llama-server --score "$score" --alpha 1e-12 \
      --beta 1e-12 --epsilon 0.001 --n-max 16 --threads 1 --quiet --json -o "$work/endpoint-cal" >/dev/null 2>&1 || true
    calibration+=("$(python3 - "$m" "$score" "$work/endpoint-cal/transcript.jsonl" <<'PY'
import json, sys
m, score, path = sys.argv[1:4]
xs = []
for line in open(path):
    j = json.loads(line)
    if j.get("type") == "challenge": xs += j["exchange"]["token_scores"]
print(f"| {m} | {score} | {len(xs)} | {sum(xs) / max(1, len(xs)):.4f} |")
PY
)")
  done
  stop_server
done
printf '\ncalibration: mean per-token score\n\n| served | score | tokens | mean |\n|---|---|---|---|\n'
printf '%s\n' "${calibration[@]}"
