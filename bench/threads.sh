#!/usr/bin/env bash
# Threads under contention (issue 18): pot verify base vs sibling with pot's defaults (OpenMP's passive wait policy,
# engine::PreferPassiveThreadWait, and the CPUs its probe finds free, engine::DefaultThreads), with --threads 1,
# with --threads CPUS, and with --threads CPUS under OMP_WAIT_POLICY=ACTIVE (libgomp's spinning barriers, what
# pot and llama.cpp's tools did before), each the median of RUNS, on an idle machine, beside a single-threaded busy
# loop, and beside another llama.cpp process using CPUS threads with its own (spinning) defaults (llama-bench
# prompt processing, started first and running throughout). Prints a markdown table and exits non-zero when the
# default is not within 1.5x of the best setting under every load (the issue's goal).
# usage: bench/threads.sh [RUNS]   (default 3); needs the forged family (scripts/demo.sh)
set -euo pipefail
source "$(dirname "$0")/common.sh"
runs="${1:-3}"
family="${POT_TESTBED_DIR:-$HOME/.cache/pot/testbed-seed1}"
cpus="$(nproc)"
[[ -f "$family/sibling.gguf" ]] || { echo "bench: the forged family is missing; run scripts/demo.sh first" >&2; exit 2; }
[[ -x "$llama_bin/llama-bench" ]] || { echo "bench: $llama_bin/llama-bench missing; run scripts/deps.sh first" >&2; exit 2; }

busy=""
stop_busy() {
  [[ -n "$busy" ]] || return 0
  kill "$busy" 2>/dev/null || true
  wait "$busy" 2>/dev/null || true
  busy=""
}
trap stop_busy EXIT
start_busy() {  # start_busy none|loop|llama
  case "$1" in
    loop) python3 -c 'while True: pass' & busy=$! ;;
    llama) env -u OMP_WAIT_POLICY "$llama_bin/llama-bench" -m "$family/base.gguf" -t "$cpus" -p 512 -n 0 -r 100000 >/dev/null 2>&1 & busy=$! ;;
  esac
  [[ "$1" == none ]] || sleep 2  # past its start-up: loading, first graph
}

# median RUNS CMD...: the median wall seconds of RUNS runs.
median() {
  local n="$1" r times=()
  shift
  for ((i = 0; i < n; i++)); do
    measure r "$@"
    times+=("${r%% *}")
  done
  printf '%s\n' "${times[@]}" | sort -g | awk '{ a[NR] = $1 } END { print a[int((NR + 1) / 2)] }'
}

# pot verify makes a fresh run directory in the working directory each time: keep them in the bench's own.
mkdir -p "$work/threads"
cd "$work/threads"
verify=("$pot" verify --ref "$family/base.gguf" --cand "$family/sibling.gguf" --mode audit --quiet)
settings=(default "1" "$cpus" "$cpus active")
printf '| load (%s CPUs) | default | --threads 1 | --threads %s | --threads %s, OMP_WAIT_POLICY=ACTIVE | default / best |\n' \
  "$cpus" "$cpus" "$cpus"
printf '|---|---|---|---|---|---|\n'
status=0
for load in none loop llama; do
  start_busy "$load"
  cells=()
  for s in "${settings[@]}"; do
    case "$s" in
      default) cells+=("$(median "$runs" "${verify[@]}")") ;;
      *active) cells+=("$(median "$runs" env OMP_WAIT_POLICY=ACTIVE "${verify[@]}" --threads "${s%% *}")") ;;
      *) cells+=("$(median "$runs" "${verify[@]}" --threads "$s")") ;;
    esac
  done
  stop_busy
  ratio="$(printf '%s\n' "${cells[@]}" | awk 'NR == 1 { d = $1 } { if (min == "" || $1 < min) min = $1 } END { printf "%.2f", d / min }')"
  label="$(case "$load" in none) echo idle ;; loop) echo "beside a single-threaded busy loop" ;;
    llama) echo "beside llama-bench -t $cpus" ;; esac)"
  printf '| %s | %s | %s | %s | %s | %sx |\n' "$label" "${cells[@]}" "$ratio"
  awk -v r="$ratio" 'BEGIN { exit !(r > 1.5) }' && status=1
done
rm -rf "$work/threads"
echo "seconds: median of $runs runs of pot verify --ref base --cand sibling --mode audit (goal: default / best <= 1.5x)"
exit "$status"
