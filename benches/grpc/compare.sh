#!/usr/bin/env bash
# Side-by-side gRPC measurements from a saved snapshot (no cold build): one or more churn
# server binaries and the bare tonic echo server, measured in one run with the same client,
# alternating round by round. Results: BENCHMARKS.md, section "gRPC service vs a bare tonic
# echo server (issue 5)".
#
#   benches/grpc/compare.sh WAREHOUSE MODELS SNAPSHOT [label=churn-binary ...]
#
# SNAPSHOT is copied first (a server whose key differs would rebuild and overwrite it).
# Default binary: after=target/release/churn. Env: ROUNDS (3), SECONDS_PER_RUN (8),
# STREAMS (2, full streams per server and decode mode), BATCH (5000), OUT (/tmp/grpccompare).
# Steps per server: warm start (seconds to SERVING, VmHWM); ScoreCustomers of every customer
# with the client decoding every message (`full`) and reading only ids and probabilities
# (`ids`), with the server's and the client's CPU seconds; ScoreCustomer closed loop at 64
# calls in flight over 4 connections (echo / server alternating); the same in open loop at 50%
# and 80% of the echo server's closed-loop throughput; and one call in flight.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/../.."
ROOT="$PWD"
W="$1"; MODELS="$2"; SNAP_SRC="$3"; shift 3
BINS=("$@"); [ ${#BINS[@]} -eq 0 ] && BINS=("after=$ROOT/target/release/churn")
OUT="${OUT:-/tmp/grpccompare}"; mkdir -p "$OUT"
ROUNDS="${ROUNDS:-3}"; SECS="${SECONDS_PER_RUN:-8}"; STREAMS="${STREAMS:-2}"; BATCH="${BATCH:-5000}"
ADDR=127.0.0.1:50071; ECHO=127.0.0.1:50072

cargo build --release --example grpc_load --example echo_server
LOAD="$ROOT/target/release/examples/grpc_load"
ECHO_BIN="$ROOT/target/release/examples/echo_server"
PIDS=()
cleanup() { for p in "${PIDS[@]:-}"; do kill "$p" 2>/dev/null || true; done; }
trap cleanup EXIT

cpu_s() { awk '{printf "%.2f", ($14 + $15) / 100}' "/proc/$1/stat"; } # utime+stime, 100 Hz
hwm_mb() { awk '/VmHWM/ {printf "%.0f", $2/1024}' "/proc/$1/status"; }

start() {  # $1 label, $2 binary; sets PID
  cp "$SNAP_SRC" "$OUT/snap-$1.bin"
  "$2" serve --data "$W" --models "$MODELS" --snapshot "$OUT/snap-$1.bin" --addr "$ADDR" \
    --reload-interval 0 >"$OUT/serve-$1.log" 2>&1 &
  PID=$!; PIDS+=("$PID")
  local t; t=$("$LOAD" wait --addr "$ADDR" --timeout 600 | jq .seconds)
  echo "{\"server\":\"$1\",\"step\":\"start\",\"seconds\":$t,\"vmhwm_mb\":$(hwm_mb "$PID"),\"load\":\"$(cut -d' ' -f1-3 /proc/loadavg)\"}" | tee -a "$OUT/results.jsonl"
}
stop() { kill -TERM "$PID"; wait "$PID" 2>/dev/null || true; rm -f "$OUT"/snap-*.bin; }

unary() {  # $1 label, $2 addr, extra args…
  local label=$1 a=$2; shift 2
  local r; r=$("$LOAD" unary --addr "$a" --ids "$OUT/ids.txt" --seconds "$SECS" "$@")
  echo "{\"server\":\"$label\",\"step\":\"unary\",\"args\":\"$*\",\"load\":\"$(cut -d' ' -f1-3 /proc/loadavg)\",\"result\":$r}" | tee -a "$OUT/results.jsonl"
}

: >"$OUT/results.jsonl"
first=1
for spec in "${BINS[@]}"; do
  label="${spec%%=*}"; bin="${spec#*=}"
  start "$label" "$bin"
  if [ "$first" = 1 ]; then
    "$LOAD" sample --addr "$ADDR" --ids "$OUT/ids.txt" --response "$OUT/response.bin" --n 200000
    "$ECHO_BIN" "$ECHO" "$OUT/response.bin" >"$OUT/echo.log" 2>&1 &
    PIDS+=($!); sleep 1; first=0
  fi
  for i in $(seq "$STREAMS"); do
    for decode in full ids; do
      c0=$(cpu_s "$PID")
      r=$(/usr/bin/time -f '%U %S' -o "$OUT/client.time" "$LOAD" stream --addr "$ADDR" --batch "$BATCH" --decode "$decode")
      client=$(awk '{printf "%.2f", $1 + $2}' "$OUT/client.time")
      server=$(echo "$(cpu_s "$PID") - $c0" | bc)
      echo "{\"server\":\"$label\",\"step\":\"stream\",\"server_cpu_s\":$server,\"client_cpu_s\":$client,\"load\":\"$(cut -d' ' -f1-3 /proc/loadavg)\",\"result\":$r}" | tee -a "$OUT/results.jsonl"
    done
  done
  echo "{\"server\":\"$label\",\"step\":\"after_streams\",\"vmhwm_mb\":$(hwm_mb "$PID")}" | tee -a "$OUT/results.jsonl"
  echo_rps=()
  for round in $(seq "$ROUNDS"); do
    r=$("$LOAD" unary --addr "$ECHO" --ids "$OUT/ids.txt" --seconds "$SECS" --concurrency 64 --connections 4)
    echo "{\"server\":\"echo\",\"step\":\"unary\",\"args\":\"closed 64\",\"load\":\"$(cut -d' ' -f1-3 /proc/loadavg)\",\"result\":$r}" | tee -a "$OUT/results.jsonl"
    echo_rps+=("$(echo "$r" | jq .rps)")
    unary "$label" "$ADDR" --concurrency 64 --connections 4
  done
  max=$(printf '%s\n' "${echo_rps[@]}" | awk '{s += $1} END {printf "%.0f", s / NR}')
  for pct in 50 80; do
    rate=$((max * pct / 100))
    for round in $(seq "$ROUNDS"); do
      unary echo "$ECHO" --concurrency 64 --connections 4 --rate "$rate"
      unary "$label" "$ADDR" --concurrency 64 --connections 4 --rate "$rate"
    done
  done
  unary echo "$ECHO" --concurrency 1 --connections 1
  unary "$label" "$ADDR" --concurrency 1 --connections 1
  stop
done
echo "results: $OUT/results.jsonl"
