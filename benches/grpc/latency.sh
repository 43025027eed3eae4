#!/usr/bin/env bash
# ScoreCustomer latency at 64 concurrent streams, churn vs the bare tonic echo server, with the
# server and the load client each on a core of its own (issue 5's "p99 ≤ 2 ms" bar). Results:
# BENCHMARKS.md, section "Latency with a core each".
#
#   benches/grpc/latency.sh WAREHOUSE MODELS [SNAPSHOT]
#
# Both servers run at once, pinned to core 0 with one tokio worker (`churn serve
# --worker-threads 1`, `TOKIO_WORKER_THREADS=1` for the echo server); the client (grpc_load,
# one tokio worker) is pinned to core 1. On this 2-core VM that is the nearest thing to a
# client on another machine: with both on both cores, the scheduler's time slices (a few ms)
# set the tail, for the echo server as much as for ours. Rounds alternate echo / churn.
# Env: ROUNDS (3), SECONDS_PER_RUN (8), RATES ("5000 10000 15000": open-loop calls/s, 64 calls
# at most in flight), CONNECTIONS (1), OUT (/tmp/grpclatency), LOAD / ECHO_BIN (prebuilt).
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/../.."
ROOT="$PWD"
W="$1"; MODELS="$2"; SNAP="${3:-}"
OUT="${OUT:-/tmp/grpclatency}"; mkdir -p "$OUT"
ROUNDS="${ROUNDS:-3}"; SECS="${SECONDS_PER_RUN:-8}"; RATES="${RATES:-5000 10000 15000}"
CONNS="${CONNECTIONS:-1}"
CHURN=127.0.0.1:50081; ECHO=127.0.0.1:50082

if [ -z "${LOAD:-}" ]; then
  cargo build --release --bin churn --example grpc_load --example echo_server
fi
LOAD="${LOAD:-$ROOT/target/release/examples/grpc_load}"
ECHO_BIN="${ECHO_BIN:-$ROOT/target/release/examples/echo_server}"
BIN="${BIN:-$ROOT/target/release/churn}"
PIDS=()
cleanup() { for p in "${PIDS[@]:-}"; do kill "$p" 2>/dev/null || true; done; }
trap cleanup EXIT

snap_args=()
if [ -n "$SNAP" ]; then cp "$SNAP" "$OUT/snapshot.bin"; snap_args=(--snapshot "$OUT/snapshot.bin"); fi
taskset -c 0 "$BIN" serve --data "$W" --models "$MODELS" "${snap_args[@]}" --addr "$CHURN" \
  --reload-interval 0 --worker-threads 1 >"$OUT/serve.log" 2>&1 &
PIDS+=($!)
"$LOAD" wait --addr "$CHURN" --timeout 1800 >/dev/null
"$LOAD" sample --addr "$CHURN" --ids "$OUT/ids.txt" --response "$OUT/response.bin" --n 200000 >/dev/null
TOKIO_WORKER_THREADS=1 taskset -c 0 "$ECHO_BIN" "$ECHO" "$OUT/response.bin" >"$OUT/echo.log" 2>&1 &
PIDS+=($!)
sleep 1

client() { TOKIO_WORKER_THREADS=1 taskset -c 1 "$LOAD" unary --ids "$OUT/ids.txt" --seconds "$SECS" \
  --concurrency 64 --connections "$CONNS" "$@"; }
: >"$OUT/results.jsonl"
run() {  # $1 label, $2 addr, $3 mode label, extra args…
  local label=$1 addr=$2 mode=$3; shift 3
  local r; r=$(client --addr "$addr" "$@")
  echo "{\"server\":\"$label\",\"mode\":\"$mode\",\"load\":\"$(cut -d' ' -f1 /proc/loadavg)\",\"result\":$r}" \
    | tee -a "$OUT/results.jsonl" \
    | jq -r '"\(.server) \(.mode): \(.result.rps|floor) calls/s, p50 \(.result.p50_us) µs, p90 \(.result.p90_us) µs, p99 \(.result.p99_us) µs, p99.9 \(.result.p999_us) µs, failed \(.result.failed), load \(.load)"'
}
for round in $(seq "$ROUNDS"); do
  echo "== round $round"
  run echo "$ECHO" closed
  run churn "$CHURN" closed
  for rate in $RATES; do
    run echo "$ECHO" "open $rate/s" --rate "$rate"
    run churn "$CHURN" "open $rate/s" --rate "$rate"
  done
done
echo "== summary (median over rounds)"
jq -rs 'group_by(.server + " " + .mode)[] | {k: (.[0].server + " " + .[0].mode),
  rps: ([.[].result.rps] | sort | .[length/2|floor]),
  p50: ([.[].result.p50_us] | sort | .[length/2|floor]),
  p99: ([.[].result.p99_us] | sort | .[length/2|floor]),
  p99s: [.[].result.p99_us], failed: ([.[].result.failed] | add)}
  | "\(.k): \(.rps|floor) calls/s, p50 \(.p50) µs, p99 \(.p99) µs (rounds: \(.p99s|join(" / "))), failed \(.failed)"' \
  "$OUT/results.jsonl"
