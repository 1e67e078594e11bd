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

echo "== committing to 8 challenges with a fresh secret key, then listing and checking them"
KEYDIR=$(mktemp -d)
$POT challenge commit --family templates -n 8 -o "$KEYDIR/run.key" | tee "$KEYDIR/commitment"
$POT challenge list --key "$KEYDIR/run.key"
KEY_HEX=$($POT challenge reveal "$KEYDIR/run.key" | sed -n 's/.*"key_hex": "\([0-9a-f]*\)".*/\1/p')
$POT challenge verify --commitment "$(cut -d' ' -f2 "$KEYDIR/commitment")" --key-hex "$KEY_HEX" --family templates -n 8
rm -rf "$KEYDIR"
