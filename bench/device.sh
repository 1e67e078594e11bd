#!/usr/bin/env bash
# The GPU check of issue 16, as one prepared script for a lent accelerator machine (nvcc, CMake, ninja, no
# network; at most 8 minutes). Two halves:
#
#   bench/device.sh pack            on the development machine: writes device-kit/ (git-ignored, ~20 MiB):
#                                   llama.cpp's pinned source (the tree scripts/deps.sh verified) and the forge
#                                   members base, base-q8_0 and base-q4_0.
#   bench/device.sh run             on the GPU machine (carry device-kit): builds llama.cpp for CUDA, one
#                                   architecture (POT_CUDA_ARCH, default 90), and pot against it when pot's
#                                   libraries are there (OpenSSL, libcurl, nlohmann-json); then verifies base
#                                   against base, q8_0 and q4_0 with the reference on the CPU and the candidate
#                                   on the GPU, printing the per-challenge TV floor and the scoring rate.
#                                   Without pot's libraries it measures the same floor with llama.cpp's own
#                                   llama-perplexity --kl-divergence (KL and top-1 agreement, GPU against the
#                                   CPU's logits), and says so.
# Output: a markdown table on stdout and $OUT/device.json (or ./device-kit/device.json).
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
kit="$root/device-kit"
mode="${1:-run}"

if [[ "$mode" == pack ]]; then
  llama="${POT_LLAMA_DIR:-$HOME/.cache/pot/llama-3.22.1}/src"
  family="${POT_TESTBED_DIR:-$HOME/.cache/pot/testbed-seed1}"
  [[ -f "$llama/.pot-verified" ]] || { echo "device.sh: run scripts/deps.sh first" >&2; exit 2; }
  mkdir -p "$kit"
  tar -C "$llama" --exclude=.git --exclude=models --exclude=docs --exclude=examples --exclude=tools/server/webui \
      -czf "$kit/llama-src.tgz" .
  for m in base base-q8_0 base-q4_0; do cp "$family/$m.gguf" "$kit/"; done
  du -sh "$kit"
  exit 0
fi

[[ "$mode" == run ]] || { echo "usage: bench/device.sh pack|run" >&2; exit 2; }
out="${OUT:-$kit}"
mkdir -p "$out"
jobs="$(nproc)"
arch="${POT_CUDA_ARCH:-90}"
work="$(mktemp -d)"
start=$SECONDS
log() { printf '[device %3ds] %s\n' $((SECONDS - start)) "$*" >&2; }

log "building llama.cpp for CUDA sm_$arch ($jobs jobs)"
mkdir -p "$work/llama/src"
tar -xzf "$kit/llama-src.tgz" -C "$work/llama/src"
touch "$work/llama/src/.pot-verified"
# The options of scripts/deps.sh (LLAMA_OPTIONS) plus CUDA: the same numerics on the CPU side.
cmake -S "$work/llama/src" -B "$work/llama/build-cuda" -G Ninja -DCMAKE_BUILD_TYPE=Release -DBUILD_SHARED_LIBS=OFF \
  -DGGML_NATIVE=OFF -DGGML_RPC=ON -DLLAMA_CURL=OFF -DLLAMA_OPENSSL=OFF -DLLAMA_BUILD_UI=OFF -DLLAMA_USE_PREBUILT_UI=OFF \
  -DLLAMA_BUILD_APP=OFF -DLLAMA_BUILD_TESTS=OFF -DLLAMA_BUILD_EXAMPLES=OFF -DLLAMA_BUILD_SERVER=OFF -DLLAMA_BUILD_TOOLS=ON \
  -DGGML_CUDA=ON -DCMAKE_CUDA_ARCHITECTURES="$arch" >"$work/cmake-llama.log" 2>&1
cmake --build "$work/llama/build-cuda" -j "$jobs" --target llama-perplexity llama >"$work/build-llama.log" 2>&1 ||
  { tail -30 "$work/build-llama.log" >&2; exit 1; }
log "llama.cpp built"

rows=()
if cmake -S "$root" -B "$work/pot" -G Ninja -DCMAKE_BUILD_TYPE=Release -DBUILD_TESTING=OFF -DPOT_BACKEND=cuda \
     -DPOT_LLAMA_DIR="$work/llama" >"$work/cmake-pot.log" 2>&1 &&
   cmake --build "$work/pot" -j "$jobs" --target pot >"$work/build-pot.log" 2>&1; then
  pot="$work/pot/src/pot"
  log "pot built for cuda; verifying (reference on the CPU, candidate on the GPU)"
  "$pot" challenge commit --family templates -n 64 -o "$work/k.key" >/dev/null 2>&1
  for cand in base base-q8_0 base-q4_0; do
    "$pot" verify --ref "$kit/base.gguf" --cand "$kit/$cand.gguf" --key "$work/k.key" --cand-gpu-layers 999 \
      --n-max 64 --epsilon 1e-9 --json --quiet -o "$work/run-$cand" >"$work/$cand.json" 2>"$work/$cand.err" || true
    python3 - "$work/$cand.json" "$work/run-$cand/transcript.jsonl" "$cand" >>"$work/rows" <<'PY'
import json, sys
result = json.load(open(sys.argv[1]))
records = [json.loads(l) for l in open(sys.argv[2]) if '"type":"challenge"' in l]
tv = [r["tv"] for r in records]
top1 = [r["top1_agreement"] for r in records]
print(json.dumps({"candidate": sys.argv[3], "tool": "pot verify", "challenges": len(tv), "mean_tv": sum(tv) / len(tv),
                  "max_tv": max(tv), "top1_agreement": sum(top1) / len(top1),
                  "positions_per_second": result["positions_per_second"], "placement": result["placement"]}))
PY
  done
else
  log "pot's libraries are missing here ($(grep -m1 -i 'could not find\|not found' "$work/cmake-pot.log" || echo 'see cmake log')): llama-perplexity instead"
  ppl="$work/llama/build-cuda/bin/llama-perplexity"
  text="$work/text.txt"
  python3 -c "import random; random.seed(1); w='the of and a to in is that it was for on as with by at'.split(); print(' '.join(random.choice(w) for _ in range(6000)))" >"$text"
  "$ppl" -m "$kit/base.gguf" -f "$text" -c 128 -ngl 0 --kl-divergence-base "$work/base.kld" >"$work/base-cpu.log" 2>&1
  for cand in base base-q8_0 base-q4_0; do
    "$ppl" -m "$kit/$cand.gguf" -f "$text" -c 128 -ngl 999 --kl-divergence-base "$work/base.kld" --kl-divergence \
      >"$work/$cand-gpu.log" 2>&1
    python3 - "$work/$cand-gpu.log" "$cand" >>"$work/rows" <<'PY'
import json, re, sys
log = open(sys.argv[1]).read()
def grab(label):
    m = re.search(label + r"\s*:\s*([-0-9.e+]+)", log)
    return float(m.group(1)) if m else None
rate = re.search(r"prompt eval time =.*?([0-9.]+) tokens per second", log)
print(json.dumps({"candidate": sys.argv[2], "tool": "llama-perplexity --kl-divergence", "mean_kl": grab("Mean    KLD"),
                  "top1_agreement": (grab("Same top p") or 0) / 100, "tokens_per_second": float(rate.group(1)) if rate else None}))
PY
  done
fi
python3 - "$work/rows" "$out/device.json" <<'PY'
import json, sys
rows = [json.loads(l) for l in open(sys.argv[1])]
json.dump({"rows": rows}, open(sys.argv[2], "w"), indent=2)
keys = [k for k in rows[0] if k != "placement"]
print("| " + " | ".join(keys) + " |")
print("|" + "---|" * len(keys))
for r in rows:
    print("| " + " | ".join(f"{r[k]:.3g}" if isinstance(r[k], float) else str(r[k]) for k in keys) + " |")
PY
log "done; $out/device.json"
