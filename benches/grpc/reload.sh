#!/usr/bin/env bash
# Hot reload under sustained load (issue 5 bar: zero failed requests). A server on WAREHOUSE +
# MODELS (needs two registered versions) takes 64 concurrent ScoreCustomer calls for
# RELOAD_SECONDS while the champion is switched twice; the server rebuilds the snapshot in the
# background and swaps it in. Prints the load generator's JSON (failed must be 0, two model
# versions seen) and the reload counters.
#
#   benches/grpc/reload.sh WAREHOUSE MODELS
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/../.."
W="$1"; MODELS="$2"
WORK="${BENCH_DIR:-/tmp/grpcbench}"
ADDR=127.0.0.1:50063; METRICS=127.0.0.1:9466
RELOAD_SECONDS="${RELOAD_SECONDS:-40}"
BIN=target/release/churn; LOAD=target/release/examples/grpc_load

"$BIN" serve --data "$W" --models "$MODELS" --snapshot "$WORK/reload-snapshot.bin" --addr "$ADDR" \
  --metrics-addr "$METRICS" --reload-interval 1 --log-format json >"$WORK/serve-reload.log" 2>&1 &
PID=$!
trap 'kill -TERM $PID 2>/dev/null || true' EXIT
"$LOAD" wait --addr "$ADDR" --timeout 900 >/dev/null
"$LOAD" sample --addr "$ADDR" --ids "$WORK/reload-ids.txt" --response "$WORK/reload-response.bin" >/dev/null
versions() { "$BIN" models list --models "$MODELS" --json | python3 -c '
import json, sys
rows = json.load(sys.stdin)
champ = [m["manifest"]["version"] for m in rows if "champion" in m["aliases"]][0]
other = [m["manifest"]["version"] for m in rows if "champion" not in m["aliases"]][-1]
print(champ, other)'; }
read -r CURRENT OTHER < <(versions)
"$LOAD" unary --addr "$ADDR" --ids "$WORK/reload-ids.txt" --concurrency 64 --connections 4 \
  --seconds "$RELOAD_SECONDS" --warmup 1 >"$WORK/reload.json" &
LOADPID=$!
sleep 5
"$BIN" models promote "$OTHER" --models "$MODELS" --reason "grpc bench: reload under load" >/dev/null
sleep $((RELOAD_SECONDS / 2))
"$BIN" models promote "$CURRENT" --models "$MODELS" --reason "grpc bench: reload back" >/dev/null
wait "$LOADPID"
cat "$WORK/reload.json"
sleep 2
curl -s "http://$METRICS/metrics" | grep -E '^churn_snapshot_(reloads|failed_reloads)_total|^churn_snapshot_customers'
grep -c '"Snapshot loaded"' "$WORK/serve-reload.log" | sed 's/^/snapshots loaded: /'
