#!/usr/bin/env bash
# Hash throughput: pot hash against openssl dgst -sha256 and sha256sum on the same multi-GB GGUF, same run,
# page cache warm, best of 3 each. Goals (issue 3): pot with one thread >= 0.9x openssl (which uses one core);
# pot >= 3.5x sha256sum.
# usage: bench/hash.sh [MIB]   (default 2048)
set -euo pipefail
source "$(dirname "$0")/common.sh"
mib="${1:-2048}"
model="$(synthetic "synth-$mib" "$mib")"
bytes="$(stat -c %s "$model")"
cat "$model" >/dev/null  # warm the page cache so every tool reads from memory
cores="$(nproc)"

best_of 3 t_openssl openssl dgst -sha256 "$model"
best_of 3 t_sha256sum sha256sum "$model"
best_of 3 t_pot1 "$pot" hash --quiet --threads 1 "$model"
best_of 3 t_pot "$pot" hash --quiet "$model"

rate() { awk -v b="$bytes" -v t="$1" 'BEGIN { printf "%.0f", b / t / 1e6 }'; }
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.2f", b / a }'; }
printf 'file: %s (%s bytes), %s cores (nproc)\n' "$model" "$bytes" "$cores"
printf '%-28s %8s %8s %s\n' tool seconds MB/s "speed vs openssl"
printf '%-28s %8s %8s %s\n' "openssl dgst -sha256" "$t_openssl" "$(rate "$t_openssl")" 1.00
printf '%-28s %8s %8s %s\n' "sha256sum" "$t_sha256sum" "$(rate "$t_sha256sum")" "$(ratio "$t_sha256sum" "$t_openssl")"
printf '%-28s %8s %8s %s\n' "pot hash --threads 1" "$t_pot1" "$(rate "$t_pot1")" "$(ratio "$t_pot1" "$t_openssl")"
printf '%-28s %8s %8s %s\n' "pot hash (all cores)" "$t_pot" "$(rate "$t_pot")" "$(ratio "$t_pot" "$t_openssl")"
per_core="$(ratio "$t_pot1" "$t_openssl")"
vs_sum="$(ratio "$t_pot" "$t_sha256sum")"
printf 'pot per core vs openssl: %sx (goal >= 0.9)   pot vs sha256sum: %sx (goal >= 3.5)\n' "$per_core" "$vs_sum"
awk -v a="$per_core" -v b="$vs_sum" 'BEGIN { exit !(a >= 0.9 && b >= 3.5) }' || { echo "GOAL MISSED"; exit 1; }
