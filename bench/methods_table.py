#!/usr/bin/env python3
"""bench/methods.sh's table: reads the run records, reads each method's own answer from its output, extrapolates the
methods whose cost grows with the prompt count to the target count, prints markdown, writes JSON (pot.methods/1).

usage: methods_table.py RECORDS.jsonl TOKENS TARGET OUT.json
Exit status 1 when pot verify's slowest decision is not at least 100x below the fixed-N method's fastest run.
"""
import json
import os
import platform
import re
import statistics
import sys

CLASSES = ["base-copy", "base-q8_0", "base-q4_0", "finetune", "sibling", "distilled", "other-tokenizer"]
SCALED = ["fixed-n", "selfcheck", "kl", "activations"]
# The KL test's rule: DIFFERENT above 0.08 nats, the KL that Pinsker's inequality (TV <= sqrt(KL / 2)) puts at
# pot's audit tolerance, total variation 0.2.
KL_THRESHOLD = 0.08
METHODS = {  # method: (what it is, how its result is bound)
    "fixed-n": ("standard fixed-N behavioural: reference generates N, stored; candidate generates N; compare",
                "no: a plain file of outputs, prompts public"),
    "selfcheck": ("pot selfcheck: generate twice with one seed, compare on the fly (candidate alone)",
                  "no: a digest chain in its journal, unsigned"),
    "kl": ("distribution test: llama-perplexity --kl-divergence (reference logits file, then candidate)",
           "no: a logits file anyone could regenerate or edit"),
    "verify": ("pot verify --ref --cand (both models, committed challenges, sequential test)",
               "yes: HMAC-committed challenges, Merkle weight roots, signed bundle"),
    "verify-reference": ("pot verify --reference (signed reference file, candidate only)",
                         "yes: signed reference file, committed challenges, signed bundle"),
    "hash": ("weight hash check: pot hash --check --weights-only against the reference manifest",
             "yes: SHA-256 Merkle root per tensor"),
    "diff": ("weight diff: pot diff (streaming, per tensor)", "no: a measurement, unsigned"),
    "activations": ("activation comparison: pot diff --activations (per layer, spilled; bytes: the spill file)",
                    "partly: committed challenges, result unsigned"),
    "gradients": ("gradient comparison: pot diff --gradients (one batch, per tensor, spilled; bytes: the spill file)",
                  "partly: committed challenges, result unsigned"),
    "endpoint": ("pot verify --endpoint (llama-server serving the candidate)",
                 "yes: committed challenges, raw responses in a signed bundle"),
}


def read(path):
    with open(path, errors="replace") as f:
        return f.read()


def answer(r):
    """The method's own answer for one run: (verdict, detail)."""
    out = os.path.join(r["dir"], "stdout")
    if r["rc"] == 3:
        return "refused", read(os.path.join(r["dir"], "stderr")).strip().splitlines()[-1:] or [""]
    m = r["method"]
    if m == "kl":
        log = read(os.path.join(r["dir"], "stderr")) + read(out)
        found = re.search(r"Mean\s+KLD:\s+([-0-9.eE+]+)", log)
        if not found:
            return "refused", "llama-perplexity printed no KLD: " + (log.strip().splitlines() or [""])[-1][:160]
        kld = float(found.group(1))
        return ("detected" if kld > KL_THRESHOLD else "not detected"), f"mean KLD {kld:.3g}"
    if m in ("verify", "verify-reference", "endpoint"):
        j = json.loads(read(out))
        verdict = {"SAME": "not detected", "DIFFERENT": "detected"}.get(j["decision"], "undecided")
        return verdict, f"{j['decision']} after {j['n_used']}"
    if m == "fixed-n":
        j = json.loads(read(out))
        verdict = "detected" if j["decision"] == "DIFFERENT" else "not detected"
        return verdict, f"{j['matches']}/{j['prompts']} outputs equal, token agreement {j['token_agreement']:.4f}"
    if m == "selfcheck":
        j = json.loads(read(out))
        verdict = "not detected" if j["matches"] == j["prompts"] else "detected"
        return verdict, f"{j['matches']}/{j['prompts']} deterministic"
    return ("not detected" if r["rc"] == 0 else "detected"), f"exit {r['rc']}"


def runs_prompts(records, method):
    return max(r["prompts"] for r in records if r["method"] == method)


def spill_bytes(r):
    """The temporary spill file of an activation or gradient comparison (removed when it ends), from its JSON."""
    if r["method"] not in ("activations", "gradients") or r["rc"] == 3:
        return 0
    return json.loads(read(os.path.join(r["dir"], "stdout")))["memory"]["spill_bytes"]


def challenges(r):
    if r["method"] in ("verify", "verify-reference", "endpoint") and r["rc"] != 3:
        return json.loads(read(os.path.join(r["dir"], "stdout")))["n_used"]
    return None


def main():
    records_path, tokens, target, out_path = sys.argv[1:5]
    tokens, target = int(tokens), int(target)
    records = [json.loads(line) for line in open(records_path)]
    by = {(r["method"], r["class"], r["prompts"]): r for r in records}
    once = {(r["method"], r["class"]): r for r in records}  # the methods that run each class once
    # Each scaled method ran every class at its N and finetune again at a quarter of it.
    counts = {m: sorted({r["prompts"] for r in records if r["method"] == m and r["class"] == "finetune"}) for m in SCALED}
    kl_n, kl_quarter = counts["kl"][-1], counts["kl"][0]
    setup = {"kl-base": by[("kl-base", "base", kl_n)], "kl-base-quarter": by[("kl-base", "base", kl_quarter)],
             "reference-build": by[("reference-build", "base", 128)], "hash-commit": by[("hash-commit", "base", 0)]}
    rows = []
    for method, (what, bound) in METHODS.items():
        scaled = method in SCALED
        slope = 0.0
        n, quarter = (counts[method][-1], counts[method][0]) if scaled else (0, 0)
        if scaled:
            full, part = by[(method, "finetune", n)], by[(method, "finetune", quarter)]
            t_full, t_part = full["wall_s"], part["wall_s"]
            if method == "kl":  # the KL test is the reference pass plus the candidate pass
                t_full += setup["kl-base"]["wall_s"]
                t_part += setup["kl-base-quarter"]["wall_s"]
            slope = max(0.0, (t_full - t_part) / (n - quarter))
        runs = []
        for c in CLASSES:
            r = by[(method, c, n)] if scaled else once[(method, c)]
            verdict, detail = answer(r)
            wall, written = r["wall_s"], r["bytes"] + spill_bytes(r)
            if method == "kl":
                wall += setup["kl-base"]["wall_s"]
                written += setup["kl-base"]["bytes"]
            est = wall + slope * (target - n) if scaled else wall
            runs.append({"class": c, "verdict": verdict, "detail": detail, "measured_wall_s": wall,
                         "wall_s": round(est, 3), "peak_rss_kib": r["peak_rss_kib"],
                         "bytes_written": round(written * target / n) if scaled else written,
                         "measured_bytes_written": written, "challenges": challenges(r), "rc": r["rc"]})
        decided = [x for x in runs if x["verdict"] != "refused"] or runs
        row = {"method": method, "what": what, "bound": bound, "extrapolated": scaled,
               "prompts": target if scaled else None, "measured_prompts": n if scaled else None, "tokens": tokens,
               "wall_s": statistics.median(x["wall_s"] for x in decided),
               "wall_s_min": min(x["wall_s"] for x in decided), "wall_s_max": max(x["wall_s"] for x in decided),
               "peak_rss_kib": max(x["peak_rss_kib"] for x in runs),
               "bytes_written": statistics.median(x["bytes_written"] for x in decided),
               "challenges": round(statistics.median([x["challenges"] for x in runs if x["challenges"] is not None] or [0]))
               if method in ("verify", "verify-reference", "endpoint") else target if method == "activations"
               else runs_prompts(records, method) if method == "gradients" else None,
               "seconds_per_prompt": slope if scaled else None,
               "verdicts": {x["class"]: x["verdict"] for x in runs}, "runs": runs}
        if method == "verify-reference":
            row["one_time"] = {"reference_build_s": setup["reference-build"]["wall_s"],
                               "reference_file_bytes": setup["reference-build"]["bytes"]}
        if method == "hash":
            row["one_time"] = {"reference_manifest_s": setup["hash-commit"]["wall_s"]}
        rows.append(row)

    fixed = next(r for r in rows if r["method"] == "fixed-n")
    verify = next(r for r in rows if r["method"] == "verify")
    speedup = fixed["wall_s_min"] / verify["wall_s_max"]
    result = {"schema": "pot.methods/1",
              "machine": {"system": platform.platform(), "cpus": os.cpu_count(),
                          "cpu": next((l.split(":", 1)[1].strip() for l in open("/proc/cpuinfo")
                                       if l.startswith("model name")), "")},
              "model": os.path.join(os.environ.get("POT_TESTBED_DIR", os.path.expanduser("~/.cache/pot/testbed-seed1")),
                                    "base.gguf"),
              "reference": "base", "classes": CLASSES, "tokens": tokens, "target_prompts": target, "kl_threshold": KL_THRESHOLD,
              "verify_speedup_vs_fixed_n": speedup, "rows": rows}
    with open(out_path, "w") as f:
        json.dump(result, f, indent=1)

    short = {"base-copy": "copy", "base-q8_0": "q8_0", "base-q4_0": "q4_0", "finetune": "finetune",
             "sibling": "sibling", "distilled": "distilled", "other-tokenizer": "other-tok"}
    mark = {"detected": "DIFF", "not detected": "same", "refused": "refused", "undecided": "undec"}
    print("Reference base; one thread. Rows marked * grow with the prompt count: measured at " +
          ", ".join(f"{r['method']} {r['measured_prompts']}" for r in rows if r["extrapolated"]) +
          f" prompts x {tokens} tokens (and finetune at a quarter of that), extrapolated to {target}.\n")
    print("| method | wall s | peak RSS MiB | bytes written | " + " | ".join(short[c] for c in CLASSES) + " | bound |")
    print("|---|---|---|---|" + "---|" * len(CLASSES) + "---|")
    for r in rows:
        star = "*" if r["extrapolated"] else ""
        wall = f"{r['wall_s']:.1f}{star}" if r["wall_s"] >= 10 else f"{r['wall_s']:.2f}{star}"
        extra = f" (n {r['challenges']:g})" if r["challenges"] else ""
        print(f"| {r['method']} | {wall}{extra} | {r['peak_rss_kib'] / 1024:.0f} | {r['bytes_written']:,.0f} | " +
              " | ".join(mark[r["verdicts"][c]] for c in CLASSES) + f" | {r['bound'].split(':')[0]} |")
    print(f"\nDIFF: the method says the candidate is not the reference; same: it does not; wall s: median over the "
          f"classes (extrapolated rows: {target} prompts); n: median challenges to the decision.")
    print(f"pot verify's slowest decision {verify['wall_s_max']:.2f} s; fixed-N's fastest run {fixed['wall_s_min']:.0f} s "
          f"({target} x {tokens}): {speedup:.0f}x (goal >= 100x). JSON: {out_path}")
    return 0 if speedup >= 100 else 1


if __name__ == "__main__":
    sys.exit(main())
