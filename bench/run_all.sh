#!/usr/bin/env bash
# Runs every benchmark in sequence (each stops by itself: ~60 s, relay ~2 min, network ~4 min) and
# prints their lines.
#   bash bench/run_all.sh
set -u
cd "$(dirname "$0")/.."
PY=${PYTHON:-.venv/bin/python}
echo "# $(date -u +%Y-%m-%dT%H:%MZ); nproc $(nproc); $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs); $($PY -V)"
status=0
for bench in http_clients inbox fanout pages memory; do
    timeout 120 "$PY" "bench/$bench.py" || { echo "$bench: FAILED (exit $?)"; status=1; }
done
timeout 400 "$PY" bench/relay.py || { echo "relay: FAILED (exit $?)"; status=1; }
timeout 900 "$PY" bench/network.py || { echo "network: FAILED (exit $?)"; status=1; }
exit $status
