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

echo "== a signing key for the evidence bundles"
$POT keygen -o "$WORK/signer"

# pot verify exits 0 for SAME, 1 for DIFFERENT; both are answers, not failures. Each run commits to a
# fresh challenge key first (the commitment is printed before any scoring) and reveals it in its bundle.
for cand in base-copy base-q4_0 finetune distilled; do
  echo "== pot verify --mode audit: base vs $cand"
  $POT verify --ref "$FAMILY/base.gguf" --cand "$FAMILY/$cand.gguf" --mode audit --sign "$WORK/signer" \
    -o "$WORK/verify-$cand" --quiet || [[ $? -le 1 ]]
done

echo "== pot audit: the finetune bundle, offline, with the models and every score recomputed"
$POT audit "$WORK/verify-finetune/bundle.json" --trust "$WORK/signer.pub" \
  --models "$FAMILY/base.gguf,$FAMILY/finetune.gguf" --rescore
echo "== pot audit of a tampered copy (one byte changed) fails"
python3 -c "import sys; b = bytearray(open(sys.argv[1], 'rb').read()); b[len(b) // 2] ^= 1; open(sys.argv[2], 'wb').write(b)" \
  "$WORK/verify-finetune/bundle.json" "$WORK/tampered.json"
$POT audit "$WORK/tampered.json" --trust "$WORK/signer.pub" | tail -n 4 || true
mkdir -p pot-demo
$POT report "$WORK/verify-finetune/bundle.json" --trust "$WORK/signer.pub" -o pot-demo/report.html
echo "== a reference file: base alone, once; then verify loads only the candidate"
$POT challenge commit --family templates -n 128 -o "$WORK/ref.key"
$POT reference build "$FAMILY/base.gguf" --key "$WORK/ref.key" --sign "$WORK/signer" -n 128 -o "$WORK/base.potref" --quiet
$POT reference info "$WORK/base.potref" --trust "$WORK/signer.pub" --model "$FAMILY/base.gguf" --sample 16 --quiet
for cand in base-q4_0 sibling; do
  echo "== pot verify --reference: base.potref vs $cand"
  $POT verify --reference "$WORK/base.potref" --key "$WORK/ref.key" --trust "$WORK/signer.pub" \
    --cand "$FAMILY/$cand.gguf" --sign "$WORK/signer" -o "$WORK/ref-$cand" --quiet || [[ $? -le 1 ]]
done
$POT audit "$WORK/ref-sibling/bundle.json" --trust "$WORK/signer.pub" --reference-trust "$WORK/signer.pub" \
  --ref "$FAMILY/base.gguf" --cand "$FAMILY/sibling.gguf" --reference "$WORK/base.potref" --rescore | tail -n 6
echo "== pot verify refuses a model with another vocabulary"
$POT verify --ref "$FAMILY/base.gguf" --cand "$FAMILY/other-tokenizer.gguf" -o "$WORK/verify-tok" || true

echo "== done: open pot-demo/report.html"
