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
              fortunes-min fortunes nlohmann-json3-dev npm python3 python3-cryptography time clang libclang-rt-14-dev libomp-dev
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

# The llama.cpp build options. GGML_RPC adds the RPC backend to the library pot links and builds its server,
# ggml-rpc-server, from the same source and flags: an RPC client and its servers must come from one build
# (the protocol checks only its major version). The stamp holds the options, so a change rebuilds.
LLAMA_OPTIONS=(-DBUILD_SHARED_LIBS=OFF -DGGML_NATIVE=OFF -DGGML_RPC=ON -DLLAMA_CURL=OFF -DLLAMA_OPENSSL=OFF
               -DLLAMA_BUILD_UI=OFF -DLLAMA_USE_PREBUILT_UI=OFF -DLLAMA_BUILD_APP=OFF
               -DLLAMA_BUILD_TESTS=OFF -DLLAMA_BUILD_EXAMPLES=OFF -DLLAMA_BUILD_SERVER=ON -DLLAMA_BUILD_TOOLS=ON)

# POT_BACKEND picks llama.cpp's accelerator backend (default cpu); each has its own build tree, build or
# build-BACKEND, which pot's CMake links (cmake/llama.cmake). CUDA builds for one architecture,
# POT_CUDA_ARCH (default 90, an H100/H200). Metal is macOS only; Vulkan needs the Vulkan headers and a
# GLSL compiler (docs/verify.md, "Backends", says what Debian 12's do).
POT_BACKEND=${POT_BACKEND:-cpu}
case "$POT_BACKEND" in
  cpu) BACKEND_OPTIONS=(); LLAMA_BUILD=$LLAMA_DIR/build ;;
  cuda) BACKEND_OPTIONS=(-DGGML_CUDA=ON "-DCMAKE_CUDA_ARCHITECTURES=${POT_CUDA_ARCH:-90}"); LLAMA_BUILD=$LLAMA_DIR/build-cuda ;;
  vulkan) BACKEND_OPTIONS=(-DGGML_VULKAN=ON); LLAMA_BUILD=$LLAMA_DIR/build-vulkan ;;
  metal) BACKEND_OPTIONS=(-DGGML_METAL=ON -DGGML_METAL_EMBED_LIBRARY=ON); LLAMA_BUILD=$LLAMA_DIR/build-metal ;;
  *) log "POT_BACKEND is cpu, cuda, vulkan or metal, not '$POT_BACKEND'"; exit 2 ;;
esac

# The llama.cpp tools pot compares itself against. The library pot links is built by the same build tree,
# so both use identical flags.
build_llama_tools() {
  local stamp="$LLAMA_BUILD/.pot-built"
  local want="$LLAMA_COMMIT ${LLAMA_OPTIONS[*]}${BACKEND_OPTIONS[*]:+ ${BACKEND_OPTIONS[*]}}"
  if [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$want" ]; then log "llama.cpp tools cached in $LLAMA_BUILD"; return; fi
  log "building llama.cpp ($POT_BACKEND) tools (one time, several minutes)"
  cmake -S "$LLAMA_DIR/src" -B "$LLAMA_BUILD" -G Ninja -DCMAKE_BUILD_TYPE=Release "${LLAMA_OPTIONS[@]}" \
    "${BACKEND_OPTIONS[@]}" >/dev/null
  cmake --build "$LLAMA_BUILD" -j "$JOBS" \
    --target llama-server llama-perplexity llama-quantize llama-bench ggml-rpc-server
  printf '%s' "$want" > "$stamp"
}

# The npm packages the interop tests run (tests/interop: @sigstore/verify), pinned with their sha512
# integrity by the committed package-lock.json. npm ci installs them once per lockfile into
# $POT_CACHE/npm-interop/HASH (the first 16 hex digits of the lockfile's SHA-256, which tests/CMakeLists.txt
# computes the same way); later setups and CI runs, offline ones too, reuse that directory.
install_npm_interop() {
  local root; root=$(cd "$(dirname "$0")/.." && pwd)
  local lock=$root/tests/interop/package-lock.json
  local dir; dir=$POT_CACHE/npm-interop/$(sha256sum "$lock" | cut -c1-16)
  if [ -f "$dir/.pot-installed" ]; then log "interop npm packages cached in $dir"; return; fi
  log "installing the interop npm packages into $dir (npm ci, pinned by tests/interop/package-lock.json)"
  rm -rf "$dir"
  mkdir -p "$dir"
  cp "$root/tests/interop/package.json" "$lock" "$dir/"
  (cd "$dir" && npm ci --ignore-scripts --no-audit --no-fund --silent)
  touch "$dir/.pot-installed"
}

install_packages
install_npm_interop
fetch_llama_source
build_llama_tools
log "ready: llama.cpp $LLAMA_COMMIT in $LLAMA_DIR"
