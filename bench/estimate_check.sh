#!/usr/bin/env bash
# bench/estimate_check.sh METHODS.json [PROFILE]: how far pot estimate is from measured runs.
#
# METHODS.json is bench/methods.sh's output (schema pot.methods/1): the measured wall time of each method
# on one model ("model"), with its workload per row (prompts, tokens, challenges). For every row this runs
# `pot estimate MODEL --profile PROFILE --method M --prompts N --tokens T --challenges K --json` (an
# endpoint row's challenges go to --endpoint-challenges; a row's optional prompt_tokens and
# endpoint_tokens are passed on too) and prints measured seconds, estimated seconds and their ratio.
# PROFILE is this-machine by default (bench/calibrate.sh writes it). Exit 1 if any ratio is outside
# [0.5, 2] (wall time), 2 on bad input.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/common.sh"
methods="${1:?usage: bench/estimate_check.sh METHODS.json [PROFILE]}"
profile="${2:-this-machine}"
[[ -f "$methods" ]] || { echo "bench: $methods does not exist" >&2; exit 2; }

python3 - "$pot" "$methods" "$profile" <<'EOF'
import json, subprocess, sys
pot, path, profile = sys.argv[1:]

def fail(msg):
    print(msg, file=sys.stderr)
    sys.exit(2)

try:
    doc = json.load(open(path))
    if doc.get("schema") != "pot.methods/1":
        fail(f"bench: {path}: schema is not pot.methods/1")
    model = doc["model"]
    for row in doc["rows"]:
        if not isinstance(row.get("method"), str) or not isinstance(row.get("wall_s"), (int, float)) or row["wall_s"] <= 0:
            fail(f"bench: {path}: a row without a method name and a positive wall_s: {row}")
except (OSError, ValueError, KeyError, TypeError, AttributeError) as e:
    fail(f"bench: {path}: not a pot.methods/1 file ({e})")
print(f"estimate_check: {path}, model {model}, profile {profile}")
# A row's cpu_s (user + system time), where the methods file has it, is shown beside the wall time: on a
# shared machine the wall time also holds the time other processes had the cores.
cpu = any("cpu_s" in r for r in doc["rows"])
print(f"{'method':<18} {'N':>6} {'T':>5} {'K':>5} {'measured s':>11} {'estimate s':>11} {'ratio':>7}" +
      (f" {'cpu s':>9} {'cpu ratio':>9}" if cpu else ""))
bad = 0
for row in doc["rows"]:
    method = row["method"]
    args = [pot, "estimate", model, "--profile", profile, "--method", method, "--json"]
    for key, flag in (("prompts", "--prompts"), ("tokens", "--tokens"), ("prompt_tokens", "--prompt-tokens"),
                      ("endpoint_tokens", "--endpoint-tokens")):
        if row.get(key):
            args += [flag, str(row[key])]
    if row.get("challenges"):
        args += ["--endpoint-challenges" if method == "endpoint" else "--challenges", str(row["challenges"])]
    r = subprocess.run(args, capture_output=True, text=True)
    if r.returncode != 0:
        fail(f"bench: pot estimate failed for {method}: {r.stderr.strip()}")
    est = json.loads(r.stdout)["methods"][0]["wall_s"]
    ratio = row["wall_s"] / est
    ok = 0.5 <= ratio <= 2
    bad += not ok
    flag = "" if ok else "  OUTSIDE [0.5, 2]"
    extra = " (extrapolated)" if row.get("extrapolated") else ""
    print(f"{method:<18} {row.get('prompts') or '-':>6} {row.get('tokens') or '-':>5} {row.get('challenges') or '-':>5} "
          f"{row['wall_s']:>11.3f} {est:>11.3f} {ratio:>7.2f}" +
          (f" {row['cpu_s']:>9.3f} {row['cpu_s'] / est:>9.2f}" if cpu and "cpu_s" in row else "") + flag + extra)
print(f"estimate_check: {len(doc['rows']) - bad} of {len(doc['rows'])} ratios within [0.5, 2]")
sys.exit(1 if bad else 0)
EOF
