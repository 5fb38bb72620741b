#!/usr/bin/env bash
# Installs every Debian 12 package actr-cpp needs to build, test and benchmark.
# Idempotent; quiet unless something fails (then the apt log is printed).
set -euo pipefail

packages=(
  # toolchain
  build-essential cmake ninja-build ccache pkg-config git clang-format python3
  # core libraries
  libboost-dev libboost-system-dev libboost-program-options-dev
  protobuf-compiler libprotobuf-dev libprotoc-dev
  libsodium-dev libssl-dev
  libtomlplusplus-dev libspdlog-dev libfmt-dev libcli11-dev libsqlite3-dev
  # WebRTC (GStreamer webrtcbin)
  libgstreamer1.0-dev libgstreamer-plugins-base1.0-dev libgstreamer-plugins-bad1.0-dev
  gstreamer1.0-plugins-base gstreamer1.0-plugins-good gstreamer1.0-plugins-bad gstreamer1.0-nice
  # tests and benchmarks (gRPC is a benchmark baseline)
  libgtest-dev libgmock-dev googletest libbenchmark-dev
  libgrpc++-dev protobuf-compiler-grpc
  # process tooling used by tests and the demo
  procps util-linux
)

missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
[ ${#missing[@]} -eq 0 ] && exit 0

SUDO=""
[ "$(id -u)" -ne 0 ] && SUDO="sudo"
log=$(mktemp)
export DEBIAN_FRONTEND=noninteractive
if ! { $SUDO apt-get update -q && $SUDO apt-get install -y -q --no-install-recommends "${missing[@]}"; } >"$log" 2>&1; then
  cat "$log" >&2
  echo "install-deps: apt-get failed for: ${missing[*]}" >&2
  exit 1
fi
rm -f "$log"
