#!/usr/bin/env bash
# Partial substitution (issue 15): pot verify --endpoint through bench/route_proxy, which sends a share rho of
# the completions to a llama-server serving a substitute and the rest to one serving base (probes such as
# GET /props always to base). Every server answers as model "base", as a dishonest provider's would. For each
# substitute, rho and score, KEYS runs with fresh keys, the proxy's routing seed being the run's index, so
# the routing of a run is reproducible. Prints a markdown table (rows by bench/substitution_row.py):
# verdicts (SAME is wrong whenever rho > 0, and is split by whether the run was served the substitute at
# all), the share of completions the substitute served, and the medians of challenges, generated tokens and
# seconds over the runs that ended DIFFERENT. Runs are capped at N_MAX challenges: a score that cannot see a
# substitute would otherwise spend the mode's whole budget on every run.
# usage: bench/substitution.sh [KEYS] [SUBSTITUTES...]   (defaults 20; finetune base-q4_0)
# env: RHOS (default "1 0.5 0.25 0.1"); SCORES (default replay greedy logprobs, and text where pot verify
#      has it); N_MAX (default 32)
set -euo pipefail
source "$(dirname "$0")/common.sh"
keys="${1:-20}"
shift $(($# > 0 ? 1 : 0))
substitutes=("$@")
[[ ${#substitutes[@]} -gt 0 ]] || substitutes=(finetune base-q4_0)
read -r -a rhos <<<"${RHOS:-1 0.5 0.25 0.1}"
if [[ -z "${SCORES:-}" ]]; then
  SCORES="replay greedy logprobs"
  "$pot" verify --help 2>&1 | grep -- '--score' | grep -qw text && SCORES+=" text"
fi
read -r -a scores <<<"$SCORES"
n_max="${N_MAX:-32}"
proxy="$build/bench/route_proxy"
family="${POT_TESTBED_DIR:-$HOME/.cache/pot/testbed-seed1}"
server="${POT_LLAMA_DIR:-$HOME/.cache/pot/llama-3.22.1}/build/bin/llama-server"
[[ -x "$proxy" ]] || { echo "bench: $proxy missing (built with the tests)" >&2; exit 2; }
[[ -f "$family/base.gguf" ]] || { echo "bench: $family missing; run scripts/demo.sh first" >&2; exit 2; }
[[ -x "$server" ]] || { echo "bench: $server missing; run scripts/deps.sh first" >&2; exit 2; }

pids=()
trap 'for p in "${pids[@]}"; do kill "$p" 2>/dev/null; done; true' EXIT
declare -A port
start_member() {  # start_member MEMBER: llama-server -t 1 on a free loopback port, recorded in port[MEMBER]
  local p log="$work/subst-$1.log"
  p="$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')"
  "$server" -m "$family/$1.gguf" --alias base -t 1 -c 2048 -np 1 --host 127.0.0.1 --port "$p" --no-webui \
    --no-warmup >"$log" 2>&1 &
  pids+=($!)
  port[$1]="$p"
  for _ in $(seq 1 600); do curl -sf "http://127.0.0.1:$p/health" >/dev/null 2>&1 && return 0; sleep 0.1; done
  echo "bench: llama-server did not start for $1" >&2; tail -5 "$log" >&2; exit 1
}
for m in base "${substitutes[@]}"; do start_member "$m"; done

# run_once SUBSTITUTE RHO SCORE K: one verify through a fresh proxy seeded K; leaves OUT.json (pot's answer),
# OUT.rc and OUT.counts (the proxy's last line) for the summary.
run_once() {
  local out="$cells/$1-$2-$3-$4" ppid
  "$proxy" "${port[base]}" "${port[$1]}" "$2" "$4" >"$out.counts" &
  ppid=$!
  until [[ -s "$out.counts" ]]; do sleep 0.01; done
  rm -rf "$work/subst-run"
  local rc=0
  "$pot" verify --ref "$family/base.gguf" --endpoint "http://127.0.0.1:$(head -n 1 "$out.counts")" --api llama-server \
    --score "$3" --mode audit --n-max "$n_max" --threads 1 --quiet --json -o "$work/subst-run" \
    >"$out.json" 2>>"$work/subst-errors.log" || rc=$?
  echo "$rc" >"$out.rc"
  kill -TERM "$ppid"
  wait "$ppid"
}

cells="$work/subst-cells"
rm -rf "$cells" && mkdir -p "$cells"
start=$SECONDS
printf 'cap: --n-max %s challenges of 32 tokens (mode audit otherwise); %s keys per row\n\n' "$n_max" "$keys"
printf '| substitute | rho | score | DIFFERENT | other verdicts | completions substituted | median challenges | median tokens | median seconds |\n'
printf '|---|---|---|---|---|---|---|---|---|\n'
for sub in "${substitutes[@]}"; do
  for rho in "${rhos[@]}"; do
    for score in "${scores[@]}"; do
      for ((k = 1; k <= keys; k++)); do run_once "$sub" "$rho" "$score" "$k"; done
      python3 "$(dirname "$0")/substitution_row.py" "$cells/$sub-$rho-$score" "$keys" "$sub" "$rho" "$score"
    done
  done
done
printf '\nmedians over the runs that ended DIFFERENT; %d s in all\n' $((SECONDS - start))
