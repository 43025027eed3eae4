#!/usr/bin/env bash
# Scoring-stage benchmark (issue 4 bar: 1M customers, risk + reasons + CLV + top-3 suggestions
# ≤ 10 s on 2 cores).
#
# The stage timed: from the features table (churn_prediction_features + customer_360_view at
# the newest as-of date, built by `churn::features::build`) and the loaded champion to the
# scored snapshot: encode → calibrated probability → top-3 reasons → CLV → top-3 suggestions
# (recommender fit + suggest) → assemble (sort, rankings). Loading the warehouse and building
# features are reported beside it but measured under issue 2.
#
# A champion per algorithm is trained on a small warehouse from the same generator (the model
# does not need 1M rows to be realistic), then each scores the 1M warehouse once with a release
# build. Peak RSS from /usr/bin/time -v. Finally the saved snapshot is loaded back (what
# `churn serve` does at startup when a batch run left a current snapshot).
#
# Usage: benches/scoring/run.sh [W1M_DIR] [WORK_DIR]   (env ALGOS="logistic gbdt ...", BIN=...)
set -euo pipefail
cd "$(dirname "$0")/../.."
W1M=${1:-/tmp/w1m}
WORK=${2:-/tmp/scoring-bench}
# GBDT and forest champions add TreeSHAP reasons, far slower at 1M (see BENCHMARKS.md).
ALGOS=${ALGOS:-"logistic"}
# BIN: a prebuilt release binary (default: build target/release/churn).
export CI=true
if [ -z "${BIN:-}" ]; then
  cargo build --release --bin churn
  BIN=target/release/churn
fi
mkdir -p "$WORK"
if [ ! -f "$W1M/dim_customer.parquet" ]; then
  "$BIN" generate --out "$W1M" --customers 1000000 --months 24 --seed 42
fi
if [ ! -f "$WORK/w20k/dim_customer.parquet" ]; then
  "$BIN" generate --out "$WORK/w20k" --customers 20000 --months 24 --seed 42
fi

echo "machine: $(nproc) cores, $(free -g | awk '/Mem:/{print $2}') GiB; $(date -u +%FT%TZ)"
for algo in $ALGOS; do
  reg="$WORK/models-$algo"
  if [ ! -f "$reg/aliases/champion.json" ]; then
    rm -rf "$reg"
    "$BIN" train --data "$WORK/w20k" --models "$reg" --algorithms "$algo" --out "$WORK/report-$algo" >/dev/null
  fi
  snap="$WORK/snapshot-$algo.bin"
  rm -f "$snap"
  echo "== $algo: build (load + features + scoring stage) =="
  /usr/bin/time -v "$BIN" prioritize --data "$W1M" --models "$reg" --snapshot "$snap" \
      --top 3 --timings --format csv 2> "$WORK/build-$algo.err" > "$WORK/build-$algo.csv"
  grep '^{' "$WORK/build-$algo.err"
  grep -E "Maximum resident|Elapsed \(wall" "$WORK/build-$algo.err"
  echo "== $algo: load the saved snapshot =="
  ls -l "$snap" | awk '{print "snapshot bytes:", $5}'
  /usr/bin/time -v "$BIN" prioritize --snapshot "$snap" --top 3 --timings --format csv \
      2> "$WORK/load-$algo.err" > /dev/null
  grep '^{' "$WORK/load-$algo.err" | sed 's/"build_timings".*"model"/… "model"/'
  grep -E "Maximum resident|Elapsed \(wall" "$WORK/load-$algo.err"
done
