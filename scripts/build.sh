#!/usr/bin/env bash
# Installs the Debian packages (if missing), configures and builds actr-cpp into build/.
# Usage: scripts/build.sh [extra cmake args...]; BUILD_DIR overrides the folder.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
build=${BUILD_DIR:-$root/build}
bash "$root/scripts/install-deps.sh"
# Paths relative to the checkout in ccache keys: a fresh clone reuses an earlier build's objects.
export CCACHE_BASEDIR="$root" CCACHE_NOHASHDIR=true
werror=OFF
[ -n "${CI:-}" ] && werror=ON
cmake -S "$root" -B "$build" -G Ninja -DACTR_WERROR=$werror "$@" >/dev/null
ninja -C "$build"
