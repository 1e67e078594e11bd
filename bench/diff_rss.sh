#!/usr/bin/env bash
# Peak memory of pot diff on a multi-GB pair: a synthetic model and a copy with every third matrix changed.
# Goal (issue 3): peak RSS <= 64 MiB + the largest tensor's size as f32, whatever the model size.
# usage: bench/diff_rss.sh [MIB] [WIDTH]   (defaults 2048 MiB, 4096: the largest tensor is WIDTH x WIDTH)
set -euo pipefail
source "$(dirname "$0")/common.sh"
mib="${1:-2048}"
width="${2:-4096}"
a="$(synthetic "synth-$mib-w$width" "$mib" --width "$width")"
b="$(synthetic "synth-$mib-w$width-perturbed" "$mib" --width "$width" --perturb 3)"

measure idle "$pot" --version
measure run "$pot" diff "$a" "$b"
"$pot" diff "$a" "$b" --json > "$work/diff.json" || true
rss_kb="${run##* }"
largest_f32_kb=$((width * width * 4 / 1024))
bound_kb=$((64 * 1024 + largest_f32_kb))
printf 'files: %s and %s (%s bytes each)\n' "$a" "$b" "$(stat -c %s "$a")"
printf 'pot diff: %s s, peak RSS %d MiB (pot --version alone: %d MiB)\n' "${run%% *}" $((rss_kb / 1024)) $((${idle##* } / 1024))
printf 'bound: 64 MiB + largest tensor as f32 (%d MiB) = %d MiB\n' $((largest_f32_kb / 1024)) $((bound_kb / 1024))
python3 -c "import json,collections,sys; d=json.load(open(sys.argv[1])); print('tensors by status:', dict(collections.Counter(t['status'] for t in d['diffs'])))" "$work/diff.json"
((rss_kb <= bound_kb)) || { echo "GOAL MISSED"; exit 1; }
