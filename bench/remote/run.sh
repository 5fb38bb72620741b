#!/usr/bin/env bash
# bench/remote/run.sh BUILD_DIR (what `bench/run remote` runs): builds its targets, starts the real
# actr-signal, then for each of "unpinned" and "pinned" (taskset -c 0 on BOTH processes of a pair)
# runs three server/client process pairs on loopback, one after the other:
#   tcp   actr_remote_tcp_bench   raw TCP ping-pong, 64 in flight with batched writes, bulk transfer
#   grpc  actr_remote_grpc_bench  gRPC C++ unary echo: blocking stub, then 64 in flight (CQ async)
#   actr  actr_remote_bench       node → node over the WebSocket wire: calls and a STREAM_RELIABLE stream
# Unpinned, actr runs a second time with --idle-spin-us 0 (label unpinned_nospin): the same code
# without the nodes' idle spin, which the baselines do not have either (docs/runtime.md).
# prints a table and writes bench/results/remote.json (one flat JSON object, ratios included).
# Each program's header comment says exactly how its figures are measured.
#   PAYLOAD=64 CHUNK=65536 STREAM_MIB=256 INFLIGHT=64 MAX_SECONDS=3 SEQ_CALLS=20000 WARMUP=2000 (defaults)
set -euo pipefail
build=${1:?usage: run.sh BUILD_DIR}
here=$(cd "$(dirname "$0")" && pwd)
results="$here/../results"
mkdir -p "$results"
bin="$build/bench/remote"

targets=(actr-signal actr_remote_bench actr_remote_tcp_bench)
have_grpc=0
# (grep without -q reads all of ninja's output: -q would exit early and SIGPIPE ninja under pipefail)
if ninja -C "$build" -t targets all 2> /dev/null | grep '^actr_remote_grpc_bench:' > /dev/null; then
  targets+=(actr_remote_grpc_bench)
  have_grpc=1
fi
ninja -C "$build" "${targets[@]}" > /dev/null || ninja -C "$build" "${targets[@]}"
[ "$have_grpc" = 1 ] || echo "remote: no gRPC baseline in this build (install libgrpc++-dev protobuf-compiler-grpc)" >&2

work=$(mktemp -d)
pids=()
cleanup() {
  for p in "${pids[@]}"; do kill -TERM "$p" 2> /dev/null || true; done
  for p in "${pids[@]}"; do wait "$p" 2> /dev/null || true; done
  rm -rf "$work"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

common=(--payload "${PAYLOAD:-64}" --inflight "${INFLIGHT:-64}" --max-seconds "${MAX_SECONDS:-3}"
  --seq-calls "${SEQ_CALLS:-20000}" --warmup "${WARMUP:-2000}")
stream=(--chunk "${CHUNK:-65536}" --stream-mib "${STREAM_MIB:-256}")

server_pid=
# start_server NAME PATTERN CMD...: starts CMD in the background, waits for PATTERN on its stdout.
start_server() {
  local name=$1 pattern=$2
  shift 2
  "$@" > "$work/$name.out" 2> "$work/$name.err" &
  server_pid=$!
  pids+=("$server_pid")
  for _ in $(seq 100); do
    grep -q "$pattern" "$work/$name.out" 2> /dev/null && return 0
    kill -0 "$server_pid" 2> /dev/null || break
    sleep 0.1
  done
  echo "remote: $name did not start:" >&2
  cat "$work/$name.out" "$work/$name.err" >&2
  exit 1
}
stop_server() {
  kill -TERM "$server_pid" 2> /dev/null || true
  wait "$server_pid" 2> /dev/null || true
  local left=() p
  for p in "${pids[@]}"; do [ "$p" = "$server_pid" ] || left+=("$p"); done
  pids=("${left[@]}")
}
port_of() { sed -n 's/.*listening on [^ ]*:\([0-9][0-9]*\).*/\1/p' "$work/$1.out" | head -1; }

cat > "$work/signal.toml" << 'TOML'
[limits]
connections_per_ip_per_minute = 1000000
messages_per_second = 10000000
message_burst = 10000000
TOML
start_server signal "listening on" "$build/signal/actr-signal" --listen 127.0.0.1:0 --data-dir "$work/data" \
  --config "$work/signal.toml" --realm 1=bench-secret
signaling="ws://127.0.0.1:$(port_of signal)/signaling/ws"
echo "remote: actr-signal on $signaling (unpinned throughout); $(nproc) CPUs; load: $(cut -d' ' -f1-3 /proc/loadavg)" >&2

jsons=()
for label in unpinned pinned; do
  pin=()
  [ "$label" = pinned ] && pin=(taskset -c 0)
  echo "--- $label ---" >&2

  start_server "tcp_$label" "listening on" "${pin[@]}" "$bin/actr_remote_tcp_bench" server
  "${pin[@]}" "$bin/actr_remote_tcp_bench" client --port "$(port_of "tcp_$label")" --server-pid "$server_pid" "${common[@]}" "${stream[@]}" \
    --inflight-calls 400000 --json "$work/tcp_$label.json" --label "$label"
  stop_server
  jsons+=("$work/tcp_$label.json")

  if [ "$have_grpc" = 1 ]; then
    start_server "grpc_$label" "listening on" "${pin[@]}" "$bin/actr_remote_grpc_bench" server
    "${pin[@]}" "$bin/actr_remote_grpc_bench" client --port "$(port_of "grpc_$label")" --server-pid "$server_pid" "${common[@]}" \
      --inflight-calls 200000 --json "$work/grpc_$label.json" --label "$label"
    stop_server
    jsons+=("$work/grpc_$label.json")
  fi

  # A fresh server type per run, so discovery never hands out the previous run's server.
  name="rbench-echo-$label"
  start_server "actr_$label" "ready" "${pin[@]}" "$bin/actr_remote_bench" server --signaling "$signaling" \
    --secret bench-secret --name "$name"
  "${pin[@]}" "$bin/actr_remote_bench" client --signaling "$signaling" --secret bench-secret --name "$name" \
    --server-pid "$server_pid" "${common[@]}" "${stream[@]}" --inflight-calls 200000 --json "$work/actr_$label.json" --label "$label"
  stop_server
  jsons+=("$work/actr_$label.json")

  if [ "$label" = unpinned ]; then
    nospin=(--idle-spin-us 0)
    start_server actr_nospin "ready" "$bin/actr_remote_bench" server --signaling "$signaling" \
      --secret bench-secret --name "$name-nospin" "${nospin[@]}"
    "$bin/actr_remote_bench" client --signaling "$signaling" --secret bench-secret --name "$name-nospin" \
      --server-pid "$server_pid" "${common[@]}" "${stream[@]}" --inflight-calls 200000 "${nospin[@]}" \
      --json "$work/actr_nospin.json" --label unpinned_nospin
    stop_server
    jsons+=("$work/actr_nospin.json")
  fi
done

python3 - "$results/remote.json" "${INFLIGHT:-64}" "${PAYLOAD:-64}" "${CHUNK:-65536}" "${jsons[@]}" << 'PY'
import json, sys
out_path, inflight, payload, chunk = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4])
f = {}
for path in sys.argv[5:]:
    with open(path) as fh:
        f.update(json.load(fh))
n = f"inflight{inflight}"

def ratio(name, a, b):
    if a in f and b in f and f[b] > 0:
        f[name] = round(f[a] / f[b], 3)

for label, base in (("unpinned", "unpinned"), ("pinned", "pinned"), ("unpinned_nospin", "unpinned")):
    ratio(f"actr_p50_over_tcp_{label}", f"actr_seq_p50_us_{label}", f"tcp_seq_p50_us_{base}")
    ratio(f"actr_p50_over_grpc_{label}", f"actr_seq_p50_us_{label}", f"grpc_seq_p50_us_{base}")
    ratio(f"actr_raw_p50_over_tcp_{label}", f"actr_rawseq_p50_us_{label}", f"tcp_seq_p50_us_{base}")
    ratio(f"actr_{n}_over_grpc_{label}", f"actr_{n}_calls_per_s_{label}", f"grpc_{n}_calls_per_s_{base}")
    ratio(f"actr_{n}_over_tcp_{label}", f"actr_{n}_calls_per_s_{label}", f"tcp_{n}_calls_per_s_{base}")
    ratio(f"actr_stream_over_tcp_{label}", f"actr_stream_mb_per_s_{label}", f"tcp_bulk_mb_per_s_{base}")
    # CPU per call: the cost side, steadier than wall time when other work shares the cores.
    ratio(f"actr_seq_cpu_over_tcp_{label}", f"actr_seq_cpu_us_per_call_{label}", f"tcp_seq_cpu_us_per_call_{base}")
    ratio(f"actr_{n}_cpu_over_grpc_{label}", f"actr_{n}_cpu_us_per_call_{label}",
          f"grpc_{n}_cpu_us_per_call_{base}")
f["payload_bytes"] = payload
f["chunk_bytes"] = chunk
f["inflight"] = int(inflight)
with open(out_path, "w") as fh:
    json.dump(f, fh, indent=2, sort_keys=True)
    fh.write("\n")

def cell(key, fmt):
    return format(f[key], fmt) if key in f else "-"

rows = [
    ("seq p50 µs", "seq_p50_us", ".1f"), ("seq p99 µs", "seq_p99_us", ".1f"),
    ("seq calls/s", "seq_calls_per_s", ",.0f"),
    ("raw call seq p50 µs", "rawseq_p50_us", ".1f"),
    (f"{inflight} in flight p50 µs", f"{n}_p50_us", ".1f"), (f"{inflight} in flight p99 µs", f"{n}_p99_us", ".1f"),
    (f"{inflight} in flight calls/s", f"{n}_calls_per_s", ",.0f"),
    ("seq CPU µs/call", "seq_cpu_us_per_call", ".1f"),
    (f"{inflight} in flight CPU µs/call", f"{n}_cpu_us_per_call", ".1f"),
    ("stream/bulk MB/s", "bulk", ",.0f"),
    ("stream/bulk CPU µs/MB", "bulk_cpu", ",.0f"),
]
print(f"\nremote: {payload} B payload, {chunk} B stream chunks, two processes on loopback;"
      " CPU = client + server process CPU over the phase")
for label in ("unpinned", "pinned"):
    spinless = label == "unpinned"  # the unpinned table adds actr without its idle spin
    print(f"\n{label + (' (taskset -c 0, both processes)' if label == 'pinned' else ''):<28}"
          f"{'raw TCP':>14}{'gRPC':>14}{'actr (ws)':>14}" + (f"{'actr no spin':>14}" if spinless else ""))
    for title, key, fmt in rows:
        if key in ("bulk", "bulk_cpu"):
            unit = "mb_per_s" if key == "bulk" else "cpu_us_per_mb"
            t, g, a = cell(f"tcp_bulk_{unit}_{label}", fmt), "-", cell(f"actr_stream_{unit}_{label}", fmt)
            z = cell(f"actr_stream_{unit}_unpinned_nospin", fmt)
        else:
            t, g, a = (cell(f"{p}_{key}_{label}", fmt) for p in ("tcp", "grpc", "actr"))
            z = cell(f"actr_{key}_unpinned_nospin", fmt)
        print(f"  {title:<26}{t:>14}{g:>14}{a:>14}" + (f"{z:>14}" if spinless else ""))
print("\nratios (targets)                                  unpinned      pinned  unpinned, no spin")
for title, key, target, better in [
    ("actr p50 / raw TCP p50            (<= 1.1)", "actr_p50_over_tcp", 1.1, "le"),
    (f"actr {inflight}-in-flight calls/s / gRPC (>= 6)", f"actr_{n}_over_grpc", 6.0, "ge"),
    ("actr stream MB/s / raw TCP bulk   (>= 0.7)", "actr_stream_over_tcp", 0.7, "ge"),
    (f"actr {inflight}-in-flight calls/s / raw TCP", f"actr_{n}_over_tcp", None, None),
    ("actr p50 / gRPC p50", "actr_p50_over_grpc", None, None),
    ("actr raw call p50 / raw TCP p50", "actr_raw_p50_over_tcp", None, None),
    ("actr seq CPU/call / raw TCP", "actr_seq_cpu_over_tcp", None, None),
    (f"actr {inflight}-in-flight CPU/call / gRPC", f"actr_{n}_cpu_over_grpc", None, None),
]:
    cells = []
    for label in ("unpinned", "pinned", "unpinned_nospin"):
        v = f.get(f"{key}_{label}")
        if v is None:
            cells.append("-")
            continue
        mark = "" if target is None else (" ok" if (v <= target if better == "le" else v >= target) else " MISS")
        cells.append(f"{v:.2f}{mark}")
    print(f"  {title:<46}{cells[0]:>12}{cells[1]:>12}{cells[2]:>19}")
PY
