#!/usr/bin/env python3
"""Prints the foundation benchmark's results (written by run.sh into RESULTS_DIR) as Markdown."""

import json
import re
import sys
from pathlib import Path

R = Path(sys.argv[1])


def hf(name):
    p = R / f"{name}.hyperfine.json"
    return json.loads(p.read_text())["results"] if p.is_file() else []


def peak_rss_gib(name):
    p = R / f"{name}.time.txt"
    if not p.is_file():
        return None
    m = re.search(r"Maximum resident set size \(kbytes\): (\d+)", p.read_text())
    return int(m.group(1)) / 1048576 if m else None


def elapsed(name):
    p = R / f"{name}.time.txt"
    if not p.is_file():
        return None
    m = re.search(r"Elapsed \(wall clock\) time \(h:mm:ss or m:ss\): (?:(\d+):)?(\d+):([\d.]+)", p.read_text())
    if not m:
        return None
    h, mnt, s = m.groups()
    return int(h or 0) * 3600 + int(mnt) * 60 + float(s)


def fmt(x, unit="s", digits=2):
    return "–" if x is None else f"{x:.{digits}f} {unit}"


print("```")
print((R / "machine.txt").read_text().strip())
print("```")
print()

gen = hf("generate")
if gen:
    g = gen[0]
    print("### churn generate")
    print()
    print("| command | wall mean | min | max | runs | CPU (user + sys) | peak RSS | bar |")
    print("|---|---|---|---|---|---|---|---|")
    ok = "met" if g["mean"] <= 120 else "MISSED"
    print(f"| `{g['command']}` | {fmt(g['mean'])} ± {g['stddev']:.2f} | {fmt(g['min'])} | {fmt(g['max'])} "
          f"| {len(g['times'])} | {fmt(g['user'] + g['system'])} | {fmt(peak_rss_gib('generate'), 'GiB')} "
          f"| ≤ 120 s: {ok} |")
    print()

feat = hf("features")
if feat:
    print("### churn features vs DuckDB (one as-of date)")
    print()
    rss = {"churn features": "churn", "duckdb (features + contract checks)": "duckdb",
           "duckdb (features only)": "duckdb-novalidate"}
    base = next((r for r in feat if r["command"] == "duckdb (features + contract checks)"), None)
    print("| command | wall mean | min | max | runs | churn / this (wall) | CPU (user + sys) | peak RSS |")
    print("|---|---|---|---|---|---|---|---|")
    churn = next((r for r in feat if r["command"] == "churn features"), None)
    for r in feat:
        ratio = f"{churn['mean'] / r['mean']:.2f}" if churn else "–"
        print(f"| {r['command']} | {fmt(r['mean'])} ± {r['stddev']:.2f} | {fmt(r['min'])} | {fmt(r['max'])} "
              f"| {len(r['times'])} | {ratio} | {fmt(r['user'] + r['system'])} "
              f"| {fmt(peak_rss_gib(rss.get(r['command'], '')), 'GiB')} |")
    print()
    if churn and base:
        rss_churn = peak_rss_gib("churn")
        print(f"Bars: ≤ 30 s → {'met' if churn['mean'] <= 30 else 'MISSED'} ({churn['mean']:.1f} s); "
              f"≤ 6 GB peak RSS → {'met' if rss_churn is not None and rss_churn * 1.073741824 <= 6 else 'MISSED'} "
              f"({fmt(rss_churn, 'GiB')}); no slower than DuckDB (with the same contract checks) → "
              f"{'met' if churn['mean'] <= base['mean'] else 'MISSED'} "
              f"(churn / duckdb = {churn['mean'] / base['mean']:.2f}).")
        print()

for name, label in [("churn", "churn features"), ("duckdb", "duckdb")]:
    p = R / f"{name}.run_summary.json"
    if p.is_file():
        s = json.loads(p.read_text())
        parts = {k: v for k, v in s.items() if k.startswith("seconds_")}
        print(f"- {label} phases (the /usr/bin/time run, wall {fmt(elapsed(name))}): "
              + ", ".join(f"{k.removeprefix('seconds_')} {v:.2f} s" for k, v in parts.items()))
print()

thr = hf("duckdb-threads")
if thr:
    print("### DuckDB threads")
    print()
    print("| command | wall mean | min | max | runs | CPU (user + sys) |")
    print("|---|---|---|---|---|---|")
    for r in thr:
        print(f"| {r['command']} | {fmt(r['mean'])} ± {r['stddev']:.2f} | {fmt(r['min'])} | {fmt(r['max'])} "
              f"| {len(r['times'])} | {fmt(r['user'] + r['system'])} |")
    print()

agree = R / "outputs-agree.txt"
if agree.is_file():
    print("Outputs of the timed runs:")
    print()
    for line in agree.read_text().strip().splitlines():
        print(f"- {line}")
