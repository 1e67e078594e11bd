# Shared by the bench/*.sh scripts: locate the build, make synthetic models, time commands.
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
build="${POT_BUILD_DIR:-$root/build}"
pot="$build/src/pot"
synth="$build/bench/synth_gguf"
work="${POT_BENCH_DIR:-/tmp/pot-bench}"
[[ -x "$pot" && -x "$synth" ]] || { echo "bench: build first (scripts/build.sh)" >&2; exit 2; }
mkdir -p "$work"

# synthetic NAME MIB [synth_gguf options...]: the path of a synthetic model, made once and reused.
synthetic() {
  local path="$work/$1.gguf" mib="$2"
  shift 2
  if [[ ! -f "$path" ]]; then
    "$synth" "$path.part" "$mib" "$@" >/dev/null
    mv -f "$path.part" "$path"
  fi
  echo "$path"
}

# measure OUTVAR CMD...: runs CMD (stdout discarded) under GNU time; sets OUTVAR to "SECONDS MAXRSS_KB".
# Exit statuses 1 and 5 are answers (a negative one; pot verify's UNDECIDED), not failures; others stop the benchmark.
measure() {
  local __out="$1" t rc=0
  shift
  t="$(mktemp)"
  /usr/bin/time -f "%e %M" -o "$t" "$@" >/dev/null 2>"$t.err" || rc=$?
  ((rc <= 1 || rc == 5)) || { cat "$t.err" >&2; echo "bench: '$*' failed with status $rc" >&2; exit 1; }
  printf -v "$__out" '%s' "$(tail -n 1 "$t")"
  rm -f "$t" "$t.err"
}

# best_of N OUTVAR CMD...: the fastest of N runs (seconds only).
best_of() {
  local n="$1" __out="$2" best="" r
  shift 2
  for ((i = 0; i < n; i++)); do
    measure r "$@"
    r="${r%% *}"
    if [[ -z "$best" ]] || awk -v a="$r" -v b="$best" 'BEGIN { exit !(a < b) }'; then best="$r"; fi
  done
  printf -v "$__out" '%s' "$best"
}

# serve MODEL.gguf: starts a real llama-server on that model on a free loopback port (one thread, one slot) and
# sets url; stop_server ends it (scripts trap it on EXIT).
llama_bin="${POT_LLAMA_DIR:-$HOME/.cache/pot/llama-3.22.1}/build/bin"
spid=""
serve() {
  local port
  [[ -x "$llama_bin/llama-server" ]] || { echo "bench: $llama_bin/llama-server missing; run scripts/deps.sh first" >&2; exit 2; }
  port="$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')"
  "$llama_bin/llama-server" -m "$1" -t 1 -c 2048 -np 1 --host 127.0.0.1 --port "$port" --no-webui \
    >"$work/llama-server.log" 2>&1 &
  spid=$!
  url="http://127.0.0.1:$port"
  for _ in $(seq 1 600); do curl -sf "$url/health" >/dev/null 2>&1 && return 0; sleep 0.1; done
  echo "bench: llama-server did not start for $1" >&2; tail -5 "$work/llama-server.log" >&2; exit 1
}
stop_server() {
  [[ -n "$spid" ]] || return 0
  kill "$spid" 2>/dev/null || true
  wait "$spid" 2>/dev/null || true
  spid=""
}
