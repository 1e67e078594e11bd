#!/usr/bin/env bash
# Reference files (issue 7), in one run on the forged family:
#  1. Peak RSS and wall time of pot verify with both models loaded, of pot verify --reference (the
#     candidate alone plus the reference file), and of llama-perplexity evaluating the candidate alone
#     (the peer: one model, llama.cpp's own tool). Goal: --reference at most 1.1x the candidate alone.
#     Both verify modes score the same N challenges (the test is made unable to stop early).
#  2. The reference file's size per scored position against llama-perplexity --kl-divergence-base's
#     logits file per scored token, on the same text (the challenges, concatenated). Goal: >= 1000x smaller.
# usage: bench/reference.sh [N] [THREADS]   (defaults 128, nproc); needs the forged family (scripts/demo.sh)
set -euo pipefail
source "$(dirname "$0")/common.sh"
n="${1:-128}"
threads="${2:-$(nproc)}"
family="${POT_TESTBED_DIR:-$HOME/.cache/pot/testbed-seed1}"
perplexity="${POT_LLAMA_DIR:-$HOME/.cache/pot/llama-3.22.1}/build/bin/llama-perplexity"
ref="$family/base.gguf"
cand="$family/base-copy.gguf"
[[ -f "$ref" && -f "$cand" ]] || { echo "bench: the forged family is missing; run scripts/demo.sh first" >&2; exit 2; }

dir="$work/reference"
rm -rf "$dir"
mkdir -p "$dir"
"$pot" challenge commit --family templates -n "$n" -o "$dir/k.key" >/dev/null 2>&1
"$pot" keygen -o "$dir/signer" >/dev/null 2>&1
measure build_run "$pot" reference build "$ref" --key "$dir/k.key" --sign "$dir/signer" -n "$n" --threads "$threads" \
  --quiet -o "$dir/ref.potref"

# epsilon 0.001 with alpha = beta = 1e-12: neither SAME nor DIFFERENT can be reached in N challenges.
common=(--key "$dir/k.key" --cand "$cand" --n-max "$n" --alpha 1e-12 --beta 1e-12 --epsilon 0.001 --threads "$threads" --quiet)
measure two_models "$pot" verify --ref "$ref" "${common[@]}" -o "$dir/two"
measure by_file "$pot" verify --reference "$dir/ref.potref" --trust "$dir/signer.pub" "${common[@]}" -o "$dir/file"

# The same text for llama-perplexity: the N challenges, one after another.
"$pot" challenge list --key "$dir/k.key" -n "$n" | cut -f3 | tr '\n' ' ' > "$dir/challenges.txt"
measure alone "$perplexity" -m "$cand" -f "$dir/challenges.txt" -c 128 -b 128 -t "$threads"
measure kld "$perplexity" -m "$ref" -f "$dir/challenges.txt" -c 128 -b 128 -t "$threads" \
  --kl-divergence-base "$dir/base.kld"

python3 - "$dir" "$build" "$two_models" "$by_file" "$alone" "$kld" <<'PY'
import json, os, struct, subprocess, sys
d, build = sys.argv[1], sys.argv[2]
two, by_file, alone, kld = (tuple(map(float, a.split())) for a in sys.argv[3:7])
r2, rf = (json.load(open(f"{d}/{m}/result.json")) for m in ("two", "file"))
assert r2["n_used"] == rf["n_used"], "both modes must score the same challenges"
print(f"peak RSS and wall time, {rf['n_used']} challenges ({rf['positions_scored']} positions)")
print(f"  {'run':<52} {'seconds':>8} {'peak RSS MiB':>13}")
rows = [("pot verify --ref --cand (both models)", two), ("pot verify --reference --cand (candidate only)", by_file),
        ("llama-perplexity -c 128 on the candidate (peer)", alone)]
for name, (sec, kb) in rows:
    print(f"  {name:<52} {sec:>8.2f} {kb / 1024:>13.1f}")
print(f"  --reference / candidate alone: {by_file[1] / alone[1]:.3f}x (goal <= 1.1x); "
      f"both models / --reference: {two[1] / by_file[1]:.2f}x")

info = json.loads(subprocess.run([f"{build}/src/pot", "reference", "info", f"{d}/ref.potref", "--json"],
                                 capture_output=True, text=True, check=True).stdout)
pot_bytes = os.path.getsize(f"{d}/ref.potref")
with open(f"{d}/base.kld", "rb") as f:
    magic, n_ctx, n_vocab, n_chunk = struct.unpack("<8siii", f.read(20))
kld_bytes = os.path.getsize(f"{d}/base.kld")
kld_positions = n_chunk * (n_ctx - 1 - n_ctx // 2)  # llama-perplexity scores the second half of each chunk
pot_per, kld_per = pot_bytes / info["positions"], kld_bytes / kld_positions
print(f"size, same text ({n_vocab}-token vocabulary)")
print(f"  pot reference (top-{info['topk']} + {info['tail_samples']} tail samples): {pot_bytes} bytes, "
      f"{info['positions']} positions, {pot_per:.1f} bytes/position")
print(f"  llama-perplexity --kl-divergence-base: {kld_bytes} bytes, {kld_positions} positions, {kld_per:.0f} bytes/position")
print(f"  ratio: {kld_per / pot_per:.0f}x smaller (goal >= 1000x)")
sys.exit(0 if by_file[1] / alone[1] <= 1.1 and kld_per / pot_per >= 1000 else 1)
PY
