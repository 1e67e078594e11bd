#!/usr/bin/env bash
# README command 1: set up everything, then run pot's main job end to end on models pot makes itself.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/build.sh
POT=./build/src/pot
FAMILY=${POT_TESTBED_DIR:-$HOME/.cache/pot/testbed-seed1}

echo "== pot --version"
$POT --version
echo "== forging the test family into $FAMILY (cached after the first run)"
$POT forge "$FAMILY"
for model in base finetune other-tokenizer; do
  echo "== pot info $model"
  $POT info "$FAMILY/$model.gguf"
done
WORK=$(mktemp -d)
trap 'rm -rf "$WORK"' EXIT

echo "== committing the weights: pot hash base, then checking base-copy and base-q8_0 against it"
$POT hash "$FAMILY/base.gguf" -o "$WORK/base.manifest.json" --quiet
$POT hash --check "$WORK/base.manifest.json" "$FAMILY/base-copy.gguf" --weights-only --quiet
$POT hash --check "$WORK/base.manifest.json" "$FAMILY/base-q8_0.gguf" --quiet | tail -n 3 || true

echo "== committing to 128 challenges with a fresh secret key (publish the commitment before the run)"
$POT challenge commit --family templates -n 128 -o "$WORK/run.key"

# pot verify exits 0 for SAME, 1 for DIFFERENT; both are answers, not failures.
for cand in base-copy base-q4_0 finetune distilled; do
  echo "== pot verify --mode audit: base vs $cand"
  $POT verify --ref "$FAMILY/base.gguf" --cand "$FAMILY/$cand.gguf" --mode audit --key "$WORK/run.key" \
    -o "$WORK/verify-$cand" --quiet || [[ $? -le 1 ]]
done
echo "== pot verify refuses a model with another vocabulary"
$POT verify --ref "$FAMILY/base.gguf" --cand "$FAMILY/other-tokenizer.gguf" -o "$WORK/verify-tok" || true

echo "== after the run: reveal the key so anyone can regenerate the challenges"
$POT challenge reveal "$WORK/run.key" | head -n 4
