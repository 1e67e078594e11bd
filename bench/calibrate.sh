#!/usr/bin/env bash
# bench/calibrate.sh [MODEL.gguf] [OUT.json]: measures this machine and writes its estimate profile
# (pot.profile/1, docs/formats.md "Hardware profile"), which `pot estimate --profile this-machine` reads
# (OUT defaults to ~/.cache/pot/this-machine.profile.json; `--profile OUT` reads any other path).
#
# The calibration row is llama-bench (the llama.cpp pot is built with) on MODEL, the forged base model by
# default, with ONE thread, as pot's measured runs use (--threads 1): pp512 and tg128. The machine figures
# come from build/bench/membw (bench/membw.cpp): one thread's memory bandwidth and FMA peak, SHA-256 over
# every core, pot diff's dequantize-and-compare loop on one core, the per-vocabulary-entry work of scoring
# a position, and the rate MODEL is read at (warm).
# The start cost of a model-loading process is llama-bench's own wall time for a one-token run, less
# that token. Every figure is a mean or a median over repetitions, not the best: on a shared machine each
# then holds the time other processes took, as the measured runs it is checked against do. About a minute.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/common.sh"
model="${1:-${POT_TESTBED_DIR:-$HOME/.cache/pot/testbed-seed1}/base.gguf}"
out="${2:-$HOME/.cache/pot/this-machine.profile.json}"
llama="${POT_LLAMA_DIR:-$HOME/.cache/pot/llama-3.22.1}"
bench="$llama/build/bin/llama-bench"
membw="$build/bench/membw"
[[ -f "$model" ]] || { echo "bench: $model is missing (forge the family first: scripts/demo.sh)" >&2; exit 2; }
[[ -x "$bench" ]] || { echo "bench: $bench is missing" >&2; exit 2; }
[[ -x "$membw" ]] || { echo "bench: build membw first (cmake --build build -t membw)" >&2; exit 2; }

dir="$work/calibrate"
mkdir -p "$dir"
"$pot" info "$model" --json > "$dir/info.json"
"$membw" "$model" > "$dir/membw.json"
"$bench" -m "$model" -t 1 -p 512 -n 128 -r 5 -o json > "$dir/bench.json" 2>"$dir/bench.err" ||
  { cat "$dir/bench.err" >&2; exit 1; }
# median_of N OUTVAR CMD...: the median of N runs' seconds.
median_of() {
  local n="$1" __out="$2" r all=()
  shift 2
  for ((i = 0; i < n; i++)); do
    measure r "$@"
    all+=("${r%% *}")
  done
  printf -v "$__out" '%s' "$(printf '%s\n' "${all[@]}" | sort -g | sed -n "$(((n + 1) / 2))p")"
}
# The start: a run of one generated token (llama-bench adds a warm-up run of it), timed whole.
median_of 3 start "$bench" -m "$model" -t 1 -p 0 -n 1 -r 1
# A pot process that loads no model: start and read the header (pot hash and pot diff pay it).
median_of 3 process "$pot" info "$model"
# The input embedding's size when an output layer exists (a tied model's embedding is its output layer).
"$pot" hash "$model" --json > "$dir/manifest.json"

python3 - "$dir" "$model" "$out" "$start" "$process" "$(hostname)" "$(date -u +%Y-%m-%dT%H:%MZ)" <<'EOF'
import json, os, sys
d, model, out, start, process, host, when = sys.argv[1:]
info = json.load(open(f"{d}/info.json"))
bw = json.load(open(f"{d}/membw.json"))
rows = json.load(open(f"{d}/bench.json"))
pp = next(r for r in rows if r["n_prompt"] > 0 and r["n_gen"] == 0)
tg = next(r for r in rows if r["n_gen"] > 0 and r["n_prompt"] == 0)
tensors = {t["name"]: t for t in json.load(open(f"{d}/manifest.json"))["tensors"]}
embd = tensors.get("token_embd.weight")
n_embd = embd["shape"][0] if embd else 0
output = info["n_vocab"] * n_embd
untied = "output.weight" in tensors and embd is not None
# One generated token took 1/tg of the measured start; llama-bench ran it twice (warm-up and the run).
start_s = max(0.0, float(start) - 2 / tg["avg_ts"])
mem_total = int(open("/proc/meminfo").read().split("MemTotal:")[1].split()[0]) * 1024
m = f"bench/membw on {host}, {when}"
profile = {
    "schema": "pot.profile/1",
    "name": "this-machine",
    "description": f"{host}: measured by bench/calibrate.sh, {when}, one thread (pot's measured runs use --threads 1)",
    "peak_flops": {"value": bw["flops"], "source": f"{m}: one thread of 8-wide float FMAs"},
    "memory_bandwidth": {"value": bw["bandwidth"], "source": f"{m}: one thread summing 256 MiB"},
    "memory_bytes": {"value": mem_total, "source": f"/proc/meminfo MemTotal on {host}"},
    "read_bytes_per_s": {"value": bw["read"], "source": f"{m}: {os.path.basename(model)} read front to back (page cache warm)"},
    "sha256_bytes_per_s": {"value": bw["sha256"], "source": f"{m}: pot's SHA-256 on {os.cpu_count()} threads"},
    "dequant_elements_per_s": {"value": bw["dequant"], "source": f"{m}: pot diff's Q8_0 dequantize-and-compare loop, one core"},
    "vocab_entries_per_s": {"value": bw["vocab"], "source": f"{m}: two 32,000-entry logit rows to log-probabilities, TV and KL, one core"},
    "startup_s": {"value": start_s, "source": f"llama-bench -p 0 -n 1 -r 1 -t 1 on {os.path.basename(model)}: wall time less its two tokens, {host}, {when}"},
    "process_start_s": {"value": float(process), "source": f"pot info {os.path.basename(model)}: wall time, median of 3, {host}, {when}"},
    "calibration": {
        "model": f"{os.path.basename(model)} ({info['architecture']}, {info['n_params']} parameters, {info['file_size']} bytes)",
        "params": info["n_params"],
        "bytes": info["file_size"],
        "output_params": output,
        "input_embd_params": embd["shape"][0] * embd["shape"][1] if untied else 0,
        "input_embd_bytes": embd["nbytes"] if untied else 0,
        "pp_tokens_per_s": pp["avg_ts"],
        "pp_batch": pp["n_prompt"],
        "tg_tokens_per_s": tg["avg_ts"],
        "source": f"llama-bench -t 1 -p 512 -n 128 -r 5 (build {pp.get('build_commit', '?')}) on {host}, {when}: "
                  f"pp512 {pp['avg_ts']:.1f}, tg128 {tg['avg_ts']:.1f} tokens/s (mean of 5 repetitions)",
    },
}
os.makedirs(os.path.dirname(os.path.abspath(out)), exist_ok=True)
tmp = out + ".tmp"
with open(tmp, "w") as f:
    json.dump(profile, f, indent=2)
    f.write("\n")
os.replace(tmp, out)
print(f"calibrate: wrote {out}")
print(f"calibrate: pp512 {pp['avg_ts']:.1f} tokens/s, tg128 {tg['avg_ts']:.1f} tokens/s, bandwidth {bw['bandwidth']/1e9:.2f} GB/s, "
      f"FMA {bw['flops']/1e9:.1f} GFLOP/s, SHA-256 {bw['sha256']/1e9:.2f} GB/s, dequant {bw['dequant']/1e9:.2f} G elements/s, vocab {bw['vocab']/1e9:.2f} G entries/s, "
      f"read {bw['read']/1e9:.2f} GB/s, start {start_s:.3f} s, pot start {float(process):.3f} s")
EOF
