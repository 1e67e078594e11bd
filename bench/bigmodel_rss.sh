#!/usr/bin/env bash
# Memory on big models (issue 16): peak resident memory of pot verify --reference on multi-GB synthetic llama
# models (build/bench/synth_llama; Q8_0, n_embd 4096, n_ff 11008, llama.cpp's SPM vocabulary), split into
# anonymous (RssAnon: context, KV cache, compute buffers, logits rows, pot's own) and file-backed
# (RssFile: the mmap'd weights) memory, polled from /proc/PID/status every 20 ms, next to /usr/bin/time's
# maximum RSS. A reference file is built from the first model; every model is then verified against it
# (the same vocabulary, so the file applies; the verdict is irrelevant here). Each SIZE is MIB@CTX, CTX
# being the model's llama.context_length, which is the context pot gives llama.cpp (so the KV cache is
# CTX x n_layer x 2 x n_embd f16 values). The models are deleted at the end unless KEEP=1.
# usage: bench/bigmodel_rss.sh [N] [MIB@CTX...]   (defaults 3; 4096@512 12288@512 4096@4096); THREADS, SYNTH_ARGS, KEEP=1
set -euo pipefail
source "$(dirname "$0")/common.sh"
n="${1:-3}"
shift || true
specs=("$@")
((${#specs[@]})) || specs=(4096@512 12288@512 4096@4096)
threads="${THREADS:-$(nproc)}"
llama="${POT_LLAMA_DIR:-$HOME/.cache/pot/llama-3.22.1}"
vocab="${POT_VOCAB:-$llama/src/models/ggml-vocab-llama-spm.gguf}"
synth_llama="$build/bench/synth_llama"
[[ -x "$synth_llama" ]] || { echo "bench: build synth_llama first" >&2; exit 2; }

dir="$work/bigmodel"
mkdir -p "$dir"
rm -rf "$dir"/run-* "$dir"/ref.potref* "$dir"/*.time
models=()
for spec in "${specs[@]}"; do
  mib="${spec%@*}" ctx="${spec#*@}" path="$dir/big-${spec/@/-ctx}.gguf"
  if [[ ! -f "$path" ]]; then
    # shellcheck disable=SC2086  # SYNTH_ARGS: extra synth_llama options (e.g. "--embd 512 --ff 1024 --heads 8")
    "$synth_llama" "$path.part" "$mib" "$vocab" --ctx "$ctx" ${SYNTH_ARGS:-} > "$path.info"
    mv -f "$path.part" "$path"
  fi
  models+=("$path")
done
"$pot" challenge commit --family templates -n "$n" -o "$dir/k.key" >/dev/null 2>&1
"$pot" keygen -o "$dir/signer" >/dev/null 2>&1 || true

python3 - "$pot" "$dir" "$n" "$threads" "${models[@]}" <<'PY'
import json, os, re, subprocess, sys, time
pot, d, n, threads, models = sys.argv[1], sys.argv[2], sys.argv[3], sys.argv[4], sys.argv[5:]

def status_kb(pid):
    out = {}
    try:
        for line in open(f"/proc/{pid}/status"):
            k, _, v = line.partition(":")
            if k in ("RssAnon", "RssFile", "RssShmem", "VmRSS"):
                out[k] = int(v.split()[0])
    except OSError:
        pass
    return out

def measure(name, cmd):
    tfile = f"{d}/{name}.time"
    err = open(f"{d}/{name}.err", "w")
    t0 = time.time()
    p = subprocess.Popen(["/usr/bin/time", "-v", "-o", tfile] + cmd, stdout=subprocess.DEVNULL, stderr=err)
    peak = {"RssAnon": 0, "RssFile": 0, "RssShmem": 0, "VmRSS": 0}
    anon_at_file_peak = 0
    while p.poll() is None:
        try:
            kids = open(f"/proc/{p.pid}/task/{p.pid}/children").read().split()
        except OSError:
            kids = []
        for k in kids:
            s = status_kb(k)
            for key, v in s.items():
                peak[key] = max(peak[key], v)
        time.sleep(0.02)
    wall = time.time() - t0
    if p.returncode not in (0, 1, 5):
        sys.exit(f"bench: {' '.join(cmd)} failed with status {p.returncode} (see {d}/{name}.err)")
    text = open(tfile).read()
    maxrss = int(re.search(r"Maximum resident set size \(kbytes\): (\d+)", text).group(1))
    return {"seconds": round(wall, 2), "peak_rss_anon_mib": peak["RssAnon"] / 1024, "peak_rss_file_mib": peak["RssFile"] / 1024,
            "peak_vm_rss_mib": peak["VmRSS"] / 1024, "time_max_rss_mib": maxrss / 1024}

def info(path):
    text = open(path + ".info").read()
    m = re.search(r"(\d+) layers, n_embd (\d+), n_ff (\d+), n_vocab (\d+), context (\d+), \d+ tensors, (\d+) bytes", text)
    layers, embd, ff, vocab, ctx, size = map(int, m.groups())
    return {"layers": layers, "n_embd": embd, "n_vocab": vocab, "bytes": size, "ctx": ctx}

rows = []
ref = models[0]
r = measure("ref-build", [pot, "reference", "build", ref, "--key", f"{d}/k.key", "--sign", f"{d}/signer", "-n", n,
                          "--threads", threads, "--quiet", "-o", f"{d}/ref.potref"])
rows.append(dict(run=f"pot reference build {os.path.basename(ref)}", model=os.path.basename(ref), **info(ref), **r))
for i, m in enumerate(models):
    r = measure(f"run-{i}", [pot, "verify", "--reference", f"{d}/ref.potref", "--trust", f"{d}/signer.pub", "--key",
                             f"{d}/k.key", "--cand", m, "--n-max", n, "--threads", threads, "--quiet", "--json",
                             "-o", f"{d}/run-{i}"])
    res = json.load(open(f"{d}/run-{i}/result.json"))
    rows.append(dict(run=f"pot verify --reference --cand {os.path.basename(m)}", model=os.path.basename(m), **info(m),
                     n_used=res["n_used"], positions=res.get("positions_scored"), **r))
for row in rows:
    row["kv_cache_mib"] = row["ctx"] * row["layers"] * 2 * row["n_embd"] * 2 / 2**20

print(f"| run | model GiB | layers | context | KV cache MiB (computed) | peak RssAnon MiB | peak RssFile MiB | max RSS MiB (time -v) | seconds |")
print("| --- | --- | --- | --- | --- | --- | --- | --- | --- |")
for row in rows:
    kv = f"{row['kv_cache_mib']:.0f}"
    print(f"| {row['run']} | {row['bytes'] / 2**30:.2f} | {row['layers']} | {row['ctx']} | {kv} | {row['peak_rss_anon_mib']:.0f} | "
          f"{row['peak_rss_file_mib']:.0f} | {row['time_max_rss_mib']:.0f} | {row['seconds']:.1f} |")
print(json.dumps(rows))
PY
[[ "${KEEP:-0}" == 1 ]] || rm -f "$dir"/big-*.gguf
