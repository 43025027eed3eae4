#!/usr/bin/env bash
# Foundation benchmarks (see BENCHMARKS.md):
#   1. `churn generate` 1M customers × 24 months: wall time (hyperfine) and peak RSS (/usr/bin/time -v);
#   2. `churn features` for ONE as-of date on that warehouse, side by side in one hyperfine run with
#      the equivalent DuckDB SQL (duckdb_features.py, with and without the contract checks), plus
#      peak RSS of each, plus DuckDB on 1 vs 2 threads.
# Idempotent: the warehouse is generated once into $BENCH_DIR (or an existing identical one is
# reused); results go to $BENCH_DIR/results/. Environment knobs:
#   BENCH_DIR (default /tmp/churn-bench)   CUSTOMERS (default 1000000)   SEED (default 42)
#   BENCH_DATA  the warehouse directory (default $BENCH_DIR/warehouse-$CUSTOMERS; e.g. /tmp/w1m):
#               reused when its generate_summary.json has the same config, else (re)generated
#   SKIP_GENERATE_TIMING=1  reuse the warehouse without timing `churn generate` again
#   SKIP_BUILD=1            use the existing target/release/churn (or the binary in $CHURN)
#   WAIT_FOR_IDLE=<s>, IDLE_LOAD=<x>  wait up to s seconds for the load average to drop below x
set -euo pipefail

REPO="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
HERE="$REPO/benches/foundation"
BENCH_DIR="${BENCH_DIR:-/tmp/churn-bench}"
CUSTOMERS="${CUSTOMERS:-1000000}"
MONTHS=24
SEED="${SEED:-42}"
START=2023-01-01
DUCKDB_VERSION=1.4.2
CHURN="${CHURN:-$REPO/target/release/churn}"
RESULTS="$BENCH_DIR/results"
mkdir -p "$BENCH_DIR" "$RESULTS"

log() { printf '\n== %s\n' "$*"; }

# ---- 1. tools ----------------------------------------------------------------------------------
need_apt=()
command -v hyperfine >/dev/null || need_apt+=(hyperfine)
[ -x /usr/bin/time ] || need_apt+=(time)
if [ ${#need_apt[@]} -gt 0 ]; then
  log "installing ${need_apt[*]}"
  apt-get install -y "${need_apt[@]}" || { apt-get update && apt-get install -y "${need_apt[@]}"; }
fi
if ! python3 -c "import duckdb, sys; sys.exit(duckdb.__version__ != '$DUCKDB_VERSION')" 2>/dev/null \
   || ! python3 -c "import pyarrow" 2>/dev/null; then
  log "installing duckdb==$DUCKDB_VERSION and pyarrow"
  python3 -m pip install --quiet "duckdb==$DUCKDB_VERSION" pyarrow
fi

# ---- 2. build ----------------------------------------------------------------------------------
if [ "${SKIP_BUILD:-0}" != 1 ]; then
  log "cargo build --release"
  (cd "$REPO" && cargo build --release)
fi

# ---- a quiet machine ------------------------------------------------------------------------------
# The machine may be shared: with WAIT_FOR_IDLE=<seconds>, wait up to that long for the 1-minute
# load average to drop below IDLE_LOAD (default 0.5) before timing anything (the load is recorded
# either way).
if [ "${WAIT_FOR_IDLE:-0}" -gt 0 ]; then
  waited=0
  while awk -v max="${IDLE_LOAD:-0.5}" '{exit !($1 >= max)}' /proc/loadavg && [ "$waited" -lt "$WAIT_FOR_IDLE" ]; do
    sleep 15; waited=$((waited + 15))
  done
  echo "waited ${waited}s for an idle machine; load average now $(cut -d' ' -f1-3 /proc/loadavg)"
fi

# ---- machine and code ----------------------------------------------------------------------------
{
  echo "date: $(date -u +%Y-%m-%dT%H:%M:%SZ)"
  echo "nproc: $(nproc)"
  echo "cpu: $(lscpu | sed -n 's/^Model name: *//p' | head -1)"
  echo "ram: $(awk '/MemTotal/ {printf "%.1f GiB", $2/1048576}' /proc/meminfo)"
  echo "kernel: $(uname -r)"
  echo "rustc: $(rustc --version)"
  echo "churn: $("$CHURN" --version) at $(git -C "$REPO" rev-parse --short HEAD)$(git -C "$REPO" diff --quiet HEAD -- src Cargo.toml Cargo.lock || echo ' + uncommitted changes in src/')"
  echo "duckdb: $(python3 -c 'import duckdb; print(duckdb.__version__)')"
  echo "hyperfine: $(hyperfine --version)"
  echo "load average before the runs: $(cut -d' ' -f1-3 /proc/loadavg)"
} | tee "$RESULTS/machine.txt"

# ---- 3. the warehouse ----------------------------------------------------------------------------
config_matches() { # dir
  [ -f "$1/generate_summary.json" ] && python3 - "$1/generate_summary.json" "$CUSTOMERS" "$MONTHS" "$SEED" "$START" <<'PY'
import json, sys
c = json.load(open(sys.argv[1]))["config"]
want = {"customers": int(sys.argv[2]), "months": int(sys.argv[3]), "seed": int(sys.argv[4]),
        "start": sys.argv[5], "format": "parquet"}
sys.exit(0 if all(c.get(k) == v for k, v in want.items()) else 1)
PY
}
DATA="${BENCH_DATA:-$BENCH_DIR/warehouse-$CUSTOMERS}"
GEN_ARGS=(generate --customers "$CUSTOMERS" --months "$MONTHS" --seed "$SEED" --start "$START" --format parquet)
if [ -z "${BENCH_DATA:-}" ] && ! config_matches "$DATA" && config_matches "/tmp/churn-bench-$CUSTOMERS"; then
  log "reusing the identical warehouse /tmp/churn-bench-$CUSTOMERS"
  DATA="/tmp/churn-bench-$CUSTOMERS"
fi
if [ "${SKIP_GENERATE_TIMING:-0}" != 1 ] || ! config_matches "$DATA"; then
  log "churn ${GEN_ARGS[*]}: peak RSS (/usr/bin/time -v)"
  GEN_OUT="$BENCH_DIR/generate-timed"
  rm -rf "$GEN_OUT"
  /usr/bin/time -v -o "$RESULTS/generate.time.txt" "$CHURN" "${GEN_ARGS[@]}" --out "$GEN_OUT" >/dev/null
  grep -E "Elapsed|Maximum resident|Percent of CPU" "$RESULTS/generate.time.txt"
  if ! config_matches "$DATA"; then
    rm -rf "$DATA" && mv "$GEN_OUT" "$DATA"
  else
    rm -rf "$GEN_OUT"
  fi
  log "churn ${GEN_ARGS[*]}: wall time (hyperfine --runs 2)"
  HF_OUT="$BENCH_DIR/generate-hyperfine"
  hyperfine --runs 2 --prepare "rm -rf $HF_OUT" \
    --export-json "$RESULTS/generate.hyperfine.json" --export-markdown "$RESULTS/generate.hyperfine.md" \
    -n "churn generate $CUSTOMERS×$MONTHS" "$CHURN ${GEN_ARGS[*]} --out $HF_OUT"
  rm -rf "$HF_OUT"
fi
AS_OF="$(python3 -c "import json,sys; print(json.load(open(sys.argv[1]))['observed_until'])" "$DATA/generate_summary.json")"
echo "warehouse: $DATA (as of $AS_OF)" | tee -a "$RESULTS/machine.txt"
du -sh --exclude=_truth "$DATA" | tee -a "$RESULTS/machine.txt"

# ---- 4. churn features vs DuckDB -----------------------------------------------------------------
OUT_CHURN="$BENCH_DIR/out-churn"
OUT_DUCK="$BENCH_DIR/out-duckdb"
OUT_DUCK_NV="$BENCH_DIR/out-duckdb-novalidate"
CMD_CHURN="$CHURN features --data $DATA --as-of $AS_OF --out $OUT_CHURN"
CMD_DUCK="python3 $HERE/duckdb_features.py $DATA $AS_OF $OUT_DUCK"
CMD_DUCK_NV="python3 $HERE/duckdb_features.py $DATA $AS_OF $OUT_DUCK_NV --no-validate"
log "side by side: churn features vs DuckDB (hyperfine --warmup 1 --runs 3)"
hyperfine --warmup 1 --runs 3 \
  --export-json "$RESULTS/features.hyperfine.json" --export-markdown "$RESULTS/features.hyperfine.md" \
  -n "churn features" "$CMD_CHURN" \
  -n "duckdb (features + contract checks)" "$CMD_DUCK" \
  -n "duckdb (features only)" "$CMD_DUCK_NV"

log "peak RSS (/usr/bin/time -v), once each"
for name in churn duckdb duckdb-novalidate; do
  case $name in
    churn) cmd=$CMD_CHURN ;; duckdb) cmd=$CMD_DUCK ;; duckdb-novalidate) cmd=$CMD_DUCK_NV ;;
  esac
  # shellcheck disable=SC2086
  /usr/bin/time -v -o "$RESULTS/$name.time.txt" $cmd >"$RESULTS/$name.stdout.txt"
  echo "$name: $(grep -E 'Maximum resident' "$RESULTS/$name.time.txt")"
done
cp "$OUT_CHURN/run_summary.json" "$RESULTS/churn.run_summary.json"
cp "$OUT_DUCK/run_summary.json" "$RESULTS/duckdb.run_summary.json"

log "DuckDB threads: 1 vs 2 (hyperfine --runs 2, features + contract checks)"
hyperfine --warmup 0 --runs 2 --parameter-list threads 1,2 \
  --export-json "$RESULTS/duckdb-threads.hyperfine.json" --export-markdown "$RESULTS/duckdb-threads.hyperfine.md" \
  -n "duckdb threads={threads}" "python3 $HERE/duckdb_features.py $DATA $AS_OF $BENCH_DIR/out-duckdb-threads --threads {threads}"

log "the two churn_prediction_features agree?"
python3 - "$OUT_CHURN" "$OUT_DUCK" <<'PY' | tee "$RESULTS/outputs-agree.txt"
import sys
import pyarrow.parquet as pq
for t in ["churn_prediction_features", "customer_segmentation_analysis", "customer_360_view"]:
    a = pq.read_table(f"{sys.argv[1]}/{t}.parquet")
    b = pq.read_table(f"{sys.argv[2]}/{t}.parquet")
    same = a.column_names == b.column_names and a.num_rows == b.num_rows and all(
        a.column(c).equals(b.column(c).cast(a.schema.field(c).type)) for c in a.column_names)
    print(f"{t}: {a.num_rows} rows × {a.num_columns} columns, "
          f"{'bit-identical' if same else 'NOT identical (run check_equivalence.py)'}")
PY

# ---- 5. summary ----------------------------------------------------------------------------------
echo "load average after the runs: $(cut -d' ' -f1-3 /proc/loadavg)" | tee -a "$RESULTS/machine.txt"
log "summary"
python3 "$HERE/summarize.py" "$RESULTS" | tee "$RESULTS/summary.md"
