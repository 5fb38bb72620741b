#!/usr/bin/env bash
# bench/signal/run.sh BUILD_DIR: starts the real actr-signal as its own process, runs the load
# generator against it, writes bench/results/signal.json (flat JSON) and prints it; the load
# generator's account of how each figure was measured goes to stderr.
#   PIN=1 bash bench/signal/run.sh build-x   # server on CPU 0, load generator on CPU 1
#   SMALL=1000 LARGE=100000 CONNECTIONS=1000 (defaults)
set -euo pipefail
build=${1:?usage: run.sh BUILD_DIR}
here=$(cd "$(dirname "$0")" && pwd)
results="$here/../results"
mkdir -p "$results"
work=$(mktemp -d)
pid=
trap '[ -n "$pid" ] && kill "$pid" 2>/dev/null; rm -rf "$work"' EXIT

server_pin=()
client_pin=()
if [ "${PIN:-0}" = 1 ]; then
  server_pin=(taskset -c 0)
  client_pin=(taskset -c 1)
fi

cat > "$work/signal.toml" <<TOML
[heartbeat]
interval_secs = 600
[limits]
connections_per_ip_per_minute = 1000000
messages_per_second = 10000000
message_burst = 10000000
TOML
# Both processes need descriptors for 2 x CONNECTIONS sockets.
ulimit -n 20000 2>/dev/null || ulimit -n "$(ulimit -Hn)"
"${server_pin[@]}" "$build/signal/actr-signal" --listen 127.0.0.1:0 --data-dir "$work/data" \
  --config "$work/signal.toml" --realm 1=bench-secret > "$work/out.txt" 2> "$work/err.txt" &
pid=$!
for _ in $(seq 50); do grep -q "listening on" "$work/out.txt" 2>/dev/null && break; sleep 0.1; done
port=$(sed -n 's/.*listening on .*:\([0-9]*\)$/\1/p' "$work/out.txt")
echo "actr-signal pid $pid on port $port; pinned: ${PIN:-0}; $(nproc) CPUs" >&2
"${client_pin[@]}" "$build/bench/signal/actr_signal_bench" "$port" bench-secret "$pid" "${SMALL:-1000}" \
  "${LARGE:-100000}" "${CONNECTIONS:-1000}" > "$work/result.json"
cp "$work/result.json" "$results/signal.json"
cat "$results/signal.json"
kill -TERM "$pid"
wait "$pid" || true
pid=
