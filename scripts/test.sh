#!/usr/bin/env bash
# README command 2: set up everything, build, and run the whole test suite through CTest.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/build.sh
ctest --test-dir build --output-on-failure -j "${JOBS:-$(nproc)}" "$@"
