#!/usr/bin/env python3
"""One markdown row of bench/substitution.sh's table, from the files its runs left.

usage: substitution_row.py PREFIX KEYS SUBSTITUTE RHO SCORE
PREFIX-K.json is pot verify's answer for run K (1..KEYS), PREFIX-K.rc its exit status, PREFIX-K.counts the
proxy's output (its port, then "completions_to_primary N completions_to_substitute M other_to_primary K").
A SAME or UNDECIDED run is split by whether the proxy substituted any of its completions: one that was
never served the substitute escaped by the draw alone (the request-level escape, (1 - rho)^n); one that
was, escaped because its score did not see enough of the substitute's tokens.
"""
import collections
import json
import statistics
import sys

prefix, keys, sub, rho, score = sys.argv[1], int(sys.argv[2]), *sys.argv[3:6]
verdicts, never_substituted, different = collections.Counter(), collections.Counter(), []
substituted = completions = 0
for k in range(1, keys + 1):
    rc = int(open(f"{prefix}-{k}.rc").read())
    counts = dict(zip(*[iter(open(f"{prefix}-{k}.counts").read().split("\n")[1].split())] * 2))
    run_substituted = int(counts["completions_to_substitute"])
    substituted += run_substituted
    completions += int(counts["completions_to_primary"]) + run_substituted
    if rc not in (0, 1, 5):
        verdicts[f"error (status {rc})"] += 1
        continue
    r = json.loads(open(f"{prefix}-{k}.json").read())
    verdicts[r["decision"]] += 1
    if r["decision"] == "DIFFERENT":
        different.append(r)
    elif run_substituted == 0:
        never_substituted[r["decision"]] += 1


def median(xs):
    return f"{statistics.median(xs):g}" if xs else "-"


def name(decision, n):
    if decision in ("SAME", "UNDECIDED") and float(rho) > 0:
        return f"{n} {decision} ({never_substituted[decision]} never substituted)"
    return f"{n} {decision}"


others = ", ".join(name(d, n) for d, n in verdicts.most_common() if d != "DIFFERENT") or "-"
print(f"| {sub} | {rho} | {score} | {len(different)} of {keys} | {others} | {substituted} of {completions} | "
      f"{median([r['n_used'] for r in different])} | {median([r['endpoint']['tokens_scored'] for r in different])} | "
      f"{median([round(r['seconds'], 1) for r in different])} |", flush=True)
