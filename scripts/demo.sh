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
for model in "$FAMILY"/*.gguf; do
  echo "== pot info $(basename "$model")"
  $POT info "$model"
done
