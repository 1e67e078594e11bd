#!/usr/bin/env bash
# Audit speed: a signed bundle of N challenges (base against base-copy under parameters that never decide,
# so the run uses all N), audited without --rescore, best of 5 wall times of the whole pot process.
# Goal (issue 6): a 1000-challenge bundle audits in under 100 ms.
# usage: bench/audit.sh [N]   (default 1000); needs the forged family (scripts/demo.sh)
set -euo pipefail
source "$(dirname "$0")/common.sh"
n="${1:-1000}"
family="${POT_TESTBED_DIR:-$HOME/.cache/pot/testbed-seed1}"
[[ -f "$family/base.gguf" ]] || { echo "bench: $family missing; run scripts/demo.sh first" >&2; exit 2; }
dir="$work/audit-$n"
if [[ ! -f "$dir/run/bundle.json" ]]; then
  rm -rf "$dir" && mkdir -p "$dir"
  "$pot" keygen -o "$dir/signer" >/dev/null 2>&1
  "$pot" challenge commit --family templates -n "$n" -o "$dir/run.key" >/dev/null 2>&1
  "$pot" verify --ref "$family/base.gguf" --cand "$family/base-copy.gguf" --key "$dir/run.key" --n-max "$n" \
    --epsilon 0.001 --alpha 1e-12 --beta 1e-12 --sign "$dir/signer" --quiet -o "$dir/run" >/dev/null 2>&1 || true
fi
bundle="$dir/run/bundle.json"
"$pot" audit "$bundle" --trust "$dir/signer.pub" --json > "$dir/audit.json"
best_of 5 seconds "$pot" audit "$bundle" --trust "$dir/signer.pub"
python3 - "$dir/audit.json" "$bundle" "$seconds" <<'PY'
import json, os, sys
report = json.load(open(sys.argv[1]))
print(f"bundle {sys.argv[2]}: {os.path.getsize(sys.argv[2])} bytes, {report['n_used']} challenges, "
      f"decision {report['decision']}, audit {'PASSED' if report['passed'] else 'FAILED'}")
print(f"pot audit (whole process, best of 5): {float(sys.argv[3]) * 1000:.0f} ms (goal < 100 ms)")
sys.exit(0 if report["passed"] and float(sys.argv[3]) < 0.1 else 1)
PY
