#!/usr/bin/env bash
# Load and abuse matrix for `lenet serve` (docs/serving.md): starts the given lenet program's server on a
# loopback port with its defaults, then runs bench/http_load at 8, 64 and 256 keep-alive clients, and at the
# same counts while 256 slow (one header byte a second) and 256 idle connections are open.
# Usage: bench/serve_load.sh LENET_PROGRAM HTTP_LOAD_PROGRAM [SECONDS_PER_RUN] [ENDPOINT]
# Bounded: each run stops after SECONDS_PER_RUN (default 5) or 200000 requests.
set -euo pipefail
lenet=${1:?lenet program}
load=${2:?http_load program}
seconds=${3:-5}
endpoint=${4:-predict}
here=$(cd "$(dirname "$0")/.." && pwd)
port=$((20000 + RANDOM % 20000))
"$lenet" serve --port "$port" --model "$here/models/lenet5.bin" 2>/dev/null &
server=$!
trap 'kill $server 2>/dev/null; wait $server 2>/dev/null || true' EXIT
for _ in $(seq 50); do
  curl -s -o /dev/null "http://127.0.0.1:$port/healthz" && break
  sleep 0.1
done
for abuse in "" "--slow 256 --idle 256"; do
  for clients in 8 64 256; do
    # shellcheck disable=SC2086
    "$load" --port "$port" --clients "$clients" --seconds "$seconds" --endpoint "$endpoint" $abuse || true
  done
done
