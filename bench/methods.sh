#!/usr/bin/env bash
# Every verification method the user's notes estimate, measured in one run on this machine and the forge family
# (issue 17): reference base against each candidate class (base-copy, base-q8_0, base-q4_0, finetune, sibling,
# distilled, other-tokenizer). Per method: wall time, peak RSS and bytes written, the verdict on each class, and
# whether the result is cryptographically bound. Every model-running command uses one thread (this machine gives
# about one core; see docs/verify.md, "Threads").
#
# The notes' scenario is 5000 prompts x 50 tokens. The methods whose cost grows with the prompt count (fixed-N,
# selfcheck, the KL test, activations) run N prompts here (default 100) and their time and bytes are
# extrapolated to 5000 with a line through two measured points: every class at N, and finetune again at N/4
# (time(P) = a + b P; the fixed costs, loading and start-up, are a). pot verify, verify --reference and the endpoint
# verification stop when the sequential test decides and run to their decision; hash and diff do not depend on N;
# the gradient comparison takes one batch of a tenth of N challenges.
#
# Prints the markdown table, then writes it as JSON (schema pot.methods/1, docs/methods.md) to
# $POT_BENCH_DIR/methods/methods.json, and exits non-zero when pot verify's slowest decision is not at least
# 100x below the fixed-N method's fastest extrapolated run (the issue's goal).
# usage: bench/methods.sh [N] [TOKENS] [TARGET_PROMPTS]   (defaults 100, 50, 5000); needs the forged family
set -euo pipefail
source "$(dirname "$0")/common.sh"
n="${1:-100}"
tokens="${2:-50}"
target="${3:-5000}"
quarter=$(((n + 3) / 4))
family="${POT_TESTBED_DIR:-$HOME/.cache/pot/testbed-seed1}"
base="$family/base.gguf"
fixed_n="$build/bench/fixed_n"
classes=(base-copy base-q8_0 base-q4_0 finetune sibling distilled other-tokenizer)
for m in base "${classes[@]}"; do
  [[ -f "$family/$m.gguf" ]] || { echo "bench: $family/$m.gguf missing; run scripts/demo.sh first" >&2; exit 2; }
done
[[ -x "$fixed_n" ]] || { echo "bench: $fixed_n missing; build first (scripts/build.sh)" >&2; exit 2; }
dir="$work/methods"
rm -rf "$dir"
mkdir -p "$dir"
records="$dir/records.jsonl"
: >"$records"
trap stop_server EXIT

# run METHOD CLASS PROMPTS OUTDIR CMD...: runs CMD once under GNU time with its stdout in OUTDIR/stdout and its
# stderr in OUTDIR/stderr, and records seconds, peak RSS, the bytes it left under OUTDIR (its output files), and
# its exit status. 0, 1 and 5 are answers, 3 a refusal (and 4 naming another tokenizer); anything else stops
# the benchmark.
run() {
  local method="$1" class="$2" prompts="$3" out="$4" rc=0
  shift 4
  mkdir -p "$out"
  /usr/bin/time -f "%e %M" -o "$out.time" "$@" >"$out/stdout" 2>"$out/stderr" || rc=$?
  # An endpoint serving another vocabulary ends pot's run as an endpoint failure (4) naming the tokenizer.
  ((rc == 4)) && grep -q "(another tokenizer)" "$out/stderr" && rc=3
  if ((rc != 0 && rc != 1 && rc != 3 && rc != 5)); then
    tail -n 5 "$out/stderr" >&2
    echo "bench: $method on $class failed with status $rc: $*" >&2
    exit 1
  fi
  local t rss bytes
  read -r t rss < <(tail -n 1 "$out.time")
  bytes=$(find "$out" -type f ! -name stdout ! -name stderr -printf '%s\n' | awk '{ s += $1 } END { print s + 0 }')
  printf '{"method":"%s","class":"%s","prompts":%s,"wall_s":%s,"peak_rss_kib":%s,"bytes":%s,"rc":%s,"dir":"%s"}\n' \
    "$method" "$class" "$prompts" "$t" "$rss" "$bytes" "$rc" "$out" >>"$records"
  printf '  %-18s %-16s %4s prompts  %7.2f s  %6d MiB  rc %s\n' "$method" "$class" "$prompts" "$t" $((rss / 1024)) "$rc" >&2
}

echo "== one-time set-up: key, signer, reference manifest, reference file" >&2
"$pot" challenge commit --family templates -n 128 -o "$dir/k.key" >/dev/null
"$pot" keygen -o "$dir/signer" >/dev/null
run hash-commit base 0 "$dir/setup-manifest" "$pot" hash "$base" -o "$dir/setup-manifest/base.manifest.json" --quiet
run reference-build base 128 "$dir/setup-reference" "$pot" reference build "$base" --key "$dir/k.key" \
  --sign "$dir/signer" -n 128 --threads 1 --quiet -o "$dir/setup-reference/base.potref"
# The KL test's text: N x TOKENS tokens' worth of challenge prompts (about 24 tokens each, so N x TOKENS / 24
# prompts), and the reference logits it compares against (llama-perplexity --kl-divergence-base), in
# llama-perplexity's default chunks of 512 tokens.
text_for() {  # text_for PROMPTS FILE
  "$pot" challenge commit --family templates -n $(($1 * tokens / 24 + 1)) -o "$dir/text-$1.key" >/dev/null
  "$pot" challenge list --key "$dir/text-$1.key" -n $(($1 * tokens / 24 + 1)) | cut -f3 | tr '\n' ' ' >"$2"
}
text_for "$n" "$dir/text.txt"
text_for "$quarter" "$dir/text-quarter.txt"
ppl=("$llama_bin/llama-perplexity" -c 512 -b 512 -t 1)
run kl-base base "$n" "$dir/setup-kl" "${ppl[@]}" -m "$base" -f "$dir/text.txt" --kl-divergence-base "$dir/setup-kl/base.kld"
run kl-base base "$quarter" "$dir/setup-kl-quarter" "${ppl[@]}" -m "$base" -f "$dir/text-quarter.txt" \
  --kl-divergence-base "$dir/setup-kl-quarter/base.kld"

# scaled METHOD CLASS PROMPTS OUT: the command line of a method whose cost grows with PROMPTS.
scaled() {
  local method="$1" cand="$family/$2.gguf" p="$3" out="$4" kld="$dir/setup-kl/base.kld" text="$dir/text.txt"
  [[ "$p" == "$quarter" ]] && { kld="$dir/setup-kl-quarter/base.kld"; text="$dir/text-quarter.txt"; }
  case "$method" in
    fixed-n) echo "$fixed_n $base $cand $out/stored.bin --prompts $p --tokens $tokens --threads 1" ;;
    selfcheck) echo "$pot selfcheck $cand --prompts $p --tokens $tokens --seed 1 --threads 1 --json --quiet" ;;
    kl) echo "${ppl[*]} -m $cand -f $text --kl-divergence-base $kld --kl-divergence" ;;
    activations) echo "$pot diff --activations $base $cand --prompts $p --key $dir/k.key --threads 1 --json --quiet" ;;
  esac
}

for method in fixed-n selfcheck kl activations; do
  echo "== $method ($n prompts x $tokens tokens; finetune also at $quarter)" >&2
  for c in "${classes[@]}"; do
    # shellcheck disable=SC2046  # the command line is words by construction (paths without spaces)
    run "$method" "$c" "$n" "$dir/$method-$c" $(scaled "$method" "$c" "$n" "$dir/$method-$c")
  done
  run "$method" finetune "$quarter" "$dir/$method-finetune-quarter" \
    $(scaled "$method" finetune "$quarter" "$dir/$method-finetune-quarter")
done

# The gradient comparison takes one batch: its challenges concatenated and repeated to fill a training context
# (docs/methods.md, "Gradient comparison"), so its cost follows the context, not the prompt count, and it is
# not extrapolated. It runs on a tenth of N challenges (at least 8).
grad_n=$((n / 10 > 8 ? n / 10 : 8))
echo "== gradients ($grad_n challenges in one batch)" >&2
for c in "${classes[@]}"; do
  run gradients "$c" "$grad_n" "$dir/gradients-$c" "$pot" diff --gradients "$base" "$family/$c.gguf" \
    --prompts "$grad_n" --key "$dir/k.key" --threads 1 --json --quiet
done

verify_common=(--mode audit --threads 1 --json --quiet --sign "$dir/signer")
echo "== pot verify (both models), pot verify --reference, weight hash check, weight diff" >&2
for c in "${classes[@]}"; do
  cand="$family/$c.gguf"
  run verify "$c" 0 "$dir/verify-$c" "$pot" verify --ref "$base" --cand "$cand" "${verify_common[@]}" -o "$dir/verify-$c/run"
  run verify-reference "$c" 0 "$dir/verify-reference-$c" "$pot" verify --reference "$dir/setup-reference/base.potref" \
    --trust "$dir/signer.pub" --key "$dir/k.key" --cand "$cand" "${verify_common[@]}" -o "$dir/verify-reference-$c/run"
  run hash "$c" 0 "$dir/hash-$c" "$pot" hash --check "$dir/setup-manifest/base.manifest.json" "$cand" --weights-only --quiet
  run diff "$c" 0 "$dir/diff-$c" "$pot" diff "$base" "$cand" --json --quiet
done

echo "== endpoint verification: a real llama-server serving each class" >&2
for c in "${classes[@]}"; do
  serve "$family/$c.gguf"
  run endpoint "$c" 0 "$dir/endpoint-$c" "$pot" verify --ref "$base" --endpoint "$url" --api llama-server \
    "${verify_common[@]}" -o "$dir/endpoint-$c/run"
  stop_server
done

python3 "$root/bench/methods_table.py" "$records" "$tokens" "$target" "$dir/methods.json"
