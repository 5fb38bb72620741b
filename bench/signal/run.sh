#!/usr/bin/env bash
# bench/signal/run.sh BUILD_DIR: runs the real actr-signal and the load generator against it,
# writes bench/results/signal.json and prints it.
set -euo pipefail
build=${1:?usage: run.sh BUILD_DIR}
here=$(cd "$(dirname "$0")" && pwd)
results="$here/../results"
mkdir -p "$results"
work=$(mktemp -d)
trap 'kill "$pid" 2>/dev/null || true; rm -rf "$work"' EXIT

cat > "$work/signal.toml" <<TOML
[heartbeat]
interval_secs = 600
[limits]
connections_per_ip_per_minute = 1000000
messages_per_second = 10000000
message_burst = 10000000
TOML
"$build/signal/actr-signal" --listen 127.0.0.1:0 --data-dir "$work/data" --config "$work/signal.toml" \
  --realm 1=bench-secret > "$work/out.txt" 2> "$work/err.txt" &
pid=$!
for _ in $(seq 50); do grep -q "listening on" "$work/out.txt" 2>/dev/null && break; sleep 0.1; done
port=$(sed -n 's/.*listening on .*:\([0-9]*\)$/\1/p' "$work/out.txt")
ulimit -n 20000 2>/dev/null || true
"$build/bench/signal/actr_signal_bench" "$port" bench-secret "$pid" "${SMALL:-1000}" "${LARGE:-100000}" \
  "${CONNECTIONS:-1000}" | tee "$results/signal.json"
kill -TERM "$pid"
wait "$pid" || true
