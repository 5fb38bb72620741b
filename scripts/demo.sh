#!/usr/bin/env bash
# The README's demo command: installs, builds, then runs actr-signal with its embedded defaults
# (127.0.0.1:8081, dev realm 1), an echo server actor process and a client actor process that
# discovers the server through signaling and calls it over a WebSocket direct connection.
# Everything is stopped cleanly at the end (and on Ctrl-C).
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
build=${BUILD_DIR:-$root/build}
bash "$root/scripts/build.sh" >/dev/null

work=$(mktemp -d)
pids=()
cleanup() {
  for pid in "${pids[@]}"; do kill -TERM "$pid" 2>/dev/null || true; done
  for pid in "${pids[@]}"; do wait "$pid" 2>/dev/null || true; done
  rm -rf "$work"
}
trap cleanup EXIT

wait_for() {  # wait_for FILE PATTERN: until a process prints PATTERN (10 s at most)
  for _ in $(seq 100); do grep -q "$2" "$1" 2>/dev/null && return 0; sleep 0.1; done
  echo "demo: timed out waiting for '$2' in $1:" >&2; cat "$1" >&2; return 1
}

echo "== in process: the host calls its own echo actor"
"$build/examples/echo/actr-echo-inproc"

echo "== across processes: actr-signal, an echo server, a client"
(cd "$work" && exec "$build/signal/actr-signal") >"$work/signal.log" 2>&1 &
pids+=($!)
wait_for "$work/signal.log" "listening on"
grep "listening on" "$work/signal.log"
secret=$(sed -n 's/.*dev realm 1 secret: \([0-9a-f]*\).*/\1/p' "$work/signal.log")

# Both nodes build themselves from their files (actr.toml, manifest.toml, manifest.lock.toml);
# the realm secret comes from the environment, as actr.toml's realm.secret_env says.
export ACTR_REALM_SECRET=$secret
"$build/examples/echo/actr-echo-server" --config "$root/examples/echo/config/server/actr.toml" \
  >"$work/server.log" 2>&1 &
pids+=($!)
wait_for "$work/server.log" "ready"
grep "ready" "$work/server.log"

"$build/examples/echo/actr-echo-client" --config "$root/examples/echo/config/client/actr.toml" --calls 2000
echo "== done: stopping the server and actr-signal"
