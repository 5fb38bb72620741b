#!/usr/bin/env bash
# The README's demo command: installs, builds, and runs the echo demo.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
build=${BUILD_DIR:-$root/build}
bash "$root/scripts/build.sh" >/dev/null
"$build/examples/echo/actr-echo-inproc"
