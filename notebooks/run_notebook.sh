#!/usr/bin/env bash
# Runs notebooks/churn_scores.ipynb headless against a running `churn serve` and fails on any
# error (a failed cell, a failed assertion, an unreachable server).
#
#   notebooks/run_notebook.sh [ADDR]         # default 127.0.0.1:50051
#
# Environment: CHURN_TOKEN (bearer token, if the server needs one), CHURN_DATA (the warehouse
# directory, for the calibration view against the generator's truth), NOTEBOOK_VENV (where the
# Python packages go; default ~/.cache/churn-notebook-venv), WAIT_SECONDS (how long to wait for
# the server's health check to say SERVING; default 300).
set -euo pipefail

ADDR="${1:-${CHURN_ADDR:-127.0.0.1:50051}}"
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
VENV="${NOTEBOOK_VENV:-$HOME/.cache/churn-notebook-venv}"
WAIT_SECONDS="${WAIT_SECONDS:-300}"

if [ ! -x "$VENV/bin/python" ]; then
  python3 -m venv "$VENV"
fi
"$VENV/bin/python" -m pip install --quiet --disable-pip-version-check \
  grpcio grpcio-tools nbconvert nbclient ipykernel pandas pyarrow matplotlib numpy
"$VENV/bin/python" -m ipykernel install --user --name churn-notebook --display-name "churn notebook" >/dev/null

# Wait until grpc.health.v1 says the churn service is SERVING (a snapshot is loaded).
CHURN_ADDR="$ADDR" WAIT_SECONDS="$WAIT_SECONDS" "$VENV/bin/python" - <<'PY'
import os, sys, time
import grpc
addr, deadline = os.environ["CHURN_ADDR"], time.time() + float(os.environ["WAIT_SECONDS"])
service = b"churn.v1.ChurnService"
request = b"\x0a" + bytes([len(service)]) + service  # HealthCheckRequest{service}
channel = grpc.insecure_channel(addr)
check = channel.unary_unary("/grpc.health.v1.Health/Check",
                            request_serializer=lambda b: b, response_deserializer=lambda b: b)
last = "no answer"
while time.time() < deadline:
    try:
        answer = check(request, timeout=5)
        if answer == b"\x08\x01":  # status = SERVING
            print(f"{addr}: churn.v1.ChurnService is SERVING")
            sys.exit(0)
        last = f"status bytes {answer!r} (NOT_SERVING: the snapshot is still loading)"
    except grpc.RpcError as e:
        last = f"{e.code().name}: {e.details()}"
    time.sleep(1)
sys.exit(f"{addr}: the churn service was not SERVING within {os.environ['WAIT_SECONDS']} s ({last})")
PY

OUT="$(mktemp -d)"
cd "$HERE"
CHURN_ADDR="$ADDR" "$VENV/bin/python" -m jupyter nbconvert --to notebook --execute \
  --ExecutePreprocessor.timeout=900 --ExecutePreprocessor.kernel_name=churn-notebook \
  --output-dir "$OUT" --output churn_scores.executed.ipynb churn_scores.ipynb
echo "notebook ran: $OUT/churn_scores.executed.ipynb"
