#!/usr/bin/env bash
# Scoring throughput: pot verify's teacher-forced scoring against llama-perplexity on the same model, the
# same text in chunks of about the same length, and the same threads, in one run. Rates are per model and
# exclude model loading and tokenization: llama-perplexity's from its own log timestamps, pot's from its
# per-challenge timings (every token goes through both models). Two rates are printed:
#   scored tokens/s: positions whose full next-token distribution is computed and scored. llama-perplexity
#     computes the output layer only for the second half of each chunk (the first half is context), so it
#     scores 64 of every 128 tokens; pot scores every position. This is the goal's unit.
#   evaluated tokens/s: tokens run through the model, scored or not.
# Goal (issue 5): pot >= 0.9x llama-perplexity in scored tokens/s.
# usage: bench/score.sh [CHUNKS] [THREADS]   (defaults 100, nproc); needs the forged family (scripts/demo.sh)
set -euo pipefail
source "$(dirname "$0")/common.sh"
chunks="${1:-100}"
threads="${2:-$(nproc)}"
model="${POT_TESTBED_DIR:-$HOME/.cache/pot/testbed-seed1}/base.gguf"
perplexity="${POT_LLAMA_DIR:-$HOME/.cache/pot/llama-3.22.1}/build/bin/llama-perplexity"
[[ -f "$model" ]] || { echo "bench: $model missing; run scripts/demo.sh first" >&2; exit 2; }

text="$work/score-text.txt"
corpus="$work/score-corpus.txt"
tr '\n%' '  ' < /usr/share/games/fortunes/computers | tr -s ' ' > "$text"
# Lines of 400 characters: about 128 tokens each with this model's vocabulary, llama-perplexity's chunk size.
fold -w 400 "$text" | awk 'length($0) > 300' > "$corpus"

"$perplexity" -m "$model" -f "$text" -c 128 -b 128 -t "$threads" --chunks "$chunks" > "$work/perplexity.log" 2>&1
ppl_rates="$(python3 - "$work/perplexity.log" "$chunks" <<'PY'
import re, sys
log = open(sys.argv[1]).read()
# llama.cpp's log stamps read MINUTES.SECONDS.MILLISECONDS.MICROSECONDS.
def stamp(pat):
    m, s, ms, us = re.search(r"(\d+)\.(\d+)\.(\d+)\.(\d+) I " + pat, log).groups()
    return int(m) * 60 + int(s) + int(ms) / 1e3 + int(us) / 1e6
seconds = stamp("Final estimate") - stamp("perplexity: calculating")
chunks = int(sys.argv[2])
print(f"{chunks * 64 / seconds:.0f} {chunks * 128 / seconds:.0f}")
PY
)"

run="$work/score-run"
rm -rf "$run"
"$pot" verify --ref "$model" --cand "$model" --family corpus --corpus "$corpus" --n-max "$chunks" \
  --alpha 1e-12 --beta 1e-12 --epsilon 0.001 --threads "$threads" --quiet -o "$run" >/dev/null || true
pot_rate="$(python3 - "$run/result.json" <<'PY'
import json, sys
r = json.load(open(sys.argv[1]))
# Per model: with K = 0 each model evaluates exactly the scored positions (the pass stops before the last
# prompt token, which would predict nothing scored), so the tokens through a model are twice the positions.
# scoring_seconds excludes loading and hashing.
print(f"{2 * r['positions_scored'] / r['scoring_seconds']:.0f} {r['n_used']} {r['positions_scored'] / r['n_used']:.1f}")
PY
)"
read -r pot_tps n_chal mean_pos <<<"$pot_rate"
read -r ppl_scored ppl_evaluated <<<"$ppl_rates"
ratio="$(awk -v a="$pot_tps" -v b="$ppl_scored" 'BEGIN { printf "%.2f", a / b }')"
ratio_evaluated="$(awk -v a="$pot_tps" -v b="$ppl_evaluated" 'BEGIN { printf "%.2f", a / b }')"
printf 'model %s, %s threads\n' "$model" "$threads"
printf '%-44s %16s %18s\n' tool "scored tokens/s" "evaluated tokens/s"
printf '%-44s %16s %18s\n' "llama-perplexity -c 128 ($chunks chunks)" "$ppl_scored" "$ppl_evaluated"
printf '%-44s %16s %18s\n' "pot verify ($n_chal challenges, $mean_pos positions)" "$pot_tps" "$pot_tps"
printf 'pot / llama-perplexity: %sx scored (goal >= 0.9), %sx evaluated\n' "$ratio" "$ratio_evaluated"
awk -v r="$ratio" 'BEGIN { exit !(r >= 0.9) }' || { echo "GOAL MISSED"; exit 1; }
