#!/usr/bin/env bash
# gRPC service benchmark (issue 5), measured side by side with a bare tonic echo server in one
# run. Results: BENCHMARKS.md, section "gRPC service vs a bare tonic echo server (issue 5)".
#
#   benches/grpc/run.sh [WAREHOUSE] [MODELS]
#
# WAREHOUSE: a warehouse export (default /tmp/w1m, 1M customers; never deleted here).
# MODELS: a registry with a champion; default: a fresh registry trained here on a 20k-customer
# warehouse of the same generator (the model only has to score the 1M customers, not be trained
# on them): two logistic versions (a GBDT champion's TreeSHAP reasons made the 1M snapshot build
# take over 30 minutes on the shared VM; see BENCHMARKS.md).
# Steps: (1) cold start (build + save the snapshot); (2) warm start from the saved snapshot:
# seconds to SERVING and peak RSS; (3) ScoreCustomer at 64 concurrent calls, echo / churn /
# echo / churn, 5 rounds, at 64 and at 1 concurrent call; then open loop (fixed offered rate,
# still 64 calls at most in flight) at 50% and 80% of the echo server's closed-loop
# throughput, for both servers: the latency at the same offered load; (4) ScoreCustomers
# streaming every customer, the client decoding every message (`full`) or only ids and
# probabilities (`ids`); (5) benches/grpc/reload.sh on the 20k warehouse: 64-way load while
# the champion is switched twice (the server rebuilds and swaps): failures must be 0.
# benches/grpc/compare.sh measures steps 2-4 from a saved snapshot, for several server builds.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/../.."
ROOT="$PWD"
W="${1:-/tmp/w1m}"
WORK="${BENCH_DIR:-/tmp/grpcbench}"
mkdir -p "$WORK"
MODELS="${2:-$WORK/models}"
ADDR=127.0.0.1:50061
ECHO=127.0.0.1:50062
METRICS=127.0.0.1:9465
SECONDS_PER_RUN="${SECONDS_PER_RUN:-10}"

cargo build --release --bin churn --example grpc_load --example echo_server
BIN="$ROOT/target/release/churn"
LOAD="$ROOT/target/release/examples/grpc_load"
ECHO_BIN="$ROOT/target/release/examples/echo_server"

if [ ! -d "$MODELS" ]; then
  "$BIN" generate --out "$WORK/w20k" --customers 20000 --seed 7
  "$BIN" train --data "$WORK/w20k" --models "$MODELS" --algorithms logistic
  echo '{"seed": 11}' >"$WORK/seed11.json"
  "$BIN" train --data "$WORK/w20k" --models "$MODELS" --algorithms logistic --params "$WORK/seed11.json"
fi
SNAP="$WORK/snapshot.bin"
PIDS=()
cleanup() { for p in "${PIDS[@]:-}"; do kill "$p" 2>/dev/null || true; done; }
trap cleanup EXIT

peak_rss_mb() { awk '/VmHWM/ {printf "%.0f", $2/1024}' "/proc/$1/status"; }

start_server() {  # $1 = log file; echoes the pid
  "$BIN" serve --data "$W" --models "$MODELS" --snapshot "$SNAP" --addr "$ADDR" \
    --metrics-addr "$METRICS" --reload-interval 2 --log-format json >"$1" 2>&1 &
  echo $!
}

echo "== (1) cold start: build the snapshot of $W and save it"
rm -f "$SNAP"
t0=$(date +%s.%N); PID=$(start_server "$WORK/serve-cold.log"); PIDS+=("$PID")
"$LOAD" wait --addr "$ADDR" --timeout 1800 >/dev/null
COLD=$(echo "$(date +%s.%N) - $t0" | bc); COLD_RSS=$(peak_rss_mb "$PID")
kill -TERM "$PID"; wait "$PID" || true
echo "cold: ${COLD}s to SERVING, peak RSS ${COLD_RSS} MB"

echo "== (2) warm start from the saved snapshot"
t0=$(date +%s.%N); PID=$(start_server "$WORK/serve.log"); PIDS+=("$PID")
"$LOAD" wait --addr "$ADDR" --timeout 600 >/dev/null
WARM=$(echo "$(date +%s.%N) - $t0" | bc)
sleep 1; WARM_RSS=$(peak_rss_mb "$PID")
echo "warm: ${WARM}s to SERVING, peak RSS ${WARM_RSS} MB"

"$LOAD" sample --addr "$ADDR" --ids "$WORK/ids.txt" --response "$WORK/response.bin" --n 200000
"$ECHO_BIN" "$ECHO" "$WORK/response.bin" >"$WORK/echo.log" 2>&1 & PIDS+=($!)
sleep 1

echo "== (3) ScoreCustomer, echo / churn alternating, ${SECONDS_PER_RUN}s each"
: >"$WORK/unary.jsonl"
for c in 64 1; do
  rounds=5; conns=4; [ "$c" = 1 ] && rounds=1 && conns=1
  for round in $(seq "$rounds"); do
    for target in echo churn; do
      a=$ADDR; [ "$target" = echo ] && a=$ECHO
      r=$("$LOAD" unary --addr "$a" --ids "$WORK/ids.txt" --concurrency "$c" --connections "$conns" --seconds "$SECONDS_PER_RUN")
      echo "{\"target\":\"$target\",\"round\":$round,\"result\":$r}" | tee -a "$WORK/unary.jsonl"
    done
  done
done

ECHO_MAX=$(jq -s '[.[] | select(.target == "echo" and .result.concurrency == 64) | .result.rps] | add / length | floor' "$WORK/unary.jsonl")
echo "== (3b) open loop at 50% and 80% of the echo server's ${ECHO_MAX} calls/s"
for pct in 50 80; do
  rate=$((ECHO_MAX * pct / 100))
  for round in 1 2; do
    for target in echo churn; do
      a=$ADDR; [ "$target" = echo ] && a=$ECHO
      r=$("$LOAD" unary --addr "$a" --ids "$WORK/ids.txt" --concurrency 64 --connections 4 --seconds "$SECONDS_PER_RUN" --rate "$rate")
      echo "{\"target\":\"$target\",\"round\":$round,\"result\":$r}" | tee -a "$WORK/unary.jsonl"
    done
  done
done

echo "== (4) ScoreCustomers: stream every customer"
: >"$WORK/stream.json"
for decode in full ids full ids; do
  "$LOAD" stream --addr "$ADDR" --batch 5000 --decode "$decode" | tee -a "$WORK/stream.json"
done

echo "== (5) hot reload under load (20k warehouse, a copy of the registry)"
rm -rf "$WORK/models-reload"; cp -r "$MODELS" "$WORK/models-reload"; rm -f "$WORK/models-reload/snapshot.bin"
benches/grpc/reload.sh "$WORK/w20k" "$WORK/models-reload"

kill -TERM "$PID"; wait "$PID" || true
echo "summary: cold ${COLD}s (${COLD_RSS} MB), warm ${WARM}s (${WARM_RSS} MB); results in $WORK"
