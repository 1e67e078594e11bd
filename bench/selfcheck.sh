#!/usr/bin/env bash
# The determinism test two ways on the same model, prompts and tokens: pot's streaming method (both
# generations in lockstep, compared on the fly, journaled) against the standard fixed-N method (generate
# and store every reference, then generate again and compare). Prints time and peak RSS side by side, and
# the streaming method's peak RSS at N/4 to show it does not grow with N. Both must agree on the summary.
# usage: bench/selfcheck.sh [N] [TOKENS]   (defaults 400, 32); needs the forged family (scripts/demo.sh)
set -euo pipefail
source "$(dirname "$0")/common.sh"
n="${1:-400}"
tokens="${2:-32}"
model="${POT_TESTBED_DIR:-$HOME/.cache/pot/testbed-seed1}/base.gguf"
[[ -f "$model" ]] || { echo "bench: $model missing; run scripts/demo.sh first" >&2; exit 2; }
rm -rf "$work/selfcheck-journal" "$work/selfcheck-journal-small"
args=(selfcheck "$model" --tokens "$tokens" --seed 1 --json --quiet)
measure streaming "$pot" "${args[@]}" --prompts "$n" --journal "$work/selfcheck-journal"
measure stored "$pot" "${args[@]}" --prompts "$n" --method stored
measure small "$pot" "${args[@]}" --prompts $((n / 4)) --journal "$work/selfcheck-journal-small"
a="$("$pot" "${args[@]}" --prompts "$n" --journal "$work/selfcheck-journal" 2>/dev/null | grep -v '"method"')"
b="$("$pot" "${args[@]}" --prompts "$n" --method stored 2>/dev/null | grep -v '"method"')"
printf '%-34s %10s %14s\n' "method ($n prompts x $tokens tokens)" seconds "peak RSS MiB"
printf '%-34s %10s %14d\n' "streaming (pot, journaled)" "${streaming%% *}" $((${streaming##* } / 1024))
printf '%-34s %10s %14d\n' "stored (fixed-N standard)" "${stored%% *}" $((${stored##* } / 1024))
printf '%-34s %10s %14d\n' "streaming, $((n / 4)) prompts" "${small%% *}" $((${small##* } / 1024))
[[ "$a" == "$b" ]] && echo "summaries agree" || { echo "SUMMARIES DIFFER"; exit 1; }
