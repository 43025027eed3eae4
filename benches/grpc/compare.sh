#!/usr/bin/env bash
# Side-by-side gRPC measurements from a saved snapshot (no cold build): one or more churn
# server binaries and the bare tonic echo server, all running at once on their own ports and
# measured with the same client, round by round in turn (echo, server 1, server 2, …), so a
# change in the shared machine's load hits them alike. Results: BENCHMARKS.md, section "gRPC
# service vs a bare tonic echo server (issue 5)".
#
#   benches/grpc/compare.sh WAREHOUSE MODELS SNAPSHOT [label=churn-binary ...]
#
# SNAPSHOT is copied per server (a server whose key differs would rebuild and overwrite it).
# Default binary: after=target/release/churn. Env: ROUNDS (3), SECONDS_PER_RUN (8),
# STREAMS (2, full streams per server and decode mode), BATCH (5000), PCTS ("50 80", open-loop
# rates as % of the echo server's mean closed-loop throughput), OUT (/tmp/grpccompare),
# LOAD / ECHO_BIN (prebuilt grpc_load / echo_server; default: built here).
# Steps: warm start of each server (seconds to SERVING, VmHWM); ScoreCustomers of every
# customer with the client decoding every message (`full`) and reading only ids and
# probabilities (`ids`), with the server's and the client's CPU seconds; ScoreCustomer closed
# loop at 64 calls in flight over 4 connections; the same in open loop at the same offered
# rates for every server; one call in flight.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/../.."
ROOT="$PWD"
W="$1"; MODELS="$2"; SNAP_SRC="$3"; shift 3
BINS=("$@"); [ ${#BINS[@]} -eq 0 ] && BINS=("after=$ROOT/target/release/churn")
OUT="${OUT:-/tmp/grpccompare}"; mkdir -p "$OUT"
ROUNDS="${ROUNDS:-3}"; SECS="${SECONDS_PER_RUN:-8}"; STREAMS="${STREAMS:-2}"; BATCH="${BATCH:-5000}"
PCTS="${PCTS:-50 80}"
ECHO=127.0.0.1:50070

if [ -z "${LOAD:-}" ]; then
  cargo build --release --example grpc_load --example echo_server
fi
LOAD="${LOAD:-$ROOT/target/release/examples/grpc_load}"
ECHO_BIN="${ECHO_BIN:-$ROOT/target/release/examples/echo_server}"
PIDS=()
cleanup() { for p in "${PIDS[@]:-}"; do kill "$p" 2>/dev/null || true; done; rm -f "$OUT"/snap-*.bin; }
trap cleanup EXIT

cpu_s() { awk '{printf "%.2f", ($14 + $15) / 100}' "/proc/$1/stat"; } # utime+stime, 100 Hz
hwm_mb() { awk '/VmHWM/ {printf "%.0f", $2/1024}' "/proc/$1/status"; }

load() { cut -d' ' -f1-3 /proc/loadavg; }
log() { echo "$1" | tee -a "$OUT/results.jsonl"; }

unary() {  # $1 label, $2 addr, extra args…
  local label=$1 a=$2; shift 2
  local r; r=$("$LOAD" unary --addr "$a" --ids "$OUT/ids.txt" --seconds "$SECS" "$@")
  log "{\"server\":\"$label\",\"step\":\"unary\",\"args\":\"$*\",\"load\":\"$(load)\",\"result\":$r}"
}

: >"$OUT/results.jsonl"
LABELS=(); ADDRS=(); SPIDS=()
i=0
for spec in "${BINS[@]}"; do
  label="${spec%%=*}"; bin="${spec#*=}"; i=$((i + 1)); addr="127.0.0.1:$((50070 + i))"
  cp "$SNAP_SRC" "$OUT/snap-$label.bin"
  "$bin" serve --data "$W" --models "$MODELS" --snapshot "$OUT/snap-$label.bin" --addr "$addr" \
    --reload-interval 0 >"$OUT/serve-$label.log" 2>&1 &
  pid=$!; PIDS+=("$pid")
  t=$("$LOAD" wait --addr "$addr" --timeout 600 | jq .seconds)
  log "{\"server\":\"$label\",\"step\":\"start\",\"seconds\":$t,\"vmhwm_mb\":$(hwm_mb "$pid"),\"load\":\"$(load)\"}"
  LABELS+=("$label"); ADDRS+=("$addr"); SPIDS+=("$pid")
done
"$LOAD" sample --addr "${ADDRS[0]}" --ids "$OUT/ids.txt" --response "$OUT/response.bin" --n 200000
"$ECHO_BIN" "$ECHO" "$OUT/response.bin" >"$OUT/echo.log" 2>&1 &
PIDS+=($!); sleep 1

for round in $(seq "$STREAMS"); do
  for decode in full ids; do
    for k in "${!LABELS[@]}"; do
      pid=${SPIDS[$k]}; c0=$(cpu_s "$pid")
      r=$(/usr/bin/time -f '%U %S' -o "$OUT/client.time" "$LOAD" stream --addr "${ADDRS[$k]}" --batch "$BATCH" --decode "$decode")
      client=$(awk '{printf "%.2f", $1 + $2}' "$OUT/client.time")
      server=$(awk -v a="$(cpu_s "$pid")" -v b="$c0" 'BEGIN {printf "%.2f", a - b}')
      log "{\"server\":\"${LABELS[$k]}\",\"step\":\"stream\",\"server_cpu_s\":$server,\"client_cpu_s\":$client,\"load\":\"$(load)\",\"result\":$r}"
    done
  done
done
for k in "${!LABELS[@]}"; do
  log "{\"server\":\"${LABELS[$k]}\",\"step\":\"after_streams\",\"vmhwm_mb\":$(hwm_mb "${SPIDS[$k]}")}"
done

echo_rps=()
for round in $(seq "$ROUNDS"); do
  r=$("$LOAD" unary --addr "$ECHO" --ids "$OUT/ids.txt" --seconds "$SECS" --concurrency 64 --connections 4)
  log "{\"server\":\"echo\",\"step\":\"unary\",\"args\":\"--concurrency 64 --connections 4\",\"load\":\"$(load)\",\"result\":$r}"
  echo_rps+=("$(echo "$r" | jq .rps)")
  for k in "${!LABELS[@]}"; do unary "${LABELS[$k]}" "${ADDRS[$k]}" --concurrency 64 --connections 4; done
done
max=$(printf '%s\n' "${echo_rps[@]}" | awk '{s += $1} END {printf "%.0f", s / NR}')
for pct in $PCTS; do
  rate=$((max * pct / 100))
  for round in $(seq "$ROUNDS"); do
    unary echo "$ECHO" --concurrency 64 --connections 4 --rate "$rate"
    for k in "${!LABELS[@]}"; do unary "${LABELS[$k]}" "${ADDRS[$k]}" --concurrency 64 --connections 4 --rate "$rate"; done
  done
done
unary echo "$ECHO" --concurrency 1 --connections 1
for k in "${!LABELS[@]}"; do unary "${LABELS[$k]}" "${ADDRS[$k]}" --concurrency 1 --connections 1; done
echo "results: $OUT/results.jsonl"
