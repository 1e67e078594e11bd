#!/usr/bin/env bash
# Noise floors (issue 16): how far apart pot's scores put the SAME weights (base against base) when only the
# numerics change, next to real quantizations of base. Per row: mean and largest per-challenge TV, mean top-1
# agreement and mean |dNLL| from pot's own records (transcript.jsonl), and as a cross-check llama-perplexity's
# mean KLD and "same top p" on the same text (the challenges concatenated) against the portable build's
# --kl-divergence-base logits.
#  - micro-batch: pot verify --ref base --cand base --cand-ubatch 1, 8, 512 (both models in one process);
#  - threads: a reference file built with one --threads, verified with another (pot verify --reference);
#    pot selfcheck --second-threads / --second-ubatch as an exact in-process check (max |delta log p|);
#  - builds: a reference file built by the portable build (GGML_NATIVE=OFF) verified by a pot linked against a
#    -march=native llama.cpp, and the other way round (POT_NATIVE_BUILD_DIR, POT_NATIVE_LLAMA_DIR);
#  - Vulkan: llama-perplexity -ngl 99 of a GGML_VULKAN build (POT_VULKAN_LLAMA_DIR), KLD only;
#  - quantization: base against base-q8_0 and base-q4_0.
# A reference file stores log-probabilities in steps of 2^-18 nats, so its TV has a floor of its own (the row
# "same build, same threads"); its target log-probabilities are f32, so |dNLL| = 0 there means the candidate
# reproduced them bit for bit. The test is made unable to decide (alpha = beta = 1e-12), so every row
# scores the same N challenges. Prints a markdown table, then the rows as JSON (also in $POT_BENCH_DIR/floors).
# usage: bench/floors.sh [N] [THREADS]   (defaults 64, 2); needs the forged family (scripts/demo.sh)
set -euo pipefail
source "$(dirname "$0")/common.sh"
n="${1:-64}"
threads="${2:-2}"
family="${POT_TESTBED_DIR:-$HOME/.cache/pot/testbed-seed1}"
llama="${POT_LLAMA_DIR:-$HOME/.cache/pot/llama-3.22.1}"
native_pot="${POT_NATIVE_BUILD_DIR:+$POT_NATIVE_BUILD_DIR/src/pot}"
native_llama="${POT_NATIVE_LLAMA_DIR:-}"
vulkan_llama="${POT_VULKAN_LLAMA_DIR:-}"
base="$family/base.gguf"
for m in base base-q8_0 base-q4_0; do
  [[ -f "$family/$m.gguf" ]] || { echo "bench: the forged family is missing; run scripts/demo.sh first" >&2; exit 2; }
done

dir="$work/floors"
rm -rf "$dir"
mkdir -p "$dir"
rows="$dir/rows.tsv"  # label, kind (two|file|selfcheck|ppl), run directory or log, llama-perplexity log
: > "$rows"
"$pot" challenge commit --family templates -n "$n" -o "$dir/k.key" >/dev/null 2>&1
"$pot" keygen -o "$dir/signer" >/dev/null 2>&1
undecidable=(--key "$dir/k.key" --n-max "$n" --alpha 1e-12 --beta 1e-12 --quiet)

# The text llama-perplexity reads, and the portable build's logits of base on it (the KLD baseline).
"$pot" challenge list --key "$dir/k.key" -n "$n" | cut -f3 | tr '\n' ' ' > "$dir/text.txt"
ppl_common=(-f "$dir/text.txt" -c 128 -b 128 --kl-divergence-base "$dir/base.kld")
"$llama/build/bin/llama-perplexity" -m "$base" "${ppl_common[@]}" -t "$threads" \
  >"$dir/ppl-base.log" 2>&1 || { cat "$dir/ppl-base.log" >&2; exit 1; }
# ppl NAME BINARY MODEL ARGS...: llama-perplexity --kl-divergence against the baseline logits.
ppl() {
  local name="$1" bin="$2" model="$3"
  shift 3
  # llama.cpp's logger writes from its own thread and now and then loses the summary at exit: run again.
  for _ in 1 2 3; do
    "$bin" -m "$model" "${ppl_common[@]}" --kl-divergence "$@" >"$dir/ppl-$name.log" 2>&1 ||
      { cat "$dir/ppl-$name.log" >&2; echo "bench: llama-perplexity ($name) failed" >&2; exit 1; }
    grep -aq "Same top p:" "$dir/ppl-$name.log" && break
  done
  echo "$dir/ppl-$name.log"
}
row() { printf '%s\t%s\t%s\t%s\n' "$@" >> "$rows"; }

# Both models in one process.
two() {
  local name="$1" cand="$2"
  shift 2
  "$pot" verify --ref "$base" --cand "$cand" "${undecidable[@]}" --threads "$threads" -o "$dir/$name" "$@" >/dev/null ||
    [[ $? == 5 ]] || { echo "bench: pot verify ($name) failed" >&2; exit 1; }
  echo "$dir/$name"
}
row "base vs base, --cand-ubatch 512 (default)" two "$(two ub512 "$base" --cand-ubatch 512)" \
  "$(ppl same "$llama/build/bin/llama-perplexity" "$base" -t "$threads")"
row "base vs base, --cand-ubatch 8" two "$(two ub8 "$base" --cand-ubatch 8)" \
  "$(ppl ub8 "$llama/build/bin/llama-perplexity" "$base" -t "$threads" -ub 8)"
row "base vs base, --cand-ubatch 1" two "$(two ub1 "$base" --cand-ubatch 1)" \
  "$(ppl ub1 "$llama/build/bin/llama-perplexity" "$base" -t "$threads" -ub 1)"

# Reference files: built with one thread count (or build), verified with another.
# refbuild NAME POT THREADS: a reference file of base.
refbuild() {
  "$2" reference build "$base" --key "$dir/k.key" --sign "$dir/signer" -n "$n" --threads "$3" --quiet \
    -o "$dir/$1.potref" >/dev/null 2>&1 || { echo "bench: pot reference build ($1) failed" >&2; exit 1; }
}
# byfile NAME POT REFFILE THREADS: verify base against a reference file.
byfile() {
  "$2" verify --reference "$dir/$3.potref" --trust "$dir/signer.pub" --cand "$base" "${undecidable[@]}" \
    --threads "$4" -o "$dir/$1" >/dev/null || [[ $? == 5 ]] || { echo "bench: pot verify --reference ($1) failed" >&2; exit 1; }
  echo "$dir/$1"
}
refbuild ref-t$threads "$pot" "$threads"
refbuild ref-t1 "$pot" 1
cmp -s "$dir/ref-t$threads.potref" "$dir/ref-t1.potref" && same_t=identical || same_t=differ
echo "reference files built with --threads $threads and 1: $same_t" > "$dir/notes.txt"
row "reference file, same build, same threads ($threads)" file "$(byfile f-same "$pot" ref-t$threads "$threads")" -
row "reference file --threads 1, verified with --threads $threads" file "$(byfile f-t1-t$threads "$pot" ref-t1 "$threads")" \
  "$(ppl t1 "$llama/build/bin/llama-perplexity" "$base" -t 1)"
row "reference file --threads $threads, verified with --threads 1" file "$(byfile f-t$threads-t1 "$pot" ref-t$threads 1)" -
"$pot" selfcheck "$base" --prompts 16 --tokens 32 --seed 1 --threads "$threads" --second-threads 1 --json \
  > "$dir/selfcheck-threads.json" || [[ $? == 1 ]]
row "selfcheck, --threads $threads vs --second-threads 1" selfcheck "$dir/selfcheck-threads.json" -
"$pot" selfcheck "$base" --prompts 16 --tokens 32 --seed 1 --threads "$threads" --second-ubatch 1 --json \
  > "$dir/selfcheck-ubatch.json" || [[ $? == 1 ]]
row "selfcheck, ubatch 512 vs --second-ubatch 1" selfcheck "$dir/selfcheck-ubatch.json" -

if [[ -n "$native_pot" && -x "$native_pot" ]]; then
  refbuild ref-native "$native_pot" "$threads"
  cmp -s "$dir/ref-t$threads.potref" "$dir/ref-native.potref" && same_b=identical || same_b=differ
  echo "reference files built by the portable and the native build: $same_b" >> "$dir/notes.txt"
  nppl=-
  [[ -n "$native_llama" ]] && nppl="$(ppl native "$native_llama/build/bin/llama-perplexity" "$base" -t "$threads")"
  row "reference file portable (GGML_NATIVE=OFF), verified by native (-march=native)" file \
    "$(byfile f-portable-native "$native_pot" ref-t$threads "$threads")" "$nppl"
  row "reference file native, verified by portable" file "$(byfile f-native-portable "$pot" ref-native "$threads")" -
  row "native: same build, same threads ($threads)" file "$(byfile f-native-same "$native_pot" ref-native "$threads")" -
else
  row "portable vs native build" missing "POT_NATIVE_BUILD_DIR not set" -
fi
row "RPC backend on/off" missing "to be measured" -
if [[ -n "$vulkan_llama" ]]; then
  row "Vulkan (lavapipe, -ngl 99) vs portable CPU" ppl - \
    "$(ppl vulkan "$vulkan_llama/build/bin/llama-perplexity" "$base" -t "$threads" -ngl 99)"
else
  row "Vulkan vs CPU" missing "POT_VULKAN_LLAMA_DIR not set" -
fi

row "base vs base-q8_0" two "$(two q8_0 "$family/base-q8_0.gguf")" \
  "$(ppl q8_0 "$llama/build/bin/llama-perplexity" "$family/base-q8_0.gguf" -t "$threads")"
row "base vs base-q4_0" two "$(two q4_0 "$family/base-q4_0.gguf")" \
  "$(ppl q4_0 "$llama/build/bin/llama-perplexity" "$family/base-q4_0.gguf" -t "$threads")"

python3 - "$rows" "$dir" <<'PY'
import json, re, sys
rows_path, d = sys.argv[1], sys.argv[2]

def records(run):
    lines = [json.loads(l) for l in open(f"{run}/transcript.jsonl")]
    return [r for r in lines if r.get("type") == "challenge"]

def ppl(log):
    if log == "-":
        return None
    text = open(log, encoding="utf-8", errors="replace").read()
    if "Same top p:" not in text:
        sys.exit(f"bench: {log} has no summary")
    kld = re.search(r"Mean\s+KLD:\s+(\S+)", text)
    top = re.search(r"Same top p:\s+(\S+)\s*±", text)
    return {"mean_kld": float(kld.group(1)) if kld else None, "same_top_p_percent": float(top.group(1)) if top else None}

out = []
for line in open(rows_path):
    label, kind, src, log = line.rstrip("\n").split("\t")
    row = {"pair": label, "kind": kind}
    if kind in ("two", "file"):
        recs = records(src)
        tv = [r["tv"] for r in recs]
        row.update(challenges=len(recs), positions=sum(r["positions"] for r in recs), mean_tv=sum(tv) / len(tv),
                   max_tv=max(tv), zero_tv=sum(1 for t in tv if t == 0),
                   top1_agreement=sum(r["top1_agreement"] for r in recs) / len(recs),
                   min_top1_agreement=min(r["top1_agreement"] for r in recs),
                   mean_abs_dnll=sum(r["mean_abs_dnll"] for r in recs) / len(recs))
    elif kind == "selfcheck":
        row["selfcheck"] = json.load(open(src))
    elif kind == "missing":
        row["note"] = src
    row["llama_perplexity"] = ppl(log)
    out.append(row)

def g(x):
    return "0" if x == 0 else f"{x:.2g}"

print("| pair (same weights unless quantized) | mean TV | max TV | top-1 agreement | mean abs dNLL | llama-perplexity mean KLD | same top-1 |")
print("| --- | --- | --- | --- | --- | --- | --- |")
for r in out:
    p = r["llama_perplexity"] or {}
    # llama-perplexity prints KLD with 6 decimals: 0.000000 is below 5e-7.
    kld = "" if p.get("mean_kld") is None else "< 5e-7" if abs(p["mean_kld"]) < 5e-7 else g(p["mean_kld"])
    top = f"{p['same_top_p_percent']:.2f}%" if p.get("same_top_p_percent") is not None else ""
    if "mean_tv" in r:
        cells = [g(r["mean_tv"]), g(r["max_tv"]), f"{r['top1_agreement']:.4f}", g(r["mean_abs_dnll"])]
    elif "selfcheck" in r:
        s = r["selfcheck"]
        cells = ["", "", f"exact match {s.get('exact_match_rate', s.get('match_rate', '?'))}",
                 f"max abs dlogprob {g(s.get('max_abs_dlogprob', float('nan')))}"]
    else:
        cells = [r["note"], "", "", ""]
    print(f"| {r['pair']} | " + " | ".join(cells + [kld, top]) + " |")
for note in open(f"{d}/notes.txt"):
    print(note.rstrip())
json.dump(out, open(f"{d}/floors.json", "w"), indent=1)
print(json.dumps(out))
PY
