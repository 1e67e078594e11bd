#!/usr/bin/env bash
# Installs everything pot needs on a Debian 12 machine and builds llama.cpp into a cache outside the tree.
#
# llama.cpp is not packaged in Debian 12. The npm package node-llama-cpp ships llama.cpp's source as a git
# bundle; we fetch it pinned by version, verify the registry's sha512 integrity before using a byte of it,
# and build it once into $POT_CACHE/llama-$VERSION (reused by every later setup and CI run).
set -euo pipefail

NODE_LLAMA_CPP_VERSION=3.22.1
NODE_LLAMA_CPP_INTEGRITY='sha512-bltIipuWmc123H7tMIgDGKSsSrhmhlQYeVUC48XTjVW7XGJJiJJyCdlTMzQ/LiWoPkGDpcL4FviDpgw7qfTiDw=='
LLAMA_COMMIT=de3ff815ea7d559ee917f063901b8986f038abc6

POT_CACHE=${POT_CACHE:-$HOME/.cache/pot}
LLAMA_DIR=$POT_CACHE/llama-$NODE_LLAMA_CPP_VERSION
JOBS=${JOBS:-$(nproc)}

log() { printf '[deps] %s\n' "$*" >&2; }

install_packages() {
  local pkgs=(build-essential cmake ninja-build git pkg-config libssl-dev libcurl4-openssl-dev libgtest-dev googletest
              fortunes-min fortunes nlohmann-json3-dev npm python3 time clang libclang-rt-14-dev libomp-dev
              chromium fonts-dejavu-core)
  local missing=()
  for p in "${pkgs[@]}"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
  done
  command -v npm >/dev/null && missing=("${missing[@]/npm}")
  local want=()
  for p in "${missing[@]}"; do [ -n "$p" ] && want+=("$p"); done
  if [ ${#want[@]} -eq 0 ]; then log "Debian packages present"; return; fi
  log "installing: ${want[*]}"
  local sudo=""
  [ "$(id -u)" -eq 0 ] || sudo=sudo
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${want[@]}" >/dev/null
}

fetch_llama_source() {
  if [ -f "$LLAMA_DIR/src/.pot-verified" ]; then return; fi
  local work; work=$(mktemp -d)
  log "fetching node-llama-cpp@$NODE_LLAMA_CPP_VERSION from the npm registry"
  (cd "$work" && npm pack --silent "node-llama-cpp@$NODE_LLAMA_CPP_VERSION" >/dev/null)
  local tgz="$work/node-llama-cpp-$NODE_LLAMA_CPP_VERSION.tgz"
  local got="sha512-$(openssl dgst -sha512 -binary "$tgz" | base64 -w0)"
  if [ "$got" != "$NODE_LLAMA_CPP_INTEGRITY" ]; then
    log "integrity mismatch for node-llama-cpp@$NODE_LLAMA_CPP_VERSION: got $got"
    exit 1
  fi
  log "integrity verified ($NODE_LLAMA_CPP_INTEGRITY)"
  tar -xzf "$tgz" -C "$work" package/llama/gitRelease.bundle
  rm -rf "$LLAMA_DIR/src"
  mkdir -p "$LLAMA_DIR"
  git clone -q "$work/package/llama/gitRelease.bundle" "$LLAMA_DIR/src"
  local head; head=$(git -C "$LLAMA_DIR/src" rev-parse HEAD)
  if [ "$head" != "$LLAMA_COMMIT" ]; then
    log "unexpected llama.cpp commit $head (want $LLAMA_COMMIT)"
    exit 1
  fi
  touch "$LLAMA_DIR/src/.pot-verified"
  rm -rf "$work"
}

# The llama.cpp tools pot compares itself against. The library pot links is built by pot's own CMake
# (add_subdirectory of the same source) so both use identical flags.
build_llama_tools() {
  local stamp="$LLAMA_DIR/build/.pot-built"
  if [ -f "$stamp" ]; then log "llama.cpp tools cached in $LLAMA_DIR/build"; return; fi
  log "building llama.cpp tools (one time, several minutes)"
  cmake -S "$LLAMA_DIR/src" -B "$LLAMA_DIR/build" -G Ninja -DCMAKE_BUILD_TYPE=Release \
    -DBUILD_SHARED_LIBS=OFF -DGGML_NATIVE=OFF -DLLAMA_CURL=OFF -DLLAMA_OPENSSL=OFF \
    -DLLAMA_BUILD_UI=OFF -DLLAMA_USE_PREBUILT_UI=OFF -DLLAMA_BUILD_APP=OFF \
    -DLLAMA_BUILD_TESTS=OFF -DLLAMA_BUILD_EXAMPLES=OFF -DLLAMA_BUILD_SERVER=ON -DLLAMA_BUILD_TOOLS=ON >/dev/null
  cmake --build "$LLAMA_DIR/build" -j "$JOBS" \
    --target llama-server llama-perplexity llama-quantize llama-bench
  touch "$stamp"
}

install_packages
fetch_llama_source
build_llama_tools
log "ready: llama.cpp $LLAMA_COMMIT in $LLAMA_DIR"
