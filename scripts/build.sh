#!/usr/bin/env bash
# Installs dependencies (scripts/deps.sh) and builds pot into ./build, for POT_BACKEND (default cpu).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/deps.sh
cmake -S . -B build -G Ninja -DCMAKE_BUILD_TYPE=Release -DPOT_BACKEND="${POT_BACKEND:-cpu}" >/dev/null
cmake --build build -j "${JOBS:-$(nproc)}"
